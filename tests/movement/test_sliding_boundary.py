"""Sliding boundaries: corners fixed, straight segments slide, bends raise unless declared fixed."""
import numpy as np
import pytest

from meshsim.mesh import Mesh, disk, polygon, rectangle
from meshsim.movement import MovementError, SlidingBoundary, unit_square_grid


def test_unit_square_corners_are_fixed_and_sides_slide():
    mesh = rectangle(h=0.1)
    boundary = SlidingBoundary.of(mesh)
    corners = np.isin(mesh.points, [0.0, 1.0]).all(axis=1)
    assert np.array_equal(boundary.fixed, corners)
    on_side = np.isin(np.arange(mesh.num_points), mesh.boundary_nodes()) & ~corners
    assert np.array_equal(boundary.sliding, on_side)
    x = mesh.points[:, 0]
    left = boundary.sliding & np.isclose(x, 0.0)
    assert np.allclose(boundary.normals[left], [-1.0, 0.0]) and np.allclose(boundary.offsets[left], 0.0)
    right = boundary.sliding & np.isclose(x, 1.0)
    assert np.allclose(boundary.normals[right], [1.0, 0.0]) and np.allclose(boundary.offsets[right], 1.0)


def test_project_puts_nodes_back_on_their_segments():
    mesh = unit_square_grid(6)
    boundary = SlidingBoundary.of(mesh)
    noisy = mesh.points + np.random.default_rng(0).normal(0.0, 0.01, mesh.points.shape)
    projected = boundary.project(noisy, mesh.points)
    sides = projected[boundary.sliding]
    normals = boundary.normals[boundary.sliding]
    assert np.abs((sides * normals).sum(axis=1) - boundary.offsets[boundary.sliding]).max() < 1e-15
    assert np.array_equal(projected[boundary.fixed], mesh.points[boundary.fixed])
    interior = ~boundary.sliding & ~boundary.fixed
    assert np.array_equal(projected[interior], noisy[interior])


def test_free_basis_spans_tangential_displacements():
    mesh = unit_square_grid(4)
    boundary = SlidingBoundary.of(mesh)
    basis = boundary.free_basis().toarray()
    n = mesh.num_points
    interior = (~boundary.sliding & ~boundary.fixed).sum()
    assert basis.shape == (2 * n, 2 * interior + boundary.sliding.sum())
    assert np.allclose(basis.T @ basis, np.eye(basis.shape[1]))  # orthonormal columns
    displacement = basis @ np.ones(basis.shape[1])
    d = displacement.reshape(2, n).T
    assert np.abs((d * boundary.normals).sum(axis=1)).max() < 1e-15
    assert np.all(d[boundary.fixed] == 0.0)


def test_curved_boundary_raises_unless_fixed():
    mesh = disk(h=0.3)
    with pytest.raises(MovementError, match=r"boundary '.*' is not straight: it bends at nodes \["):
        SlidingBoundary.of(mesh)
    boundary = SlidingBoundary.of(mesh, fixed_boundaries=list(mesh.boundary))
    assert np.array_equal(np.flatnonzero(boundary.fixed), mesh.boundary_nodes())
    with pytest.raises(MovementError, match="no boundary named 'nope'"):
        SlidingBoundary.of(mesh, fixed_boundaries=["nope"])


def test_slanted_segments_slide_along_themselves():
    square = unit_square_grid(5)
    affine = np.array([[1.0, 0.4], [-0.3, 1.2]])  # a parallelogram: four slanted straight sides
    mesh = Mesh(square.points @ affine.T, square.cells, square.boundary)
    boundary = SlidingBoundary.of(mesh)
    assert boundary.fixed.sum() == 4 and boundary.sliding.sum() == 4 * 4
    for name, facets in mesh.boundary.items():
        a, b = mesh.points[facets[0, 0]], mesh.points[facets[0, 1]]
        nodes = [i for i in np.unique(facets) if boundary.sliding[i]]
        tangent = (b - a) / np.linalg.norm(b - a)
        assert np.abs(boundary.normals[nodes] @ tangent).max() < 1e-14  # normal to the side
        assert np.allclose(boundary.offsets[nodes], boundary.normals[nodes] @ a)


def test_one_name_around_a_polygon_bends_at_its_corners():
    mesh = polygon([[0, 0], [2, 0], [1.5, 1], [0.2, 1.2]], h=0.3)
    with pytest.raises(MovementError, match=r"boundary 'outer' is not straight: it bends at nodes \[.*\] \(4 in all\)"):
        SlidingBoundary.of(mesh)
    unnamed = Mesh(mesh.points, mesh.cells, {})
    with pytest.raises(MovementError, match=r"boundary \(unnamed\)"):
        SlidingBoundary.of(unnamed)
