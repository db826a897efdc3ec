import numpy as np
import pytest
import skfem
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import is_undirected

from meshsim import Mesh
from meshsim.graph import (GraphError, NodeType, assert_same_graph, from_arrays, from_mesh, mesh_edge_index,
                           node_types, to_mesh)


def test_attributes_shapes_and_dtypes(any_mesh):
    data = from_mesh(any_mesh)
    n, dim, k = any_mesh.num_points, any_mesh.dim, any_mesh.cells.shape[1]
    num_facets = sum(len(f) for f in any_mesh.boundary.values())
    assert data.num_nodes == n
    assert data.pos.shape == (n, dim) and data.pos.dtype == torch.float32
    assert data.pos64.dtype == torch.float64
    np.testing.assert_array_equal(data.pos64.numpy(), any_mesh.points)
    assert data.edge_attr.shape == (data.edge_index.shape[1], dim + 1)
    np.testing.assert_array_equal(data.face.numpy(), any_mesh.cells.T)
    assert data.face.dtype == torch.int64 and data.node_type.dtype == torch.int64
    assert data.boundary_facet_index.shape == (k - 1, num_facets)
    assert data.boundary_names == list(any_mesh.boundary)
    assert data.boundary_id.tolist() == np.repeat(np.arange(len(any_mesh.boundary)),
                                                  [len(f) for f in any_mesh.boundary.values()]).tolist()
    data.validate(raise_on_error=True)
    assert is_undirected(data.edge_index, num_nodes=n) and not data.has_self_loops()
    assert not data.is_undirected()  # PyG also compares edge_attr, and displacements flip sign


def test_mesh_without_boundaries():
    mesh = Mesh.from_skfem(skfem.MeshTri1())
    data = from_mesh(mesh)
    assert data.boundary_facet_index.shape == (2, 0) and data.boundary_names == []
    assert data.node_type.tolist() == [NodeType.NORMAL] * 4
    assert to_mesh(Batch.from_data_list([data, data]).get_example(1)).boundary == {}


def test_skfem_mesh_is_refused():
    with pytest.raises(GraphError, match="Mesh.from_skfem"):
        from_mesh(skfem.MeshTri1())


def test_float64_graph(square):
    data = from_mesh(square, dtype=torch.float64)
    assert data.pos.dtype == data.edge_attr.dtype == torch.float64
    np.testing.assert_array_equal(data.pos.numpy(), square.points)


def test_batch_offsets_node_indices_and_keeps_names(square):
    small = square.with_data({"s": np.arange(square.num_points, dtype=float)})
    big = small.with_points(2.0 * small.points)
    first, second = from_mesh(small, fields=["s"]), from_mesh(big, fields=["s"], node_type_map={"walls": 7})
    batch = Batch.from_data_list([first, second])
    n, m, e = first.num_nodes, first.face.shape[1], first.edge_index.shape[1]
    assert torch.equal(batch.face[:, m:], second.face + n)
    assert torch.equal(batch.edge_index[:, e:], second.edge_index + n)
    f = first.boundary_facet_index.shape[1]
    assert torch.equal(batch.boundary_facet_index[:, f:], second.boundary_facet_index + n)
    assert torch.equal(batch.boundary_id, torch.cat([first.boundary_id, second.boundary_id]))
    assert batch.boundary_names == [list(square.boundary)] * 2
    assert int((batch.node_type[n:] == NodeType.BOUNDARY).sum()) == 6  # corners: inflow, outflow
    back = to_mesh(batch.to_data_list()[1])
    np.testing.assert_array_equal(back.points, big.points)
    np.testing.assert_array_equal(back.cells, big.cells)
    for name, facets in big.boundary.items():
        np.testing.assert_array_equal(back.boundary[name], facets)
    np.testing.assert_array_equal(back.point_data["s"], big.point_data["s"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_arrays_gives_from_meshs_graph(any_mesh, dtype):
    fields = {"p": any_mesh.point_data["p"], "h": any_mesh.point_data["h"].transpose(1, 0, 2)}  # (T, N, c)
    targets = {"u": any_mesh.point_data["u"]}
    expected = from_mesh(any_mesh, fields=fields, targets=targets, dtype=dtype)
    node_type = node_types(any_mesh)
    edges = mesh_edge_index(any_mesh.cells, any_mesh.num_points)
    for edge_index in (edges, None):
        graph = from_arrays(any_mesh.points, any_mesh.cells, any_mesh.boundary, node_type, edge_index,
                            fields=fields, targets=targets, dtype=dtype)
        assert_same_graph(graph, expected)
    assert_same_graph(from_arrays(any_mesh.points, any_mesh.cells, any_mesh.boundary, node_type),
                       from_mesh(any_mesh))


def test_from_arrays_shares_writable_arrays_and_copies_read_only_ones(square):
    points, edges, node_type = square.points.copy(), mesh_edge_index(square.cells, 25), node_types(square)
    graph = from_arrays(points, square.cells, square.boundary, node_type, edges)
    assert np.shares_memory(graph.pos64.numpy(), points) and np.shares_memory(graph.edge_index.numpy(), edges)
    graph = from_arrays(square.points, square.cells, square.boundary, node_type.astype(np.int32), edges)
    assert not np.shares_memory(graph.pos64.numpy(), square.points) and graph.node_type.dtype == torch.int64


def test_from_arrays_names_bad_shapes(square):
    node_type = node_types(square)
    with pytest.raises(GraphError, match="edge_index has shape \\(3, 4\\), expected \\(2, E\\)"):
        from_arrays(square.points, square.cells, square.boundary, node_type, np.zeros((3, 4), np.int64))
    with pytest.raises(GraphError, match="node_type has shape \\(24,\\), expected \\(25,\\)"):
        from_arrays(square.points, square.cells, square.boundary, node_type[1:])
    with pytest.raises(GraphError, match="field 'u' has shape \\(3,\\)"):
        from_arrays(square.points, square.cells, square.boundary, node_type, fields={"u": np.zeros(3)})


def test_assert_same_graph_names_the_differing_attribute():
    from torch_geometric.data import Data

    a = Data(x=torch.zeros(3, 1), pos=torch.ones(3, 2))
    assert_same_graph(a, a.clone())
    with pytest.raises(AssertionError, match="attribute 'x' differs"):
        assert_same_graph(Data(x=torch.ones(3, 1), pos=a.pos), a)
    with pytest.raises(AssertionError, match="attribute 'x' differs"):
        assert_same_graph(Data(x=a.x.double(), pos=a.pos), a)  # same values, other dtype
    with pytest.raises(AssertionError, match="attributes differ"):
        assert_same_graph(Data(x=a.x), a)
    assert_same_graph(Data(x=a.x, pos=a.pos, extra=1), a, same_keys=False)
