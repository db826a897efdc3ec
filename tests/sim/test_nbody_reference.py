"""Tests for meshsim.sim.nbody_reference: the EGNN/SEGNO generator's protocol."""
import numpy as np
import pytest

from meshsim.sim.nbody import _coulomb
from meshsim.sim.nbody_reference import (REFERENCE_SPLITS, integrate_kick_drift, reference_charged_splits,
                                         reference_charged_system, reference_initial_states)

# Measured by running the EGNN repository's n_body_system/dataset/synthetic_sim.py with
# np.random.seed(43), ChargedParticlesSim(noise_var=0, n_balls=5, vel_norm=0.5), T=5000, sample_freq=100
# (its first three systems; particle 0, coordinates x, y, z).
REFERENCE_SYSTEMS = [
    {"charges": [-1, 1, -1, -1, -1], "frame0": [0.445278278029731, 1.4597731517517143, -0.5162393922514775],
     "frame40": [4.1654998367653935, 2.191309138415654, -1.3826188023600456],
     "vel40": [1.2102278008166256, 0.4425797401667266, -0.19936320443828912]},
    {"charges": [1, -1, 1, 1, 1], "frame0": [-2.352681413054014, -0.10184921892794359, -1.0724202548676007],
     "frame40": [-2.2752263113146256, -2.7102952407123673, -1.262262958927147],
     "vel40": [-0.023110431687627966, -0.7039149434533257, -0.07811319654230713]},
    {"charges": [1, 1, -1, -1, 1], "frame0": [-0.5260412992211764, -1.8013345751152874, -0.11548195107189646],
     "frame40": [-3.587589349747681, 2.1663385957831798, 4.311348521657463],
     "vel40": [-0.552729514191237, 0.8290715521226181, 1.353717056247113]},
]


def test_seed_43_reproduces_the_reference_generator():
    traj = reference_charged_system(3, seed=43)
    assert traj.pos.shape == (3, 41, 5, 3)
    for s, expected in enumerate(REFERENCE_SYSTEMS):
        assert traj.params[s].tolist() == expected["charges"]
        # frames 0 and 40 are steps 100 and 4100; agreement is to the rounding of the force sums
        np.testing.assert_allclose(traj.pos[s, 0, 0], expected["frame0"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(traj.pos[s, 40, 0], expected["frame40"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(traj.vel[s, 40, 0], expected["vel40"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(traj.time[[0, 30, 40]], [0.1, 3.1, 4.1])


def test_kick_drift_matches_a_hand_written_loop_and_stores_the_drift_velocity():
    rng = np.random.default_rng(0)
    pos, vel = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    charges = rng.choice([-1.0, 1.0], size=(2, 4))
    force, dt = _coulomb(charges, 1.0), 1e-3
    frames_pos, frames_vel, _ = integrate_kick_drift(pos, vel, force, dt=dt, steps=6, every=1)
    x, v = pos.copy(), vel + dt * force(pos)  # a full first kick
    for step in range(6):
        x = x + dt * v
        np.testing.assert_allclose(frames_pos[:, step], x, rtol=0, atol=1e-15)
        np.testing.assert_allclose(frames_vel[:, step], v, rtol=0, atol=1e-15)
        v = v + dt * force(x)
    # the stored velocity is the one that moved the particles to the stored positions
    np.testing.assert_allclose(frames_pos[:, 1:] - frames_pos[:, :-1], dt * frames_vel[:, 1:], rtol=0, atol=1e-15)


def test_splits_continue_one_random_stream():
    splits = reference_charged_splits(used={"train": 2, "valid": 1, "test": 0}, steps=100)
    assert set(splits) == {"train", "valid"} and len(splits["train"].pos) == 2
    np.testing.assert_array_equal(splits["train"].pos, reference_charged_system(2, seed=43, steps=100).pos)
    stream = np.random.RandomState(43)
    reference_initial_states(stream, REFERENCE_SPLITS["train"])  # the valid split starts after all 10,000
    first_valid = reference_charged_system(1, seed=stream, steps=100)
    np.testing.assert_array_equal(splits["valid"].pos, first_valid.pos)
    assert not np.allclose(first_valid.pos, splits["train"].pos[:1])


def test_bad_step_counts_raise():
    pos = np.zeros((1, 2, 3))
    with pytest.raises(ValueError, match="multiple of every"):
        integrate_kick_drift(pos, pos, lambda x: 0 * x, dt=1e-3, steps=150, every=100)
    with pytest.raises(ValueError, match="dt must be positive"):
        integrate_kick_drift(pos, pos, lambda x: 0 * x, dt=0.0, steps=100, every=100)
