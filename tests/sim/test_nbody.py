"""Tests for meshsim.sim.nbody: forces, conservation laws, frame layout, batching, clipping."""
import numpy as np
import pytest

from meshsim.sim.nbody import (CHARGED_MAX_FORCE, charged_energy, charged_system, coulomb_forces,
                               gravity_energy, gravity_forces, gravity_system, integrate)


def test_coulomb_two_charges_match_the_inverse_square_law():
    pos = np.array([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]])
    force = coulomb_forces(pos, np.array([[1.0, -1.0]]), strength=3.0)
    # opposite charges attract: particle 0 is pulled towards +x with magnitude 3 / 2^2
    np.testing.assert_allclose(force, [[[0.75, 0, 0], [-0.75, 0, 0]]], rtol=1e-15)
    like = coulomb_forces(pos, np.array([[1.0, 1.0]]), strength=3.0)
    np.testing.assert_allclose(like, -force, rtol=1e-15)


def test_gravity_is_softened_and_attractive():
    pos = np.array([[[0.0, 0.0], [0.0, 0.5]]])
    force = gravity_forces(pos, np.array([[2.0, 3.0]]), G=1.0, softening=0.1)
    expected = 6.0 * 0.5 / (0.25 + 0.01) ** 1.5
    np.testing.assert_allclose(force, [[[0, expected], [0, -expected]]], rtol=1e-14)


def test_charged_system_shapes_frames_and_initial_state():
    traj = charged_system(4, steps=300, every=100, seed=1)
    assert traj.pos.shape == traj.vel.shape == (4, 4, 5, 3)
    np.testing.assert_allclose(traj.time, [0.0, 0.1, 0.2, 0.3])
    assert set(np.unique(traj.params)) <= {-1.0, 1.0}
    np.testing.assert_allclose(np.linalg.norm(traj.vel[:, 0], axis=-1), 0.5, rtol=1e-14)
    assert traj.clip_events.dtype == np.int64 and traj.clip_events.shape == (4,)


def test_momentum_is_conserved_without_clipping():
    traj = charged_system(16, steps=1000, every=100, max_force=None, seed=2)
    momentum = traj.vel.sum(axis=2)  # unit masses, (S, T, dim)
    assert np.abs(momentum - momentum[:, :1]).max() < 1e-10
    gravity = gravity_system(8, steps=1000, every=100, seed=2)
    assert np.abs(gravity.vel.sum(axis=2)).max() < 1e-10  # centre of mass at rest


def test_clipping_is_counted_and_breaks_momentum_only_when_it_happens():
    traj = charged_system(64, steps=1000, every=500, seed=3)
    momentum_drift = np.abs(traj.vel.sum(axis=2) - traj.vel[:, :1].sum(axis=2)).max(axis=(1, 2))
    exact = traj.clip_events == 0
    assert exact.any() and (~exact).any()
    assert momentum_drift[exact].max() < 1e-10
    assert momentum_drift[~exact].max() > 1e-3
    assert CHARGED_MAX_FORCE == 100.0


def test_charged_energy_is_approximately_conserved():
    traj = charged_system(16, steps=1000, every=100, max_force=None, seed=4)
    energy = charged_energy(traj.pos, traj.vel, traj.params[:, None, :])
    drift = np.abs(energy - energy[:, :1]).max(axis=1) / np.abs(energy[:, 0])
    assert np.median(drift) < 1e-4


def test_verlet_energy_error_is_second_order_in_dt():
    errors = []
    for dt, steps in ((2e-3, 500), (1e-3, 1000)):
        traj = gravity_system(8, steps=steps, every=steps, dt=dt, seed=5)
        energy = gravity_energy(traj.pos, traj.vel, traj.params[:, None, :])
        errors.append(np.abs(energy[:, -1] - energy[:, 0]).max())
    assert 3.0 < errors[0] / errors[1] < 5.0


def test_a_batch_evolves_each_system_independently():
    batch = charged_system(3, steps=200, every=100, seed=6)
    one = integrate(batch.pos[1:2, 0], batch.vel[1:2, 0], np.ones((1, 5)),
                    lambda x: coulomb_forces(x, batch.params[1:2]), dt=1e-3, steps=200, every=100,
                    max_force=CHARGED_MAX_FORCE)
    np.testing.assert_allclose(one[0][0], batch.pos[1], rtol=0, atol=1e-14)
    np.testing.assert_allclose(one[1][0], batch.vel[1], rtol=0, atol=1e-14)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="multiple of every"):
        charged_system(1, steps=150, every=100)
    with pytest.raises(ValueError, match="num_particles"):
        gravity_system(1, num_particles=1)
