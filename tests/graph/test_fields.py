import numpy as np
import pytest
import torch

from meshsim.graph import GraphError, from_mesh


def test_point_data_fields_side_by_side(any_mesh):
    data = from_mesh(any_mesh, fields=["p", "u", "h"], dtype=torch.float64)
    n = any_mesh.num_points
    assert data.x.shape == (n, 1 + 2 + 6)
    assert data.x_fields == [("p", ()), ("u", (2,)), ("h", (3, 2))]
    pd = any_mesh.point_data
    np.testing.assert_array_equal(data.x.numpy(), np.concatenate([pd["p"][:, None], pd["u"], pd["h"].reshape(n, 6)], 1))


def test_time_window_is_time_major(square):
    n = square.num_points
    window = np.arange(4 * n * 2, dtype=np.float64).reshape(4, n, 2)  # (T, N, c)
    data = from_mesh(square, fields={"v": window})
    assert data.x_fields == [("v", (4, 2))]
    for t in range(4):
        for j in range(2):
            np.testing.assert_array_equal(data.x[:, 2 * t + j].numpy(), window[t, :, j])


def test_targets_become_y_and_single_name_is_accepted(square):
    mesh = square.with_data({"q": square.points[:, 0] ** 2})
    data = from_mesh(mesh, fields="q", targets={"r": 2.0 * mesh.points})
    assert data.x_fields == [("q", ())] and data.y_fields == [("r", (2,))]
    assert data.y.dtype == torch.float32
    torch.testing.assert_close(data.y, 2.0 * data.pos)


def test_no_fields_means_no_x(square):
    data = from_mesh(square)
    assert data.x is None and data.y is None


def test_wrong_length_names_field_and_shapes(square):
    with pytest.raises(GraphError, match=r"field 'v' has shape \(24, 2\).*N = 25"):
        from_mesh(square, fields={"v": np.zeros((24, 2))})
    with pytest.raises(GraphError, match=r"field 'w' has shape \(3, 24, 1\)"):
        from_mesh(square, fields={"w": np.zeros((3, 24, 1))})


def test_missing_point_data_is_named(square):
    with pytest.raises(GraphError, match=r"\['nope'\] are not in the mesh's point_data"):
        from_mesh(square, fields=["nope"])


def test_empty_selection_is_an_error(square):
    with pytest.raises(GraphError, match="no fields selected"):
        from_mesh(square, fields=[])
