"""The mesh-movement tutorial's smoke budget runs end to end: demo figures, data, both learned
movers trained and exported, the ER table written."""
import json

import pytest

from meshsim.learned_movement import LearnedMover


def test_smoke_budget_writes_results_and_models(tmp_path, run_tutorial):
    summary = run_tutorial("mesh_movement_helmholtz", ["--smoke", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["budget"]["name"] == "smoke" and written["runtime_s"] > 0
    demo, published = written["demo"], written["published"]
    for key in ("uniform_l2", "ma_exact_hessian_l2", "ma_resolved_hessian_l2"):
        assert demo[key] == pytest.approx(published[key], rel=0.1)
    assert list(written["results"]) == ["h0.1", "h0.08"]
    for split in written["results"].values():
        assert split["meshes"] == 2 and split["ma_er_pct"] > 0 and split["ma_s_per_mesh"] > 0
        for name in ("um2n", "dmm"):
            assert split[f"{name}_tangled"] in (0, 1, 2) and split[f"{name}_s_per_mesh"] > 0
    assert written["results"] == summary["results"]
    for kind in ("um2n", "dmm"):
        assert LearnedMover(tmp_path / f"{kind}_helmholtz.pth").kind == kind
