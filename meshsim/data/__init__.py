"""Datasets: recipes -> sharded HDF5 store -> lazy torch_geometric datasets.

    from meshsim.data import generate, open
    generate("darcy_square", "data/darcy", workers=2)
    train = open("data/darcy", split="train")      # lazy Dataset of graphs

`open`, `MeshDataset` and `open_dataset` import torch; they are loaded on first use so that
generation workers, which never need them, start without it.
"""
from .errors import DatasetError
from .plan import SPLITS, ShardTask, plan_shards, sample_seed
from .problems import PROBLEMS, Problem
from .recipes import Recipe, load_recipe, shipped_recipes
from .runner import generate, make_shard
from .sample import Sample
from .shard_reader import ShardReader
from .store import read_meta, sha256_file, write_shard
from .verify import verify
from .reservoir import Reservoir
from .streaming import DaskSimulators, SimulatorPool
from .online import OnlineFeed

_LAZY = {"open": "open_dataset", "open_dataset": "open_dataset", "MeshDataset": "MeshDataset",
         "Trajectory": "Trajectory"}
#: whole-batch loading (`meshsim.data.batches`), also loaded on first use (torch)
_LAZY_BATCHES = ("batch_loader", "read_batch", "BatchLoader", "BatchReader", "EpochBatches", "ShardBatches")

__all__ = [
    "DatasetError", "SPLITS", "ShardTask", "plan_shards", "sample_seed", "PROBLEMS", "Problem",
    "Recipe", "load_recipe", "shipped_recipes", "generate", "make_shard", "Sample",
    "ShardReader", "read_meta", "sha256_file", "write_shard", "verify",
    "open", "open_dataset", "MeshDataset", "Trajectory",
    "Reservoir", "SimulatorPool", "DaskSimulators", "OnlineFeed", *_LAZY_BATCHES,
]


def __getattr__(name: str):
    if name in _LAZY:
        from . import dataset

        return getattr(dataset, _LAZY[name])
    if name in _LAZY_BATCHES:
        from . import batches

        return getattr(batches, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
