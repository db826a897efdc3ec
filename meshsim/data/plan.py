"""Splitting a recipe into shard tasks, and the per-sample seeds.

Each sample's seed is derived from (recipe seed, split, index) with numpy's `SeedSequence`, so a
sample does not depend on which worker makes it, on the shard size, or on the number of samples:
a larger dataset of the same recipe and seed extends a smaller one. Splits use different spawn
keys, so their seeds are disjoint.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store import shard_name

#: the splits a recipe may have, in shard order; the position is the split's spawn key
SPLITS = ("train", "valid", "test")


def sample_seed(base_seed: int, split: str, index: int) -> int:
    """64-bit seed of sample ``index`` of ``split``; ``np.random.default_rng(seed)`` reproduces it."""
    sequence = np.random.SeedSequence(base_seed, spawn_key=(SPLITS.index(split), index))
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


@dataclass(frozen=True)
class ShardTask:
    """One unit of work: make samples ``first_index .. first_index + count - 1`` of ``split`` and
    write them as shard number ``shard``."""

    split: str
    shard: int
    first_index: int
    count: int

    @property
    def file_name(self) -> str:
        return shard_name(self.shard)

    @property
    def indices(self) -> range:
        return range(self.first_index, self.first_index + self.count)


def plan_shards(splits: dict[str, int], samples_per_shard: int) -> list[ShardTask]:
    """Shard tasks for the split sizes, numbered consecutively through train, valid, test."""
    tasks = []
    for split in SPLITS:
        total = splits.get(split, 0)
        for first in range(0, total, samples_per_shard):
            tasks.append(ShardTask(split, len(tasks), first, min(samples_per_shard, total - first)))
    return tasks
