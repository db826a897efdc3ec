"""`GraphNetBlock`: one message-passing step of MeshGraphNets, written with the concat trick."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .mlp import MLP, inplace_relu
from .sorted_edges import TargetSortedEdges, add_gathered, aggregate


class GraphNetBlock(nn.Module):
    r"""Edge update from sender, receiver and edge latents; node update from the aggregated edges.

    .. math::
        e'_{k} = e_{k} + f_e([h_{s_k}, h_{r_k}, e_{k}]), \qquad
        h'_i = h_i + f_h([h_i, \textstyle\bigoplus_{k: r_k = i} f_e(\dots)_k])

    where :math:`s_k, r_k` are edge k's sender (``edge_index[0]``) and receiver (``edge_index[1]``),
    :math:`\bigoplus` is a sum or mean, and :math:`f_e, f_h` are `MLP` s.

    The concat trick: the first linear layer of :math:`f_e` acting on the concatenation equals
    :math:`W_s h_{s_k} + W_r h_{r_k} + W_e e_k + b`. The node products :math:`W_s h, W_r h` are
    computed once per node (one (N, L) x (L, 2H) matmul) and gathered per edge, so the (E, 3L)
    concatenation is never built and the first layer costs E L H instead of 3 E L H multiply-adds.
    The parameters are those of a plain MLP on the concatenation ``[sender, receiver, edge]``, so
    the block is a drop-in for the naive formulation with the same weights.

    Args:
        latent_dim: width L of node and edge latents.
        hidden_dim: hidden width of both MLPs (default L).
        num_hidden_layers: hidden layers of both MLPs.
        activation: activation factory (default `inplace_relu`, safe here: the activations act on
            fresh outputs of linear layers and of the gather-add).
        layer_norm: LayerNorm on both MLPs' outputs.
        aggregation: ``"sum"`` or ``"mean"``.

    Shapes: ``forward(x (N, L), edge_attr (E, L), edges) -> (x' (N, L), edge_attr' (E, L))``.
    """

    def __init__(self, latent_dim: int = 128, hidden_dim: int | None = None, num_hidden_layers: int = 2,
                 activation: Callable[[], nn.Module] = inplace_relu, layer_norm: bool = True,
                 aggregation: str = "sum"):
        super().__init__()
        if aggregation not in ("sum", "mean"):
            raise ValueError(f"aggregation must be 'sum' or 'mean', got {aggregation!r}")
        hidden_dim = latent_dim if hidden_dim is None else hidden_dim
        self.latent_dim = latent_dim
        self.aggregation = aggregation
        self.edge_mlp = MLP(3 * latent_dim, latent_dim, hidden_dim, num_hidden_layers, activation, layer_norm)
        self.node_mlp = MLP(2 * latent_dim, latent_dim, hidden_dim, num_hidden_layers, activation, layer_norm)

    def edge_update(self, x: torch.Tensor, edge_attr: torch.Tensor, edges: TargetSortedEdges) -> torch.Tensor:
        """``f_e([h_sender, h_receiver, e])`` for every edge: (E, L), by the concat trick."""
        latent = self.latent_dim
        first = self.edge_mlp.first_linear
        weight = first.weight
        node_weight = torch.cat([weight[:, :latent], weight[:, latent:2 * latent]], dim=0)
        node_terms = x @ node_weight.t()
        width = weight.shape[0]
        edge_term = torch.addmm(first.bias, edge_attr, weight[:, 2 * latent:].t())
        pre = add_gathered(edge_term, node_terms[:, :width], node_terms[:, width:], edges)
        return self.edge_mlp.rest(pre)

    def forward(self, x: torch.Tensor, edge_attr: torch.Tensor,
                edges: TargetSortedEdges) -> tuple[torch.Tensor, torch.Tensor]:
        edge_delta = self.edge_update(x, edge_attr, edges)
        received = aggregate(edge_delta, edges, self.aggregation)
        node_delta = self.node_mlp(torch.cat([x, received], dim=-1))
        return x + node_delta, edge_attr + edge_delta
