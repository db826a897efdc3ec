"""Data-parallel training across processes: torch.distributed set-up and the DDP-wrapped loss."""
from __future__ import annotations

import os
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

LossFunction = Callable[[nn.Module, object, torch.Generator], torch.Tensor]


def distributed_context() -> tuple[int, int]:
    """(rank, world_size) of this process: (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_environment(backend: str | None = None) -> tuple[int, int]:
    """Join the process group described by torchrun's environment (``WORLD_SIZE``, ``RANK``,
    ``MASTER_ADDR``, ...) when ``WORLD_SIZE`` > 1; do nothing otherwise.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default nccl when CUDA is available, else gloo.

    Returns: (rank, world_size).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
    return distributed_context()


class LossModule(nn.Module):
    """``forward(batch, generator) = loss_fn(model, batch, generator)``: puts the whole loss inside
    one module call, which is what DistributedDataParallel synchronises gradients around."""

    def __init__(self, model: nn.Module, loss_fn: LossFunction):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch, generator: torch.Generator) -> torch.Tensor:
        return self.loss_fn(self.model, batch, generator)


def wrap_loss(model: nn.Module, loss_fn: LossFunction) -> nn.Module:
    """`LossModule` of ``model`` and ``loss_fn``, inside DistributedDataParallel when this process
    is one of several (gradients then average over processes at ``backward``)."""
    module = LossModule(model, loss_fn)
    _, world_size = distributed_context()
    if world_size == 1:
        return module
    device_ids = [torch.cuda.current_device()] if next(model.parameters()).is_cuda else None
    return DistributedDataParallel(module, device_ids=device_ids)


def global_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of a scalar over all processes (the value itself when not distributed)."""
    _, world_size = distributed_context()
    if world_size == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / world_size
