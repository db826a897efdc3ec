"""Particle trajectories for GNS and GIOROM: statistics, training windows (graphs built at load time,
sparse subsets for GIOROM) and GNS's random-walk noise loss."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ..graph import farthest_point_sampling, nearest_neighbours, radius_graph, subsample_count
from ..nn import ParticleStatistics


@dataclass(frozen=True)
class ParticleTrajectory:
    """One simulated trajectory: ``positions`` (T, N, d) at the stored frames and ``particle_type``
    (N,) int codes (the MPM material)."""

    positions: np.ndarray
    particle_type: np.ndarray

    @property
    def num_frames(self) -> int:
        return self.positions.shape[0]


def particle_statistics(trajectories: Sequence[ParticleTrajectory], bounds, radius: float) -> ParticleStatistics:
    """Mean and std per coordinate of the per-frame velocities x_t - x_{t-1} and accelerations
    x_{t+1} - 2 x_t + x_{t-1} over every particle and frame of ``trajectories`` (float64 sums)."""
    dim = trajectories[0].positions.shape[-1]
    sums = {k: np.zeros((3, dim)) for k in ("vel", "acc")}
    for trajectory in trajectories:
        pos = np.asarray(trajectory.positions, dtype=np.float64)
        for key, values in (("vel", np.diff(pos, axis=0)), ("acc", np.diff(pos, 2, axis=0))):
            flat = values.reshape(-1, dim)
            sums[key] += [np.full(dim, len(flat)), flat.sum(0), (flat ** 2).sum(0)]
    stats = {}
    for key, (count, total, squares) in sums.items():
        mean = total / count
        stats[f"{key}_mean"] = mean.tolist()
        stats[f"{key}_std"] = np.sqrt(np.maximum(squares / count - mean ** 2, 1e-20)).tolist()
    return ParticleStatistics(bounds=np.asarray(bounds, dtype=float).tolist(), radius=float(radius), **stats)


def sparse_radius(radius: float, fraction: float) -> float:
    """Connectivity radius of a subset keeping ``fraction`` of the particles: R / sqrt(fraction),
    which keeps the expected number of neighbours of the dense graph."""
    return radius / math.sqrt(fraction)


def sparse_subset(points: np.ndarray, fraction: float, start: int = 0) -> np.ndarray:
    """Farthest-point subset (indices) of ``fraction`` of the points; all of them at fraction 1."""
    if fraction >= 1:
        return np.arange(len(points))
    return farthest_point_sampling(points, subsample_count(len(points), fraction), start)


class ParticleWindow(Data):
    """A training window: ``pos_seq`` (N, H + 1, d) positions, ``target`` (N, d) the next positions,
    ``particle_type`` (N,), ``edge_index`` the radius graph of the last positions; for GIOROM also
    dense queries ``query_pos`` (Q, d) with their true displacement ``query_disp`` (Q, d) over the
    frame and ``query_neighbours`` (Q, K) (indices of their nearest sparse particles)."""

    def __inc__(self, key, value, *args, **kwargs):
        if key == "query_neighbours":
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)

    def __cat_dim__(self, key, value, *args, **kwargs):
        if key == "query_neighbours":
            return 0
        return super().__cat_dim__(key, value, *args, **kwargs)


class ParticleWindows(torch.utils.data.Dataset):
    """Every training window of a set of trajectories: frames t - H .. t as input, t + 1 as target.

    Args:
        trajectories: `ParticleTrajectory` s.
        radius: connectivity radius R of the dense particles.
        history: H velocities (5: six positions).
        fraction: keep this fraction of the particles (farthest-point sampling from a start drawn per
            window), connected at `sparse_radius`; 1 keeps all.
        num_queries: dense particles per window used to train the dense decoder (0: none).
        neighbours: sparse neighbours K per query.
        seed: seeds the per-window draws (a window is the same every epoch).
    """

    def __init__(self, trajectories: Sequence[ParticleTrajectory], radius: float, history: int = 5,
                 fraction: float = 1.0, num_queries: int = 0, neighbours: int = 8, seed: int = 0):
        self.trajectories = list(trajectories)
        self.radius, self.history, self.fraction = float(radius), int(history), float(fraction)
        self.num_queries, self.neighbours, self.seed = int(num_queries), int(neighbours), int(seed)
        counts = [max(0, t.num_frames - history - 1) for t in self.trajectories]
        if sum(counts) == 0:
            raise ValueError(f"no trajectory has more than history + 1 = {history + 1} frames")
        self._starts = np.concatenate([[0], np.cumsum(counts)])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int) -> ParticleWindow:
        if not 0 <= index < len(self):
            raise IndexError(f"window {index} out of range for {len(self)} windows")
        k = int(np.searchsorted(self._starts, index, side="right")) - 1
        t = self.history + int(index - self._starts[k])
        trajectory = self.trajectories[k]
        frames = np.asarray(trajectory.positions[t - self.history:t + 2], dtype=np.float32)  # (H + 2, N, d)
        rng = np.random.default_rng([self.seed, index])
        last = frames[-2]
        keep = sparse_subset(last, self.fraction, int(rng.integers(len(last))))
        sparse = frames[:, keep]
        window = ParticleWindow(pos_seq=torch.from_numpy(np.ascontiguousarray(sparse[:-1].transpose(1, 0, 2))),
                                target=torch.from_numpy(sparse[-1]),
                                particle_type=torch.as_tensor(trajectory.particle_type[keep], dtype=torch.long),
                                edge_index=torch.from_numpy(radius_graph(sparse[-2],
                                                                         sparse_radius(self.radius, self.fraction))),
                                num_nodes=len(keep))
        if self.num_queries:
            queries = rng.choice(last.shape[0], min(self.num_queries, last.shape[0]), replace=False)
            window.query_pos = torch.from_numpy(last[queries])
            window.query_disp = torch.from_numpy(frames[-1, queries] - last[queries])
            window.query_neighbours = torch.from_numpy(nearest_neighbours(sparse[-2], last[queries], self.neighbours))
        return window


def random_walk_noise(shape: torch.Size, noise_std: float, generator: torch.Generator) -> torch.Tensor:
    """GNS's input noise for positions (N, H + 1, d): the H velocities get independent
    N(0, noise_std^2 / H) increments accumulated along the history (a random walk whose last
    velocity has std noise_std), and the positions their running sum (the first position clean)."""
    n, frames, dim = shape
    steps = torch.randn((n, frames - 1, dim), generator=generator) * (noise_std / math.sqrt(frames - 1))
    velocity_noise = steps.cumsum(1)
    return torch.cat([torch.zeros(n, 1, dim), velocity_noise.cumsum(1)], 1)


class ParticleLoss:
    """GNS's loss for `GNS` and `GIOROM`: random-walk noise on the input positions, the next
    position shifted by the last position's noise (so the target velocity is the true one), MSE of
    the normalised acceleration; plus, for batches with dense queries, ``decoder_weight`` times the
    MSE of the model's dense decoder on the true displacement (in units of the velocity std).

    Call: ``loss(model, batch, generator) -> scalar`` (the `meshsim.train.train` signature).
    """

    def __init__(self, noise_std: float = 3e-4, decoder_weight: float = 1.0):
        self.noise_std, self.decoder_weight = noise_std, decoder_weight

    def __call__(self, model, batch: ParticleWindow, generator: torch.Generator) -> torch.Tensor:
        positions, target = batch.pos_seq, batch.target
        if self.noise_std > 0:
            noise = random_walk_noise(positions.shape, self.noise_std, generator).to(positions.dtype)
            positions, target = positions + noise, target + noise[:, -1]
        graph = getattr(batch, "batch", None)
        predicted = model(positions, batch.particle_type, batch.edge_index, graph)
        loss = torch.mean((predicted - model.features.normalised_acceleration(positions, target)) ** 2)
        if getattr(batch, "query_pos", None) is not None and self.decoder_weight:
            scale = decoder_scale(model)
            displacement = batch.target - batch.pos_seq[:, -1]
            decoded = model.decoder(batch.query_pos, batch.pos_seq[:, -1], displacement, batch.query_neighbours, scale)
            loss = loss + self.decoder_weight * torch.mean(((decoded - batch.query_disp) / scale) ** 2)
        return loss


def decoder_scale(model) -> torch.Tensor:
    """Scale of a frame's displacement for the dense decoder: the mean velocity std."""
    return model.features.vel_std.mean()
