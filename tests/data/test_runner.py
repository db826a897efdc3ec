import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from meshsim.data import DatasetError, ShardReader, generate, read_meta, sample_seed, verify
from meshsim.data import runner


def _checksums(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("shard-*.h5"))}


def test_generate_writes_shards_meta_and_stats(toy, tmp_path):
    meta = generate(toy(train=5, valid=2), tmp_path / "d", progress=False)
    assert meta["complete"] and meta["counts"] == {"train": 5, "valid": 2}
    assert [s["file"] for s in meta["shards"]] == [f"shard-0000{i}.h5" for i in range(4)]
    assert [(s["split"], s["first_index"], s["num_samples"]) for s in meta["shards"]] == [
        ("train", 0, 2), ("train", 2, 2), ("train", 4, 1), ("valid", 0, 2)]
    assert meta["fields"] == {"k": {"channels": 2, "shape": ["N", 2], "time_dependent": False},
                              "u": {"channels": 1, "shape": ["N", 1], "time_dependent": False}}
    assert meta["params"] == {"a": [], "ab": [2]} and meta["inputs"] == ["k"] and meta["targets"] == ["u"]
    assert read_meta(tmp_path / "d") == json.loads(json.dumps(meta))
    # statistics of u = sin(a x) over the 5 train samples, computed directly
    values = []
    for shard in meta["shards"][:3]:
        with ShardReader(tmp_path / "d" / shard["file"]) as reader:
            for i in range(len(reader)):
                sample = reader.sample(i)
                a = float(sample.params["a"])
                assert reader.seeds[i] == sample_seed(0, "train", int(reader.indices[i]))
                np.testing.assert_allclose(sample.fields["u"][:, 0], np.sin(a * sample.points[:, 0]))
                values.append(sample.fields["u"][:, 0])
    values = np.concatenate(values)
    stats = meta["stats"]["u"]
    assert stats["count"] == len(values)
    np.testing.assert_allclose([stats["mean"][0], stats["std"][0]], [values.mean(), values.std()], rtol=1e-12)
    assert stats["min"][0] == values.min() and stats["max"][0] == values.max()
    assert verify(tmp_path / "d") == []


def test_failed_and_non_finite_samples_are_recorded_and_skipped(toy, tmp_path):
    meta = generate(toy(train=8, valid=0, per_shard=4, fail_above=2.2, nan_above=2.0), tmp_path, progress=False)
    failed = meta["failed"]
    assert failed and meta["counts"]["train"] == 8 - len(failed)
    for record in failed:
        assert record["seed"] == sample_seed(0, "train", record["index"])
        a = np.random.default_rng(record["seed"]).uniform(1.0, 3.0)
        expected = "FEMError: toy solve failed" if a > 2.2 else "non-finite values in field 'u' (1 of"
        assert record["reason"].startswith(expected), record
    kinds = {r["reason"].split(":")[0].split(" ")[0] for r in failed}
    assert kinds == {"FEMError", "non-finite"}  # this seed draws both kinds
    written = [int(i) for s in meta["shards"] for i in ShardReader(tmp_path / s["file"]).indices]
    assert sorted(written + [r["index"] for r in failed]) == list(range(8))


def test_resume_keeps_complete_shards_and_remakes_damaged_ones(toy, tmp_path, monkeypatch):
    recipe = toy(train=6, valid=0)
    generate(recipe, tmp_path, progress=False)
    clean = _checksums(tmp_path)
    (tmp_path / "shard-00001.h5").write_bytes(b"damaged")
    (tmp_path / "shard-00002.h5").unlink()
    (tmp_path / ".shard-00000.h5.abc.tmp").write_bytes(b"left by a killed run")
    made = []
    make_shard = runner.make_shard
    monkeypatch.setattr(runner, "make_shard", lambda r, task, out: made.append(task.shard) or make_shard(r, task, out))
    generate(recipe, tmp_path, progress=False)
    assert sorted(made) == [1, 2]
    assert _checksums(tmp_path) == clean and not list(tmp_path.glob(".*.tmp"))
    made.clear()
    generate(recipe, tmp_path, progress=False)
    assert made == []


def test_a_folder_of_another_recipe_is_refused(toy, tmp_path):
    generate(toy(train=2, valid=0), tmp_path, progress=False)
    with pytest.raises(DatasetError, match="holds a dataset of another recipe or seed"):
        generate(toy(train=2, valid=0, seed=1), tmp_path, progress=False)


def test_verify_names_a_corrupted_shard(toy, tmp_path):
    generate(toy(train=4, valid=2), tmp_path, progress=False)
    path = tmp_path / "shard-00001.h5"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = verify(tmp_path)
    assert len(problems) == 2 and problems[0].startswith(f"{path}: sha256")
    assert problems[1].startswith(f"{path}: corrupted shard (") and "metadata checksum" in problems[1]
    (tmp_path / "shard-00002.h5").unlink()
    assert verify(tmp_path)[2] == f"{tmp_path / 'shard-00002.h5'}: missing"


def test_dask_local_cluster_gives_the_same_shards(toy, tmp_path):
    distributed = pytest.importorskip("distributed")
    recipe = toy(train=6, valid=2)
    generate(recipe, tmp_path / "local", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        generate(recipe, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert _checksums(tmp_path / "dask") == _checksums(tmp_path / "local")
    assert (tmp_path / "dask" / "meta.json").read_bytes() == (tmp_path / "local" / "meta.json").read_bytes()


def _tiny_darcy(tmp_path, train=6):
    path = tmp_path / "tiny.toml"
    path.write_text(f'name = "tiny"\nproblem = "darcy"\nsamples_per_shard = 1\n[splits]\ntrain = {train}\n'
                    f'valid = 2\n[params]\nh = 0.1\nn_modes = 16\n')
    return path


def test_two_worker_processes_give_bit_identical_shards(tmp_path):
    recipe = _tiny_darcy(tmp_path)
    generate(recipe, tmp_path / "one", workers=1, progress=False)
    generate(recipe, tmp_path / "two", workers=2, progress=False)
    assert _checksums(tmp_path / "two") == _checksums(tmp_path / "one")
    assert (tmp_path / "two" / "meta.json").read_bytes() == (tmp_path / "one" / "meta.json").read_bytes()


def test_generation_killed_with_sigkill_resumes_to_the_same_dataset(tmp_path):
    recipe = _tiny_darcy(tmp_path, train=30)
    command = [sys.executable, "-m", "meshsim.cli", "generate", str(recipe), "--out", str(tmp_path / "killed"),
               "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = tmp_path / "killed" / "shard-00000.h5"
    deadline = time.monotonic() + 120
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    assert len(list((tmp_path / "killed").glob("shard-*.h5"))) < 32  # killed part way
    assert not read_meta(tmp_path / "killed")["complete"]
    generate(recipe, tmp_path / "killed", progress=False)
    generate(recipe, tmp_path / "clean", progress=False)
    assert _checksums(tmp_path / "killed") == _checksums(tmp_path / "clean")
    assert (tmp_path / "killed" / "meta.json").read_bytes() == (tmp_path / "clean" / "meta.json").read_bytes()
    assert verify(tmp_path / "killed") == []
