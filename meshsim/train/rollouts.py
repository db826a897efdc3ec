"""`rollout`: run a model autoregressively from an initial graph."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data


def rollout(model: nn.Module, data: Data, steps: int) -> torch.Tensor:
    """States ``x`` after 1 .. ``steps`` applications of ``model.advance`` from ``data``.

    ``model.advance(data) -> Data`` is the model's own notion of one step (`MeshGraphNet`: one time
    step, prescribed nodes held; `MPPDE`: one bundle of tw steps, time advanced). Runs in eval mode
    without gradients (normalisers frozen) and restores the model's mode.

    Returns: (steps, *data.x.shape).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    was_training = model.training
    model.eval()
    states = []
    with torch.no_grad():
        for _ in range(steps):
            data = model.advance(data)
            states.append(data.x)
    model.train(was_training)
    return torch.stack(states)


def windows_to_frames(windows: torch.Tensor) -> torch.Tensor:
    """Bundled states (steps, N, tw) as consecutive frames (steps * tw, N)."""
    steps, num_nodes, time_window = windows.shape
    return windows.permute(0, 2, 1).reshape(steps * time_window, num_nodes)


@dataclass
class RolloutResult:
    """A rollout of one trajectory against the truth: ``prediction`` and ``truth`` (S, N, F) or
    (S, N) over the S predicted frames, the ``graph`` it started from (``pos``, and ``face`` for a
    mesh) and the predicted frames' ``times`` (S,) or None."""

    prediction: torch.Tensor
    truth: torch.Tensor
    graph: Data
    times: np.ndarray | None
