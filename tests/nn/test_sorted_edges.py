import pytest
import torch
from torch_geometric.utils import grid, remove_self_loops, sort_edge_index

from meshsim.nn import TargetSortedEdges, add_gathered, aggregate, gather_source, gather_target


def grid_edges(height=3, width=4):
    edge_index, _ = remove_self_loops(grid(height, width)[0])
    return sort_edge_index(edge_index, sort_by_row=False)


def test_index_structures():
    # node 3 receives from 0 and 2; node 1 from 0; node 0 and 2 nothing
    edge_index = torch.tensor([[0, 0, 2], [1, 3, 3]])
    edges = TargetSortedEdges.from_edge_index(edge_index, 4)
    assert edges.degree.tolist() == [0, 1, 0, 2]
    assert edges.target_ptr.tolist() == [0, 0, 1, 1, 3]
    assert edges.source_ptr.tolist() == [0, 2, 2, 3, 3]
    assert edge_index[0, edges.source_order].tolist() == [0, 0, 2]
    assert edges.num_nodes == 4


def test_unsorted_edges_named():
    with pytest.raises(ValueError, match="edge 2 has target 0 after 3"):
        TargetSortedEdges.from_edge_index(torch.tensor([[0, 1, 2], [1, 3, 0]]), 4)


def test_out_of_range_edge_named():
    with pytest.raises(ValueError, match=r"edge 1 has a node index outside \[0, 3\)"):
        TargetSortedEdges.from_edge_index(torch.tensor([[0, 5], [1, 2]]), 3)
    with pytest.raises(ValueError, match="shape"):
        TargetSortedEdges.from_edge_index(torch.zeros(3, 2, dtype=torch.long), 3)


def test_values_match_index_add():
    edge_index = grid_edges()
    n, m = 12, edge_index.shape[1]
    edges = TargetSortedEdges.from_edge_index(edge_index, n)
    torch.manual_seed(0)
    node, edge = torch.randn(n, 3), torch.randn(m, 3)
    source, target = edge_index
    assert torch.equal(gather_source(node, edges), node[source])
    assert torch.equal(gather_target(node, edges), node[target])
    assert torch.allclose(add_gathered(edge, node, 2 * node, edges), edge + node[source] + 2 * node[target])
    summed = torch.zeros(n, 3).index_add_(0, target, edge)
    assert torch.allclose(aggregate(edge, edges, "sum"), summed, atol=1e-6)
    counts = torch.bincount(target, minlength=n).clamp(min=1).unsqueeze(-1)
    assert torch.allclose(aggregate(edge, edges, "mean"), summed / counts, atol=1e-6)


def test_isolated_node_receives_zero():
    edges = TargetSortedEdges.from_edge_index(torch.tensor([[1, 0], [0, 1]]), 3)
    values = torch.ones(2, 2)
    assert aggregate(values, edges, "mean")[2].tolist() == [0.0, 0.0]
    assert aggregate(values, edges, "sum")[2].tolist() == [0.0, 0.0]


def test_gradients_by_gradcheck():
    edge_index = grid_edges(3, 3)
    edges = TargetSortedEdges.from_edge_index(edge_index, 9)
    torch.manual_seed(0)
    node = torch.randn(9, 2, dtype=torch.float64, requires_grad=True)
    node2 = torch.randn(9, 2, dtype=torch.float64, requires_grad=True)
    edge = torch.randn(edge_index.shape[1], 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda e, a, b: add_gathered(e, a, b, edges), (edge, node, node2))
    assert torch.autograd.gradcheck(lambda a: gather_source(a, edges), (node,))
    assert torch.autograd.gradcheck(lambda a: gather_target(a, edges), (node,))
    assert torch.autograd.gradcheck(lambda e: aggregate(e, edges, "mean"), (edge,))


def test_unknown_reduction_rejected():
    edges = TargetSortedEdges.from_edge_index(torch.tensor([[1], [0]]), 2)
    with pytest.raises(ValueError, match="'max'"):
        aggregate(torch.ones(1, 1), edges, "max")
