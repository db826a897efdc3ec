"""The Helmholtz benchmark: exact solutions, the P1 solver's convergence, errors on a fine mesh."""
import numpy as np
import pytest

from meshsim.movement import (FineReference, GaussianBumps, helmholtz_error, l2_error, solve_helmholtz,
                              unit_square_grid)


def test_bump_derivatives_match_finite_differences():
    bumps = GaussianBumps.random(np.random.default_rng(3))
    x = np.random.default_rng(4).uniform(0, 1, (2, 7))
    eps = 1e-5
    for k in (0, 1):
        step = np.zeros((2, 1))
        step[k] = eps
        fd_gradient = (bumps.value(x + step) - bumps.value(x - step)) / (2 * eps)
        assert np.abs(fd_gradient - bumps.gradient(x)[k]).max() < 1e-7
        fd_hessian = (bumps.gradient(x + step) - bumps.gradient(x - step)) / (2 * eps)
        assert np.abs(fd_hessian - bumps.hessian(x)[:, k]).max() < 1e-5
    h = bumps.hessian(x)
    assert np.allclose(bumps.source(x), -(h[0, 0] + h[1, 1]) + bumps.value(x))


def test_random_bumps_follow_um2n_ranges_and_round_trip():
    rng = np.random.default_rng(0)
    draws = [GaussianBumps.random(rng) for _ in range(200)]
    counts = [len(b.heights) for b in draws]
    assert min(counts) == 1 and max(counts) == 6
    widths = np.concatenate([b.widths.ravel() for b in draws])
    assert widths.min() == pytest.approx(1 / 8) and abs(np.median(widths) - 0.25) < 0.03
    heights = np.concatenate([b.heights for b in draws])
    assert 0 <= heights.min() and heights.max() <= 1
    back = GaussianBumps.from_params(draws[7].to_params())
    x = rng.uniform(0, 1, (2, 5))
    assert np.array_equal(back.value(x), draws[7].value(x))


def test_grid_layout_is_firedrakes_left_diagonal():
    mesh = unit_square_grid(4)
    assert mesh.num_points == 25 and mesh.num_cells == 32
    assert np.allclose(mesh.signed_measures, 1 / 32)
    edges = {tuple(e) for e in mesh.edges}
    assert (1, 5) in edges and (0, 6) not in edges  # (0, 0.25)-(0.25, 0), not (0, 0)-(0.25, 0.25)
    right = unit_square_grid(4, diagonal="right")
    assert (0, 6) in {tuple(e) for e in right.edges}
    assert sorted(mesh.boundary) == ["bottom", "left", "right", "top"]
    assert all(len(f) == 4 for f in mesh.boundary.values())


def test_p1_solution_converges_at_second_order():
    bumps = GaussianBumps.demo()
    errors = [helmholtz_error(unit_square_grid(n), bumps) for n in (16, 32, 64)]
    rates = np.log2(np.array(errors[:-1]) / errors[1:])
    assert rates[0] > 1.8 and rates[1] > 1.95, rates  # the 0.1-wide bump is barely resolved at n = 16
    mesh = unit_square_grid(16)
    values = solve_helmholtz(mesh, bumps)
    boundary = mesh.boundary_nodes()
    assert np.array_equal(values[boundary], bumps.value(mesh.points[boundary].T))


def test_fine_reference_error_agrees_with_the_exact_error():
    bumps = GaussianBumps.demo()
    coarse = unit_square_grid(20)
    values = solve_helmholtz(coarse, bumps)
    reference = FineReference(unit_square_grid(100))
    on_fine = reference.error(coarse, values, bumps)
    exact = l2_error(coarse, values, bumps)
    assert on_fine == pytest.approx(exact, rel=0.03)
    interpolant = bumps.value(coarse.points.T)
    assert reference.error(coarse, interpolant, bumps) < on_fine
