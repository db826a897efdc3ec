"""Rollouts of GNS (dense) and GIOROM (sparse stepping + dense decoding) and LagrangeBench's metrics."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..graph import nearest_neighbours, radius_graph
from .particle_data import decoder_scale, sparse_radius, sparse_subset


@dataclass
class ParticleRollout:
    """A rollout against the truth: ``prediction`` and ``truth`` (S, N, d) at the S predicted frames
    (dense particles), ``sparse`` the indices of the particles GIOROM stepped (all for GNS), and
    ``seconds_per_step`` (wall clock, graph building and dense decoding included)."""

    prediction: np.ndarray
    truth: np.ndarray
    sparse: np.ndarray
    seconds_per_step: float


def _window(positions: np.ndarray, history: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(positions[:history + 1].transpose(1, 0, 2), dtype=np.float32))


def _inside(model, positions: torch.Tensor) -> torch.Tensor:
    """Positions kept within one connectivity radius of the walls (a diverging model's particles
    stay finite and in the box; the truth never leaves it)."""
    bounds, margin = model.features.bounds, model.features.radius
    return torch.nan_to_num(positions).clamp(bounds[:, 0] - margin, bounds[:, 1] + margin)


def _step(model, window: torch.Tensor, particle_type: torch.Tensor, radius: float) -> torch.Tensor:
    edges = torch.from_numpy(radius_graph(window[:, -1].numpy(), radius))
    return _inside(model, model.next_position(window, particle_type, edges))


def gns_rollout(model, positions: np.ndarray, particle_type: np.ndarray, radius: float,
                steps: int | None = None) -> ParticleRollout:
    """Roll a GNS-like model (``next_position(window, type, edges)``) out from the first H + 1 frames
    of ``positions`` (T, N, d), rebuilding the radius graph every step; ``steps`` (default: to the
    last frame) frames are predicted."""
    history = model.features.history
    steps = positions.shape[0] - history - 1 if steps is None else steps
    window = _window(positions, history)
    types = torch.as_tensor(particle_type, dtype=torch.long)
    frames = []
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            nxt = _step(model, window, types, radius)
            window = torch.cat([window[:, 1:], nxt[:, None]], 1)
            frames.append(nxt)
    elapsed = time.perf_counter() - start
    model.train(was_training)
    truth = positions[history + 1:history + 1 + steps]
    return ParticleRollout(torch.stack(frames).numpy(), np.asarray(truth, dtype=np.float32),
                           np.arange(positions.shape[1]), elapsed / max(steps, 1))


def giorom_rollout(model, positions: np.ndarray, particle_type: np.ndarray, radius: float, fraction: float,
                   steps: int | None = None, neighbours: int = 8) -> ParticleRollout:
    """Roll GIOROM out on a farthest-point subset of ``fraction`` of the particles (chosen at the last
    input frame) and move every dense particle each step by the dense decoder's displacement,
    evaluated from the sparse particles' predicted displacement (K = ``neighbours`` nearest)."""
    history = model.features.history
    steps = positions.shape[0] - history - 1 if steps is None else steps
    keep = sparse_subset(np.asarray(positions[history]), fraction)
    window = _window(positions[:, keep], history)
    dense = torch.from_numpy(np.asarray(positions[history], dtype=np.float32))
    types = torch.as_tensor(particle_type[keep], dtype=torch.long)
    r = sparse_radius(radius, fraction)
    frames = []
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        scale = decoder_scale(model)
        for _ in range(steps):
            current = window[:, -1]
            nxt = _step(model, window, types, r)
            near = torch.from_numpy(nearest_neighbours(current.numpy(), dense.numpy(), neighbours))
            dense = _inside(model, dense + model.decoder(dense, current, nxt - current, near, scale))
            window = torch.cat([window[:, 1:], nxt[:, None]], 1)
            frames.append(dense)
    elapsed = time.perf_counter() - start
    model.train(was_training)
    truth = positions[history + 1:history + 1 + steps]
    return ParticleRollout(torch.stack(frames).numpy(), np.asarray(truth, dtype=np.float32), keep,
                           elapsed / max(steps, 1))


def rollout_mse(prediction: np.ndarray, truth: np.ndarray, horizons=(5, 20)) -> dict:
    """LagrangeBench's position MSE of one rollout (S, N, d): per step the mean over particles and
    coordinates; ``mse{n}`` the mean over the first n steps, ``mse_full`` over all S."""
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction {prediction.shape} and truth {truth.shape} differ in shape")
    per_step = ((np.asarray(prediction, np.float64) - truth) ** 2).reshape(len(truth), -1).mean(1)
    result = {f"mse{n}": float(per_step[:n].mean()) for n in horizons if n <= len(per_step)}
    result["mse_full"] = float(per_step.mean())
    return result


def mean_metrics(records: list[dict]) -> dict:
    """Mean of each metric over trajectories (LagrangeBench averages rollouts)."""
    keys = set.intersection(*(set(r) for r in records))
    return {k: float(np.mean([r[k] for r in records])) for k in sorted(keys)}
