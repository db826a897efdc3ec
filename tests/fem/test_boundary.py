import numpy as np
import pytest
import scipy.sparse.linalg as spla
import skfem
from skfem import BilinearForm
from skfem.helpers import ddot, grad

from meshsim.fem import (FEMError, FunctionSpace, LinearSolver, Solution, dirichlet_constraint, neumann_load,
                         robin_terms)
from meshsim.fem.boundary import check_boundary_names
from meshsim.fem.forms import diffusion
from meshsim.mesh import Mesh


@pytest.fixture(scope="module")
def mesh():
    return Mesh.from_skfem(skfem.MeshTri1().refined(2).with_defaults())  # 25 points, h = 1/4


def test_dirichlet_values_constant_callable_array(mesh):
    space = FunctionSpace(mesh)
    nodal = np.arange(mesh.num_points, dtype=float)
    constraint = dirichlet_constraint(space, {"left": 1.0, "right": lambda x: 2.0 + x[1], "top": nodal})
    left, right, top = (mesh.boundary_nodes(name) for name in ("left", "right", "top"))
    values = dict(zip(constraint.dofs.tolist(), constraint.values.tolist()))
    assert set(constraint.dofs) == set(left) | set(right) | set(top)
    assert {values[i] for i in set(left) - set(top)} == {1.0}
    np.testing.assert_allclose([values[i] for i in right if i not in top], 2.0 + mesh.points[
        [i for i in right if i not in top], 1])
    assert all(values[i] == nodal[i] for i in top)  # "top" comes last: it wins at the corners
    assert len(constraint.free) == mesh.num_points - len(constraint.dofs)


def test_dirichlet_single_component_of_a_vector_space(mesh):
    space = FunctionSpace(mesh, order=2, vector=True)
    constraint = dirichlet_constraint(space, {"left": np.array([0.0, 0.0]), ("bottom", 1): 0.5})
    components = space.dof_components[constraint.dofs]
    bottom_only = np.setdiff1d(constraint.dofs, space.boundary_dofs("left"))
    assert np.all(space.dof_components[bottom_only] == 1)
    assert np.all(constraint.values[np.isin(constraint.dofs, bottom_only)] == 0.5)
    assert np.sum(components == 0) == 9 and np.sum(components == 1) == 9 + 8
    with pytest.raises(FEMError, match="a single component takes a scalar constant or a callable"):
        dirichlet_constraint(space, {("bottom", 0): np.zeros(3)})


def test_unknown_names_are_reported_with_the_available_ones(mesh):
    space = FunctionSpace(mesh)
    with pytest.raises(FEMError, match=r"dirichlet: no boundary named 'wall'; this mesh has boundaries "
                                       r"\['bottom', 'left', 'right', 'top'\]"):
        dirichlet_constraint(space, {"wall": 0.0})
    with pytest.raises(FEMError, match="robin: no boundary named 'inlet'"):
        check_boundary_names(mesh, {"left": 1.0, ("inlet", 0): 1.0}, "robin")


def test_neumann_load_integrates_flux_over_the_boundary(mesh):
    space = FunctionSpace(mesh, order=2)
    assert neumann_load(space, {"left": 2.0}).sum() == pytest.approx(2.0, abs=1e-13)  # side length 1
    load = neumann_load(space, {"right": lambda x: x[1] ** 2, "top": 1.0})
    assert load.sum() == pytest.approx(1.0 / 3.0 + 1.0, abs=1e-13)
    traction = neumann_load(FunctionSpace(mesh, vector=True), {"top": np.array([0.0, -3.0])})
    vector = FunctionSpace(mesh, vector=True)
    assert traction[vector.dof_components == 1].sum() == pytest.approx(-3.0)
    assert np.all(traction[vector.dof_components == 0] == 0.0)


def test_robin_terms_integrate_alpha_and_g(mesh):
    space = FunctionSpace(mesh)
    matrix, load = robin_terms(space, {"bottom": (3.0, lambda x: x[0]), "top": (1.0, 0.0)})
    assert matrix.sum() == pytest.approx(3.0 + 1.0)      # int alpha ds over both sides
    assert load.sum() == pytest.approx(0.5)              # int_0^1 x dx
    assert abs(matrix - matrix.T).max() == 0.0
    with pytest.raises(FEMError, match=r"robin\['top'\] must be a pair \(alpha, g\)"):
        robin_terms(space, {"top": 1.0})
    with pytest.raises(FEMError, match=r"robin\['top'\] alpha is not finite"):
        robin_terms(space, {"top": (np.nan, 0.0)})


def test_reduce_and_expand_solve_the_constrained_system(mesh):
    space = FunctionSpace(mesh)
    stiffness = space.assemble_matrix(diffusion, kappa=space.coefficient(1.0, "kappa"))
    constraint = dirichlet_constraint(space, {name: (lambda x: x[0] + 2 * x[1]) for name in mesh.boundary})
    matrix, rhs = constraint.reduce(stiffness, np.zeros(space.num_dofs))
    u = constraint.expand(spla.spsolve(matrix.tocsc(), rhs))
    np.testing.assert_allclose(u, mesh.points[:, 0] + 2 * mesh.points[:, 1], atol=1e-12)  # harmonic
    free_part, lifting = constraint.split(stiffness)
    assert (free_part != matrix).nnz == 0
    np.testing.assert_allclose(rhs, -lifting)


@BilinearForm
def vector_laplacian(u, v, _):
    return ddot(grad(u), grad(v))


@pytest.mark.parametrize("order", [1, 2])
def test_vector_space_dirichlet_and_traction_reproduce_a_linear_field(mesh, order):
    """-lap u = 0 with u = (x, -y): Dirichlet on left/bottom, Neumann du/dn on right/top."""
    space = FunctionSpace(mesh, order=order, vector=True)
    constraint = dirichlet_constraint(space, {"left": lambda x: np.stack([x[0], -x[1]]),
                                              "bottom": lambda x: np.stack([x[0], -x[1]])})
    load = neumann_load(space, {"right": np.array([1.0, 0.0]), "top": np.array([0.0, -1.0])})
    matrix, rhs = constraint.reduce(space.assemble_matrix(vector_laplacian), load)
    u = Solution(space, constraint.expand(LinearSolver(matrix).solve(rhs)))
    np.testing.assert_allclose(u.values, mesh.points * [1.0, -1.0], atol=1e-12)
