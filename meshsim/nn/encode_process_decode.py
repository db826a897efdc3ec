"""`EncodeProcessDecode`: the physics-free core of MeshGraphNets."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .graph_net_block import GraphNetBlock
from .mlp import MLP, inplace_relu
from .sorted_edges import TargetSortedEdges


class EncodeProcessDecode(nn.Module):
    r"""Encode node and edge features to latents, run message-passing steps, decode the nodes.

    .. math::
        h^0 = \varepsilon_v(v), \quad e^0 = \varepsilon_e(e), \quad
        (h^{m+1}, e^{m+1}) = \mathrm{GraphNetBlock}_m(h^m, e^m), \quad y = \delta(h^{M})

    Every MLP has ``num_hidden_layers`` hidden layers of width ``latent_dim``; encoders and blocks
    end in LayerNorm, the decoder does not. The blocks do not share weights (Pfaff et al. 2021).

    Args:
        node_in: node input features.
        edge_in: edge input features.
        out_dim: node output features.
        latent_dim: latent width L (128 in MeshGraphNets).
        num_steps: message-passing steps M (15 in MeshGraphNets).
        num_hidden_layers: hidden layers per MLP (2 in MeshGraphNets).
        activation: activation factory (ReLU in MeshGraphNets; default `inplace_relu`).
        aggregation: ``"sum"`` (MeshGraphNets) or ``"mean"``.

    Shapes: ``forward(node_features (N, node_in), edge_features (E, edge_in), edge_index (2, E))
    -> (N, out_dim)``; ``edge_index`` sorted by target.
    """

    def __init__(self, node_in: int, edge_in: int, out_dim: int, latent_dim: int = 128, num_steps: int = 15,
                 num_hidden_layers: int = 2, activation: Callable[[], nn.Module] = inplace_relu,
                 aggregation: str = "sum"):
        super().__init__()
        self.node_encoder = MLP(node_in, latent_dim, latent_dim, num_hidden_layers, activation)
        self.edge_encoder = MLP(edge_in, latent_dim, latent_dim, num_hidden_layers, activation)
        self.processor = nn.ModuleList(
            GraphNetBlock(latent_dim, latent_dim, num_hidden_layers, activation, True, aggregation)
            for _ in range(num_steps))
        self.decoder = MLP(latent_dim, out_dim, latent_dim, num_hidden_layers, activation, layer_norm=False)

    def process(self, x: torch.Tensor, edge_attr: torch.Tensor, edges: TargetSortedEdges) -> torch.Tensor:
        """Run the message-passing blocks on latents: (N, L), (E, L) -> (N, L)."""
        for block in self.processor:
            x, edge_attr = block(x, edge_attr, edges)
        return x

    def forward(self, node_features: torch.Tensor, edge_features: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        edges = TargetSortedEdges.from_edge_index(edge_index, node_features.shape[0])
        latent = self.process(self.node_encoder(node_features), self.edge_encoder(edge_features), edges)
        return self.decoder(latent)
