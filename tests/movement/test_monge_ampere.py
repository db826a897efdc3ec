"""The Monge-Ampere mover against the reference `movement` package's demos, its fixed point,
tangling, sliding boundaries and failure modes."""
import numpy as np
import pytest

from meshsim.mesh import rectangle
from meshsim.movement import (GaussianBumps, MovementError, MovementResult, hessian_monitor, helmholtz_error,
                              monge_ampere, ring_monitor, solve_helmholtz, unit_square_grid)

#: published by the reference package's Helmholtz demo (20 x 20 UnitSquareMesh, P1)
UNIFORM_L2, EXACT_HESSIAN_L2, RESOLVED_HESSIAN_L2 = 0.010234, 0.00596, 0.00622
DEMO = GaussianBumps.demo()


def exact_hessian_monitor(mesh):
    """The demo's ``1 + 5 ||H||_F / max`` with the exact Hessian at the nodes."""
    norm = np.sqrt((DEMO.hessian(mesh.points.T) ** 2).sum(axis=(0, 1)))
    return 1.0 + 5.0 * norm / norm.max()


def resolved_hessian_monitor(mesh):
    """The same with the Hessian recovered from the solution re-solved on each iterate."""
    return hessian_monitor(mesh, solve_helmholtz(mesh, DEMO), alpha=5.0, norm="frobenius")


@pytest.fixture(scope="module")
def grid():
    return unit_square_grid(20)


@pytest.fixture(scope="module")
def demo_result(grid):
    return monge_ampere(grid, exact_hessian_monitor, method="quasi_newton")


def test_helmholtz_demo_uniform_error(grid):
    assert helmholtz_error(grid, DEMO) == pytest.approx(UNIFORM_L2, rel=0.001)


def test_helmholtz_demo_exact_hessian_monitor(demo_result):
    report = demo_result.report
    assert report.converged and report.residuals[-1] < 1e-8 and len(report.tangled_cells) == 0
    assert report.residuals[0] == pytest.approx(0.477, abs=0.001)  # the reference prints 4.77e-01
    assert report.iterations <= 20  # the reference: 17 quasi-Newton iterations
    assert report.equidistribution_cv == pytest.approx(0.0257, abs=0.0005)  # reference: 2.57e-02
    assert helmholtz_error(demo_result.mesh, DEMO) == pytest.approx(EXACT_HESSIAN_L2, rel=0.1)


def test_relaxation_reaches_the_same_mesh(grid, demo_result):
    relaxed = monge_ampere(grid, exact_hessian_monitor, method="relaxation", rtol=1e-8)
    assert relaxed.report.iterations > 5 * demo_result.report.iterations
    assert np.abs(relaxed.mesh.points - demo_result.mesh.points).max() < 1e-7


def test_helmholtz_demo_resolved_hessian_monitor(grid):
    result = monge_ampere(grid, resolved_hessian_monitor, method="quasi_newton")
    assert result.report.iterations <= 20
    assert helmholtz_error(result.mesh, DEMO) == pytest.approx(RESOLVED_HESSIAN_L2, rel=0.1)


def test_ring_monitor_converges_without_tangling(grid):
    result = monge_ampere(grid, ring_monitor, method="quasi_newton")
    report = result.report
    assert report.converged and len(report.tangled_cells) == 0 and result.mesh.signed_measures.min() > 0
    # the reference's ring demo ends at variation 3.49e-01 and volume ratio 9.19
    assert report.equidistribution_cv == pytest.approx(0.349, abs=0.002)
    assert report.equidistribution_ratio == pytest.approx(9.19, abs=0.02)


def test_converged_result_is_a_fixed_point(grid, demo_result):
    again = monge_ampere(grid, exact_hessian_monitor, method="quasi_newton", initial=demo_result)
    assert again.report.iterations == 0
    assert np.array_equal(again.mesh.points, demo_result.mesh.points)
    relaxed = monge_ampere(grid, exact_hessian_monitor, method="relaxation", initial=demo_result)
    assert relaxed.report.iterations == 0


def test_constant_monitor_needs_no_movement(grid):
    result = monge_ampere(rectangle(h=0.2), lambda mesh: np.full(mesh.num_points, 2.5))
    assert result.report.iterations == 0 and result.report.equidistribution_ratio > 1.0
    assert isinstance(result, MovementResult)


def test_warm_start_from_moved_points(grid, demo_result):
    warm = monge_ampere(grid, exact_hessian_monitor, method="quasi_newton", initial=demo_result.mesh.points)
    assert warm.report.residuals[0] < 0.5 * demo_result.report.residuals[0]
    assert np.abs(warm.mesh.points - demo_result.mesh.points).max() < 1e-6


def test_tangling_is_rejected_with_cell_ids(grid):
    with pytest.raises(MovementError, match=r"tangled at relaxation iteration 1: cells \[\d+, .*changed the sign"):
        monge_ampere(grid, ring_monitor, pseudo_timestep=5.0)


def test_sliding_boundaries_stay_on_their_segments():
    mesh = rectangle(h=0.1)
    result = monge_ampere(mesh, lambda m: ring_monitor(m, centre=(0.3, 0.6), amplitude=5.0, width=20.0),
                          method="relaxation", rtol=1e-3)
    moved = result.mesh.points
    for name, axis, value in (("left", 0, 0.0), ("right", 0, 1.0), ("bottom", 1, 0.0), ("top", 1, 1.0)):
        nodes = mesh.boundary_nodes(name)
        assert np.abs(moved[nodes, axis] - value).max() < 1e-14
        assert np.abs(moved[nodes, 1 - axis] - mesh.points[nodes, 1 - axis]).max() > 0.01  # they slid
        assert moved[nodes, 1 - axis].min() >= 0.0 and moved[nodes, 1 - axis].max() <= 1.0
    corners = np.isin(mesh.points, [0.0, 1.0]).all(axis=1)
    assert np.array_equal(moved[corners], mesh.points[corners])


def test_failures_raise_movement_error(grid):
    with pytest.raises(MovementError, match="did not converge in 3 iterations"):
        monge_ampere(grid, ring_monitor, maxiter=3)
    with pytest.raises(MovementError, match="finite and positive"):
        monge_ampere(grid, lambda mesh: np.full(mesh.num_points, -1.0))
    with pytest.raises(MovementError, match="method must be one of"):
        monge_ampere(grid, ring_monitor, method="newton")
    with pytest.raises(MovementError, match="initial points have shape"):
        monge_ampere(grid, ring_monitor, initial=np.zeros((3, 2)))
    # an explicit pseudo-time step far too large for this monitor overshoots: the residual grows
    with pytest.raises(MovementError, match=r"relaxation diverged at iteration \d: relative residual .* > 2.0 x"):
        monge_ampere(unit_square_grid(10), lambda mesh: ring_monitor(mesh, amplitude=0.5, width=5.0),
                     pseudo_timestep=3.0)
