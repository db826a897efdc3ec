"""`meshsim train um2n|dmm`: tiny models lower their losses and beat the unmoved mesh on a
training sample; models export to standalone files."""
import numpy as np
import pytest
import torch

from meshsim.cli import main
from meshsim.data import DatasetError, ShardReader, generate, load_recipe, read_meta
from meshsim.movement import GaussianBumps, helmholtz_error
from meshsim.train.dmm_task import DMMSettings, DMMTask, equidistribution_cv
from meshsim.train.dmm_task import predict as dmm_predict
from meshsim.train.loop import TrainConfig, train
from meshsim.train.movement_models import export_model, load_movement_model
from meshsim.train.um2n_task import UM2NSettings, UM2NTask, predict

TINY_UM2N = UM2NSettings(embed_dim=16, heads=2, global_dim=8, local_dim=8, deformer_hidden=16, deformer_dims=(16, 16),
                         deformer_heads=2)
TINY_DMM = DMMSettings(raster_size=32, grid_size=16, latent_dim=32, trunk_hidden=(32, 32), out_hidden=(32,),
                       collocation_points=128)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("helmholtz_movement")
    recipe = load_recipe("helmholtz_movement").with_overrides(splits={"train": 4, "valid": 1, "test": 1},
                                                               params={"h_values": [0.1, 0.12]})
    generate(recipe, out, progress=False)
    return out


def _error_reduction(folder, index: int, points: torch.Tensor) -> float:
    """1 - (FEM error on the moved mesh) / (on the mesh) for training sample ``index``."""
    shard = read_meta(folder)["shards"][0]["file"]
    with ShardReader(folder / shard) as reader:
        sample = reader.sample(index)
    mesh, bumps = sample.to_mesh(validate=True), GaussianBumps.from_params(sample.params)
    moved = mesh.with_points(points.detach().double().numpy())
    return 1.0 - helmholtz_error(moved, bumps) / helmholtz_error(mesh, bumps)


def test_um2n_learns_the_monge_ampere_meshes(folder):
    task = UM2NTask(folder, TINY_UM2N)
    torch.manual_seed(0)
    model = task.model()
    result = train(model, task.loss(), task.train_set, TrainConfig(steps=60, batch_size=2, lr=3e-3, progress=False))
    assert np.mean(result.losses[-10:]) < 0.85 * np.mean(result.losses[:10])
    model.eval()
    metrics = task.evaluate(model, "train")
    assert metrics["tangled_meshes"] == 0
    assert metrics["area_loss"] < 0.8 * metrics["identity_area_loss"] and metrics["rmse"] < metrics["identity_rmse"]
    with torch.no_grad():
        assert _error_reduction(folder, 0, predict(model, task.train_set[0])) > 0.02


def test_dmm_lowers_the_residual_and_beats_the_unmoved_mesh(folder):
    task = DMMTask(folder, TINY_DMM)
    sample = task.train_set[:1]
    torch.manual_seed(0)
    model, loss = task.model(), task.loss()

    def residual():
        return float(loss.parts(model, sample[0], torch.Generator().manual_seed(0))["residual"].detach())

    before = residual()
    train(model, loss, sample, TrainConfig(steps=300, batch_size=1, lr=2e-3, lr_final=2e-4, progress=False))
    assert residual() < 0.5 * before
    moved = dmm_predict(model, sample[0])
    assert equidistribution_cv(moved, sample[0]) < 0.9 * equidistribution_cv(sample[0].pos, sample[0])
    assert _error_reduction(folder, 0, moved) > 0.02


def test_models_export_and_reload_standalone(folder, tmp_path):
    for task in (UM2NTask(folder, TINY_UM2N), DMMTask(folder, TINY_DMM)):
        torch.manual_seed(1)
        model = task.model().eval()
        path = export_model(tmp_path / f"{task.name}.pth", task.name, task.settings, model)
        kind, settings, loaded = load_movement_model(path)
        assert kind == task.name and settings == task.settings
        run = predict if task.name == "um2n" else dmm_predict
        data = task.train_set[0]
        assert torch.equal(run(loaded, data), run(model, data))


def test_cli_trains_um2n_and_the_run_loads(folder, tmp_path):
    run = tmp_path / "run"
    code = main(["train", "um2n", "--data", str(folder), "--out", str(run), "--steps", "2", "--batch-size", "2",
                 "--quiet", "--set", "deformer_dims=8,8", "--set", "deformer_hidden=8", "--set", "embed_dim=8",
                 "--set", "heads=2"])
    assert code == 0
    kind, settings, model = load_movement_model(run)
    assert kind == "um2n" and settings.deformer_dims == (8, 8) and len(model.deformer) == 2


def test_a_dataset_without_moved_meshes_is_refused(tmp_path):
    darcy = tmp_path / "darcy"
    generate(load_recipe("darcy_square").with_overrides(splits={"train": 1}, params={"h": 0.3}), darcy,
             progress=False)
    with pytest.raises(DatasetError, match="no field 'monitor'"):
        UM2NTask(darcy)
