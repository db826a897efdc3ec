"""EGNN and SEGNO on the N-body datasets of the store (``meshsim train egnn|segno``; recipes
``nbody_charged``, ``nbody_gravity``): from positions and velocities at the input frame, predict
the positions at the target frame (the EGNN/SEGNO benchmark: frames 30 -> 40).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch_geometric.data import Batch, Data

from ..data import DatasetError, MeshDataset
from ..nn import EGNN, SEGNO


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
    """One graph per system: ``x`` = |v| (N, 1), ``pos`` and ``vel`` (N, dim) at the input frame,
    ``vel`` in units of distance per prediction horizon, ``edge_index`` the complete graph,
    ``edge_attr`` = q_i q_j (E, 1) of the per-particle input (charge or mass), ``y`` (N, dim) the
    positions at the target frame."""
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
    for i in range(count):
        item = dataset.trajectory(i)
        a, b = settings.input_frame, settings.target_frame
        horizon = float(item.times[b] - item.times[a])
        vel = torch.as_tensor(item.fields["vel"][a], dtype=torch.float32) * horizon
        charge = torch.as_tensor(item.fields[meta["inputs"][0]], dtype=torch.float32).reshape(-1)
        edge_index = item.graph.edge_index
        graphs.append(Data(x=vel.norm(dim=1, keepdim=True), pos=torch.as_tensor(item.fields["pos"][a]).float(),
                           vel=vel, edge_index=edge_index,
                           edge_attr=(charge[edge_index[0]] * charge[edge_index[1]])[:, None],
                           y=torch.as_tensor(item.fields["pos"][b]).float(), num_nodes=len(vel)))
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


class NBodyTask:
    """Base of the EGNN and SEGNO tasks: data, loss, validation and evaluation."""

    Settings = NBodySettings

    def __init__(self, folder: str | Path, settings: NBodySettings = NBodySettings()):
        self.folder, self.settings = Path(folder), settings
        self.train_set = nbody_graphs(self.folder, "train", settings)

    def loss(self) -> PositionLoss:
        return PositionLoss()

    def validate(self, split: str = "valid"):
        graphs = nbody_graphs(self.folder, split, self.settings)
        return lambda model: {"mse": mean_squared_error(model, graphs)}

    def evaluate(self, model: nn.Module, split: str = "test", max_trajectories: int | None = None) -> dict:
        """``mse`` of the target-frame positions and ``num_systems``."""
        graphs = nbody_graphs(self.folder, split, self.settings, max_trajectories)
        return {"mse": mean_squared_error(model, graphs), "num_systems": len(graphs)}


class EGNNTask(NBodyTask):
    """``meshsim train egnn``: EGNN with the velocity variant (EGNN-vel), as in the EGNN paper."""

    name = "egnn"
    train_defaults = {"steps": 3000, "batch_size": 100, "lr": 1e-3, "lr_final": 1e-5}

    def model(self) -> EGNN:
        return EGNN(1, 1, self.settings.hidden_dim, self.settings.num_layers, velocity=True)


class SEGNOTask(NBodyTask):
    """``meshsim train segno``: SEGNO, one shared layer integrated ``num_steps`` times."""

    name = "segno"
    train_defaults = {"steps": 3000, "batch_size": 100, "lr": 1e-3, "lr_final": 1e-5}

    def model(self) -> SEGNO:
        return SEGNO(1, 1, self.settings.hidden_dim, self.settings.num_steps)
