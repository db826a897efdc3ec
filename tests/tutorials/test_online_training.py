"""The online-training tutorial's smoke budget runs end to end: offline, online (simulator alongside,
nothing written), SOAP, MLP and POD baselines, and writes its table."""
import json
import math


def test_smoke_budget_writes_results(tmp_path, run_tutorial):
    results = run_tutorial("online_training", ["--smoke", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["budget"]["name"] == "smoke" and written["table"] == results["table"]
    for run in ("offline", "online", "soap", "mlp", "pod"):
        record = written[run]
        assert record["steps"] >= 1 and all(math.isfinite(record[k]) for k in ("test_rel_l2", "outside_rel_l2"))
    online = written["online"]
    assert online["simulated"] >= 4 and online["disk_bytes"] == 0 and online["unique_samples"] <= online["simulated"]
    assert written["offline"]["disk_bytes"] > 0 and written["offline"]["unique_samples"] == 8
    assert written["mlp"]["parameters"] <= written["offline"]["parameters"]
    assert written["soap"]["steps"] == written["offline"]["steps"]
    assert "Melissa" in written["table"] and "SOAP" in written["table"]
    assert (tmp_path / "runs" / "online" / "metrics.jsonl").is_file()
