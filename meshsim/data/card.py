"""The dataset card printed by ``meshsim inspect``, and PNGs of a few samples."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..mesh import Mesh
from .shard_reader import ShardReader


def _size_mb(folder: Path, meta: dict) -> float:
    return sum((folder / s["file"]).stat().st_size for s in meta["shards"] if (folder / s["file"]).exists()) / 1e6


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def card_text(folder: str | Path, meta: dict) -> str:
    """Multi-line card: what the dataset is, counts and sizes per split, failures, fields and
    their train statistics."""
    folder = Path(folder)
    recipe = meta["recipe"]
    nodes = meta["nodes_per_sample"]
    lines = [f"# {recipe['name']}  ({folder})", recipe.get("description", "").strip(),
             f"problem: {recipe['problem']} -- {meta.get('problem', '')}",
             f"seed {recipe['seed']}, {len(meta['shards'])} shards of up to {recipe['samples_per_shard']} samples, "
             f"{_size_mb(folder, meta):.1f} MB, meshsim {meta['meshsim_version']}, schema {meta['schema_version']}",
             "samples: " + ", ".join(f"{s} {meta['counts'][s]}/{meta['requested'][s]}" for s in meta["splits"])
             + f" (written/requested), {len(meta['failed'])} failed",
             f"mesh: {meta['dim']}D, {meta['nodes_per_cell']} nodes per cell, nodes per sample "
             f"{nodes['min']}-{nodes['max']} (mean {nodes['mean']:.0f})"]
    if meta["trajectory"]:
        lines.append(f"trajectories of {meta['num_steps']} frames")
    if "solver" in recipe["params"]:
        lines.append(f"linear solver: {recipe['params']['solver']}, relative residual "
                     f"{recipe['params']['solver_tol']:g} (samples of a shard solved in SKR order)")
    lines.append(f"inputs {meta['inputs']} -> targets {meta['targets']}; params {sorted(meta['params'])}")
    lines.append("field statistics over the train split (per channel):")
    for name, stats in meta["stats"].items():
        lines.append(f"  {name:18s} mean {_fmt(stats['mean'])} std {_fmt(stats['std'])} "
                     f"min {_fmt(stats['min'])} max {_fmt(stats['max'])}")
    for failure in meta["failed"][:5]:
        lines.append(f"failed: {failure['split']} #{failure['index']} seed {failure['seed']}: {failure['reason']}")
    if len(meta["failed"]) > 5:
        lines.append(f"... and {len(meta['failed']) - 5} more failures in meta.json")
    return "\n".join(line for line in lines if line)


def write_sample_pngs(folder: str | Path, meta: dict, out: str | Path, plot_mesh: Callable,
                      count: int = 3) -> list[Path]:
    """PNGs of the first target field of the first ``count`` train samples (last frame for
    trajectories; the first channel of vector fields), drawn with ``plot_mesh(mesh, field=,
    path=, title=)`` (e.g. `meshsim.viz.plot_mesh`). Returns the paths written."""
    folder, out = Path(folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = meta["targets"][0]
    written = []
    for record in [s for s in meta["shards"] if s["split"] == "train" and s["num_samples"]]:
        with ShardReader(folder / record["file"]) as reader:
            for i in range(len(reader)):
                if len(written) == count:
                    return written
                sample = reader.sample(i, fields=[name])
                value = sample.fields[name]
                value = value[-1] if value.ndim == 3 else value
                path = out / f"{meta['recipe']['name']}-{int(reader.indices[i]):05d}.png"
                mesh = Mesh(sample.points, sample.cells, sample.boundary, validate=False)
                plot_mesh(mesh, field=np.asarray(value[:, 0]), path=path,
                          title=f"{meta['recipe']['name']} train #{int(reader.indices[i])}: {name}")
                written.append(path)
    return written
