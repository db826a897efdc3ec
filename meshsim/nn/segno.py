"""SEGNO: second-order equivariant graph neural ODE (Liu et al., ICLR 2024)."""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data

from .egnn import COORD_CLAMP, EGNNLayer


class SEGNO(nn.Module):
    r"""One shared `EGNNLayer` integrated ``num_steps`` times as a second-order ODE over unit time.

    With :math:`\tau = 1 / L` and :math:`a_i = \frac{1}{\deg(i)}\sum_j (x_i - x_j)\,\phi_x(m_{ij})`
    computed from the current state, each of the :math:`L` steps is a semi-implicit Euler step

    .. math::
        v \leftarrow v + \tau a, \qquad x \leftarrow x + \tau v, \qquad
        h \leftarrow h + \phi_h(h, \textstyle\sum_j m_{ij}).

    With :math:`\phi_x = 0` the prediction is :math:`x + v`, free flight over the unit interval, so the
    velocity must be given in units of (distance / prediction horizon).

    Reads from a `Data` (or `Batch`): ``x`` (N, node_dim) invariant node features, ``pos`` and ``vel``
    (N, dim), ``edge_index`` (2, E) and ``edge_attr`` (E, edge_dim) when ``edge_dim > 0``. Equivariant
    like `EGNN`.

    Each edge's term of :math:`a_i` is clamped to :math:`\pm 100` as in the reference
    implementation (``coord_clamp``, see `EGNNLayer`).

    Args:
        node_dim, edge_dim, hidden_dim, coord_clamp: as in `EGNN`.
        num_steps: L, applications of the shared layer (8 in the paper's N-body runs).
    """

    def __init__(self, node_dim: int, edge_dim: int = 0, hidden_dim: int = 64, num_steps: int = 8,
                 coord_clamp: float | None = COORD_CLAMP):
        super().__init__()
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        self.num_steps = num_steps
        self.embedding = nn.Linear(node_dim, hidden_dim)
        self.layer = EGNNLayer(hidden_dim, edge_dim, coord_clamp=coord_clamp)

    def integrate(self, data: Data) -> tuple[torch.Tensor, torch.Tensor]:
        """Coordinates and velocities (N, dim) at the end of the unit time interval."""
        h, pos, vel = self.embedding(data.x), data.pos, data.vel
        edge_attr = data.edge_attr if self.layer.edge_dim else None
        tau = 1.0 / self.num_steps
        for _ in range(self.num_steps):
            h, acceleration = self.layer.interact(h, pos, data.edge_index, edge_attr)
            vel = vel + tau * acceleration
            pos = pos + tau * vel
        return pos, vel

    def forward(self, data: Data) -> torch.Tensor:
        """Predicted coordinates (N, dim)."""
        return self.integrate(data)[0]
