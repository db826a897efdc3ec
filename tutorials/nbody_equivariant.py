"""Equivariant GNNs on the charged N-body benchmark: the GNN baseline, EGNN and SEGNO.

The task of the EGNN (Satorras et al. 2021) and SEGNO (Liu et al. 2024) papers, on their protocol
(`meshsim.sim.nbody_reference`): 5 charged particles in 3D; from the positions, velocities and
charges at frame 30 predict the positions at frame 40, 1000 simulation steps later (dt = 0.001).
Data: the reference generator's seed-43 splits (the first 3,000 of its 10,000 training systems,
2,000 validation, 2,000 test); test MSE is read at the epoch of best validation MSE, on that 2,000-
system split and on 10,000 fresh systems of the same generator (seed 2024), where the split no
longer matters. Published test MSE: GNN 0.0107, EGNN 0.0071, SEGNO 0.0043.

    python tutorials/nbody_equivariant.py --out nbody-out          # default budget, a few hours
    python tutorials/nbody_equivariant.py --full --out nbody-full  # the papers' budget (about a day)
    python tutorials/nbody_equivariant.py --smoke --out /tmp/nb    # seconds: checks that it all runs

A model whose checkpoint in ``OUT/checkpoints`` was trained with the same budget, epochs, learning
rate schedule, training set and seed is not trained again, so a long budget can run in pieces
(``--models egnn``, then the others, or a rerun after an interruption: the models finished before it are kept).

Writes ``results.json`` (gnn_mse, egnn_mse, segno_mse on the 10k test set; *_mse_split on the
2k split; budget, runtime_s, ...), the best model of each as ``checkpoints/nbody_<model>.pth``
(``torch.load(weights_only=True)``; `meshsim.train.nbody_task.nbody_model` rebuilds it; .pth, not
.pt, so that copies in tutorials/checkpoints/ are not git-ignored like run checkpoints) and
``trajectories.png`` (true paths from frame 30 to 40 and each model's prediction) to ``--out``.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from _tutorial_cli import start, tutorial_parser, write_results  # noqa: E402

from meshsim.nn import EncodeProcessDecode  # noqa: E402
from meshsim.sim.nbody_reference import (LARGE_TEST_SEED, reference_charged_splits,  # noqa: E402
                                         reference_charged_system)
from meshsim.train.nbody_task import charged_graphs, nbody_model  # noqa: E402

PUBLISHED = {"gnn": 0.0107, "egnn": 0.0071, "segno": 0.0043, "mgn": None}
MODELS = ("gnn", "egnn", "segno")
NUM_PARTICLES, INPUT_FRAME, TARGET_FRAME = 5, 30, 40


@dataclass(frozen=True)
class Budget:
    """How much data and training each model gets.

    ``epochs`` and ``lr`` are per model; ``cosine``: the models whose learning rate decays to 0
    over the run (cosine; the papers keep it constant); ``eval_every``: epochs between validations
    (model selection on validation MSE). ``num_train``, ``num_valid``, ``num_test``: systems taken from the start of
    the reference splits; ``num_test_large``: the fresh test set.
    """

    name: str
    num_train: int
    num_valid: int
    num_test: int
    num_test_large: int
    epochs: dict
    lr: dict
    cosine: tuple[str, ...]
    eval_every: int
    batch_size: int = 100
    hidden_dim: int = 64
    weight_decay: float = 1e-12


BUDGETS = {
    # EGNN's main_nbody.py (GNN and EGNN: 10,000 epochs, lr 5e-4) and SEGNO's README (500 epochs, lr 5e-3)
    "full": Budget("full", 3000, 2000, 2000, 10_000,
                   epochs={"gnn": 10_000, "egnn": 10_000, "segno": 500, "mgn": 10_000},
                   lr={"gnn": 5e-4, "egnn": 5e-4, "segno": 5e-3, "mgn": 5e-4}, cosine=(), eval_every=5),
    # SEGNO keeps its paper's constant lr: with cosine decay its best model was worse (10k-set MSE
    # 0.0058 against 0.0050, best epoch 140 against 195; README)
    "default": Budget("default", 3000, 2000, 2000, 10_000,
                      epochs={"gnn": 1000, "egnn": 2500, "segno": 500, "mgn": 1000},
                      lr={"gnn": 1e-3, "egnn": 1e-3, "segno": 5e-3, "mgn": 1e-3},
                      cosine=("gnn", "egnn", "mgn"), eval_every=5),
    "smoke": Budget("smoke", 40, 20, 20, 40, epochs={"gnn": 2, "egnn": 2, "segno": 2, "mgn": 2},
                    lr={"gnn": 1e-3, "egnn": 1e-3, "segno": 1e-3, "mgn": 1e-3},
                    cosine=("gnn", "egnn", "segno", "mgn"), eval_every=1, batch_size=10, hidden_dim=16),
}


@dataclass(frozen=True)
class Split:
    """Systems of one split as float32 tensors: pos, vel, target (S, 5, 3); charges (S, 5)."""

    pos: torch.Tensor
    vel: torch.Tensor
    charges: torch.Tensor
    target: torch.Tensor

    @classmethod
    def from_trajectory(cls, traj) -> "Split":
        tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        return cls(tensor(traj.pos[:, INPUT_FRAME]), tensor(traj.vel[:, INPUT_FRAME]), tensor(traj.params),
                   tensor(traj.pos[:, TARGET_FRAME]))

    def __len__(self) -> int:
        return len(self.pos)

    def batch(self, index: torch.Tensor):
        """`charged_graphs` of the systems ``index`` (the horizon is 1.0, so vel needs no scaling)."""
        return charged_graphs(self.pos[index], self.vel[index], self.charges[index], self.target[index])


def make_splits(budget: Budget) -> tuple[dict[str, Split], np.ndarray]:
    """The reference splits (seed 43) and the large test set; also the 2k test split's true
    positions at frames 30..40, (S_test, 11, 5, 3), for the plot."""
    steps = (TARGET_FRAME + 1) * 100
    used = {"train": budget.num_train, "valid": budget.num_valid, "test": budget.num_test}
    trajectories = reference_charged_splits(used=used, steps=steps)
    trajectories["test_large"] = reference_charged_system(budget.num_test_large, seed=LARGE_TEST_SEED, steps=steps)
    splits = {name: Split.from_trajectory(traj) for name, traj in trajectories.items()}
    return splits, trajectories["test"].pos[:, INPUT_FRAME:TARGET_FRAME + 1]


class MeshGraphNetsGNN(nn.Module):
    """A second non-equivariant baseline (``--models ... mgn``): MeshGraphNets' encode-process-decode
    core (LayerNorm, edge latents) on node inputs [pos, vel] and edge input q_i q_j."""

    def __init__(self, hidden_dim: int, num_layers: int = 4):
        super().__init__()
        self.core = EncodeProcessDecode(6, 1, 3, hidden_dim, num_layers, 1, nn.SiLU)

    def forward(self, data) -> torch.Tensor:
        return self.core(torch.cat([data.pos, data.vel], dim=1), data.edge_attr[:, :1], data.edge_index)


def make_model(name: str, hidden_dim: int) -> nn.Module:
    return MeshGraphNetsGNN(hidden_dim) if name == "mgn" else nbody_model(name, hidden_dim)


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int = 1000) -> float:
    """Mean squared error over all systems, particles and coordinates."""
    model.eval()
    total = 0.0
    for begin in range(0, len(split), batch_size):
        data = split.batch(torch.arange(begin, min(begin + batch_size, len(split))))
        total += float(((model(data) - data.y) ** 2).sum())
    return total / (3 * NUM_PARTICLES * len(split))


def train(name: str, splits: dict[str, Split], budget: Budget, seed: int, log) -> dict:
    """Train one model; keeps the weights of best validation MSE and returns their test MSEs."""
    torch.manual_seed(seed)
    model = make_model(name, budget.hidden_dim)
    epochs, train_split = budget.epochs[name], splits["train"]
    per_epoch = len(train_split) // budget.batch_size
    optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr[name], weight_decay=budget.weight_decay)
    schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * per_epoch)
                if name in budget.cosine else None)
    generator = torch.Generator().manual_seed(seed)
    best = {"valid_mse": math.inf, "best_epoch": 0, "stopped_epoch": None}
    best_state = copy.deepcopy(model.state_dict())
    began = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train_split), generator=generator)
        for b in range(per_epoch):
            data = train_split.batch(order[b * budget.batch_size:(b + 1) * budget.batch_size])
            optimizer.zero_grad()
            loss = torch.mean((model(data) - data.y) ** 2)
            if not torch.isfinite(loss):  # the weights are spoilt: keep the best epoch's, stop
                break
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        if not torch.isfinite(loss):
            best["stopped_epoch"] = epoch
            log(f"  {name} epoch {epoch:5d}  loss {loss.item()}: stopped at a non-finite loss")
            break
        if epoch % budget.eval_every == 0 or epoch == epochs:
            valid = evaluate(model, splits["valid"])
            if valid < best["valid_mse"]:
                best.update(valid_mse=valid, best_epoch=epoch)
                best_state = copy.deepcopy(model.state_dict())
            if epoch % (20 * budget.eval_every) == 0 or epoch == epochs:
                log(f"  {name} epoch {epoch:5d}  train {loss.item():.5f}  valid {valid:.5f}  best valid "
                    f"{best['valid_mse']:.5f} (epoch {best['best_epoch']})  {time.perf_counter() - began:.0f} s")
    best["train_s"] = time.perf_counter() - began
    model.load_state_dict(best_state)
    best["test_mse_split"] = evaluate(model, splits["test"])
    best["test_mse"] = evaluate(model, splits["test_large"])
    best["num_parameters"] = sum(p.numel() for p in model.parameters())
    best["model"] = model
    return best


def training_run(name: str, budget: Budget, seed: int) -> dict:
    """What identifies how model ``name`` was trained (a checkpoint with the same values is reused)."""
    return {"budget": budget.name, "epochs": budget.epochs[name], "num_train": budget.num_train, "seed": seed,
            "hidden_dim": budget.hidden_dim, "lr": budget.lr[name], "cosine": name in budget.cosine}


def save_checkpoint(model: nn.Module, name: str, result: dict, budget: Budget, seed: int, folder: Path) -> Path:
    """The best weights with what rebuilds and scores them (loads with weights_only=True) and what
    identifies the training run (`training_run`), written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"nbody_{name}.pth"
    partial = path.with_suffix(".pth.partial")
    torch.save({"model": model.state_dict(), "kind": name, **training_run(name, budget, seed),
                "best_epoch": result["best_epoch"], "valid_mse": result["valid_mse"],
                "stopped_epoch": result["stopped_epoch"], "train_s": result["train_s"],
                "test_mse_split": result["test_mse_split"], "test_mse": result["test_mse"]}, partial)
    partial.replace(path)
    return path


def finished_model(name: str, splits: dict[str, Split], budget: Budget, seed: int, folder: Path) -> dict | None:
    """The result of a model this budget, seed and training set already trained into ``folder``
    (an earlier call, e.g. one stopped after it), its test MSEs measured again; None if there is
    none or it was trained otherwise."""
    path = folder / f"nbody_{name}.pth"
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if any(state.get(key) != value for key, value in training_run(name, budget, seed).items()):
        return None
    model = make_model(name, budget.hidden_dim)
    model.load_state_dict(state["model"])
    return {"valid_mse": state["valid_mse"], "best_epoch": state["best_epoch"], "stopped_epoch": state["stopped_epoch"],
            "train_s": state["train_s"], "test_mse_split": evaluate(model, splits["test"]),
            "test_mse": evaluate(model, splits["test_large"]),
            "num_parameters": sum(p.numel() for p in model.parameters()), "model": model, "reused": True}


def plot_trajectories(true_paths: np.ndarray, predictions: dict[str, np.ndarray], path: Path,
                      num_systems: int = 3) -> None:
    """x-y view of ``num_systems`` test systems: true paths frame 30 -> 40 and predicted endpoints."""
    num_systems = min(num_systems, len(true_paths))
    fig, axes = plt.subplots(1, num_systems, figsize=(4.5 * num_systems, 4.5), squeeze=False)
    markers = {"gnn": "x", "egnn": "+", "segno": "^", "mgn": "s"}
    for s, ax in enumerate(axes[0]):
        for p in range(NUM_PARTICLES):
            color = f"C{p}"
            ax.plot(true_paths[s, :, p, 0], true_paths[s, :, p, 1], "-", color=color, lw=1)
            ax.plot(*true_paths[s, 0, p, :2], "o", color=color, ms=4, mfc="none")
            ax.plot(*true_paths[s, -1, p, :2], "o", color=color, ms=6)
            for name, predicted in predictions.items():
                ax.plot(*predicted[s, p, :2], markers[name], color=color, ms=7)
        ax.set_title(f"test system {s}")
        ax.set_aspect("equal")
    handles = [plt.Line2D([], [], marker="o", ls="", color="gray", mfc="none", label="frame 30"),
               plt.Line2D([], [], marker="o", ls="", color="gray", label="frame 40 (true)")]
    handles += [plt.Line2D([], [], marker=markers[n], ls="", color="gray", label=n.upper()) for n in predictions]
    axes[0, -1].legend(handles=handles, loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.split("\n\n")[0], "nbody-out")
    parser.add_argument("--epochs", type=int, help="override the epochs of every model")
    parser.add_argument("--num-train", type=int, help="override the number of training systems")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated models: gnn, egnn, segno, mgn (MeshGraphNets-style GNN)")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    if not set(models) <= set(PUBLISHED):
        parser.error(f"--models: unknown {sorted(set(models) - set(PUBLISHED))}; choose from {', '.join(PUBLISHED)}")

    budget = BUDGETS[start(args)]
    if args.epochs is not None:
        budget = dataclasses.replace(budget, epochs={name: args.epochs for name in PUBLISHED})
    if args.num_train is not None:
        budget = dataclasses.replace(budget, num_train=args.num_train)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(message, flush=True)

    log(f"budget {budget.name}: {budget.num_train} train systems, epochs {budget.epochs}")
    splits, true_paths = make_splits(budget)
    log(f"simulated {sum(len(s) for s in splits.values())} systems in {time.perf_counter() - began:.1f} s")
    results, predictions = {}, {}
    plotted = torch.arange(min(3, len(splits["test"])))
    for name in models:
        outcome = finished_model(name, splits, budget, args.seed, args.out / "checkpoints")
        if outcome is not None:
            log(f"  {name}: reusing {args.out / 'checkpoints'} (trained earlier with this budget and seed)")
        else:
            outcome = train(name, splits, budget, args.seed, log)
        model = outcome.pop("model")
        outcome["checkpoint"] = str(save_checkpoint(model, name, outcome, budget, args.seed, args.out / "checkpoints"))
        model.eval()
        with torch.no_grad():
            predictions[name] = model(splits["test"].batch(plotted)).reshape(-1, NUM_PARTICLES, 3).numpy()
        results[name] = outcome
    runtime = time.perf_counter() - began
    plot_trajectories(true_paths, predictions, args.out / "trajectories.png")

    log(f"\n{'model':<7}{'test MSE 10k':>14}{'test MSE 2k':>13}{'published':>11}{'best epoch':>12}{'train s':>9}")
    for name in models:
        r, published = results[name], PUBLISHED[name]
        log(f"{name.upper():<7}{r['test_mse']:>14.4f}{r['test_mse_split']:>13.4f}"
            f"{'' if published is None else f'{published:.4f}':>11}{r['best_epoch']:>12d}{r['train_s']:>9.0f}")
    log(f"total runtime {runtime:.0f} s (budget {budget.name}, {torch.get_num_threads()} thread(s))")
    summary = {f"{name}_mse": results[name]["test_mse"] for name in models}
    summary.update({f"{name}_mse_split": results[name]["test_mse_split"] for name in models})
    summary.update(budget=dataclasses.asdict(budget), runtime_s=runtime, published=PUBLISHED,
                   details=results, seed=args.seed, test_large_seed=LARGE_TEST_SEED)
    write_results(args.out, summary)
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
