"""Learned movers on a Mesh: boundary projection in float64, the fixed-point guard, tangling."""
import numpy as np
import pytest
import torch

from meshsim.learned_movement import LearnedMover
from meshsim.mesh import rectangle
from meshsim.movement import MovementError, SlidingBoundary, monge_ampere, ring_monitor, tangled_cells
from meshsim.train.dmm_task import DMMSettings, DMMTask
from meshsim.train.movement_models import export_model
from meshsim.train.um2n_task import UM2NSettings, UM2NTask

UM2N_SMALL = UM2NSettings(embed_dim=8, heads=2, global_dim=4, local_dim=4, deformer_hidden=8, deformer_dims=(8, 8),
                          deformer_heads=2)
DMM_SMALL = DMMSettings(raster_size=16, grid_size=8, latent_dim=8, trunk_hidden=(8,), out_hidden=(8,))


def _mover(tmp_path, task_type, settings, scale=None):
    torch.manual_seed(0)
    model = task_type.build_model(settings)
    if scale is not None:  # a wildly wrong potential: huge displacements
        with torch.no_grad():
            model.branch_out.weight.normal_(0.0, scale)
    path = export_model(tmp_path / f"{task_type.name}.pth", task_type.name, settings, model)
    return LearnedMover(path)


@pytest.fixture(scope="module")
def mesh():
    return rectangle(h=0.1)


def monitor(mesh):
    return ring_monitor(mesh, amplitude=5.0, width=20.0)


def test_um2n_moves_within_the_domain_and_keeps_boundary_lines(tmp_path, mesh):
    result = _mover(tmp_path, UM2NTask, UM2N_SMALL).move(mesh, monitor)
    moved = result.mesh.points
    for name, axis, value in (("left", 0, 0.0), ("right", 0, 1.0), ("bottom", 1, 0.0), ("top", 1, 1.0)):
        assert np.all(moved[mesh.boundary_nodes(name), axis] == value)  # exact after the float64 projection
    corners = np.isin(mesh.points, [0.0, 1.0]).all(axis=1)
    assert np.array_equal(moved[corners], mesh.points[corners])
    report = result.report
    assert report.method == "um2n" and report.iterations == 1 and len(report.tangled_cells) == 0
    assert np.array_equal(result.mesh.cells, mesh.cells)


def test_a_mesh_that_needs_no_movement_is_a_fixed_point(tmp_path, mesh):
    constant = lambda m: np.full(m.num_points, 3.0)  # noqa: E731
    for task_type, settings in ((UM2NTask, UM2N_SMALL), (DMMTask, DMM_SMALL)):
        result = _mover(tmp_path, task_type, settings).move(mesh, constant)
        assert result.report.iterations == 0 and np.array_equal(result.mesh.points, mesh.points)
    assert monge_ampere(mesh, constant).report.iterations == 0


def test_an_untrained_dmm_is_the_identity(tmp_path, mesh):
    result = _mover(tmp_path, DMMTask, DMM_SMALL).move(mesh, monitor)
    assert result.report.iterations == 1 and np.abs(result.mesh.points - mesh.points).max() < 1e-6


def test_a_tangling_prediction_is_backed_off_or_rejected_with_cell_ids(tmp_path, mesh):
    mover = _mover(tmp_path, DMMTask, DMM_SMALL, scale=1.0)  # tangles 41 cells; 4 halvings untangle it
    raw = mover.predict(mesh, monitor(mesh), SlidingBoundary.of(mesh))
    assert len(tangled_cells(mesh, raw)) > 0
    with pytest.raises(MovementError, match=r"tangled by dmm \(its displacement halved 0 times\): cells \[\d+"):
        mover.move(mesh, monitor, max_backoff=0)
    result = mover.move(mesh, monitor)
    halvings = result.report.iterations - 1
    assert halvings == 4 and len(result.report.tangled_cells) == 0
    assert np.allclose(result.mesh.points - mesh.points, (raw - mesh.points) / 2**halvings, atol=1e-15)


def test_missing_checkpoints_and_wrong_kinds_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file or run folder"):
        LearnedMover(tmp_path / "nothing.pth")
