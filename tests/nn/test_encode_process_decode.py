import pytest
import torch
from torch_geometric.utils import grid, remove_self_loops, sort_edge_index

from meshsim.nn import EncodeProcessDecode


def test_defaults_are_meshgraphnets():
    model = EncodeProcessDecode(node_in=11, edge_in=3, out_dim=2)
    assert len(model.processor) == 15
    assert model.node_encoder.first_linear.out_features == 128
    assert len(model.decoder.linears) == 3 and model.decoder.norm is None
    assert model.node_encoder.norm is not None and model.processor[0].edge_mlp.norm is not None
    assert model.processor[0].aggregation == "sum"
    assert isinstance(model.processor[0].edge_mlp.activation, torch.nn.ReLU)


def test_output_shape_and_unsorted_edges_rejected():
    torch.manual_seed(0)
    edge_index, _ = remove_self_loops(grid(3, 3)[0])
    model = EncodeProcessDecode(4, 3, 2, latent_dim=8, num_steps=2)
    nodes, edges = torch.randn(9, 4), torch.randn(edge_index.shape[1], 3)
    sorted_index = sort_edge_index(edge_index, sort_by_row=False)
    assert model(nodes, edges, sorted_index).shape == (9, 2)
    with pytest.raises(ValueError, match="sorted by target"):
        model(nodes, edges, sort_edge_index(edge_index))
