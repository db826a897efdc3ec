"""The GIOROM tutorial's smoke budget runs end to end and writes its table and GIFs."""
import json
import math


def test_smoke_budget_writes_results_and_gifs(tmp_path, run_tutorial):
    results = run_tutorial("giorom_mpm", ["--smoke", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["budget"]["name"] == "smoke" and written["table"] == results["table"]
    for material in ("water", "sand"):
        rows = written["materials"][material]
        for model in ("gns", "giorom_1_8", "giorom_1_32"):
            metrics = rows[model]
            assert {"mse5", "mse20", "mse_full", "seconds_per_step"} <= set(metrics)
            assert all(math.isfinite(metrics[k]) and metrics[k] > 0 for k in ("mse5", "mse20", "mse_full"))
            # errors grow along a rollout
            assert metrics["mse5"] < metrics["mse20"]
        assert rows["giorom_1_8"]["fraction"] == 0.125 and rows["giorom_1_32"]["fraction"] == 1 / 32
        assert (tmp_path / f"rollout-{material}.gif").stat().st_size > 5_000
