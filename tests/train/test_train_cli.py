"""`meshsim train` / `meshsim evaluate` from a user's side: one-line errors for bad options, resume
with the run's own settings, damaged checkpoints skipped with a warning, progress, threads."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from meshsim.cli import main
from meshsim.data import generate, load_recipe
from meshsim.train import load_checkpoint, load_run

TINY = ["--set", "latent_dim=16", "--set", "num_steps=2"]


@pytest.fixture(scope="module")
def cylinder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cylinder_flow")
    recipe = load_recipe("cylinder_flow").with_overrides(splits={"train": 2, "valid": 1, "test": 2},
                                                         params={"h": 0.1, "h_cylinder": 0.04, "num_frames": 6})
    generate(recipe, folder, progress=False)
    return folder


@pytest.fixture(scope="module")
def trained_run(cylinder, tmp_path_factory):
    """An 8-step tiny MeshGraphNet run with checkpoints at steps 4 and 8."""
    run = tmp_path_factory.mktemp("runs") / "mgn"
    assert main(["train", "mgn", "--data", str(cylinder), "--out", str(run), "--steps", "8",
                 "--checkpoint-every", "4", "--quiet", *TINY]) == 0
    return run


def copy_run(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "SystemExit" not in err, err
    return lines[0]


def test_rerun_without_resume_names_the_flag(trained_run, cylinder, capsys):
    assert main(["train", "mgn", "--data", str(cylinder), "--out", str(trained_run), "--steps", "9", "--quiet"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "add --resume to continue it" in line and "resume=True" not in line


@pytest.mark.parametrize("options, names", [
    (["--set", "latent_dim=abc"], ["latent_dim", "takes an integer"]),
    (["--set", "latent_dim=-4"], ["latent_dim", ">= 0"]),
    (["--set", "noise_std=nan"], ["noise_std", "finite"]),
    (["--set", "width=3"], ["KEY one of latent_dim"]),
    (["--steps", "-5"], ["--steps", "must be >= 1"]),
    (["--lr", "-1"], ["--lr", "> 0"]),
    (["--batch-size", "0"], ["--batch-size", "must be >= 1"]),
    (["--threads", "0"], ["--threads", "must be >= 1"]),
])
def test_bad_options_are_one_line_errors(options, names, cylinder, tmp_path, capsys):
    assert main(["train", "mgn", "--data", str(cylinder), "--out", str(tmp_path / "r"), "--quiet", *options]) == 2
    line = one_line(capsys.readouterr().err)
    assert all(name in line for name in names), line
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_resume_refuses_fewer_steps_and_changed_settings(trained_run, capsys):
    resume = ["train", "mgn", "--out", str(trained_run), "--resume", "--quiet"]
    assert main(resume + ["--steps", "3"]) == 2
    assert "is at step 8: --steps 3 is below it" in one_line(capsys.readouterr().err)
    assert main(resume + ["--set", "latent_dim=32"]) == 2
    assert "--resume keeps the run's settings (latent_dim=16" in one_line(capsys.readouterr().err)
    assert main(resume + ["--steps", "8"]) == 0
    assert "already at step 8 of 8; nothing to train" in capsys.readouterr().out
    assert json.loads((trained_run / "config.json").read_text())["train"]["steps"] == 8


def test_damaged_checkpoint_evaluate_and_resume_fall_back_and_say_so(trained_run, tmp_path, capsys):
    run = copy_run(trained_run, tmp_path)
    step8 = run / "checkpoints" / "step-00000008.pt"
    uninterrupted = torch.load(step8, weights_only=True)["model"]
    step8.write_bytes(step8.read_bytes()[:5000])  # truncated
    assert main(["evaluate", str(run), "--max-trajectories", "1"]) == 0
    printed = capsys.readouterr()
    warning = [line for line in printed.err.splitlines() if "warning:" in line]
    assert len(warning) == 1 and "step-00000008.pt is damaged (5,000 bytes" in warning[0]
    assert "using step-00000004.pt (step 4) instead" in warning[0]
    assert "rollouts: 100%" in printed.err and "one-step: 100%" in printed.err  # progress bars
    task, model = load_run(trained_run)
    load_checkpoint(trained_run / "checkpoints" / "step-00000004.pt", model)
    saved = json.loads((run / "evaluation-test.json").read_text())
    assert saved == task.evaluate(model, "test", max_trajectories=1)  # the step-4 weights were used
    # --resume with neither --data nor --set: the run's settings; from step 4 it retrains steps 5-8
    assert main(["train", "mgn", "--out", str(run), "--resume", "--quiet"]) == 0
    assert "using step-00000004.pt" in capsys.readouterr().err
    resumed = torch.load(step8, weights_only=True)["model"]
    assert all(torch.equal(resumed[k], v) for k, v in uninterrupted.items())


def test_no_intact_checkpoint_is_a_one_line_error(trained_run, tmp_path, capsys):
    run = copy_run(trained_run, tmp_path)
    for path in (run / "checkpoints").glob("step-*.pt"):
        path.write_bytes(b"")
    assert main(["evaluate", str(run)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "no intact checkpoint" in line and "step-00000004.pt is damaged (an empty file)" in line


def test_threads_option_and_default(trained_run):
    assert main(["evaluate", str(trained_run), "--max-trajectories", "1", "--quiet", "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2  # the suite's fixture sets 1 again afterwards
    # a fresh process, as the console script runs: the environment is set before torch is imported
    code = ("import sys; from meshsim.cli import main; assert main(['evaluate', 'no-such-run']) == 2; "
            "import os, torch; print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads())")
    environment = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "PASSIVE 1"
