import math

import numpy as np
import pytest

from meshsim.mesh import Mesh, aspect_ratios, cell_measures, count_inverted, min_angles, summary

EQUILATERAL = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
RIGHT = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
REGULAR_TET = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])


def triangle(points):
    return Mesh(points, [[0, 1, 2]])


def test_min_angle_of_equilateral_and_right_triangles():
    assert min_angles(triangle(EQUILATERAL)) == pytest.approx([60.0], abs=1e-12)
    assert min_angles(triangle(RIGHT)) == pytest.approx([45.0], abs=1e-12)


def test_min_dihedral_angle_of_regular_tetrahedron():
    tet = Mesh(REGULAR_TET, [[0, 1, 2, 3]], validate=False)
    assert min_angles(tet) == pytest.approx([math.degrees(math.acos(1 / 3))], abs=1e-12)


def test_aspect_ratio_is_one_for_regular_simplices():
    tet = Mesh(REGULAR_TET, [[0, 1, 2, 3]], validate=False)
    assert aspect_ratios(triangle(EQUILATERAL)) == pytest.approx([1.0], abs=1e-12)
    assert aspect_ratios(tet) == pytest.approx([1.0], abs=1e-12)


def test_aspect_ratio_of_right_isosceles_triangle():
    # longest edge sqrt(2), inradius 1 / (2 + sqrt(2)): ratio (sqrt(2) + 1) / sqrt(3)
    assert aspect_ratios(triangle(RIGHT)) == pytest.approx([(math.sqrt(2) + 1) / math.sqrt(3)], rel=1e-12)


def test_lines_have_angle_180_and_aspect_ratio_one():
    line = Mesh([[0.0], [0.5], [2.0]], [[0, 1], [1, 2]])
    np.testing.assert_array_equal(min_angles(line), [180.0, 180.0])
    np.testing.assert_array_equal(aspect_ratios(line), [1.0, 1.0])
    np.testing.assert_allclose(cell_measures(line), [0.5, 1.5])


def test_count_inverted_counts_clockwise_triangles():
    points = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    mesh = Mesh(points, [[0, 1, 2], [0, 3, 2]], validate=False)  # second cell clockwise
    assert count_inverted(mesh) == 1
    np.testing.assert_allclose(cell_measures(mesh), [0.5, 0.5])
    assert count_inverted(Mesh(points, [[0, 1, 2], [0, 2, 3]])) == 0


def test_summary_names_type_counts_angle_inversions_and_boundaries():
    points = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    mesh = Mesh(points, [[0, 1, 2], [0, 3, 2]], boundary={"wall": [[0, 1]], "inlet": [[3, 0]]}, validate=False)
    text = summary(mesh)
    for part in ("Mesh(triangle", "N=4", "M=2", "dim=2", "h=[1, 1.41]", "min_angle=45.0deg", "inverted=1",
                 "boundaries=['inlet', 'wall']"):
        assert part in text
    assert repr(mesh) == text
    line_text = summary(Mesh([[0.0], [1.0]], [[0, 1]]))
    assert "Mesh(line" in line_text and "min_angle" not in line_text and "inverted=0" in line_text
