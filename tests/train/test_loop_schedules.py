"""The training loop's stepwise learning-rate schedule, best-validation checkpoint and step hook."""
import json

import pytest
import torch
from tiny_problems import diffusion_dataset, tiny_meshgraphnet

from meshsim.train import MeshGraphNetLoss, TrainConfig, load_checkpoint, train
from meshsim.train.best import best_checkpoint


def config(**kwargs):
    defaults = dict(steps=8, batch_size=2, lr=3e-3, progress=False, log_every=2, checkpoint_every=4, val_every=2)
    return TrainConfig(**{**defaults, **kwargs})


def test_milestones_multiply_the_learning_rate_after_their_step():
    schedule = TrainConfig(steps=100, lr=1e-4, lr_milestones=(50, 10), lr_milestone_factor=0.4)
    assert schedule.lr_milestones == (10, 50)
    rates = {step: schedule.learning_rate(step) for step in (1, 10, 11, 50, 51, 100)}
    assert rates == pytest.approx({1: 1e-4, 10: 1e-4, 11: 4e-5, 50: 4e-5, 51: 1.6e-5, 100: 1.6e-5})
    with pytest.raises(ValueError, match="lr_milestones must be steps >= 1"):
        TrainConfig(lr_milestones=(0,))


class ScriptedValidation:
    """Validation values from a list, one per call; remembers the model's state at each call."""

    def __init__(self, values):
        self.values, self.states = list(values), []

    def __call__(self, model):
        self.states.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"error": self.values[len(self.states) - 1], "other": 0.0}


def test_best_validation_checkpoint_keeps_the_lowest_metric(tmp_path):
    validate = ScriptedValidation([3.0, 1.0, 2.0, 1.5])  # steps 2, 4, 6, 8: best at step 4
    model = tiny_meshgraphnet()
    result = train(model, MeshGraphNetLoss(), diffusion_dataset(), config(best_metric="error"),
                   run_dir=tmp_path / "a", validate=validate)
    assert result.best["step"] == 4 and result.best["value"] == 1.0
    path = best_checkpoint(tmp_path / "a" / "checkpoints")
    assert path == result.best["path"]
    best = tiny_meshgraphnet(seed=5)
    state = load_checkpoint(path, best)
    assert state["step"] == 4 and state["metric"] == "error" and state["value"] == 1.0
    for name, value in validate.states[1].items():
        assert torch.equal(best.state_dict()[name], value), name
    assert any(not torch.equal(best.state_dict()[k], v) for k, v in model.state_dict().items())  # not step 8's
    saved = json.loads((tmp_path / "a" / "config.json").read_text())["train"]
    assert saved["best_metric"] == "error"
    # a resumed run keeps the best value of its first part: step 6's 2.0 does not replace step 4's 1.0
    train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(steps=4, best_metric="error"),
          run_dir=tmp_path / "b", validate=ScriptedValidation([3.0, 1.0]))
    resumed = train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(best_metric="error"),
                    run_dir=tmp_path / "b", validate=ScriptedValidation([2.0, 1.5]), resume=True)
    assert resumed.best["step"] == 4 and load_checkpoint(best_checkpoint(tmp_path / "b" / "checkpoints"))["step"] == 4


def test_best_metric_needs_a_validation_metric_and_a_run_folder(tmp_path):
    with pytest.raises(ValueError, match=r"best_metric 'rmse' is not a validation metric.*\['error', 'other'\]"):
        train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(best_metric="rmse"),
              run_dir=tmp_path, validate=ScriptedValidation([1.0] * 4))
    with pytest.raises(ValueError, match="needs a run_dir and a validate function"):
        train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(best_metric="error"))


class RecordingLoss(MeshGraphNetLoss):
    def __init__(self):
        super().__init__()
        self.steps = []

    def set_step(self, step):
        self.steps.append(step)


def test_a_loss_with_set_step_is_told_each_step_also_after_resume(tmp_path):
    first = RecordingLoss()
    train(tiny_meshgraphnet(), first, diffusion_dataset(), config(steps=4, val_every=0), run_dir=tmp_path)
    second = RecordingLoss()
    train(tiny_meshgraphnet(), second, diffusion_dataset(), config(steps=7, val_every=0), run_dir=tmp_path,
          resume=True)
    assert first.steps == [1, 2, 3, 4] and second.steps == [5, 6, 7]
