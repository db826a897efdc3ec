"""`meshsim move`: Monge-Ampere and learned movers from the command line."""
import numpy as np
import torch

from meshsim.cli import main
from meshsim.mesh import read, rectangle
from meshsim.movement import GaussianBumps, solve_helmholtz
from meshsim.train.movement_models import export_model
from meshsim.train.um2n_task import UM2NSettings, UM2NTask


def _solved(tmp_path):
    mesh = rectangle(h=0.1)
    path = tmp_path / "solved.msh"
    mesh.with_data(point_data={"u": solve_helmholtz(mesh, GaussianBumps.demo())}).write(path)
    return mesh, path


def test_ring_monitor_moves_and_writes_mesh_and_plot(tmp_path, capsys):
    mesh, path = _solved(tmp_path)
    out, plot = tmp_path / "moved.msh", tmp_path / "moved.png"
    code = main(["move", str(path), "--monitor", "ring", "--ring-amplitude", "5", "--ring-width", "20",
                 "--rtol", "1e-6", "-o", str(out), "--plot", str(plot)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "method relaxation:" in printed and "tangled cells 0" in printed
    moved = read(out)
    assert np.array_equal(moved.cells, mesh.cells) and np.abs(moved.points - mesh.points).max() > 0.01
    assert np.all(moved.points[mesh.boundary_nodes("left"), 0] == 0.0)
    assert plot.stat().st_size > 20_000


def test_hessian_monitor_of_a_field_by_quasi_newton(tmp_path, capsys):
    _, path = _solved(tmp_path)
    assert main(["move", str(path), "--monitor", "hessian", "--field", "u", "--ma-method", "quasi_newton",
                 "--rtol", "1e-6"]) == 0
    assert "method quasi_newton:" in capsys.readouterr().out


def test_learned_mover_from_a_model_file(tmp_path, capsys):
    _, path = _solved(tmp_path)
    settings = UM2NSettings(embed_dim=8, heads=2, global_dim=4, local_dim=4, deformer_hidden=8,
                            deformer_dims=(8, 8), deformer_heads=2)
    torch.manual_seed(0)
    model_path = export_model(tmp_path / "um2n.pth", "um2n", settings, UM2NTask.build_model(settings))
    assert main(["move", str(path), "--monitor", "hessian", "--field", "u", "--method", "um2n",
                 "--model", str(model_path), "-o", str(tmp_path / "m.vtu")]) == 0
    assert "method um2n: 1 iterations" in capsys.readouterr().out
    assert main(["move", str(path), "--method", "dmm", "--model", str(model_path)]) == 2
    assert "holds a um2n model, not dmm" in capsys.readouterr().err


def test_bad_input_is_one_line(tmp_path, capsys):
    _, path = _solved(tmp_path)
    assert main(["move", str(path), "--monitor", "gradient"]) == 2
    assert "needs --field NAME" in capsys.readouterr().err
    assert main(["move", str(path), "--maxiter", "2"]) == 2
    assert "did not converge in 2 iterations" in capsys.readouterr().err
