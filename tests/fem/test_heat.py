import importlib

import numpy as np
import pytest
import skfem

from meshsim.fem import FEMError, FunctionSpace, heat, poisson
from meshsim.fem.forms import source
from meshsim.mesh import Mesh

solvers_module = importlib.import_module("meshsim.fem.solvers")
heat_module = importlib.import_module("meshsim.fem.heat")
DECAY = 2.0 * np.pi ** 2


def decaying_mode(x, t):
    """Exact solution of u_t = lap u on the unit square with u = 0 on the boundary."""
    return np.exp(-DECAY * t) * np.sin(np.pi * x[0]) * np.sin(np.pi * x[1])


def square(n):
    return Mesh.from_skfem(skfem.MeshTri1().refined(n).with_defaults())


@pytest.fixture(scope="module")
def fine_space():
    """P2 on h = 1/16: spatial error far below the temporal errors measured."""
    return FunctionSpace(square(4), order=2)


def temporal_errors(space, theta, step_counts, final_time=0.1):
    walls = {name: 0.0 for name in space.mesh.boundary}
    errors = []
    for steps in step_counts:
        trajectory = heat(space, lambda x: decaying_mode(x, 0.0), final_time / steps, steps,
                          dirichlet=walls, theta=theta)
        errors.append(trajectory[-1].l2_error(lambda x: decaying_mode(x, final_time)))
    errors = np.array(errors)
    return np.log2(errors[:-1] / errors[1:])


def test_implicit_euler_is_first_order(fine_space):
    orders = temporal_errors(fine_space, 1.0, (5, 10, 20))
    assert orders.min() >= 0.9 and orders.max() <= 1.1


def test_crank_nicolson_is_second_order(fine_space):
    orders = temporal_errors(fine_space, 0.5, (4, 8, 16))
    assert orders.min() >= 1.9 and orders.max() <= 2.1


def test_trajectory_layout_and_factorisation_reuse(monkeypatch):
    calls = []
    original = solvers_module.spla.splu
    monkeypatch.setattr(solvers_module.spla, "splu", lambda *a, **k: calls.append(1) or original(*a, **k))
    mesh = square(3)
    u0 = np.random.default_rng(0).random(mesh.num_points)
    trajectory = heat(mesh, u0, 0.01, 20, dirichlet={"left": 0.0}, neumann={"right": 1.0})
    assert trajectory.values.shape == (21, mesh.num_points)
    np.testing.assert_allclose(trajectory.times, 0.01 * np.arange(21))
    np.testing.assert_array_equal(trajectory.values[0], u0)
    assert np.all(trajectory.values[1:, mesh.boundary_nodes("left")] == 0.0)
    assert len(calls) == 1


def test_long_run_reaches_the_steady_state():
    mesh = square(3)
    conditions = dict(dirichlet={"left": 1.0, "bottom": lambda x: 1.0 + x[0]},
                      robin={"right": (2.0, 0.5)}, neumann={"top": -1.0})
    steady = poisson(mesh, 0.5, 3.0, **conditions)
    trajectory = heat(mesh, 0.0, 0.5, 60, kappa=0.5, f=3.0, **conditions)
    np.testing.assert_allclose(trajectory.values[-1], steady.values, atol=1e-8)


def bump(x):
    return np.exp(-10 * ((x[0] - 0.3) ** 2 + (x[1] - 0.6) ** 2))


def test_insulated_domain_conserves_heat():
    space = FunctionSpace(square(3), order=2)
    trajectory = heat(space, bump, 0.01, 30, kappa=2.0, neumann={"left": 0.0})
    integrals = trajectory.dofs @ space.assemble_vector(source, f=space.coefficient(1.0, "one"))
    np.testing.assert_allclose(integrals, integrals[0], rtol=1e-12)  # zero flux: total heat is constant
    spread = np.ptp(trajectory.values, axis=1)
    assert spread[-1] < 0.02 * spread[0]  # while the field evens out (slowest mode decays as e^-5.9)


def test_bad_time_stepping_raises_before_any_solve(monkeypatch):
    class Forbidden:
        def __init__(self, *args, **kwargs):
            raise AssertionError("the linear solver was reached")

    monkeypatch.setattr(heat_module, "LinearSolver", Forbidden)
    mesh = square(2)
    walls = {name: 0.0 for name in mesh.boundary}
    with pytest.raises(FEMError, match="dt must be a positive number, got 0.0"):
        heat(mesh, 0.0, 0.0, 10, dirichlet=walls)
    with pytest.raises(FEMError, match="num_steps must be a positive integer, got 2.5"):
        heat(mesh, 0.0, 0.1, 2.5, dirichlet=walls)
    with pytest.raises(FEMError, match=r"theta must be in \[0, 1\]"):
        heat(mesh, 0.0, 0.1, 10, dirichlet=walls, theta=1.5)
    with pytest.raises(FEMError, match=r"u0 has shape \(5,\)"):
        heat(mesh, np.zeros(5), 0.1, 10, dirichlet=walls)
    with pytest.raises(FEMError, match="robin: no boundary named 'wall'"):
        heat(mesh, 0.0, 0.1, 10, robin={"wall": (1.0, 0.0)})
