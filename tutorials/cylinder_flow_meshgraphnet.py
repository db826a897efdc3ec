"""MeshGraphNet on flow past a cylinder (the cylinder_flow benchmark of Pfaff et al., ICLR 2021).

Data: meshsim's `cylinder_flow` recipe (Taylor-Hood Navier-Stokes in the DFG channel, random
cylinder position and radius, random inflow speed, Re about 40-200), generated into ``--out``;
the default budget drops the first second of each simulation (the start-up from Stokes flow).
Model: `meshsim.nn.MeshGraphNet` trained with `meshsim.train` on one-step windows with training
noise, velocity integrated, pressure predicted directly, inflow and wall nodes held.
Metrics (velocity, as MeshGraphNets): one-step RMSE, RMSE over the first 50 rollout steps and over
the whole rollout, beside the published numbers (on DeepMind's 600-step data, with the paper's
model and 10M training steps) and a persistence baseline (the state never changes).

    python tutorials/cylinder_flow_meshgraphnet.py --out runs/cylinder       # default budget, ~1 hour
    python tutorials/cylinder_flow_meshgraphnet.py --full --out runs/cyl-full # the paper's budget (days)
    python tutorials/cylinder_flow_meshgraphnet.py --smoke --out /tmp/cyl     # seconds: checks the pipeline

Writes to ``--out``: the dataset (``data/``), the run folder (``run/``: config, metrics, checkpoints,
loss.png), ``rollout.gif`` (predicted vs true velocity of a test trajectory) and ``results.json``.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from _tutorial_cli import start, tutorial_parser, write_results

from meshsim.data import generate, load_recipe
from meshsim.train import RunFolder, TrainConfig, train
from meshsim.train.mgn_task import MeshGraphNetSettings, MeshGraphNetTask
from meshsim.viz import animate_rollout

PUBLISHED = {"one_step_rmse": 2.34e-3, "rollout_rmse_50": 6.3e-3, "rollout_rmse_full": 40.88e-3}


@dataclass(frozen=True)
class Budget:
    """Data, model and training of one budget."""

    name: str
    num_train: int
    num_valid: int
    num_test: int
    num_frames: int
    steps: int
    latent_dim: int = 128
    num_steps: int = 15
    batch_size: int = 2
    lr: float = 1e-4
    lr_final: float = 1e-6
    save_every: int = 1
    warmup_frames: int = 0
    h: float = 0.06


BUDGETS = {
    "smoke": Budget("smoke", 3, 1, 1, num_frames=8, steps=10, latent_dim=16, num_steps=2, h=0.1),
    # measured on the 2-core machine, 1 thread: about 6 steps/s at latent 64 with 8 message-passing
    # steps on ~480-node meshes (latent 128 with 15 steps runs at about 1 step/s)
    # the first 50 frames (1 s) are simulated and dropped, so trajectories start in the developed wake
    "default": Budget("default", 50, 2, 5, num_frames=101, steps=20000, latent_dim=64, num_steps=8, lr=3e-4,
                      lr_final=3e-6, warmup_frames=50),
    # MeshGraphNets: 1000 training trajectories of 600 steps, 10M steps of batch 1 (lr 1e-4 -> 1e-6)
    "full": Budget("full", 1000, 100, 100, num_frames=601, steps=10_000_000, batch_size=1, h=0.03),
}


def make_dataset(budget: Budget, folder: Path, seed: int, workers: int) -> dict:
    """Generate (or resume) the budget's cylinder_flow dataset; returns its meta."""
    recipe = load_recipe("cylinder_flow").with_overrides(
        seed=seed, splits={"train": budget.num_train, "valid": budget.num_valid, "test": budget.num_test},
        params={"num_frames": budget.num_frames, "save_every": budget.save_every, "h": budget.h,
                "warmup_frames": budget.warmup_frames})
    return generate(recipe, folder, workers=workers, progress=False)


def run(budget: Budget, out: Path, seed: int, workers: int) -> dict:
    began = time.perf_counter()
    meta = make_dataset(budget, out / "data", seed, workers)
    generated = time.perf_counter() - began
    print(f"dataset: {meta['counts']} trajectories of {budget.num_frames} frames in {generated:.0f} s")

    torch.manual_seed(seed)
    settings = MeshGraphNetSettings(latent_dim=budget.latent_dim, num_steps=budget.num_steps)
    task = MeshGraphNetTask(out / "data", settings)
    print(f"prescribed node types (held in rollouts): {task.settings.prescribed_node_types}")
    model = task.model()
    config = TrainConfig(steps=budget.steps, batch_size=budget.batch_size, lr=budget.lr, lr_final=budget.lr_final,
                         seed=seed, log_every=max(1, budget.steps // 200), val_every=max(1, budget.steps // 10),
                         checkpoint_every=max(1, budget.steps // 10))
    trained = time.perf_counter()
    train(model, task.loss(), task.train_set, config, run_dir=out / "run", validate=task.validate(),
          resume=True, extra_config={"task": "mgn", "data": str((out / "data").resolve()),
                                     "settings": dataclasses.asdict(task.settings)})
    train_s = time.perf_counter() - trained
    metrics = task.evaluate(model, "test")
    example = task.example_rollout(model, "test")
    animate_rollout(example.graph.pos.numpy(), example.graph.face.T.numpy(), example.truth.numpy(),
                    example.prediction.numpy(), out / "rollout.gif", times=example.times,
                    title="cylinder_flow velocity", field_name="|u| (m/s)", every=2)
    # training figures from the run folder, so a resumed (or already finished) run reports them too
    records = [r for r in RunFolder(out / "run").read_metrics() if "loss" in r]
    rates = [r["steps_per_s"] for r in records]
    return {"budget": dataclasses.asdict(budget), "seed": seed, "metrics": metrics, "published": PUBLISHED,
            "steps_per_s": sum(rates) / len(rates), "train_s_this_call": train_s, "generate_s": generated,
            "first_loss": records[0]["loss"], "final_loss": records[-1]["loss"],
            "validation": [r for r in RunFolder(out / "run").read_metrics() if "val/rollout_rmse" in r],
            "runtime_s_this_call": time.perf_counter() - began}


def table(results: dict) -> str:
    metrics, h = results["metrics"], results["metrics"]["horizon"]
    rows = [("one-step", metrics["one_step_rmse"], None, PUBLISHED["one_step_rmse"]),
            (f"rollout-{h}", metrics[f"rollout_rmse_{h}"], metrics[f"persistence_rmse_{h}"],
             PUBLISHED["rollout_rmse_50"]),
            ("full rollout", metrics["rollout_rmse_full"], metrics["persistence_rmse_full"],
             PUBLISHED["rollout_rmse_full"])]
    lines = [f"{'velocity RMSE':<14}{'meshsim':>11}{'persistence':>13}{'published':>11}"]
    for name, ours, baseline, published in rows:
        shown = f"{baseline:13.3e}" if baseline is not None else f"{'':13}"
        lines.append(f"{name:<14}{ours:11.3e}{shown}{published:11.3e}")
    ratio = metrics[f"persistence_rmse_{h}"] / metrics[f"rollout_rmse_{h}"]
    lines.append(f"rollout-{h}: {ratio:.1f}x below persistence; max |u| predicted "
                 f"{metrics['max_abs_prediction']:.2f} m/s; finite: {metrics['finite']}")
    lines.append(f"budget {results['budget']['name']}: {results['budget']['steps']} steps at "
                 f"{results['steps_per_s']:.2f} steps/s, loss {results['first_loss']:.3g} -> "
                 f"{results['final_loss']:.3g}; this call {results['runtime_s_this_call']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "cylinder-out")
    parser.add_argument("--workers", type=int, default=2, help="dataset generation processes")
    args = parser.parse_args(argv)
    budget = BUDGETS[start(args)]
    results = run(budget, args.out, args.seed, args.workers)
    results["table"] = table(results)
    print(results["table"])
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
