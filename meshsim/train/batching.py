"""Which samples each training step sees: a function of (seed, step, rank) alone, so runs resume exactly."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch


def seed_for(*keys: int) -> int:
    """A 63-bit seed drawn from the integers ``keys`` (numpy's SeedSequence: well mixed, deterministic)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` for the random choices (noise, unroll length) of one step of one process."""
    return torch.Generator().manual_seed(seed_for(seed, 1, step, rank))


class StepBatchSampler(torch.utils.data.Sampler):
    """Sample indices of the per-process batches of steps ``start_step .. start_step + num_steps - 1``.

    Each epoch is a random permutation of ``range(num_samples)`` seeded by (seed, epoch), cut into
    global batches of ``batch_size * world_size`` samples (the incomplete tail is dropped); the
    process of rank r takes the r-th slice of ``batch_size`` samples of each global batch. So the
    union of the processes' batches at a step is the batch a single process with
    ``batch_size * world_size`` would see, and the batch of a step does not depend on where the
    run was resumed.

    Yields: lists of ``batch_size`` sample indices (for a DataLoader's ``batch_sampler``).
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int, start_step: int, num_steps: int,
                 rank: int = 0, world_size: int = 1):
        self.global_batch = batch_size * world_size
        if num_samples < self.global_batch:
            raise ValueError(f"{num_samples} samples are fewer than one global batch of {self.global_batch} "
                             f"({batch_size} per process x {world_size} processes)")
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.start_step, self.num_steps, self.rank = start_step, num_steps, rank
        self.batches_per_epoch = num_samples // self.global_batch

    def _permutation(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed_for(self.seed, 0, epoch))
        return torch.randperm(self.num_samples, generator=generator)

    def __len__(self) -> int:
        return self.num_steps

    def __iter__(self) -> Iterator[list[int]]:
        epoch, permutation = -1, None
        for step in range(self.start_step, self.start_step + self.num_steps):
            step_epoch, position = divmod(step, self.batches_per_epoch)
            if step_epoch != epoch:
                epoch, permutation = step_epoch, self._permutation(step_epoch)
            first = position * self.global_batch + self.rank * self.batch_size
            yield permutation[first:first + self.batch_size].tolist()
