"""The MP-PDE Burgers tutorial's smoke budget runs end to end and writes its results table."""
import json
import math


def test_smoke_budget_writes_results(tmp_path, run_tutorial):
    results = run_tutorial("mp_pde_burgers", ["--smoke", "--threads", "1", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["budget"]["name"] == "smoke" and written["runtime_s"] > 0
    row = written["resolutions"]["50"]
    assert math.isfinite(row["mp_pde"]) and math.isfinite(row["weno5"])
    assert row["mp_pde"] == results["resolutions"][50]["mp_pde"]
    assert row["published"] == {"weno5": 6.23, "mp_pde": 1.67}
    assert (tmp_path / "nx50" / "metrics.jsonl").is_file() and (tmp_path / "nx50" / "loss.png").is_file()
    # WENO5 at nx = 50 against cell averages of the nx = 200 reference stays close (finite volumes)
    assert row["weno5"] < 0.5


def test_smoke_budget_on_spectral_coarse_data(tmp_path, run_tutorial):
    results = run_tutorial("mp_pde_burgers", ["--smoke", "--coarse-data", "spectral", "--resolutions", "40",
                                              "--out", str(tmp_path)])
    assert results["coarse_data"] == "spectral" and list(results["resolutions"]) == [40]
    row = results["resolutions"][40]
    assert math.isfinite(row["mp_pde"]) and math.isfinite(row["weno5"])
    assert row["published"] == {"weno5": 9.63, "mp_pde": 1.47}
