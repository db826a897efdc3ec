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


def bundle_accumulated_errors(prediction: torch.Tensor, truth: torch.Tensor, time_window: int,
                              bundles: tuple[int, ...] = (7, 8)) -> dict[int, float]:
    """`accumulated_error` over the first k bundles (k tw frames) of rollouts (B, F, nx) that start
    at frame 2 tw, for each k in ``bundles``: ``{k: error}``.

    With 250 frames and tw = 25, 8 bundles are frames 50-249 (the sum in the MP-PDE code's
    evaluation loop) and 7 bundles frames 50-224 (the sum that matches the paper's table).
    """
    _check_shapes(prediction, truth)
    available = truth.shape[-2] // time_window
    if any(not 1 <= k <= available for k in bundles):
        raise ValueError(f"bundles {list(bundles)} must lie in 1..{available} ({truth.shape[-2]} frames of "
                         f"{time_window})")
    return {k: accumulated_error(prediction[..., :k * time_window, :], truth[..., :k * time_window, :])
            for k in bundles}
