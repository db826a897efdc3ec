"""EGNN, SEGNO and the GNN baseline on the charged N-body benchmark (``meshsim train egnn|segno``;
recipes ``nbody_charged``, ``nbody_charged_reference``, ``nbody_gravity``): from positions and
velocities at the input frame, predict the positions at the target frame (frames 30 -> 40).

The inputs follow the reference implementations (EGNN's ``main_nbody.py``, SEGNO's
``train_nbody.py``): node feature |v_i|, edge features [q_i q_j, |x_i - x_j|^2 at the input frame],
the velocity in units of distance per prediction horizon (free flight over the horizon is x + v).
The GNN baseline sees [x_i, v_i] as node features and q_i q_j as its edge feature, as in the EGNN
paper.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch_geometric.data import Batch, Data

from ..data import DatasetError, MeshDataset
from ..nn import EGNN, GNN, SEGNO

#: the equivariant models' edge features: q_i q_j and |x_i - x_j|^2 at the input frame
EDGE_DIM = 2
#: systems per training batch and validations per epoch of the published protocol
PUBLISHED_BATCH, PUBLISHED_TRAIN_SYSTEMS, PUBLISHED_VAL_EVERY_EPOCHS = 100, 3000, 5


def complete_graph_edges(num_particles: int) -> torch.Tensor:
    """(2, n (n - 1)) edges j -> i of the complete graph without self loops, sorted by target i."""
    target, source = torch.meshgrid(torch.arange(num_particles), torch.arange(num_particles), indexing="ij")
    keep = target != source
    return torch.stack([source[keep], target[keep]])


def charged_graphs(pos: torch.Tensor, vel: torch.Tensor, charges: torch.Tensor,
                   target: torch.Tensor | None = None) -> Data:
    """One batched graph of S systems of N particles (complete graphs, edges sorted by target).

    Args:
        pos, vel: (S, N, dim) positions and velocities at the input frame (vel in distance per
            prediction horizon).
        charges: (S, N) charges (or masses).
        target: (S, N, dim) positions at the target frame, or None.
    Returns:
        `Data` with x = |v| (S N, 1), pos, vel (S N, dim), edge_index (2, S N (N - 1)),
        edge_attr = [q_i q_j, |x_i - x_j|^2] (E, 2), y (S N, dim) when ``target`` is given.
    """
    num, n, dim = pos.shape
    edges = complete_graph_edges(n)
    edge_index = (edges[:, None, :] + n * torch.arange(num)[None, :, None]).reshape(2, -1)
    flat_pos, flat_vel, q = pos.reshape(-1, dim), vel.reshape(-1, dim), charges.reshape(-1)
    distance2 = ((flat_pos[edge_index[1]] - flat_pos[edge_index[0]]) ** 2).sum(dim=1)
    edge_attr = torch.stack([q[edge_index[0]] * q[edge_index[1]], distance2], dim=1)
    data = Data(x=flat_vel.norm(dim=1, keepdim=True), pos=flat_pos, vel=flat_vel, edge_index=edge_index,
                edge_attr=edge_attr, num_nodes=num * n)
    if target is not None:
        data.y = target.reshape(-1, dim)
    return data


class PositionVelocityGNN(nn.Module):
    """The EGNN paper's N-body GNN baseline: `GNN` (GCL layers) on node inputs [x_i, v_i] and the
    edge input q_i q_j (the first column of ``edge_attr``), decoding the target positions directly."""

    def __init__(self, dim: int = 3, hidden_dim: int = 64, num_layers: int = 4):
        super().__init__()
        self.core = GNN(2 * dim, 1, dim, hidden_dim, num_layers)

    def forward(self, data: Data) -> torch.Tensor:
        inputs = Data(x=torch.cat([data.pos, data.vel], dim=1), edge_index=data.edge_index,
                      edge_attr=data.edge_attr[:, :1])
        return self.core(inputs)


def nbody_model(kind: str, hidden_dim: int = 64, num_layers: int = 4, num_steps: int = 8) -> nn.Module:
    """The papers' N-body models by name: ``"gnn"`` (`PositionVelocityGNN`, 4 GCL layers),
    ``"egnn"`` (EGNN-vel, 4 layers, no bias in phi_x's last layer, as in its reference code) or
    ``"segno"`` (8 steps of one shared layer); width 64."""
    if kind == "gnn":
        return PositionVelocityGNN(hidden_dim=hidden_dim, num_layers=num_layers)
    if kind == "egnn":
        return EGNN(1, EDGE_DIM, hidden_dim, num_layers, velocity=True, coord_bias=False)
    if kind == "segno":
        return SEGNO(1, EDGE_DIM, hidden_dim, num_steps)
    raise ValueError(f"unknown N-body model {kind!r}; choose gnn, egnn or segno")


@dataclass(frozen=True)
class NBodySettings:
    """Benchmark frames and model sizes (the papers': 4 EGNN layers, 8 SEGNO steps, width 64)."""

    input_frame: int = 30
    target_frame: int = 40
    hidden_dim: int = 64
    num_layers: int = 4
    num_steps: int = 8


def nbody_graphs(folder: str | Path, split: str, settings: NBodySettings,
                 max_samples: int | None = None) -> list[Data]:
    """One graph per system of a store split, as `charged_graphs` builds them: x = |v|, ``pos``
    and ``vel`` at the input frame (vel in distance per prediction horizon), edge_attr =
    [q_i q_j, |x_i - x_j|^2] of the per-particle input (charge or mass), y the positions at the
    target frame."""
    dataset = MeshDataset(folder, split)
    meta = dataset.meta
    if not {"pos", "vel"} <= set(meta["targets"]) or len(meta["inputs"]) != 1:
        raise DatasetError(f"{folder}: expected an N-body dataset (targets pos, vel and one per-particle "
                           f"input such as charge); got targets {meta['targets']}, inputs {meta['inputs']}")
    frames = meta["num_steps"]
    if not 0 <= settings.input_frame < settings.target_frame < frames:
        raise DatasetError(f"{folder}: frames {settings.input_frame} -> {settings.target_frame} are not "
                           f"inside the {frames} stored frames")
    count = dataset.num_samples if max_samples is None else min(max_samples, dataset.num_samples)
    graphs = []
    a, b = settings.input_frame, settings.target_frame
    for i in range(count):
        item = dataset.trajectory(i)
        horizon = float(item.times[b] - item.times[a])
        field = lambda name, frame: torch.as_tensor(item.fields[name][frame], dtype=torch.float32)[None]  # noqa: E731
        charges = torch.as_tensor(item.fields[meta["inputs"][0]], dtype=torch.float32).reshape(1, -1)
        graphs.append(charged_graphs(field("pos", a), field("vel", a) * horizon, charges, field("pos", b)))
    if not graphs:
        raise DatasetError(f"{folder}: split {split!r} has no systems")
    return graphs


class PositionLoss:
    """Mean squared error of the predicted positions against ``y``; ``loss(model, batch, generator)``."""

    def __call__(self, model: nn.Module, batch: Data, generator: torch.Generator) -> torch.Tensor:
        return torch.mean((model(batch) - batch.y) ** 2)


def mean_squared_error(model: nn.Module, graphs: list[Data], batch_size: int = 500) -> float:
    """MSE over every system, particle and coordinate (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(graphs), batch_size):
            batch = Batch.from_data_list(graphs[start:start + batch_size])
            total += float(((model(batch) - batch.y) ** 2).sum())
            count += batch.y.numel()
    model.train(was_training)
    return total / count


def _published_steps(epochs: int) -> int:
    """Optimiser steps of ``epochs`` epochs of the published protocol (3,000 systems, batches of 100)."""
    return epochs * (PUBLISHED_TRAIN_SYSTEMS // PUBLISHED_BATCH)


class NBodyTask:
    """Base of the EGNN and SEGNO tasks: data, loss, validation and evaluation. Training defaults:
    the papers' epochs, batch, learning rate (constant) and validation every 5 epochs, counted for
    3,000 training systems; the run keeps the model of best validation MSE (``checkpoints/best.pt``,
    which ``meshsim evaluate`` loads)."""

    Settings = NBodySettings

    @staticmethod
    def train_schedule(settings: NBodySettings) -> dict:
        """TrainConfig fields besides `train_defaults`: keep the best-validation model."""
        return {"best_metric": "mse"}

    def __init__(self, folder: str | Path, settings: NBodySettings = NBodySettings()):
        self.folder, self.settings = Path(folder), settings
        self.train_set = nbody_graphs(self.folder, "train", settings)

    def loss(self) -> PositionLoss:
        return PositionLoss()

    def validate(self, split: str = "valid"):
        graphs = nbody_graphs(self.folder, split, self.settings)
        return lambda model: {"mse": mean_squared_error(model, graphs)}

    def evaluate(self, model: nn.Module, split: str = "test", max_trajectories: int | None = None,
                 progress: bool = False) -> dict:
        """``mse`` of the target-frame positions and ``num_systems``."""
        graphs = nbody_graphs(self.folder, split, self.settings, max_trajectories)
        return {"mse": mean_squared_error(model, graphs), "num_systems": len(graphs)}


class EGNNTask(NBodyTask):
    """``meshsim train egnn``: EGNN with the velocity variant (EGNN-vel), as in the EGNN paper
    (10,000 epochs at lr 5e-4)."""

    name = "egnn"
    train_defaults = {"steps": _published_steps(10_000), "batch_size": PUBLISHED_BATCH, "lr": 5e-4,
                      "lr_final": None, "val_every": _published_steps(PUBLISHED_VAL_EVERY_EPOCHS)}

    def model(self) -> EGNN:
        return nbody_model("egnn", self.settings.hidden_dim, self.settings.num_layers)


class SEGNOTask(NBodyTask):
    """``meshsim train segno``: SEGNO, one shared layer integrated ``num_steps`` times (500 epochs
    at lr 5e-3, as in SEGNO's README)."""

    name = "segno"
    train_defaults = {"steps": _published_steps(500), "batch_size": PUBLISHED_BATCH, "lr": 5e-3,
                      "lr_final": None, "val_every": _published_steps(PUBLISHED_VAL_EVERY_EPOCHS)}

    def model(self) -> SEGNO:
        return nbody_model("segno", self.settings.hidden_dim, num_steps=self.settings.num_steps)
