"""MP-PDE on a batch of trajectories that share one 1D grid: the batched graph is built once per
batch size, so a training step only gathers windows and runs the model (no per-step collation of
graphs, no per-call edge sorting).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..graph import line_neighbour_edges
from ..nn import TargetSortedEdges


def periodic_line_edges(num_nodes: int, neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges of ``num_nodes`` points on a ring, each receiving from the ``neighbours`` nearest on
    either side (wrapping across the seam), sorted by target then source; and each edge's wrap
    count w in {-1, 0, 1}: ``index(source) - index(target) + w num_nodes`` is the offset along the
    ring. Returns ((2, E) int64, (E,) int64)."""
    if not 1 <= neighbours < num_nodes / 2:
        raise ValueError(f"a ring of {num_nodes} nodes needs 1 <= neighbours < {num_nodes / 2}, got {neighbours}")
    offsets = np.array([o for o in range(-neighbours, neighbours + 1) if o], dtype=np.int64)
    target = np.repeat(np.arange(num_nodes, dtype=np.int64), len(offsets))
    unwrapped = target + np.tile(offsets, num_nodes)
    source = unwrapped % num_nodes
    wraps = (unwrapped - source) // num_nodes
    order = np.lexsort((source, target))
    return np.stack([source[order], target[order]]), wraps[order]


class BatchedGrid(NamedTuple):
    """``num_graphs`` copies of a grid as one graph: ``pos`` (B nx, d), ``edges`` (its
    `TargetSortedEdges`), ``batch`` (B nx,), ``edge_shift`` (B E, d) or None."""

    pos: torch.Tensor
    edges: TargetSortedEdges
    batch: torch.Tensor
    edge_shift: torch.Tensor | None


@dataclass
class MPPDEGrid:
    """The graph of one trajectory: ``pos`` (nx, 1) node positions, ``edge_index`` (2, E) sorted by
    target, and ``edge_shift`` (E, 1) (periodic graphs: the period on edges across the seam, so the
    model sees periodic position differences) or None."""

    pos: torch.Tensor
    edge_index: torch.Tensor
    edge_shift: torch.Tensor | None = None
    _batched: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def line(cls, positions: np.ndarray, neighbours: int, periodic: bool = False,
             dtype: torch.dtype = torch.float32) -> "MPPDEGrid":
        """The MP-PDE graph of 1D nodes at ``positions`` (nx,), evenly spaced: each node receives
        from ``neighbours`` nodes on each side, not across the ends (the paper's graph), or around
        a ring (``periodic``, a deviation from the paper) whose period is nx x the node spacing."""
        positions = np.asarray(positions, dtype=np.float64)
        nx = len(positions)
        pos = torch.as_tensor(positions, dtype=dtype)[:, None]
        if not periodic:
            return cls(pos, torch.from_numpy(line_neighbour_edges(nx, neighbours)))
        edge_index, wraps = periodic_line_edges(nx, neighbours)
        period = nx * (positions[1] - positions[0])
        # x_target - x_source would jump by the period across the seam: shift it back
        return cls(pos, torch.from_numpy(edge_index), torch.as_tensor(-wraps * period, dtype=dtype)[:, None])

    @property
    def num_nodes(self) -> int:
        return len(self.pos)

    def batched(self, num_graphs: int) -> BatchedGrid:
        """`BatchedGrid` of ``num_graphs`` copies (built on first use, then reused)."""
        if num_graphs not in self._batched:
            nx = self.num_nodes
            offsets = torch.arange(num_graphs).repeat_interleave(self.edge_index.shape[1]) * nx
            edge_index = self.edge_index.repeat(1, num_graphs) + offsets
            shift = None if self.edge_shift is None else self.edge_shift.repeat(num_graphs, 1)
            self._batched[num_graphs] = BatchedGrid(
                self.pos.repeat(num_graphs, 1), TargetSortedEdges.from_edge_index(edge_index, nx * num_graphs),
                torch.arange(num_graphs).repeat_interleave(nx), shift)
        return self._batched[num_graphs]


class TrajectoryItem(NamedTuple):
    """One training sample: ``u`` (nx, T) the whole trajectory, ``params`` (P,) its PDE parameters;
    a batch (collated by the DataLoader) holds ``u`` (B, nx, T) and ``params`` (B, P)."""

    u: torch.Tensor
    params: torch.Tensor


class GridTrajectories(torch.utils.data.Dataset):
    """Trajectories on one grid as a dataset of `TrajectoryItem`: ``u`` (S, nx, T), ``params`` (S, P)."""

    def __init__(self, u: torch.Tensor, params: torch.Tensor, grid: MPPDEGrid):
        if u.dim() != 3 or len(params) != len(u) or u.shape[1] != grid.num_nodes:
            raise ValueError(f"u {tuple(u.shape)} must be (S, nx={grid.num_nodes}, T) with S = len(params) "
                             f"({len(params)})")
        self.u, self.params, self.grid = u, params, grid

    def __len__(self) -> int:
        return len(self.u)

    def __getitem__(self, index: int) -> TrajectoryItem:
        return TrajectoryItem(self.u[index], self.params[index])


def grid_rollout(model: nn.Module, u: torch.Tensor, params: torch.Tensor, grid: MPPDEGrid, start: int,
                 bundles: int, dt: float) -> torch.Tensor:
    """Predicted frames (B, bundles tw, nx) of `meshsim.nn.MPPDE` from the true window
    ``[start - tw, start)`` of trajectories ``u`` (B, nx, T) with ``params`` (B, P), the time of the
    last given frame being (start - 1) dt. Eval mode, no gradients; the model's mode is restored."""
    tw = model.time_window
    if start < tw or bundles < 1:
        raise ValueError(f"need start >= {tw} and bundles >= 1, got {start} and {bundles}")
    num_graphs, nx = u.shape[:2]
    graph = grid.batched(num_graphs)
    dtype = next(model.parameters()).dtype
    window = u[:, :, start - tw:start].reshape(num_graphs * nx, tw).to(dtype)
    time = torch.full((num_graphs,), (start - 1) * dt, dtype=dtype)
    was_training = model.training
    model.eval()
    windows = []
    with torch.no_grad():
        for _ in range(bundles):
            window = model(window, graph.pos, time, params, graph.edges, graph.batch, graph.edge_shift)
            windows.append(window.reshape(num_graphs, nx, tw))
            time = time + tw * dt
    model.train(was_training)
    return torch.cat(windows, dim=2).transpose(1, 2)
