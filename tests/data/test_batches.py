"""Whole-batch loading: `read_batch` gives PyG's batch of the same graphs attribute by attribute
(steady samples and trajectory windows), runs of samples are read at once and still checked, and the
loaders cover every item once per epoch, with worker processes as without."""
import shutil

import h5py
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from meshsim.data import DatasetError, EpochBatches, ShardBatches, ShardReader, batch_loader, generate, read_batch
from meshsim.data import open as open_dataset
from meshsim.graph import edge_attributes


@pytest.fixture(scope="module")
def steady(toy_module, tmp_path_factory):
    folder = tmp_path_factory.mktemp("steady")
    generate(toy_module(train=7, valid=0, per_shard=3), folder, progress=False)
    return folder


@pytest.fixture(scope="module")
def windows(toy_module, tmp_path_factory):
    folder = tmp_path_factory.mktemp("windows")
    generate(toy_module(train=3, valid=0, per_shard=2, num_frames=5), folder, progress=False)
    return folder


def assert_same_batch(a: Batch, b: Batch) -> None:
    assert set(a.keys()) == set(b.keys()) and a.num_graphs == b.num_graphs
    for key in b.keys():
        if torch.is_tensor(b[key]):
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key
    for key in b._slice_dict:
        assert torch.equal(a._slice_dict[key], b._slice_dict[key]), key
        assert (a._inc_dict[key] is None and b._inc_dict[key] is None) or torch.equal(a._inc_dict[key], b._inc_dict[key])


@pytest.mark.parametrize("indices", [[4, 0, 6, 2], [0, 1, 2, 3, 4, 5, 6], [5]])
def test_read_batch_equals_pyg_collation_of_the_same_graphs(steady, indices):
    dataset = open_dataset(steady)
    batch = read_batch(dataset, indices)
    assert_same_batch(batch, Batch.from_data_list([dataset[i] for i in indices]))
    example = batch.get_example(len(indices) - 1)
    assert torch.equal(example.edge_index, dataset[indices[-1]].edge_index)


def test_read_batch_of_trajectory_windows(windows):
    dataset = open_dataset(windows, history=2, horizon=1)
    indices = [7, 0, 3, 4]
    assert_same_batch(read_batch(dataset, indices), Batch.from_data_list([dataset[i] for i in indices]))
    with pytest.raises(IndexError):
        read_batch(dataset, [dataset.len()])


def test_a_run_of_samples_is_read_at_once_and_still_checked(steady, tmp_path):
    with ShardReader(steady / "shard-00000.h5") as reader:
        run = reader.samples(0, 3)
        for i, sample in enumerate(run):
            one = reader.sample(i)
            for name in ("points", "cells", "node_type", "edge_index"):
                assert np.array_equal(getattr(sample, name), getattr(one, name))
            assert all(np.array_equal(sample.fields[n], one.fields[n]) for n in one.fields)
            assert sample.boundary.keys() == one.boundary.keys()
            assert all(np.array_equal(sample.params[n], one.params[n]) for n in one.params)
    damaged = tmp_path / "shard.h5"
    shutil.copy(steady / "shard-00000.h5", damaged)
    with h5py.File(damaged, "r") as f:  # a byte of sample 2's u
        position = f["fields/u"].id.get_offset() + 8 * int(f["point_offsets"][2]) + 3
    raw = bytearray(damaged.read_bytes())
    raw[position] ^= 0x40
    damaged.write_bytes(bytes(raw))
    with ShardReader(damaged) as reader:
        assert len(reader.samples(0, 2)) == 2  # samples 0 and 1 are intact
        for views in (False, True):
            with pytest.raises(DatasetError, match=r"sample 2 \(train index 2\): corrupted data: 'fields/u'"):
                reader.samples(1, 3, views=views)
            with pytest.raises(DatasetError, match=r"sample 2 \(train index 2\): corrupted data: 'fields/u'"):
                reader.sample(2, views=views)


def test_loaders_cover_every_item_once_per_epoch_with_and_without_workers(steady):
    dataset = open_dataset(steady)
    in_process = [b.sample_id.tolist() for b in batch_loader(dataset, 3, seed=4)]
    workers = [b.sample_id.tolist() for b in batch_loader(dataset, 3, seed=4, num_workers=2)]
    assert workers == in_process and sorted(sum(in_process, [])) == list(range(7)) and len(in_process) == 3
    loader = batch_loader(dataset, 3, shuffle="shards", seed=1, drop_last=True)
    assert isinstance(loader.sampler, ShardBatches)
    first, second = ([b.sample_id.tolist() for b in loader] for _ in range(2))
    assert len(first) == 2 and all(len(b) == 3 for b in first) and first != second
    ordered = [b.sample_id.tolist() for b in batch_loader(dataset, 4, shuffle=False)]
    assert ordered == [[0, 1, 2, 3], [4, 5, 6]]


def test_worker_batches_built_in_slots_equal_read_batch_and_free_their_slot(steady):
    dataset = open_dataset(steady)
    order = list(EpochBatches(dataset.len(), 3, seed=2))
    # a sampler of one's own: no running on into the next epoch, so no batch is in flight after it
    loader = batch_loader(dataset, 3, num_workers=2, sampler=EpochBatches(dataset.len(), 3, seed=2))
    slots = loader.dataset.slots
    batches = list(loader)
    for batch, idx in zip(batches, order):
        assert_same_batch(batch, read_batch(dataset, idx))
    base = slots.allocator(0).memory.ctypes.data
    held = sorted((b.edge_attr.data_ptr() - base) // slots.slot_bytes for b in batches)
    assert np.flatnonzero(slots.state).tolist() == held and len(set(held)) == 3  # a slot per batch ...
    keep = batches[0].edge_attr
    first = (keep.data_ptr() - base) // slots.slot_bytes
    del batch, batches
    assert np.flatnonzero(slots.state).tolist() == [first]  # ... until its last tensor is gone
    del keep
    assert not slots.state.any()
    tiny = batch_loader(dataset, 3, num_workers=1, slot_bytes=4096, sampler=EpochBatches(dataset.len(), 3, seed=2))
    small = tiny.dataset.slots
    mapped = range(small.allocator(0).memory.ctypes.data, small.allocator(0).memory.ctypes.data + 4 * 4096)
    for batch, idx in zip(tiny, order):  # too small: the usual hand-over
        assert_same_batch(batch, read_batch(dataset, idx))
        assert batch.edge_attr.data_ptr() not in mapped
    assert not small.state.any()


def test_workers_run_on_into_the_next_epoch_yet_each_iteration_is_one_whole_epoch(steady):
    dataset = open_dataset(steady)
    in_process = batch_loader(dataset, 2, seed=5)
    epochs = [[b.sample_id.tolist() for b in in_process] for _ in range(6)]
    assert len(epochs[0]) == 4 and epochs[0] != epochs[1]
    workers = batch_loader(dataset, 2, seed=5, num_workers=2)
    assert len(workers) == 4
    for epoch in range(6):
        if epoch % 2 == 0:  # leave the epoch after its first batch
            assert [next(iter(workers)).sample_id.tolist()] == epochs[epoch][:1]
        else:
            assert [b.sample_id.tolist() for b in workers] == epochs[epoch]  # the next epoch, whole
    # batches left unseen gave their slots back: only those in flight (at most 2 per worker) hold one
    assert workers.dataset.slots.state.sum() <= 4


def test_a_damaged_edge_list_is_caught_when_read_as_a_view(steady, tmp_path):
    damaged = tmp_path / "shard.h5"
    shutil.copy(steady / "shard-00000.h5", damaged)
    with h5py.File(damaged, "r") as f:  # a byte of sample 1's targets (second row of edge_index)
        length = f["edge_index"].shape[1]
        position = f["edge_index"].id.get_offset() + 8 * (length + int(f["edge_offsets"][1])) + 1
    raw = bytearray(damaged.read_bytes())
    raw[position] ^= 0x01
    damaged.write_bytes(bytes(raw))
    with ShardReader(damaged) as reader:
        assert np.array_equal(reader.sample(0, views=True).edge_index, reader.sample(0).edge_index)
        for views in (False, True):
            with pytest.raises(DatasetError, match=r"sample 1 \(train index 1\): corrupted data: 'edge_index'"):
                reader.sample(1, views=views)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_read_batch_in_other_dtypes(steady, dtype):
    dataset = open_dataset(steady)
    batch, reference = read_batch(dataset, [4, 0, 6], dtype=dtype), read_batch(dataset, [4, 0, 6])
    assert batch.pos.dtype == batch.edge_attr.dtype == batch.x.dtype == dtype
    assert torch.equal(batch.pos, reference.pos64.to(dtype)) and torch.equal(batch.edge_index, reference.edge_index)
    assert torch.equal(batch.edge_attr, edge_attributes(batch.pos, batch.edge_index))
    # positions in [0, 1] rounded to the dtype (the reference's float32): off by a few eps at most
    error = (batch.edge_attr.double() - reference.edge_attr.double()).abs().max()
    assert error <= 4 * max(torch.finfo(dtype).eps, torch.finfo(torch.float32).eps)


def test_a_batch_may_span_more_shards_than_are_kept_open(steady):
    dataset = open_dataset(steady, max_open_shards=1)
    assert_same_batch(read_batch(dataset, [6, 0, 3, 4]), Batch.from_data_list([dataset[i] for i in [6, 0, 3, 4]]))


def test_epochs_stay_whole_through_worker_errors_empty_epochs_and_samplers_of_ones_own(steady, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(steady, damaged)
    with h5py.File(damaged / "shard-00000.h5", "r") as f:  # a byte of sample 2's u
        position = f["fields/u"].id.get_offset() + 8 * int(f["point_offsets"][2]) + 3
    raw = bytearray((damaged / "shard-00000.h5").read_bytes())
    raw[position] ^= 0x40
    (damaged / "shard-00000.h5").write_bytes(bytes(raw))
    loader = batch_loader(open_dataset(damaged), 1, shuffle=False, num_workers=1)
    for _ in range(3):  # the failed batch counts as drawn: every epoch starts at item 0
        seen = []
        with pytest.raises(DatasetError, match="sample 2"):
            for batch in loader:
                seen.append(batch.sample_id.item())
        assert seen == [0, 1]
    dataset = open_dataset(steady)
    assert list(batch_loader(dataset, 8, drop_last=True, num_workers=1)) == []  # no batch, no hang
    own = batch_loader(dataset, 2, num_workers=1, sampler=EpochBatches(dataset.len(), 2, seed=3))
    for _ in range(3):  # left early: torch drops the prefetched batches unseen
        next(iter(own))
    assert len([b.num_graphs for b in own]) == 4  # a whole epoch gives their slots back
    assert not own.dataset.slots.state.any()
