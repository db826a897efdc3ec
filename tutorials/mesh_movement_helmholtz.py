"""Mesh movement on the Helmholtz benchmark: Monge-Ampere (MA) against UM2N (Zhang et al., NeurIPS
2024) and the data-free DMM (Hu et al., ICLR 2024).

1. The reference `movement` package's Helmholtz demo (20 x 20 grid): our MA beside its published
   L2 errors.
2. Data: the `helmholtz_movement` recipe (UM2N's training set: -Laplace u + u = f, 1-6 random
   Gaussian bumps, gmsh meshes h 0.05 / 0.055, MA by relaxation to rtol 1e-3 with the monitor
   1 + 5 H:H / max re-solved on every iterate) and a finer test set (h 0.028, never trained on).
3. UM2N trained on the MA meshes; DMM trained on the MA residual of the monitors alone.
4. Each test mesh moved by MA, UM2N and DMM: the FEM error of u against the exact solution on a
   fine reference mesh (h 0.01, the coarse solution L2-projected onto it, as UM2N measures),
   mean error reduction ER% over the unmoved mesh, tangled meshes, seconds per mesh.

    python tutorials/mesh_movement_helmholtz.py --out runs/movement      # default budget, ~1 hour
    python tutorials/mesh_movement_helmholtz.py --smoke --out /tmp/mm      # seconds: checks the pipeline
    python tutorials/mesh_movement_helmholtz.py --full --out runs/mm-full  # UM2N's data and widths

Writes to ``--out``: the datasets, the run folders (``um2n-run/``, ``dmm-run/``), the exported models
``um2n_helmholtz.pth`` / ``dmm_helmholtz.pth`` (`meshsim move --method um2n --model FILE`) and
``results.json``. The checkpoint shipped in tutorials/checkpoints/ comes from the default budget.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from _tutorial_cli import start, tutorial_parser, write_results

from meshsim.data import ShardReader, generate, load_recipe, read_meta
from meshsim.learned_movement import LearnedMover
from meshsim.mesh import rectangle
from meshsim.movement import (FineReference, GaussianBumps, MovementError, SlidingBoundary, TriangleP1, hessian_monitor,
                              helmholtz_error, monge_ampere, solve_helmholtz, unit_square_grid)
from meshsim.train import TrainConfig, train
from meshsim.train.dmm_task import DMMSettings, DMMTask
from meshsim.train.movement_models import export_model
from meshsim.train.um2n_task import UM2NSettings, UM2NTask

#: the reference package's Helmholtz demo (monge_ampere_helmholtz.py), 20 x 20 UnitSquareMesh, P1
PUBLISHED = {"uniform_l2": 0.010234, "ma_exact_hessian_l2": 0.00596, "ma_resolved_hessian_l2": 0.00622}


@dataclass(frozen=True)
class Budget:
    """Data, models and training of one budget."""

    name: str
    splits: dict
    fine_test: int
    h_values: tuple = (0.05, 0.055)
    fine_h: float = 0.028
    reference_h: float = 0.01
    um2n: UM2NSettings = UM2NSettings()
    um2n_steps: int = 1500
    um2n_lr: float = 1e-3
    dmm: DMMSettings = DMMSettings(collocation_points=256)
    dmm_steps: int = 5000
    dmm_lr: float = 2e-3
    batch_size: int = 4
    timed_ma: int = 4


BUDGETS = {
    "smoke": Budget("smoke", {"train": 3, "valid": 1, "test": 2}, fine_test=2, h_values=(0.1, 0.12), fine_h=0.08,
                    reference_h=0.04, um2n=UM2NSettings(embed_dim=8, heads=2, deformer_hidden=8, deformer_dims=(8, 8)),
                    um2n_steps=10, dmm=DMMSettings(raster_size=16, grid_size=8, latent_dim=8, trunk_hidden=(8,),
                                                   out_hidden=(8,), collocation_points=32),
                    dmm_steps=10, batch_size=2, timed_ma=1),
    # measured on the shared 2-core machine (load 9-12), 1 thread: MA data ~2.7 s per sample, UM2N
    # ~0.6 s and DMM ~0.08 s per step of 4 meshes; about 50 minutes in all
    "default": Budget("default", {"train": 200, "valid": 16, "test": 32}, fine_test=16),
    # UM2N: 450 train / 60 valid / 90 test meshes, its deformer widths, 1000 epochs of batch 5
    "full": Budget("full", {"train": 450, "valid": 60, "test": 90}, fine_test=90,
                   um2n=UM2NSettings(deformer_hidden=254, deformer_dims=(508, 250, 120, 20)), um2n_steps=90_000,
                   dmm=DMMSettings(collocation_points=1024), dmm_steps=20_000, batch_size=5, timed_ma=10),
}


def reference_demo() -> dict:
    """Our MA on the reference package's Helmholtz demo, beside its published errors."""
    grid, demo = unit_square_grid(20), GaussianBumps.demo()

    def exact(mesh):
        norm = np.sqrt((demo.hessian(mesh.points.T) ** 2).sum(axis=(0, 1)))
        return 1.0 + 5.0 * norm / norm.max()

    def resolved(mesh):
        return hessian_monitor(mesh, solve_helmholtz(mesh, demo), alpha=5.0, norm="frobenius")

    return {"uniform_l2": helmholtz_error(grid, demo),
            "ma_exact_hessian_l2": helmholtz_error(monge_ampere(grid, exact, method="quasi_newton").mesh, demo),
            "ma_resolved_hessian_l2": helmholtz_error(monge_ampere(grid, resolved, method="quasi_newton").mesh, demo)}


def make_data(budget: Budget, out: Path, seed: int, workers: int) -> tuple[Path, Path]:
    """The training dataset and the fine test set (its own dataset: a recipe has one mesh size
    range; only its test split is used)."""
    recipe = load_recipe("helmholtz_movement")
    main = recipe.with_overrides(seed=seed, splits=budget.splits, params={"h_values": list(budget.h_values)})
    fine = recipe.with_overrides(seed=seed + 1, splits={"train": 1, "test": budget.fine_test},
                                 params={"h_values": [budget.fine_h, budget.fine_h]})
    generate(main, out / "data", workers=workers, progress=False)
    generate(fine, out / "data-fine", workers=workers, progress=False)
    return out / "data", out / "data-fine"


def fit(task, steps: int, lr: float, budget: Budget, run: Path, seed: int) -> torch.nn.Module:
    """Train ``task``'s model with the shared loop (resumes an interrupted run) and return it."""
    torch.manual_seed(seed)
    model = task.model()
    config = TrainConfig(steps=steps, batch_size=budget.batch_size, lr=lr, lr_final=1e-4, seed=seed,
                         checkpoint_every=max(1, steps // 10), log_every=max(1, steps // 100), progress=False)
    train(model, task.loss(), task.train_set, config, run_dir=run, resume=True,
          extra_config={"task": task.name, "data": str(task.folder), "settings": dataclasses.asdict(task.settings)})
    return model.eval()


def test_samples(folder: Path) -> list:
    """The test split's samples (mesh, fields, params), in order."""
    samples = []
    for shard in read_meta(folder)["shards"]:
        if shard["split"] == "test":
            with ShardReader(folder / shard["file"]) as reader:
                samples.extend(reader.sample(i) for i in range(len(reader)))
    return samples


def evaluate(samples: list, movers: dict, reference: FineReference, timed_ma: int) -> dict:
    """Per method: mean ER%, tangled meshes (still tangled after backing off), backed-off meshes
    (the network's displacement halved to untangle them), seconds per mesh (MA: re-run on
    ``timed_ma`` meshes)."""
    reductions = {name: [] for name in ("ma", *movers)}
    tangled, backed_off = dict.fromkeys(movers, 0), dict.fromkeys(movers, 0)
    seconds = {name: [] for name in ("ma", *movers)}
    for index, sample in enumerate(samples):
        mesh, bumps = sample.to_mesh(validate=True), GaussianBumps.from_params(sample.params)
        uniform = reference.error(mesh, sample.fields["u"][:, 0], bumps)
        moved = {"ma": sample.fields["moved"]}
        boundary = SlidingBoundary.of(mesh)
        for name, mover in movers.items():
            begin = time.perf_counter()
            try:
                moved[name], halvings = mover.untangled(mesh, mover.predict(mesh, sample.fields["monitor"][:, 0],
                                                                            boundary))
                backed_off[name] += int(halvings > 0)
            except MovementError:
                tangled[name] += 1
            seconds[name].append(time.perf_counter() - begin)
        for name, points in moved.items():
            target = mesh.with_points(points)
            ops = TriangleP1.of(target)
            reductions[name].append(100.0 * (1.0 - reference.error(target, solve_helmholtz(target, bumps, ops), bumps)
                                             / uniform))
        if index < timed_ma:
            def monitor(current, bumps=bumps):
                return hessian_monitor(current, solve_helmholtz(current, bumps), alpha=5.0)
            begin = time.perf_counter()
            monge_ampere(mesh, monitor, method="relaxation", rtol=1e-3, maxiter=500)
            seconds["ma"].append(time.perf_counter() - begin)
    out = {"meshes": len(samples), "nodes": float(np.mean([s.num_nodes for s in samples]))}
    for name in reductions:
        out[f"{name}_er_pct"] = float(np.mean(reductions[name])) if reductions[name] else float("nan")
        out[f"{name}_tangled"] = tangled.get(name, 0)
        out[f"{name}_backed_off"] = backed_off.get(name, 0)
        out[f"{name}_s_per_mesh"] = float(np.mean(seconds[name]))
    return out


def print_tables(demo: dict, results: dict) -> None:
    print("\nHelmholtz demo of the reference movement package (20 x 20, P1):")
    print(f"{'L2 error':<34} {'meshsim':>10} {'published':>10}")
    for key, label in (("uniform_l2", "uniform mesh"), ("ma_exact_hessian_l2", "MA, exact-Hessian monitor"),
                       ("ma_resolved_hessian_l2", "MA, re-solved Hessian monitor")):
        print(f"{label:<34} {demo[key]:>10.6f} {PUBLISHED[key]:>10.6f}")
    print("\nHelmholtz test meshes (ER% of the L2 error against the fine reference; MA is the row to match):")
    print(f"{'method':<6}" + "".join(f" {'ER% ' + s:>12} {'tangled':>8} {'backed off':>10} {'s/mesh':>8}"
                                     for s in results))
    for name in ("ma", "um2n", "dmm"):
        row = f"{name:<6}"
        for split in results.values():
            row += (f" {split[f'{name}_er_pct']:>12.2f} {split[f'{name}_tangled']:>8d}"
                    f" {split[f'{name}_backed_off']:>10d} {split[f'{name}_s_per_mesh']:>8.4f}")
        print(row)


def main(argv=None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "runs/mesh-movement")
    parser.add_argument("--workers", type=int, default=1, help="dataset generation processes")
    args = parser.parse_args(argv)
    budget = BUDGETS[start(args)]
    began = time.perf_counter()
    demo = reference_demo()
    data, fine = make_data(budget, args.out, args.seed, args.workers)
    generated = time.perf_counter()
    um2n = UM2NTask(data, budget.um2n)
    export_model(args.out / "um2n_helmholtz.pth", "um2n", budget.um2n,
                 fit(um2n, budget.um2n_steps, budget.um2n_lr, budget, args.out / "um2n-run", args.seed))
    dmm = DMMTask(data, budget.dmm)
    export_model(args.out / "dmm_helmholtz.pth", "dmm", budget.dmm,
                 fit(dmm, budget.dmm_steps, budget.dmm_lr, budget, args.out / "dmm-run", args.seed))
    trained = time.perf_counter()
    movers = {kind: LearnedMover(args.out / f"{kind}_helmholtz.pth") for kind in ("um2n", "dmm")}
    reference = FineReference(rectangle(h=budget.reference_h))
    results = {f"h{budget.h_values[0]}": evaluate(test_samples(data), movers, reference, budget.timed_ma),
               f"h{budget.fine_h}": evaluate(test_samples(fine), movers, reference, budget.timed_ma)}
    print_tables(demo, results)
    summary = {"budget": {**dataclasses.asdict(budget), "name": budget.name}, "demo": demo, "published": PUBLISHED,
               "results": results, "data_s": generated - began, "train_s": trained - generated,
               "runtime_s": time.perf_counter() - began}
    write_results(args.out, summary)
    return summary


if __name__ == "__main__":
    main()
