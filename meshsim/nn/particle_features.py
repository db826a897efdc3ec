"""`ParticleFeatures`: GNS's inputs and outputs of a Lagrangian particle simulator (Sanchez-Gonzalez
et al. 2020), shared by `GNS` and `GIOROM`.

From a position history ``(N, H + 1, dim)`` (H velocities) it builds

- node features: the H normalised velocities ``(v - v_mean) / v_std`` (v_t = x_t - x_{t-1}, one
  frame = one time unit), the distances to the lower and upper walls divided by the connectivity
  radius R and clipped to [-1, 1], and a learned embedding of the particle type;
- edge features: ``(x_sender - x_receiver) / R`` and its norm;

and turns a normalised acceleration back into the next position by semi-implicit Euler with dt = 1:
``v_{t+1} = v_t + a``, ``x_{t+1} = x_t + v_{t+1}``, with ``a = a_hat * a_std + a_mean``.

The statistics are those of the training data; as in GNS, the training noise variance is added to
the velocity and acceleration variances (``std = sqrt(std_data^2 + noise_std^2)``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn


@dataclass(frozen=True)
class ParticleStatistics:
    """Normalisation statistics and geometry of a particle dataset (LagrangeBench's metadata).

    Attributes:
        vel_mean, vel_std, acc_mean, acc_std: per-coordinate statistics of the per-frame velocities
            x_t - x_{t-1} and accelerations x_{t+1} - 2 x_t + x_{t-1} of the training data.
        bounds: ((low, high) per coordinate) of the walls.
        radius: default connectivity radius R.
    """

    vel_mean: Sequence[float]
    vel_std: Sequence[float]
    acc_mean: Sequence[float]
    acc_std: Sequence[float]
    bounds: Sequence[Sequence[float]]
    radius: float


class ParticleFeatures(nn.Module):
    """Node and edge features of a particle history and the integration of the predicted acceleration.

    Args:
        statistics: `ParticleStatistics` of the training data.
        history: H, velocities per node (GNS: 5, from 6 positions).
        num_particle_types: size of the type embedding table.
        type_embedding_dim: width of the type embedding (GNS: 16).
        noise_std: training noise std, added in quadrature to the velocity and acceleration std.

    Shapes: ``node_features(positions (N, H + 1, d), particle_type (N,)) -> (N, H d + 2 d + E)``;
    ``edge_features(positions, edge_index (2, E)) -> (E, d + 1)``.
    """

    def __init__(self, statistics: ParticleStatistics, history: int = 5, num_particle_types: int = 9,
                 type_embedding_dim: int = 16, noise_std: float = 0.0):
        super().__init__()
        self.history = history
        self.dim = len(statistics.vel_mean)
        self.radius = float(statistics.radius)
        self.embedding = nn.Embedding(num_particle_types, type_embedding_dim)

        def buffer(name, values, noise=0.0):
            value = torch.as_tensor(values, dtype=torch.float32)
            if noise:
                value = torch.sqrt(value ** 2 + noise ** 2)
            self.register_buffer(name, value)

        buffer("vel_mean", statistics.vel_mean)
        buffer("vel_std", statistics.vel_std, noise_std)
        buffer("acc_mean", statistics.acc_mean)
        buffer("acc_std", statistics.acc_std, noise_std)
        buffer("bounds", statistics.bounds)

    @property
    def node_dim(self) -> int:
        return self.history * self.dim + 2 * self.dim + self.embedding.embedding_dim

    @property
    def edge_dim(self) -> int:
        return self.dim + 1

    def check(self, positions: torch.Tensor) -> None:
        expected = (self.history + 1, self.dim)
        if positions.dim() != 3 or tuple(positions.shape[1:]) != expected:
            raise ValueError(f"positions must have shape (N, {expected[0]}, {expected[1]}) (N particles, "
                             f"history + 1 frames, dim), got {tuple(positions.shape)}")

    def node_features(self, positions: torch.Tensor, particle_type: torch.Tensor) -> torch.Tensor:
        self.check(positions)
        velocities = (positions[:, 1:] - positions[:, :-1] - self.vel_mean) / self.vel_std
        last = positions[:, -1]
        walls = torch.cat([last - self.bounds[:, 0], self.bounds[:, 1] - last], dim=-1) / self.radius
        return torch.cat([velocities.flatten(1), walls.clamp(-1.0, 1.0), self.embedding(particle_type.long())], -1)

    def edge_features(self, positions: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        last = positions[:, -1]
        relative = (last.index_select(0, edge_index[0]) - last.index_select(0, edge_index[1])) / self.radius
        return torch.cat([relative, relative.norm(dim=-1, keepdim=True)], -1)

    def normalised_acceleration(self, positions: torch.Tensor, next_position: torch.Tensor) -> torch.Tensor:
        """The training target: ``(x_{t+1} - 2 x_t + x_{t-1} - a_mean) / a_std`` (N, d)."""
        acceleration = next_position - 2 * positions[:, -1] + positions[:, -2]
        return (acceleration - self.acc_mean) / self.acc_std

    def next_position(self, positions: torch.Tensor, normalised_acceleration: torch.Tensor) -> torch.Tensor:
        """Semi-implicit Euler with dt = 1 from the last two positions: (N, d)."""
        acceleration = normalised_acceleration * self.acc_std + self.acc_mean
        velocity = positions[:, -1] - positions[:, -2] + acceleration
        return positions[:, -1] + velocity
