"""Online training: the same samples give the same batches online and offline, training goes on
through a killed simulator, `meshsim train stnn` offline and `--online`, SOAP, a time budget."""
import json
import os
import signal
import time

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from meshsim.cli import main
from meshsim.data import DatasetError, Recipe, generate
from meshsim.nn import PODMLP, STNN, ParametricMLP, count_parameters
from meshsim.train import TrainConfig, load_run, train
from meshsim.train.online import OnlineSettings, open_feed, train_online
from meshsim.train.stnn_task import STNNSettings, STNNTask

TINY = STNNSettings(num_experts=2, rank=2, in_modes=(2, 2, 2), hidden_dim=8, pod_modes=2)


def tiny_recipe() -> Recipe:
    return Recipe.from_dict({"name": "tiny_heat_parametric", "problem": "heat_parametric", "samples_per_shard": 3,
                             "splits": {"train": 6, "valid": 2, "test": 2},
                             "params": {"nx": 6, "ny": 4, "num_steps": 4, "save_every": 2}})


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heat_parametric")
    generate(tiny_recipe(), folder, progress=False)
    return folder


def test_online_and_offline_pipelines_give_identical_batches(stored):
    task = STNNTask(stored, TINY)
    offline = next(iter(DataLoader(task.train_set, batch_sampler=[[0, 1, 2, 3]])))
    # capacity 4 and watermark 4: the first draw waits for samples 0-3, then back-pressure holds the rest
    feed = open_feed(task, task.recipe, OnlineSettings(simulators=1, buffer=4, watermark=4), batch_size=4)
    with feed:
        online = next(feed.batches(4, seed=0, collate=task.collate))
    order = torch.argsort(online[2])
    assert online[2][order].tolist() == [0, 1, 2, 3] == offline[2].tolist()
    for streamed, read in zip(online, offline):
        assert streamed.dtype == read.dtype and torch.equal(streamed[order], read)
    assert offline[1].shape == (4, 2, 4, 6) and offline[0].abs().max() <= 1.0


def test_training_goes_on_when_a_simulator_is_killed(stored):
    task = STNNTask(stored, TINY)
    torch.manual_seed(0)
    model = task.model()
    feed = open_feed(task, task.recipe, OnlineSettings(simulators=2, buffer=16, watermark=4), batch_size=4)
    with feed:
        while feed.stats()["produced"] < 4:
            time.sleep(0.05)
        os.kill(feed.source.pids[0], signal.SIGKILL)
        result = train(model, task.loss(), (), TrainConfig(steps=60, batch_size=4, lr=3e-3, progress=False),
                       batches=feed.batches(4, 0, task.collate))
        # keep drawing (the simulators wait while the buffer is full and nobody reads) until the
        # replacement worker has streamed new samples
        more = feed.batches(4, 60, task.collate)
        deadline = time.perf_counter() + 120
        while feed.stats()["restarts"] < 1 and time.perf_counter() < deadline:
            next(more)
        produced = feed.stats()["produced"]
        while feed.stats()["produced"] <= produced + 2 and time.perf_counter() < deadline:
            next(more)
        stats = feed.stats()
    assert result.step == 60 and all(np.isfinite(result.losses))
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10])
    assert stats["restarts"] == 1 and stats["lost"] == 1 and stats["produced"] > produced + 2
    assert stats["buffer"] <= 16


def test_train_online_reports_progress_and_writes_no_training_data(stored, tmp_path):
    task = STNNTask(tiny_recipe(), TINY)  # validation samples made in this process from the recipe
    assert task.train_set is None and len(task.split("valid")) == 2
    result = train_online(task.model(), task, tiny_recipe(), TrainConfig(steps=20, batch_size=4, progress=False,
                                                                         log_every=10),
                          OnlineSettings(buffer=8, watermark=4), validate=task.validate())
    stats = result.stats
    assert result.train.step == 20 and stats["drawn"] == 80 and stats["produced"] >= 4
    assert stats["written_bytes"] == 0 and result.trainer_written_bytes < 4096
    assert set(result.train.validation[-1]) == {"step", "val/rel_l2", "val/rel_l2_max", "val/mse"}
    other = Recipe.from_dict({**tiny_recipe().to_dict(), "params": {"nx": 7, "ny": 4, "num_steps": 4, "save_every": 2}})
    with pytest.raises(DatasetError, match="differ"):
        train_online(task.model(), task, other, TrainConfig(steps=1, progress=False))


def test_models_of_the_task(stored):
    task = STNNTask(stored, TINY)
    stnn = task.model()
    mlp = STNNTask(stored, STNNSettings(**{**TINY.__dict__, "model": "mlp"})).model()
    pod = STNNTask(stored, STNNSettings(**{**TINY.__dict__, "model": "pod"})).model()
    tucker = STNNTask(stored, STNNSettings(**{**TINY.__dict__, "factorization": "tucker"})).model()
    assert isinstance(stnn, STNN) and isinstance(mlp, ParametricMLP) and isinstance(pod, PODMLP)
    assert count_parameters(mlp) <= count_parameters(stnn) < count_parameters(
        ParametricMLP(3, task.layout.out_shape, mlp.mlp.linears[0].out_features + 1))
    assert tucker.experts[0].in_modes == (8,) and tucker.experts[0].ranks == (2, 1, 1, 1)
    params = task.train_set.params[:3]
    assert stnn(params).shape == pod(params).shape == (3, 2, 4, 6)
    metrics = task.evaluate(pod, "test")
    assert metrics["num_samples"] == 2 and metrics["num_outside"] == 6 and 0 < metrics["rel_l2"] < 10
    with pytest.raises(ValueError, match="stored training set"):
        STNNTask(tiny_recipe(), STNNSettings(model="pod")).model()


def test_meshsim_train_stnn_offline_and_online(stored, tmp_path, capsys):
    run = tmp_path / "offline"
    assert main(["train", "stnn", "--data", str(stored), "--out", str(run), "--steps", "4", "--batch-size", "2",
                 "--set", "num_experts=2", "--set", "rank=2", "--set", "in_modes=2,2,2", "--set", "hidden_dim=8",
                 "--quiet"]) == 0
    task, model = load_run(run)
    assert task.settings.in_modes == (2, 2, 2) and set(task.evaluate(model)) >= {"rel_l2", "rel_l2_outside"}
    online = tmp_path / "online"
    assert main(["train", "stnn", "--online", str(tmp_path / "r.toml"), "--out", str(online)]) == 2
    (tmp_path / "r.toml").write_text(_toml(tiny_recipe()))
    assert main(["train", "stnn", "--online", str(tmp_path / "r.toml"), "--data", str(stored), "--out", str(online),
                 "--steps", "6", "--batch-size", "2", "--buffer", "8", "--set", "num_experts=2", "--set", "rank=2",
                 "--set", "in_modes=2,2,2", "--set", "hidden_dim=8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "trained stnn online to step 6" in out and "0 bytes written by simulators" in out
    metrics = [json.loads(line) for line in (online / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-2]["data/drawn"] == 12 and "data/buffer" in metrics[-2]
    assert main(["train", "mgn", "--online", str(tmp_path / "r.toml"), "--out", str(tmp_path / "m")]) == 2


def _toml(recipe: Recipe) -> str:
    table = recipe.to_dict()
    lines = [f'name = "{table["name"]}"', f'problem = "{table["problem"]}"', "[splits]"]
    lines += [f"{k} = {v}" for k, v in table["splits"].items()] + ["[params]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in table["params"].items()]
    return "\n".join(lines) + "\n"


def test_soap_trains_and_a_time_budget_stops_training(stored, tmp_path):
    pytest.importorskip("pytorch_optimizer")
    task = STNNTask(stored, TINY)
    torch.manual_seed(0)
    model = task.model()
    result = train(model, task.loss(), task.train_set,
                   TrainConfig(steps=40, batch_size=3, lr=3e-3, optimizer="soap", progress=False))
    assert np.mean(result.losses[-5:]) < 0.5 * np.mean(result.losses[:5])
    timed = train(task.model(), task.loss(), task.train_set,
                  TrainConfig(steps=10_000, batch_size=3, max_seconds=0.0, progress=False, checkpoint_every=1000),
                  run_dir=tmp_path / "timed", validate=task.validate())
    assert timed.step == 1 and timed.validation[-1]["step"] == 1
    assert (tmp_path / "timed" / "checkpoints").is_dir()
