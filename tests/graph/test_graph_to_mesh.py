import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from meshsim.graph import GraphError, from_mesh, to_mesh


def test_round_trip_is_exact(any_mesh):
    assert not np.array_equal(any_mesh.points.astype(np.float32), any_mesh.points)  # float32 loses digits
    back = to_mesh(from_mesh(any_mesh, fields=["p", "u"], targets=["h"], dtype=torch.float64))
    np.testing.assert_array_equal(back.points, any_mesh.points)
    np.testing.assert_array_equal(back.cells, any_mesh.cells)
    assert list(back.boundary) == list(any_mesh.boundary)
    for name, facets in any_mesh.boundary.items():
        np.testing.assert_array_equal(back.boundary[name], facets)
    assert sorted(back.point_data) == ["h", "p", "u"]
    for name, value in any_mesh.point_data.items():
        np.testing.assert_array_equal(back.point_data[name], value)


def test_float32_fields_come_back_rounded(square):
    field = np.random.default_rng(0).normal(size=square.num_points)
    back = to_mesh(from_mesh(square, fields={"f": field}))
    np.testing.assert_array_equal(back.point_data["f"], field.astype(np.float32))


def test_time_window_comes_back_node_first(square):
    window = np.random.default_rng(0).normal(size=(3, square.num_points, 2))
    back = to_mesh(from_mesh(square, fields={"v": window}, dtype=torch.float64))
    np.testing.assert_array_equal(back.point_data["v"], window.transpose(1, 0, 2))


def test_moved_pos_gives_moved_mesh(square):
    data = from_mesh(square)
    data.pos = data.pos * 2.0
    np.testing.assert_array_equal(to_mesh(data).points, (square.points.astype(np.float32) * 2.0))


def test_batch_of_two_is_refused(square):
    batch = Batch.from_data_list([from_mesh(square), from_mesh(square)])
    with pytest.raises(GraphError, match="batch of 2"):
        to_mesh(batch)
    np.testing.assert_array_equal(to_mesh(Batch.from_data_list([from_mesh(square)])).cells, square.cells)


def test_missing_face_is_named(square):
    data = from_mesh(square)
    del data.face
    with pytest.raises(GraphError, match="no 'face'"):
        to_mesh(data)
