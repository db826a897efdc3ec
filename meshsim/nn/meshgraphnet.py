"""`MeshGraphNet`: the domain wrapper around `EncodeProcessDecode` (features, normalisers, integration)."""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from .encode_process_decode import EncodeProcessDecode
from .normalizer import Normalizer


class MeshGraphNet(nn.Module):
    r"""MeshGraphNets (Pfaff et al., ICLR 2021) for fields on a mesh graph.

    The core (`EncodeProcessDecode`) knows nothing of the physics. This wrapper owns

    - node inputs: the field(s) ``data.x`` (N, F) and a one-hot ``data.node_type`` (N,);
    - edge inputs: the relative mesh position ``pos[sender] - pos[receiver]`` and its norm;
    - normalisers (`Normalizer`) for node inputs, edge inputs and outputs;
    - output integration: the network predicts the normalised change of the F integrated fields,
      :math:`x^{t+1} = x^t + \mathrm{inverse}(\hat y_{:F})`, and the ``extra_output_dim`` further
      outputs (pressure, say) directly;
    - the loss mask: nodes whose type is in ``prescribed_node_types`` (Dirichlet walls, inflow) are
      left out of the loss and keep their current value when stepping.

    Graph fields read: ``x (N, F)``, ``node_type (N,)`` int, ``pos (N, d)``, ``edge_index (2, E)``
    sorted by target, and for the loss ``y (N, F + extra_output_dim)``, the fields at the next step.

    Args:
        field_dim: F, number of integrated fields (2 for a 2D velocity).
        num_node_types: number of node type codes (one-hot width).
        pos_dim: mesh dimension d.
        extra_output_dim: outputs predicted directly rather than as a change.
        prescribed_node_types: node type codes whose values a boundary condition prescribes.
        latent_dim, num_steps, num_hidden_layers, aggregation: as `EncodeProcessDecode`
            (defaults: MeshGraphNets' 128, 15, 2, sum).
        max_accumulations: normaliser accumulation cap.
    """

    def __init__(self, field_dim: int, num_node_types: int, pos_dim: int = 2, extra_output_dim: int = 0,
                 prescribed_node_types: Sequence[int] = (), latent_dim: int = 128, num_steps: int = 15,
                 num_hidden_layers: int = 2, aggregation: str = "sum", max_accumulations: int = 10**6):
        super().__init__()
        self.field_dim = field_dim
        self.num_node_types = num_node_types
        self.pos_dim = pos_dim
        self.extra_output_dim = extra_output_dim
        self.register_buffer("prescribed_node_types", torch.as_tensor(list(prescribed_node_types), dtype=torch.long))
        out_dim = field_dim + extra_output_dim
        self.core = EncodeProcessDecode(field_dim + num_node_types, pos_dim + 1, out_dim, latent_dim, num_steps,
                                        num_hidden_layers, aggregation=aggregation)
        self.node_normalizer = Normalizer(field_dim + num_node_types, max_accumulations)
        self.edge_normalizer = Normalizer(pos_dim + 1, max_accumulations)
        self.output_normalizer = Normalizer(out_dim, max_accumulations)

    def _check(self, data: Data) -> None:
        if data.x.dim() != 2 or data.x.shape[1] != self.field_dim:
            raise ValueError(f"data.x must have shape (N, {self.field_dim}), got {tuple(data.x.shape)}")
        if data.pos.dim() != 2 or data.pos.shape[1] != self.pos_dim:
            raise ValueError(f"data.pos must have shape (N, {self.pos_dim}), got {tuple(data.pos.shape)}")
        node_type = data.node_type
        bad = torch.nonzero((node_type < 0) | (node_type >= self.num_node_types)).flatten()
        if len(bad):
            raise ValueError(f"node_type of node {int(bad[0])} is {int(node_type[bad[0]])}, outside "
                             f"[0, {self.num_node_types}) ({len(bad)} such nodes)")

    def node_features(self, data: Data) -> torch.Tensor:
        """``[x, one_hot(node_type)]``: (N, F + num_node_types), before normalisation."""
        one_hot = F.one_hot(data.node_type.long(), self.num_node_types).to(data.x.dtype)
        return torch.cat([data.x, one_hot], dim=-1)

    def edge_features(self, data: Data) -> torch.Tensor:
        """``[pos[sender] - pos[receiver], norm]``: (E, d + 1), before normalisation."""
        relative = data.pos[data.edge_index[0]] - data.pos[data.edge_index[1]]
        return torch.cat([relative, relative.norm(dim=-1, keepdim=True)], dim=-1).to(data.x.dtype)

    def loss_mask(self, data: Data) -> torch.Tensor:
        """(N,) bool: True where the value is not prescribed by a boundary condition."""
        return ~torch.isin(data.node_type.long(), self.prescribed_node_types)

    def forward(self, data: Data) -> torch.Tensor:
        """The network's normalised output (N, F + extra): change of x, then the extra outputs."""
        self._check(data)
        nodes = self.node_normalizer(self.node_features(data))
        edges = self.edge_normalizer(self.edge_features(data))
        return self.core(nodes, edges, data.edge_index)

    def target(self, data: Data) -> torch.Tensor:
        """The normalised target (N, F + extra) from ``data.y``; accumulates output statistics in training."""
        expected = self.field_dim + self.extra_output_dim
        if data.y.dim() != 2 or data.y.shape[1] != expected:
            raise ValueError(f"data.y must have shape (N, {expected}), got {tuple(data.y.shape)}")
        change = torch.cat([data.y[:, :self.field_dim] - data.x, data.y[:, self.field_dim:]], dim=-1)
        return self.output_normalizer(change)

    def loss(self, data: Data) -> torch.Tensor:
        """Mean squared error of the normalised output over non-prescribed nodes and all outputs."""
        error = (self(data) - self.target(data)) ** 2
        mask = self.loss_mask(data)
        if not mask.any():
            raise ValueError("every node is prescribed: the loss mask is empty")
        return error[mask].mean()

    def predict(self, data: Data) -> torch.Tensor:
        """Fields at the next step in physical units: (N, F + extra). Prescribed nodes keep ``x``."""
        change = self.output_normalizer.inverse(self(data))
        fields = data.x + change[:, :self.field_dim]
        fields = torch.where(self.loss_mask(data).unsqueeze(-1), fields, data.x)
        return torch.cat([fields, change[:, self.field_dim:]], dim=-1)

    def advance(self, data: Data) -> Data:
        """A shallow copy of ``data`` one step later: ``x`` the predicted fields, ``extra`` the rest."""
        prediction = self.predict(data)
        stepped = copy.copy(data)
        stepped.x = prediction[:, :self.field_dim]
        if self.extra_output_dim:
            stepped.extra = prediction[:, self.field_dim:]
        return stepped
