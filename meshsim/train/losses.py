"""Losses and training tricks: masked MSE, noise injection, the pushforward trick, temporal bundling."""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn
from torch_geometric.data import Data


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over the rows where ``mask`` (N,) is True (all rows if None)."""
    error = (prediction - target) ** 2
    if mask is None:
        return error.mean()
    if not mask.any():
        raise ValueError("the loss mask selects no rows")
    return error[mask].mean()


def add_noise(x: torch.Tensor, std: float, generator: torch.Generator,
              mask: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` plus Gaussian noise of standard deviation ``std`` on the rows where ``mask`` is True.

    MeshGraphNets' training noise: the model sees a perturbed state and is trained to reach the
    true next state, so it learns to correct the errors a rollout accumulates.
    """
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device="cpu").to(x.device) * std
    if mask is not None:
        noise = noise * mask.reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype)
    return x + noise


class MeshGraphNetLoss:
    """Loss for `meshsim.nn.MeshGraphNet`: noise of ``noise_std`` on the non-prescribed nodes'
    input fields, then the model's masked loss against the true next state (``data.y``).

    Call: ``loss(model, batch, generator) -> scalar`` (the `meshsim.train.train` signature).
    """

    def __init__(self, noise_std: float = 0.0):
        self.noise_std = noise_std

    def __call__(self, model: nn.Module, batch: Data, generator: torch.Generator) -> torch.Tensor:
        if self.noise_std > 0:
            batch = copy.copy(batch)
            batch.x = add_noise(batch.x, self.noise_std, generator, model.loss_mask(batch))
        return model.loss(batch)


def pushforward(step: Callable[[torch.Tensor, int], torch.Tensor], state: torch.Tensor, unroll: int) -> torch.Tensor:
    """``state`` after ``step(state, k)`` for k = 0 .. unroll - 1, computed without gradient and detached.

    The pushforward trick (MP-PDE): training on the model's own unrolled input, but back-
    propagating only through the last step, makes the model robust to its input distribution
    shift at rollout time without the cost and instability of backpropagation through time.
    """
    with torch.no_grad():
        for k in range(unroll):
            state = step(state, k)
    return state.detach()


def window_starts(num_steps: int, time_window: int, unroll: int) -> tuple[int, int]:
    """Inclusive range (first, last) of start frames s for which the input window
    ``[s - tw, s)`` and, after ``unroll`` bundles, the target window ``[s + unroll tw, s + (unroll + 1) tw)``
    lie inside a trajectory of ``num_steps`` frames."""
    first, last = time_window, num_steps - (unroll + 1) * time_window
    if last < first:
        raise ValueError(f"a trajectory of {num_steps} steps is too short for time window {time_window} "
                         f"and {unroll} pushforward steps")
    return first, last


def bundle(trajectory: torch.Tensor, start: int | torch.Tensor, time_window: int) -> torch.Tensor:
    """The window of ``time_window`` frames from ``start`` of a trajectory (N, T): (N, tw).

    ``start`` may be a tensor (N,) of per-node starts (different graphs of a batch); frames
    ``start .. start + tw - 1`` are taken.
    """
    if isinstance(start, int):
        return trajectory[:, start:start + time_window]
    columns = start.reshape(-1, 1) + torch.arange(time_window, device=trajectory.device)
    return torch.gather(trajectory, 1, columns)


class MPPDELoss:
    """Temporal-bundling loss with the pushforward trick for `meshsim.nn.MPPDE`.

    For each graph of the batch (``u`` (N, T) the whole trajectory, ``pos``, ``params``,
    ``edge_index``, ``batch``) a number of pushforward bundles k in ``0..max_unroll`` (one per
    step) and a start frame s (one per graph) are drawn from ``generator``; the model is unrolled
    k bundles from the window before s without gradient, and trained by MSE on the next bundle.
    The time of frame s - 1 is ``(s - 1) dt``, with ``dt`` the model's.

    Call: ``loss(model, batch, generator) -> scalar``.
    """

    def __init__(self, max_unroll: int = 0):
        self.max_unroll = max_unroll

    def __call__(self, model: nn.Module, batch: Data, generator: torch.Generator) -> torch.Tensor:
        tw, trajectory = model.time_window, batch.u
        unroll = int(torch.randint(0, self.max_unroll + 1, (1,), generator=generator))
        first, last = window_starts(trajectory.shape[1], tw, unroll)
        graph = getattr(batch, "batch", None)
        graph = torch.zeros(len(trajectory), dtype=torch.long, device=trajectory.device) if graph is None else graph
        starts = torch.randint(first, last + 1, (int(graph.max()) + 1,), generator=generator).to(trajectory.device)
        node_starts = starts[graph]
        window = bundle(trajectory, node_starts - tw, tw)
        times = (starts.to(trajectory.dtype) - 1) * model.dt

        def step(state: torch.Tensor, k: int) -> torch.Tensor:
            return model(state, batch.pos, times + k * tw * model.dt, batch.params, batch.edge_index, graph)

        prediction = step(pushforward(step, window, unroll), unroll)
        return masked_mse(prediction, bundle(trajectory, node_starts + unroll * tw, tw))
