"""Whole batches of a `MeshDataset` built where the data are read: `read_batch` and `batch_loader`.

A torch_geometric ``DataLoader`` builds one ``Data`` per graph (about 15 tensors), then collates a
batch of them, copying every array again; with loader workers it also hands the batch's tensors
to the main process. `read_batch` reads each sample of a batch once (every read checked, as
`MeshDataset`) and writes its arrays straight into the batch's concatenated arrays (node ids
offset, features cast once, edge features computed for the whole batch), giving the same
``Batch`` as ``Batch.from_data_list([dataset[i] for i in indices])``, attribute by attribute.
`batch_loader` runs it in ``DataLoader`` worker processes, each yielding ready batches.

    loader = batch_loader(open("data/poisson"), batch_size=32, shuffle=True, num_workers=2)
    for batch in loader: ...
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from ..graph.edges import edge_attributes
from ..graph.fields import node_first_fields, stack_fields
from .dataset import MeshDataset


def _steady_samples(dataset: MeshDataset, indices: Sequence[int]) -> list:
    """The samples of steady items ``indices``; items that are consecutive samples of one shard are
    read as one run (`ShardReader.samples`: one HDF5 read per array for the run)."""
    names = sorted(set(dataset.inputs + dataset.targets))
    located = [dataset._locate(i)[:2] for i in indices]
    order = sorted(range(len(indices)), key=lambda j: (id(located[j][0]), located[j][1]))
    samples = [None] * len(indices)
    run = [order[0]]
    for j in [*order[1:], None]:
        reader, local = located[run[-1]]
        if j is not None and located[j][0] is reader and located[j][1] == local + 1:
            run.append(j)
            continue
        first = located[run[0]][1]
        read = reader.samples(first, first + len(run), names) if len(run) > 1 else [reader.sample(first, names)]
        for position, sample in zip(run, read):
            samples[position] = (reader, located[position][1], sample)
        run = [j]
    return samples


def _graph_parts(dataset: MeshDataset, idx: int, read=None) -> dict:
    """The arrays of item ``idx`` (what `MeshDataset.get` builds its graph from); ``read`` is its
    (reader, sample index, Sample) when already read (steady items)."""
    if not 0 <= idx < dataset.len():
        raise IndexError(f"index {idx} out of range for {dataset.len()} items")
    extra = {}
    if not dataset.meta["trajectory"]:
        reader, local, sample = read or (*dataset._locate(idx)[:2], None)
        sample = sample or reader.sample(local, fields=sorted(set(dataset.inputs + dataset.targets)))
        x = {n: sample.fields[n] for n in dataset.inputs}
        y = {n: sample.fields[n] for n in dataset.targets}
    else:
        reader, local, offset = dataset._locate(idx)
        history, t = dataset.history, dataset.history - 1 + offset
        sample = reader.sample(local, fields=sorted(set(dataset.inputs + dataset.targets)),
                               frames=slice(t - history + 1, t + dataset.horizon + 1))
        x = {n: sample.fields[n][:history] for n in dataset.targets}
        x.update({n: sample.fields[n][:history] if sample.fields[n].ndim == 3 else sample.fields[n]
                  for n in dataset.inputs})
        y = {n: sample.fields[n][history:] for n in dataset.targets}
        extra = {"t": t, "time": float(sample.times[history - 1])}
    values = [np.ravel(v) for _, v in sorted(sample.params.items())]
    n = sample.num_nodes
    return {"sample": sample, "x": node_first_fields(x, n) if x else None, "y": node_first_fields(y, n) if y else None,
            "params": np.concatenate(values or [np.zeros(0)]).astype(np.float32),
            "sample_id": int(reader.indices[local]), **extra}


def _empty(shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor; in a ``DataLoader`` worker, in shared memory, so that handing it to
    the main process does not copy it again (as torch's own collation does)."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel)
    return torch.empty(0, dtype=dtype).set_(storage, 0, shape)


def _fill(arrays: Sequence[np.ndarray], dtype: torch.dtype, axis: int = 0, offsets: np.ndarray | None = None
          ) -> torch.Tensor:
    """``arrays`` joined along ``axis`` into one new tensor, ``offsets[i]`` added to part i (node ids),
    part by part (each part's pass stays in cache)."""
    sizes = [a.shape[axis] for a in arrays]
    shape = list(arrays[0].shape)
    shape[axis] = sum(sizes)
    out = _empty(tuple(shape), dtype)
    target = out.numpy()
    start = 0
    for i, (array, size) in enumerate(zip(arrays, sizes)):
        part = target[start:start + size] if axis == 0 else target[:, start:start + size]
        if offsets is None:
            part[...] = array
        else:
            np.add(array, offsets[i], out=part)
        start += size
    return out


def _slices(sizes: Sequence[int]) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]))


def _edge_features(pos: torch.Tensor, edges: Sequence[np.ndarray], first: np.ndarray) -> torch.Tensor:
    """`edge_attributes` of every graph, computed graph by graph on its own nodes (cache-sized)."""
    dim = pos.shape[1]
    out = _empty((sum(e.shape[1] for e in edges), dim + 1), pos.dtype)
    start = 0
    for edge_index, offset, end_node in zip(edges, first, [*first[1:], len(pos)]):
        count = edge_index.shape[1]
        local = torch.from_numpy(edge_index)
        out[start:start + count] = edge_attributes(pos[offset:end_node], local)
        start += count
    return out


def read_batch(dataset: MeshDataset, indices: Sequence[int], dtype: torch.dtype = torch.float32) -> Batch:
    """``Batch.from_data_list([dataset[i] for i in indices])``, built without the per-graph ``Data``.

    A dataset with a ``transform`` (which acts on single graphs) is batched the plain way."""
    indices = [int(i) for i in indices]
    if dataset.transform is not None:
        return Batch.from_data_list([dataset[i] for i in indices])
    for i in indices:
        if not 0 <= i < dataset.len():
            raise IndexError(f"index {i} out of range for {dataset.len()} items")
    reads = [None] * len(indices) if dataset.meta["trajectory"] else _steady_samples(dataset, indices)
    parts = [_graph_parts(dataset, i, read) for i, read in zip(indices, reads)]
    samples = [p["sample"] for p in parts]
    nodes = np.array([s.num_nodes for s in samples], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(nodes)[:-1]]).astype(np.int64)
    k = samples[0].cells.shape[1]
    edges = [s.edge_index for s in samples]
    names = [list(s.boundary) for s in samples]
    facets = [np.concatenate([s.boundary[n] for n in ns]) if ns else np.empty((0, k - 1), np.int64)
              for s, ns in zip(samples, names)]
    ids = [np.repeat(np.arange(len(ns), dtype=np.int64), [len(s.boundary[n]) for n in ns]) for s, ns in zip(samples, names)]
    pos64 = _fill([s.points for s in samples], torch.float64)
    pos = pos64.to(dtype)
    graph = {"edge_index": _fill(edges, torch.int64, axis=1, offsets=first),
             "edge_attr": _edge_features(pos, edges, first), "pos": pos, "pos64": pos64,
             "face": _fill([s.cells.T for s in samples], torch.int64, axis=1, offsets=first),
             "node_type": _fill([s.node_type for s in samples], torch.int64),
             "boundary_facet_index": _fill([f.T for f in facets], torch.int64, axis=1, offsets=first),
             "boundary_id": _fill(ids, torch.int64), "boundary_names": names}
    sizes = {"edge_index": [e.shape[1] for e in edges], "pos": nodes, "face": [len(s.cells) for s in samples],
             "boundary_facet_index": [len(f) for f in facets]}
    for key in ("x", "y"):
        if parts[0][key] is not None:
            fields = {name: np.concatenate([p[key][name] for p in parts]) for name in parts[0][key]}
            graph[key], layout = stack_fields(fields, dtype)
            graph[f"{key}_fields"] = [layout] * len(parts)
    graph["params"] = torch.from_numpy(np.stack([p["params"] for p in parts]))
    graph["sample_id"] = torch.tensor([p["sample_id"] for p in parts])
    if "t" in parts[0]:
        graph["t"] = torch.tensor([p["t"] for p in parts])
        graph["time"] = torch.tensor([p["time"] for p in parts])
    return _as_batch(graph, sizes, nodes, first)


def _as_batch(graph: dict, sizes: dict, nodes: np.ndarray, first: np.ndarray) -> Batch:
    """The ``Batch`` of concatenated attributes, with the bookkeeping PyG's collation keeps (the
    slices of each attribute per graph and the node offsets added to index attributes)."""
    count = len(nodes)
    per_graph = torch.arange(count + 1)
    node_keys = ("pos", "pos64", "node_type", "x", "y")
    slices = {"edge_index": _slices(sizes["edge_index"]), "face": _slices(sizes["face"]),
              "boundary_facet_index": _slices(sizes["boundary_facet_index"]), **{k: _slices(nodes) for k in node_keys}}
    slices["edge_attr"], slices["boundary_id"] = slices["edge_index"], slices["boundary_facet_index"]
    offsets, zeros = torch.from_numpy(first), torch.zeros(count, dtype=torch.long)
    increments = {"edge_index": offsets, "face": offsets, "boundary_facet_index": offsets}
    batch = Batch(_base_cls=Data)
    for key, value in graph.items():
        batch[key] = value
    batch.batch = torch.repeat_interleave(torch.arange(count), torch.from_numpy(nodes))
    batch.ptr = _slices(nodes)
    batch._num_graphs = count
    batch._slice_dict = {key: slices.get(key, per_graph) for key in graph}
    batch._inc_dict = {key: None if key in ("boundary_names", "x_fields", "y_fields") else increments.get(key, zeros)
                       for key in graph}
    return batch


class BatchReader(torch.utils.data.Dataset):
    """``reader[indices]`` is `read_batch` of those items of ``dataset``: a map-style dataset of whole
    batches, for a ``DataLoader`` with ``batch_size=None`` and a sampler of index lists."""

    def __init__(self, dataset: MeshDataset):
        self.dataset = dataset

    def __getitem__(self, indices: Sequence[int]) -> Batch:
        return read_batch(self.dataset, indices)

    def __len__(self) -> int:
        return self.dataset.len()


class EpochBatches(torch.utils.data.Sampler):
    """Index lists of ``batch_size`` items: each epoch a permutation seeded by (seed, epoch) (or the
    items in order without ``shuffle``); the last short batch is kept unless ``drop_last``."""

    def __init__(self, num_items: int, batch_size: int, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        self.num_items, self.batch_size, self.shuffle, self.seed = num_items, batch_size, shuffle, seed
        self.drop_last, self.epoch = drop_last, 0

    def __len__(self) -> int:
        full, rest = divmod(self.num_items, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[list[int]]:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.num_items) if self.shuffle
                 else np.arange(self.num_items))
        self.epoch += 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield order[start:start + self.batch_size].tolist()


class ShardBatches(EpochBatches):
    """Index lists of ``batch_size`` items read shard by shard: each epoch visits the shards in a
    random order (seeded by (seed, epoch)) and takes each shard's items in order, so a batch is a
    few runs of consecutive samples, each read with one HDF5 read per array (`read_batch`). Less
    random than `EpochBatches` (a batch holds neighbours in the store), much faster to read when
    shards hold many samples."""

    def __init__(self, dataset: MeshDataset, batch_size: int, seed: int = 0, drop_last: bool = False):
        super().__init__(dataset.len(), batch_size, True, seed, drop_last)
        self.starts = dataset._starts

    def __iter__(self) -> Iterator[list[int]]:
        shards = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.starts) - 1)
        self.epoch += 1
        order = np.concatenate([np.arange(self.starts[k], self.starts[k + 1]) for k in shards])
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield order[start:start + self.batch_size].tolist()


def _keep(batch: Batch) -> Batch:
    return batch


def batch_loader(dataset: MeshDataset, batch_size: int, *, shuffle: bool | str = True, seed: int = 0,
                 num_workers: int = 0, drop_last: bool = False, sampler: torch.utils.data.Sampler | None = None
                 ) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of whole batches (`read_batch`), built in ``num_workers`` worker processes
    (persistent between epochs) or in this one. ``shuffle``: True (items in a random order each
    epoch), False (in order) or ``"shards"`` (`ShardBatches`: shards in a random order, runs of
    consecutive samples read at once). ``sampler`` (yielding index lists) replaces them."""
    if sampler is None:
        sampler = (ShardBatches(dataset, batch_size, seed, drop_last) if shuffle == "shards"
                   else EpochBatches(dataset.len(), batch_size, bool(shuffle), seed, drop_last))
    return torch.utils.data.DataLoader(BatchReader(dataset), batch_size=None, sampler=sampler, collate_fn=_keep,
                                       num_workers=num_workers, persistent_workers=num_workers > 0)
