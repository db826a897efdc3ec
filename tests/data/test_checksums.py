"""Corrupted shards raise DatasetError naming the shard (and the sample and array), through the
Python API and `meshsim verify`; schema-3 checksums, schema-2 sha256 checks."""
import re
import shutil

import h5py
import numpy as np
import pytest

from meshsim.data import DatasetError, ShardReader, generate, read_meta, verify, write_shard
from meshsim.data import open as open_dataset
from meshsim.data import shard_reader
from meshsim.data.cli import add_commands
from meshsim.data.store import write_json_atomic

#: per-sample arrays of the toy trajectory shards -> (offsets dataset, axis along which samples lie)
PER_SAMPLE = {"points": ("point_offsets", 0), "cells": ("cell_offsets", 0), "node_type": ("point_offsets", 0),
              "edge_index": ("edge_offsets", 1), "fields/u": ("point_offsets", 0), "fields/k": ("point_offsets", 0),
              "boundary/bottom/facets": ("boundary/bottom/offsets", 0)}
#: arrays read whole when a shard is opened
WHOLE = ["index", "seed", "point_offsets", "cell_offsets", "edge_offsets", "times", "params/a",
         "boundary/bottom/offsets"]


@pytest.fixture(scope="module")
def clean(toy_module, tmp_path_factory):
    """3 train trajectories of 4 frames in shards of 2 (train index 1 is sample 1 of shard 0)."""
    folder = tmp_path_factory.mktemp("clean")
    generate(toy_module(train=3, valid=0, num_frames=4), folder, progress=False)
    return folder


def _flip(path, name, sample=None):
    """Flip one byte of dataset ``name`` in shard ``path``: in ``sample``'s slice, or in its
    entry 1 (arrays read whole)."""
    with h5py.File(path, "r") as f:
        data = f[name]
        position = data.id.get_offset()
        row = data.dtype.itemsize * int(np.prod(data.shape[1:]))
        if sample is None:
            position += row * (1 if data.shape[0] > 1 else 0) + 3
        else:
            offsets, axis = PER_SAMPLE[name]
            start = int(f[offsets][sample])
            position += (start * data.dtype.itemsize if axis == 1 else start * row) + 3
    raw = bytearray(path.read_bytes())
    raw[position] ^= 0x40
    path.write_bytes(bytes(raw))


def _copy(clean, tmp_path):
    folder = tmp_path / "d"
    shutil.copytree(clean, folder)
    return folder


@pytest.mark.parametrize("name", PER_SAMPLE)
def test_a_flipped_byte_in_a_samples_array_names_the_shard_sample_and_array(clean, tmp_path, name):
    folder = _copy(clean, tmp_path)
    shard = folder / "shard-00000.h5"
    _flip(shard, name, sample=1)
    where = f"{shard}: sample 1 (train index 1): corrupted data: '{name}'"
    dataset = open_dataset(folder, history=1, horizon=1)  # 3 windows per trajectory
    with pytest.raises(DatasetError, match=f"^{re.escape(where)}"):
        dataset.trajectory(1)
    errors = []
    for i in range(len(dataset)):
        try:
            dataset[i]
        except DatasetError as error:
            errors.append((i, str(error)))
    assert errors and all(message.startswith(where) for _, message in errors)
    assert {i // 3 for i, _ in errors} == {1}  # the other trajectories read as before
    problems = verify(folder)
    assert problems and all(p.startswith(f"{shard}: ") for p in problems) and where in "\n".join(problems)


@pytest.mark.parametrize("name", WHOLE)
def test_a_flipped_byte_in_an_array_read_at_opening_names_the_shard(clean, tmp_path, name):
    folder = _copy(clean, tmp_path)
    shard = folder / "shard-00000.h5"
    _flip(shard, name)
    dataset = open_dataset(folder, history=1, horizon=1)
    with pytest.raises(DatasetError, match=f"^{re.escape(str(shard))}: corrupted shard: '{name}' does not match"):
        dataset[0]
    with pytest.raises(DatasetError, match=f"^{re.escape(str(shard))}: corrupted shard"):
        dataset.trajectory(1)
    dataset[len(dataset) - 1]  # shard 1 is sound
    assert [p.startswith(f"{shard}: ") for p in verify(folder)] == [True, True]  # sha256 and the array


def test_meshsim_verify_names_the_damaged_shard(clean, tmp_path, capsys):
    import argparse

    folder = _copy(clean, tmp_path)
    _flip(folder / "shard-00001.h5", "fields/u", sample=0)
    parser = argparse.ArgumentParser(prog="meshsim")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["verify", str(folder)])
    assert args.func(args) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{folder / 'shard-00001.h5'}: sha256")
    assert lines[1].startswith(f"{folder / 'shard-00001.h5'}: sample 0 (train index 2): corrupted data: 'fields/u'")


def _snapshot(path) -> list:
    """Everything a reader returns from a shard, as bytes."""
    with ShardReader(path) as reader:
        reader.check_all()
        out = [reader.split, reader.shard, reader.first_index, reader.num_requested, reader.indices.tobytes(),
               reader.seeds.tobytes(), reader.failures]
        for i in range(len(reader)):
            for sample in (reader.sample(i), reader.sample(i, frames=slice(1, 3))):
                out += [sample.points.tobytes(), sample.cells.tobytes(), sample.node_type.tobytes(),
                        sample.edge_index.tobytes(), sample.times.tobytes()]
                out += [(k, v.tobytes()) for group in (sample.boundary, sample.fields, sample.params)
                        for k, v in group.items()]
    return out


def test_every_byte_of_a_shard_is_checked(clean, tmp_path):
    """A flipped byte anywhere in a shard (every 41st tried: data, HDF5 metadata, attributes)
    raises DatasetError or changes nothing a reader returns; never different data."""
    shard = clean / "shard-00001.h5"
    expected, raw = _snapshot(shard), shard.read_bytes()
    damaged, outcomes = tmp_path / "shard.h5", {"error": 0, "same": 0}
    for position in range(0, len(raw), 41):
        flipped = bytearray(raw)
        flipped[position] ^= 0x5A
        damaged.write_bytes(bytes(flipped))
        try:
            same = _snapshot(damaged) == expected
        except DatasetError as error:
            assert str(error).startswith(f"{damaged}: ")
            outcomes["error"] += 1
            continue
        assert same, f"byte {position} changed the data silently"
        outcomes["same"] += 1
    assert outcomes["error"] > 0.5 * len(raw) / 41


def test_schema_2_datasets_are_checked_against_their_sha256_once_per_process(clean, tmp_path, monkeypatch):
    folder = _copy(clean, tmp_path)
    meta = read_meta(folder)
    for record in meta["shards"]:
        path = folder / record["file"]
        with ShardReader(path) as reader:
            samples = [reader.sample(i) for i in range(len(reader))]
            args = dict(split=reader.split, shard=reader.shard, first_index=reader.first_index,
                        num_requested=reader.num_requested, indices=reader.indices, seeds=reader.seeds, failures=[])
        record["sha256"] = write_shard(path, samples=samples, schema_version=2, **args)
    meta["schema_version"] = 2
    write_json_atomic(folder / "meta.json", meta)
    hashed = []
    real = shard_reader.sha256_file
    monkeypatch.setattr(shard_reader, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    dataset = open_dataset(folder, history=1, horizon=1, max_open_shards=1)
    first = dataset[0]
    dataset[len(dataset) - 1], dataset[1]  # shard 0 closed, then opened again
    assert hashed == ["shard-00000.h5", "shard-00001.h5"]
    assert torch_equal(dataset[0].x, first.x)
    with h5py.File(folder / "shard-00000.h5", "r") as f:
        assert f.attrs["schema_version"] == 2 and "checksums" not in f
    _flip(folder / "shard-00000.h5", "fields/u", sample=1)
    with pytest.raises(DatasetError, match=r"shard-00000.h5: corrupted shard: sha256 \w+\.\.\. differs from "
                                           r"meta.json's \w+\.\.\. \(run `meshsim verify`"):
        open_dataset(folder, history=1, horizon=1)[0]


def torch_equal(a, b) -> bool:
    return bool((a == b).all())
