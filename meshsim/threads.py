"""Thread defaults for running models on a machine that other work shares.

torch's default is one intra-op thread per core, and its OpenMP threads spin while they wait for
each other. When another process holds one of the cores, a spinning thread burns the time slice
its partner needs and every parallel region waits for the thread that was descheduled: on this
2-core machine beside other work, training a small MeshGraphNet ran several times slower with
torch's 2 threads than with 1 (``tools/bench_threads.py``). meshsim's graphs are small enough that a
second thread gains little even on an idle machine, so the command line, the demo, the tutorials
and the test suite run models with one thread, and OpenMP threads that sleep when they wait.

Precedence: an explicit thread count (``--threads N``), else ``OMP_NUM_THREADS`` if set, else
`DEFAULT_THREADS`. OpenMP reads its wait policy once, when it is loaded (by torch, or by gmsh),
so `set_openmp_environment` must run before either is imported; `use_threads` calls it and then
sets torch's thread count, which works at any time.
"""
from __future__ import annotations

import os

#: intra-op threads when neither ``--threads`` nor ``OMP_NUM_THREADS`` says otherwise
DEFAULT_THREADS = 1

#: OpenMP settings applied unless the environment already sets them: idle threads sleep instead
#: of spinning (GNU OpenMP, which torch and gmsh load here; KMP_BLOCKTIME for Intel's OpenMP)
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}


def set_openmp_environment() -> None:
    """Put `OPENMP_ENVIRONMENT` into ``os.environ`` where not already set (no effect on an OpenMP
    runtime already loaded; child processes inherit it)."""
    for name, value in OPENMP_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def default_threads() -> int:
    """``OMP_NUM_THREADS`` if the environment sets it to a positive integer, else `DEFAULT_THREADS`."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_THREADS


def use_threads(threads: int | None = None) -> int:
    """Run torch with ``threads`` intra-op threads (None: `default_threads`) and sleeping OpenMP
    threads; returns the thread count."""
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    set_openmp_environment()
    threads = default_threads() if threads is None else threads
    import torch

    torch.set_num_threads(threads)
    return threads
