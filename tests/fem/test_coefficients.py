import numpy as np
import pytest
import skfem

from meshsim.fem import FEMError, FunctionSpace
from meshsim.fem.coefficients import evaluate_coefficient
from meshsim.mesh import Mesh


@pytest.fixture(scope="module")
def space():
    return FunctionSpace(Mesh.from_skfem(skfem.MeshTri1().refined(2).with_defaults()))


def linear(x):
    return 1.0 + 2.0 * x[0] - 3.0 * x[1]


def test_constant_broadcasts_to_quadrature_shape(space):
    values = space.coefficient(2.5, "kappa")
    assert values.shape == (space.mesh.num_cells, space.basis.X.shape[1])
    assert np.all(values == 2.5)


def test_callable_is_evaluated_at_quadrature_points(space):
    x = np.asarray(space.basis.global_coordinates())
    np.testing.assert_array_equal(space.coefficient(linear, "f"), linear(x))


def test_point_values_of_a_linear_function_are_exact_at_quadrature_points(space):
    x = np.asarray(space.basis.global_coordinates())
    nodal = linear(space.mesh.points.T)
    np.testing.assert_allclose(space.coefficient(nodal, "kappa"), linear(x), atol=1e-13)


@pytest.mark.parametrize("order", [1, 2])
def test_point_values_match_skfem_p1_interpolation(order):
    mesh = Mesh.from_skfem(skfem.MeshTri1().refined(2).with_defaults())
    space = FunctionSpace(mesh, order=order)
    nodal = np.random.default_rng(0).standard_normal(mesh.num_points)
    reference = np.asarray(space.basis.with_element(skfem.ElementTriP1()).interpolate(nodal))
    np.testing.assert_allclose(space.coefficient(nodal, "kappa"), reference, atol=1e-14)


def test_vector_point_values_have_leading_component_axis(space):
    x = np.asarray(space.basis.global_coordinates())
    nodal = np.stack([linear(space.mesh.points.T), 2.0 * space.mesh.points[:, 0]], axis=1)  # (N, 2)
    values = space.coefficient(nodal, "velocity", shape=(2,))
    assert values.shape == (2,) + x.shape[1:]
    np.testing.assert_allclose(values[0], linear(x), atol=1e-13)
    np.testing.assert_allclose(values[1], 2.0 * x[0], atol=1e-13)
    constant = space.coefficient(np.array([1.0, -1.0]), "velocity", shape=(2,))
    assert np.all(constant[0] == 1.0) and np.all(constant[1] == -1.0)


def test_facet_values_on_a_named_boundary(space):
    values = space.coefficient(linear(space.mesh.points.T), "g", boundary="right")
    x = np.asarray(space.facet_basis("right").global_coordinates())
    np.testing.assert_allclose(x[0], 1.0)
    np.testing.assert_allclose(values, linear(x), atol=1e-13)


def test_wrong_length_names_the_coefficient_and_expected_shape(space):
    with pytest.raises(FEMError, match=r"kappa has shape \(7,\).*\(25,\) \(one per mesh point\)"):
        space.coefficient(np.ones(7), "kappa")


def test_nan_point_values_name_the_points(space):
    nodal = np.ones(space.mesh.num_points)
    nodal[[3, 11]] = np.nan
    with pytest.raises(FEMError, match=r"kappa is not finite at points \[3, 11\] \(2 in all\)"):
        space.coefficient(nodal, "kappa")


def test_nan_callable_names_the_cells(space):
    def f(x):
        return np.where(x[0] > 0.9, np.nan, 1.0)

    with pytest.raises(FEMError, match=r"f\(x\) is not finite at the quadrature points of cells \[\d+"):
        space.coefficient(f, "f")
    with pytest.raises(FEMError, match="kappa is not finite"):
        space.coefficient(np.nan, "kappa")


def test_positivity(space):
    with pytest.raises(FEMError, match=r"kappa must be positive; its minimum is -1"):
        space.coefficient(-1.0, "kappa", positive=True)
    nodal = np.ones(space.mesh.num_points)
    nodal[[4, 9]] = 0.0
    with pytest.raises(FEMError, match=r"kappa must be positive; its minimum is 0, at points \[4, 9\]"):
        space.coefficient(nodal, "kappa", positive=True)
    with pytest.raises(FEMError, match=r"kappa must be positive; its minimum is -2, at the quadrature "
                                       r"points of cells \[\d+"):
        space.coefficient(lambda x: np.where(x[0] < 0.2, -2.0, 1.0), "kappa", positive=True)


def test_callable_with_wrong_shape(space):
    with pytest.raises(FEMError, match=r"velocity\(x\) returned shape \(3, \d+, \d+\)"):
        space.coefficient(lambda x: np.ones((3,) + x.shape[1:]), "velocity", shape=(2,))


def test_evaluate_coefficient_on_facet_basis_reports_location(space):
    basis = space.facet_basis("top")
    p1 = basis.with_element(skfem.ElementTriP1())
    with pytest.raises(FEMError, match=r"boundary facets, e.g. near x = \[.*, 1.0\]"):
        evaluate_coefficient(lambda x: np.full(x.shape[1:], np.inf), "g", basis, p1)
