"""Checksums of a shard's arrays (store schema 3): one xxh3-64 digest per sample of each array
read sample by sample, one per (sample, frame) of each time-dependent field, and one per array
read whole when a shard is opened.

Each read is checked against its digest, so a flipped byte is reported naming the shard, the
sample and the array instead of coming back as a wrong number. xxh3 was chosen because it
checks a 5k-node sample (about 1 MB) in tens of microseconds; HDF5's own per-chunk Fletcher-32
filter took about 1 ms more per sample read on the same data (see `SCHEMA_VERSION`'s notes in
`meshsim.data.store`).

On disk the digests are one flat ``checksums`` (R,) uint64 dataset; the attribute
``checksum_layout`` (JSON, fixed-length bytes so that HDF5 keeps it in the checksummed object
header) maps each array's path to ``[kind, start, shape]`` with kind ``"whole"`` (shape [1]),
``"sample"`` ([S]) or ``"frame"`` ([S, T]), and the attribute ``checksums_digest`` is the digest
of the flat dataset itself.
"""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import xxhash

LAYOUT_ATTR = "checksum_layout"
DIGEST_ATTR = "checksums_digest"
DATASET = "checksums"


def digest(array: np.ndarray) -> int:
    """xxh3-64 of the array's bytes in C order; a 2-D array whose rows are contiguous (a column
    range of a dataset, viewed in place) is hashed row after row, without a copy."""
    if array.flags.c_contiguous:
        return xxhash.xxh3_64_intdigest(array)
    if array.ndim != 2 or array.strides[1] != array.itemsize:
        return xxhash.xxh3_64_intdigest(np.ascontiguousarray(array))
    hasher = xxhash.xxh3_64()
    for row in array:
        hasher.update(row)
    return hasher.intdigest()


class ChecksumMismatch(Exception):
    """An array (or the digest table) does not match its recorded digest; ``what`` names it."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class ChecksumWriter:
    """Collects the digests of a shard being written, then stores them (`write`)."""

    def __init__(self):
        self._entries: dict[str, tuple[str, np.ndarray]] = {}

    def whole(self, path: str, array: np.ndarray) -> None:
        self._entries[path] = ("whole", np.array([digest(array)], dtype=np.uint64))

    def per_sample(self, path: str, parts: Sequence[np.ndarray]) -> None:
        """``parts[i]``: sample i's slice of the array, as `ShardReader` reads it back."""
        self._entries[path] = ("sample", np.array([digest(p) for p in parts], dtype=np.uint64))

    def per_frame(self, path: str, parts: Sequence[np.ndarray]) -> None:
        """``parts[i]``: sample i's (T, N, c) field; one digest per frame (N, c)."""
        self._entries[path] = ("frame", np.array([[digest(frame) for frame in p] for p in parts],
                                                 dtype=np.uint64).reshape(len(parts), -1))

    def write(self, f) -> None:
        layout, flat, start = {}, [], 0
        for path in sorted(self._entries):
            kind, values = self._entries[path]
            layout[path] = [kind, start, list(values.shape)]
            flat.append(values.ravel())
            start += values.size
        table = np.concatenate(flat) if flat else np.zeros(0, np.uint64)
        f.create_dataset(DATASET, data=table, track_times=False)
        f.attrs[LAYOUT_ATTR] = np.bytes_(json.dumps(layout, sort_keys=True))
        f.attrs[DIGEST_ATTR] = np.uint64(digest(table))


class ChecksumTable:
    """The digests of an opened shard; the ``check_*`` methods raise `ChecksumMismatch`.

    Digests are kept as Python ints in lists (indexing them is several times cheaper than
    indexing numpy arrays, and a small sample's check is a handful of such lookups)."""

    def __init__(self, dataset, attrs):
        """``dataset``: the shard's ``checksums`` dataset; ``attrs``: the file's attributes."""
        table = dataset[()]
        if digest(table) != int(attrs[DIGEST_ATTR]):
            raise ChecksumMismatch("the checksum table")
        self._whole: dict[str, int] = {}
        self._sample: dict[str, list[int]] = {}
        self._frame: dict[str, list[list[int]]] = {}
        by_kind = {"whole": self._whole, "sample": self._sample, "frame": self._frame}
        for path, (kind, start, shape) in json.loads(bytes(attrs[LAYOUT_ATTR]).decode()).items():
            values = table[start:start + int(np.prod(shape))].reshape(shape).tolist()
            by_kind[kind][path] = values[0] if kind == "whole" else values

    def paths(self) -> list[str]:
        return sorted({*self._whole, *self._sample, *self._frame})

    def check_whole(self, path: str, array: np.ndarray) -> None:
        if path not in self._whole or digest(array) != self._whole[path]:
            raise ChecksumMismatch(repr(path))

    def check_sample(self, path: str, i: int, array: np.ndarray) -> None:
        expected = self._sample.get(path)
        if expected is None or digest(array) != expected[i]:
            raise ChecksumMismatch(repr(path))

    def check_frames(self, path: str, i: int, frames: range, frames_first: np.ndarray) -> None:
        """``frames_first[j]`` (N, c), C-contiguous, is frame ``frames[j]`` of sample i's field."""
        expected = self._frame.get(path)
        if expected is None:
            raise ChecksumMismatch(repr(path))
        row = expected[i]
        for j, t in enumerate(frames):
            if xxhash.xxh3_64_intdigest(frames_first[j]) != row[t]:
                raise ChecksumMismatch(f"{path!r} at frame {t}")
