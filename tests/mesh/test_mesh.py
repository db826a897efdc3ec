import dataclasses
import itertools

import numpy as np
import pytest

from meshsim.mesh import Mesh, MeshError
from meshsim.mesh.geometry import orient_cells


def square(n: int, width: float = 1.0, height: float = 1.0) -> Mesh:
    """Structured n x n square, each cell split into two CCW triangles; boundaries by side."""
    x, y = np.meshgrid(np.linspace(0, width, n + 1), np.linspace(0, height, n + 1), indexing="ij")
    points = np.c_[x.ravel(), y.ravel()]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    v00 = (i * (n + 1) + j).ravel()
    v10, v01, v11 = v00 + n + 1, v00 + 1, v00 + n + 2
    cells = np.r_[np.c_[v00, v10, v11], np.c_[v00, v11, v01]]
    k = np.arange(n)
    boundary = {"left": np.c_[k + 1, k], "right": np.c_[n * (n + 1) + k, n * (n + 1) + k + 1],
                "bottom": np.c_[k * (n + 1), (k + 1) * (n + 1)], "top": np.c_[(k + 1) * (n + 1) + n, k * (n + 1) + n]}
    return Mesh(points, cells, boundary)


def kuhn_cube(n: int) -> Mesh:
    """Unit cube in n^3 subcubes, each split into the 6 Kuhn tetrahedra (one per axis order)."""
    axis = np.linspace(0, 1, n + 1)
    points = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    stride = np.array([(n + 1) ** 2, n + 1, 1])
    corners = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), axis=-1).reshape(-1, 3) @ stride
    tets = []
    for order in itertools.permutations(range(3)):
        path = np.cumsum([0] + [stride[a] for a in order])  # walk from corner (0,0,0) to (1,1,1)
        tets.append(corners[:, None] + path[None, :])
    cells = np.concatenate(tets)
    return Mesh(points, orient_cells(points, cells))


UNIT_TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


# -- validation -------------------------------------------------------------------------------
def test_non_finite_coordinates_name_the_points():
    points = np.array([[0.0, 0], [1, 0], [np.nan, 1], [0, 1], [1, 1], [np.inf, 2]])
    with pytest.raises(MeshError, match=r"non-finite coordinates at points \[2, 5\] \(2 in all\)"):
        Mesh(points, [[0, 1, 3], [1, 4, 3]])


def test_indices_out_of_range_name_the_cells():
    with pytest.raises(MeshError, match=r"node indices out of range \[0, 4\) in cells \[1, 2\] \(2 in all\)"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2], [1, 4, 2], [-1, 1, 2]])


def test_repeated_node_names_the_cells():
    with pytest.raises(MeshError, match=r"repeated node in cells \[1\] \(1 in all\)"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2], [1, 3, 1]])


def test_zero_measure_cells_are_named():
    points = np.array([[0.0, 0], [1, 0], [2, 0], [0, 1]])
    with pytest.raises(MeshError, match=r"zero-measure \(degenerate\) triangle cells \[1\] \(1 in all\)"):
        Mesh(points, [[0, 1, 3], [0, 1, 2]])
    flat = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    with pytest.raises(MeshError, match=r"zero-measure \(degenerate\) tetra cells \[0\]"):
        Mesh(flat, [[0, 1, 2, 3], [0, 1, 2, 4]])


def test_inverted_cells_are_named_in_1d_2d_3d():
    with pytest.raises(MeshError, match=r"inverted \(negatively oriented\) line cells \[1\]"):
        Mesh([[0.0], [1.0], [2.0]], [[0, 1], [2, 1]])
    with pytest.raises(MeshError, match=r"inverted \(negatively oriented\) triangle cells \[0\]"):
        Mesh(UNIT_TRIANGLE, [[0, 2, 1], [1, 3, 2]])
    tet = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(MeshError, match=r"inverted \(negatively oriented\) tetra cells \[0\]"):
        Mesh(tet, [[1, 0, 2, 3]])


def test_empty_and_misshapen_meshes_are_rejected():
    with pytest.raises(MeshError, match="empty mesh: 0 points, 0 cells"):
        Mesh(np.zeros((0, 2)), np.zeros((0, 3), dtype=int))
    with pytest.raises(MeshError, match="empty mesh: 4 points, 0 cells"):
        Mesh(UNIT_TRIANGLE, np.zeros((0, 3), dtype=int))
    with pytest.raises(MeshError, match="cells must have shape"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2, 3, 0]])
    with pytest.raises(MeshError, match="tetra cells need dim >= 3"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2, 3]])
    with pytest.raises(MeshError, match="integer indices"):
        Mesh(UNIT_TRIANGLE, [[0.0, 1.0, 2.0]])


def test_data_of_wrong_length_is_rejected():
    with pytest.raises(MeshError, match=r"point_data 'u' has shape \(3,\); its first axis must be 4"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2]], point_data={"u": np.zeros(3)})
    with pytest.raises(MeshError, match=r"cell_data 'c' has shape \(2, 2\); its first axis must be 1"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2]], cell_data={"c": np.zeros((2, 2))})


def test_bad_boundary_facets_are_rejected():
    with pytest.raises(MeshError, match=r"boundary 'wall' has facets with node indices out of range \[0, 4\): "
                                        r"facets \[1\] \(1 in all\)"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2]], {"wall": [[0, 1], [1, 7]]})
    with pytest.raises(MeshError, match=r"boundary 'wall' has shape \(1, 3\); facets need 2 nodes each"):
        Mesh(UNIT_TRIANGLE, [[0, 1, 2]], {"wall": [[0, 1, 2]]})


def test_validate_false_accepts_an_inverted_mesh_and_check_still_finds_it():
    mesh = Mesh(UNIT_TRIANGLE, [[0, 2, 1], [1, 3, 2]], validate=False)
    np.testing.assert_allclose(mesh.signed_measures, [-0.5, 0.5])
    with pytest.raises(MeshError, match=r"inverted .* cells \[0\]"):
        mesh.check()


# -- immutability -----------------------------------------------------------------------------
def test_arrays_are_read_only_copies():
    points = UNIT_TRIANGLE.copy()
    u = np.arange(4.0)
    mesh = Mesh(points, [[0, 1, 2]], {"wall": [[0, 1]]}, {"u": u})
    points[0, 0] = 9.0
    u[0] = 9.0
    assert mesh.points[0, 0] == 0.0 and mesh.point_data["u"][0] == 0.0
    for array in (mesh.points, mesh.cells, mesh.boundary["wall"], mesh.point_data["u"]):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        mesh.points = points


def test_with_points_returns_a_new_mesh_and_leaves_the_old_one():
    mesh = square(2).with_data({"u": np.arange(9.0)})
    moved = mesh.with_points(mesh.points * 2.0)
    assert moved is not mesh
    np.testing.assert_array_equal(mesh.points, square(2).points)
    np.testing.assert_array_equal(moved.points, 2.0 * mesh.points)
    np.testing.assert_array_equal(moved.cells, mesh.cells)
    np.testing.assert_array_equal(moved.point_data["u"], mesh.point_data["u"])
    assert moved.cell_measures.sum() == pytest.approx(4.0)
    with pytest.raises(MeshError, match=r"with_points needs points of shape \(9, 2\), got \(9, 3\)"):
        mesh.with_points(np.zeros((9, 3)))


def test_with_points_validates_unless_told_not_to():
    mesh = square(1)
    tangled = mesh.points[[0, 2, 1, 3]]  # swaps two corners: both triangles turn over
    with pytest.raises(MeshError, match="inverted"):
        mesh.with_points(tangled)
    assert (mesh.with_points(tangled, validate=False).signed_measures < 0).sum() == 2


# -- derived quantities -----------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 8])
def test_edge_count_follows_euler_on_a_structured_square(n):
    mesh = square(n)
    v, f = mesh.num_points, mesh.num_cells
    assert len(mesh.edges) == v + f - 1 == 3 * n * n + 2 * n
    assert (mesh.edges[:, 0] < mesh.edges[:, 1]).all()
    assert (np.lexsort(mesh.edges.T[::-1]) == np.arange(len(mesh.edges))).all()


@pytest.mark.parametrize("n", [1, 2, 4])
def test_edge_count_of_a_kuhn_cube(n):
    mesh = kuhn_cube(n)
    # axis edges + one diagonal per square face + one body diagonal per cube
    assert len(mesh.edges) == 3 * n * (n + 1) ** 2 + 3 * n * n * (n + 1) + n ** 3
    # Euler for a 3-ball: V - E + F - T = 1, with F = (4T + boundary faces) / 2
    faces = (4 * mesh.num_cells + len(mesh.boundary_facets)) // 2
    assert mesh.num_points - len(mesh.edges) + faces - mesh.num_cells == 1
    assert len(mesh.boundary_facets) == 12 * n * n


def test_boundary_facets_of_a_square_are_outward():
    mesh = square(4)
    facets = mesh.boundary_facets
    assert len(facets) == 16
    a, b = mesh.points[facets[:, 0]], mesh.points[facets[:, 1]]
    normal = np.c_[b[:, 1] - a[:, 1], a[:, 0] - b[:, 0]]  # the edge direction turned clockwise
    assert (np.einsum("fd,fd->f", normal, (a + b) / 2 - 0.5) > 0).all()


def test_boundary_nodes_by_name_and_in_all():
    mesh = square(3)
    np.testing.assert_array_equal(mesh.boundary_nodes("left"), [0, 1, 2, 3])
    np.testing.assert_array_equal(mesh.boundary_nodes("top"), [3, 7, 11, 15])
    assert len(mesh.boundary_nodes()) == 12
    with pytest.raises(MeshError, match=r"no boundary named 'inlet'; this mesh has \['bottom', 'left', 'right', 'top'\]"):
        mesh.boundary_nodes("inlet")


def test_cell_measures_sum_to_length_area_and_volume():
    line = Mesh([[0.0], [0.3], [1.1], [2.5]], [[0, 1], [1, 2], [2, 3]])
    assert line.cell_measures.sum() == pytest.approx(2.5, rel=1e-14)
    rng = np.random.default_rng(0)
    rect = square(5, width=2.0, height=3.0)
    points = np.array(rect.points)
    interior = np.setdiff1d(np.arange(rect.num_points), rect.boundary_nodes())
    points[interior] += rng.uniform(-0.05, 0.05, (len(interior), 2))
    assert rect.with_points(points).cell_measures.sum() == pytest.approx(6.0, rel=1e-13)
    assert kuhn_cube(3).cell_measures.sum() == pytest.approx(1.0, rel=1e-13)
    assert (kuhn_cube(3).cell_measures == pytest.approx(1 / (6 * 27), rel=1e-12))
