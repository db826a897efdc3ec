import numpy as np
import pytest
import skfem
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import FaceToEdge

from meshsim import Mesh
from meshsim.graph import edge_attributes, from_mesh, mesh_edge_index


def _tri(n=3):
    return Mesh.from_skfem(skfem.MeshTri1().refined(n))


def _tet(n=2):
    return Mesh.from_skfem(skfem.MeshTet1().refined(n))


def _line(n=10):
    x = np.linspace(0.0, 1.0, n + 1)[:, None]
    return Mesh(x, np.stack([np.arange(n), np.arange(1, n + 1)], axis=1), boundary={"left": [[0]], "right": [[n]]})


def _undirected_keys(edge_index, num_nodes):
    lo, hi = edge_index.min(dim=0).values, edge_index.max(dim=0).values
    return torch.unique(lo * num_nodes + hi)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_triangle_edge_count_is_twice_euler(n):
    mesh = _tri(n)
    undirected = mesh.num_points + mesh.num_cells - 1  # V - E + F = 1 for a disk
    assert undirected == mesh.num_points + 2 * 4**n - 1
    assert from_mesh(mesh).edge_index.shape == (2, 2 * undirected)


def test_tetra_edge_count_is_twice_euler():
    sk = skfem.MeshTet1().refined(2)
    mesh = Mesh.from_skfem(sk)
    undirected = mesh.num_points + sk.facets.shape[1] - mesh.num_cells - 1  # V - E + F - T = 1 for a ball
    assert from_mesh(mesh).edge_index.shape == (2, 2 * undirected)


def test_line_edges_are_the_cells_both_ways():
    mesh = _line(10)
    assert from_mesh(mesh).edge_index.shape == (2, 2 * 10)


@pytest.mark.parametrize("make", [_line, _tri, _tet])
def test_edges_sorted_unique_symmetric_without_loops(make):
    mesh = make()
    edge_index = from_mesh(mesh).edge_index
    assert edge_index.dtype == torch.int64
    source, target = edge_index
    keys = target * mesh.num_points + source
    assert bool((keys[1:] > keys[:-1]).all())  # sorted by target, then source; no duplicates
    assert not bool((source == target).any())
    reverse = torch.sort(source * mesh.num_points + target).values
    assert torch.equal(reverse, keys)  # every edge's reverse is present


@pytest.mark.parametrize("make", [_tri, _tet])
def test_same_undirected_edges_as_face_to_edge(make):
    mesh = make()
    ours = from_mesh(mesh).edge_index
    face = torch.from_numpy(mesh.cells.T.copy())
    theirs = FaceToEdge()(Data(face=face, num_nodes=mesh.num_points)).edge_index
    assert torch.equal(_undirected_keys(ours, mesh.num_points), _undirected_keys(theirs, mesh.num_points))


def test_edges_match_mesh_edges():
    mesh = _tri(2)
    source, target = from_mesh(mesh).edge_index.numpy()
    forward = source < target
    pairs = np.stack([source[forward], target[forward]], axis=1)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    np.testing.assert_array_equal(pairs, mesh.edges)


def test_edge_attr_is_source_minus_target_and_norm():
    mesh = Mesh(np.array([[0.0], [1.0], [3.0]]), np.array([[0, 1], [1, 2]]))
    data = from_mesh(mesh)
    assert data.edge_index.tolist() == [[1, 0, 2, 1], [0, 1, 1, 2]]
    assert data.edge_attr.tolist() == [[1.0, 1.0], [-1.0, 1.0], [2.0, 2.0], [-2.0, 2.0]]


@pytest.mark.parametrize("make", [_tri, _tet])
def test_edge_attr_equals_pos_differences(make):
    data = from_mesh(make())
    source, target = data.edge_index
    displacement = data.pos[source] - data.pos[target]
    assert data.edge_attr.dtype == torch.float32
    assert torch.equal(data.edge_attr[:, :-1], displacement)
    torch.testing.assert_close(data.edge_attr[:, -1], displacement.norm(dim=1))


def test_repeated_node_in_cell_adds_no_self_loop():
    edge_index = mesh_edge_index(np.array([[0, 0, 1], [1, 2, 0]]), 3)
    assert edge_index.tolist() == [[1, 2, 0, 2, 0, 1], [0, 0, 1, 1, 2, 2]]


def test_edge_attributes_in_float64():
    pos = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    attr = edge_attributes(pos, torch.tensor([[1, 0], [0, 1]]))
    assert attr.dtype == torch.float64
    assert attr.tolist() == [[3.0, 4.0, 5.0], [-3.0, -4.0, 5.0]]


def test_line_neighbour_edges_stop_at_the_ends():
    from meshsim.graph import line_neighbour_edges

    edges = line_neighbour_edges(5, 2)
    assert edges.tolist() == [[1, 2, 0, 2, 3, 0, 1, 3, 4, 1, 2, 4, 2, 3],
                              [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4]]
    assert line_neighbour_edges(200, 3).shape == (2, 200 * 6 - 2 * (1 + 2 + 3))
    with pytest.raises(ValueError, match="neighbours >= 1"):
        line_neighbour_edges(5, 0)


def test_edge_lists_need_no_torch_and_keep_their_old_module_names():
    from meshsim.graph import edges, line_neighbour_edges, mesh_edges

    assert edges.mesh_edge_index is mesh_edges.mesh_edge_index is mesh_edge_index
    assert edges.line_neighbour_edges is line_neighbour_edges
    assert "torch" not in mesh_edges.__dict__


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [2, 3])
def test_compiled_edge_attributes_agree_with_the_differentiable_torch_path(dtype, dim):
    """The compiled pass (CPU, no autograd) and the torch path (taken under autograd) give the same
    displacements bit for bit and norms to the last bit; both refuse node ids out of range."""
    generator = torch.Generator().manual_seed(dim)
    pos = torch.randn(300, dim, generator=generator, dtype=dtype) * 10.0
    source = torch.randint(0, 300, (5000,), generator=generator)
    edge_index = torch.stack([source, (source + torch.randint(1, 300, (5000,), generator=generator)) % 300])
    compiled = edge_attributes(pos, edge_index)
    leaf = pos.clone().requires_grad_(True)
    differentiable = edge_attributes(leaf, edge_index)
    assert differentiable.requires_grad and compiled.dtype == dtype
    assert torch.equal(compiled[:, :dim], differentiable[:, :dim].detach())
    eps = torch.finfo(dtype).eps
    assert torch.allclose(compiled[:, dim], differentiable[:, dim].detach(), rtol=2 * eps, atol=0)
    differentiable[:, dim].sum().backward()  # d|p_s - p_t| / d p_s = unit vector
    expected = torch.zeros_like(pos).index_add_(0, edge_index[0], compiled[:, :dim] / compiled[:, dim:])
    expected.index_add_(0, edge_index[1], -compiled[:, :dim] / compiled[:, dim:])
    assert torch.allclose(leaf.grad, expected, rtol=1e-4 if dtype == torch.float32 else 1e-10, atol=1e-4)
    bad = edge_index.clone()
    bad[1, 7] = 300
    with pytest.raises(IndexError):
        edge_attributes(pos, bad)
    with pytest.raises(IndexError):
        edge_attributes(leaf, bad)
