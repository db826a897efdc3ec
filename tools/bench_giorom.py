"""Time per rollout step of GNS (dense) and GIOROM (fractions 1/8 and 1/32, dense decoding included)
at 4k, 16k and 64k particles, one thread, in one run; plus the MPM simulator at 50k particles, the
radius graph and our FNO against the neuraloperator library's (when installed).

    python tools/bench_giorom.py            # 4k, 16k, 64k particles (GNS at 64k: one timed step)
    python tools/bench_giorom.py --sizes 4k 16k

The clouds are jittered lattices filling 60% of the unit square; the particle spacing shrinks with
N and the connectivity radius is 2.5 spacings (about 19 neighbours, as in the mpm_* datasets), so
every size has the same graph degree. Models have the default sizes of ``meshsim train gns|giorom``
(GNS: latent 128, 10 steps; GIOROM: latent 128, 2 + 2 interaction layers, 32^2 grid, 4 Fourier
layers) with untrained weights: the time of a step does not depend on the weights. A step is
everything a rollout does per frame: radius graph, model, and for GIOROM the k-d tree of the
sparse particles, the dense decoder at every dense particle and the update of the dense positions.

The last line is one JSON object: ``gns_s_{4k,16k,64k}``, ``giorom_s_{size}_1_8``,
``giorom_s_{size}_1_32``, ``speedup_{size}_1_8``, ``speedup_{size}_1_32``, ``mpm_substeps_per_s_50k``,
``radius_graph_s_16k``, ``fno_s``, ``fno_neuralop_s``, ``load_average``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from meshsim.graph import radius_graph  # noqa: E402
from meshsim.nn import FNO2d, GIOROM, GNS, ParticleStatistics  # noqa: E402
from meshsim.sim import MPMConfig, ParticleState, advance, block  # noqa: E402
from meshsim.train.particle_data import sparse_subset  # noqa: E402
from meshsim.train.particle_rollout import _window, giorom_rollout  # noqa: E402

SIZES = {"4k": 4_000, "16k": 16_000, "64k": 64_000}
FRACTIONS = {"1_8": 1 / 8, "1_32": 1 / 32}


def cloud(n: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """(N, 2) jittered lattice filling 60% of the unit square (centred) and its spacing."""
    spacing = math.sqrt(0.6 / n)
    side = int(math.ceil(math.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2)[:n]
    points = 0.5 - 0.5 * side * spacing + spacing * (grid + 0.5)
    rng = np.random.default_rng(seed)
    return points + rng.uniform(-0.2, 0.2, points.shape) * spacing, spacing


def history(points: np.ndarray, spacing: float) -> np.ndarray:
    """(7, N, 2) positions: 6 input frames drifting by a tenth of a spacing per frame, and a 7th."""
    drift = 0.1 * spacing * np.arange(7)[:, None, None] * np.array([1.0, -0.5])
    return (points[None] + drift).astype(np.float32)


def statistics(spacing: float) -> ParticleStatistics:
    return ParticleStatistics(vel_mean=[0.0, 0.0], vel_std=[0.1 * spacing] * 2, acc_mean=[0.0, 0.0],
                              acc_std=[0.01 * spacing] * 2, bounds=[[0.0, 1.0], [0.0, 1.0]], radius=2.5 * spacing)


def time_gns(positions: np.ndarray, stats: ParticleStatistics, repeats: int) -> float:
    model = GNS(stats).eval()
    window = _window(positions, 5)
    types = torch.zeros(window.shape[0], dtype=torch.long)

    def step():
        edges = torch.from_numpy(radius_graph(window[:, -1].numpy(), stats.radius))
        return model.next_position(window, types, edges)
    return best_of(step, repeats)


def time_giorom(positions: np.ndarray, stats: ParticleStatistics, fraction: float, repeats: int) -> float:
    model = GIOROM(stats).eval()
    types = np.zeros(positions.shape[1], dtype=np.int64)
    giorom_rollout(model, positions[:7], types, stats.radius, fraction, steps=1)  # warm-up
    best = math.inf
    for _ in range(repeats):
        result = giorom_rollout(model, positions, types, stats.radius, fraction, steps=1)
        best = min(best, result.seconds_per_step)
    return best


def best_of(step, repeats: int) -> float:
    best = math.inf
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            best = min(best, time.perf_counter() - start)
    return best


def mpm_rate(num_particles: int = 50_000, substeps: int = 20) -> float:
    config = MPMConfig()
    side = math.sqrt(num_particles) * 0.5 * config.dx
    state = ParticleState.at_rest(block((0.08, 0.08), (side, side), config), "water", v=(0.5, -0.5))
    state = advance(state, config, 1)  # compiles the kernels
    start = time.perf_counter()
    advance(state, config, substeps)
    return substeps / (time.perf_counter() - start)


def fno_times(repeats: int = 5) -> tuple[float, float | None]:
    """Forward + backward of a 4-layer, 12-mode, width-32 FNO on one 32^2 grid: ours and neuraloperator's."""
    x = torch.randn(1, 32, 32, 32)
    ours = FNO2d(32, 32, width=32, modes=12, num_layers=4)
    try:
        from neuralop.models import FNO
    except ImportError:
        theirs = None
    else:
        # neuraloperator counts the modes of both signs: (24, 24) keeps the same 12 x 12 corners as ours
        theirs = FNO(n_modes=(24, 24), in_channels=32, out_channels=32, hidden_channels=32, n_layers=4)

    def run(model):
        best = math.inf
        for _ in range(repeats + 1):
            start = time.perf_counter()
            model(x).square().mean().backward()
            best = min(best, time.perf_counter() - start)
        return best
    return run(ours), None if theirs is None else run(theirs)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per model (best of); GNS at 64k: 1")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    result = {}
    for label in args.sizes:
        points, spacing = cloud(SIZES[label])
        positions, stats = history(points, spacing), statistics(spacing)
        repeats = 1 if SIZES[label] > 20_000 else args.repeats
        gns = time_gns(positions, stats, repeats)
        result[f"gns_s_{label}"] = gns
        print(f"{label}: GNS {gns:.3f} s/step", flush=True)
        for name, fraction in FRACTIONS.items():
            seconds = time_giorom(positions, stats, fraction, args.repeats)
            result[f"giorom_s_{label}_{name}"] = seconds
            result[f"speedup_{label}_{name}"] = gns / seconds
            print(f"{label}: GIOROM at {fraction:.4g} ({len(sparse_subset(points, fraction))} sparse) "
                  f"{seconds:.4f} s/step, speed-up {gns / seconds:.1f}x", flush=True)
    points, spacing = cloud(SIZES["16k"])
    start = time.perf_counter()
    radius_graph(points, 2.5 * spacing)
    result["radius_graph_s_16k"] = time.perf_counter() - start
    result["fno_s"], result["fno_neuralop_s"] = fno_times()
    print(f"FNO forward + backward: ours {result['fno_s']:.4f} s, neuraloperator {result['fno_neuralop_s']}")
    result["mpm_substeps_per_s_50k"] = mpm_rate()
    print(f"MPM at 50k particles: {result['mpm_substeps_per_s_50k']:.1f} substeps/s")
    result["load_average"] = os.getloadavg()[0]
    print(json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in result.items()}))
    return result


if __name__ == "__main__":
    main()
