"""`GNS`: the Graph Network-based Simulator of Sanchez-Gonzalez et al. (ICML 2020)."""
from __future__ import annotations

import torch
from torch import nn

from .encode_process_decode import EncodeProcessDecode
from .particle_features import ParticleFeatures, ParticleStatistics


class GNS(nn.Module):
    r"""Learned Lagrangian simulator: encode-process-decode on the radius graph of the particles.

    Node inputs are the 5 last velocities (normalised), the clipped wall distances / R and a
    16-d particle-type embedding (`ParticleFeatures`); edge inputs the displacement / R and
    distance / R. The core (`EncodeProcessDecode`: 10 `GraphNetBlock` s, latent 128, MLPs of 2
    hidden layers with LayerNorm) predicts the normalised acceleration, integrated by
    semi-implicit Euler with dt = 1.

    Args:
        statistics: training-data statistics, bounds and connectivity radius.
        history: velocities per particle (5).
        num_particle_types, type_embedding_dim: type embedding (9, 16).
        latent_dim, num_steps, num_hidden_layers: core sizes (128, 10, 2).
        noise_std: training noise std (added to the normalisation std as in GNS).

    Shapes: ``forward(positions (N, history + 1, d), particle_type (N,), edge_index (2, E))``
    -> normalised acceleration (N, d); ``edge_index`` is the radius graph of ``positions[:, -1]``,
    sorted by target; ``batch`` (N,) is ignored (the interface `GIOROM` shares).
    """

    def __init__(self, statistics: ParticleStatistics, history: int = 5, num_particle_types: int = 9,
                 type_embedding_dim: int = 16, latent_dim: int = 128, num_steps: int = 10,
                 num_hidden_layers: int = 2, noise_std: float = 0.0):
        super().__init__()
        self.features = ParticleFeatures(statistics, history, num_particle_types, type_embedding_dim, noise_std)
        self.core = EncodeProcessDecode(self.features.node_dim, self.features.edge_dim, self.features.dim,
                                        latent_dim, num_steps, num_hidden_layers)

    def forward(self, positions: torch.Tensor, particle_type: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None) -> torch.Tensor:
        nodes = self.features.node_features(positions, particle_type)
        edges = self.features.edge_features(positions, edge_index)
        return self.core(nodes, edges, edge_index)

    def next_position(self, positions: torch.Tensor, particle_type: torch.Tensor, edge_index: torch.Tensor,
                      batch: torch.Tensor | None = None) -> torch.Tensor:
        """Positions one frame later (N, d); ``batch`` is accepted for the interface `GIOROM` shares
        and not needed (the graphs of a batch are disjoint)."""
        return self.features.next_position(positions, self(positions, particle_type, edge_index))
