"""Tests of meshsim/data/cli.py (named test_data_cli so it does not clash with tests/test_cli.py)."""
import argparse
import os
from pathlib import Path

import pytest

from meshsim.data import runner
from meshsim.data.cli import add_commands


def _run(argv, plot_mesh=None):
    parser = argparse.ArgumentParser(prog="meshsim")
    add_commands(parser.add_subparsers(dest="command", required=True), plot_mesh=plot_mesh)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def recipe_file(toy, tmp_path):
    toy()  # registers the toy problem
    path = tmp_path / "toy.toml"
    path.write_text('name = "toy"\nproblem = "toy"\nsamples_per_shard = 2\n[splits]\ntrain = 3\nvalid = 1\n')
    return path


def test_generate_inspect_verify(recipe_file, tmp_path, capsys):
    out = tmp_path / "d"
    assert _run(["generate", str(recipe_file), "--out", str(out), "--quiet", "--num-samples", "8", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "# toy" in text and "train 6/6, valid 2/2" in text and "field statistics" in text
    drawn = []
    assert _run(["inspect", str(out), "--num-plots", "2"],
                plot_mesh=lambda mesh, field, path, title: drawn.append((mesh.num_points, len(field), path))) == 0
    assert [d[0] == d[1] for d in drawn] == [True, True] and drawn[0][2] == out / "plots" / "toy-00000.png"
    assert _run(["verify", str(out)]) == 0
    (out / "shard-00002.h5").write_bytes(b"broken")
    assert _run(["verify", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"{out / 'shard-00002.h5'}: sha256") for line in lines)
    assert any(line.startswith(f"{out / 'shard-00002.h5'}: cannot open shard") for line in lines)


def test_bad_recipe_fails_before_any_work_naming_the_key(recipe_file, tmp_path, capsys):
    recipe_file.write_text(recipe_file.read_text() + "[params]\nwidth = 3\n")
    assert _run(["generate", str(recipe_file), "--out", str(tmp_path / "d"), "--quiet"]) == 2
    assert "unknown key 'width'" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
    assert _run(["generate", str(recipe_file), "--out", str(tmp_path / "d"), "--num-samples", "0"]) == 2
    assert _run(["verify", str(tmp_path / "nothing")]) == 1


def _unwritable(tmp_path) -> Path:
    """A dataset folder this process cannot create (root may write anywhere but /sys)."""
    if os.geteuid() != 0:
        parent = tmp_path / "read-only"
        parent.mkdir()
        parent.chmod(0o500)
        return parent / "data"
    if Path("/sys").is_dir():
        return Path("/sys/meshsim-test/data")
    pytest.skip("no folder this (root) process cannot write")


def test_output_and_scheduler_errors_are_one_line(recipe_file, tmp_path, capsys, monkeypatch):
    existing = tmp_path / "notes.txt"
    existing.write_text("x")
    unwritable = _unwritable(tmp_path)
    cases = {existing: f"{existing}: is a file; the output of generate is a folder",
             existing / "data": f"{existing / 'data'}: cannot write the dataset there (Not a directory)",
             unwritable: f"{unwritable}: cannot write the dataset there ("}
    for out, message in cases.items():
        assert _run(["generate", str(recipe_file), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"meshsim generate: error: {message}") and err.count("\n") == 1, err
    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT_S", 1.0)
    out = tmp_path / "d"
    assert _run(["generate", str(recipe_file), "--out", str(out), "--quiet", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("meshsim generate: error: cannot reach the Dask scheduler at tcp://127.0.0.1:1 within 1 s")
    assert err.count("\n") == 1
    assert _run(["verify", str(existing)]) == 1
    assert capsys.readouterr().out.startswith(f"{existing}: not a folder")
