"""GIOROM vs GNS on 2D MPM particles: learned Lagrangian dynamics on sparse graphs, evaluated densely.

For water and sand (meshsim's recipes ``mpm_water`` and ``mpm_sand``: 1-3 random shapes thrown into a
walled box, simulated by meshsim's MLS-MPM), trains GNS on all the particles and GIOROM on
farthest-point subsets of 1/8 and 1/32 of them, then rolls every model out on test trajectories never
seen in training from their first 6 frames and prints LagrangeBench's position MSE at rollout steps 5
and 20 and over the whole rollout, all at the dense particles (GIOROM moves every particle with its
dense decoder), and the time per rollout step. Published (Viswanath et al., GIOROM): a 25x speed-up over
neural simulators and ~100k points inferred from ~1k; tools/bench_giorom.py measures the speed-up at
4k-64k particles.

    python tutorials/giorom_mpm.py --out giorom-out          # default budget (about an hour of one core)
    python tutorials/giorom_mpm.py --full --out giorom-full  # the papers' model sizes and long training
    python tutorials/giorom_mpm.py --smoke --out /tmp/gi     # seconds: checks that it all runs
    python tutorials/giorom_mpm.py --steps 250 --rollout-steps 50 --out gi-short  # shorter training and rollouts

Writes ``results.json`` and ``rollout-<material>.gif`` (truth vs GIOROM at 1/8, dense particles) to
``--out``; datasets under ``--out/data``, run folders under ``--out/runs`` (a rerun resumes them).
"""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402

from _tutorial_cli import start, tutorial_parser, write_results  # noqa: E402

from meshsim.data import generate, load_recipe, read_meta  # noqa: E402
from meshsim.train.loop import TrainConfig, train  # noqa: E402
from meshsim.train.particle_tasks import GIOROMSettings, GIOROMTask, GNSSettings, GNSTask, load_particle_split  # noqa: E402

PUBLISHED = {"speedup": 25.0, "dense_from_sparse": "~100k points from ~1k (1/100)"}
MATERIALS = ("water", "sand")
#: every material with a recipe mpm_<name>
MATERIAL_NAMES = ("water", "sand", "jelly")
FRACTIONS = (1 / 8, 1 / 32)


@dataclass(frozen=True)
class Budget:
    """Data and training of each model. ``splits`` and ``data`` override the recipes (None keeps
    them); ``gns`` and ``giorom`` are model settings overrides; ``steps`` per model; test rollouts
    of ``rollout_steps`` steps (None: whole trajectories)."""

    name: str
    splits: dict | None
    data: dict
    gns: dict
    giorom: dict
    steps: int
    batch_size: int = 2
    lr: float = 1e-3
    lr_final: float = 1e-5
    max_test: int | None = None
    rollout_steps: int | None = None


BUDGETS = {
    # GNS: 10 steps, latent 128 (Sanchez-Gonzalez et al.); GIOROM's sizes; 1000 train trajectories of
    # 2k-20k particles and ~1M training steps as the papers' water datasets
    "full": Budget("full", {"train": 1000, "valid": 30, "test": 30},
                   {"shape_size": [0.15, 0.35], "num_frames": 400}, {}, {}, steps=1_000_000, lr=1e-4, lr_final=1e-6),
    # the recipes' data (16 trajectories of 1k-3k particles, 201 frames); smaller models
    "default": Budget("default", None, {}, {"latent_dim": 64, "num_steps": 5, "num_hidden_layers": 1},
                      {"latent_dim": 64, "num_steps": 1, "num_hidden_layers": 1, "num_queries": 512},
                      steps=1000),
    "smoke": Budget("smoke", {"train": 2, "valid": 1, "test": 1},
                    {"n_grid": 32, "num_frames": 26, "substeps_per_frame": 40, "shape_size": [0.15, 0.25]},
                    {"latent_dim": 16, "num_steps": 2, "num_hidden_layers": 1},
                    {"latent_dim": 16, "num_steps": 1, "num_hidden_layers": 1, "grid_size": 16, "grid_width": 8,
                     "fno_modes": 4, "fno_layers": 2, "num_queries": 64},
                    steps=20, max_test=1),
}


def make_dataset(material: str, budget: Budget, folder: Path, seed: int) -> dict:
    recipe = load_recipe(f"mpm_{material}")
    recipe = recipe.with_overrides(seed=recipe.seed + seed, splits=budget.splits, params=budget.data)
    generate(recipe, folder, workers=1, progress=False)
    return read_meta(folder)


def train_model(task, budget: Budget, run: Path, seed: int) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(seed)
    model = task.model()
    config = TrainConfig(steps=budget.steps, batch_size=budget.batch_size, lr=budget.lr, lr_final=budget.lr_final,
                         seed=seed, log_every=max(1, budget.steps // 100), checkpoint_every=max(1, budget.steps // 5),
                         progress=False)
    began = time.perf_counter()
    train(model, task.loss(), task.train_set, config, run_dir=run, resume=True,
          extra_config={"task": task.name, "settings": dataclasses.asdict(task.settings)})
    return model, time.perf_counter() - began


def animate(truth: np.ndarray, prediction: np.ndarray, path: Path, title: str, every: int = 4) -> None:
    """GIF of the dense particles: truth (left) and GIOROM (right)."""
    figure, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    dots = []
    for ax, name in zip(axes, ("truth (MPM)", title)):
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xticks=[], yticks=[], title=name)
        dots.append(ax.scatter([], [], s=0.5, c="tab:blue"))

    def draw(k):
        for dot, frames in zip(dots, (truth, prediction)):
            dot.set_offsets(frames[k])
        return dots
    frames = range(0, len(truth), every)
    FuncAnimation(figure, draw, frames=frames, blit=True).save(path, writer=PillowWriter(fps=12))
    plt.close(figure)


def run_material(material: str, budget: Budget, out: Path, seed: int) -> dict:
    data = out / "data" / f"mpm_{material}"
    began = time.perf_counter()
    meta = make_dataset(material, budget, data, seed)
    print(f"{material}: {meta['counts']} trajectories, {meta['nodes_per_sample']['mean']:.0f} particles on average, "
          f"{meta['num_steps']} frames ({time.perf_counter() - began:.0f} s)", flush=True)
    rows = {}
    tasks = [("gns", GNSTask(data, GNSSettings(**budget.gns)))]
    tasks += [(f"giorom_1_{round(1 / f)}", GIOROMTask(data, GIOROMSettings(fraction=f, **budget.giorom)))
              for f in FRACTIONS]
    test = load_particle_split(data, "test", budget.max_test)
    for name, task in tasks:
        model, seconds = train_model(task, budget, out / "runs" / f"{material}-{name}", seed)
        metrics = task.evaluate(model, "test", budget.max_test, steps=budget.rollout_steps)
        rows[name] = metrics | {"train_s": seconds}
        print(f"{material} {name}: mse5 {metrics['mse5']:.3e}, mse20 {metrics['mse20']:.3e}, "
              f"full {metrics['mse_full']:.3e}, {metrics['seconds_per_step']:.4f} s/step "
              f"(trained {seconds:.0f} s)", flush=True)
        if name == "giorom_1_8":
            rollout = task.rollout(model, test.trajectories[0])
            animate(rollout.truth, rollout.prediction, out / f"rollout-{material}.gif",
                    f"GIOROM, {len(rollout.sparse)} of {rollout.truth.shape[1]} particles")
    rows["mse20_ratio_giorom_1_8_to_gns"] = rows["giorom_1_8"]["mse20"] / rows["gns"]["mse20"]
    rows["speedup_1_32"] = rows["gns"]["seconds_per_step"] / rows["giorom_1_32"]["seconds_per_step"]
    rows["particles_mean"] = meta["nodes_per_sample"]["mean"]
    return rows


def table(results: dict) -> str:
    horizon = results["budget"]["rollout_steps"]
    whole = f"MSE{horizon}" if horizon else "MSE full"
    lines = [f"{'material':<9}{'model':<14}{'MSE5':>11}{'MSE20':>11}{whole:>11}{'s/step':>9}{'speed-up':>9}"]
    for material, rows in results["materials"].items():
        gns_time = rows["gns"]["seconds_per_step"]
        for name in ("gns", "giorom_1_8", "giorom_1_32"):
            r = rows[name]
            lines.append(f"{material:<9}{name:<14}{r['mse5']:11.3e}{r['mse20']:11.3e}{r['mse_full']:11.3e}"
                         f"{r['seconds_per_step']:9.4f}{gns_time / r['seconds_per_step']:8.1f}x")
        lines.append(f"{material}: GIOROM 1/8 MSE20 / GNS MSE20 = {rows['mse20_ratio_giorom_1_8_to_gns']:.2f} "
                     f"(target <= 2); {rows['particles_mean']:.0f} particles on average")
    lines.append(f"published: {PUBLISHED['speedup']:.0f}x faster than neural simulators; "
                 f"{PUBLISHED['dense_from_sparse']} (ours: every particle decoded from 1/8 and 1/32)")
    lines.append(f"budget {results['budget']['name']}: {results['budget']['steps']} training steps per model; "
                 f"this call {results['runtime_s']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "giorom-out")
    parser.add_argument("--steps", type=int, help="training steps per model (default: the budget's)")
    parser.add_argument("--rollout-steps", type=int,
                        help="evaluate rollouts of this many steps (default: whole test trajectories)")
    parser.add_argument("--materials", type=lambda text: tuple(text.split(",")), default=MATERIALS,
                        help=f"comma list of materials to run (default: {','.join(MATERIALS)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.materials) - set(MATERIAL_NAMES))
    if unknown:
        parser.error(f"--materials: unknown {', '.join(unknown)}; choose from {', '.join(MATERIAL_NAMES)}")
    budget = BUDGETS[start(args)]
    if args.steps:
        budget = dataclasses.replace(budget, steps=args.steps)
    if args.rollout_steps:
        budget = dataclasses.replace(budget, rollout_steps=args.rollout_steps)
    began = time.perf_counter()
    results = {"budget": dataclasses.asdict(budget), "seed": args.seed, "published": PUBLISHED,
               "materials": {m: run_material(m, budget, args.out, args.seed) for m in args.materials}}
    results["runtime_s"] = time.perf_counter() - began
    results["table"] = table(results)
    print(results["table"])
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
