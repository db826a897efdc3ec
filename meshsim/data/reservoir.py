"""`Reservoir`: the bounded in-memory training buffer of online training (Melissa's "Reservoir" policy:
Meyer et al., "Training Deep Surrogate Models with Large Scale Online Learning", ICML 2023).

Simulators put samples in; the trainer draws batches out, uniformly at random among the samples
held, without removing them, so a sample can be drawn many times while the buffer fills and
while simulators are slower than the trainer. Each sample counts how often it was drawn. A new
sample goes into a free slot; when the buffer is full it replaces a sample drawn at least once,
chosen at random; when every held sample is still undrawn, `put` waits (back-pressure: the
simulators stop until the trainer catches up), so no sample is evicted unseen. The trainer
waits only until the buffer holds ``watermark`` samples.

The buffer is thread-safe: any number of producer and consumer threads.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DatasetError


@dataclass(frozen=True)
class ReservoirStats:
    """Counters of a `Reservoir`.

    Attributes:
        size: samples held now (never above ``capacity``).
        capacity: the bound.
        produced: samples put in so far.
        evicted: samples replaced by newer ones.
        drawn: sample draws by the trainer (a sample drawn twice counts twice).
        unique_drawn: distinct samples drawn at least once.
        wait_s: seconds the trainer waited for data in all.
        wait_after_full_s: of which after the buffer first became full.
        since_full_s: seconds since the buffer first became full (0 before).
        put_wait_s: seconds producers waited for room (back-pressure).
    """

    size: int
    capacity: int
    produced: int
    evicted: int
    drawn: int
    unique_drawn: int
    wait_s: float
    wait_after_full_s: float
    since_full_s: float
    put_wait_s: float

    @property
    def wait_fraction_after_full(self) -> float:
        """Fraction of the time since the buffer first filled that the trainer waited for data."""
        return self.wait_after_full_s / self.since_full_s if self.since_full_s > 0 else 0.0


class Reservoir:
    """Bounded buffer of training samples with Melissa's reservoir policy (module docstring).

    Args:
        capacity: most samples held at once.
        watermark: samples needed before the trainer may draw (1 <= watermark <= capacity).
        seed: seeds the choice of evicted slots.
    """

    def __init__(self, capacity: int, watermark: int = 1, seed: int = 0):
        if capacity < 1 or not 1 <= watermark <= capacity:
            raise DatasetError(f"a reservoir needs capacity >= 1 and 1 <= watermark <= capacity, got capacity "
                               f"{capacity} and watermark {watermark}")
        self.capacity, self.watermark = int(capacity), int(watermark)
        self._items: list[Any] = []
        self._draws = np.zeros(self.capacity, dtype=np.int64)
        self._rng = np.random.default_rng(seed)
        self._condition = threading.Condition()
        self._closed = False
        self._produced = self._evicted = self._drawn = self._unique = 0
        self._wait = self._wait_after_full = self._put_wait = 0.0
        self._full_since: float | None = None

    def __len__(self) -> int:
        with self._condition:
            return len(self._items)

    def _evictable(self) -> np.ndarray:
        return np.flatnonzero(self._draws[:len(self._items)] > 0)

    def put(self, item: Any, timeout: float | None = None) -> bool:
        """Add ``item``: into a free slot, else in place of a random sample drawn at least once;
        waits (up to ``timeout`` seconds, None: no limit) while the buffer is full of undrawn
        samples. Returns False if it timed out or the reservoir was closed, True once added."""
        start = time.perf_counter()
        with self._condition:
            ready = self._condition.wait_for(
                lambda: self._closed or len(self._items) < self.capacity or len(self._evictable()), timeout)
            self._put_wait += time.perf_counter() - start
            if not ready or self._closed:
                return False
            if len(self._items) < self.capacity:
                slot = len(self._items)
                self._items.append(item)
                if len(self._items) == self.capacity and self._full_since is None:
                    self._full_since = time.perf_counter()
            else:
                slot = int(self._rng.choice(self._evictable()))
                self._items[slot] = item
                self._evicted += 1
            self._draws[slot] = 0
            self._produced += 1
            self._condition.notify_all()
            return True

    def sample(self, count: int, rng: np.random.Generator, timeout: float | None = None) -> list[Any]:
        """``count`` samples drawn uniformly at random (distinct when the buffer holds enough),
        after waiting until it holds ``watermark``. Raises `DatasetError` on timeout or if the
        reservoir was closed while waiting."""
        start = time.perf_counter()
        with self._condition:
            ready = self._condition.wait_for(lambda: self._closed or len(self._items) >= self.watermark, timeout)
            waited = time.perf_counter() - start
            self._wait += waited
            if self._full_since is not None:
                self._wait_after_full += min(waited, time.perf_counter() - self._full_since)
            if self._closed:
                raise DatasetError("the reservoir was closed (the online data source stopped)")
            if not ready:
                raise DatasetError(f"no training data within {timeout:g} s: the reservoir holds {len(self._items)} "
                                   f"samples, {self.watermark} are needed")
            size = len(self._items)
            slots = rng.choice(size, size=count, replace=count > size)
            self._unique += int(np.count_nonzero(self._draws[np.unique(slots)] == 0))
            np.add.at(self._draws, slots, 1)
            self._drawn += count
            self._condition.notify_all()
            return [self._items[slot] for slot in slots]

    def items(self) -> list[Any]:
        """The samples held now, in slot order (a copy of the list)."""
        with self._condition:
            return list(self._items)

    def close(self) -> None:
        """Wake every waiting producer and consumer; later puts return False, samples raise."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def stats(self) -> ReservoirStats:
        with self._condition:
            since = 0.0 if self._full_since is None else time.perf_counter() - self._full_since
            return ReservoirStats(len(self._items), self.capacity, self._produced, self._evicted, self._drawn,
                                  self._unique, self._wait, self._wait_after_full, since, self._put_wait)
