"""MP-PDE against WENO5 on the forced Burgers equation (experiment E1 of Brandstetter et al. 2022).

u_t + (u^2/2)_x = delta(t, x) on [0, 16) periodic, t in [0, 4], 250 stored steps. Reference data
from meshsim's WENO5 + Dormand-Prince solver at nx = 200, averaged down to nx = 100, 50, 40. At each
coarse resolution an MP-PDE model (time window 25, pushforward, temporal bundling) is trained and
rolled out from the first 2 tw given steps; the classical baseline is the same WENO5 solver run
directly at that resolution. Metric: the accumulated error (sum over predicted frames of the
squared error summed over space / nx, mean over test trajectories). Published (E1, Table 2):
WENO5 2.02 / 6.23 / 9.63, MP-PDE 1.55 / 1.67 / 1.47 at nx = 100 / 50 / 40; time per trajectory
WENO5 ~1.9 s, MP-PDE 0.09 s.

    python tutorials/mp_pde_burgers.py --out mppde-out           # default budget, about an hour
    python tutorials/mp_pde_burgers.py --full --out mppde-full   # the paper's budget (many hours)
    python tutorials/mp_pde_burgers.py --smoke --out /tmp/mppde  # seconds: checks that it all runs

Writes ``results.json`` (the printed table) and per-resolution run folders to ``--out``.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from _tutorial_cli import start, tutorial_parser, write_results

from meshsim.graph import line_neighbour_edges
from meshsim.nn import MPPDE
from meshsim.sim import (E1, CombinedEquation, Forcing, cell_centres, coarsen, solve_combined_equation,
                         spectral_subsample)
from meshsim.train import MPPDELoss, TrainConfig, accumulated_error, train
from meshsim.train.mppde_task import timed_rollout_from_window, window_accumulated_error

PUBLISHED = {100: {"weno5": 2.02, "mp_pde": 1.55}, 50: {"weno5": 6.23, "mp_pde": 1.67},
             40: {"weno5": 9.63, "mp_pde": 1.47}}
REFERENCE_NX, LENGTH = 200, 16.0


@dataclass(frozen=True)
class Budget:
    """Data and training per resolution."""

    name: str
    num_train: int
    num_test: int
    steps: int
    batch_size: int = 16
    hidden_dim: int = 128
    num_layers: int = 6
    time_window: int = 25
    max_unroll: int = 2
    neighbours: int = 3
    lr: float = 1e-4
    resolutions: tuple[int, ...] = (100, 50, 40)


BUDGETS = {
    "smoke": Budget("smoke", num_train=4, num_test=2, steps=6, batch_size=2, hidden_dim=32, num_layers=2,
                    resolutions=(50,)),
    "default": Budget("default", num_train=512, num_test=32, steps=3000, lr=3e-4),
    # paper: 2048 trajectories, 20 epochs; an epoch passes t_res = 250 times over the batches of 16
    # trajectories (a random window each time): 20 x 250 x 128 = 640,000 steps
    "full": Budget("full", num_train=2048, num_test=128, steps=20 * 250 * (2048 // 16)),
}


def generate(num: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Forcing]:
    """E1 trajectories at the reference resolution: times (250,), u (num, 250, 200), forcing."""
    forcing = Forcing.stack([E1.sample(rng)[1] for _ in range(num)])
    times, u = solve_combined_equation(CombinedEquation(1.0), forcing, REFERENCE_NX, E1.t_end)
    return times, u, forcing


def graphs(u: np.ndarray, neighbours: int) -> list[Data]:
    """One graph per trajectory: ``u`` (nx, T) float32, cell centres, no PDE parameters (E1)."""
    nx = u.shape[-1]
    edge_index = torch.from_numpy(line_neighbour_edges(nx, neighbours))
    pos = torch.from_numpy(cell_centres(nx, LENGTH)).float()[:, None]
    return [Data(u=torch.from_numpy(trajectory.T).float(), pos=pos, params=torch.zeros(1, 0),
                 edge_index=edge_index, num_nodes=nx) for trajectory in u]


def weno_baseline(test_u: np.ndarray, forcing: Forcing, nx: int, first: int,
                  coarse=coarsen) -> tuple[np.ndarray, float]:
    """WENO5 run directly at nx from the coarse initial state: frames from ``first`` on, and
    seconds per trajectory (timed on one trajectory)."""
    factor = REFERENCE_NX // nx
    u0 = coarse(test_u[:, 0], factor)
    one = Forcing(*(getattr(forcing, n)[0] for n in ("amplitudes", "omegas", "phases", "wavenumbers")))
    began = time.perf_counter()
    solve_combined_equation(CombinedEquation(1.0), one, nx, E1.t_end, u0=u0[0])
    seconds = time.perf_counter() - began
    _, u = solve_combined_equation(CombinedEquation(1.0), forcing, nx, E1.t_end, u0=u0)
    return u[:, first:], seconds


#: how the coarse grids are made from the nx = 200 reference
COARSE_DATA = {"average": coarsen, "spectral": spectral_subsample}


def run(budget: Budget, out: Path, seed: int, coarse_data: str = "average") -> dict:
    coarse = COARSE_DATA[coarse_data]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    times, train_u, _ = generate(budget.num_train, rng)
    _, test_u, test_forcing = generate(budget.num_test, rng)
    dt, tw = float(times[1] - times[0]), budget.time_window
    print(f"generated {budget.num_train} + {budget.num_test} trajectories in {time.perf_counter() - began:.0f} s")
    results = {"budget": dataclasses.asdict(budget), "seed": seed, "coarse_data": coarse_data, "resolutions": {}}
    for nx in budget.resolutions:
        factor = REFERENCE_NX // nx
        train_graphs = graphs(coarse(train_u, factor), budget.neighbours)
        test_graphs = graphs(coarse(test_u, factor), budget.neighbours)
        model = MPPDE(tw, num_params=0, dt=dt, hidden_dim=budget.hidden_dim, num_layers=budget.num_layers,
                      domain_length=LENGTH, t_max=E1.t_end)
        config = TrainConfig(steps=budget.steps, batch_size=budget.batch_size, lr=budget.lr,
                             lr_final=budget.lr * 0.1, optimizer="adamw", weight_decay=1e-8, seed=seed,
                             log_every=max(1, budget.steps // 100), checkpoint_every=max(1, budget.steps // 4))
        trained = time.perf_counter()
        result = train(model, MPPDELoss(budget.max_unroll), train_graphs, config, run_dir=out / f"nx{nx}",
                       extra_config={"model": {"time_window": tw, "hidden_dim": budget.hidden_dim,
                                               "num_layers": budget.num_layers, "dt": dt, "nx": nx}})
        train_s = time.perf_counter() - trained
        predicted, mp_pde_s = timed_rollout_from_window(model, test_graphs, len(times))
        weno, weno_s = weno_baseline(test_u, test_forcing, nx, 2 * tw, coarse)
        coarse_truth = coarse(test_u, factor)[:, 2 * tw:]
        results["resolutions"][nx] = {
            "mp_pde": window_accumulated_error(predicted, test_graphs, tw),
            "weno5": accumulated_error(torch.from_numpy(weno), torch.from_numpy(coarse_truth)),
            "mp_pde_s_per_trajectory": mp_pde_s, "weno5_s_per_trajectory": weno_s,
            "train_s": train_s, "steps_per_s": result.step / train_s, "final_loss": result.losses[-1],
            "published": PUBLISHED[nx]}
    results["runtime_s"] = time.perf_counter() - began
    return results


def table(results: dict) -> str:
    lines = ["nx   | WENO5 acc. err (published) | MP-PDE acc. err (published) | s/trajectory WENO5, MP-PDE"]
    for nx, r in results["resolutions"].items():
        lines.append(f"{nx:<4} | {r['weno5']:8.2f} ({r['published']['weno5']:5.2f})        | "
                     f"{r['mp_pde']:8.2f} ({r['published']['mp_pde']:5.2f})         | "
                     f"{r['weno5_s_per_trajectory']:.2f}, {r['mp_pde_s_per_trajectory']:.3f}")
    lines.append(f"budget {results['budget']['name']}, total {results['runtime_s']:.0f} s "
                 f"(published s/trajectory: WENO5 ~1.9, MP-PDE 0.09)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "mppde-out")
    parser.add_argument("--coarse-data", choices=sorted(COARSE_DATA), default="average",
                        help="coarse grids as exact cell averages (the issue's protocol) or as low-passed "
                             "point values (closer to the paper's filtered, subsampled data)")
    parser.add_argument("--resolutions", type=lambda text: tuple(int(v) for v in text.split(",")),
                        help="comma list of nx to run (default: the budget's, 100,50,40)")
    args = parser.parse_args(argv)
    budget = BUDGETS[start(args)]
    if args.resolutions:
        budget = dataclasses.replace(budget, resolutions=args.resolutions)
    results = run(budget, args.out, args.seed, args.coarse_data)
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
