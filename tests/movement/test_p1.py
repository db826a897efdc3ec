"""Closed-form P1 operators equal scikit-fem's assembly; recovered derivatives converge."""
import numpy as np
import pytest
import skfem
from skfem.helpers import dot, grad

from meshsim.mesh import rectangle
from meshsim.movement import MovementError, TriangleP1, recover_gradient, recover_hessian, unit_square_grid


@pytest.fixture(scope="module")
def mesh():
    return rectangle(h=0.1)


def _skfem(mesh, form, facet=False):
    skmesh = mesh.to_skfem()
    if facet:
        basis = skfem.FacetBasis(skmesh, skfem.ElementTriP1(), facets=skmesh.boundary_facets())
    else:
        basis = skfem.CellBasis(skmesh, skfem.ElementTriP1())
    return form.assemble(basis).toarray()


def test_matrices_equal_scikit_fem(mesh):
    ops = TriangleP1.of(mesh)
    mass = skfem.BilinearForm(lambda u, v, w: u * v)
    stiffness = skfem.BilinearForm(lambda u, v, w: dot(grad(u), grad(v)))
    assert np.abs(ops.mass.toarray() - _skfem(mesh, mass)).max() < 1e-15
    assert np.abs(ops.stiffness.toarray() - _skfem(mesh, stiffness)).max() < 1e-12
    for k in (0, 1):
        gradient = skfem.BilinearForm(lambda u, v, w, k=k: u.grad[k] * v)
        assert np.abs(ops.gradient_matrix(k).toarray() - _skfem(mesh, gradient)).max() < 1e-14
    matrices = ops.hessian_matrices(tangential=False)
    tangential = ops.hessian_matrices(tangential=True)
    for i in (0, 1):
        for j in (0, 1):
            interior = skfem.BilinearForm(lambda u, v, w, i=i, j=j: -v.grad[j] * u.grad[i])
            boundary = skfem.BilinearForm(lambda u, v, w, i=i, j=j: v * w.n[j] * u.grad[i])
            tangent = skfem.BilinearForm(
                lambda u, v, w, i=i, j=j: v * w.n[j] * (u.grad[i] - w.n[i] * dot(u.grad, w.n)))
            cell = _skfem(mesh, interior)
            assert np.abs(matrices[i][j].toarray() - cell - _skfem(mesh, boundary, True)).max() < 1e-12
            assert np.abs(tangential[i][j].toarray() - cell - _skfem(mesh, tangent, True)).max() < 1e-12


def test_hessian_loads_match_the_matrices(mesh):
    ops = TriangleP1.of(mesh)
    u = np.sin(3 * mesh.points[:, 0]) * mesh.points[:, 1]
    for tangential in (False, True):
        matrices = ops.hessian_matrices(tangential)
        expected = np.column_stack([matrices[i][j] @ u for i in (0, 1) for j in (0, 1)])
        assert np.abs(ops.hessian_loads(u, tangential) - expected).max() < 1e-12


def test_quadrature_integrates_quartics_exactly(mesh):
    ops = TriangleP1.of(mesh)
    x, y = ops.quadrature_points(4).T
    assert ops.quadrature_weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert (ops.quadrature_weights * x**3 * y).sum() == pytest.approx(1 / 8, abs=1e-14)


def test_outward_normals_on_the_unit_square(mesh):
    ops = TriangleP1.of(mesh)
    midpoints = mesh.points[ops.facets].mean(axis=1)
    expected = np.where(np.isclose(midpoints[:, :1], 0), [[-1, 0]],
                        np.where(np.isclose(midpoints[:, :1], 1), [[1, 0]],
                                 np.where(np.isclose(midpoints[:, 1:], 0), [[0, -1]], [[0, 1]])))
    assert np.abs(ops.normals - expected).max() < 1e-14
    assert ops.lengths.sum() == pytest.approx(4.0, abs=1e-13)


def test_recovered_derivatives_of_a_quadratic_converge_away_from_the_boundary():
    exact_h = np.array([[2.0, 3.0], [3.0, -1.0]])
    errors, gradient_errors = [], []
    for n in (10, 20, 40):
        m = unit_square_grid(n)
        x, y = m.points.T
        u = x**2 + 3 * x * y - 0.5 * y**2
        far = np.minimum.reduce([x, 1 - x, y, 1 - y]) > 0.25
        errors.append(np.abs(recover_hessian(m, u)[far] - exact_h).max())
        gradient = recover_gradient(m, u)[far]
        gradient_errors.append(np.abs(gradient - np.column_stack([2 * x + 3 * y, 3 * x - y])[far]).max())
    # the boundary's first-order error decays geometrically into the interior
    assert errors[0] > 0.05 and errors[1] < 5e-3 and errors[2] < 1e-5
    rates = np.log2(np.array(gradient_errors[:-1]) / gradient_errors[1:])
    assert rates.min() > 1.9, rates  # superconvergent L2-projected gradient


def test_non_triangle_meshes_are_rejected():
    with pytest.raises(MovementError, match="2D triangle"):
        TriangleP1(np.zeros((4, 3)), np.array([[0, 1, 2, 3]]))
