"""Monitor functions: formulas, normalisation, interpolation to moved points, smoothing."""
import numpy as np
import pytest

from meshsim.mesh import rectangle
from meshsim.movement import (MovementError, gradient_monitor, hessian_monitor, interpolated, ring_monitor, smooth,
                              unit_square_grid)


@pytest.fixture(scope="module")
def mesh():
    return rectangle(h=0.1)


def test_ring_monitor_formula(mesh):
    values = ring_monitor(mesh, centre=(0.5, 0.5), radius=0.4, amplitude=20.0, width=200.0)
    r2 = ((mesh.points - 0.5) ** 2).sum(axis=1)
    assert np.allclose(values, 1.0 + 20.0 / np.cosh(200.0 * (r2 - 0.16)) ** 2, rtol=1e-13, atol=0)
    on_ring = ring_monitor(unit_square_grid(10).with_points(np.array([[0.9, 0.5]] * 121), validate=False))
    assert np.allclose(on_ring, 21.0)
    far = ring_monitor(mesh, width=1e6)  # cosh overflows: the monitor is 1 off the ring, no warning
    assert np.isfinite(far).all() and far.min() == 1.0


def test_gradient_monitor_of_a_linear_field_is_uniform(mesh):
    values = gradient_monitor(mesh, 2 * mesh.points[:, 0] - mesh.points[:, 1], alpha=5.0)
    assert np.abs(values - 6.0).max() < 1e-10


def test_hessian_monitor_norms_and_normalisation():
    mesh = unit_square_grid(40)
    x, y = mesh.points.T
    u = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.05)
    double = hessian_monitor(mesh, u, alpha=5.0, norm="double_dot")
    frobenius = hessian_monitor(mesh, u, alpha=5.0, norm="frobenius")
    assert double.max() == pytest.approx(6.0) and frobenius.max() == pytest.approx(6.0)
    assert double.min() >= 1.0 and frobenius.min() >= 1.0
    # ||H||^2 against ||H||: the squared norm is more peaked, so its monitor is lower elsewhere
    assert np.all(double <= frobenius + 1e-12) and double.mean() < frobenius.mean()
    assert np.allclose(hessian_monitor(mesh, 3 * x + y), 1.0)  # zero Hessian: no refinement at all
    with pytest.raises(MovementError, match="norm must be"):
        hessian_monitor(mesh, u, norm="max")
    with pytest.raises(MovementError, match="one finite value per mesh point"):
        hessian_monitor(mesh, u[:-1])


def test_interpolated_monitor_follows_the_physical_position(mesh):
    linear = 1.0 + mesh.points[:, 0] + 2.0 * mesh.points[:, 1]
    monitor = interpolated(mesh, linear)
    moved = np.random.default_rng(1).uniform(0.0, 1.0, mesh.points.shape)
    moved[:4] = [[0.0, 0.0], [1.0, 1.0], [1.0 + 1e-15, 0.5], [0.3, -1e-16]]  # on and just off the boundary
    values = monitor(mesh.with_points(moved, validate=False))
    assert np.abs(values - (1.0 + moved[:, 0] + 2.0 * moved[:, 1])).max() < 1e-12


def test_smoothing_keeps_constants_and_spreads_a_spike(mesh):
    assert np.allclose(smooth(mesh, np.full(mesh.num_points, 3.0), passes=3), 3.0)
    spike = np.zeros(mesh.num_points)
    spike[mesh.num_points // 2] = 1.0
    smoothed = smooth(mesh, spike, passes=2)
    assert smoothed.max() < 0.5 and (smoothed > 0).sum() > 5
    # the lumped projection conserves the integral of the field
    from meshsim.movement import TriangleP1

    lumped = TriangleP1.of(mesh).lumped_mass
    assert lumped @ smoothed == pytest.approx(lumped @ spike, rel=1e-12)
