"""Equivariant GNNs on the charged N-body benchmark: a plain GNN, EGNN and SEGNO.

The task of the EGNN (Satorras et al. 2021) and SEGNO (Liu et al. 2024) papers: 5 charged particles in
3D; from the positions, velocities and charges at frame 30 predict the positions at frame 40, 1000
simulation steps later (dt = 0.001). 3000 training systems, 2000 validation, 2000 test; the test MSE
is read at the epoch of best validation MSE. Published test MSE: GNN 0.0107, EGNN 0.0071, SEGNO 0.0043.

    python tutorials/nbody_equivariant.py --out nbody-out          # default budget, about an hour
    python tutorials/nbody_equivariant.py --full --out nbody-full  # the papers' budget (many hours)
    python tutorials/nbody_equivariant.py --smoke --out /tmp/nb    # seconds: checks that it all runs

Writes ``results.json`` (gnn_mse, egnn_mse, segno_mse, budget, runtime_s, ...) and
``trajectories.png`` (true paths from frame 30 to 40 and each model's prediction) to ``--out``.
"""
from __future__ import annotations

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
from torch_geometric.data import Data  # noqa: E402

from _tutorial_cli import start, tutorial_parser, write_results  # noqa: E402

from meshsim.nn import EGNN, SEGNO, EncodeProcessDecode  # noqa: E402
from meshsim.sim import charged_system  # noqa: E402

PUBLISHED = {"gnn": 0.0107, "egnn": 0.0071, "segno": 0.0043}
MODELS = ("gnn", "egnn", "segno")
NUM_PARTICLES, INPUT_FRAME, TARGET_FRAME, STEPS_PER_FRAME = 5, 30, 40, 100


@dataclass(frozen=True)
class Budget:
    """How much data and training each model gets.

    ``epochs`` and ``lr`` are per model (``gnn``, ``egnn``, ``segno``). ``cosine``: decay the
    learning rate to 0 over the run (the papers keep it constant); ``eval_every``: epochs between
    validation passes (model selection on validation MSE).
    """

    name: str
    num_train: int
    num_valid: int
    num_test: int
    epochs: dict
    lr: dict
    cosine: bool
    eval_every: int
    batch_size: int = 100
    hidden_dim: int = 64
    weight_decay: float = 1e-12


BUDGETS = {
    # EGNN's main_nbody.py (GNN and EGNN) and SEGNO's README (8 steps, 500 epochs, lr 5e-3)
    "full": Budget("full", 3000, 2000, 2000, epochs={"gnn": 10000, "egnn": 10000, "segno": 500},
                   lr={"gnn": 5e-4, "egnn": 5e-4, "segno": 5e-3}, cosine=False, eval_every=5),
    # measured on the shared 2-core machine, 1 thread: ~1 s per epoch for GNN and EGNN, ~3 s for SEGNO
    # (8 steps), plus ~100 s of simulation: about 45 minutes in all
    "default": Budget("default", 3000, 2000, 2000, epochs={"gnn": 600, "egnn": 800, "segno": 400},
                      lr={"gnn": 1e-3, "egnn": 1e-3, "segno": 5e-3}, cosine=True, eval_every=10),
    "smoke": Budget("smoke", 40, 20, 20, epochs={"gnn": 2, "egnn": 2, "segno": 2},
                    lr={"gnn": 1e-3, "egnn": 1e-3, "segno": 1e-3}, cosine=True, eval_every=1,
                    batch_size=10, hidden_dim=16),
}


@dataclass(frozen=True)
class Split:
    """Systems of one split as float32 tensors: pos, vel, target (S, 5, 3); charges (S, 5)."""

    pos: torch.Tensor
    vel: torch.Tensor
    charges: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return len(self.pos)


def make_splits(budget: Budget, seed: int) -> tuple[dict[str, Split], np.ndarray]:
    """Simulate every system once (vectorised); returns the splits and the test systems' true
    positions at frames 30..40, (S_test, 11, 5, 3), for the plot."""
    counts = {"train": budget.num_train, "valid": budget.num_valid, "test": budget.num_test}
    traj = charged_system(sum(counts.values()), num_particles=NUM_PARTICLES,
                          steps=TARGET_FRAME * STEPS_PER_FRAME, every=STEPS_PER_FRAME, seed=seed)
    splits, start = {}, 0
    for name, count in counts.items():
        part = slice(start, start + count)
        tensor = lambda a: torch.as_tensor(a[part], dtype=torch.float32)  # noqa: E731
        splits[name] = Split(tensor(traj.pos[:, INPUT_FRAME]), tensor(traj.vel[:, INPUT_FRAME]),
                             tensor(traj.params), tensor(traj.pos[:, TARGET_FRAME]))
        start += count
    return splits, traj.pos[start - budget.num_test:, INPUT_FRAME:TARGET_FRAME + 1]


def _one_system_edges(n: int) -> torch.Tensor:
    """Fully connected edges j -> i without self loops, sorted by target i."""
    target, source = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = target != source
    return torch.stack([source[keep], target[keep]])


def make_batch(split: Split, index: torch.Tensor) -> Data:
    """PyG graph of the systems ``split[index]``: x = |v| (N, 1), pos, vel, y (N, 3),
    edge_attr = q_i q_j (E, 1), edges sorted by target."""
    num, n = len(index), NUM_PARTICLES
    edges = _one_system_edges(n)
    edge_index = (edges[:, None, :] + n * torch.arange(num)[None, :, None]).reshape(2, -1)
    charges = split.charges[index].reshape(-1)
    vel = split.vel[index].reshape(-1, 3)
    return Data(x=vel.norm(dim=1, keepdim=True), pos=split.pos[index].reshape(-1, 3), vel=vel,
                edge_index=edge_index, edge_attr=(charges[edge_index[0]] * charges[edge_index[1]])[:, None],
                y=split.target[index].reshape(-1, 3), num_nodes=num * n)


class PlainGNN(nn.Module):
    """The non-equivariant baseline: MeshGraphNets' encode-process-decode core on node inputs
    [pos, vel] (6) and edge input q_i q_j, decoding the positions at the target frame directly (as the
    EGNN paper's GNN does)."""

    def __init__(self, hidden_dim: int, num_layers: int = 4):
        super().__init__()
        self.core = EncodeProcessDecode(6, 1, 3, hidden_dim, num_layers, 1, nn.SiLU)

    def forward(self, data: Data) -> torch.Tensor:
        return self.core(torch.cat([data.pos, data.vel], dim=1), data.edge_attr, data.edge_index)


def make_model(name: str, hidden_dim: int) -> nn.Module:
    if name == "gnn":
        return PlainGNN(hidden_dim)
    if name == "egnn":
        return EGNN(1, 1, hidden_dim, num_layers=4, velocity=True)
    return SEGNO(1, 1, hidden_dim, num_steps=8)


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int = 500) -> float:
    """Mean squared error over all systems, particles and coordinates."""
    model.eval()
    total = 0.0
    for start in range(0, len(split), batch_size):
        data = make_batch(split, torch.arange(start, min(start + batch_size, len(split))))
        total += float(((model(data) - data.y) ** 2).sum())
    return total / (3 * NUM_PARTICLES * len(split))


def train(name: str, splits: dict[str, Split], budget: Budget, seed: int, log) -> dict:
    """Train one model; returns its best validation MSE, the test MSE at that epoch and timings."""
    torch.manual_seed(seed)
    model = make_model(name, budget.hidden_dim)
    epochs, train_split = budget.epochs[name], splits["train"]
    per_epoch = len(train_split) // budget.batch_size
    optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr[name], weight_decay=budget.weight_decay)
    schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * per_epoch)
                if budget.cosine else None)
    generator = torch.Generator().manual_seed(seed)
    best = {"valid_mse": math.inf, "test_mse": math.nan, "best_epoch": 0, "stopped_epoch": None}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train_split), generator=generator)
        for b in range(per_epoch):
            data = make_batch(train_split, order[b * budget.batch_size:(b + 1) * budget.batch_size])
            optimizer.zero_grad()
            loss = torch.mean((model(data) - data.y) ** 2)
            if not torch.isfinite(loss):  # the weights are spoilt: keep the best epoch's numbers, stop
                break
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        if not torch.isfinite(loss):
            best["stopped_epoch"] = epoch
            log(f"  {name} epoch {epoch:5d}  loss {loss.item()}: stopped; best test "
                f"{best['test_mse']:.5f} (epoch {best['best_epoch']})")
            break
        if epoch % budget.eval_every == 0 or epoch == epochs:
            valid = evaluate(model, splits["valid"])
            if valid < best["valid_mse"]:
                best = {"valid_mse": valid, "test_mse": evaluate(model, splits["test"]), "best_epoch": epoch}
            log(f"  {name} epoch {epoch:5d}  train {loss.item():.5f}  valid {valid:.5f}  "
                f"best test {best['test_mse']:.5f} (epoch {best['best_epoch']})")
    best["train_s"] = time.perf_counter() - start
    best["model"] = model
    return best


def plot_trajectories(true_paths: np.ndarray, predictions: dict[str, np.ndarray], path: Path,
                      num_systems: int = 3) -> None:
    """x-y view of ``num_systems`` test systems: true paths frame 30 -> 40 and predicted endpoints."""
    num_systems = min(num_systems, len(true_paths))
    fig, axes = plt.subplots(1, num_systems, figsize=(4.5 * num_systems, 4.5), squeeze=False)
    markers = {"gnn": "x", "egnn": "+", "segno": "^"}
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
    args = parser.parse_args(argv)

    budget = BUDGETS[start(args)]
    if args.epochs is not None:
        budget = dataclasses.replace(budget, epochs={name: args.epochs for name in MODELS})
    if args.num_train is not None:
        budget = dataclasses.replace(budget, num_train=args.num_train)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(message, flush=True)

    log(f"budget {budget.name}: {budget.num_train} train systems, epochs {budget.epochs}")
    splits, true_paths = make_splits(budget, args.seed)
    log(f"simulated {sum(len(s) for s in splits.values())} systems in {time.perf_counter() - began:.1f} s")
    results, predictions = {}, {}
    plotted = torch.arange(min(3, len(splits["test"])))
    for name in MODELS:
        outcome = train(name, splits, budget, args.seed, log)
        model = outcome.pop("model")
        model.eval()
        with torch.no_grad():
            predictions[name] = model(make_batch(splits["test"], plotted)).reshape(-1, NUM_PARTICLES, 3).numpy()
        results[name] = outcome
    runtime = time.perf_counter() - began
    plot_trajectories(true_paths, predictions, args.out / "trajectories.png")

    log(f"\n{'model':<7}{'test MSE':>10}{'published':>11}{'best epoch':>12}{'train s':>9}")
    for name in MODELS:
        r = results[name]
        log(f"{name.upper():<7}{r['test_mse']:>10.4f}{PUBLISHED[name]:>11.4f}{r['best_epoch']:>12d}"
            f"{r['train_s']:>9.0f}")
    log(f"total runtime {runtime:.0f} s (budget {budget.name}, {torch.get_num_threads()} thread(s))")
    summary = {f"{name}_mse": results[name]["test_mse"] for name in MODELS}
    summary.update(budget=dataclasses.asdict(budget), runtime_s=runtime, published=PUBLISHED,
                   details=results, seed=args.seed)
    write_results(args.out, summary)
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
