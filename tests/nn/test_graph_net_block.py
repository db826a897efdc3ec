import pytest
import torch
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import grid, remove_self_loops, sort_edge_index

from meshsim.nn import GraphNetBlock, TargetSortedEdges


class NaiveBlock(MessagePassing):
    """Reference: concatenate sender, receiver and edge latents, then the block's own MLPs."""

    def __init__(self, block, aggr):
        super().__init__(aggr=aggr)
        self.block = block

    def forward(self, x, edge_attr, edge_index):
        cat = torch.cat([x[edge_index[0]], x[edge_index[1]], edge_attr], dim=-1)
        edge_delta = self.block.edge_mlp(cat)
        received = self.propagate(edge_index, delta=edge_delta, size=(len(x), len(x)))
        return x + self.block.node_mlp(torch.cat([x, received], -1)), edge_attr + edge_delta

    def message(self, delta):
        return delta


def graph(height=4, width=5, latent=16, seed=0):
    edge_index, _ = remove_self_loops(grid(height, width)[0])
    edge_index = sort_edge_index(edge_index, sort_by_row=False)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(height * width, latent, generator=generator)
    e = torch.randn(edge_index.shape[1], latent, generator=generator)
    return x, e, edge_index


@pytest.mark.parametrize("aggregation", ["sum", "mean"])
def test_concat_trick_equals_naive_block(aggregation):
    torch.manual_seed(0)
    block = GraphNetBlock(16, aggregation=aggregation)
    x, e, edge_index = graph()
    results = []
    for run in (lambda a, b: block(a, b, TargetSortedEdges.from_edge_index(edge_index, len(x))),
                lambda a, b: NaiveBlock(block, aggregation)(a, b, edge_index)):
        block.zero_grad()
        a, b = x.clone().requires_grad_(), e.clone().requires_grad_()
        new_x, new_e = run(a, b)
        (new_x.square().sum() + new_e.sin().sum()).backward()
        results.append([new_x, new_e, a.grad, b.grad] + [p.grad.clone() for p in block.parameters()])
    for ours, naive in zip(*results):
        scale = naive.abs().max().clamp(min=1.0)
        assert (ours - naive).abs().max() / scale < 1e-5


def test_shapes_and_residual():
    torch.manual_seed(0)
    block = GraphNetBlock(8, hidden_dim=12, num_hidden_layers=1)
    x, e, edge_index = graph(latent=8)
    new_x, new_e = block(x, e, TargetSortedEdges.from_edge_index(edge_index, len(x)))
    assert new_x.shape == x.shape and new_e.shape == e.shape
    assert block.edge_mlp.first_linear.in_features == 24 and block.node_mlp.first_linear.in_features == 16
    # with zeroed output layers the block is the identity (residual connections)
    for mlp in (block.edge_mlp, block.node_mlp):
        mlp.norm.weight.data.zero_()
        mlp.norm.bias.data.zero_()
    same_x, same_e = block(x, e, TargetSortedEdges.from_edge_index(edge_index, len(x)))
    assert torch.equal(same_x, x) and torch.equal(same_e, e)


def test_unknown_aggregation_rejected():
    with pytest.raises(ValueError, match="'max'"):
        GraphNetBlock(8, aggregation="max")
