import numpy as np

from meshsim.sim.weno import burgers_flux_divergence, burgers_godunov_flux, face_states, weno5_left


def test_reconstruction_is_exact_for_quadratic_cell_averages():
    # cell averages of x^2 on unit cells centred at -2..2; the face value at x = 1/2 is 1/4
    averages = [c ** 2 + 1 / 12 for c in range(-2, 3)]
    assert np.isclose(weno5_left(*map(np.float64, averages)), 0.25, atol=1e-5)


def test_reconstruction_does_not_overshoot_a_jump():
    step = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    left, right = face_states(step)
    assert left.min() > -1e-3 and left.max() < 1 + 1e-3
    assert right.min() > -1e-3 and right.max() < 1 + 1e-3


def test_godunov_flux_cases():
    left = np.array([1.0, -1.0, -2.0, 2.0, -1.0])
    right = np.array([2.0, 1.0, -1.0, -3.0, 0.5])
    # rarefaction right-moving, sonic rarefaction, rarefaction left-moving, shock, rarefaction
    assert burgers_godunov_flux(left, right).tolist() == [0.5, 0.0, 0.5, 4.5, 0.0]


def test_flux_divergence_is_conservative_and_zero_for_constants():
    u = np.random.default_rng(0).normal(size=(3, 32))
    assert np.allclose(burgers_flux_divergence(u, 0.5).sum(-1), 0.0, atol=1e-12)
    assert np.allclose(burgers_flux_divergence(np.full(16, 0.7), 0.5), 0.0)
