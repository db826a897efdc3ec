"""`generate`: run a recipe's shard tasks on a local process pool or a Dask cluster.

One task makes one shard (`make_shard`), the same function wherever it runs. A shard is
renamed into place only when complete, and meta.json records each finished shard's checksum,
so a generation that is killed resumes where it stopped: shards whose checksum matches are
kept, the rest are made again. Samples depend only on (recipe, seed, split, index), so the
dataset is bit-identical whatever the number of workers or interruptions.

With Dask, workers write the shards themselves: ``out`` must be on a file system they share.
"""
from __future__ import annotations

import errno
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from ..fem import FEMError, SolverError
from ..mesh import MeshError
from .errors import DatasetError
from .main_guard import check_main_guard, in_worker_bootstrap
from .meta import build_meta
from .plan import ShardTask, plan_shards, sample_seed
from .problems import PROBLEMS
from .recipes import Recipe, load_recipe
from .shard_sampling import shard_sampler
from .store import META_NAME, Failure, read_meta, sha256_file, write_json_atomic, write_shard

#: seconds `generate` waits for a Dask scheduler to answer before giving up
SCHEDULER_TIMEOUT_S = 30.0
#: errors of a sample's mesh or solve: the sample is recorded as failed and skipped
SAMPLE_ERRORS = (MeshError, FEMError, SolverError, np.linalg.LinAlgError, ArithmeticError)


@dataclass(frozen=True)
class ShardResult:
    """What a finished task reports: its shard file, checksum and sample counts."""

    shard: int
    file_name: str
    sha256: str
    num_samples: int
    num_failed: int


def make_shard(recipe: Recipe, task: ShardTask, out: str) -> ShardResult:
    """Make the task's samples and write them as one shard in folder ``out``.

    Samples whose mesh or solve fails (`SAMPLE_ERRORS`) or that hold NaN/Inf are recorded in the
    shard's failed/ records with their seed and reason instead. BLAS runs single-threaded so the
    floating-point results do not depend on the worker's thread count. Problems that solve linear
    systems solve the shard's samples as one sequence, in SKR order (`shard_sampler`).
    """
    problem = PROBLEMS[recipe.problem]
    samples, indices, seeds, failures = [], [], [], []
    with threadpool_limits(limits=1):
        draw = shard_sampler(problem, recipe.params, [sample_seed(recipe.seed, task.split, i) for i in task.indices])
        for index in task.indices:
            seed = sample_seed(recipe.seed, task.split, index)
            try:
                sample = draw(seed)
                reason = sample.non_finite()
            except SAMPLE_ERRORS as error:
                reason = f"{type(error).__name__}: {error}"
            if reason is None:
                samples.append(sample)
                indices.append(index)
                seeds.append(seed)
            else:
                failures.append(Failure(index, seed, reason))
    checksum = write_shard(Path(out) / task.file_name, split=task.split, shard=task.shard,
                           first_index=task.first_index, num_requested=task.count, samples=samples,
                           indices=indices, seeds=seeds, failures=failures)
    return ShardResult(task.shard, task.file_name, checksum, len(samples), len(failures))


def _worker_context():
    """Start method of the local workers: a fresh interpreter each, so no gmsh, HDF5 or thread state
    is inherited from this process. Where available the forkserver's process imports meshsim's
    generation modules once and forks the workers from it, instead of each worker importing them."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "meshsim.graph"])
    return context


def _run_local(recipe: Recipe, tasks: list[ShardTask], out: str, workers: int) -> Iterator[ShardResult]:
    if workers == 1:
        for task in tasks:
            yield make_shard(recipe, task, out)
        return
    with ProcessPoolExecutor(workers, mp_context=_worker_context()) as pool:
        futures = []
        try:
            futures += [pool.submit(make_shard, recipe, task, out) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
        except (BrokenProcessPool, OSError) as error:
            # workers that die while the pool starts them can surface as EBADF on the pool's pipes
            if isinstance(error, OSError) and error.errno != errno.EBADF:
                raise
            raise DatasetError(f"a worker process ended abruptly (killed, out of memory, or a script that calls "
                               f"generate() outside `if __name__ == \"__main__\":`); {out} is left resumable: "
                               f"run generate again to continue") from None
        finally:
            for future in futures:
                future.cancel()


def _run_dask(recipe: Recipe, tasks: list[ShardTask], out: str, scheduler) -> Iterator[ShardResult]:
    from distributed import Client, as_completed as dask_completed

    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError) as error:
            raise DatasetError(f"cannot reach the Dask scheduler at {scheduler} within {SCHEDULER_TIMEOUT_S:g} s "
                               f"({error}); is it running, and is the address right?") from None
    try:
        futures = client.map(make_shard, [recipe] * len(tasks), tasks, [out] * len(tasks), pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


def _completed_shards(folder: Path, recipe: Recipe) -> dict[str, str]:
    """Checksums recorded by an earlier run on ``folder`` (empty for a new folder); a folder
    holding another recipe's dataset raises `DatasetError`."""
    if not (folder / META_NAME).exists():
        return {}
    meta = read_meta(folder)
    if meta.get("recipe") != recipe.to_dict():
        raise DatasetError(f"{folder} holds a dataset of another recipe or seed "
                           f"({meta.get('recipe', {}).get('name')!r}); choose a new --out folder")
    return {shard["file"]: shard["sha256"] for shard in meta.get("shards", [])}


def _is_complete(folder: Path, task: ShardTask, recorded: dict[str, str]) -> bool:
    path = folder / task.file_name
    return path.exists() and task.file_name in recorded and sha256_file(path) == recorded[task.file_name]


def _progress_meta(recipe: Recipe, done: dict[str, str]) -> dict:
    return {"complete": False, "recipe": recipe.to_dict(),
            "shards": [{"file": name, "sha256": done[name]} for name in sorted(done)]}


def generate(recipe: Recipe | str | Path, out: str | Path, *, workers: int = 1, scheduler=None,
             num_samples: int | None = None, seed: int | None = None, progress: bool = True) -> dict:
    """Generate (or resume) the dataset of ``recipe`` in folder ``out``; returns its meta.json dict.

    Args:
        recipe: a `Recipe`, a TOML path or a shipped recipe name.
        out: dataset folder, created if needed; an existing one of the same recipe is resumed.
        workers: local worker processes (1 runs in this process); ignored with ``scheduler``.
        scheduler: Dask scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``.
        num_samples, seed: override the recipe's total sample count and base seed.
        progress: show a progress bar (samples done, samples/s, ETA).
    """
    if in_worker_bootstrap():  # a worker re-importing a script that calls generate() unguarded
        raise SystemExit(1)
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    recipe = recipe.with_overrides(num_samples=num_samples, seed=seed)
    if not isinstance(workers, int) or workers < 1:
        raise DatasetError(f"workers must be a positive integer, got {workers!r}")
    if workers > 1 and scheduler is None:
        check_main_guard(f"generate(..., workers={workers})")
    folder = Path(out)
    tasks = plan_shards(recipe.splits, recipe.samples_per_shard)
    try:
        if folder.exists() and not folder.is_dir():
            raise DatasetError(f"{folder}: is a file; the output of generate is a folder: choose another --out")
        folder.mkdir(parents=True, exist_ok=True)
        for stale in [*folder.glob(".shard-*.tmp"), *folder.glob(f".{META_NAME}.*.tmp")]:
            stale.unlink()
        recorded = _completed_shards(folder, recipe)
        done = {t.file_name: recorded[t.file_name] for t in tasks if _is_complete(folder, t, recorded)}
        write_json_atomic(folder / META_NAME, _progress_meta(recipe, done))
    except OSError as error:
        raise DatasetError(f"{folder}: cannot write the dataset there ({error.strerror or error})") from None
    pending = [t for t in tasks if t.file_name not in done]
    results: Iterable[ShardResult] = (
        _run_dask(recipe, pending, str(folder), scheduler) if scheduler is not None
        else _run_local(recipe, pending, str(folder), min(workers, max(len(pending), 1))))
    with tqdm(total=recipe.num_samples, initial=recipe.num_samples - sum(t.count for t in pending),
              unit="sample", desc=recipe.name, disable=not progress, smoothing=0.1) as bar:
        failed = 0
        for result in results:
            done[result.file_name] = result.sha256
            write_json_atomic(folder / META_NAME, _progress_meta(recipe, done))
            failed += result.num_failed
            bar.set_postfix(shards=f"{len(done)}/{len(tasks)}", failed=failed, refresh=False)
            bar.update(result.num_samples + result.num_failed)
    meta = build_meta(folder, recipe, tasks)
    write_json_atomic(folder / META_NAME, meta)
    return meta
