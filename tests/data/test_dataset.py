import dataclasses
import pickle

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from meshsim.data import DatasetError, ShardReader, generate, read_meta, verify, write_shard
from meshsim.data import open as open_dataset
from meshsim.data.store import write_json_atomic
from meshsim.graph import assert_same_graph, from_mesh, mesh_edge_index
from meshsim.mesh import Mesh


@pytest.fixture
def steady(toy, tmp_path):
    generate(toy(train=5, valid=2), tmp_path, progress=False)
    return tmp_path


@pytest.fixture
def trajectories(toy, tmp_path):
    generate(toy(train=3, valid=1, num_frames=6), tmp_path, progress=False)
    return tmp_path


def test_graphs_hold_the_stored_sample(steady):
    dataset = open_dataset(steady, split="train")
    assert len(dataset) == 5 and len(open_dataset(steady, split="valid")) == 2
    with ShardReader(steady / "shard-00001.h5") as reader:
        sample = reader.sample(1)  # train index 3
    graph = dataset[3]
    assert graph.num_nodes == sample.num_nodes
    np.testing.assert_array_equal(graph.pos64.numpy(), sample.points)
    np.testing.assert_array_equal(graph.x.numpy(), sample.fields["k"].astype(np.float32))
    np.testing.assert_array_equal(graph.y.numpy(), sample.fields["u"].astype(np.float32))
    np.testing.assert_array_equal(graph.node_type.numpy(), sample.node_type)
    np.testing.assert_array_equal(graph.edge_index.numpy(), mesh_edge_index(sample.cells, sample.num_nodes))
    a = float(sample.params["a"])
    np.testing.assert_allclose(graph.params.numpy(), [[a, a, 2 * a]], rtol=1e-6)  # params a, ab in name order
    assert graph.sample_id.item() == 3


def test_only_the_shards_read_are_opened(steady):
    dataset = open_dataset(steady, split="train", max_open_shards=2)
    dataset[4]
    assert list(dataset._readers) == ["shard-00002.h5"]
    dataset[0], dataset[2]
    assert list(dataset._readers) == ["shard-00000.h5", "shard-00001.h5"]  # the oldest one closed
    assert pickle.loads(pickle.dumps(dataset))._readers == {}


def test_trajectory_windows(trajectories):
    dataset = open_dataset(trajectories, split="train", history=2, horizon=3)
    windows = 6 - 2 - 3 + 1
    assert len(dataset) == 3 * windows
    with ShardReader(trajectories / "shard-00000.h5") as reader:
        sample = reader.sample(1)  # train index 1
    graph = dataset[windows + 1]  # second window of sample 1: history frames 1, 2 and targets 3, 4, 5
    u = sample.fields["u"][:, :, 0].astype(np.float32)  # (T, N)
    np.testing.assert_array_equal(graph.x.numpy(), np.column_stack([u[1], u[2], sample.fields["k"].astype(np.float32)]))
    np.testing.assert_array_equal(graph.y.numpy(), u[3:6].T)
    assert graph.t.item() == 2 and graph.time.item() == pytest.approx(sample.times[2])
    assert graph.x_fields == [("u", (2, 1)), ("k", (2,))] and graph.y_fields == [("u", (3, 1))]
    with pytest.raises(DatasetError, match="too few for history 4 \\+ horizon 3"):
        open_dataset(trajectories, history=4, horizon=3)
    with pytest.raises(DatasetError, match="target 'k' is constant in time"):
        open_dataset(trajectories, targets=["k"])


def test_whole_trajectory_of_a_sample(trajectories):
    dataset = open_dataset(trajectories, split="train", history=2, horizon=1)
    assert dataset.num_samples == 3
    with ShardReader(trajectories / "shard-00000.h5") as reader:
        sample = reader.sample(1)  # train index 1
    item = dataset.trajectory(1)
    np.testing.assert_array_equal(item.fields["u"], sample.fields["u"])
    np.testing.assert_array_equal(item.fields["k"], sample.fields["k"])
    np.testing.assert_array_equal(item.times, sample.times)
    assert item.params["a"] == pytest.approx(float(sample.params["a"]))
    np.testing.assert_array_equal(item.graph.x.numpy(), dataset[dataset.windows].x.numpy())  # its first window
    with pytest.raises(IndexError, match="sample 3 out of range for 3 samples"):
        dataset.trajectory(3)


def test_dataloader_with_worker_processes(steady):
    dataset = open_dataset(steady, split="train")
    loader = DataLoader(dataset, batch_size=2, shuffle=False, num_workers=2)
    batches = list(loader)
    assert [b.num_graphs for b in batches] == [2, 2, 1]
    assert torch.equal(torch.cat([b.sample_id for b in batches]), torch.arange(5))
    assert torch.equal(batches[1].y, torch.cat([dataset[2].y, dataset[3].y]))


def test_bad_requests_raise_dataset_error(steady, tmp_path_factory):
    with pytest.raises(DatasetError, match="no split 'test'"):
        open_dataset(steady, split="test")
    with pytest.raises(DatasetError, match="no field 'v'"):
        open_dataset(steady, targets=["v"])
    with pytest.raises(DatasetError, match="no meta.json"):
        open_dataset(tmp_path_factory.mktemp("empty"))


def test_graphs_equal_from_mesh_attribute_by_attribute(steady):
    with ShardReader(steady / "shard-00001.h5") as reader:
        assert reader.schema_version == 3
        sample = reader.sample(1)  # train index 3
    graph = open_dataset(steady, split="train")[3]
    expected = from_mesh(Mesh(sample.points, sample.cells, sample.boundary), fields={"k": sample.fields["k"]},
                         targets={"u": sample.fields["u"]})
    assert_same_graph(graph, expected, same_keys=False)
    assert set(graph.keys()) - set(expected.keys()) == {"params", "sample_id"}


def test_windows_equal_from_mesh_attribute_by_attribute(trajectories):
    with ShardReader(trajectories / "shard-00000.h5") as reader:
        sample = reader.sample(1)  # train index 1
    graph = open_dataset(trajectories, split="train", history=2, horizon=3)[3]  # window t = 2 of sample 1
    u = sample.fields["u"]
    expected = from_mesh(Mesh(sample.points, sample.cells, sample.boundary),
                         fields={"u": u[1:3], "k": sample.fields["k"]}, targets={"u": u[3:6]})
    assert_same_graph(graph, expected, same_keys=False)
    assert set(graph.keys()) - set(expected.keys()) == {"params", "sample_id", "t", "time"}


def _downgrade_to_schema_1(folder):
    """Rewrite every shard of ``folder`` in the previous store schema (no edges), as an older
    meshsim wrote it, and record the new checksums in meta.json."""
    meta = read_meta(folder)
    for record in meta["shards"]:
        path = folder / record["file"]
        with ShardReader(path) as reader:
            samples = [reader.sample(i) for i in range(len(reader))]
            args = dict(split=reader.split, shard=reader.shard, first_index=reader.first_index,
                        num_requested=reader.num_requested, indices=reader.indices, seeds=reader.seeds,
                        failures=reader.failures)
        record["sha256"] = write_shard(path, samples=samples, schema_version=1, **args)
    meta["schema_version"] = 1
    write_json_atomic(folder / "meta.json", meta)


def test_datasets_of_schema_1_still_load_and_verify(toy, tmp_path):
    recipe = toy(train=5, valid=2)
    generate(recipe, tmp_path / "new", progress=False)
    generate(recipe, tmp_path / "old", progress=False)
    _downgrade_to_schema_1(tmp_path / "old")
    with ShardReader(tmp_path / "old" / "shard-00000.h5") as reader:
        assert reader.schema_version == 1
    assert verify(tmp_path / "old") == [] and verify(tmp_path / "new") == []
    old, new = open_dataset(tmp_path / "old"), open_dataset(tmp_path / "new")
    for i in range(len(new)):
        assert_same_graph(old[i], new[i])
    batch = next(iter(DataLoader(old, batch_size=5, num_workers=0)))
    assert torch.equal(batch.edge_index, next(iter(DataLoader(new, batch_size=5))).edge_index)


def test_verify_finds_stored_edges_that_do_not_match_the_cells(steady):
    """A shard written with wrong edges (a writer's bug, not damage: its checksums match)."""
    path = steady / "shard-00000.h5"
    with ShardReader(path) as reader:
        samples = [reader.sample(i) for i in range(len(reader))]
        args = dict(split=reader.split, shard=reader.shard, first_index=reader.first_index,
                    num_requested=reader.num_requested, indices=reader.indices, seeds=reader.seeds, failures=[])
    edges = samples[0].edge_index.copy()
    edges[:, :2] = edges[:, 1::-1]  # swap the first two edges
    samples[0] = dataclasses.replace(samples[0], edge_index=edges)
    meta = read_meta(steady)
    meta["shards"][0]["sha256"] = write_shard(path, samples=samples, **args)
    write_json_atomic(steady / "meta.json", meta)
    assert verify(steady) == [f"{path}: stored edge_index of its first sample differs from the edges of its cells"]
