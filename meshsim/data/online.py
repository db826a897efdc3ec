"""`OnlineFeed`: simulators streaming into a `Reservoir` that a trainer draws batches from, with
nothing written to disk (online training, Melissa-style).

A background thread of the trainer's process receives samples from the simulators
(`SimulatorPool` or `DaskSimulators`), turns each into a training item with ``to_item`` (e.g.
tensors) and puts it into the reservoir; when the reservoir is full of samples not yet drawn,
that thread waits, the simulators' pipes fill and the simulators wait too (back-pressure). The
trainer iterates `batches`; `stats` reports samples produced and drawn, the buffer's fill, how
long the trainer waited for data, worker restarts and the bytes the simulators wrote to storage.

    with OnlineFeed(SimulatorPool(recipe, workers=1), Reservoir(2000, watermark=64), to_item) as feed:
        for batch in feed.batches(batch_size=32, seed=0, collate=collate):
            ...
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .errors import DatasetError
from .reservoir import Reservoir
from .sample import Sample

#: seconds the receiving thread waits for simulators before checking whether it should stop
POLL_S = 0.2


class OnlineFeed:
    """Simulators -> ``to_item`` -> reservoir, in a background thread (see the module docstring).

    Args:
        source: a `SimulatorPool` or `DaskSimulators` (not yet started).
        reservoir: the bounded buffer.
        to_item: ``to_item(index, sample) -> item`` (what the trainer's batches are made of).
        timeout: seconds `batches` waits for enough data before raising `DatasetError`.
    """

    def __init__(self, source, reservoir: Reservoir, to_item: Callable[[int, Sample], Any],
                 timeout: float = 600.0):
        self.source, self.reservoir, self.to_item, self.timeout = source, reservoir, to_item, timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> "OnlineFeed":
        self.source.start()
        self._thread = threading.Thread(target=self._receive, name="meshsim-online-feed", daemon=True)
        self._thread.start()
        return self

    def _receive(self) -> None:
        try:
            while not self._stop.is_set():
                for index, sample in self.source.receive(timeout=POLL_S):
                    item = self.to_item(index, sample)
                    while not self.reservoir.put(item, timeout=POLL_S):
                        if self._stop.is_set():
                            return
        except BaseException as error:  # handed to the trainer, which raises it from `batches`
            self._error = error
            self.reservoir.close()

    def _check(self) -> None:
        if self._error is not None:
            raise DatasetError(f"the online data source failed: {type(self._error).__name__}: {self._error}") \
                from self._error

    def batches(self, batch_size: int, seed: int, collate: Callable[[Sequence[Any]], Any]) -> Iterator[Any]:
        """Endless batches of ``batch_size`` items drawn from the reservoir (numpy generator seeded by
        ``seed``), each passed through ``collate``."""
        rng = np.random.default_rng(seed)
        while True:
            self._check()
            try:
                items = self.reservoir.sample(batch_size, rng, timeout=self.timeout)
            except DatasetError:
                self._check()
                raise
            yield collate(items)

    def stats(self) -> dict:
        """Progress figures: ``produced`` (samples received), ``drawn`` (sample draws), ``unique_drawn``,
        ``buffer`` and ``capacity``, ``evicted``, ``wait_s`` and ``wait_fraction_after_full`` (the
        trainer waiting for data), ``put_wait_s`` (simulators held back), ``failed``, ``lost``,
        ``restarts``, ``written_bytes`` (by the simulator loops, see `SourceStats`)."""
        buffer, source = self.reservoir.stats(), self.source.stats
        return {"produced": source.produced, "drawn": buffer.drawn, "unique_drawn": buffer.unique_drawn,
                "buffer": buffer.size, "capacity": buffer.capacity, "evicted": buffer.evicted,
                "wait_s": buffer.wait_s, "wait_fraction_after_full": buffer.wait_fraction_after_full,
                "put_wait_s": buffer.put_wait_s, "failed": source.failed, "lost": source.lost,
                "restarts": source.restarts, "written_bytes": source.written_bytes}

    def stop(self) -> None:
        """Stop receiving, end the simulators and wake anyone waiting on the reservoir."""
        self._stop.set()
        self.reservoir.close()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.source.stop()

    def __enter__(self) -> "OnlineFeed":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
