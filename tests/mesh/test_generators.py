import math
import multiprocessing
import subprocess
import sys

import numpy as np
import pytest

from meshsim.mesh import (MeshError, Refinement, box, channel_with_cylinder, count_inverted, disk, from_geo,
                          interval, polygon, random_domain, rectangle)


# -- helpers -------------------------------------------------------------------------------------
def facet_measure(mesh, name):
    """Total length (2D) or area (3D) of the facets of a named boundary."""
    p, f = mesh.points, mesh.boundary[name]
    if f.shape[1] == 2:
        return np.linalg.norm(p[f[:, 1]] - p[f[:, 0]], axis=1).sum()
    return 0.5 * np.linalg.norm(np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]]), axis=1).sum()


def assert_named_boundaries_partition_boundary(mesh):
    """Every topological boundary facet is in exactly one named boundary, and nothing else is."""
    named = np.sort(np.concatenate(list(mesh.boundary.values())), axis=1)
    topological = np.sort(mesh.boundary_facets, axis=1)
    assert len(np.unique(named, axis=0)) == len(named)  # no facet in two boundaries
    np.testing.assert_array_equal(np.unique(named, axis=0), np.unique(topological, axis=0))


def assert_well_formed(mesh, dim):
    assert mesh.points.shape[1] == dim and mesh.cell_dim == dim
    assert count_inverted(mesh) == 0
    np.testing.assert_array_equal(np.unique(mesh.cells), np.arange(mesh.num_points))  # no unused nodes


def euler_2d(mesh):
    return mesh.num_points - len(mesh.edges) + mesh.num_cells


def shoelace(points, facets):
    """Signed area enclosed by a closed chain of oriented segments."""
    a, b = points[facets[:, 0]], points[facets[:, 1]]
    return 0.5 * np.sum(a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1])


def cell_sizes(mesh):
    """(M,) longest edge of each cell."""
    p, c = mesh.points, mesh.cells
    return np.max([np.linalg.norm(p[c[:, i]] - p[c[:, j]], axis=1) for i, j in ((0, 1), (1, 2), (0, 2))], axis=0)


def same_mesh(a, b):
    return (np.array_equal(a.points, b.points) and np.array_equal(a.cells, b.cells)
            and a.boundary.keys() == b.boundary.keys()
            and all(np.array_equal(a.boundary[k], b.boundary[k]) for k in a.boundary))


# -- interval ------------------------------------------------------------------------------------
def test_interval_covers_segment_with_end_points_as_boundaries():
    mesh = interval(-1.0, 2.0, h=0.25)
    assert_well_formed(mesh, 1)
    assert mesh.num_cells == 12 and mesh.num_points == 13
    assert mesh.cell_measures.sum() == pytest.approx(3.0, abs=1e-12)
    np.testing.assert_allclose(mesh.cell_measures, 0.25, rtol=1e-12)
    assert mesh.boundary["left"].shape == (1, 1) and mesh.boundary["right"].shape == (1, 1)
    assert mesh.points[mesh.boundary["left"][0, 0], 0] == -1.0
    assert mesh.points[mesh.boundary["right"][0, 0], 0] == 2.0


# -- rectangle -----------------------------------------------------------------------------------
def test_rectangle_area_boundaries_and_euler():
    mesh = rectangle(2.0, 0.5, h=0.1, origin=(1.0, -1.0))
    assert_well_formed(mesh, 2)
    assert mesh.cell_measures.sum() == pytest.approx(1.0, abs=1e-12)
    assert set(mesh.boundary) == {"left", "right", "bottom", "top"}
    assert_named_boundaries_partition_boundary(mesh)
    for name, length in (("left", 0.5), ("right", 0.5), ("bottom", 2.0), ("top", 2.0)):
        assert facet_measure(mesh, name) == pytest.approx(length, abs=1e-12)
    p = mesh.points
    np.testing.assert_allclose(p[mesh.boundary_nodes("left"), 0], 1.0, atol=1e-14)
    np.testing.assert_allclose(p[mesh.boundary_nodes("top"), 1], -0.5, atol=1e-14)
    assert euler_2d(mesh) == 1
    assert len(mesh.boundary["bottom"]) == 20  # 2.0 / h segments


def test_rectangle_refinement_makes_cells_near_the_named_boundary_smaller():
    mesh = rectangle(h=0.1, refine={"left": (0.02, 0.05, 0.3)})
    sizes, x = cell_sizes(mesh), mesh.points[mesh.cells].mean(axis=1)[:, 0]
    assert sizes[x < 0.03].max() < 0.04 and sizes[x > 0.5].min() > 0.05
    assert facet_measure(mesh, "left") / len(mesh.boundary["left"]) == pytest.approx(0.02, rel=0.05)


def test_two_refinements_combine_by_minimum():
    mesh = rectangle(h=0.1, refine=[Refinement("left", 0.02, 0.0, 0.2), Refinement("top", 0.03, 0.0, 0.2)])
    assert len(mesh.boundary["left"]) >= 45 and len(mesh.boundary["top"]) >= 30
    assert len(mesh.boundary["right"]) < 20 and len(mesh.boundary["bottom"]) < 20


def test_refinement_of_unknown_boundary_names_the_boundaries():
    with pytest.raises(MeshError, match=r"'cylinder'.*\['bottom', 'left', 'right', 'top'\]"):
        rectangle(h=0.2, refine={"cylinder": (0.01, 0.0, 0.1)})
    with pytest.raises(MeshError, match="dist_min < dist_max"):
        Refinement("left", 0.01, 0.3, 0.1)
    with pytest.raises(MeshError, match=r"\(h_min, dist_min, dist_max\); got \{'left': \(0.01, 0.1\)\}"):
        rectangle(h=0.2, refine={"left": (0.01, 0.1)})


def test_refinement_stays_near_the_boundary_in_2d_and_3d():
    mesh = disk(h=0.2, refine={"boundary": (0.05, 0.0, 0.3)})
    radius = np.linalg.norm(mesh.points[mesh.cells].mean(axis=1), axis=1)
    assert cell_sizes(mesh)[radius < 0.5].min() > 0.1  # the refined boundary size does not spread inward
    assert facet_measure(mesh, "boundary") / len(mesh.boundary["boundary"]) == pytest.approx(0.05, rel=0.05)
    solid = box(h=0.3, refine=[Refinement("left", 0.08, 0.0, 0.4)])
    assert len(solid.boundary["left"]) > 5 * len(solid.boundary["right"])


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), float("inf")])
def test_non_positive_size_raises_naming_it(bad):
    with pytest.raises(MeshError, match="h must be a positive"):
        rectangle(h=bad)


# -- disk ----------------------------------------------------------------------------------------
def test_disk_area_converges_quadratically_and_boundary_is_on_the_circle():
    hs = np.array([0.4, 0.2, 0.1])
    errors = []
    for h in hs:
        mesh = disk(radius=0.5, center=(1.0, 2.0), h=h)
        assert_well_formed(mesh, 2)
        assert euler_2d(mesh) == 1
        assert_named_boundaries_partition_boundary(mesh)
        r = np.linalg.norm(mesh.points[mesh.boundary_nodes("boundary")] - (1.0, 2.0), axis=1)
        np.testing.assert_allclose(r, 0.5, rtol=1e-12)
        errors.append(math.pi * 0.25 - mesh.cell_measures.sum())
    errors = np.array(errors)
    assert (errors > 0).all() and (np.diff(errors) < 0).all()
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert 1.7 < slope < 2.3


# -- channel -------------------------------------------------------------------------------------
def test_channel_area_boundary_lengths_and_euler():
    mesh = channel_with_cylinder(h=0.05)
    assert_well_formed(mesh, 2)
    assert set(mesh.boundary) == {"inlet", "outlet", "walls", "cylinder"}
    assert_named_boundaries_partition_boundary(mesh)
    assert euler_2d(mesh) == 0  # one hole
    for name, length in (("inlet", 0.41), ("outlet", 0.41), ("walls", 4.4)):
        assert facet_measure(mesh, name) == pytest.approx(length, abs=1e-12)
    n = len(mesh.boundary["cylinder"])
    perimeter = facet_measure(mesh, "cylinder")
    assert 2 * math.pi * 0.05 * (1 - math.pi ** 2 / n ** 2) < perimeter < 2 * math.pi * 0.05
    inscribed = abs(shoelace(mesh.points, mesh.boundary["cylinder"]))
    area = mesh.cell_measures.sum()
    assert area == pytest.approx(2.2 * 0.41 - inscribed, abs=1e-12)
    assert 0 < area - (2.2 * 0.41 - math.pi * 0.05 ** 2) < 2 * math.pi ** 3 * 0.05 ** 2 / (3 * n ** 2)
    p = mesh.points
    np.testing.assert_allclose(p[mesh.boundary_nodes("inlet"), 0], 0.0, atol=1e-14)
    np.testing.assert_allclose(p[mesh.boundary_nodes("outlet"), 0], 2.2, atol=1e-14)
    assert set(np.round(p[mesh.boundary_nodes("walls"), 1], 12)) == {0.0, 0.41}
    np.testing.assert_allclose(np.linalg.norm(p[mesh.boundary_nodes("cylinder")] - (0.2, 0.2), axis=1), 0.05,
                               rtol=1e-12)


def test_channel_cells_near_cylinder_are_smaller_than_far_away():
    mesh = channel_with_cylinder(h=0.05)
    sizes = cell_sizes(mesh)
    distance = np.linalg.norm(mesh.points[mesh.cells].mean(axis=1) - (0.2, 0.2), axis=1) - 0.05
    assert sizes[distance < 0.02].mean() < 0.4 * sizes[distance > 0.5].mean()
    # default h_cylinder = h / 4 on the cylinder; h_cylinder = h switches refinement off
    assert facet_measure(mesh, "cylinder") / len(mesh.boundary["cylinder"]) == pytest.approx(0.0125, rel=0.05)
    uniform = channel_with_cylinder(h=0.05, h_cylinder=0.05)
    assert len(uniform.boundary["cylinder"]) < len(mesh.boundary["cylinder"]) / 3


def test_channel_rejects_cylinder_outside():
    with pytest.raises(MeshError, match="does not fit"):
        channel_with_cylinder(center=(0.2, 0.39))


# -- polygon -------------------------------------------------------------------------------------
L_SHAPE = [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]


def test_polygon_area_with_polygonal_and_circular_holes():
    triangle_hole = [[1.2, 0.2], [1.8, 0.2], [1.5, 0.7]]
    mesh = polygon(L_SHAPE, holes=[triangle_hole, (0.5, 1.4, 0.2)], h=0.1)
    assert_well_formed(mesh, 2)
    assert set(mesh.boundary) == {"outer", "hole_0", "hole_1"}
    assert_named_boundaries_partition_boundary(mesh)
    assert euler_2d(mesh) == 1 - 2
    circle_inscribed = abs(shoelace(mesh.points, mesh.boundary["hole_1"]))
    assert mesh.cell_measures.sum() == pytest.approx(3.0 - 0.15 - circle_inscribed, abs=1e-12)
    assert facet_measure(mesh, "outer") == pytest.approx(8.0, abs=1e-12)
    assert facet_measure(mesh, "hole_0") == pytest.approx(0.6 + 2 * math.hypot(0.3, 0.5), abs=1e-12)


@pytest.mark.parametrize("vertices, holes, message", [
    ([[0, 0], [1, 1], [1, 0], [0, 1]], [], "'outer' intersects itself"),
    ([[0, 0], [1, 0], [2, 0]], [], "'outer' has zero area"),
    (L_SHAPE, [[[1.5, 1.5], [1.8, 1.5], [1.6, 1.8]]], "hole_0 is not strictly inside"),
    (L_SHAPE, [(0.5, 0.5, 0.6)], "hole_0 is not strictly inside"),
    (L_SHAPE, [(0.5, 0.5, 0.2), (0.6, 0.5, 0.2)], "hole_0 and hole_1 overlap"),
    (L_SHAPE, [(0.5, 0.5, 0.3), (0.5, 0.5, 0.1)], "hole_0 and hole_1 overlap"),
    ([[0, 0], [1, 0]], [], r"vertices must be \(V, 2\)"),
])
def test_bad_polygons_raise_naming_the_problem(vertices, holes, message):
    with pytest.raises(MeshError, match=message):
        polygon(vertices, holes, h=0.2)


# -- random domain -------------------------------------------------------------------------------
def test_random_domain_is_reproducible_and_seeds_differ():
    a, b, c = random_domain(7, h=0.15), random_domain(7, h=0.15), random_domain(8, h=0.15)
    assert same_mesh(a, b)
    assert not same_mesh(a, c)


def test_random_domains_are_valid_with_zero_to_three_holes():
    hole_counts = set()
    for seed in range(8):
        mesh = random_domain(seed, h=0.15)
        holes = len(mesh.boundary) - 1
        hole_counts.add(holes)
        assert_well_formed(mesh, 2)
        assert set(mesh.boundary) == {"outer"} | {f"hole_{i}" for i in range(holes)}
        assert_named_boundaries_partition_boundary(mesh)
        assert euler_2d(mesh) == 1 - holes
        r = np.linalg.norm(mesh.points[mesh.boundary_nodes("outer")], axis=1)
        assert r.max() <= 1.0 + 1e-12 and r.min() > 0.55 * math.cos(math.pi * 1.6 / 5) - 1e-12
    assert hole_counts <= {0, 1, 2, 3} and len(hole_counts) >= 3


# -- box -----------------------------------------------------------------------------------------
def test_box_volume_faces_and_euler():
    mesh = box(size=(1.0, 0.5, 2.0), h=0.3, origin=(0.0, 1.0, -1.0))
    assert_well_formed(mesh, 3)
    assert mesh.boundary["left"].shape[1] == 3
    assert mesh.cell_measures.sum() == pytest.approx(1.0, abs=1e-12)
    assert_named_boundaries_partition_boundary(mesh)
    for name, area in (("left", 1.0), ("right", 1.0), ("front", 2.0), ("back", 2.0), ("bottom", 0.5), ("top", 0.5)):
        assert facet_measure(mesh, name) == pytest.approx(area, abs=1e-12)
    p = mesh.points
    for name, axis, value in (("left", 0, 0.0), ("back", 1, 1.5), ("bottom", 2, -1.0), ("top", 2, 1.0)):
        np.testing.assert_allclose(p[mesh.boundary_nodes(name), axis], value, atol=1e-14)
    faces = np.unique(np.sort(mesh.cells[:, [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]].reshape(-1, 3), axis=1),
                      axis=0)
    assert mesh.num_points - len(mesh.edges) + len(faces) - mesh.num_cells == 1


# -- from_geo ------------------------------------------------------------------------------------
SQUARE_GEO = """
Point(1) = {0, 0, 0, 0.25}; Point(2) = {1, 0, 0, 0.25}; Point(3) = {1, 1, 0, 0.25}; Point(4) = {0, 1, 0, 0.25};
Line(1) = {1, 2}; Line(2) = {2, 3}; Line(3) = {3, 4}; Line(4) = {4, 1};
Curve Loop(1) = {1, 2, 3, 4}; Plane Surface(1) = {1};
Physical Curve("wall") = {1, 3}; Physical Curve("inlet") = {4}; Physical Curve(7) = {2};
Physical Surface("fluid") = {1};
Mesh.MeshSizeFactor = 0.5;
"""


def test_from_geo_names_boundaries_by_physical_groups(tmp_path):
    path = tmp_path / "square.geo"
    path.write_text(SQUARE_GEO)
    mesh = from_geo(path)
    assert_well_formed(mesh, 2)
    assert set(mesh.boundary) == {"wall", "inlet", "7"}
    assert_named_boundaries_partition_boundary(mesh)
    assert mesh.cell_measures.sum() == pytest.approx(1.0, abs=1e-12)
    assert facet_measure(mesh, "wall") == pytest.approx(2.0, abs=1e-12)
    assert len(mesh.boundary["inlet"]) == 8  # point size 0.25 times the file's size factor 0.5
    finer = from_geo(path, h=0.05)
    assert len(finer.boundary["inlet"]) == 40  # h = 0.05 caps the size, the file's factor 0.5 scales it
    edges = from_geo(path, dim=1)  # the curves as cells, the physical points (none) as boundaries
    assert edges.cell_type == "line" and edges.num_cells == 32 and edges.boundary == {}


def test_generators_are_independent_of_options_set_by_a_geo_file(tmp_path):
    before = rectangle(h=0.2)
    path = tmp_path / "square.geo"
    path.write_text(SQUARE_GEO)
    from_geo(path)
    assert same_mesh(before, rectangle(h=0.2))


def test_from_geo_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.geo"
    with pytest.raises(MeshError, match="missing.geo"):
        from_geo(missing)
    bad = tmp_path / "broken.geo"
    bad.write_text("Point(1) = {0, 0, 0};\nLine(1) = {1, 2};\n")
    with pytest.raises(MeshError, match=r"broken\.geo.*point 2"):
        from_geo(bad)


# -- processes and threads -----------------------------------------------------------------------
def mesh_arrays(seed):
    mesh = random_domain(seed, h=0.2)
    return mesh.points, mesh.cells


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_two_worker_processes_mesh_like_the_parent(method):
    expected = [mesh_arrays(seed) for seed in (3, 4)]  # also starts gmsh here before a fork
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.map(mesh_arrays, [3, 4])
    for (points, cells), (expected_points, expected_cells) in zip(results, expected):
        np.testing.assert_array_equal(points, expected_points)
        np.testing.assert_array_equal(cells, expected_cells)


def test_gmsh_starts_in_a_thread_other_than_main():
    script = ("import threading\nfrom meshsim.mesh import rectangle\nout = []\n"
              "t = threading.Thread(target=lambda: out.append(rectangle(h=0.5).num_cells))\n"
              "t.start(); t.join(); print(out)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"[{rectangle(h=0.5).num_cells}]"
