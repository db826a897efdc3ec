"""The on-disk store: HDF5 shards of many samples, checksums, and the dataset's meta.json.

Shard layout (schema version 2), samples concatenated along the node / cell / edge axis:

    attrs: schema_version, split, shard, first_index, num_requested
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

Schema version 1 is the same without ``edge_offsets`` and ``edge_index``; such shards are still
read (their edges are computed from the cells when a sample is read).

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
from .errors import DatasetError
from .sample import Sample

#: schema version of the shards written; `READABLE_SCHEMAS` lists those read
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
META_NAME = "meta.json"
_REQUIRED = ("index", "seed", "failed/index", "failed/seed", "failed/reason")


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


def _put(group: h5py.Group, name: str, data) -> None:
    group.create_dataset(name, data=data, track_times=False)


def _edges(sample: Sample) -> np.ndarray:
    return mesh_edge_index(sample.cells, sample.num_nodes) if sample.edge_index is None else sample.edge_index


def _write_samples(f: h5py.File, samples: Sequence[Sample], schema_version: int) -> None:
    _put(f, "point_offsets", _offsets([s.num_nodes for s in samples]))
    _put(f, "cell_offsets", _offsets([len(s.cells) for s in samples]))
    edges = [_edges(s) for s in samples] if schema_version >= 2 else None
    if edges is not None:
        _put(f, "edge_offsets", _offsets([e.shape[1] for e in edges]))
    if not samples:
        return
    _put(f, "points", np.concatenate([s.points for s in samples]))
    _put(f, "cells", np.concatenate([s.cells for s in samples]))
    _put(f, "node_type", np.concatenate([s.node_type for s in samples]))
    if edges is not None:
        _put(f, "edge_index", np.concatenate(edges, axis=1))
    k = samples[0].cells.shape[1]
    for name in sorted({n for s in samples for n in s.boundary}):
        facets = [s.boundary.get(name, np.zeros((0, k - 1), np.int64)) for s in samples]
        group = f.create_group(f"boundary/{name}")
        _put(group, "facets", np.concatenate(facets))
        _put(group, "offsets", _offsets([len(x) for x in facets]))
    for name in samples[0].fields:
        # trajectories (T, N, c) are stored nodes first, (N, T, c)
        parts = [np.moveaxis(s.fields[name], 0, 1) if s.fields[name].ndim == 3 else s.fields[name] for s in samples]
        _put(f, f"fields/{name}", np.concatenate(parts))
    if samples[0].is_trajectory:
        _put(f, "times", np.stack([s.times for s in samples]))
    for name in samples[0].params:
        _put(f, f"params/{name}", np.stack([s.params[name] for s in samples]))


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
    writes the previous layout, without edges (for compatibility tests and older readers).
    """
    path = Path(path)
    if schema_version not in READABLE_SCHEMAS:
        raise DatasetError(f"cannot write schema version {schema_version}; versions: {READABLE_SCHEMAS}")
    _check_consistent(samples)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w", libver=("earliest", "v110")) as f:
            f.attrs["schema_version"] = schema_version
            f.attrs["split"] = split
            f.attrs["shard"] = shard
            f.attrs["first_index"] = first_index
            f.attrs["num_requested"] = num_requested
            _put(f, "index", np.asarray(indices, dtype=np.int64))
            _put(f, "seed", np.asarray(seeds, dtype=np.uint64))
            _write_samples(f, samples, schema_version)
            _put(f, "failed/index", np.asarray([x.index for x in failures], dtype=np.int64))
            _put(f, "failed/seed", np.asarray([x.seed for x in failures], dtype=np.uint64))
            reasons = [x.reason.encode("utf-8") for x in failures]
            _put(f, "failed/reason", np.asarray(reasons, dtype=f"S{max([1, *map(len, reasons)])}"))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        checksum = sha256_file(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return checksum


class ShardReader:
    """Read-only access to one shard; samples are read one at a time (slices of the datasets).

    Opening checks the schema; a missing, truncated or corrupted file raises `DatasetError`
    naming it.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, ValueError) as error:
            raise DatasetError(f"{self.path}: cannot open shard ({error})") from None
        self._guard(self._check_schema)
        f = self._file
        self.split = str(f.attrs["split"])
        self.shard = int(f.attrs["shard"])
        self.first_index = int(f.attrs["first_index"])
        self.num_requested = int(f.attrs["num_requested"])
        self.schema_version = int(f.attrs["schema_version"])
        self.indices = self._guard(lambda: f["index"][()])
        self.seeds = self._guard(lambda: f["seed"][()])
        self._point_offsets = self._guard(lambda: f["point_offsets"][()])
        self._cell_offsets = self._guard(lambda: f["cell_offsets"][()])
        #: (S+1,) offsets into edge_index, None for a schema-1 shard (edges computed when read)
        self._edge_offsets = self._guard(lambda: f["edge_offsets"][()]) if "edge_offsets" in f else None
        self._boundary_offsets = {name: self._guard(lambda g=g: g["offsets"][()])
                                  for name, g in f.get("boundary", {}).items()}
        #: every dataset of the file by path, looked up once (a lookup costs as much as a small read)
        self._data: dict[str, h5py.Dataset] = {}
        self._guard(lambda: f.visititems(self._remember_dataset))
        self.field_names = sorted(f.get("fields", {}))
        #: name -> whether the field has a time axis (h5py's ndim costs microseconds a call)
        self._timed = {name: self._data[f"fields/{name}"].ndim == 3 for name in self.field_names}
        #: name -> (S, ...) parameters and (S, T) frame times (None for steady samples), read at open
        self.params = {name: self._guard(lambda d=d: d[()]) for name, d in f.get("params", {}).items()}
        self.times = self._guard(lambda: f["times"][()]) if "times" in f else None

    def _remember_dataset(self, name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            self._data[name] = obj

    def _guard(self, read):
        """Run ``read``; HDF5 errors from a damaged file become `DatasetError` naming it."""
        try:
            return read()
        except DatasetError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise DatasetError(f"{self.path}: corrupted shard ({error})") from None

    def _check_schema(self) -> None:
        f = self._file
        version = f.attrs.get("schema_version")
        if version not in READABLE_SCHEMAS:
            raise DatasetError(f"{self.path}: schema version {version}, this meshsim reads versions "
                               f"{', '.join(map(str, READABLE_SCHEMAS))}")
        offsets = ["point_offsets", "cell_offsets"] + (["edge_offsets"] if version >= 2 else [])
        missing = [name for name in (*_REQUIRED, *offsets) if name not in f]
        if missing:
            raise DatasetError(f"{self.path}: not a meshsim shard, missing {missing}")
        count = len(f["index"])
        if len(f["seed"]) != count or any(len(f[name]) != count + 1 for name in offsets):
            raise DatasetError(f"{self.path}: index, seed and offsets disagree on the sample count")
        if count:
            for name in ("points", "cells", "node_type") + (("edge_index",) if version >= 2 else ()):
                if name not in f:
                    raise DatasetError(f"{self.path}: not a meshsim shard, missing {name!r}")
            if version >= 2 and f["edge_index"].shape != (2, int(f["edge_offsets"][-1])):
                raise DatasetError(f"{self.path}: edge_index of shape {f['edge_index'].shape} does not "
                                   f"match the edge offsets")
            nodes, cells = int(f["point_offsets"][-1]), int(f["cell_offsets"][-1])
            wrong = [name for name, n in [("points", nodes), ("node_type", nodes), ("cells", cells)]
                     + [(f"fields/{k}", nodes) for k in f.get("fields", {})] if len(f[name]) != n]
            if wrong:
                raise DatasetError(f"{self.path}: datasets {wrong} do not match the offsets")

    def __len__(self) -> int:
        return len(self.indices)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def is_trajectory(self) -> bool:
        return self.times is not None

    @property
    def node_counts(self) -> np.ndarray:
        """(S,) number of nodes of each sample."""
        return np.diff(self._point_offsets)

    @property
    def failures(self) -> list[Failure]:
        f = self._file
        return self._guard(lambda: [Failure(int(i), int(s), r.decode("utf-8")) for i, s, r in
                                    zip(f["failed/index"][()], f["failed/seed"][()], f["failed/reason"][()])])

    def field(self, name: str) -> np.ndarray:
        """The whole concatenated field (P, c) or (P, T, c) of this shard."""
        return self._guard(lambda: self._file[f"fields/{name}"][()])

    def sample(self, i: int, fields: Sequence[str] | None = None, frames: slice | None = None) -> Sample:
        """Sample ``i`` of this shard (0 <= i < len), with all fields or only ``fields``; for
        trajectories, only the time ``frames`` (a slice) when given."""
        if not 0 <= i < len(self):
            raise IndexError(f"{self.path}: sample {i} out of range [0, {len(self)})")
        return self._guard(lambda: self._read(i, self.field_names if fields is None else fields, frames))

    def _read(self, i: int, fields: Sequence[str], frames: slice | None) -> Sample:
        data = self._data
        a, b = self._point_offsets[i:i + 2]
        c, d = self._cell_offsets[i:i + 2]
        boundary = {}
        for name, offsets in self._boundary_offsets.items():
            lo, hi = offsets[i:i + 2]
            if hi > lo:
                boundary[name] = data[f"boundary/{name}/facets"][lo:hi]
        frames = slice(None) if frames is None else frames
        values = {}
        for name in fields:
            field = data[f"fields/{name}"]
            values[name] = np.moveaxis(field[a:b, frames], 1, 0) if self._timed[name] else field[a:b]
        cells = data["cells"][c:d]
        if self._edge_offsets is None:
            edge_index = mesh_edge_index(cells, b - a)
        else:
            e, g = self._edge_offsets[i:i + 2]
            edge_index = data["edge_index"][:, e:g]
        return Sample(points=data["points"][a:b], cells=cells, boundary=boundary,
                      node_type=data["node_type"][a:b], fields=values,
                      params={name: v[i] for name, v in self.params.items()},
                      times=None if self.times is None else self.times[i, frames], edge_index=edge_index)


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
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}: not valid JSON ({error})") from None
