"""Training speed of a small MeshGraphNet under torch's default threads and under meshsim's, with
the machine idle and beside one competing busy process.

The model is the cylinder-flow tutorial's (latent 64, 8 message-passing steps, batch 2) on the
graph of a ~500-node rectangle mesh with random fields, trained by `meshsim.train.train` for
``--steps`` steps (in calls of 5; a variant slower than ``--max-seconds`` is timed over the steps
it did) after a few warm-up steps. Each measurement runs in a fresh process, because OpenMP reads
its wait policy when it is loaded:

- ``old``: torch's defaults (one thread per core, OpenMP's default wait policy);
- ``new``: `meshsim.threads.use_threads()`, as ``meshsim train`` / ``evaluate`` / ``demo`` call it;
- with ``--variants`` also 2 threads with sleeping OpenMP threads, 1 thread with the default
  wait policy, and the new defaults with one inter-op thread, to separate the settings.

"Contended" runs the same measurement while one other process (a Python busy loop, started and
stopped here) holds a core. The variants are measured interleaved, ``--repeats`` rounds, and the
best round of each is reported, because on a shared machine load from other work comes and goes.
``slowdown`` is idle / contended steps per second for the new defaults (target <= 2). The
1-minute load averages before and after are printed, since "idle" is only as idle as the machine.

Run: ``python tools/bench_threads.py`` (prints one JSON object as the last line).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: name -> (environment added to the worker's, intra-op threads: None = the worker calls
#: use_threads(), 0 = torch's default, N = torch.set_num_threads(N); inter-op threads: 0 = torch's default)
VARIANTS = {
    "old": ({}, 0, 0),
    "new": ({}, None, 0),
    "passive_2_threads": ({"OMP_WAIT_POLICY": "PASSIVE"}, 2, 0),
    "active_1_thread": ({}, 1, 0),
    "new_1_interop_thread": ({}, None, 1),
}
#: steps per call of `train` in a measurement
CHUNK = 5
#: OpenMP variables removed from the workers' environment so that each variant sets its own
OPENMP_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS")


def measure(steps: int, warmup: int, threads: int | None, interop: int, h: float, max_seconds: float) -> dict:
    """Steps/s of training the small MeshGraphNet in this process (the worker side): ``steps``
    steps, or as many chunks of `CHUNK` steps as fit in ``max_seconds``."""
    if threads is None:
        from meshsim.threads import use_threads

        use_threads()
    import torch

    if threads:
        torch.set_num_threads(threads)
    if interop:
        torch.set_num_interop_threads(interop)
    from meshsim.graph import NUM_NODE_TYPES, from_mesh
    from meshsim.mesh import rectangle
    from meshsim.nn import MeshGraphNet
    from meshsim.train import MeshGraphNetLoss, TrainConfig, train

    generator = torch.Generator().manual_seed(0)
    graph = from_mesh(rectangle(h=h))
    graph.x = torch.randn(graph.num_nodes, 2, generator=generator)
    graph.y = torch.cat([graph.x + 0.01 * torch.randn(graph.num_nodes, 2, generator=generator),
                         torch.randn(graph.num_nodes, 1, generator=generator)], dim=1)  # next velocity, pressure
    torch.manual_seed(0)
    model = MeshGraphNet(2, NUM_NODE_TYPES, extra_output_dim=1, latent_dim=64, num_steps=8)
    data = [graph] * 8
    loss = MeshGraphNetLoss(noise_std=0.02)
    train(model, loss, data, TrainConfig(steps=warmup, batch_size=2, lr=1e-4, progress=False))
    done, start = 0, time.perf_counter()
    while done < steps and time.perf_counter() - start < max_seconds:  # chunks, to stop a very slow variant
        chunk = min(CHUNK, steps - done)
        train(model, loss, data, TrainConfig(steps=chunk, batch_size=2, lr=1e-4, progress=False))
        done += chunk
    seconds = time.perf_counter() - start
    return {"steps_per_s": done / seconds, "steps": done, "threads": torch.get_num_threads(),
            "num_nodes": graph.num_nodes, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


def run_worker(name: str, args) -> dict:
    """One measurement of variant ``name`` in a fresh Python process."""
    extra, threads, interop = VARIANTS[name]
    env = {k: v for k, v in os.environ.items() if k not in OPENMP_VARIABLES}
    env.update(extra)
    command = [sys.executable, __file__, "--worker", "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--h", str(args.h), "--max-seconds", str(args.max_seconds), "--worker-threads", "none" if threads is None else str(threads),
               "--worker-interop", str(interop)]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def busy_process() -> subprocess.Popen:
    """A process that keeps one core busy until it is killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--h", type=float, default=0.05, help="mesh size of the unit square (0.05: ~500 nodes)")
    parser.add_argument("--variants", action="store_true",
                        help="also measure 2 threads with OMP_WAIT_POLICY=PASSIVE, 1 thread with the default "
                             "wait policy, and the new defaults with 1 inter-op thread")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="stop a measurement after this long (at a multiple of 5 steps)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds; the best of each is reported")
    parser.add_argument("--full", action="store_true", help="200 timed steps per measurement, 3 rounds")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", default="none", help=argparse.SUPPRESS)
    parser.add_argument("--worker-interop", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        threads = None if args.worker_threads == "none" else int(args.worker_threads)
        print(json.dumps(measure(args.steps, args.warmup, threads, args.worker_interop, args.h, args.max_seconds)))
        return
    if args.full:
        args.steps, args.repeats = 200, 3
    names = list(VARIANTS) if args.variants else ["old", "new"]
    load_before = os.getloadavg()[0]
    runs = {name: {"idle": [], "contended": []} for name in names}
    for _ in range(args.repeats):  # interleaved, best of the repeats: load from others comes and goes
        for name in names:
            runs[name]["idle"].append(run_worker(name, args))
            print(f"{name:20s} idle       {runs[name]['idle'][-1]['steps_per_s']:7.2f} steps/s "
                  f"({runs[name]['idle'][-1]['threads']} threads)", flush=True)
        competitor = busy_process()
        try:
            time.sleep(0.5)
            for name in names:
                runs[name]["contended"].append(run_worker(name, args))
                print(f"{name:20s} contended  {runs[name]['contended'][-1]['steps_per_s']:7.2f} steps/s", flush=True)
        finally:
            competitor.kill()
            competitor.wait()
    results = {name: {kind: max(runs[name][kind], key=lambda r: r["steps_per_s"]) for kind in runs[name]}
               for name in names}
    summary = {}
    for name in names:
        idle, contended = results[name]["idle"]["steps_per_s"], results[name]["contended"]["steps_per_s"]
        prefix = "" if name == "new" else f"{name}_"
        summary.update({f"{prefix}idle_steps_per_s": round(idle, 3),
                        f"{prefix}contended_steps_per_s": round(contended, 3),
                        f"{prefix}slowdown": round(idle / contended, 3),
                        f"{prefix}threads": results[name]["idle"]["threads"]})
    summary.update(new_over_old_contended=round(results["new"]["contended"]["steps_per_s"]
                                                / results["old"]["contended"]["steps_per_s"], 3),
                   num_nodes=results["new"]["idle"]["num_nodes"], steps=args.steps, repeats=args.repeats,
                   cores=os.cpu_count(),
                   load_average_before=round(load_before, 2), load_average_after=round(os.getloadavg()[0], 2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
