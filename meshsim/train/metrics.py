"""Error metrics of one-step predictions and rollouts (MeshGraphNets' RMSEs, MP-PDE's accumulated error)."""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn
from torch_geometric.data import Data


def _check_shapes(prediction: torch.Tensor, truth: torch.Tensor) -> None:
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} and truth {tuple(truth.shape)} differ in shape")


def rmse(prediction: torch.Tensor, truth: torch.Tensor) -> float:
    """Root mean squared error over all entries."""
    _check_shapes(prediction, truth)
    return float(((prediction - truth) ** 2).mean().sqrt())


def rmse_per_step(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """(T,) RMSE of each step of trajectories (T, N, ...)."""
    _check_shapes(prediction, truth)
    return ((prediction - truth) ** 2).reshape(len(truth), -1).mean(1).sqrt()


def rollout_rmse(prediction: torch.Tensor, truth: torch.Tensor, horizon: int | None = None) -> float:
    """RMSE over the first ``horizon`` steps of a rollout (T, N, ...) (all steps if None).

    MeshGraphNets' "rollout-50 RMSE" is ``horizon=50``; its full-trajectory RMSE ``horizon=None``.
    """
    _check_shapes(prediction, truth)
    if horizon is not None and not 1 <= horizon <= len(truth):
        raise ValueError(f"horizon {horizon} is outside 1..{len(truth)}")
    return rmse(prediction[:horizon], truth[:horizon])


def one_step_rmse(model: nn.Module, graphs: Iterable[Data]) -> float:
    """RMSE of single steps from true states: ``model.advance(g).x`` against the first columns of
    ``g.y`` (the true next state), over all nodes of all graphs. Eval mode, no gradients."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for graph in graphs:
            predicted = model.advance(graph).x
            truth = graph.y[..., :predicted.shape[-1]]
            _check_shapes(predicted, truth)
            total += float(((predicted - truth) ** 2).sum())
            count += predicted.numel()
    model.train(was_training)
    if count == 0:
        raise ValueError("no graphs given")
    return (total / count) ** 0.5


def accumulated_error(prediction: torch.Tensor, truth: torch.Tensor) -> float:
    r"""MP-PDE's accumulated error of 1D trajectories (B, T, nx) or (T, nx):

    .. math:: \frac{1}{B} \sum_b \sum_t \frac{1}{n_x} \sum_x (\hat u_{b,t,x} - u_{b,t,x})^2

    over the predicted frames only (pass the frames after the 2 tw given steps).
    """
    _check_shapes(prediction, truth)
    if prediction.dim() == 2:
        prediction, truth = prediction[None], truth[None]
    if prediction.dim() != 3:
        raise ValueError(f"expected (B, T, nx) or (T, nx), got {tuple(truth.shape)}")
    nx = truth.shape[-1]
    return float(((prediction - truth) ** 2).sum((1, 2)).mean() / nx)
