import json
import math

import pytest
import torch
from tiny_problems import diffusion_dataset, tiny_meshgraphnet

from meshsim.train import (MeshGraphNetLoss, NonFiniteLossError, TrainConfig, latest_checkpoint,
                           load_checkpoint, train)


def config(**kwargs):
    defaults = dict(steps=10, batch_size=2, lr=3e-3, progress=False, log_every=2, checkpoint_every=5)
    return TrainConfig(**{**defaults, **kwargs})


def parameters(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_gives_identical_parameters_and_next_losses(tmp_path):
    data, loss = diffusion_dataset(), MeshGraphNetLoss(noise_std=0.05)
    straight = tiny_meshgraphnet()
    whole = train(straight, loss, data, config(), run_dir=tmp_path / "a")
    half = train(tiny_meshgraphnet(), loss, data, config(steps=5), run_dir=tmp_path / "b")
    resumed_model = tiny_meshgraphnet(seed=1)
    resumed = train(resumed_model, loss, data, config(), run_dir=tmp_path / "b", resume=True)
    assert half.losses == whole.losses[:5]
    assert resumed.losses == whole.losses[5:] and resumed.step == 10
    for name, value in parameters(straight).items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name
    assert [r["step"] for r in map(json.loads, (tmp_path / "b/metrics.jsonl").read_text().splitlines())] == \
        [2, 4, 5, 6, 8, 10]


def test_training_reduces_loss_and_fills_run_folder(tmp_path):
    model = tiny_meshgraphnet()
    calls = []

    def validate(m):
        calls.append(m.training)
        return {"mse": 0.5}

    result = train(model, MeshGraphNetLoss(), diffusion_dataset(), config(steps=40, val_every=20),
                   run_dir=tmp_path, validate=validate, extra_config={"model": {"latent_dim": 8}})
    assert sum(result.losses[-5:]) < 0.5 * sum(result.losses[:5])
    assert calls == [False, False] and model.training
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["train"]["steps"] == 40 and saved["model"] == {"latent_dim": 8}
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "val/mse" in r] == [20, 40]
    assert all({"loss", "lr", "steps_per_s"} <= set(r) for r in records if "val/mse" not in r)
    assert (tmp_path / "loss.png").stat().st_size > 1000
    checkpoint = torch.load(latest_checkpoint(tmp_path / "checkpoints"), weights_only=True)
    assert checkpoint["step"] == 40 and "optimizer" in checkpoint
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == \
        ["step-00000030.pt", "step-00000035.pt", "step-00000040.pt"]


def test_non_finite_loss_names_step_and_keeps_last_checkpoint(tmp_path):
    model = tiny_meshgraphnet()
    calls = []

    def exploding(m, batch, generator):
        calls.append(1)
        loss = m.loss(batch)
        return loss * math.nan if len(calls) == 7 else loss

    with pytest.raises(NonFiniteLossError, match=r"loss is nan at step 7.*step-00000005\.pt"):
        train(model, exploding, diffusion_dataset(), config(), run_dir=tmp_path)
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step-00000005.pt"
    fresh = tiny_meshgraphnet(seed=3)
    load_checkpoint(latest_checkpoint(tmp_path / "checkpoints"), fresh)
    after_six = model.state_dict()
    assert all(torch.isfinite(v).all() for v in after_six.values())
    assert any(not torch.equal(after_six[k], v) for k, v in fresh.state_dict().items())


def test_existing_run_needs_resume_and_same_seed(tmp_path):
    train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(steps=5), run_dir=tmp_path)
    with pytest.raises(FileExistsError, match="resume=True"):
        train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(), run_dir=tmp_path)
    with pytest.raises(ValueError, match="cannot resume .* at step 5 with steps=3"):
        train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(steps=3), run_dir=tmp_path,
              resume=True)
    assert json.loads((tmp_path / "config.json").read_text())["train"]["steps"] == 5  # not rewritten
    with pytest.raises(ValueError, match="seed=4: it was trained with seed=0"):
        train(tiny_meshgraphnet(), MeshGraphNetLoss(), diffusion_dataset(), config(seed=4), run_dir=tmp_path,
              resume=True)


def test_learning_rate_schedule():
    schedule = TrainConfig(steps=100, lr=1e-3, lr_final=1e-5, warmup_steps=10)
    assert schedule.learning_rate(5) == pytest.approx(0.5 * 1e-3 * 1e-2 ** (4 / 100))
    assert schedule.learning_rate(51) == pytest.approx(1e-4)
    assert schedule.learning_rate(101) == pytest.approx(1e-5)
    assert TrainConfig(lr=2e-3).learning_rate(7) == 2e-3


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TrainConfig(batch_size=0)
