"""`meshsim train KIND` / `meshsim evaluate` on tiny datasets generated from the shipped recipes."""
import json

import numpy as np
import pytest
import torch

from meshsim.cli import main
from meshsim.data import DatasetError, generate, load_recipe
from meshsim.data.streaming import make_sample
from meshsim.graph import NodeType
from meshsim.graph.testing import assert_same_graph
from meshsim.train import TrainConfig, load_run
from meshsim.train.mgn_task import MeshGraphNetSettings, MeshGraphNetTask
from meshsim.train.nbody_task import EGNNTask, NBodySettings, mean_squared_error, nbody_graphs
from meshsim.train.online import OnlineSettings, train_online


def _generate(tmp_path_factory, name, splits, **params):
    folder = tmp_path_factory.mktemp(name)
    generate(load_recipe(name).with_overrides(splits=splits, params=params), folder, progress=False)
    return folder


@pytest.fixture(scope="module")
def cylinder(tmp_path_factory):
    return _generate(tmp_path_factory, "cylinder_flow", {"train": 2, "valid": 1, "test": 2},
                     h=0.1, h_cylinder=0.04, num_frames=6)


@pytest.fixture(scope="module")
def charged(tmp_path_factory):
    return _generate(tmp_path_factory, "nbody_charged", {"train": 40, "valid": 10, "test": 10}, num_frames=12)


TINY_MGN = MeshGraphNetSettings(latent_dim=16, num_steps=2)


def test_mgn_task_detects_the_held_nodes_and_scores_persistence(cylinder):
    task = MeshGraphNetTask(cylinder, TINY_MGN)
    assert task.settings.prescribed_node_types == (NodeType.INFLOW, NodeType.WALL)
    assert task.layout.state == "velocity" and (task.layout.field_dim, task.layout.extra_dim) == (2, 1)
    model = task.model()
    metrics = task.evaluate(model, "test")
    test = task.split("test")
    items = [test.trajectory(i) for i in range(2)]
    assert items[0].graph.num_nodes != items[1].graph.num_nodes  # meshes differ: errors pooled, not stacked
    squared = sum(float(((v[1:] - v[0]) ** 2).sum()) for v in (torch.as_tensor(i.fields["velocity"]) for i in items))
    entries = sum(i.fields["velocity"][1:].size for i in items)
    persistence = (squared / entries) ** 0.5
    assert metrics["horizon"] == 5 and metrics["num_trajectories"] == 2
    assert metrics["persistence_rmse_full"] == pytest.approx(persistence, rel=1e-5)
    assert metrics["persistence_rmse_5"] == pytest.approx(persistence, rel=1e-5)
    item = items[0]
    velocity = torch.as_tensor(item.fields["velocity"], dtype=torch.float32)
    example = task.example_rollout(model, "test")
    held = torch.isin(item.graph.node_type, torch.tensor(task.settings.prescribed_node_types))
    torch.testing.assert_close(example.prediction[:, held], velocity[1:, held])  # walls and inflow held


def test_train_and_evaluate_commands_round_trip(cylinder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "mgn", "--data", str(cylinder), "--out", str(run), "--steps", "6", "--quiet",
                 "--set", "latent_dim=16", "--set", "num_steps=2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "mgn" and config["settings"]["latent_dim"] == 16
    assert (run / "rollout.gif").is_file() and (run / "loss.png").is_file()
    assert main(["evaluate", str(run), "--split", "test"]) == 0
    printed = capsys.readouterr().out
    assert "rollout_rmse_5" in printed and "persistence_rmse_full" in printed
    saved = json.loads((run / "evaluation-test.json").read_text())
    task, model = load_run(run)
    assert task.evaluate(model, "test") == saved  # the checkpoint's weights, normalisers included
    assert (run / "rollout-test.gif").is_file()


def test_mgn_trains_online_on_windows_built_as_the_stored_ones(cylinder, tmp_path):
    task = MeshGraphNetTask(cylinder, TINY_MGN)
    stored = task.train_set
    for i in range(2):  # the streamed trajectory, re-simulated from its seed, gives the stored windows
        index, sample = task.to_item(i, make_sample(task.recipe, "train", i))
        assert set(sample.fields) == {"velocity", "pressure"}
        for w in range(stored.windows):
            assert_same_graph(task.train_set.window(sample, w, index), stored[i * stored.windows + w])
        with pytest.raises(IndexError, match="window 5 needs frames 5..6"):
            stored.window(sample, 5, index)
    batch = task.collate([task.to_item(i, make_sample(task.recipe, "train", i)) for i in (1, 0, 1)])
    assert batch.num_graphs == 3 and batch.sample_id.tolist() == [1, 0, 1] and batch.x.shape[1] == 2
    assert set(batch.t.tolist()) <= set(range(stored.history - 1, stored.history - 1 + stored.windows))
    torch.manual_seed(0)
    result = train_online(task.model(), task, task.recipe, TrainConfig(steps=30, batch_size=2, lr=1e-3, progress=False),
                          OnlineSettings(buffer=2, watermark=2), validate=task.validate())
    assert result.train.step == 30 and result.stats["produced"] >= 2
    # no training data written: the simulators' only writes are gmsh's own (its FLTK preferences,
    # 8-20 KB), less than one stored trajectory (a shard of one sample, ~65 KB) for >= 2 streamed
    one_trajectory = min(f.stat().st_size for f in cylinder.glob("shard-*.h5"))
    assert result.stats["written_bytes"] < 32 * 1024 < one_trajectory
    assert np.mean(result.train.losses[-5:]) < np.mean(result.train.losses[:5])
    with pytest.raises(DatasetError, match="needs --data"):
        MeshGraphNetTask(task.recipe, TINY_MGN)


def test_command_errors(cylinder, tmp_path_factory, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "mgn", "--data", str(cylinder), "--out", str(tmp_path / "r"), "--set", "width=3"]) == 2
    assert "KEY one of latent_dim" in capsys.readouterr().err
    assert main(["train", "mppde", "--data", str(cylinder), "--out", str(tmp_path / "r")]) == 2
    assert "trajectories of a scalar field 'u'" in capsys.readouterr().err
    steady = _generate(tmp_path_factory, "darcy_square", {"train": 2, "test": 1}, h=0.2)
    assert main(["train", "mgn", "--data", str(steady), "--out", str(tmp_path / "s")]) == 2
    assert "needs a trajectory dataset; this one is steady" in capsys.readouterr().err


def test_nbody_graphs_hold_the_benchmark_frames(charged):
    settings = NBodySettings(input_frame=5, target_frame=10)
    graphs = nbody_graphs(charged, "train", settings)
    assert len(graphs) == 40
    g = graphs[0]
    assert g.pos.shape == (5, 3) and g.edge_index.shape == (2, 20) and g.edge_attr.shape == (20, 2)
    charges = torch.as_tensor(np.unique(g.edge_attr[:, 0].numpy()))
    assert set(charges.tolist()) <= {-1.0, 1.0}
    source, target = g.edge_index  # second edge feature: |x_i - x_j|^2 at the input frame
    torch.testing.assert_close(g.edge_attr[:, 1], ((g.pos[target] - g.pos[source]) ** 2).sum(1))
    with pytest.raises(DatasetError, match="frames 5 -> 40 are not inside the 13 stored frames"):
        nbody_graphs(charged, "train", NBodySettings(input_frame=5, target_frame=40))


def test_egnn_training_beats_the_untrained_model(charged, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "egnn", "--data", str(charged), "--out", str(run), "--steps", "150", "--batch-size", "10",
                 "--lr", "3e-3", "--quiet", "--set", "input_frame=5", "--set", "target_frame=10", "--set", "hidden_dim=16"]) == 0
    task, model = load_run(run)
    assert isinstance(task, EGNNTask)
    graphs = nbody_graphs(charged, "test", task.settings)
    torch.manual_seed(0)
    # the untrained EGNN-vel is close to free flight x + v; measured ratio about 0.41
    assert mean_squared_error(model, graphs) < 0.6 * mean_squared_error(task.model(), graphs)
