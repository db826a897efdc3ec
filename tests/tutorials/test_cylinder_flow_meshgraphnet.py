"""The cylinder_flow MeshGraphNet tutorial's smoke budget runs end to end and writes its table and GIF."""
import json
import math

from PIL import Image


def test_smoke_budget_writes_results_and_gif(tmp_path, run_tutorial):
    results = run_tutorial("cylinder_flow_meshgraphnet", ["--smoke", "--threads", "1", "--workers", "1",
                                                          "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    metrics = written["metrics"]
    assert written["budget"]["name"] == "smoke" and metrics["horizon"] == 7
    assert metrics == results["metrics"]
    assert all(math.isfinite(metrics[k]) for k in ("one_step_rmse", "rollout_rmse_7", "persistence_rmse_7"))
    assert written["published"]["rollout_rmse_50"] == 6.3e-3
    assert "persistence" in written["table"]
    with Image.open(tmp_path / "rollout.gif") as gif:
        assert gif.n_frames == 4  # 7 predicted frames, every second one
    assert (tmp_path / "run" / "metrics.jsonl").is_file()
