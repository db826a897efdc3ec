"""`RawSlices`: slices of contiguous HDF5 datasets read straight from the file's bytes.

An h5py slice costs about 50 us whatever its size (selection, type conversion set-up); a sample of
the store is 8-12 such slices, so at 5k nodes the calls cost four times the bytes they read. A
dataset stored contiguously, without filters, in native byte order sits in the file as one C-order
block at a fixed address (``H5Dget_offset``); a slice of its first axis is then one positional read
(``os.preadv`` straight into the new array), a slice of the second axis of a 2-D dataset one read
per row. Datasets stored any other way (chunked, compressed, compact, external, big-endian) are
read through h5py, as are all datasets of a file opened with another driver than the default
``sec2``, or where ``os.preadv`` does not exist (Windows). The reads go through HDF5's own file
descriptor (positional reads leave its offset alone).

    raw = RawSlices(f, {name: f[name] for name in ("points", "edge_index")})
    raw.rows("points", 10, 20)          # == f["points"][10:20]
    raw.columns("edge_index", 5, 9)     # == f["edge_index"][:, 5:9]

The reads are as trustworthy as h5py's: a short read (truncated file) raises ``OSError``; the
store's checksums check the values either way.
"""
from __future__ import annotations

import math
import mmap
import os
from typing import Mapping

import h5py
import numpy as np


def _block(dataset: h5py.Dataset) -> tuple[int, tuple[int, ...], np.dtype, int] | None:
    """(file offset in bytes, shape, dtype, bytes per row) of a dataset readable as raw bytes,
    else None. HDF5 gives an address only to contiguous data in the file itself (not chunked, so
    unfiltered; not compact; not external)."""
    offset = dataset.id.get_offset()
    if offset is None:
        return None
    dtype = dataset.dtype
    if dtype.kind not in "biuf" or not dtype.isnative:
        return None
    shape = tuple(int(n) for n in dataset.shape)
    return int(offset), shape, dtype, math.prod(shape[1:]) * dtype.itemsize


class RawSlices:
    """Slices of the ``datasets`` of the open h5py file ``file`` (read-only).

    Args:
        file: the open file.
        datasets: name -> dataset of ``file``, the datasets to slice (inspected once, here).
    """

    def __init__(self, file: h5py.File, datasets: Mapping[str, h5py.Dataset]):
        self._datasets = dict(datasets)
        self._blocks, self._fd = {}, None
        if hasattr(os, "preadv") and file.driver == "sec2":
            #: the file descriptor HDF5 reads through (positional reads leave its offset alone)
            self._fd = file.id.get_vfd_handle()
            size = os.fstat(self._fd).st_size
            self._blocks = {name: block for name, d in self._datasets.items() if (block := _block(d)) is not None
                            and block[0] + block[1][0] * block[3] <= size}  # a truncated file: h5py's error
            # only the datasets read through h5py stay open (open h5py objects slow closing files)
            self._datasets = {n: d for n, d in self._datasets.items() if n not in self._blocks}
        self._name = file.filename
        #: the file mapped read-only (made on the first view), and each dataset's whole view of it
        self._map: mmap.mmap | None = None
        self._views: dict[str, np.ndarray] = {}

    def close(self) -> None:
        """Stop reading (call it before closing the file: its descriptor may then be reused).
        Views already handed out stay valid (the mapping goes when the last of them does)."""
        self._fd, self._blocks, self._map, self._views = None, {}, None, {}

    @property
    def raw_names(self) -> list[str]:
        """The datasets read as raw bytes (the others go through h5py)."""
        return sorted(self._blocks)

    def _read_into(self, out: np.ndarray, offset: int) -> None:
        if out.nbytes and os.preadv(self._fd, [memoryview(out).cast("B")], int(offset)) != out.nbytes:
            raise OSError(f"short read at byte {offset} of {self._name} (truncated file?)")

    def _whole(self, name: str) -> np.ndarray | None:
        """A read-only view of the whole dataset ``name`` in the mapped file (None where the file
        cannot be mapped: the reads then copy)."""
        view = self._views.get(name)
        if view is None:
            if self._map is None:
                try:
                    self._map = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError):
                    return None
            offset, shape, dtype, _ = self._blocks[name]
            view = np.frombuffer(self._map, dtype, count=math.prod(shape), offset=offset).reshape(shape)
            self._views[name] = view
        return view

    def rows(self, name: str, lo: int, hi: int, view: bool = False) -> np.ndarray:
        """``dataset[lo:hi]``: a new array, or with ``view`` a read-only view of the mapped file
        where the layout allows (no copy; valid while the file is unchanged: a file truncated
        under a view makes reading it fail with SIGBUS); ``ValueError`` when ``lo:hi`` leaves the
        dataset."""
        block = self._blocks.get(name)
        if block is None:
            return self._datasets[name][lo:hi]
        offset, shape, dtype, row = block
        if not 0 <= lo <= hi <= shape[0]:
            raise ValueError(f"rows {lo}:{hi} outside {name!r} of {shape[0]} rows")
        if view and (whole := self._whole(name)) is not None:
            return whole[lo:hi]
        out = np.empty((hi - lo, *shape[1:]), dtype)
        self._read_into(out, offset + lo * row)
        return out

    def columns(self, name: str, lo: int, hi: int, view: bool = False) -> np.ndarray:
        """``dataset[:, lo:hi]`` of a 2-D dataset, as `rows` gives ``dataset[lo:hi]``."""
        block = self._blocks.get(name)
        if block is None:
            return self._datasets[name][:, lo:hi]
        offset, (rows, length), dtype, _ = block
        if not 0 <= lo <= hi <= length:
            raise ValueError(f"columns {lo}:{hi} outside {name!r} of {length} columns")
        if view and (whole := self._whole(name)) is not None:
            return whole[:, lo:hi]
        out = np.empty((rows, hi - lo), dtype)
        for r in range(rows):
            self._read_into(out[r], offset + (r * length + lo) * dtype.itemsize)
        return out
