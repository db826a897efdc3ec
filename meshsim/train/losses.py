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


#: how `MPPDELoss` reduces the squared errors of a batch
MPPDE_REDUCTIONS = ("mse", "sqrt_sum")


class MPPDELoss:
    """Temporal-bundling loss with the pushforward trick for `meshsim.nn.MPPDE`.

    For each graph of the batch a start frame s is drawn, and for the step one number of
    pushforward bundles k in ``0..max_unroll`` (0 for steps up to ``unroll_from_step``: the paper
    trains its first epoch without pushforward), all from ``generator``; the model is unrolled k
    bundles from the window before s without gradient, and trained on the next bundle. The time of
    frame s - 1 is ``(s - 1) dt``, with ``dt`` the model's.

    The batch is either a PyG batch of graphs (``u`` (N, T) the whole trajectories, ``pos``,
    ``params``, ``edge_index``, ``batch``), or, with ``grid`` (a `meshsim.train.mppde_grid.MPPDEGrid`
    shared by every trajectory), a `TrajectoryItem` batch ``(u (B, nx, T), params (B, P))``, the
    fast path: the batched graph is built once.

    ``reduction``: ``"mse"`` (mean squared error) or ``"sqrt_sum"`` (the square root of the summed
    squared error over the batch, the paper's training loss).

    Call: ``loss(model, batch, generator) -> scalar``; `meshsim.train.train` calls ``set_step``.
    """

    def __init__(self, max_unroll: int = 0, unroll_from_step: int = 0, reduction: str = "mse", grid=None):
        if reduction not in MPPDE_REDUCTIONS:
            raise ValueError(f"reduction must be one of {MPPDE_REDUCTIONS}, got {reduction!r}")
        self.max_unroll, self.unroll_from_step = max_unroll, unroll_from_step
        self.reduction, self.grid = reduction, grid
        self.step = None

    def set_step(self, step: int) -> None:
        """The number (1-based) of the training step about to run."""
        self.step = step

    def unroll_range(self) -> int:
        """The most pushforward bundles of the current step."""
        early = self.step is not None and self.step <= self.unroll_from_step
        return 0 if early else self.max_unroll

    def _inputs(self, batch):
        """(trajectories (N, T), pos, params, edges, graph (N,), edge_shift, num_graphs)."""
        if self.grid is None:
            trajectory = batch.u
            graph = getattr(batch, "batch", None)
            if graph is None:
                graph = torch.zeros(len(trajectory), dtype=torch.long, device=trajectory.device)
            return (trajectory, batch.pos, batch.params, batch.edge_index, graph,
                    getattr(batch, "edge_shift", None), int(graph.max()) + 1)
        u, params = batch
        num_graphs, nx, num_steps = u.shape
        grid = self.grid.batched(num_graphs)
        return u.reshape(num_graphs * nx, num_steps), grid.pos, params, grid.edges, grid.batch, grid.edge_shift, \
            num_graphs

    def __call__(self, model: nn.Module, batch, generator: torch.Generator) -> torch.Tensor:
        tw = model.time_window
        trajectory, pos, params, edges, graph, shift, num_graphs = self._inputs(batch)
        unroll = int(torch.randint(0, self.unroll_range() + 1, (1,), generator=generator))
        first, last = window_starts(trajectory.shape[1], tw, unroll)
        starts = torch.randint(first, last + 1, (num_graphs,), generator=generator).to(trajectory.device)
        node_starts = starts[graph]
        window = bundle(trajectory, node_starts - tw, tw)
        times = (starts.to(trajectory.dtype) - 1) * model.dt

        def step(state: torch.Tensor, k: int) -> torch.Tensor:
            return model(state, pos, times + k * tw * model.dt, params, edges, graph, shift)

        prediction = step(pushforward(step, window, unroll), unroll)
        target = bundle(trajectory, node_starts + unroll * tw, tw)
        if self.reduction == "mse":
            return masked_mse(prediction, target)
        return ((prediction - target) ** 2).sum().sqrt()
