import numpy as np
import pytest

from meshsim.graph import NUM_NODE_TYPES, GraphError, NodeType, default_node_type, from_mesh, node_types


def test_codes_follow_meshgraphnets():
    assert [int(NodeType.NORMAL), int(NodeType.OBSTACLE), int(NodeType.INFLOW), int(NodeType.OUTFLOW),
            int(NodeType.WALL)] == [0, 1, 4, 5, 6]
    assert max(NodeType) < NUM_NODE_TYPES == 9


@pytest.mark.parametrize("name, code", [("inlet", NodeType.INFLOW), ("Outlet", NodeType.OUTFLOW),
                                        ("walls", NodeType.WALL), ("wall", NodeType.WALL),
                                        ("cylinder", NodeType.WALL), ("obstacle", NodeType.OBSTACLE),
                                        ("left", NodeType.BOUNDARY)])
def test_default_node_type_by_name(name, code):
    assert default_node_type(name) is code


def test_channel_square_node_types_with_wall_corners(square):
    mesh = square  # 5 x 5 grid of nodes
    types = from_mesh(mesh).node_type.numpy()
    x, y = mesh.points.T
    on_wall = (y == 0) | (y == 1)
    np.testing.assert_array_equal(types[on_wall], NodeType.WALL)  # 10 nodes, corners included
    np.testing.assert_array_equal(types[(x == 0) & ~on_wall], NodeType.INFLOW)
    np.testing.assert_array_equal(types[(x == 1) & ~on_wall], NodeType.OUTFLOW)
    np.testing.assert_array_equal(np.bincount(types, minlength=8), [9, 0, 0, 0, 3, 3, 10, 0])


def test_node_type_map_overrides_defaults_and_priority_decides_corners(square):
    mesh = square
    types = node_types(mesh, {"walls": NodeType.BOUNDARY, "absent": NodeType.OBSTACLE})
    x, y = mesh.points.T
    corners = ((x == 0) | (x == 1)) & ((y == 0) | (y == 1))
    np.testing.assert_array_equal(types[corners & (x == 0)], NodeType.INFLOW)
    np.testing.assert_array_equal(types[corners & (x == 1)], NodeType.OUTFLOW)
    np.testing.assert_array_equal(np.bincount(types, minlength=8), [9, 0, 0, 0, 5, 5, 0, 6])


def test_other_names_get_boundary_code(line):
    types = node_types(line)
    assert types.tolist() == [7, 0, 0, 0, 7]


def test_bad_code_names_the_boundary(square):
    with pytest.raises(GraphError, match="'inlet'.*42"):
        node_types(square, {"inlet": 42})
