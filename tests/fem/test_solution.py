import numpy as np
import pytest
import skfem

from meshsim.fem import FunctionSpace, Solution, Trajectory
from meshsim.mesh import Mesh


def linear(x):
    return 2.0 * x[0] - x[1]


def linear_grad(x):
    return np.stack([np.full(x.shape[1:], 2.0), np.full(x.shape[1:], -1.0)])


@pytest.fixture(scope="module")
def space():
    return FunctionSpace(Mesh.from_skfem(skfem.MeshTri1().refined(2).with_defaults()), order=2)


def test_errors_vanish_for_a_field_in_the_space(space):
    u = Solution(space, space.interpolate(linear))
    assert u.l2_error(linear) < 1e-14
    assert u.h1_error(linear_grad) < 1e-13


def test_errors_of_a_constant_offset(space):
    u = Solution(space, space.interpolate(linear) + 0.5)
    assert u.l2_error(linear) == pytest.approx(0.5)     # |0.5| over the unit square
    assert u.h1_error(linear_grad) < 1e-13


def test_trajectory_values_and_steps(space):
    dofs = np.stack([space.interpolate(linear) * k for k in range(3)])
    trajectory = Trajectory(space, np.array([0.0, 0.1, 0.2]), dofs)
    assert len(trajectory) == 3
    assert trajectory.values.shape == (3, space.mesh.num_points)
    np.testing.assert_allclose(trajectory.values[2], 2 * linear(space.mesh.points.T))
    assert trajectory[1].l2_error(linear) < 1e-14
