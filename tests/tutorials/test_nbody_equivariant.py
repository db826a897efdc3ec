"""The N-body tutorial's smoke budget runs end to end, writes its results table and checkpoints, and
tools/verify_nbody.py scores those checkpoints to the tutorial's own numbers."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

VERIFY = Path(__file__).resolve().parents[2] / "tools" / "verify_nbody.py"


def test_smoke_budget_writes_results_checkpoints_and_the_tool_reproduces_them(tmp_path, run_tutorial):
    summary = run_tutorial("nbody_equivariant", ["--smoke", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert {"gnn_mse", "egnn_mse", "segno_mse", "gnn_mse_split", "budget", "runtime_s"} <= set(written)
    assert written["budget"]["name"] == "smoke" and written["runtime_s"] > 0
    for name in ("gnn", "egnn", "segno"):
        assert math.isfinite(written[f"{name}_mse"]) and written[f"{name}_mse"] == summary[f"{name}_mse"]
        assert (tmp_path / "checkpoints" / f"nbody_{name}.pth").is_file()
    # the equivariant models start from x + c v and stay far ahead of the GNN, which decodes x from scratch
    assert written["egnn_mse"] < written["gnn_mse"] and written["segno_mse"] < written["gnn_mse"]
    assert (tmp_path / "trajectories.png").stat().st_size > 10_000

    spec = importlib.util.spec_from_file_location("verify_nbody", VERIFY)
    verify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verify)
    budget = written["budget"]  # the same systems: the first of the large set and of the seed-43 test split
    scores = verify.main(["--checkpoints", str(tmp_path / "checkpoints"), "--num-systems", str(budget["num_test_large"]),
                          "--split-systems", str(budget["num_test"])])
    for name in ("gnn", "egnn", "segno"):
        assert scores[f"{name}_mse"] == pytest.approx(written[f"{name}_mse"], rel=1e-5)
        assert scores[f"{name}_mse_split"] == pytest.approx(written[f"{name}_mse_split"], rel=1e-5)
    assert scores["free_flight_mse"] > 0


def test_a_finished_model_is_reused_and_a_changed_budget_trains_again(tmp_path, run_tutorial, capsys):
    first = run_tutorial("nbody_equivariant", ["--smoke", "--models", "egnn", "--out", str(tmp_path)])
    again = run_tutorial("nbody_equivariant", ["--smoke", "--models", "egnn,gnn", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "\n  egnn: reusing" in out and "\n  gnn: reusing" not in out
    assert again["egnn_mse"] == pytest.approx(first["egnn_mse"], rel=1e-6)
    assert again["details"]["egnn"]["reused"] and "reused" not in again["details"]["gnn"]
    changed = run_tutorial("nbody_equivariant", ["--smoke", "--models", "egnn", "--epochs", "3", "--out", str(tmp_path)])
    assert "reused" not in changed["details"]["egnn"] and changed["details"]["egnn"]["best_epoch"] <= 3
