import importlib

import numpy as np
import pytest
import skfem

from meshsim.fem import FEMError, FunctionSpace, poisson
from meshsim.mesh import Mesh, MeshError

# manufactured solution u = exp(a . x), a = (1, 1/2, 1/3)[:dim]: smooth, not polynomial
RATES = np.array([1.0, 0.5, 1.0 / 3.0])


def exact(x):
    return np.exp(np.tensordot(RATES[: len(x)], x, axes=1))


def exact_grad(x):
    return RATES[: len(x)].reshape((-1,) + (1,) * (x.ndim - 1)) * exact(x)


def laplacian_source(x, kappa=1.0):
    """f = -kappa lap u for constant kappa."""
    return -kappa * (RATES[: len(x)] ** 2).sum() * exact(x)


def square(n):
    return Mesh.from_skfem(skfem.MeshTri1().refined(n).with_defaults())


def cube(n):
    return Mesh.from_skfem(skfem.MeshTet1().refined(n).with_defaults())


def interval(n):
    return Mesh(np.linspace(0, 1, n + 1), np.stack([np.arange(n), np.arange(1, n + 1)], axis=1),
                boundary={"left": [[0]], "right": [[n]]})


def slopes(errors):
    """Convergence rates between successive meshes with h halved."""
    errors = np.asarray(errors)
    return np.log2(errors[:-1] / errors[1:])


def dirichlet_everywhere(mesh):
    return {name: exact for name in mesh.boundary}


@pytest.mark.parametrize("make, levels", [(interval, (8, 16, 32)), (square, (2, 3, 4)), (cube, (1, 2, 3))],
                         ids=["1d", "2d", "3d"])
def test_p1_convergence(make, levels):
    l2, h1 = [], []
    for mesh in map(make, levels):
        u = poisson(mesh, 1.0, laplacian_source, dirichlet=dirichlet_everywhere(mesh))
        l2.append(u.l2_error(exact))
        h1.append(u.h1_error(exact_grad))
    assert slopes(l2).min() >= 1.9
    assert slopes(h1).min() >= 0.9


@pytest.mark.parametrize("make, levels", [(interval, (4, 8, 16)), (square, (1, 2, 3)), (cube, (1, 2, 3))],
                         ids=["1d", "2d", "3d"])
def test_p2_convergence(make, levels):
    l2, h1 = [], []
    for mesh in map(make, levels):
        u = poisson(mesh, 1.0, laplacian_source, dirichlet=dirichlet_everywhere(mesh), order=2)
        l2.append(u.l2_error(exact))
        h1.append(u.h1_error(exact_grad))
    assert slopes(l2).min() >= 2.9
    assert slopes(h1).min() >= 1.9


def quadratic(x):
    """-lap = 2 - 1 = 1."""
    return x[0] * (1 - x[0]) + 0.5 * x[1] ** 2


def test_p2_reproduces_a_quadratic_exactly():
    mesh = square(1)
    u = poisson(mesh, 1.0, 1.0, dirichlet={name: quadratic for name in mesh.boundary}, order=2)
    assert u.l2_error(quadratic) < 1e-13


def outward_flux(x, normal_axis, sign, kappa=1.0):
    return sign * kappa * exact_grad(x)[normal_axis]


@pytest.mark.parametrize("order, min_slope", [(1, 1.9), (2, 2.9)])
def test_neumann_and_robin_by_manufactured_solution(order, min_slope):
    """Dirichlet on left, Neumann on right and top, Robin (alpha = 2) on bottom."""
    alpha = 2.0
    errors = []
    for n in (2, 3, 4):
        mesh = square(n)
        u = poisson(mesh, 1.0, laplacian_source, order=order, dirichlet={"left": exact},
                    neumann={"right": lambda x: outward_flux(x, 0, 1.0), "top": lambda x: outward_flux(x, 1, 1.0)},
                    robin={"bottom": (alpha, lambda x: outward_flux(x, 1, -1.0) + alpha * exact(x))})
        errors.append(u.l2_error(exact))
    assert slopes(errors).min() >= min_slope


def test_robin_only_problem_is_well_posed():
    errors = []
    for n in (2, 3, 4):
        mesh = square(n)
        robin = {"left": (1.0, lambda x: outward_flux(x, 0, -1.0) + exact(x)),
                 "right": (1.0, lambda x: outward_flux(x, 0, 1.0) + exact(x)),
                 "bottom": (1.0, lambda x: outward_flux(x, 1, -1.0) + exact(x)),
                 "top": (1.0, lambda x: outward_flux(x, 1, 1.0) + exact(x))}
        errors.append(poisson(mesh, 1.0, laplacian_source, robin=robin).l2_error(exact))
    assert slopes(errors).min() >= 1.9


def variable_kappa(x):
    return 1.0 + x[0] ** 2


def variable_kappa_source(x):
    """f = -div((1 + x^2) grad u) = -(1 + x^2) lap u - 2 x du/dx."""
    return laplacian_source(x, variable_kappa(x)) - 2.0 * x[0] * exact_grad(x)[0]


@pytest.mark.parametrize("as_points", [False, True], ids=["callable", "point-values"])
def test_variable_kappa(as_points):
    errors = []
    for n in (2, 3, 4):
        mesh = square(n)
        kappa = variable_kappa(mesh.points.T) if as_points else variable_kappa
        u = poisson(mesh, kappa, variable_kappa_source, dirichlet=dirichlet_everywhere(mesh))
        errors.append(u.l2_error(exact))
    assert slopes(errors).min() >= 1.9


def test_space_reuse_gives_the_same_answer_and_values_are_vertex_values():
    mesh = square(3)
    space = FunctionSpace(mesh, order=2)
    f_points = laplacian_source(mesh.points.T)
    from_mesh = poisson(mesh, 1.0, f_points, dirichlet=dirichlet_everywhere(mesh), order=2)
    from_space = poisson(space, 1.0, f_points, dirichlet=dirichlet_everywhere(mesh))
    np.testing.assert_allclose(from_mesh.dofs, from_space.dofs, rtol=1e-12)
    assert from_space.values.shape == (mesh.num_points,)
    np.testing.assert_array_equal(from_space.values, from_space.dofs[: mesh.num_points])
    np.testing.assert_allclose(from_space.values, exact(mesh.points.T), atol=2e-3)


@pytest.fixture
def no_solve(monkeypatch):
    """Make any linear solve fail the test: errors must come before it."""
    class Forbidden:
        def __init__(self, *args, **kwargs):
            raise AssertionError("the linear solver was reached")

    monkeypatch.setattr(importlib.import_module("meshsim.fem.poisson"), "LinearSolver", Forbidden)


def test_bad_input_raises_before_any_solve(no_solve):
    mesh = square(2)
    walls = {name: 0.0 for name in mesh.boundary}
    cells = mesh.cells.copy()
    cells[[3, 7], :2] = cells[[3, 7], 1::-1]
    with pytest.raises(MeshError, match=r"inverted .* cells \[3, 7\]"):
        poisson(Mesh(mesh.points, cells, mesh.boundary, validate=False), dirichlet=walls)
    with pytest.raises(FEMError, match=r"dirichlet: no boundary named 'outlet'; this mesh has "
                                       r"boundaries \['bottom', 'left', 'right', 'top'\]"):
        poisson(mesh, dirichlet={"outlet": 0.0})
    with pytest.raises(FEMError, match=r"neumann: no boundary named 'Left'"):
        poisson(mesh, dirichlet=walls, neumann={"Left": 1.0})
    with pytest.raises(FEMError, match=r"f has shape \(24,\).*\(25,\)"):
        poisson(mesh, f=np.ones(24), dirichlet=walls)
    kappa = np.ones(mesh.num_points)
    kappa[12] = np.nan
    with pytest.raises(FEMError, match=r"kappa is not finite at points \[12\]"):
        poisson(mesh, kappa=kappa, dirichlet=walls)
    with pytest.raises(FEMError, match="kappa must be positive"):
        poisson(mesh, kappa=-1.0, dirichlet=walls)
    with pytest.raises(FEMError, match=r"dirichlet\['left'\] is not finite"):
        poisson(mesh, dirichlet={"left": np.nan})
    with pytest.raises(FEMError, match="with Neumann conditions only, u is defined up to a constant"):
        poisson(mesh, neumann={"left": 1.0})
