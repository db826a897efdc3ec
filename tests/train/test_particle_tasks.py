"""``meshsim train gns|giorom`` and ``meshsim evaluate`` on a tiny particle dataset of the store."""
import json

import numpy as np
import pytest

from meshsim.cli import main
from meshsim.data import Recipe, generate
from meshsim.train import load_run

TINY = {"name": "mpm_tiny", "problem": "mpm", "seed": 0, "samples_per_shard": 2,
        "splits": {"train": 2, "valid": 1, "test": 1},
        "params": {"material": "water", "n_grid": 32, "substeps_per_frame": 40, "num_frames": 12,
                   "shape_size": [0.15, 0.25], "num_shapes": [1, 2]}}
SMALL = ["--set", "latent_dim=8", "--set", "num_steps=1", "--set", "num_hidden_layers=1"]


@pytest.fixture(scope="module")
def particles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mpm") / "data"
    generate(Recipe.from_dict(TINY), folder, progress=False)
    return folder


@pytest.mark.parametrize("kind", ["gns", "giorom"])
def test_train_and_evaluate_commands_round_trip(particles, tmp_path, kind):
    run = tmp_path / kind
    extra = ["--fraction", "0.25", "--set", "grid_size=16", "--set", "fno_modes=4"] if kind == "giorom" else []
    assert main(["train", kind, "--data", str(particles), "--out", str(run), "--steps", "4", "--quiet",
                 *SMALL, *extra]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == kind and config["settings"]["latent_dim"] == 8
    assert main(["evaluate", str(run), "--split", "test", "--quiet"]) == 0
    written = json.loads((run / "evaluation-test.json").read_text())
    assert written["num_trajectories"] == 1 and written["fraction"] == (0.25 if kind == "giorom" else 1.0)
    assert 0 < written["mse5"] < written["mse_full"] and np.isfinite(written["seconds_per_step"])
    # the reloaded run gives the same numbers (the rollout is deterministic: FPS from particle 0)
    task, model = load_run(run)
    again = task.evaluate(model, "test")
    assert again["mse5"] == pytest.approx(written["mse5"], rel=1e-6)
    assert again["mse_full"] == pytest.approx(written["mse_full"], rel=1e-6)


def test_particle_tasks_reject_other_datasets(particles, tmp_path):
    assert main(["train", "gns", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert main(["train", "giorom", "--data", str(particles), "--out", str(tmp_path / "r2"), "--fraction", "2"]) != 0
