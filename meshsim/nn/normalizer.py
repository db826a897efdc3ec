"""`Normalizer`: running mean and standard deviation of features, accumulated online while training."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class Normalizer(nn.Module):
    r"""Feature-wise standardisation :math:`(x - \mu) / \sigma` with statistics learned from the data.

    In training mode every call adds the batch to running sums (float64) until
    ``max_accumulations`` batches have been seen (MeshGraphNets caps at 1e6); afterwards, and in
    eval mode, the statistics are frozen. :math:`\sigma` is floored at ``std_epsilon``. Before any
    accumulation the normaliser is the identity. Under ``torch.distributed`` the batch sums are
    all-reduced, so every process holds the statistics of the global batch.

    The statistics are buffers: they travel in ``state_dict`` and checkpoints.

    Args:
        size: number of features F (the last axis of the input).
        max_accumulations: number of batches after which accumulation stops.
        std_epsilon: lower bound of :math:`\sigma`.

    Shapes: ``forward(x (..., F)) -> (..., F)``; ``inverse`` the same.
    """

    def __init__(self, size: int, max_accumulations: int = 10**6, std_epsilon: float = 1e-8):
        super().__init__()
        self.size = size
        self.max_accumulations = max_accumulations
        self.std_epsilon = std_epsilon
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("num_accumulations", torch.zeros((), dtype=torch.long))
        self.register_buffer("sum", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("sum_squared", torch.zeros(size, dtype=torch.float64))

    @property
    def mean(self) -> torch.Tensor:
        """(F,) float64 running mean (zeros before any data)."""
        return self.sum / self.count.clamp(min=1.0)

    @property
    def std(self) -> torch.Tensor:
        """(F,) float64 running standard deviation, floored at ``std_epsilon`` (ones before any data)."""
        if self.count == 0:
            return torch.ones_like(self.sum)
        variance = (self.sum_squared / self.count - self.mean ** 2).clamp(min=0.0)
        return variance.sqrt().clamp(min=self.std_epsilon)

    @torch.no_grad()
    def accumulate(self, x: torch.Tensor) -> None:
        """Add the rows of ``x (..., F)`` to the running statistics (all-reduced when distributed)."""
        if x.shape[-1] != self.size:
            raise ValueError(f"Normalizer of size {self.size} got features of size {x.shape[-1]}")
        flat = x.detach().reshape(-1, self.size).to(torch.float64)
        stats = torch.cat([torch.tensor([float(len(flat))], dtype=torch.float64, device=flat.device),
                           flat.sum(0), (flat ** 2).sum(0)])
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(stats)
        self.count += stats[0]
        self.sum += stats[1:1 + self.size]
        self.sum_squared += stats[1 + self.size:]
        self.num_accumulations += 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and int(self.num_accumulations) < self.max_accumulations:
            self.accumulate(x)
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Undo the standardisation: ``y * std + mean``."""
        return y * self.std.to(y.dtype) + self.mean.to(y.dtype)

    def extra_repr(self) -> str:
        return f"size={self.size}, max_accumulations={self.max_accumulations}"
