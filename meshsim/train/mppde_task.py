"""MP-PDE on the combined-equation datasets of the store (``meshsim train mppde``; recipes
``mppde_E1``, ``mppde_E2``, ``mppde_E3``).

Each trajectory becomes one graph holding the whole trajectory ``u`` (nx, T) on the line graph of
its cell centres; `MPPDELoss` draws the training windows. Evaluation rolls out from the frames
[tw, 2 tw) and reports MP-PDE's accumulated error over the predicted frames.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from ..data import DatasetError, MeshDataset
from ..graph import line_neighbour_edges
from ..nn import MPPDE
from .losses import MPPDELoss
from .metrics import accumulated_error
from .rollouts import RolloutResult, rollout, windows_to_frames

#: PDE parameters the model reads, in this order (alpha, beta, gamma of the combined equation)
PDE_PARAMETERS = ("alpha", "beta", "gamma")


@dataclass(frozen=True)
class MPPDESettings:
    """Model and loss settings (the paper's defaults): time window, latent width, layers,
    neighbours on each side in the graph, and the most pushforward bundles per training step."""

    time_window: int = 25
    hidden_dim: int = 128
    num_layers: int = 6
    neighbours: int = 3
    max_unroll: int = 2


@dataclass(frozen=True)
class Trajectories:
    """A split as graphs (``u`` (nx, T) float32, ``pos`` (nx, 1), ``params`` (1, 3), ``edge_index``)
    and the grid: ``times`` (T,), ``dt``, ``domain_length`` (nx dx)."""

    graphs: list[Data]
    times: np.ndarray
    dt: float
    domain_length: float


def load_trajectories(folder: str | Path, split: str, neighbours: int,
                      max_trajectories: int | None = None) -> Trajectories:
    """Every trajectory of a split of an MP-PDE dataset (field ``u``, params alpha, beta, gamma)."""
    dataset = MeshDataset(folder, split)
    meta = dataset.meta
    if not meta.get("trajectory") or "u" not in meta["fields"] or meta["fields"]["u"]["channels"] != 1:
        raise DatasetError(f"{folder}: MP-PDE needs trajectories of a scalar field 'u' (an mppde_* recipe)")
    missing = [p for p in PDE_PARAMETERS if p not in meta["params"]]
    if missing:
        raise DatasetError(f"{folder}: samples lack the PDE parameter(s) {missing}")
    count = dataset.num_samples if max_trajectories is None else min(max_trajectories, dataset.num_samples)
    graphs, times = [], None
    edge_index = None
    for i in range(count):
        item = dataset.trajectory(i)
        pos = item.graph.pos[:, :1].float()
        if edge_index is None:
            edge_index = torch.from_numpy(line_neighbour_edges(len(pos), neighbours))
            times = item.times
        params = torch.tensor([[float(np.ravel(item.params[name])[0]) for name in PDE_PARAMETERS]])
        graphs.append(Data(u=torch.from_numpy(item.fields["u"][..., 0].T.astype(np.float32)).contiguous(),
                           pos=pos, params=params, edge_index=edge_index, num_nodes=len(pos)))
    if not graphs:
        raise DatasetError(f"{folder}: split {split!r} has no trajectories")
    spacing = float(graphs[0].pos[1, 0] - graphs[0].pos[0, 0]) if len(graphs[0].pos) > 1 else 1.0
    return Trajectories(graphs, times, float(times[1] - times[0]), spacing * len(graphs[0].pos))


def rollout_from_window(model: MPPDE, graphs: list[Data], num_frames: int) -> torch.Tensor:
    """Predicted frames (B, F, nx) from frame 2 tw on, starting from the true frames [tw, 2 tw)
    of each graph; F = tw floor((num_frames - 2 tw) / tw)."""
    tw = model.time_window
    bundles = (num_frames - 2 * tw) // tw
    if bundles < 1:
        raise ValueError(f"{num_frames} frames leave no window to predict after the 2 x {tw} given ones")
    batch = Batch.from_data_list([Data(x=g.u[:, tw:2 * tw], pos=g.pos, params=g.params, edge_index=g.edge_index)
                                  for g in graphs])
    batch.time = torch.full((len(graphs),), (2 * tw - 1) * model.dt)
    frames = windows_to_frames(rollout(model, batch, bundles))  # (F, B nx)
    return frames.reshape(len(frames), len(graphs), -1).permute(1, 0, 2)


def timed_rollout_from_window(model: MPPDE, graphs: list[Data], num_frames: int) -> tuple[torch.Tensor, float]:
    """`rollout_from_window` of every graph, and the seconds one trajectory's rollout takes alone
    (timed on the first graph)."""
    began = time.perf_counter()
    rollout_from_window(model, graphs[:1], num_frames)
    seconds = time.perf_counter() - began
    return rollout_from_window(model, graphs, num_frames), seconds


def window_accumulated_error(predicted: torch.Tensor, graphs: list[Data], time_window: int) -> float:
    """MP-PDE's accumulated error of `rollout_from_window` frames (B, F, nx) against the graphs'
    true frames from 2 tw on."""
    first = 2 * time_window
    truth = torch.stack([g.u.T[first:first + predicted.shape[1]] for g in graphs])
    return accumulated_error(predicted, truth)


class MPPDETask:
    """``meshsim train mppde``: MP-PDE on a combined-equation dataset in ``folder``."""

    name = "mppde"
    Settings = MPPDESettings
    train_defaults = {"steps": 3000, "batch_size": 16, "lr": 3e-4, "lr_final": 3e-5}

    def __init__(self, folder: str | Path, settings: MPPDESettings = MPPDESettings()):
        self.folder, self.settings = Path(folder), settings
        self.train = load_trajectories(self.folder, "train", settings.neighbours)
        self.train_set = self.train.graphs

    def model(self) -> MPPDE:
        s = self.settings
        return MPPDE(s.time_window, num_params=len(PDE_PARAMETERS), dt=self.train.dt, hidden_dim=s.hidden_dim,
                     num_layers=s.num_layers, domain_length=self.train.domain_length,
                     t_max=float(self.train.times[-1]))

    def loss(self) -> MPPDELoss:
        return MPPDELoss(self.settings.max_unroll)

    def validate(self, split: str = "valid", max_trajectories: int = 8):
        data = load_trajectories(self.folder, split, self.settings.neighbours, max_trajectories)

        def validate(model: MPPDE) -> dict:
            predicted = rollout_from_window(model, data.graphs, len(data.times))
            return {"accumulated_error": window_accumulated_error(predicted, data.graphs, model.time_window)}
        return validate

    def evaluate(self, model: MPPDE, split: str = "test", max_trajectories: int | None = None) -> dict:
        """``accumulated_error`` (mean over trajectories), ``s_per_trajectory`` (one trajectory
        rolled out alone), ``num_trajectories``, ``nx``."""
        data = load_trajectories(self.folder, split, self.settings.neighbours, max_trajectories)
        predicted, seconds = timed_rollout_from_window(model, data.graphs, len(data.times))
        return {"accumulated_error": window_accumulated_error(predicted, data.graphs, model.time_window),
                "s_per_trajectory": seconds, "num_trajectories": len(data.graphs), "nx": len(data.graphs[0].pos)}

    def example_rollout(self, model: MPPDE, split: str = "valid") -> RolloutResult:
        """Rollout of the split's first trajectory, for animations: (F, nx) frames."""
        data = load_trajectories(self.folder, split, self.settings.neighbours, 1)
        predicted = rollout_from_window(model, data.graphs, len(data.times))[0]
        first = 2 * model.time_window
        truth = data.graphs[0].u.T[first:first + len(predicted)]
        return RolloutResult(predicted, truth, data.graphs[0], data.times[first:first + len(predicted)])
