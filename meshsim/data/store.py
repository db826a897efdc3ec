"""The on-disk store: HDF5 shards of many samples, checksums, and the dataset's meta.json.

Shard layout (schema version 3), samples concatenated along the node / cell / edge axis:

    attrs: schema_version, split, shard, first_index, num_requested,
           checksum_layout, checksums_digest (see `meshsim.data.checksums`)
    index (S,) int64              sample index within its split
    seed (S,) uint64              the sample's seed
    point_offsets, cell_offsets, edge_offsets (S+1,) int64
    points (P, dim) float64, cells (C, k) int64 (local node ids), node_type (P,) int64
    edge_index (2, E) int64       each sample's directed mesh edges (local node ids), sorted by
        target then source: `meshsim.graph.mesh_edge_index` of its cells, stored so that
        loading a graph skips the edge sort
    boundary/<name>/facets (F, k-1) int64, boundary/<name>/offsets (S+1,) int64
    fields/<name> (P, c) float64, or (P, T, c) for a time-dependent field of a trajectory
        (nodes first, so a sample is one contiguous slice)
    times (S, T) float64          trajectories only
    params/<name> (S, ...) float64
    failed/index (R,) int64, failed/seed (R,) uint64, failed/reason (R,) utf-8 bytes
    checksums (R,) uint64         xxh3-64 digests: one per sample of every array read per
        sample (points, cells, node_type, edge_index, boundary facets, steady fields), one per
        (sample, frame) of every time-dependent field, one per array read whole at opening
        (index, seed, offsets, times, params, failed/*)

Every read is checked against its digest, and schema-3 files are written in the HDF5 1.10
format (``libver="v110"``), whose superblock and object headers (dataset layouts, attributes
and links) carry HDF5's own metadata checksums; string attributes are fixed-length so that
they live in those headers. A flipped byte anywhere in a shard therefore raises `DatasetError`
naming the shard (and the sample and array when it is in a sample's data) instead of
returning wrong numbers. Measured on 5k-node poisson samples (about 1 MB each): xxh3 costs
tens of microseconds per sample read; HDF5's per-chunk Fletcher-32 filter (chunked datasets)
cost 0.9-1.3 ms more per sample than the 0.17 ms of a plain read, too much for the loader.

Schema version 2 is schema 3 without ``checksums`` and its attributes, in the HDF5 format of
version 1.8 (no metadata checksums); schema 1 is schema 2 without ``edge_offsets`` and
``edge_index`` (edges are computed from the cells when a sample is read). Both are still read;
`meshsim.data.MeshDataset` checks such a shard's sha256 against meta.json once per process
when it first opens it.

New kinds of samples (e.g. particle clouds without cells) add datasets to this layout; each
array read per sample must get a digest in `_write_samples` and a check in `ShardReader`.
Files are written with ``track_times=False`` so the same samples give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from ..graph.mesh_edges import mesh_edge_index
from .checksums import ChecksumWriter
from .errors import DatasetError
from .sample import Sample

#: schema version of the shards written; `READABLE_SCHEMAS` lists those read
SCHEMA_VERSION = 3
READABLE_SCHEMAS = (1, 2, 3)
META_NAME = "meta.json"
#: HDF5 file format (low, high) by schema version: 1.10 for its metadata checksums
LIBVER = {1: ("earliest", "v110"), 2: ("earliest", "v110"), 3: ("v110", "v110")}


def shard_name(shard: int) -> str:
    """File name of shard number ``shard``: ``shard-00012.h5``."""
    return f"shard-{shard:05d}.h5"


@dataclass(frozen=True)
class Failure:
    """A sample that was not written: its index in the split, its seed and why."""

    index: int
    seed: int
    reason: str


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _offsets(lengths: Sequence[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)


def _edges(sample: Sample) -> np.ndarray:
    return mesh_edge_index(sample.cells, sample.num_nodes) if sample.edge_index is None else sample.edge_index


class _Writer:
    """Creates the datasets of one shard and records their digests (schema 3)."""

    def __init__(self, f: h5py.File, sums: ChecksumWriter | None):
        self.f, self.sums = f, sums

    def put(self, name: str, data, parts: Sequence[np.ndarray] | None = None, frames: bool = False) -> None:
        """Dataset ``name``; with ``parts`` (each sample's slice) its digests are per sample
        (per frame of each (T, N, c) part with ``frames``), otherwise of the whole array."""
        data = np.asarray(data)
        self.f.create_dataset(name, data=data, track_times=False)
        if self.sums is None:
            return
        if parts is None:
            self.sums.whole(name, data)
        elif frames:
            self.sums.per_frame(name, parts)
        else:
            self.sums.per_sample(name, parts)


def _write_samples(w: _Writer, samples: Sequence[Sample], schema_version: int) -> None:
    w.put("point_offsets", _offsets([s.num_nodes for s in samples]))
    w.put("cell_offsets", _offsets([len(s.cells) for s in samples]))
    edges = [_edges(s) for s in samples] if schema_version >= 2 else None
    if edges is not None:
        w.put("edge_offsets", _offsets([e.shape[1] for e in edges]))
    if not samples:
        return
    for name in ("points", "cells", "node_type"):
        parts = [getattr(s, name) for s in samples]
        w.put(name, np.concatenate(parts), parts)
    if edges is not None:
        w.put("edge_index", np.concatenate(edges, axis=1), edges)
    k = samples[0].cells.shape[1]
    for name in sorted({n for s in samples for n in s.boundary}):
        facets = [s.boundary.get(name, np.zeros((0, k - 1), np.int64)) for s in samples]
        w.put(f"boundary/{name}/facets", np.concatenate(facets), facets)
        w.put(f"boundary/{name}/offsets", _offsets([len(x) for x in facets]))
    for name in samples[0].fields:
        parts = [s.fields[name] for s in samples]
        if parts[0].ndim == 3:  # trajectories (T, N, c) are stored nodes first, (N, T, c)
            w.put(f"fields/{name}", np.concatenate([np.moveaxis(p, 0, 1) for p in parts]), parts, frames=True)
        else:
            w.put(f"fields/{name}", np.concatenate(parts), parts)
    if samples[0].is_trajectory:
        w.put("times", np.stack([s.times for s in samples]))
    for name in samples[0].params:
        w.put(f"params/{name}", np.stack([s.params[name] for s in samples]))


def _check_consistent(samples: Sequence[Sample]) -> None:
    """All samples of a shard have the same field names, channels and parameter names."""
    if not samples:
        return
    first = samples[0]
    key = lambda s: ({n: (v.shape[-1], v.ndim) for n, v in s.fields.items()},  # noqa: E731
                     {n: v.shape for n, v in s.params.items()}, None if s.times is None else len(s.times),
                     s.points.shape[1], s.cells.shape[1])
    for s in samples[1:]:
        if key(s) != key(first):
            raise DatasetError(f"samples of one shard differ in fields/params: {key(first)} vs {key(s)}")


def write_shard(path: Path, *, split: str, shard: int, first_index: int, num_requested: int,
                samples: Sequence[Sample], indices: Sequence[int], seeds: Sequence[int],
                failures: Sequence[Failure], schema_version: int = SCHEMA_VERSION) -> str:
    """Write a complete shard atomically: to a temporary file in the same folder, flushed to disk,
    then renamed to ``path``. Returns the file's sha256.

    ``samples[i]`` has index ``indices[i]`` in ``split`` and seed ``seeds[i]``. A sample's edges
    are its ``edge_index``, or computed from its cells when that is None. ``schema_version`` 1
    or 2 writes a previous layout (for compatibility tests and older readers).
    """
    path = Path(path)
    if schema_version not in READABLE_SCHEMAS:
        raise DatasetError(f"cannot write schema version {schema_version}; versions: {READABLE_SCHEMAS}")
    _check_consistent(samples)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    text = np.bytes_ if schema_version >= 3 else str  # fixed-length: kept in the checksummed header
    try:
        with h5py.File(tmp, "w", libver=LIBVER[schema_version]) as f:
            f.attrs["schema_version"] = schema_version
            f.attrs["split"] = text(split)
            f.attrs["shard"] = shard
            f.attrs["first_index"] = first_index
            f.attrs["num_requested"] = num_requested
            sums = ChecksumWriter() if schema_version >= 3 else None
            w = _Writer(f, sums)
            w.put("index", np.asarray(indices, dtype=np.int64))
            w.put("seed", np.asarray(seeds, dtype=np.uint64))
            _write_samples(w, samples, schema_version)
            w.put("failed/index", np.asarray([x.index for x in failures], dtype=np.int64))
            w.put("failed/seed", np.asarray([x.seed for x in failures], dtype=np.uint64))
            reasons = [x.reason.encode("utf-8") for x in failures]
            w.put("failed/reason", np.asarray(reasons, dtype=f"S{max([1, *map(len, reasons)])}"))
            if sums is not None:
                sums.write(f)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        checksum = sha256_file(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return checksum


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as sorted, indented JSON via a temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def read_meta(folder: Path) -> dict:
    """The dataset's meta.json; `DatasetError` if the folder has none or it is not valid JSON."""
    path = Path(folder) / META_NAME
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no meta.json; is {folder} a meshsim dataset?") from None
    except NotADirectoryError:
        raise DatasetError(f"{folder}: not a folder; a dataset is a folder with meta.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not valid JSON ({error})") from None


def __getattr__(name: str):
    if name == "ShardReader":  # it lives in shard_reader.py, which imports this module
        from .shard_reader import ShardReader

        return ShardReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
