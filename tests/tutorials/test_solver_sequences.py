"""The solver-sequences tutorial's smoke budget runs end to end and writes its tables and plot."""
import json


def test_smoke_budget_writes_results_and_regret_plot(tmp_path, run_tutorial):
    results = run_tutorial("solver_sequences", ["--smoke", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["budget"]["name"] == "smoke" and written["table"] == results["table"]
    darcy, heat = written["darcy"], written["heat"]
    for part, count in ((darcy, 12), (heat, 8)):
        assert part["direct"]["iterations"] == 0
        assert all(len(part[name]["per_system_iterations"]) == count for name in ("gmres", "skr", "bandit_sor"))
        assert all(part[name]["max_rel_error"] < 1e-6 for name in ("amg_cg", "gmres", "skr", "bandit_sor", "omega_1"))
        assert len(part["regret"]) == count
        assert part["regret"][-1] == part["bandit_sor"]["iterations"] - part["best_fixed_omega"]["iterations"]
        # recycling needs fewer iterations than GMRES(40) on the same systems
        assert part["skr"]["iterations"] < part["gmres"]["iterations"]
    assert min(darcy["fixed_omega_totals"].values()) == darcy["best_fixed_omega"]["iterations"]
    assert "GMRES(40) 9,610 vs SKR 613" in written["published"]["skr"]
    assert (tmp_path / "regret.png").stat().st_size > 10_000
