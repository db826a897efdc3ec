"""meta.json of a dataset: built from the recipe and the shard files alone, so a resumed
generation writes the same meta.json as an uninterrupted one."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import __version__
from .errors import DatasetError
from .plan import SPLITS, ShardTask
from .problems import PROBLEMS
from .recipes import Recipe
from .stats import field_statistics
from .shard_reader import ShardReader
from .store import SCHEMA_VERSION, sha256_file


def _schema(reader: ShardReader) -> dict:
    """Field / parameter shapes and mesh kind of a shard with at least one sample."""
    sample = reader.sample(0)
    fields = {}
    for name, value in sample.fields.items():
        shape = ["T", "N", int(value.shape[-1])] if value.ndim == 3 else ["N", int(value.shape[-1])]
        fields[name] = {"channels": int(value.shape[-1]), "shape": shape, "time_dependent": value.ndim == 3}
    return {"dim": int(sample.points.shape[1]), "nodes_per_cell": int(sample.cells.shape[1]),
            "trajectory": sample.is_trajectory,
            "num_steps": None if sample.times is None else int(len(sample.times)),
            "fields": fields, "params": {name: list(v.shape) for name, v in sample.params.items()}}


def build_meta(folder: Path, recipe: Recipe, tasks: list[ShardTask]) -> dict:
    """The complete meta.json dict of a dataset whose shards are all written in ``folder``."""
    folder = Path(folder)
    shards, failed, schema = [], [], None
    counts = {split: 0 for split in recipe.splits}
    nodes = []
    for task in tasks:
        path = folder / task.file_name
        with ShardReader(path) as reader:
            if (reader.split, reader.first_index, reader.num_requested) != (task.split, task.first_index, task.count):
                raise DatasetError(f"{path}: holds {reader.split} samples from {reader.first_index} "
                                   f"({reader.num_requested}), the recipe plans {task}")
            if schema is None and len(reader):
                schema = _schema(reader)
            counts[task.split] += len(reader)
            nodes.extend(reader.node_counts.tolist())
            failed.extend({"split": task.split, "index": f.index, "seed": f.seed, "reason": f.reason}
                          for f in reader.failures)
            shards.append({"file": task.file_name, "split": task.split, "first_index": task.first_index,
                           "num_requested": task.count, "num_samples": len(reader), "sha256": sha256_file(path)})
    if schema is None:
        raise DatasetError(f"{folder}: every sample failed; see the reasons in the shards' failed/ records")
    train = [ShardReader(folder / t.file_name) for t in tasks if t.split == "train"]
    try:
        stats = field_statistics(train, sorted(schema["fields"]))
    finally:
        for reader in train:
            reader.close()
    return {"complete": True, "schema_version": SCHEMA_VERSION, "meshsim_version": __version__,
            "recipe": recipe.to_dict(), "problem": PROBLEMS[recipe.problem].description,
            "inputs": list(PROBLEMS[recipe.problem].inputs), "targets": list(PROBLEMS[recipe.problem].targets),
            "counts": counts, "requested": dict(recipe.splits),
            "splits": [s for s in SPLITS if s in recipe.splits], **schema,
            "nodes_per_sample": {"min": int(min(nodes)), "mean": float(np.mean(nodes)), "max": int(max(nodes))},
            "stats": stats, "shards": shards, "failed": failed}
