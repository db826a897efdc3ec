"""Whole batches of a `MeshDataset` built where the data are read: `read_batch` and `batch_loader`.

A torch_geometric ``DataLoader`` builds one ``Data`` per graph (about 15 tensors), then collates a
batch of them, copying every array again; with loader workers it also hands the batch's tensors
to the main process. `read_batch` reads each sample of a batch once, as views of the mapped shard
files (every read checked, as `MeshDataset`), and writes its arrays straight into the batch's
concatenated arrays (node ids offset, features cast once, edge features in one compiled pass
per graph), giving the same ``Batch`` as ``Batch.from_data_list([dataset[i] for i in
indices])``, attribute by attribute. `batch_loader` runs it in ``DataLoader`` worker processes
that build each batch in reused shared memory (`BatchSlots`) and run on into the next epoch.

    loader = batch_loader(open("data/poisson"), batch_size=32, shuffle=True, num_workers=2)
    for batch in loader: ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from ..graph.edges import edge_attributes
from ..graph.fields import node_first_fields, stack_fields
from .batch_slots import BatchSlots, InSlot, SlotAllocator, SlotFull, slots_supported
from .dataset import MeshDataset


def _steady_samples(dataset: MeshDataset, indices: Sequence[int]) -> list:
    """The samples of steady items ``indices``, as views of the mapped shards (copied into the batch
    at once); items that are consecutive samples of one shard are read as one run
    (`ShardReader.samples`). Shards are opened and read one at a time, so a batch may span more
    shards than the dataset keeps open."""
    names = sorted(set(dataset.inputs + dataset.targets))
    shard = np.searchsorted(dataset._starts, indices, side="right") - 1
    order = sorted(range(len(indices)), key=lambda j: (shard[j], indices[j]))
    samples = [None] * len(indices)
    run = [order[0]]
    for j in [*order[1:], None]:
        if j is not None and shard[j] == shard[run[-1]] and indices[j] == indices[run[-1]] + 1:
            run.append(j)
            continue
        reader, first, _ = dataset._locate(indices[run[0]])
        read = (reader.samples(first, first + len(run), names, views=True) if len(run) > 1
                else [reader.sample(first, names, views=True)])
        for k, (position, sample) in enumerate(zip(run, read)):
            samples[position] = (reader, first + k, sample)
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


#: where `_empty` allocates while a worker builds a batch in a `BatchSlots` slot (None otherwise)
_slot_allocator: SlotAllocator | None = None


def _empty(shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor: in the worker's slot while one is being filled; else, in a
    ``DataLoader`` worker, in new shared memory, so that handing it to the main process does not
    copy it again (as torch's own collation does)."""
    if _slot_allocator is not None:
        return _slot_allocator.empty(shape, dtype)
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


def _edges(pos: torch.Tensor, edges: Sequence[np.ndarray], first: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(edge_index (2, E) of the batch, edge_attr (E, dim + 1)): each graph's edges offset by its
    first node, and their `edge_attributes` on its own nodes (one compiled pass per graph in
    float32 / float64; torch's operations in other dtypes, as `edge_attributes`)."""
    from ..graph.edge_kernels import displacements_and_lengths

    total = sum(e.shape[1] for e in edges)
    edge_index, edge_attr = _empty((2, total), torch.int64), _empty((total, pos.shape[1] + 1), pos.dtype)
    compiled = pos.dtype in (torch.float32, torch.float64)
    index, start = edge_index.numpy(), 0
    attr, nodes = (edge_attr.numpy(), pos.numpy()) if compiled else (None, None)
    for local, offset, end_node in zip(edges, first, [*first[1:], len(pos)]):
        stop = start + local.shape[1]
        if compiled:
            displacements_and_lengths(nodes[offset:end_node], local[0], local[1], attr[start:stop])
        else:
            edge_attr[start:stop] = edge_attributes(pos[offset:end_node], torch.from_numpy(np.array(local)))
        np.add(local, offset, out=index[:, start:stop])
        start = stop
    return edge_index, edge_attr


def read_batch(dataset: MeshDataset, indices: Sequence[int], dtype: torch.dtype = torch.float32) -> Batch:
    """``Batch.from_data_list([dataset[i] for i in indices])``, built without the per-graph ``Data``.

    A dataset with a ``transform`` (which acts on single graphs) is batched the plain way."""
    indices = [int(i) for i in indices]
    if dataset.transform is not None:
        return Batch.from_data_list([dataset[i] for i in indices])
    return _as_batch(*_batch_parts(dataset, indices, dtype))


def _batch_parts(dataset: MeshDataset, indices: list[int], dtype: torch.dtype = torch.float32
                 ) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """(attributes, with the batch vector as "batch"; sizes of the per-graph parts; nodes per
    graph; first node of each graph) of the batch of items ``indices`` (`_as_batch` makes the
    ``Batch``); the large tensors come from `_empty`."""
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
    pos = _empty(tuple(pos64.shape), dtype).copy_(pos64)
    edge_index, edge_attr = _edges(pos, edges, first)
    graph = {"edge_index": edge_index, "edge_attr": edge_attr, "pos": pos, "pos64": pos64,
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
    graph["batch"] = _empty((int(nodes.sum()),), torch.int64)
    node_graph = graph["batch"].numpy()
    for i, (start, count) in enumerate(zip(first, nodes)):
        node_graph[start:start + count] = i
    return graph, sizes, nodes, first


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
    batch.batch = graph.pop("batch")
    for key, value in graph.items():
        batch[key] = value
    batch.ptr = _slices(nodes)
    batch._num_graphs = count
    batch._slice_dict = {key: slices.get(key, per_graph) for key in graph}
    batch._inc_dict = {key: None if key in ("boundary_names", "x_fields", "y_fields") else increments.get(key, zeros)
                       for key in graph}
    return batch


@dataclass
class SlotBatch:
    """A batch built by a worker in ``slot`` of the loader's `BatchSlots`: its attributes (tensors
    as `InSlot` records) and the bookkeeping of `_as_batch`."""
    slot: int
    graph: dict
    sizes: dict
    nodes: np.ndarray
    first: np.ndarray


class BatchReader(torch.utils.data.Dataset):
    """``reader[indices]`` is `read_batch` of those items of ``dataset``: a map-style dataset of whole
    batches, for a ``DataLoader`` with ``batch_size=None`` and a sampler of index lists. With
    ``slots``, a worker builds each batch in one of its slots and returns a `SlotBatch`."""

    def __init__(self, dataset: MeshDataset, slots: BatchSlots | None = None):
        self.dataset, self.slots = dataset, slots

    def __getitem__(self, indices: Sequence[int]) -> Batch | SlotBatch:
        worker = torch.utils.data.get_worker_info()
        slot = None if self.slots is None or worker is None or self.dataset.transform is not None \
            else self.slots.take(worker.id)
        if slot is None:
            return read_batch(self.dataset, indices)
        global _slot_allocator
        _slot_allocator = allocator = self.slots.allocator(slot)
        try:
            graph, sizes, nodes, first = _batch_parts(self.dataset, [int(i) for i in indices])
            graph = {key: allocator.place(v) if torch.is_tensor(v) else v for key, v in graph.items()}
        except SlotFull:  # a batch larger than a slot: handed over the usual way
            self.slots.free(slot)
            _slot_allocator = None  # before read_batch (``finally`` runs only after it)
            return read_batch(self.dataset, indices)
        except BaseException:
            self.slots.free(slot)
            raise
        finally:
            _slot_allocator = None
        self.slots.used(worker.id, allocator.used)
        return SlotBatch(slot, graph, sizes, nodes, first)

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


class _Epochs(torch.utils.data.Sampler):
    """``sampler``'s epochs one after another, without end (its own ``__iter__`` per epoch)."""

    def __init__(self, sampler: torch.utils.data.Sampler):
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            yield from self.sampler


class BatchLoader(torch.utils.data.DataLoader):
    """The ``DataLoader`` of `batch_loader`: yields ``Batch`` objects, turning the workers'
    `SlotBatch` records into batches whose tensors are views of the slots (no copy).

    With ``epochs`` (a sampler whose epochs depend on nothing set between them, as
    `EpochBatches` and `ShardBatches`), the workers draw from one stream of its epochs, so they
    build the next epoch's first batches while this one's last are used (a ``DataLoader`` drains
    its workers at each epoch's end); each ``iter`` still yields exactly one epoch (a batch whose
    building raised counts as drawn), and an epoch left early is finished unseen at the next
    ``iter``. Without ``epochs`` (a sampler of the caller's), a loader with workers frees, at the
    end of each whole epoch, the slots of batches the ``DataLoader`` dropped unseen."""

    def __init__(self, reader: BatchReader, epochs: torch.utils.data.Sampler | None = None, **kwargs):
        self.epochs = epochs
        if epochs is not None:
            kwargs["sampler"] = _Epochs(epochs)
        super().__init__(reader, **kwargs)
        self._stream, self._left = None, 0

    def __len__(self) -> int:
        return len(self.epochs) if self.epochs is not None else super().__len__()

    def _batch(self, item) -> Batch:
        if not isinstance(item, SlotBatch):
            return item
        holder = self.dataset.slots.holder(item.slot)
        graph = {key: BatchSlots.tensor(holder, v) if isinstance(v, InSlot) else v for key, v in item.graph.items()}
        return _as_batch(graph, item.sizes, item.nodes, item.first)

    def __iter__(self) -> Iterator[Batch]:
        slots = self.dataset.slots
        if self.epochs is None:
            yield from map(self._batch, super().__iter__())
            if slots is not None:  # the epoch ran to its end: nothing is in flight
                slots.reclaim()
            return
        if len(self.epochs) == 0:  # an empty epoch: the stream would never yield
            return
        if self._stream is None:
            self._stream = super().__iter__()
        while self._left:  # the rest of an epoch left early
            self._left -= 1
            item = next(self._stream)
            if isinstance(item, SlotBatch):
                slots.free(item.slot)
        self._left = len(self.epochs)
        while self._left:
            self._left -= 1  # before drawing: a batch whose building raised is spent too
            yield self._batch(next(self._stream))


def batch_loader(dataset: MeshDataset, batch_size: int, *, shuffle: bool | str = True, seed: int = 0,
                 num_workers: int = 0, drop_last: bool = False, sampler: torch.utils.data.Sampler | None = None,
                 slot_bytes: int = 256 << 20) -> BatchLoader:
    """A ``DataLoader`` of whole batches (`read_batch`), built in ``num_workers`` worker processes
    (persistent between epochs) or in this one. ``shuffle``: True (items in a random order each
    epoch), False (in order) or ``"shards"`` (`ShardBatches`: shards in a random order, runs of
    consecutive samples read at once). ``sampler`` (yielding index lists) replaces them. With
    workers and no ``sampler``, the workers run on into the next epoch (`BatchLoader`).

    On Linux, workers build their batches in reused shared memory (`BatchSlots`: four slots of
    ``slot_bytes`` per worker, reserved, not allocated; a larger batch is handed over the usual
    way), so handing a batch over costs no page faults; 0 turns the slots off."""
    epochs = None
    if sampler is None:
        sampler = (ShardBatches(dataset, batch_size, seed, drop_last) if shuffle == "shards"
                   else EpochBatches(dataset.len(), batch_size, bool(shuffle), seed, drop_last))
        epochs = sampler if num_workers > 0 else None
    use_slots = num_workers > 0 and slot_bytes > 0 and slots_supported()
    slots = BatchSlots(num_workers, slot_bytes=slot_bytes) if use_slots else None
    return BatchLoader(BatchReader(dataset, slots), epochs, sampler=sampler, batch_size=None, collate_fn=_keep,
                       num_workers=num_workers, persistent_workers=num_workers > 0,
                       multiprocessing_context="fork" if use_slots else None)
