"""`meshsim train mppde` on the paper's protocol: data on the reference grid, the 7- and 8-bundle
errors, the WENO5 baseline, the paper's schedule (no pushforward first, lr milestones) and the
batched-grid training path."""
import json

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from meshsim.cli import main
from meshsim.data import generate, load_recipe
from meshsim.data import open as open_dataset
from meshsim.data.problems.mppde import solve_stored
from meshsim.nn import MPPDE
from meshsim.sim import reference_filter
from meshsim.train import (MPPDELoss, TrainConfig, accumulated_error, latest_checkpoint, load_checkpoint,
                           load_run)
from meshsim.train.best import best_checkpoint
from meshsim.train.metrics import bundle_accumulated_errors
from meshsim.train.mppde_data import load_grid_data, rollout_errors
from meshsim.train.mppde_grid import MPPDEGrid, periodic_line_edges
from meshsim.train.mppde_task import MPPDESettings, MPPDETask, paper_schedule

TINY = dict(hidden_dim=32, num_layers=2, resolution=40)


@pytest.fixture(scope="module")
def burgers(tmp_path_factory):
    """mppde_E1 as shipped (the reference grid at nx = 200), 4 / 2 / 2 trajectories."""
    folder = tmp_path_factory.mktemp("mppde_E1")
    generate(load_recipe("mppde_E1").with_overrides(splits={"train": 4, "valid": 2, "test": 2}), folder,
             progress=False)
    return folder


def test_bundle_sums_of_a_hand_made_error_array():
    truth = torch.zeros(2, 200, 4)
    # squared error 1 on every node of frame f of trajectory 0 and 3 of trajectory 1 -> per frame 1 and 3
    prediction = torch.ones(2, 200, 4) * torch.tensor([1.0, 3.0 ** 0.5])[:, None, None]
    prediction[:, 175:] *= 2.0  # the eighth bundle: squared error 4 and 12
    errors = bundle_accumulated_errors(prediction, truth, 25)
    assert errors == {7: pytest.approx(175 * 2.0), 8: pytest.approx(175 * 2.0 + 25 * 8.0)}
    assert bundle_accumulated_errors(prediction, truth, 25, (1,)) == {1: pytest.approx(25 * 2.0)}
    with pytest.raises(ValueError, match=r"bundles \[9\] must lie in 1..8"):
        bundle_accumulated_errors(prediction, truth, 25, (9,))


def test_task_trains_on_the_filtered_reference_grid_and_scores_weno5(burgers):
    task = MPPDETask(burgers, MPPDESettings(**TINY))
    stored = open_dataset(burgers, "train").trajectory(1).fields["u"][:, :, 0]  # (250, 200)
    item = task.train_set[1]
    assert item.u.shape == (40, 250) and item.params.tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(item.u.numpy(), reference_filter(stored, 5).T, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(task.train.grid.pos[:, 0].numpy(), np.linspace(0, 16, 40), atol=1e-6)
    assert task.train.protocol == "reference" and task.train.dt == pytest.approx(4.0 / 249)
    model = task.model()
    metrics = task.evaluate(model, "test")
    test = task.split("test")
    predicted, errors = rollout_errors(model, test)
    assert predicted.shape == (2, 200, 40)  # 8 bundles of 25 after the 50 given frames
    truth = test.u[:, :, 50:].transpose(1, 2)
    assert metrics["accumulated_error_8"] == pytest.approx(accumulated_error(predicted, truth), rel=1e-5)
    assert metrics["accumulated_error_7"] == pytest.approx(accumulated_error(predicted[:, :175], truth[:, :175]),
                                                           rel=1e-5)
    # WENO5: the independent solve on the 40 reference-grid nodes against the filtered truth, frames 50-249
    params = {k: np.stack([open_dataset(burgers, "test").trajectory(i).params[k] for i in range(2)])
              for k in test.stored if k != "t_end"}
    weno = torch.from_numpy(solve_stored(params, 40, 4.0, "reference")[:, 50:])
    assert metrics["weno5_accumulated_error_8"] == pytest.approx(accumulated_error(weno, truth.double()), rel=1e-6)
    assert 0 < metrics["weno5_accumulated_error_7"] < metrics["weno5_accumulated_error_8"]
    assert metrics["nx"] == 40 and metrics["num_trajectories"] == 2 and metrics["protocol"] == "reference"
    assert metrics["deviations"] == "hidden_dim=32, num_layers=2"


def test_the_paper_schedule_in_steps():
    schedule = paper_schedule(MPPDESettings())
    assert schedule["lr_milestones"] == (32_000, 160_000, 320_000, 480_000)
    assert (schedule["weight_decay"], schedule["grad_clip"], schedule["best_metric"]) == (0.01, None,
                                                                                          "accumulated_error")
    config = TrainConfig(steps=640_000, batch_size=16, lr=1e-4, **schedule)
    rates = [config.learning_rate(s) for s in (1, 32_000, 32_001, 160_001, 320_001, 480_001, 640_000)]
    assert rates == pytest.approx([1e-4, 1e-4, 4e-5, 1.6e-5, 6.4e-6, 2.56e-6, 2.56e-6])
    assert MPPDETask.train_defaults["steps"] == 640_000


class CountingModel(torch.nn.Module):
    """An MPPDE that counts its forward calls."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.inner = MPPDE(time_window=5, num_params=3, dt=0.1, hidden_dim=16, num_layers=1, domain_length=16.0)
        self.time_window, self.dt, self.calls = 5, 0.1, 0

    def forward(self, *args):
        self.calls += 1
        return self.inner(*args)


def test_no_pushforward_before_its_step_then_zero_or_one_bundle():
    grid = MPPDEGrid.line(np.linspace(0, 16, 12), 2)
    batch = (torch.randn(3, 12, 40), torch.ones(3, 3))
    loss, model = MPPDELoss(max_unroll=1, unroll_from_step=10, reduction="sqrt_sum", grid=grid), CountingModel()
    calls = []
    for step in (1, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20):
        loss.set_step(step)
        before = model.calls
        loss(model, batch, torch.Generator().manual_seed(step))
        calls.append(model.calls - before)
    assert calls[:3] == [1, 1, 1] and set(calls[3:]) == {1, 2}


def test_grid_path_equals_the_graph_batch_path():
    grid = MPPDEGrid.line(np.linspace(0, 16, 12), 2)
    u, params = torch.randn(3, 12, 40), torch.rand(3, 3)
    graphs = Batch.from_data_list([Data(u=u[i], pos=grid.pos, params=params[i:i + 1], edge_index=grid.edge_index)
                                   for i in range(3)])
    model = CountingModel().inner
    for reduction in ("sqrt_sum", "mse"):
        fast = MPPDELoss(1, reduction=reduction, grid=grid)(model, (u, params), torch.Generator().manual_seed(4))
        plain = MPPDELoss(1, reduction=reduction)(model, graphs, torch.Generator().manual_seed(4))
        torch.testing.assert_close(fast, plain)
    squared = MPPDELoss(0, reduction="sqrt_sum", grid=grid)(model, (u, params), torch.Generator().manual_seed(1))
    mean = MPPDELoss(0, reduction="mse", grid=grid)(model, (u, params), torch.Generator().manual_seed(1))
    torch.testing.assert_close(squared ** 2, mean * 3 * 12 * 5)


def test_periodic_grid_wraps_its_edges_and_shifts_their_positions():
    edge_index, wraps = periodic_line_edges(10, 3)
    assert edge_index.shape == (2, 60) and np.all(np.diff(edge_index[1]) >= 0)
    offsets = edge_index[0] - edge_index[1] + 10 * wraps
    assert sorted(set(offsets.tolist())) == [-3, -2, -1, 1, 2, 3]
    grid = MPPDEGrid.line(np.linspace(0, 16, 40), 3, periodic=True)
    source, target = grid.edge_index
    difference = grid.pos[target, 0] - grid.pos[source, 0] + grid.edge_shift[:, 0]
    spacing = 16 / 39
    torch.testing.assert_close(difference.abs().max(), torch.tensor(3 * spacing))  # never across the domain
    assert int((grid.edge_shift != 0).sum()) == 2 * (1 + 2 + 3)
    batched = grid.batched(4)
    assert batched.edges.num_nodes == 160 and batched.edge_shift.shape == (4 * 240, 1)
    with pytest.raises(ValueError, match="needs 1 <= neighbours < 2.0"):
        periodic_line_edges(4, 2)


def test_training_command_runs_the_paper_recipe_and_keeps_the_best_model(burgers, tmp_path):
    run = tmp_path / "run"
    settings = ["--set", "hidden_dim=32", "--set", "num_layers=2", "--set", "resolution=40",
                "--set", "epoch_steps=50", "--set", "time_window=25"]
    assert main(["train", "mppde", "--data", str(burgers), "--out", str(run), "--steps", "100", "--batch-size", "2",
                 "--lr", "3e-3", "--val-every", "50", "--quiet", *settings]) == 0
    config = json.loads((run / "config.json").read_text())["train"]
    assert config["lr_milestones"] == [50, 250, 500, 750] and config["weight_decay"] == 0.01
    assert config["grad_clip"] is None and config["best_metric"] == "accumulated_error"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: r["lr"] for r in records if "lr" in r}
    assert rates[50] == pytest.approx(3e-3) and rates[52] == pytest.approx(1.2e-3)
    validations = [r for r in records if "val/accumulated_error" in r]
    assert [r["step"] for r in validations] == [50, 100]
    best = min(validations, key=lambda r: r["val/accumulated_error"])
    state = torch.load(best_checkpoint(run / "checkpoints"), weights_only=True)
    assert state["step"] == best["step"] and state["value"] == pytest.approx(best["val/accumulated_error"])
    task, model = load_run(run)  # the best-validation model
    assert task.validate()(model)["accumulated_error"] == pytest.approx(best["val/accumulated_error"], rel=1e-5)
    assert main(["evaluate", str(run), "--split", "valid", "--quiet"]) == 0
    evaluation = json.loads((run / "evaluation-valid.json").read_text())
    assert evaluation["accumulated_error_8"] == pytest.approx(best["val/accumulated_error_8"], rel=1e-5)
    assert evaluation["weno5_accumulated_error_7"] < evaluation["weno5_accumulated_error_8"]
    load_checkpoint(latest_checkpoint(run / "checkpoints"), model)  # step 100
    data = load_grid_data(burgers, "train", 40)
    loss = task.loss()

    def bundle_loss(m):
        with torch.no_grad():
            return np.mean([float(loss(m, (data.u, data.params), torch.Generator().manual_seed(k)))
                            for k in range(16)])
    torch.manual_seed(0)
    assert bundle_loss(model) < 0.7 * bundle_loss(task.model())
