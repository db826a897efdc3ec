"""The MP-PDE protocols: the paper's reference grid, its 5-tap filter, and the solver on that grid."""
from pathlib import Path

import numpy as np
import pytest
import torch

from meshsim.sim import (CombinedEquation, Forcing, cell_centres, coarse_data, coarsen, grid_points,
                         reference_filter, solve_combined_equation)
from meshsim.sim.mppde import right_hand_side

#: one E1 trajectory (nx = 40, 26 frames on [0, 1]) solved by the paper's own code
#: (brandstetter-johannes/MP-Neural-PDE-Solvers: equations.PDEs.CE with its WENO5 reconstruction
#: and temporal.solvers' adaptive Dopri45, nodes torch.linspace(0, 16, 40)), forcing drawn by
#: meshsim.sim.Forcing.sample(np.random.default_rng(11))
REFERENCE_RUN = Path(__file__).parent / "data" / "mppde_reference_solver_E1_nx40.npz"


def test_reference_grid_has_endpoint_nodes_and_spacing_length_over_nx():
    np.testing.assert_array_equal(grid_points(40, "reference"), np.linspace(0.0, 16.0, 40))
    np.testing.assert_array_equal(grid_points(40, "cell"), cell_centres(40))
    assert grid_points(40, "reference")[-1] == 16.0 and grid_points(40, "cell")[-1] == pytest.approx(15.8)
    with pytest.raises(ValueError, match="grid must be one of"):
        grid_points(40, "staggered")
    # the scheme's dx is L / nx on both grids: u_xx of a grid mode is the stencil's symbol / dx^2
    nx, k, beta = 40, 3, 0.7
    theta = 2 * np.pi * k / nx
    mode = np.sin(theta * np.arange(nx))
    symbol = (-2 * np.cos(2 * theta) + 32 * np.cos(theta) - 30) / 12
    for grid in ("reference", "cell"):
        rate = right_hand_side(0.0, mode, CombinedEquation(0.0, beta, 0.0), Forcing.none(), grid=grid)
        np.testing.assert_allclose(rate, beta * symbol / (16.0 / nx) ** 2 * mode, atol=1e-12)


def test_reference_grid_samples_the_forcing_at_its_nodes():
    forcing = Forcing.sample(np.random.default_rng(5))
    _, u = solve_combined_equation(CombinedEquation(1.0), forcing, 40, 0.1, num_steps=2, grid="reference")
    np.testing.assert_allclose(u[0], forcing(0.0, np.linspace(0.0, 16.0, 40)), atol=1e-14)
    assert u[0, 0] == pytest.approx(u[0, -1], abs=1e-12)  # x = 0 and x = 16 carry the same value


def test_reference_grid_solver_matches_the_papers_solver():
    run = np.load(REFERENCE_RUN)
    forcing = Forcing(run["amplitudes"], run["omegas"], run["phases"], run["wavenumbers"].astype(np.int64))
    equation = CombinedEquation(float(run["alpha"]), float(run["beta"]), float(run["gamma"]))
    truth = run["u"]

    def relative_l2(grid):
        _, u = solve_combined_equation(equation, forcing, 40, float(run["t"][-1]), num_steps=len(truth), grid=grid)
        return np.linalg.norm(u - truth) / np.linalg.norm(truth)

    # measured 0.45% (the paper's code wraps its ghost cells by one node less and uses WENO epsilon 1e-16)
    assert relative_l2("reference") < 0.006
    assert relative_l2("cell") > 0.05  # measured 8.3%: the grid convention is what the test sees


def test_five_tap_filter_on_a_known_array():
    u = np.arange(10.0)
    # padded: [7, 8, 0, 1, ..., 9, 1, 2]; windows of 5 from padded index 0, 2, 4, 6, 8
    np.testing.assert_allclose(reference_filter(u, 2), [3.6, 2.0, 4.0, 6.0, 6.2])
    np.testing.assert_allclose(reference_filter(u, 1)[2:8], u[2:8])  # stride 1: a centred moving mean
    with pytest.raises(ValueError, match="cannot filter 200 cells by a factor of 3"):
        reference_filter(np.zeros(200), 3)


@pytest.mark.parametrize("factor", [2, 4, 5])
def test_five_tap_filter_equals_a_strided_convolution(factor):
    """An independent formulation: conv1d with weights 0.2 over the wrap-padded array."""
    u = np.random.default_rng(factor).normal(size=(3, 250, 200))
    padded = torch.from_numpy(np.concatenate([u[..., -3:-1], u, u[..., 1:3]], -1)).reshape(-1, 1, 204)
    convolved = torch.nn.functional.conv1d(padded, torch.full((1, 1, 5), 0.2, dtype=torch.float64), stride=factor)
    expected = convolved.reshape(3, 250, -1).numpy()
    assert expected.shape[-1] == 200 // factor
    np.testing.assert_allclose(reference_filter(u, factor), expected, atol=1e-13)


def test_coarse_data_follows_the_protocol():
    u = np.random.default_rng(0).normal(size=(2, 200))
    np.testing.assert_array_equal(coarse_data(u, 5, "cell"), coarsen(u, 5))
    np.testing.assert_array_equal(coarse_data(u, 5, "reference"), reference_filter(u, 5))
    with pytest.raises(ValueError, match="grid must be one of"):
        coarse_data(u, 5, "nodes")
