"""`EquivariantMeshModel`: an EGNN processor on mesh graphs predicting a node vector field."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch_geometric.data import Data

from .egnn import EGNNLayer, _small_last_layer
from .mlp import MLP


class EquivariantMeshModel(nn.Module):
    r"""E(n)-equivariant encode-process model for mesh graphs: rotating (or reflecting) the mesh
    together with its vector inputs (loads, body forces) rotates the predicted vector field, and
    translating the mesh leaves it unchanged.

    The mesh node coordinates are EGNN's :math:`x`. Inputs, read from a `Data`:

    - ``pos`` (N, dim) node coordinates and ``edge_index`` (2, E) mesh edges (both directions);
    - ``x`` (N, node_dim) invariant node features (node type one-hot, material parameters, ...);
    - each field named in ``vector_keys``: (N, dim) node vectors :math:`f^k`.

    ``data.edge_attr`` is not used (the mesh graph's relative displacements are not invariant); the
    model builds invariant features itself: per node :math:`|f^k_i|`, per edge
    :math:`|x_i - x_j|` (rest length) and, per vector field, :math:`f^k_i \cdot (x_i - x_j)`,
    :math:`f^k_j \cdot (x_i - x_j)` and :math:`f^k_i \cdot f^k_j`.

    Each of the ``num_layers`` `EGNNLayer` moves the nodes by its equivariant shift plus
    :math:`\sum_k \psi_k(h_i) f^k_i` (the velocity-variant term, one scalar per vector field, small at
    initialisation); the output is the total node displacement :math:`x^L - x^0`, shape (N, dim).

    Args:
        node_dim: invariant node features in ``x``.
        vector_keys: names of the (N, dim) vector node fields.
        hidden_dim: width of h and the MLPs; num_layers: processor layers.
    """

    def __init__(self, node_dim: int, vector_keys: Sequence[str] = (), hidden_dim: int = 64,
                 num_layers: int = 4):
        super().__init__()
        self.vector_keys = tuple(vector_keys)
        k = len(self.vector_keys)
        self.embedding = nn.Linear(node_dim + k, hidden_dim)
        self.layers = nn.ModuleList(EGNNLayer(hidden_dim, edge_dim=1 + 3 * k) for _ in range(num_layers))
        self.vector_scales = nn.ModuleList(
            _small_last_layer(MLP(hidden_dim, k, hidden_dim, 1, nn.SiLU, layer_norm=False))
            for _ in range(num_layers)) if k else None

    def _invariants(self, data: Data, vectors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        source, target = data.edge_index
        diff = data.pos[target] - data.pos[source]
        node = [data.x] + [f.norm(dim=1, keepdim=True) for f in vectors]
        edge = [diff.norm(dim=1, keepdim=True)]
        for f in vectors:
            edge += [(f[target] * diff).sum(1, keepdim=True), (f[source] * diff).sum(1, keepdim=True),
                     (f[target] * f[source]).sum(1, keepdim=True)]
        return torch.cat(node, dim=1), torch.cat(edge, dim=1)

    def forward(self, data: Data) -> torch.Tensor:
        """Predicted node vector field (N, dim), e.g. the displacement."""
        vectors = [data[key] for key in self.vector_keys]
        node_features, edge_attr = self._invariants(data, vectors)
        h, pos = self.embedding(node_features), data.pos
        for index, layer in enumerate(self.layers):
            h_new, shift = layer.interact(h, pos, data.edge_index, edge_attr)
            if vectors:
                scales = self.vector_scales[index](h)
                shift = shift + sum(scales[:, i:i + 1] * f for i, f in enumerate(vectors))
            h, pos = h_new, pos + shift
        return pos - data.pos
