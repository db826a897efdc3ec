"""The MP-PDE Burgers tutorial's smoke budget runs end to end on the paper's protocol, and
tools/verify_mppde.py scores its exported model to the tutorial's own numbers."""
import importlib.util
import json
from pathlib import Path

import pytest

VERIFY = Path(__file__).resolve().parents[2] / "tools" / "verify_mppde.py"


def test_smoke_budget_writes_both_protocols_and_the_learning_curve(tmp_path, run_tutorial):
    results = run_tutorial("mp_pde_burgers", ["--smoke", "--threads", "1", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["budget"]["name"] == "smoke" and written["runtime_s"] > 0
    row = written["resolutions"]["50"]
    assert row["accumulated_error_8"] == results["resolutions"][50]["accumulated_error_8"]
    assert row["published"] == {"weno5": 6.23, "mp_pde": 1.67} and row["protocol"] == "reference"
    assert 0 < row["accumulated_error_7"] < row["accumulated_error_8"]
    assert 0 < row["weno5_accumulated_error_7"] < row["weno5_accumulated_error_8"]
    # the protocol, not the solver, makes WENO5's error: far lower on the cell-average grid
    assert row["weno5_cell_accumulated_error_8"] < 0.2 * row["weno5_accumulated_error_8"]
    assert [c["step"] for c in row["learning_curve"]] == [3, 6] and row["best_step"] in (3, 6)
    # WENO5 on finer grids filtered back: nx' = 200 is the truth's own solve, so its error vanishes
    # (1e-9: the batched solve takes other adaptive steps)
    speed = row["weno5_speed_accuracy"]
    assert [r["nx"] for r in speed] == [50, 100, 150, 200] and speed[0]["error_7"] == pytest.approx(
        row["weno5_accumulated_error_7"], rel=1e-6)  # float64 truth here, float32 in the task
    assert speed[-1]["error_8"] < 1e-6 and speed[1]["error_8"] < speed[0]["error_8"]
    assert written["deviations"] == "hidden_dim=32, num_layers=2"
    assert (tmp_path / "learning_curve.png").stat().st_size > 1000 and (tmp_path / "nx50" / "metrics.jsonl").is_file()

    # the exported best model and tools/verify_mppde.py reproduce the tutorial's numbers
    row = results["resolutions"][50]
    assert (tmp_path / "mppde_E1_nx50.pth").is_file()
    # evaluating again without training gives the same numbers (the runs are complete and intact)
    again = run_tutorial("mp_pde_burgers", ["--smoke", "--evaluate-only", "--out", str(tmp_path)])
    assert again["resolutions"][50]["accumulated_error_7"] == row["accumulated_error_7"]
    with pytest.raises(SystemExit):
        run_tutorial("mp_pde_burgers", ["--smoke", "--evaluate-only", "--out", str(tmp_path / "empty")])

    spec = importlib.util.spec_from_file_location("verify_mppde", VERIFY)
    verify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verify)
    # the same seed-0 test trajectories, regenerated: the exported model and WENO5 score as in the tutorial
    scores = verify.main(["--checkpoints", str(tmp_path), "--resolutions", "50", "--num-test",
                          str(results["budget"]["num_test"])])
    assert scores["mppde_nx50"] == pytest.approx(row["accumulated_error_7"], rel=1e-5)
    assert scores["mppde_nx50_8"] == pytest.approx(row["accumulated_error_8"], rel=1e-5)
    assert scores["weno5_nx50"] == pytest.approx(row["weno5_accumulated_error_7"], rel=1e-5)
    assert scores["steps_nx50"] == row["best_step"] and scores["deviations_nx50"] == "hidden_dim=32, num_layers=2"
