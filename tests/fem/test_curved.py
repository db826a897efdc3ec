"""Tests for meshsim.fem.curved (isoparametric P2 geometry) and meshsim.fem.probes (point values)."""
import numpy as np
import pytest
import skfem
from skfem import Basis, ElementTriP2, Functional

from meshsim.fem import FEMError
from meshsim.fem.curved import circle, isoparametric_mesh
from meshsim.fem.probes import p1_probe_matrix
from meshsim.mesh import Mesh, channel_with_cylinder


def annulus(n_r, n_theta, r1=1.0, r2=2.0):
    """Polar mesh of r1 <= r <= r2 (all vertices on the circles r = r1 + k dr); boundaries inner, outer."""
    r, theta = np.linspace(r1, r2, n_r + 1), np.linspace(0, 2 * np.pi, n_theta, endpoint=False)
    radius, angle = np.meshgrid(r, theta, indexing="ij")
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], -1).reshape(-1, 2)
    i, j = np.meshgrid(np.arange(n_r), np.arange(n_theta), indexing="ij")
    a, b = i * n_theta + j, (i + 1) * n_theta + j
    c, d = (i + 1) * n_theta + (j + 1) % n_theta, i * n_theta + (j + 1) % n_theta
    cells = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    ring = np.arange(n_theta)
    return Mesh(points, cells, boundary={"inner": np.stack([ring, (ring + 1) % n_theta], 1),
                                         "outer": n_r * n_theta + np.stack([ring, (ring + 1) % n_theta], 1)})


def area(skfem_mesh):
    return Functional(lambda w: 1.0 + 0.0 * w.x[0]).assemble(Basis(skfem_mesh, ElementTriP2(), intorder=6))


def test_isoparametric_annulus_has_the_exact_area_to_fourth_order():
    exact = np.pi * (2.0 ** 2 - 1.0 ** 2)
    curved = {"inner": circle((0, 0), 1.0), "outer": circle((0, 0), 2.0)}
    straight_errors, curved_errors = [], []
    for n in (8, 16):
        mesh = annulus(2, n)
        straight_errors.append(abs(area(mesh.to_skfem()) - exact))
        curved_errors.append(abs(area(isoparametric_mesh(mesh, curved)) - exact))
    # a polygon misses O(h^2) of the area, quadratic arcs O(h^4); measured 0.94/0.24 and 7.3e-3/4.6e-4
    assert np.log2(straight_errors[0] / straight_errors[1]) == pytest.approx(2.0, abs=0.1)
    assert np.log2(curved_errors[0] / curved_errors[1]) == pytest.approx(4.0, abs=0.1)
    assert curved_errors[1] < 2e-3 * straight_errors[1]


def test_only_the_curved_boundary_midpoints_move():
    mesh = channel_with_cylinder(h=0.1, h_cylinder=0.03)
    straight = skfem.MeshTri2.from_mesh(mesh.to_skfem())
    curved = isoparametric_mesh(mesh, {"cylinder": circle((0.2, 0.2), 0.05)})
    moved = np.flatnonzero(np.abs(curved.doflocs - straight.doflocs).max(axis=0) > 0)
    cylinder_edges = mesh.num_points + mesh.to_skfem().boundaries["cylinder"]
    np.testing.assert_array_equal(moved, np.sort(cylinder_edges))
    np.testing.assert_allclose(np.hypot(*(curved.doflocs[:, moved] - 0.2)), 0.05, rtol=1e-14)
    assert set(curved.boundaries) == set(mesh.boundary)


def test_a_projection_that_misses_the_boundary_is_refused():
    mesh = channel_with_cylinder(h=0.1, h_cylinder=0.03)
    with pytest.raises(FEMError, match=r"curved\['cylinder'\]: vertex .* off the curve"):
        isoparametric_mesh(mesh, {"cylinder": circle((0.2, 0.2), 0.06)})
    with pytest.raises(FEMError, match="no boundary named 'hole'"):
        isoparametric_mesh(mesh, {"hole": circle((0.2, 0.2), 0.05)})
    with pytest.raises(FEMError, match="radius"):
        circle((0, 0), -1.0)


def test_probes_interpolate_linear_fields_exactly_inside_and_on_a_curved_boundary():
    mesh = channel_with_cylinder(h=0.1, h_cylinder=0.03)
    linear = 1.5 + 2.0 * mesh.points[:, 0] - 3.0 * mesh.points[:, 1]
    points = np.array([[0.7, 0.13], [0.15, 0.2], [0.25, 0.2], [2.2, 0.41]])  # inside, cylinder (2), corner
    values = p1_probe_matrix(mesh, points) @ linear
    # on the cylinder the value is that of the nearest boundary edge's point (off the arc by < sagitta)
    expected = 1.5 + 2.0 * points[:, 0] - 3.0 * points[:, 1]
    np.testing.assert_allclose(values[[0, 3]], expected[[0, 3]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(values[[1, 2]], expected[[1, 2]], rtol=0, atol=5.0 * 0.05 * (1 - np.cos(np.pi / 10)))
    with pytest.raises(FEMError, match="outside the mesh"):
        p1_probe_matrix(mesh, np.array([[3.0, 0.2]]))
