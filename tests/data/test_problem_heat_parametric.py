"""heat_parametric: every sample on the same reference grid, boundary values, the steady limit against
its exact solution (second order in h), and the geometry parameters acting as they should."""
import dataclasses

import numpy as np
import pytest

from meshsim.data import PROBLEMS, DatasetError, load_recipe
from meshsim.data.params import check_all_defaults
from meshsim.data.problems.heat_parametric import (HeatParametricParams, channel_mesh, sample_heat_parametric,
                                                   solve_heat_parametric)


def test_samples_share_the_reference_grid_and_hold_their_boundary_values():
    params = HeatParametricParams(nx=9, ny=5, num_steps=20, save_every=10)
    sample = sample_heat_parametric(params, np.random.default_rng(3))
    u = sample.fields["u"][:, :, 0].reshape(params.grid_shape)
    assert params.grid_shape == (3, 5, 9) and sample.times.tolist() == [0.0, 0.05, 0.1]
    height, bump = float(sample.params["height"]), float(sample.params["bump"])
    x, y = sample.points[:, 0].reshape(5, 9), sample.points[:, 1].reshape(5, 9)
    np.testing.assert_allclose(x, np.broadcast_to(np.linspace(0, 1, 9), (5, 9)))  # x = L xi on every row
    np.testing.assert_allclose(y[-1], height) and np.testing.assert_allclose(y[0, [0, -1]], 0.0)
    assert 0 < y[0].max() <= bump + 1e-12
    assert np.all(u[0] == 0)  # u = 0 at t = 0
    np.testing.assert_allclose(u[1:, :, 0], np.sin(np.pi * y[:, 0] / height) * np.ones((2, 1)), atol=1e-12)
    assert np.all(u[1:, [0, -1], :] == 0.0)  # walls
    assert u.max() <= 1.0  # no overshoot (consistent-mass implicit Euler may undershoot 0 a little early on)
    again = sample_heat_parametric(params, np.random.default_rng(3))
    np.testing.assert_array_equal(again.fields["u"], sample.fields["u"])


def _steady_error(nx: int, ny: int) -> float:
    """Max error at t = 1 against the steady solution sin(pi y/H) cosh(pi (L - x)/H) / cosh(pi L/H) of a
    straight channel, with kappa large enough that the transient has decayed."""
    params = HeatParametricParams(nx=nx, ny=ny, num_steps=40, save_every=40, dt=0.025)
    sample = solve_heat_parametric(params, height=0.5, bump=0.0, kappa=1.0)
    x, y = sample.points.T
    exact = np.sin(np.pi * y / 0.5) * np.cosh(np.pi * (1.0 - x) / 0.5) / np.cosh(np.pi / 0.5)
    return float(np.abs(sample.fields["u"][-1, :, 0] - exact).max())


def test_steady_limit_matches_the_exact_solution_to_second_order():
    coarse, fine = _steady_error(21, 6), _steady_error(41, 11)
    assert fine < 2e-3 and 3.0 < coarse / fine < 5.0


def test_higher_bump_and_lower_diffusivity_let_less_heat_in():
    params = HeatParametricParams(nx=21, ny=9)
    heat = {key: solve_heat_parametric(params, *key).fields["u"][-1].sum() for key in
            [(0.8, 0.0, 0.05), (0.8, 0.2, 0.05), (0.8, 0.0, 0.03)]}
    assert heat[(0.8, 0.2, 0.05)] < heat[(0.8, 0.0, 0.05)] and heat[(0.8, 0.0, 0.03)] < heat[(0.8, 0.0, 0.05)]


def test_recipe_and_bad_parameters():
    check_all_defaults(HeatParametricParams)
    recipe = load_recipe("heat_parametric")
    assert recipe.params.grid_shape == (11, 16, 40) and PROBLEMS["heat_parametric"].targets == ("u",)
    with pytest.raises(DatasetError, match="channel closes"):
        recipe.with_overrides(params={"bump": [0.0, 0.6]})
    with pytest.raises(DatasetError, match="does not divide"):
        recipe.with_overrides(params={"save_every": 30})
    with pytest.raises(DatasetError, match="must be below the channel height"):
        channel_mesh(dataclasses.replace(recipe.params), height=0.5, bump=0.5)
