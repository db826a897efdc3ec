"""Lazy torch_geometric datasets over a store split.

Only the shards that items are read from are opened, one sample (one time window) at a time, so
datasets larger than memory work. Every read is checked (`meshsim.data.store`): a corrupted shard
raises `DatasetError` naming it (and the sample), never wrong numbers. Each process keeps its own small cache of open shard handles;
handles are never pickled, so a ``DataLoader`` with worker processes (fork or spawn) opens its
own.
"""
from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch_geometric.data import Data, Dataset

from ..graph import from_arrays
from .errors import DatasetError
from .sample import Sample
from .shard_reader import ShardReader
from .store import read_meta


def _graph(sample: Sample, x: dict, y: dict) -> Data:
    """`meshsim.graph.from_mesh`'s graph of the sample's mesh, from its stored node types and
    edges (the mesh was checked when generated); empty ``x`` / ``y`` give no ``x`` / ``y``."""
    return from_arrays(sample.points, sample.cells, sample.boundary, sample.node_type, sample.edge_index,
                       fields=x or None, targets=y or None)


class Trajectory(NamedTuple):
    """One sample of a split whole: ``graph``, the `MeshDataset` item of its first window;
    ``fields``, every input and target field as stored (name -> (T, N, C) or (N, C) float array);
    ``times`` (T,) the frame times (None for steady samples); ``params``, the sample's parameters
    (name -> array)."""

    graph: Data
    fields: dict
    times: np.ndarray | None
    params: dict


class MeshDataset(Dataset):
    """Graphs of one split of a dataset folder: `meshsim.graph.from_mesh`'s graphs of the samples'
    meshes, built from the stored node types and edges (`meshsim.graph.from_arrays`).

    Steady datasets give one graph per sample: ``x`` the input fields, ``y`` the target fields.
    Trajectory datasets give one graph per window: for window start ``t`` (the last frame of
    the history), ``x`` holds the target (state) fields at frames ``t - history + 1 .. t``
    followed by the input fields (over the same frames if they are time-dependent), and ``y``
    the state at frames ``t + 1 .. t + horizon``; a trajectory of T frames gives
    ``T - history - horizon + 1`` windows. Each graph also has
    ``params`` (1, P) (the sample's parameters in sorted name order, float32), ``sample_id``
    (its index in the split), ``node_type`` as stored, and for windows ``t`` and ``time`` (the
    time of frame ``t``).

    Args:
        folder: dataset folder (with meta.json).
        split: ``"train"``, ``"valid"`` or ``"test"``.
        history, horizon: window lengths (trajectories only).
        inputs, targets: field names for ``x`` and ``y`` (default: the recipe's problem's).
        transform: a PyG transform applied to each graph.
        max_open_shards: shard handles kept open per process (a shuffled epoch visits every
            shard, and reopening one costs about a millisecond).
    """

    def __init__(self, folder: str | Path, split: str = "train", *, history: int = 1, horizon: int = 1,
                 inputs: Sequence[str] | None = None, targets: Sequence[str] | None = None,
                 transform: Callable | None = None, max_open_shards: int = 128):
        self.folder = Path(folder)
        meta = read_meta(self.folder)
        if not meta.get("complete"):
            raise DatasetError(f"{self.folder}: generation has not finished (meta.json is incomplete); "
                               f"run `meshsim generate` again to resume it")
        if split not in meta["counts"]:
            raise DatasetError(f"{self.folder}: no split {split!r} (splits: {', '.join(meta['counts'])})")
        self.meta, self.split = meta, split
        self.inputs = list(meta["inputs"] if inputs is None else inputs)
        self.targets = list(meta["targets"] if targets is None else targets)
        unknown = sorted(set(self.inputs + self.targets) - set(meta["fields"]))
        if unknown:
            raise DatasetError(f"{self.folder}: no field {unknown[0]!r} (fields: {', '.join(meta['fields'])})")
        static = [n for n in self.targets if meta["trajectory"] and not meta["fields"][n]["time_dependent"]]
        if static:
            raise DatasetError(f"{self.folder}: target {static[0]!r} is constant in time; the targets of a "
                               f"trajectory dataset must be time-dependent fields")
        self.history, self.horizon = int(history), int(horizon)
        self.windows = self._windows_per_sample(meta)
        self.shards = [s for s in meta["shards"] if s["split"] == split and s["num_samples"] > 0]
        self._records = {s["file"]: s for s in self.shards}
        sizes = [s["num_samples"] * self.windows for s in self.shards]
        self._starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self.max_open_shards = int(max_open_shards)
        self._readers: OrderedDict[str, ShardReader] = OrderedDict()
        self._pid = os.getpid()
        super().__init__(root=None, transform=transform)

    def _windows_per_sample(self, meta: dict) -> int:
        if not meta["trajectory"]:
            return 1
        if self.history < 1 or self.horizon < 1:
            raise DatasetError(f"history and horizon must be >= 1, got {self.history}, {self.horizon}")
        windows = meta["num_steps"] - self.history - self.horizon + 1
        if windows < 1:
            raise DatasetError(f"{self.folder}: trajectories have {meta['num_steps']} frames, too few for "
                               f"history {self.history} + horizon {self.horizon}")
        return windows

    # -- shard handles, one cache per process ----------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_readers"] = OrderedDict()
        return state

    def _reader(self, file_name: str) -> ShardReader:
        if self._pid != os.getpid():  # a forked DataLoader worker: the parent's handles are not ours
            self._readers, self._pid = OrderedDict(), os.getpid()
        reader = self._readers.get(file_name)
        if reader is None:
            reader = self._open_shard(self._records[file_name])
            self._readers[file_name] = reader
            if len(self._readers) > self.max_open_shards:
                self._readers.popitem(last=False)[1].close()
        self._readers.move_to_end(file_name)
        return reader

    def _open_shard(self, record: dict) -> ShardReader:
        """The shard of a meta.json record, checked against it (a dataset of schema < 3, whose
        shards hold no checksums, against their sha256, once per process)."""
        old_schema = self.meta.get("schema_version", 1) < 3
        reader = ShardReader(self.folder / record["file"], sha256=record["sha256"] if old_schema else None)
        found = (reader.split, reader.first_index, len(reader))
        if found != (record["split"], record["first_index"], record["num_samples"]):
            reader.close()
            raise DatasetError(f"{reader.path}: holds {found[2]} {found[0]} samples from {found[1]}, meta.json says "
                               f"{record['num_samples']} {record['split']} samples from {record['first_index']}")
        return reader

    # -- Dataset API -----------------------------------------------------------------------
    def len(self) -> int:
        return int(self._starts[-1])

    @property
    def num_samples(self) -> int:
        """Samples (trajectories) in the split."""
        return int(self._starts[-1]) // self.windows

    def trajectory(self, i: int) -> "Trajectory":
        """Sample ``i`` of the split whole, for rollouts against the truth (see `Trajectory`)."""
        if not 0 <= i < self.num_samples:
            raise IndexError(f"sample {i} out of range for {self.num_samples} samples in split {self.split!r}")
        first = i * self.windows
        reader, local, _ = self._locate(first)
        sample = reader.sample(local, fields=sorted(set(self.inputs + self.targets)))
        return Trajectory(self[first], dict(sample.fields), sample.times, dict(sample.params))

    def _locate(self, idx: int) -> tuple[ShardReader, int, int]:
        """Item ``idx`` as (its shard's reader, sample index in the shard, window offset)."""
        position = int(np.searchsorted(self._starts, idx, side="right")) - 1
        local, offset = divmod(int(idx - self._starts[position]), self.windows)
        return self._reader(self.shards[position]["file"]), local, offset

    def get(self, idx: int) -> Data:
        if not 0 <= idx < self.len():
            raise IndexError(f"index {idx} out of range for {self.len()} items")
        reader, local, offset = self._locate(idx)
        if not self.meta["trajectory"]:
            return self._steady_graph(reader, local)
        return self._window_graph(reader, local, self.history - 1 + offset)

    def _steady_graph(self, reader: ShardReader, i: int) -> Data:
        sample = reader.sample(i, fields=sorted(set(self.inputs + self.targets)))
        data = _graph(sample, {n: sample.fields[n] for n in self.inputs}, {n: sample.fields[n] for n in self.targets})
        return self._finish(data, sample, int(reader.indices[i]))

    def _frames(self, t: int) -> slice:
        """The frames of window ``t``: ``history`` up to t, ``horizon`` after it."""
        return slice(t - self.history + 1, t + self.horizon + 1)

    def _window_graph(self, reader: ShardReader, i: int, t: int) -> Data:
        sample = reader.sample(i, fields=sorted(set(self.inputs + self.targets)), frames=self._frames(t))
        return self._window_of(sample, t, int(reader.indices[i]))

    def _window_of(self, sample: Sample, t: int, sample_id: int) -> Data:
        """The item of window ``t`` from a sample holding exactly the window's frames."""
        x = {n: sample.fields[n][:self.history] for n in self.targets}
        x.update({n: sample.fields[n][:self.history] if sample.fields[n].ndim == 3 else sample.fields[n]
                  for n in self.inputs})
        y = {n: sample.fields[n][self.history:] for n in self.targets}
        data = _graph(sample, x, y)
        data.t = torch.tensor([t])
        data.time = torch.tensor([float(sample.times[self.history - 1])])
        return self._finish(data, sample, sample_id)

    def window(self, sample: Sample, t: int, sample_id: int) -> Data:
        """Window ``t`` (its last input frame) of a whole trajectory ``sample`` held in memory (as
        the recipe's problem makes it), built as `get` builds a stored one, ``transform`` applied:
        the items of online training (`meshsim.train.online`). ``IndexError`` for a ``t`` without
        ``history`` frames up to it and ``horizon`` after it."""
        if not self.meta["trajectory"]:
            raise DatasetError(f"{self.folder}: windows of a steady dataset")
        count = len(sample.times)
        if not self.history - 1 <= t <= count - 1 - self.horizon:
            raise IndexError(f"window {t} needs frames {t - self.history + 1}..{t + self.horizon}; the trajectory "
                             f"has {count}")
        frames = self._frames(t)
        names = set(self.inputs + self.targets)
        windowed = dataclasses.replace(sample, times=sample.times[frames], fields={
            n: v[frames] if v.ndim == 3 else v for n, v in sample.fields.items() if n in names})
        data = self._window_of(windowed, t, sample_id)
        return data if self.transform is None else self.transform(data)

    @staticmethod
    def _finish(data: Data, sample: Sample, sample_id: int) -> Data:
        values = [np.ravel(v) for _, v in sorted(sample.params.items())]
        data.params = torch.from_numpy(np.concatenate(values or [np.zeros(0)]).astype(np.float32))[None]
        data.sample_id = torch.tensor([sample_id])
        return data


def open_dataset(folder: str | Path, split: str = "train", **kwargs) -> MeshDataset:
    """Lazy `MeshDataset` of one split of a dataset folder (keyword arguments as `MeshDataset`)."""
    return MeshDataset(folder, split, **kwargs)
