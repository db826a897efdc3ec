import importlib

import numpy as np
import pytest
import skfem

from meshsim.fem import (FEMError, FunctionSpace, advection_diffusion, gaussian_cone, rotating_velocity,
                         steady_advection_diffusion, supg_tau, swirl_velocity, translating_gaussian)
from meshsim.mesh import Mesh

solvers_module = importlib.import_module("meshsim.fem.solvers")


def square(n):
    return Mesh.from_skfem(skfem.MeshTri1().refined(n).with_defaults())


def interval(n):
    return Mesh(np.linspace(0, 1, n + 1), np.stack([np.arange(n), np.arange(1, n + 1)], axis=1),
                boundary={"left": [[0]], "right": [[n]]})


def boundary_layer(x, eps):
    """Exact solution of u' - eps u'' = 0, u(0) = 0, u(1) = 1."""
    return np.exp((x - 1.0) / eps) * -np.expm1(-x / eps) / -np.expm1(-1.0 / eps)


@pytest.mark.parametrize("eps", [1e-1, 1e-2, 1e-4])
def test_supg_is_nodally_exact_in_1d_and_galerkin_oscillates(eps):
    mesh = interval(20)  # element Peclet numbers 0.25, 2.5, 250
    conditions = dict(dirichlet={"left": 0.0, "right": 1.0})
    u = steady_advection_diffusion(mesh, np.array([1.0]), eps, **conditions)
    np.testing.assert_allclose(u.values, boundary_layer(mesh.points[:, 0], eps), atol=1e-12)
    galerkin = steady_advection_diffusion(mesh, np.array([1.0]), eps, supg=False, **conditions)
    assert (galerkin.values.min() < -0.1) == (eps < 0.05)  # oscillates exactly when Pe > 1


@pytest.mark.parametrize("velocity", [[1.0, 0.0], [1.0, 0.5]])
def test_supg_removes_oscillations_at_high_peclet_in_2d(velocity):
    mesh = square(4)
    walls = {name: 0.0 for name in mesh.boundary}
    supg = steady_advection_diffusion(mesh, np.array(velocity), 1e-4, 1.0, dirichlet=walls)
    galerkin = steady_advection_diffusion(mesh, np.array(velocity), 1e-4, 1.0, dirichlet=walls, supg=False)
    assert supg.values.min() >= -1e-10
    assert supg.values.max() <= 1.5  # the reduced problem u_x = 1 gives u <= 1 + layer overshoot
    assert galerkin.values.min() < -1.0 and galerkin.values.max() > 10.0


def test_tau_limits():
    space = FunctionSpace(interval(10))
    shape = space.basis.X.shape[1]
    b = np.ones((1, 10, shape))
    h = 0.1
    advective = supg_tau(space, b, np.full((10, shape), 1e-9))
    np.testing.assert_allclose(advective, h / 2.0, rtol=1e-6)           # Pe -> inf: h / (2 |b|)
    diffusive = supg_tau(space, b, np.full((10, shape), 1e3))
    np.testing.assert_allclose(diffusive, h ** 2 / (12.0 * 1e3), rtol=1e-6)  # Pe -> 0: h^2 / (12 eps)
    assert np.all(supg_tau(space, 0.0 * b, np.ones((10, shape))) == 0.0)


B, EPS, WIDTH, START = np.array([0.5, 0.25]), 1e-3, 0.05, np.array([0.3, 0.3])


def gaussian_at(x, t):
    return translating_gaussian(x, t, B, EPS, START, WIDTH)


def test_translating_gaussian_converges():
    final_time, errors = 0.5, []
    for n in (4, 5, 6):
        mesh = square(n)
        steps = 2 ** (n - 1)
        trajectory = advection_diffusion(mesh, lambda x: gaussian_at(x, 0.0), B, EPS,
                                         final_time / steps, steps, dirichlet={"left": 0.0, "bottom": 0.0})
        errors.append(trajectory[-1].l2_error(lambda x: gaussian_at(x, final_time)))
    slopes = np.log2(np.array(errors[:-1]) / errors[1:])
    assert errors[-1] < 3e-3
    assert slopes[-1] >= 1.8


def test_swirl_returns_the_cone_and_steady_velocity_factorises_once(monkeypatch):
    calls = []
    original = solvers_module.spla.splu
    monkeypatch.setattr(solvers_module.spla, "splu", lambda *a, **k: calls.append(1) or original(*a, **k))
    mesh = square(5)
    cone = gaussian_cone(mesh.points.T, center=(0.5, 0.75), width=0.1)
    trajectory = advection_diffusion(mesh, cone, swirl_velocity, 1e-6, 1.0 / 40, 40,
                                     velocity_depends_on_time=True)
    values = trajectory.values
    assert np.abs(values[20] - cone).max() > 0.5       # deformed at half period
    assert np.abs(values[-1] - cone).max() < 0.1       # back at the full period
    assert values.min() > -0.05
    assert len(calls) < 40 / 4                          # earlier factorisations precondition later steps
    calls.clear()
    rotated = advection_diffusion(mesh, cone, lambda x: rotating_velocity(x), 1e-6, 1.0 / 40, 40)
    assert len(calls) == 1
    quarter = gaussian_cone(mesh.points.T, center=(0.25, 0.5), width=0.1)
    assert np.abs(rotated.values[10] - quarter).max() < 0.15  # a quarter turn, counter-clockwise


def test_swirl_velocity_is_tangential_and_reverses():
    edge = np.array([[0.0, 0.3, 1.0, 0.7], [0.4, 0.0, 0.6, 1.0]])  # a point on each side
    velocity = swirl_velocity(edge, 0.1)
    normal_components = [velocity[0, 0], velocity[1, 1], velocity[0, 2], velocity[1, 3]]
    np.testing.assert_allclose(normal_components, 0.0, atol=1e-15)
    x = np.random.default_rng(0).random((2, 5))
    np.testing.assert_allclose(swirl_velocity(x, 0.2), -swirl_velocity(x, 0.8), atol=1e-15)


def test_bad_input():
    mesh = square(2)
    with pytest.raises(FEMError, match="advection-diffusion is P1 only"):
        steady_advection_diffusion(mesh, np.array([1.0, 0.0]), 1.0, order=2)
    with pytest.raises(FEMError, match=r"velocity has shape \(3,\)"):
        steady_advection_diffusion(mesh, np.array([1.0, 0.0, 0.0]), 1.0, dirichlet={"left": 0.0})
    with pytest.raises(FEMError, match="eps must be positive"):
        steady_advection_diffusion(mesh, np.array([1.0, 0.0]), 0.0, dirichlet={"left": 0.0})
    with pytest.raises(FEMError, match="velocity_depends_on_time needs velocity to be a callable"):
        advection_diffusion(mesh, 0.0, np.array([1.0, 0.0]), 1.0, 0.1, 2, velocity_depends_on_time=True)
    with pytest.raises(FEMError, match="dirichlet: no boundary named 'inflow'"):
        advection_diffusion(mesh, 0.0, np.array([1.0, 0.0]), 1.0, 0.1, 2, dirichlet={"inflow": 1.0})
