"""`ShardReader`: read-only access to one shard of the store (layout: `meshsim.data.store`)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import h5py
import numpy as np

from ..graph.mesh_edges import mesh_edge_index
from .checksums import ChecksumMismatch, ChecksumTable
from .errors import DatasetError
from .raw_reads import RawSlices
from .sample import Sample
from .store import READABLE_SCHEMAS, Failure, sha256_file

#: the datasets sliced sample by sample (with fields/* and boundary/*/facets)
_PER_SAMPLE = ("points", "cells", "node_type", "edge_index")
_REQUIRED = ("index", "seed", "failed/index", "failed/seed", "failed/reason")
#: (path, size, mtime, inode) -> sha256 of the shards of schema < 3 checked by this process
_CHECKED_SHA256: dict[tuple, str] = {}


def _text(value) -> str:
    """A string attribute: variable-length (schema < 3, read as str) or fixed-length (bytes)."""
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _datasets(f: h5py.File) -> dict[str, h5py.Dataset]:
    """Every dataset of ``f`` by path (the low-level visit: half the time of ``visititems``, which
    builds an object for every group and dataset)."""
    names = []
    h5py.h5o.visit(f.id, lambda name, info: names.append(name) if info.type == h5py.h5o.TYPE_DATASET else None,
                   info=True)
    return {name.decode("utf-8"): h5py.Dataset(h5py.h5d.open(f.id, name)) for name in names}


class _LazyDatasets(Mapping):
    """The datasets of an open file by path, each opened when looked up (not kept)."""

    def __init__(self, f: h5py.File, names: Sequence[str]):
        self._file, self._names = f, frozenset(names)

    def __getitem__(self, name: str) -> h5py.Dataset:
        if name not in self._names:
            raise KeyError(name)
        return h5py.Dataset(h5py.h5d.open(self._file.id, name.encode("utf-8")))

    def __iter__(self):
        return iter(sorted(self._names))

    def __len__(self) -> int:
        return len(self._names)


def _check_sha256(path: Path, expected: str) -> None:
    """`DatasetError` unless the file's sha256 is ``expected``; each unchanged file is hashed once
    per process."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        actual = _CHECKED_SHA256.get(key) or sha256_file(path)
    except OSError as error:
        raise DatasetError(f"{path}: cannot open shard ({error})") from None
    if actual != expected:
        raise DatasetError(f"{path}: corrupted shard: sha256 {actual[:12]}... differs from meta.json's "
                           f"{expected[:12]}... (run `meshsim verify` on the folder)")
    _CHECKED_SHA256[key] = actual


class ShardReader:
    """Read-only access to one shard; samples are read one at a time (slices of the datasets).

    Opening checks the schema and the arrays read whole; each sample read is checked against
    its checksums (schema 3). A missing, truncated or corrupted file raises `DatasetError`
    naming it, and the sample and array where they are known.

    Args:
        path: the shard file.
        sha256: its sha256 from meta.json, to check the whole file against before opening it
            (for shards of schema 1 or 2, which hold no checksums); an unchanged file is hashed
            once per process.
    """

    def __init__(self, path: Path, sha256: str | None = None):
        self.path = Path(path)
        if sha256 is not None:  # before HDF5 parses the file: a damaged pre-1.10 header can crash it
            _check_sha256(self.path, sha256)
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, ValueError) as error:
            raise DatasetError(f"{self.path}: cannot open shard ({error})") from None
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def _open(self) -> None:
        f = self._file
        attrs = self._guard(lambda: dict(f.attrs))  # all attributes in one go (each lookup costs)
        version = attrs.get("schema_version")
        if not (np.isscalar(version) and version in READABLE_SCHEMAS):
            raise DatasetError(f"{self.path}: schema version {version}, this meshsim reads versions "
                               f"{', '.join(map(str, READABLE_SCHEMAS))}")
        self.schema_version = int(version)
        #: every dataset of the file by path while opening (each lookup costs as much as a small
        #: read); a `_LazyDatasets` after it
        self._data: Mapping[str, h5py.Dataset] = self._guard(lambda: _datasets(f))
        offsets = ["point_offsets", "cell_offsets"] + (["edge_offsets"] if version >= 2 else [])
        missing = [n for n in (*_REQUIRED, *offsets, *(["checksums"] if version >= 3 else [])) if n not in self._data]
        if missing:
            raise DatasetError(f"{self.path}: not a meshsim shard, missing {missing}")
        #: digests of the arrays (schema 3), None for older shards
        self._sums = self._guard(lambda: ChecksumTable(self._data["checksums"], attrs)) if version >= 3 else None
        self._guard(lambda: self._read_attributes(attrs))
        self.indices = self._whole("index")
        self.seeds = self._whole("seed")
        self._point_offsets = self._whole("point_offsets")
        self._cell_offsets = self._whole("cell_offsets")
        #: (S+1,) offsets into edge_index, None for a schema-1 shard (edges computed when read)
        self._edge_offsets = self._whole("edge_offsets") if version >= 2 else None
        self._check_counts()
        prefix = lambda group: sorted(n[len(group) + 1:] for n in self._data if n.startswith(group + "/"))  # noqa: E731
        self._boundary_offsets = {name[:-len("/offsets")]: self._whole(f"boundary/{name}")
                                  for name in prefix("boundary") if name.endswith("/offsets")}
        self.field_names = prefix("fields")
        #: name -> whether the field has a time axis (h5py's ndim costs microseconds a call)
        self._timed = {name: self._data[f"fields/{name}"].ndim == 3 for name in self.field_names}
        #: name -> (S, ...) parameters and (S, T) frame times (None for steady samples), read at open
        self.params = {name: self._whole(f"params/{name}") for name in prefix("params")}
        self.times = self._whole("times") if "times" in self._data else None
        #: the per-sample slices of the datasets, read as raw bytes where the layout allows
        self._slices = self._guard(lambda: RawSlices(f, {n: d for n, d in self._data.items() if n in _PER_SAMPLE
                                                         or n.startswith("fields/") or n.endswith("/facets")}))
        #: frames of each time-dependent field
        self._frames = {name: self._data[f"fields/{name}"].shape[1] for name in self.field_names if self._timed[name]}
        # from here on each dataset is opened when used: h5py objects held open in many files make
        # closing any file slow (h5py scans every open object: 11 ms a shard with 100 others open)
        self._data = _LazyDatasets(f, list(self._data))

    def _read_attributes(self, attrs: dict) -> None:
        self.split = _text(attrs["split"])
        self.shard = int(attrs["shard"])
        self.first_index = int(attrs["first_index"])
        self.num_requested = int(attrs["num_requested"])

    def _check_counts(self) -> None:
        """The sample count agrees across index, seed and offsets, and the datasets' lengths with
        the offsets."""
        count, data = len(self.indices), self._data
        offsets = [self._point_offsets, self._cell_offsets] + ([] if self._edge_offsets is None else [self._edge_offsets])
        if len(self.seeds) != count or any(len(o) != count + 1 for o in offsets):
            raise DatasetError(f"{self.path}: index, seed and offsets disagree on the sample count")
        if not count:
            return
        needed = ("points", "cells", "node_type") + (("edge_index",) if self._edge_offsets is not None else ())
        for name in needed:
            if name not in data:
                raise DatasetError(f"{self.path}: not a meshsim shard, missing {name!r}")
        if self._edge_offsets is not None and data["edge_index"].shape != (2, int(self._edge_offsets[-1])):
            raise DatasetError(f"{self.path}: edge_index of shape {data['edge_index'].shape} does not "
                               f"match the edge offsets")
        nodes, cells = int(self._point_offsets[-1]), int(self._cell_offsets[-1])
        wrong = [name for name, n in [("points", nodes), ("node_type", nodes), ("cells", cells)]
                 + [(k, nodes) for k in data if k.startswith("fields/")] if data[name].shape[0] != n]
        if wrong:
            raise DatasetError(f"{self.path}: datasets {wrong} do not match the offsets")

    def _guard(self, read):
        """Run ``read``; HDF5 errors and checksum mismatches become `DatasetError` naming the file."""
        try:
            return read()
        except DatasetError:
            raise
        except ChecksumMismatch as error:
            raise DatasetError(f"{self.path}: corrupted shard: {error.what} does not match its checksum") from None
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise DatasetError(f"{self.path}: corrupted shard ({error})") from None

    def _whole(self, name: str) -> np.ndarray:
        """Dataset ``name`` read whole and checked against its digest."""
        def read():
            values = self._data[name][()]
            if self._sums is not None:
                self._sums.check_whole(name, values)
            return values
        return self._guard(read)

    def __len__(self) -> int:
        return len(self.indices)

    def close(self) -> None:
        if hasattr(self, "_slices"):
            self._slices.close()
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
        index, seed, reason = (self._whole(f"failed/{name}") for name in ("index", "seed", "reason"))
        return [Failure(int(i), int(s), r.decode("utf-8")) for i, s, r in zip(index, seed, reason)]

    def _where(self, i: int) -> str:
        return f"{self.path}: sample {i} ({self.split} index {int(self.indices[i])})"

    def field(self, name: str) -> np.ndarray:
        """The whole concatenated field (P, c) or (P, T, c) of this shard, every sample checked."""
        values = self._guard(lambda: self._data[f"fields/{name}"][()])
        for i in range(len(self) if self._sums is not None else 0):
            a, b = self._point_offsets[i:i + 2]
            self._checked(i, lambda: self._check_field(name, i, values[a:b], range(values.shape[1])
                                                       if self._timed[name] else None))
        return values

    def sample(self, i: int, fields: Sequence[str] | None = None, frames: slice | None = None,
               views: bool = False) -> Sample:
        """Sample ``i`` of this shard (0 <= i < len), with all fields or only ``fields``; for
        trajectories, only the time ``frames`` (a slice) when given. With ``views``, its arrays
        are read-only views of the mapped file where the layout allows (no copy: for readers
        that copy them on at once, as `meshsim.data.read_batch`)."""
        if not 0 <= i < len(self):
            raise IndexError(f"{self.path}: sample {i} out of range [0, {len(self)})")
        return self._checked(i, lambda: self._read(i, self.field_names if fields is None else fields, frames, views))

    def _checked(self, i: int, read):
        """Run ``read`` of sample ``i``; errors name the shard and the sample."""
        try:
            return read()
        except ChecksumMismatch as error:
            raise DatasetError(f"{self._where(i)}: corrupted data: {error.what} does not match its checksum") from None
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise DatasetError(f"{self._where(i)}: corrupted shard ({error})") from None

    def _sample_array(self, name: str, i: int, lo: int, hi: int, views: bool = False) -> np.ndarray:
        """Sample i's part ``lo:hi`` of dataset ``name`` (of its columns for edge_index), checked."""
        values = (self._slices.columns(name, lo, hi, views) if name == "edge_index"
                  else self._slices.rows(name, lo, hi, views))
        if self._sums is not None:
            self._sums.check_sample(name, i, values)
        return values

    def _check_field(self, name: str, i: int, block: np.ndarray, frames: range | None) -> np.ndarray:
        """Check sample i's ``block`` of field ``name`` (N, c), or (N, F, c) for ``frames``;
        returns it as stored in a `Sample`: (N, c) or (F, N, c)."""
        if frames is None:
            if self._sums is not None:
                self._sums.check_sample(f"fields/{name}", i, block)
            return block
        if self._sums is None:
            return np.moveaxis(block, 1, 0)
        frames_first = np.ascontiguousarray(block.transpose(1, 0, 2))
        self._sums.check_frames(f"fields/{name}", i, frames, frames_first)
        return frames_first

    def _read(self, i: int, fields: Sequence[str], frames: slice | None, views: bool = False) -> Sample:
        a, b = self._point_offsets[i:i + 2]
        c, d = self._cell_offsets[i:i + 2]
        boundary = {}
        for name, offsets in self._boundary_offsets.items():
            lo, hi = offsets[i:i + 2]
            if hi > lo:
                boundary[name] = self._sample_array(f"boundary/{name}/facets", i, lo, hi, views)
        frames = slice(None) if frames is None else frames
        values = {}
        for name in fields:
            key = f"fields/{name}"
            if self._timed[name]:
                block = (self._slices.rows(key, a, b, views) if frames == slice(None)  # a window: h5py reads only it
                         else self._data[key][a:b, frames])
                values[name] = self._check_field(name, i, block, range(self._frames[name])[frames])
            else:
                values[name] = self._check_field(name, i, self._slices.rows(key, a, b, views), None)
        cells = self._sample_array("cells", i, c, d, views)
        if self._edge_offsets is None:
            edge_index = mesh_edge_index(cells, b - a)
        else:
            e, g = self._edge_offsets[i:i + 2]
            edge_index = self._sample_array("edge_index", i, e, g, views)
        return Sample(points=self._sample_array("points", i, a, b, views), cells=cells, boundary=boundary,
                      node_type=self._sample_array("node_type", i, a, b, views), fields=values,
                      params={name: v[i] for name, v in self.params.items()},
                      times=None if self.times is None else self.times[i, frames], edge_index=edge_index)

    def samples(self, first: int, stop: int, fields: Sequence[str] | None = None, views: bool = False
                ) -> list[Sample]:
        """Samples ``first .. stop - 1`` of this shard, as `sample` gives them, with each dataset read
        once for the whole run (one HDF5 read per array instead of one per sample); every sample is
        checked against its checksums as in `sample`; ``views`` as there."""
        if not 0 <= first < stop <= len(self):
            raise IndexError(f"{self.path}: samples {first}..{stop - 1} out of range [0, {len(self)})")
        fields = self.field_names if fields is None else list(fields)
        spans = {"points": self._point_offsets, "node_type": self._point_offsets, "cells": self._cell_offsets,
                 **{f"fields/{name}": self._point_offsets for name in fields}}
        if self._edge_offsets is not None:
            spans["edge_index"] = self._edge_offsets
        spans.update({f"boundary/{name}/facets": offsets for name, offsets in self._boundary_offsets.items()})
        runs = self._checked(first, lambda: {name: (self._slices.columns if name == "edge_index" else self._slices.rows)(
            name, int(o[first]), int(o[stop]), views) for name, o in spans.items()})
        return [self._checked(i, lambda: self._from_run(i, first, runs, spans, fields)) for i in range(first, stop)]

    def _from_run(self, i: int, first: int, runs: dict, spans: dict, fields: Sequence[str]) -> Sample:
        """Sample ``i`` cut from the arrays ``runs`` read for samples ``first ..`` (see `samples`)."""
        def part(name: str) -> np.ndarray:
            offsets = spans[name]
            lo, hi = offsets[i] - offsets[first], offsets[i + 1] - offsets[first]
            values = runs[name][:, lo:hi] if name == "edge_index" else runs[name][lo:hi]
            if self._sums is not None:
                self._sums.check_sample(name, i, values)
            return values

        boundary = {name: part(f"boundary/{name}/facets") for name, offsets in self._boundary_offsets.items()
                    if offsets[i + 1] > offsets[i]}
        values = {}
        for name in fields:
            offsets, key = self._point_offsets, f"fields/{name}"
            block = runs[key][offsets[i] - offsets[first]:offsets[i + 1] - offsets[first]]
            values[name] = self._check_field(name, i, block, range(block.shape[1]) if self._timed[name] else None)
        cells = part("cells")
        n = int(self._point_offsets[i + 1] - self._point_offsets[i])
        edge_index = mesh_edge_index(cells, n) if self._edge_offsets is None else part("edge_index")
        return Sample(points=part("points"), cells=cells, boundary=boundary, node_type=part("node_type"),
                      fields=values, params={name: v[i] for name, v in self.params.items()},
                      times=None if self.times is None else self.times[i], edge_index=edge_index)

    def check_all(self) -> None:
        """Read and check every sample and array of the shard (`DatasetError` at the first fault)."""
        for name in ("failed/index", "failed/seed", "failed/reason"):
            self._whole(name)
        for i in range(len(self)):
            self.sample(i)
