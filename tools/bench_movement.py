"""Time per mesh of the Monge-Ampere mover (relaxation and quasi-Newton) and of UM2N / DMM
inference at about 1k, 4k and 16k nodes, in the same run; and the cost of UM2N's encoder with
dense attention against bounded (key-subsampled) attention.

Meshes: gmsh unit squares; monitor: UM2N's ``1 + 5 H:H / max`` with H recovered from the
Helmholtz solution re-solved on every iterate (one fixed random Gaussian-bump solution), MA to
rtol 1e-3 (the data-generation tolerance). The learned movers are the checkpoints shipped next to
the tutorial when present (else untrained models of the default settings: the time does not
depend on the weights); their time is one inference (graph, forward, boundary projection,
tangling check), the monitor on the input mesh counted separately (``monitor_s_*``).

    python tools/bench_movement.py            # 1k, 4k, 16k
    python tools/bench_movement.py --full     # also 64k (encoder and learned movers only)

JSON keys: ``ma_s_<size>`` (relaxation), ``ma_qn_s_<size>``, ``ma_iterations_<size>``,
``ma_qn_iterations_<size>``, ``um2n_s_<size>``, ``dmm_s_<size>``, ``monitor_s_<size>``,
``speedup_<size>`` (ma_s / um2n_s), ``dmm_speedup_<size>``, ``qn_over_relaxation_<size>``,
``attention_dense_s_<size>``, ``attention_bounded_s_<size>``, ``nodes_<size>``, ``checkpoints``
and ``load`` (1-minute load average at the start).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from meshsim.learned_movement import SHIPPED_MODELS, LearnedMover
from meshsim.mesh import rectangle
from meshsim.movement import GaussianBumps, SlidingBoundary, TriangleP1, hessian_monitor, monge_ampere, solve_helmholtz
from meshsim.nn.graph_transformer import GraphTransformerEncoder
from meshsim.train.dmm_task import DMMSettings, DMMTask
from meshsim.train.movement_models import export_model
from meshsim.train.um2n_task import UM2NSettings, UM2NTask

SIZES = {"1k": 0.036, "4k": 0.018, "16k": 0.009}
FULL_SIZES = {"64k": 0.0045}
BUMPS = GaussianBumps.random(np.random.default_rng(7))


def resolved_monitor(mesh):
    ops = TriangleP1.of(mesh)
    return hessian_monitor(mesh, solve_helmholtz(mesh, BUMPS, ops), alpha=5.0, operators=ops)


def _best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def learned_movers(folder) -> tuple[dict, str]:
    movers, notes = {}, []
    for kind, task_type, settings in (("um2n", UM2NTask, UM2NSettings()), ("dmm", DMMTask, DMMSettings())):
        if SHIPPED_MODELS[kind].is_file():
            movers[kind] = LearnedMover(SHIPPED_MODELS[kind])
            notes.append(f"{kind}: shipped")
        else:
            torch.manual_seed(0)
            path = export_model(os.path.join(folder, f"{kind}.pth"), kind, settings, task_type.build_model(settings))
            movers[kind] = LearnedMover(path)
            notes.append(f"{kind}: untrained default settings")
    return movers, ", ".join(notes)


def attention(mesh, repeats: int) -> tuple[float, float | None]:
    """Encoder forward (s) with bounded keys (256) and with dense attention (None past 64k nodes)."""
    pos = torch.tensor(mesh.points, dtype=torch.float32)
    x = torch.cat([pos, torch.rand(len(pos), 1)], dim=1)
    batch, ptr = torch.zeros(len(pos), dtype=torch.long), torch.tensor([0, len(pos)])
    torch.manual_seed(0)
    bounded, dense = GraphTransformerEncoder(3, max_keys=256).eval(), GraphTransformerEncoder(3, max_keys=None).eval()
    with torch.no_grad():
        bounded_s = _best(lambda: bounded(x, pos, batch, ptr), repeats)
        dense_s = _best(lambda: dense(x, pos, batch, ptr), repeats) if len(pos) <= 20_000 else None
    return bounded_s, dense_s


def run(sizes: dict, repeats: int, folder: str) -> dict:
    movers, notes = learned_movers(folder)
    results = {"checkpoints": notes, "load": os.getloadavg()[0]}
    for label, h in sizes.items():
        mesh = rectangle(h=h)
        results[f"nodes_{label}"] = mesh.num_points
        boundary = SlidingBoundary.of(mesh)
        results[f"monitor_s_{label}"] = _best(lambda: resolved_monitor(mesh), repeats)
        values = resolved_monitor(mesh)
        for kind, mover in movers.items():
            mover.predict(mesh, values, boundary)  # warm-up
            results[f"{kind}_s_{label}"] = _best(lambda: mover.predict(mesh, values, boundary), repeats)
        bounded_s, dense_s = attention(mesh, repeats)
        results[f"attention_bounded_s_{label}"] = bounded_s
        results[f"attention_dense_s_{label}"] = dense_s
        if label in SIZES:
            for key, method in (("ma", "relaxation"), ("ma_qn", "quasi_newton")):
                start = time.perf_counter()
                report = monge_ampere(mesh, resolved_monitor, method=method, rtol=1e-3, maxiter=500).report
                results[f"{key}_s_{label}"] = time.perf_counter() - start
                results[f"{key}_iterations_{label}"] = report.iterations
            results[f"speedup_{label}"] = results[f"ma_s_{label}"] / results[f"um2n_s_{label}"]
            results[f"dmm_speedup_{label}"] = results[f"ma_s_{label}"] / results[f"dmm_s_{label}"]
            results[f"qn_over_relaxation_{label}"] = results[f"ma_qn_s_{label}"] / results[f"ma_s_{label}"]
        print({k: v for k, v in results.items() if k.endswith(label)}, flush=True)
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add a 64k-node mesh (encoder and learned movers)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timings of the fast parts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        results = run({**SIZES, **(FULL_SIZES if args.full else {})}, args.repeats, folder)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
