"""Simulators that stream samples to a trainer instead of writing them to disk: `SimulatorPool`
(local worker processes, the default) and `DaskSimulators` (tasks on a Dask cluster).

Both make samples ``first_index, first_index + 1, ...`` of a recipe's split, each exactly the
sample `generate` writes at that index (same seed: `sample_seed(recipe.seed, split, index)`,
single-threaded BLAS), so the first N streamed train samples are the N samples of a stored
dataset of the same recipe. Samples arrive as ``(index, Sample)`` from ``receive``; a sample
whose mesh or solve fails is counted in ``failed`` and skipped, as `generate` records it.

`SimulatorPool` gives each worker every W-th index and a pipe of its own. A worker that dies
(killed, out of memory) loses at most the sample it was making, which is counted in ``lost``;
a new process replaces it and carries on with its next index. Back-pressure is the pipe's: a
worker blocks in ``send`` until the trainer side reads, so simulators never run ahead of a
full buffer by more than one sample each. `DaskSimulators` keeps ``in_flight`` tasks
submitted; Dask reruns the task of a lost worker elsewhere.
"""
from __future__ import annotations

import itertools
import multiprocessing
from dataclasses import dataclass, field
from multiprocessing.connection import wait
import numpy as np
from threadpoolctl import threadpool_limits

from .errors import DatasetError
from .main_guard import check_main_guard
from .plan import sample_seed
from .problems import PROBLEMS
from .recipes import Recipe
from .runner import SAMPLE_ERRORS, SCHEDULER_TIMEOUT_S, _worker_context
from .sample import Sample

#: a simulator slot whose process dies this many times in a row without sending a sample is an error
MAX_DEATHS_IN_A_ROW = 3


def written_bytes() -> int:
    """Bytes this process has caused to be written to storage (``/proc/self/io`` write_bytes;
    0 where the kernel does not report it)."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes:"))
    except (OSError, StopIteration, ValueError):
        return 0


def make_sample(recipe: Recipe, split: str, index: int) -> Sample | str:
    """Sample ``index`` of ``split``, or the reason it failed (as `generate` would record it)."""
    problem = PROBLEMS[recipe.problem]
    rng = np.random.default_rng(sample_seed(recipe.seed, split, index))
    with threadpool_limits(limits=1):
        try:
            sample = problem.sample(recipe.params, rng)
        except SAMPLE_ERRORS as error:
            return f"{type(error).__name__}: {error}"
    return sample.non_finite() or sample


def _simulate(recipe: Recipe, split: str, first: int, stride: int, connection) -> None:
    """Worker loop: make the samples ``first, first + stride, ...`` and send ``(index, sample or
    reason, bytes written to storage by this loop so far)`` until the trainer side closes the pipe.
    The bytes count from the loop's start: what starting the process wrote (importing torch writes
    caches of some 24 KB once) is not the simulations'."""
    before = written_bytes()
    try:
        for index in itertools.count(first, stride):
            connection.send((index, make_sample(recipe, split, index), written_bytes() - before))
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass


@dataclass
class SourceStats:
    """Counters of a simulator source: samples ``produced`` (received), ``failed`` (mesh/solve
    errors, skipped), ``lost`` (in flight on a worker that died), worker ``restarts``, and
    ``written_bytes``, what the simulator loops wrote to storage (local workers only; see
    `_simulate`)."""

    produced: int = 0
    failed: int = 0
    lost: int = 0
    restarts: int = 0
    written_bytes: int = 0
    failures: list = field(default_factory=list)

    def count(self, index: int, outcome, received: list) -> None:
        """Count one sample's ``outcome`` (an error message str, or the sample, appended to
        ``received`` as ``(index, sample)``)."""
        if isinstance(outcome, str):
            self.failed += 1
            self.failures.append((index, outcome))
        else:
            self.produced += 1
            received.append((index, outcome))


class SimulatorPool:
    """``workers`` local processes streaming the samples of ``recipe``'s ``split`` from
    ``first_index`` on (see the module docstring). Use as a context manager, or `start` / `stop`.

    ``start_method``: ``"forkserver"`` (the default, as `generate`'s workers: fresh processes,
    free of this process's threads and open files; starting them re-imports the main script) or
    ``"fork"`` (copies of this process: they start at once, sharing what it has imported)."""

    def __init__(self, recipe: Recipe, workers: int = 1, split: str = "train", first_index: int = 0,
                 start_method: str = "forkserver"):
        if not isinstance(workers, int) or workers < 1:
            raise DatasetError(f"simulator workers must be a positive integer, got {workers!r}")
        if start_method not in ("forkserver", "fork"):
            raise DatasetError(f"start_method must be 'forkserver' or 'fork', got {start_method!r}")
        self.recipe, self.workers, self.split, self.first_index = recipe, workers, split, first_index
        self.start_method = start_method
        self.stats = SourceStats()
        self._processes: list = [None] * workers
        self._connections: list = [None] * workers
        self._next: list[int] = [first_index + w for w in range(workers)]  # next index each slot sends
        self._written: list[int] = [0] * workers  # bytes written by each current worker
        self._written_before = 0  # by workers that ended
        self._deaths = [0] * workers  # deaths of each slot since its last sample
        self._context = None

    def start(self) -> "SimulatorPool":
        if self.start_method == "fork":
            self._context = multiprocessing.get_context("fork")
        else:
            check_main_guard(f"online training with {self.workers} simulator worker(s)")
            self._context = _worker_context()
        for slot in range(self.workers):
            self._launch(slot)
        return self

    def _launch(self, slot: int) -> None:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_simulate, args=(self.recipe, self.split, self._next[slot],
                                                                self.workers, writer),
                                        daemon=True, name=f"meshsim-simulator-{slot}")
        process.start()
        writer.close()  # the worker holds the only write end: its death is EOF here
        self._processes[slot], self._connections[slot] = process, reader

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [p.pid for p in self._processes if p is not None]

    def _replace(self, slot: int) -> None:
        """The worker of ``slot`` died: count its in-flight sample as lost and start another."""
        process = self._processes[slot]
        process.join(timeout=5)
        self._connections[slot].close()
        self._deaths[slot] += 1
        if self._deaths[slot] >= MAX_DEATHS_IN_A_ROW:
            self._connections[slot] = self._processes[slot] = None
            raise DatasetError(f"simulator worker {slot} died {self._deaths[slot]} times in a row without sending a "
                               f"sample (last exit code {process.exitcode}); is the recipe's problem crashing?")
        self.stats.lost += 1
        self.stats.restarts += 1
        self._written_before += self._written[slot]
        self._written[slot] = 0
        self._next[slot] += self.workers
        self._launch(slot)

    def receive(self, timeout: float | None = None) -> list[tuple[int, Sample]]:
        """Samples that arrived within ``timeout`` seconds (possibly none), as (index, Sample);
        dead workers are replaced on the way."""
        ready = set(wait([c for c in self._connections if c is not None], timeout))
        received = []
        for slot, connection in enumerate(self._connections):
            if connection not in ready:
                continue
            try:
                index, outcome, written = connection.recv()
            except (EOFError, OSError):
                self._replace(slot)
                continue
            self._next[slot] = index + self.workers
            self._written[slot] = written
            self._deaths[slot] = 0
            self.stats.written_bytes = self._written_before + sum(self._written)
            self.stats.count(index, outcome, received)
        return received

    def stop(self) -> None:
        """End the workers (their in-flight samples are dropped) and close the pipes."""
        for slot, (process, connection) in enumerate(zip(self._processes, self._connections)):
            if process is None:
                continue
            connection.close()
            process.terminate()
            process.join(timeout=10)
            self._written_before += self._written[slot]
            self._written[slot] = 0
            self._processes[slot] = self._connections[slot] = None

    def __enter__(self) -> "SimulatorPool":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class DaskSimulators:
    """Samples of ``recipe``'s ``split`` from ``first_index`` on, made by tasks on the Dask cluster at
    ``scheduler`` (an address or a ``distributed.Client``), ``in_flight`` tasks at a time (default:
    twice the cluster's worker threads). Same interface as `SimulatorPool`."""

    def __init__(self, recipe: Recipe, scheduler, split: str = "train", first_index: int = 0,
                 in_flight: int | None = None):
        self.recipe, self.scheduler, self.split = recipe, scheduler, split
        self.in_flight = in_flight
        self.stats = SourceStats()
        self._indices = itertools.count(first_index)
        self._client = None
        self._pending: dict = {}  # future -> sample index

    def start(self) -> "DaskSimulators":
        from distributed import Client

        if isinstance(self.scheduler, Client):
            self._client = self.scheduler
        else:
            try:
                self._client = Client(self.scheduler, timeout=SCHEDULER_TIMEOUT_S)
            except (OSError, TimeoutError) as error:
                raise DatasetError(f"cannot reach the Dask scheduler at {self.scheduler} within "
                                   f"{SCHEDULER_TIMEOUT_S:g} s ({error}); is it running, and is the address "
                                   f"right?") from None
        for _ in range(self.in_flight or 2 * max(1, sum(self._client.nthreads().values()))):
            self._submit()
        return self

    def _submit(self) -> None:
        index = next(self._indices)
        self._pending[self._client.submit(make_sample, self.recipe, self.split, index, pure=False)] = index

    def receive(self, timeout: float | None = None) -> list[tuple[int, Sample]]:
        """Finished samples (none if ``timeout`` passes first); each finished task is replaced by
        the next index."""
        from distributed import wait as dask_wait

        try:
            done = dask_wait(list(self._pending), timeout=timeout, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return []
        received = []
        for future in done:
            index = self._pending.pop(future)
            outcome = future.result()
            self._submit()
            self.stats.count(index, outcome, received)
        return sorted(received, key=lambda item: item[0])

    def stop(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending = {}
        if self._client is not None and self._client is not self.scheduler:
            self._client.close()
        self._client = None

    def __enter__(self) -> "DaskSimulators":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
