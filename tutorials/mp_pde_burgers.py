"""MP-PDE against WENO5 on the forced Burgers equation (experiment E1 of Brandstetter et al. 2022),
on the paper's own protocol and with the paper's training recipe.

u_t + (u^2/2)_x = delta(t, x) on [0, 16) periodic, t in [0, 4], 250 stored steps. Data: the
shipped recipe ``mppde_E1`` (WENO5 + Dormand-Prince at nx = 200 on the paper's grid, nodes
linspace(0, 16, 200), dx = 16 / 200), coarsened to nx = 100, 50, 40 by the paper's 5-tap box
filter. At each resolution MP-PDE (time window 25) is trained by `meshsim train mppde`'s recipe
(the paper's: AdamW 1e-4, weight decay 0.01, lr x 0.4 after epochs 1, 5, 10, 15 of 32,000 steps,
no pushforward in the first epoch, sqrt-of-summed-squares loss, best-validation model), one
single-thread process per resolution, in parallel. The classical baseline is WENO5 solved
directly on the coarse grid from the point-sampled initial condition. Metric: the accumulated
error summed over 7 bundles (frames 50-224, what the paper's table matches) and 8 bundles
(frames 50-249, the paper code's loop), mean over the 128 test trajectories. Published (E1,
Table 2): WENO5 2.02 / 6.23 / 9.63, MP-PDE 1.55 / 1.67 / 1.47 at nx = 100 / 50 / 40; time per
trajectory WENO5 1.9 s (Python, CPU), MP-PDE 0.09 s (GPU). WENO5 is also reported on meshsim's
cell-average protocol (cell-centred grid, exact cell averages), where it is nearly exact.

    python tutorials/mp_pde_burgers.py --out mppde-out           # default budget (hours, see README)
    python tutorials/mp_pde_burgers.py --full --out mppde-full   # the paper's 640,000 steps; rerun to resume
    python tutorials/mp_pde_burgers.py --smoke --out /tmp/mppde  # seconds: checks that it all runs

Every stage resumes: the data, each resolution's run (``--out/nxN``, `meshsim train`'s run
folder), so ``--full`` can run in the background and be continued later. Writes ``results.json``
(the printed table, the learning curves, WENO5's speed against accuracy), ``learning_curve.png`` and
each resolution's best model as ``mppde_E1_nx{nx}.pth`` (copy those of nx = 40 and 50 to
tutorials/checkpoints/ for ``python tools/verify_mppde.py``).
"""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from _tutorial_cli import start, tutorial_parser, write_results

from meshsim.data import generate, load_recipe
from meshsim.data.problems.mppde import solve_stored
from meshsim.sim import reference_filter
from meshsim.threads import use_threads
from meshsim.train import TrainConfig, load_run, train
from meshsim.train.mppde_data import load_grid_data, weno5_baseline
from meshsim.train.metrics import bundle_accumulated_errors
from meshsim.train.mppde_task import MPPDESettings, MPPDETask, export_model, paper_schedule

PUBLISHED = {100: {"weno5": 2.02, "mp_pde": 1.55}, 50: {"weno5": 6.23, "mp_pde": 1.67},
             40: {"weno5": 9.63, "mp_pde": 1.47}}
#: the paper's budget: 20 epochs of 250 passes over 2048 trajectories in batches of 16
PAPER_STEPS = 20 * 250 * 2048 // 16


@dataclass(frozen=True)
class Budget:
    """Data and training: trajectories per split, steps per resolution, model size, validation."""

    name: str
    num_train: int
    num_valid: int
    num_test: int
    steps: dict
    batch_size: int = 16
    hidden_dim: int = 128
    num_layers: int = 6
    epoch_steps: int = 32_000
    val_every: int = 2_000
    checkpoint_every: int = 1_000

    @property
    def resolutions(self) -> tuple[int, ...]:
        return tuple(self.steps)


BUDGETS = {
    "smoke": Budget("smoke", num_train=4, num_valid=2, num_test=2, steps={50: 6}, batch_size=2, hidden_dim=32,
                    num_layers=2, epoch_steps=3, val_every=3, checkpoint_every=3),
    # about 3 hours for the three resolutions as parallel single-thread processes on a 2-core machine
    "default": Budget("default", num_train=2048, num_valid=128, num_test=128,
                      steps={100: 10_000, 50: 60_000, 40: 45_000}),
    "full": Budget("full", num_train=2048, num_valid=128, num_test=128,
                   steps={100: PAPER_STEPS, 50: PAPER_STEPS, 40: PAPER_STEPS}),
}


def make_data(budget: Budget, out: Path, seed: int, reference: Path | None = None) -> tuple[Path, Path]:
    """The reference-protocol dataset (mppde_E1 at nx = 200; in ``reference`` if given, e.g. one
    made by `meshsim generate mppde_E1`) and, for WENO5 on meshsim's cell-average protocol, the same
    test trajectories on the cell grid; both resume."""
    recipe = load_recipe("mppde_E1").with_overrides(
        seed=seed, splits={"train": budget.num_train, "valid": budget.num_valid, "test": budget.num_test})
    cell = recipe.with_overrides(splits={"train": 1, "test": budget.num_test}, params={"grid": "cell"})
    folders = reference or out / "data-reference", out / "data-cell"
    for folder, r in zip(folders, (recipe, cell)):
        generate(r, folder, progress=False)
    return folders


def settings(budget: Budget, nx: int, periodic: bool) -> MPPDESettings:
    return MPPDESettings(hidden_dim=budget.hidden_dim, num_layers=budget.num_layers, resolution=nx,
                         epoch_steps=budget.epoch_steps, periodic=periodic)


def train_resolution(job: tuple) -> float:
    """One resolution's run (in its own single-thread process); returns its training seconds."""
    data, run, nx, budget, seed, periodic = job
    use_threads(1)
    began = time.perf_counter()
    task = MPPDETask(data, settings(budget, nx, periodic))
    torch.manual_seed(seed)
    config = TrainConfig(steps=budget.steps[nx], batch_size=budget.batch_size, lr=1e-4, seed=seed,
                         val_every=budget.val_every, checkpoint_every=budget.checkpoint_every,
                         log_every=min(100, budget.val_every), progress=False, **paper_schedule(task.settings))
    extra = {"task": "mppde", "data": str(Path(data).resolve()), "settings": dataclasses.asdict(task.settings)}
    train(task.model(), task.loss(), task.train_set, config, run_dir=run, validate=task.validate(), resume=True,
          extra_config=extra)
    return time.perf_counter() - began


def learning_curve(run: Path) -> list[dict]:
    """Validation records of a run: step, accumulated error over 7 and 8 bundles."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{"step": r["step"], "error_7": r.get("val/accumulated_error_7"), "error_8": r["val/accumulated_error_8"]}
            for r in records if "val/accumulated_error_8" in r]


def weno5_speed_accuracy(data: Path, nx: int, tw: int = 25) -> list[dict]:
    """WENO5 on finer reference grids nx' = k nx (batched over the test trajectories), filtered
    back to nx with stride k as the truth is: error over 7 and 8 bundles and s per trajectory."""
    test = load_grid_data(data, "test", nx, dtype=torch.float64)
    params = {k: v for k, v in test.stored.items() if k != "t_end"}
    truth = test.u[:, :, 2 * tw:].transpose(1, 2)
    rows = []
    for fine in range(nx, 201, nx):
        began = time.perf_counter()
        solved = solve_stored(params, fine, test.stored["t_end"], "reference")
        seconds = (time.perf_counter() - began) / len(truth)
        coarse = solved if fine == nx else reference_filter(solved, fine // nx)
        errors = bundle_accumulated_errors(torch.from_numpy(coarse[:, 2 * tw:]), truth, tw)
        rows.append({"nx": fine, "error_7": errors[7], "error_8": errors[8], "s_per_trajectory": seconds})
    return rows


def equal_accuracy(rows: list[dict], target: float, mp_pde_seconds: float) -> dict:
    """The coarsest WENO5 grid at or below MP-PDE's 7-bundle error, and the speed-up."""
    matching = [r for r in rows if r["error_7"] <= target]
    if not matching:
        return {"weno5_nx": None, "speedup": None}
    row = matching[0]
    return {"weno5_nx": row["nx"], "weno5_s_per_trajectory": row["s_per_trajectory"],
            "speedup": row["s_per_trajectory"] / mp_pde_seconds}


def evaluate_resolution(folders: tuple[Path, Path], run: Path, nx: int, out: Path) -> dict:
    """Test metrics of a resolution's best-validation model, WENO5 on both protocols and on finer
    grids; exports the model to ``out/mppde_E1_nx{nx}.pth`` (what tools/verify_mppde.py evaluates)."""
    task, model = load_run(run)  # the best-validation model
    metrics = task.evaluate(model, "test")
    best_step = int(torch.load(run / "checkpoints" / "best.pt", weights_only=True)["step"])
    export_model(model, task.settings, out / f"mppde_E1_nx{nx}.pth", steps=best_step,
                 accumulated_error_7=metrics["accumulated_error_7"], accumulated_error_8=metrics["accumulated_error_8"])
    cell = load_grid_data(folders[1], "test", nx, dtype=torch.float64)
    cell_weno, _ = weno5_baseline(cell, model.time_window)
    curve = learning_curve(run)
    speed = weno5_speed_accuracy(folders[0], nx, model.time_window)
    return {**metrics, "weno5_cell_accumulated_error_7": cell_weno[7], "weno5_cell_accumulated_error_8": cell_weno[8],
            "best_step": best_step, "steps": curve[-1]["step"] if curve else 0, "learning_curve": curve,
            "weno5_speed_accuracy": speed,
            "equal_accuracy": equal_accuracy(speed, metrics["accumulated_error_7"], metrics["s_per_trajectory"]),
            "published": PUBLISHED[nx]}


def table(results: dict) -> str:
    lines = ["nx  | MP-PDE 7 / 8 bundles (published) | WENO5 reference grid 7 / 8 (published) | WENO5 cell "
             "grid 7 / 8 | steps (best) | s/traj MP-PDE, WENO5"]
    for nx, r in results["resolutions"].items():
        lines.append(f"{nx:<3} | {r['accumulated_error_7']:7.2f} / {r['accumulated_error_8']:6.2f} "
                     f"({r['published']['mp_pde']:4.2f})      | {r['weno5_accumulated_error_7']:6.2f} / "
                     f"{r['weno5_accumulated_error_8']:6.2f} ({r['published']['weno5']:4.2f})               | "
                     f"{r['weno5_cell_accumulated_error_7']:.3f} / {r['weno5_cell_accumulated_error_8']:.3f}    | "
                     f"{r['steps']} ({r['best_step']}) | {r['s_per_trajectory']:.4f}, "
                     f"{r['weno5_s_per_trajectory']:.4f}")
    lines.append(f"budget {results['budget']['name']}, deviations: {results['deviations']}, "
                 f"total {results['runtime_s']:.0f} s (published s/trajectory: WENO5 1.9 CPU, MP-PDE 0.09 GPU)")
    return "\n".join(lines)


def plot_learning_curves(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for nx, r in results["resolutions"].items():
        curve = r["learning_curve"]
        line, = axes.loglog([c["step"] for c in curve], [c["error_7"] for c in curve], label=f"MP-PDE nx={nx}")
        axes.axhline(r["weno5_accumulated_error_7"], color=line.get_color(), linestyle="--", label=f"WENO5 nx={nx}")
    axes.set_xlabel("training steps")
    axes.set_ylabel("validation accumulated error (7 bundles)")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "mppde-out")
    parser.add_argument("--resolutions", type=lambda text: tuple(int(v) for v in text.split(",")),
                        help="comma list of nx to run (default: the budget's, 100,50,40)")
    parser.add_argument("--data", type=Path, help="the reference-protocol dataset folder (default OUT/data-reference; "
                                                   "an existing `meshsim generate mppde_E1` folder is reused)")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="evaluate the runs in OUT as far as they have trained (no training), e.g. a --full "
                             "run stopped to be continued later")
    parser.add_argument("--periodic", action="store_true",
                        help="deviation from the paper: a periodic graph with periodic position differences")
    args = parser.parse_args(argv)
    budget = BUDGETS[start(args)]
    if args.resolutions:
        steps = next(iter(budget.steps.values()))
        budget = dataclasses.replace(budget, steps={nx: budget.steps.get(nx, steps) for nx in args.resolutions})
    began = time.perf_counter()
    folders = make_data(budget, args.out, args.seed, args.data)
    print(f"data ready in {time.perf_counter() - began:.0f} s", flush=True)
    runs = {nx: args.out / f"nx{nx}" for nx in budget.resolutions}
    jobs = [(folders[0], runs[nx], nx, budget, args.seed, args.periodic) for nx in budget.resolutions]
    if args.evaluate_only:
        missing = [str(run) for run in runs.values() if not (run / "checkpoints" / "best.pt").is_file()]
        if missing:
            parser.error(f"--evaluate-only: no best-validation checkpoint in {', '.join(missing)}")
        train_seconds = [0.0] * len(jobs)
    elif len(jobs) == 1:
        train_seconds = [train_resolution(jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
            train_seconds = pool.map(train_resolution, jobs)
    results = {"budget": dataclasses.asdict(budget), "seed": args.seed,
               "deviations": ", ".join(settings(budget, 0, args.periodic).deviations) or "none",
               "train_s": dict(zip(budget.resolutions, train_seconds)), "resolutions": {}}
    for nx in budget.resolutions:
        results["resolutions"][nx] = evaluate_resolution(folders, runs[nx], nx, args.out)
    results["runtime_s"] = time.perf_counter() - began
    print(table(results))
    write_results(args.out, results)
    plot_learning_curves(results, args.out / "learning_curve.png")
    return results


if __name__ == "__main__":
    main()
