import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from meshsim.data import DatasetError, Sample, ShardReader, sha256_file, write_shard
from meshsim.data.store import Failure
from meshsim.graph import mesh_edge_index


def _sample(rng, n=7, frames=None):
    """A random 2D sample of n points and n - 2 fan triangles; frames > 0 makes a trajectory."""
    cells = np.stack([np.zeros(n - 2, int), np.arange(1, n - 1), np.arange(2, n)], axis=1)
    times = None if frames is None else np.linspace(0, 1, frames)
    u = rng.standard_normal((n, 2) if frames is None else (frames, n, 2))
    return Sample(points=rng.random((n, 2)), cells=cells,
                  boundary={"outer": [[0, 1], [n - 1, 0]], **({"hole_0": [[2, 3]]} if n % 2 else {})},
                  node_type=rng.integers(0, 8, n), fields={"u": u, "k": rng.random(n)},
                  params={"a": rng.random(), "v": rng.random(3)}, times=times)


def _write(path, samples, failures=()):
    return write_shard(path, split="train", shard=3, first_index=10, num_requested=len(samples) + len(failures),
                       samples=samples, indices=[10 + i for i in range(len(samples))],
                       seeds=[2**63 + i for i in range(len(samples))], failures=list(failures))


def _assert_same(a: Sample, b: Sample):
    for name in ("points", "cells", "node_type"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.boundary.keys() == b.boundary.keys() and a.fields.keys() == b.fields.keys()
    for key in a.boundary:
        np.testing.assert_array_equal(a.boundary[key], b.boundary[key])
    for key in a.fields:
        np.testing.assert_array_equal(a.fields[key], b.fields[key])
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert (a.times is None) == (b.times is None)


@pytest.mark.parametrize("frames", [None, 4])
def test_samples_round_trip_exactly(tmp_path, frames):
    rng = np.random.default_rng(0)
    samples = [_sample(rng, n, frames) for n in (5, 8, 6)]
    failures = [Failure(13, 2**64 - 1, "FEMError: é nope")]
    checksum = _write(tmp_path / "s.h5", samples, failures)
    assert checksum == sha256_file(tmp_path / "s.h5")
    with ShardReader(tmp_path / "s.h5") as reader:
        assert len(reader) == 3 and reader.split == "train" and reader.first_index == 10
        assert reader.indices.tolist() == [10, 11, 12] and reader.seeds[0] == 2**63
        assert reader.failures == failures
        assert reader.node_counts.tolist() == [5, 8, 6]
        for i, sample in enumerate(samples):
            _assert_same(reader.sample(i), sample)
        assert reader.sample(1).fields["k"].shape == (8, 1)
        if frames:
            window = reader.sample(2, fields=["u"], frames=slice(1, 3))
            np.testing.assert_array_equal(window.fields["u"], samples[2].fields["u"][1:3])
            np.testing.assert_array_equal(window.times, samples[2].times[1:3])
        with pytest.raises(IndexError):
            reader.sample(3)
    assert not list(tmp_path.glob(".*tmp"))


def test_same_samples_give_the_same_bytes_at_another_time(tmp_path):
    rng = np.random.default_rng(1)
    samples = [_sample(rng, 6, 3), _sample(rng, 7, 3)]
    first = _write(tmp_path / "a.h5", samples)
    time.sleep(1.1)  # HDF5 timestamps have a resolution of one second
    assert _write(tmp_path / "b.h5", samples) == first


def test_shard_of_only_failures_reads_as_empty(tmp_path):
    _write(tmp_path / "s.h5", [], [Failure(0, 1, "boom")])
    with ShardReader(tmp_path / "s.h5") as reader:
        assert len(reader) == 0 and reader.failures == [Failure(0, 1, "boom")]


def test_truncated_or_foreign_files_raise_dataset_error_naming_the_file(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "shard-00000.h5"
    _write(path, [_sample(rng, 9, 5) for _ in range(4)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="shard-00000.h5"):
        with ShardReader(path) as reader:
            [reader.sample(i) for i in range(len(reader))]
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5" * 100)
    with pytest.raises(DatasetError, match="garbage.h5: cannot open shard"):
        ShardReader(garbage)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    with pytest.raises(DatasetError, match="foreign.h5: schema version None"):
        ShardReader(foreign)


def test_samples_of_a_shard_must_agree(tmp_path):
    rng = np.random.default_rng(3)
    with pytest.raises(DatasetError, match="differ"):
        _write(tmp_path / "s.h5", [_sample(rng, 5), _sample(rng, 5, 3)])


def test_sample_checks_field_shapes_and_reports_non_finite_values():
    rng = np.random.default_rng(4)
    sample = _sample(rng, 6)
    assert sample.non_finite() is None
    bad = Sample(sample.points, sample.cells, sample.boundary, sample.node_type,
                 {"u": np.full(6, np.inf)}, {"a": np.nan})
    assert bad.non_finite() == "non-finite values in field 'u' (6 of 6 entries)"
    with pytest.raises(ValueError, match="field 'u' has shape"):
        Sample(sample.points, sample.cells, {}, sample.node_type, {"u": np.zeros(5)})


def test_shards_store_each_samples_edges_sorted_by_target(tmp_path):
    rng = np.random.default_rng(5)
    samples = [_sample(rng, n) for n in (5, 8, 6)]
    _write(tmp_path / "s.h5", samples)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert f.attrs["schema_version"] == 3
        # a fan of n - 2 triangles has 2n - 3 edges, 4n - 6 directed ones
        assert f["edge_offsets"][()].tolist() == [0, 14, 40, 58] and f["edge_index"].shape == (2, 58)
    with ShardReader(tmp_path / "s.h5") as reader:
        assert reader.schema_version == 3
        for i, sample in enumerate(samples):
            edges = reader.sample(i).edge_index
            assert edges.dtype == np.int64
            np.testing.assert_array_equal(edges, mesh_edge_index(sample.cells, sample.num_nodes))


def test_schema_1_shards_are_read_with_edges_computed_from_the_cells(tmp_path):
    rng = np.random.default_rng(6)
    samples = [_sample(rng, n, 3) for n in (7, 5)]
    write_shard(tmp_path / "old.h5", split="train", shard=0, first_index=0, num_requested=2, samples=samples,
                indices=[0, 1], seeds=[1, 2], failures=[], schema_version=1)
    with h5py.File(tmp_path / "old.h5", "r") as f:
        assert f.attrs["schema_version"] == 1 and "edge_index" not in f and "edge_offsets" not in f
    with ShardReader(tmp_path / "old.h5") as reader:
        assert reader.schema_version == 1
        for i, sample in enumerate(samples):
            _assert_same(reader.sample(i), sample)
            np.testing.assert_array_equal(reader.sample(i).edge_index, mesh_edge_index(sample.cells, sample.num_nodes))


def test_unknown_schema_versions_and_bad_edges_raise_dataset_error(tmp_path):
    rng = np.random.default_rng(7)
    samples = [_sample(rng, 6), _sample(rng, 5)]
    with pytest.raises(DatasetError, match="cannot write schema version 4"):
        write_shard(tmp_path / "s.h5", split="train", shard=0, first_index=0, num_requested=2, samples=samples,
                    indices=[0, 1], seeds=[1, 2], failures=[], schema_version=4)
    _write(tmp_path / "s.h5", samples)
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        edges = f["edge_index"][()]
        del f["edge_index"]
        f["edge_index"] = edges[:, :-1]
    with pytest.raises(DatasetError, match="s.h5: edge_index of shape \\(2, 31\\) does not match the edge offsets"):
        ShardReader(tmp_path / "s.h5")
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        f.attrs["schema_version"] = 4
    with pytest.raises(DatasetError, match="s.h5: schema version 4, this meshsim reads versions 1, 2, 3"):
        ShardReader(tmp_path / "s.h5")
    with pytest.raises(ValueError, match="edge_index has shape \\(3, 2\\)"):
        Sample(samples[0].points, samples[0].cells, {}, samples[0].node_type, {}, edge_index=np.zeros((3, 2)))


def test_writing_a_shard_does_not_import_torch(tmp_path):
    """Generation workers store edges without paying for importing torch."""
    code = ("import sys, numpy as np\n"
            "from meshsim.data import Sample, write_shard\n"
            "s = Sample(np.random.rand(4, 2), [[0, 1, 2], [1, 3, 2]], {}, np.zeros(4), {'u': np.zeros(4)})\n"
            f"write_shard({str(tmp_path / 's.h5')!r}, split='train', shard=0, first_index=0, num_requested=1,\n"
            "            samples=[s], indices=[0], seeds=[0], failures=[])\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    with ShardReader(tmp_path / "s.h5") as reader:
        assert reader.sample(0).edge_index.shape == (2, 10)
