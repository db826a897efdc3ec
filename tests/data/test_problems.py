"""Each shipped problem on a tiny mesh: shapes, boundary conditions and physics hold."""
import dataclasses

import numpy as np
import pytest

from meshsim.data import PROBLEMS
from meshsim.graph import NodeType


def _sample(problem, seed=0, **params):
    entry = PROBLEMS[problem]
    return entry.sample(dataclasses.replace(entry.params(), **params), np.random.default_rng(seed))


def _boundary(sample):
    return np.unique(np.concatenate(list(sample.boundary.values())))


def test_poisson_is_zero_on_the_boundary_and_reproducible():
    sample = _sample("poisson", h=0.25, n_modes=16)
    assert set(sample.fields) == {"kappa", "f", "u"} and sample.fields["u"].shape == (sample.num_nodes, 1)
    assert np.all(sample.fields["u"][_boundary(sample)] == 0.0) and np.abs(sample.fields["u"]).max() > 0
    assert sample.fields["kappa"].min() > 0
    assert np.all(sample.node_type[_boundary(sample)] == NodeType.BOUNDARY)
    again = _sample("poisson", h=0.25, n_modes=16)
    np.testing.assert_array_equal(again.fields["u"], sample.fields["u"])
    other = _sample("poisson", seed=1, h=0.25, n_modes=16)
    assert other.points.shape != sample.points.shape or not np.array_equal(other.points, sample.points)


def test_darcy_permeability_takes_two_values():
    sample = _sample("darcy", h=0.2, n_modes=16)
    assert set(np.unique(sample.fields["a"])) <= {3.0, 12.0}
    assert np.all(sample.fields["u"][_boundary(sample)] == 0.0) and sample.fields["u"].max() > 0


def test_heat_trajectory_decays_with_zero_boundary_values():
    sample = _sample("heat", h=0.25, num_steps=4, n_modes=16)
    u = sample.fields["u"][:, :, 0]
    assert u.shape == (5, sample.num_nodes) and sample.fields["kappa"].shape == (sample.num_nodes, 1)
    np.testing.assert_allclose(sample.times, 0.005 * np.arange(5))
    assert np.all(u[1:, _boundary(sample)] == 0.0)
    energy = (u**2).sum(axis=1)
    assert np.all(np.diff(energy[1:]) < 0)  # diffusion with u = 0 on the boundary dissipates


def test_elasticity_is_clamped_on_the_left_and_loaded_on_the_right():
    sample = _sample("elasticity", h=0.2, num_holes=(1, 1))
    left = np.unique(sample.boundary["left"])
    assert np.all(sample.fields["displacement"][left] == 0.0)
    assert np.all(sample.node_type[left] == NodeType.HANDLE)
    right = np.unique(sample.boundary["right"])
    np.testing.assert_allclose(sample.fields["load"][right], np.broadcast_to(sample.params["traction"], (len(right), 2)))
    assert np.count_nonzero(sample.fields["load"].any(axis=1)) == len(right)
    # the plate moves the way it is pulled
    assert np.sign(sample.fields["displacement"][right].mean(axis=0) @ sample.params["traction"]) == 1
    assert int(sample.params["num_holes"]) == 1 and "hole_0" in sample.boundary


def test_cylinder_flow_obeys_its_boundary_conditions():
    sample = _sample("cylinder_flow", h=0.1, h_cylinder=0.05, num_frames=2, save_every=1)
    velocity = sample.fields["velocity"]
    assert velocity.shape == (2, sample.num_nodes, 2) and sample.fields["pressure"].shape == (2, sample.num_nodes, 1)
    walls = np.unique(np.concatenate([sample.boundary["walls"], sample.boundary["cylinder"]]))
    np.testing.assert_allclose(velocity[:, walls], 0.0, atol=1e-12)
    inlet = np.setdiff1d(np.unique(sample.boundary["inlet"]), walls)
    y = sample.points[inlet, 1]
    speed = float(sample.params["mean_inflow"])
    np.testing.assert_allclose(velocity[-1, inlet, 0], 6 * speed * y * (0.41 - y) / 0.41**2, rtol=1e-10)
    assert set(sample.node_type[inlet]) == {NodeType.INFLOW} and set(sample.node_type[walls]) == {NodeType.WALL}
    cx, cy = sample.params["center"]
    r = float(sample.params["radius"])
    distance = np.linalg.norm(sample.points[np.unique(sample.boundary["cylinder"])] - [cx, cy], axis=1)
    np.testing.assert_allclose(distance, r, rtol=1e-6)


def test_cylinder_flow_warmup_drops_the_first_frames():
    full = _sample("cylinder_flow", h=0.1, h_cylinder=0.05, num_frames=5, save_every=1)
    late = _sample("cylinder_flow", h=0.1, h_cylinder=0.05, num_frames=3, save_every=1, warmup_frames=2)
    np.testing.assert_array_equal(late.fields["velocity"], full.fields["velocity"][2:])
    np.testing.assert_array_equal(late.fields["pressure"], full.fields["pressure"][2:])
    np.testing.assert_allclose(late.times, full.times[2:])
