"""Evaluate the shipped N-body checkpoints (GNN, EGNN, SEGNO of the tutorial's default budget) on the
charged benchmark's reference protocol.

    python tools/verify_nbody.py                       # 10,000 fresh systems + the seed-43 2k test split
    python tools/verify_nbody.py --num-systems 2000    # quicker, noisier

The test systems are simulated here (`meshsim.sim.nbody_reference`): 10,000 systems from
RandomState(2024) (the tutorial's large test set) and the reference generator's seed-43 test split
(2,000 systems, the papers' protocol). The baseline of the same run is free flight, x_30 + v_30.

JSON keys: ``gnn_mse``, ``egnn_mse``, ``segno_mse`` (10k set), ``*_mse_split`` (seed-43 2k split),
``free_flight_mse``, ``free_flight_mse_split``, ``num_systems``, ``num_systems_split``, ``published``,
``simulate_s``, ``evaluate_s``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from meshsim.sim.nbody_reference import (LARGE_TEST_SEED, LARGE_TEST_SYSTEMS, reference_charged_splits,
                                         reference_charged_system)
from meshsim.train.nbody_task import charged_graphs, nbody_model

CHECKPOINTS = Path(__file__).resolve().parent.parent / "tutorials" / "checkpoints"
MODELS = ("gnn", "egnn", "segno")
PUBLISHED = {"gnn": 0.0107, "egnn": 0.0071, "segno": 0.0043}
INPUT_FRAME, TARGET_FRAME = 30, 40


def load(kind: str, folder: Path) -> torch.nn.Module:
    """The checkpoint ``folder/nbody_<kind>.pth`` written by tutorials/nbody_equivariant.py."""
    path = folder / f"nbody_{kind}.pth"
    if not path.is_file():
        raise SystemExit(f"no checkpoint {path}; run tutorials/nbody_equivariant.py and copy its "
                         f"checkpoints/ here, or pass --checkpoints")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = nbody_model(state["kind"], hidden_dim=int(state["hidden_dim"]))
    model.load_state_dict(state["model"])
    return model.eval()


def graphs(traj):
    tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return charged_graphs(tensor(traj.pos[:, INPUT_FRAME]), tensor(traj.vel[:, INPUT_FRAME]), tensor(traj.params),
                          tensor(traj.pos[:, TARGET_FRAME]))


@torch.no_grad()
def mse(model, data, chunk: int = 20_000) -> float:
    """Position MSE over systems, particles and coordinates, in chunks of nodes (whole systems)."""
    total = 0.0
    for begin in range(0, data.num_nodes, chunk):
        part = data.subgraph(torch.arange(begin, min(begin + chunk, data.num_nodes)))
        total += float(((model(part) - part.y) ** 2).sum())
    return total / data.y.numel()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS, help="folder of nbody_<model>.pth")
    parser.add_argument("--num-systems", type=int, default=LARGE_TEST_SYSTEMS, help="systems of the large test set")
    parser.add_argument("--split-systems", type=int, default=2000,
                        help="systems of the seed-43 test split to use (its first ones; default all 2,000)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    models = {kind: load(kind, args.checkpoints) for kind in MODELS}
    began = time.perf_counter()
    steps = (TARGET_FRAME + 1) * 100
    sets = {"": graphs(reference_charged_system(args.num_systems, seed=LARGE_TEST_SEED, steps=steps)),
            "_split": graphs(reference_charged_splits(used={"test": args.split_systems}, steps=steps)["test"])}
    simulate_s = time.perf_counter() - began
    results = {"num_systems": args.num_systems, "num_systems_split": args.split_systems, "published": PUBLISHED,
               "simulate_s": simulate_s}
    began = time.perf_counter()
    for suffix, data in sets.items():
        results[f"free_flight_mse{suffix}"] = float(((data.pos + data.vel - data.y) ** 2).mean())
        for kind, model in models.items():
            results[f"{kind}_mse{suffix}"] = mse(model, data)
    results["evaluate_s"] = time.perf_counter() - began
    print(f"{'model':<12}{f'{args.num_systems} new':>12}{f'{args.split_systems} split':>12}{'published':>11}")
    for kind in (*MODELS, "free_flight"):
        print(f"{kind:<12}{results[f'{kind}_mse']:>12.5f}{results[f'{kind}_mse_split']:>12.5f}"
              f"{PUBLISHED.get(kind, float('nan')):>11.4f}")
    print(json.dumps({k: float(f"{v:.5g}") if isinstance(v, float) else v for k, v in results.items()}))
    return results


if __name__ == "__main__":
    main()
