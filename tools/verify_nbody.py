"""Evaluate the shipped N-body checkpoints (GNN, EGNN, SEGNO of the tutorial's default budget) on the
charged benchmark's reference protocol.

    python tools/verify_nbody.py                       # 10,000 fresh systems + the seed-43 2k test split
    python tools/verify_nbody.py --num-systems 2000    # quicker, noisier

The test systems are simulated here (`meshsim.sim.nbody_reference`): 10,000 systems from
RandomState(2024) (the tutorial's large test set) and the reference generator's seed-43 test split
(2,000 systems, the papers' protocol). The baseline of the same run is free flight, x_30 + v_30.

JSON keys: ``gnn_mse``, ``egnn_mse``, ``segno_mse`` (10k set), ``*_mse_split`` (seed-43 2k split),
``free_flight_mse``, ``free_flight_mse_split``, ``*_mse_blocks`` (the large set cut into blocks of
the split's size: how much a 2k test set's MSE varies by chance), ``num_systems``,
``num_systems_split``, ``published``, ``simulate_s``, ``evaluate_s``.
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
INPUT_FRAME, TARGET_FRAME, PARTICLES = 30, 40, 5


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
def system_errors(model, data, chunk: int = 20_000) -> torch.Tensor:
    """(S,) position MSE of each system (over its particles and coordinates), in chunks of nodes
    (whole systems); ``model`` None: free flight x + v."""
    errors = []
    for begin in range(0, data.num_nodes, chunk):
        part = data.subgraph(torch.arange(begin, min(begin + chunk, data.num_nodes)))
        predicted = part.pos + part.vel if model is None else model(part)
        errors.append(((predicted - part.y) ** 2).reshape(-1, PARTICLES * 3).mean(1))
    return torch.cat(errors).double()


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
        for kind, model in {"free_flight": None, **models}.items():
            errors = system_errors(model, data)
            results[f"{kind}_mse{suffix}"] = float(errors.mean())
            if not suffix and len(errors) >= 2 * args.split_systems:  # the large set in blocks of the split's size
                blocks = errors[:len(errors) // args.split_systems * args.split_systems].reshape(-1, args.split_systems)
                results[f"{kind}_mse_blocks"] = [round(float(b), 6) for b in blocks.mean(1)]
    results["evaluate_s"] = time.perf_counter() - began
    print(f"{'model':<12}{f'{args.num_systems} new':>12}{f'{args.split_systems} split':>12}{'published':>11}"
          f"   {args.split_systems}-system blocks of the new set")
    for kind in (*MODELS, "free_flight"):
        blocks = results.get(f"{kind}_mse_blocks")
        spread = f"   {min(blocks):.5f} - {max(blocks):.5f}" if blocks else ""
        print(f"{kind:<12}{results[f'{kind}_mse']:>12.5f}{results[f'{kind}_mse_split']:>12.5f}"
              f"{PUBLISHED.get(kind, float('nan')):>11.4f}{spread}")
    print(json.dumps({k: float(f"{v:.5g}") if isinstance(v, float) else v for k, v in results.items()}))
    return results


if __name__ == "__main__":
    main()
