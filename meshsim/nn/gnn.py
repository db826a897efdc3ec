"""The plain (non-equivariant) graph neural network the EGNN paper uses as its N-body baseline:
GCL layers (Satorras, Hoogeboom & Welling 2021, after Gilmer et al. 2017)."""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from .mlp import MLP


class GCLLayer(MessagePassing):
    r"""Graph convolution layer with edges ``j -> i`` stored as ``edge_index[:, e] = (j, i)``:

    .. math::
        m_{ij} = \phi_e(h_i, h_j, a_{ij}), \qquad h_i' = h_i + \phi_h\big(h_i, \textstyle\sum_j m_{ij}\big)

    :math:`\phi_e` is two linear layers with SiLU after each, :math:`\phi_h` linear, SiLU, linear;
    no normalisation, no edge latents (``a_ij`` are fixed inputs). The first layer of
    :math:`\phi_e` is evaluated by parts (the ``h_i`` and ``h_j`` products per node).

    Args:
        hidden_dim: width of h and of the MLPs; edge_dim: edge attributes a_ij (0: none).
    """

    def __init__(self, hidden_dim: int, edge_dim: int = 0):
        super().__init__(aggr=None)
        self.hidden_dim, self.edge_dim = hidden_dim, edge_dim
        self.edge_mlp = MLP(2 * hidden_dim + edge_dim, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)
        self.edge_act = nn.SiLU()
        self.node_mlp = MLP(2 * hidden_dim, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        """h (N, hidden_dim), edge_index (2, E), edge_attr (E, edge_dim) or None -> h' (N, hidden_dim)."""
        if (edge_attr is None) != (self.edge_dim == 0):
            raise ValueError(f"layer built for edge_dim={self.edge_dim} got edge_attr "
                             f"{None if edge_attr is None else tuple(edge_attr.shape)}")
        weight, width = self.edge_mlp.first_linear.weight, self.hidden_dim
        message_sum = self.propagate(edge_index, h_as_target=h @ weight[:, :width].T,
                                     h_as_source=h @ weight[:, width:2 * width].T, edge_attr=edge_attr,
                                     size=(h.shape[0], h.shape[0]))
        return h + self.node_mlp(torch.cat([h, message_sum], dim=1))

    def message(self, h_as_target_i: torch.Tensor, h_as_source_j: torch.Tensor,
                edge_attr: torch.Tensor | None) -> torch.Tensor:
        first = self.edge_mlp.first_linear
        pre = h_as_target_i + h_as_source_j + first.bias
        if edge_attr is not None:
            pre = pre + edge_attr @ first.weight[:, 2 * self.hidden_dim:].T
        return self.edge_act(self.edge_mlp.rest(pre))

    def aggregate(self, inputs: torch.Tensor, index: torch.Tensor, dim_size: int | None = None) -> torch.Tensor:
        return scatter(inputs, index, 0, dim_size, reduce="sum")


class GNN(nn.Module):
    """Linear embedding, ``num_layers`` `GCLLayer` and an MLP decoder (linear, SiLU, linear).

    Reads ``x`` (N, node_dim), ``edge_index`` (2, E) and ``edge_attr`` (E, edge_dim) when
    ``edge_dim > 0`` from a `Data` (or `Batch`); returns (N, out_dim). Not equivariant: it sees
    coordinates only as input features. For the N-body benchmark the inputs are [x_i, v_i] and
    q_i q_j, and the output the positions at the target frame (`meshsim.train.nbody_task`).

    Args:
        node_dim, edge_dim, out_dim: input and output widths; hidden_dim: 64 in the paper;
        num_layers: 4 in the paper.
    """

    def __init__(self, node_dim: int, edge_dim: int = 0, out_dim: int = 3, hidden_dim: int = 64,
                 num_layers: int = 4):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.edge_dim = edge_dim
        self.embedding = nn.Linear(node_dim, hidden_dim)
        self.layers = nn.ModuleList(GCLLayer(hidden_dim, edge_dim) for _ in range(num_layers))
        self.decoder = MLP(hidden_dim, out_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)

    def forward(self, data: Data) -> torch.Tensor:
        h = self.embedding(data.x)
        edge_attr = data.edge_attr if self.edge_dim else None
        for layer in self.layers:
            h = layer(h, data.edge_index, edge_attr)
        return self.decoder(h)
