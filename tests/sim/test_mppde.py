import numpy as np
import pytest

from meshsim.sim.mppde import (DOMAIN_LENGTH, E1, E2, E3, CombinedEquation, Forcing, cell_centres, coarsen,
                               solve_combined_equation)

GAUSS_POINTS, GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(6)


def cell_averages(function, nx):
    """Exact (to quadrature) cell averages of ``function`` on nx cells of [0, 16)."""
    points = cell_centres(nx)[:, None] + GAUSS_POINTS * DOMAIN_LENGTH / nx / 2
    return (function(points) * GAUSS_WEIGHTS).sum(-1) / 2


def smooth_start(x):
    return 0.5 + 0.4 * np.sin(2 * np.pi * x / DOMAIN_LENGTH)


def burgers_exact(x, t):
    """u(x, t) = u0(xi), x = xi + u0(xi) t, by Newton's method (before the shock at t = 6.4)."""
    xi = np.array(x, dtype=np.float64)
    for _ in range(50):
        slope = 0.4 * 2 * np.pi / DOMAIN_LENGTH * np.cos(2 * np.pi * xi / DOMAIN_LENGTH)
        xi -= (xi + smooth_start(xi) * t - x) / (1 + slope * t)
    return smooth_start(xi)


def slope(nxs, errors):
    return -np.polyfit(np.log(nxs), np.log(errors), 1)[0]


def test_weno5_converges_at_fifth_order_on_smooth_burgers():
    nxs, errors = (25, 50, 100), []
    for nx in nxs:
        _, u = solve_combined_equation(CombinedEquation(1.0), Forcing.none(), nx, 2.0, num_steps=2,
                     u0=cell_averages(smooth_start, nx), rtol=1e-11, atol=1e-12)
        errors.append(np.abs(u[-1] - cell_averages(lambda p: burgers_exact(p, 2.0), nx)).mean())
    assert slope(nxs, errors) > 4.4  # measured 4.6 (WENO-JS loses a little at extrema)
    assert errors[-1] < 1e-7


def test_diffusion_and_dispersion_converge_at_fourth_order():
    beta, gamma, t, k = 0.1, 0.5, 1.0, 2 * np.pi * 2 / DOMAIN_LENGTH
    nxs, errors = (25, 50, 100), []
    for nx in nxs:
        _, u = solve_combined_equation(CombinedEquation(0.0, beta, gamma), Forcing.none(), nx, t, num_steps=2,
                     u0=cell_averages(lambda p: np.sin(k * p), nx), rtol=1e-11, atol=1e-12)
        exact = cell_averages(lambda p: np.exp(-beta * k ** 2 * t) * np.sin(k * (p + gamma * k ** 2 * t)), nx)
        errors.append(np.abs(u[-1] - exact).max())
    assert 3.8 < slope(nxs, errors) < 4.2


def test_forced_mean_is_conserved_and_initial_state_is_forcing():
    equation, forcing = E3.sample(np.random.default_rng(1))
    times, u = solve_combined_equation(equation, forcing, 50, 0.5, num_steps=6)
    assert times.tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert np.allclose(u[0], forcing(0.0, cell_centres(50)))
    assert np.abs(u.mean(-1) - u[0].mean()).max() < 1e-12
    assert u.shape == (6, 50)


def test_periodicity_shifting_the_start_shifts_the_solution():
    rng = np.random.default_rng(2)
    start = np.sin(2 * np.pi * cell_centres(40) / DOMAIN_LENGTH) + 0.3 * rng.normal(size=40)
    equation = CombinedEquation(alpha=2.0, beta=0.2, gamma=0.3)
    batch = np.stack([start, np.roll(start, 7)])
    _, u = solve_combined_equation(equation, Forcing.none(), 40, 0.3, num_steps=3, u0=batch)
    assert u.shape == (2, 3, 40)
    assert np.allclose(np.roll(u[0], 7, axis=-1), u[1], atol=1e-9)


def test_batch_of_equations_equals_separate_solves():
    rng = np.random.default_rng(4)
    samples = [E2.sample(rng) for _ in range(2)]
    equation = CombinedEquation(1.0, np.array([[e.beta] for e, _ in samples]), 0.0)
    _, together = solve_combined_equation(equation, Forcing.stack([f for _, f in samples]), 32, 0.5, num_steps=3,
                                          rtol=1e-9, atol=1e-10)
    for i, (e, f) in enumerate(samples):
        _, alone = solve_combined_equation(e, f, 32, 0.5, num_steps=3, rtol=1e-9, atol=1e-10)
        assert np.allclose(together[i], alone, atol=1e-7)


def test_forcing_sample_ranges_and_experiments():
    forcing = Forcing.sample(np.random.default_rng(0))
    assert len(forcing.amplitudes) == 5 and np.all(np.abs(forcing.amplitudes) <= 0.5)
    assert np.all(np.abs(forcing.omegas) <= 0.4) and set(forcing.wavenumbers) <= {1, 2}
    x = np.array([0.0, 3.0])
    assert np.allclose(forcing(0.7, x), forcing(0.7, x + DOMAIN_LENGTH))
    rng = np.random.default_rng(3)
    assert E1.sample(rng)[0] == CombinedEquation(1.0, 0.0, 0.0) and E1.t_end == 4.0
    assert 0.0 <= E2.sample(rng)[0].beta <= 0.2
    e3 = E3.sample(rng)[0]
    assert 0 <= e3.alpha <= 6 and 0.1 <= e3.beta <= 0.4 and 0 <= e3.gamma <= 1 and E3.t_end == 2.0


def test_coarsen_averages_and_rejects_bad_factors():
    u = np.arange(12.0).reshape(2, 6)
    assert coarsen(u, 3).tolist() == [[1.0, 4.0], [7.0, 10.0]]
    assert np.allclose(coarsen(cell_centres(200), 5), cell_centres(40))
    with pytest.raises(ValueError, match="cannot coarsen 6 cells by a factor of 4"):
        coarsen(u, 4)


def test_bad_grid_rejected():
    with pytest.raises(ValueError, match="nx must be >= 7"):
        solve_combined_equation(CombinedEquation(), Forcing.none(), 5, 1.0)
    with pytest.raises(ValueError, match="u0 has 3 cells, expected nx=8"):
        solve_combined_equation(CombinedEquation(), Forcing.none(), 8, 1.0, u0=np.zeros(3))


def test_spectral_subsample_is_exact_for_resolved_modes():
    from meshsim.sim import cell_centres, spectral_subsample

    x_fine, x_coarse = cell_centres(200, 16.0), cell_centres(50, 16.0)
    wave = lambda x: 0.3 + np.sin(2 * np.pi * 3 * x / 16.0 + 0.4) - 0.5 * np.cos(2 * np.pi * 11 * x / 16.0)  # noqa: E731
    np.testing.assert_allclose(spectral_subsample(wave(x_fine)[None], 4)[0], wave(x_coarse), atol=1e-12)
    # a mode the coarse grid cannot resolve is removed, not aliased
    fast = np.sin(2 * np.pi * 40 * x_fine / 16.0)
    np.testing.assert_allclose(spectral_subsample(fast, 4), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="cannot subsample 200 cells by a factor of 3"):
        spectral_subsample(fast, 3)
