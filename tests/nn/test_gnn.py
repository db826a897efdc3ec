"""Tests for meshsim.nn.gnn: the GCL layer against a hand computation, the model, its inputs."""
import pytest
import torch
from torch.nn.functional import silu
from torch_geometric.data import Data

from meshsim.nn import GNN, GCLLayer, assert_equivariant
from meshsim.train.nbody_task import PositionVelocityGNN, charged_graphs


def set_weights(layer):
    """Small explicit weights: hidden width 2, one edge attribute."""
    with torch.no_grad():
        e0, e1 = layer.edge_mlp.linears
        e0.weight.copy_(torch.tensor([[0.1, -0.2, 0.3, 0.4, 0.5], [-0.3, 0.2, 0.1, -0.1, 0.2]]))
        e0.bias.copy_(torch.tensor([0.05, -0.05]))
        e1.weight.copy_(torch.tensor([[0.2, 0.7], [-0.4, 0.1]]))
        e1.bias.copy_(torch.tensor([0.0, 0.1]))
        n0, n1 = layer.node_mlp.linears
        n0.weight.copy_(torch.tensor([[0.3, 0.1, -0.2, 0.4], [0.2, -0.5, 0.6, 0.1]]))
        n0.bias.copy_(torch.tensor([0.01, 0.02]))
        n1.weight.copy_(torch.tensor([[1.0, -0.5], [0.25, 0.75]]))
        n1.bias.copy_(torch.tensor([-0.1, 0.1]))


def test_gcl_layer_equals_a_hand_computed_layer_on_a_tiny_graph():
    layer = GCLLayer(2, edge_dim=1).double()
    set_weights(layer)
    h = torch.tensor([[1.0, 0.0], [0.5, -1.0], [-2.0, 0.25]], dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 0], [0, 0, 1]])  # 1 -> 0, 2 -> 0, 0 -> 1; node 2 hears nobody
    edge_attr = torch.tensor([[1.0], [-1.0], [0.5]], dtype=torch.float64)
    e0, e1 = layer.edge_mlp.linears
    n0, n1 = layer.node_mlp.linears
    messages = {}
    for (j, i), a in zip(edge_index.T.tolist(), edge_attr):
        inputs = torch.cat([h[i], h[j], a])  # [h_i, h_j, a_ij]
        messages.setdefault(i, []).append(silu(e1.weight @ silu(e0.weight @ inputs + e0.bias) + e1.bias))
    expected = []
    for i in range(3):
        total = sum(messages.get(i, [torch.zeros(2, dtype=torch.float64)]))
        expected.append(h[i] + n1.weight @ silu(n0.weight @ torch.cat([h[i], total]) + n0.bias) + n1.bias)
    torch.testing.assert_close(layer(h, edge_index, edge_attr), torch.stack(expected), rtol=0, atol=1e-15)


def test_gnn_sums_messages_so_a_duplicated_edge_counts_twice():
    torch.manual_seed(0)
    model = GNN(3, 1, out_dim=2, hidden_dim=8, num_layers=2).double()
    x = torch.randn(3, 3, dtype=torch.float64)
    once = Data(x=x, edge_index=torch.tensor([[1], [0]]), edge_attr=torch.ones(1, 1, dtype=torch.float64))
    twice = Data(x=x, edge_index=torch.tensor([[1, 1], [0, 0]]), edge_attr=torch.ones(2, 1, dtype=torch.float64))
    with torch.no_grad():
        out_once, out_twice = model(once), model(twice)
    assert out_once.shape == (3, 2)
    torch.testing.assert_close(out_once[1:], out_twice[1:], rtol=0, atol=0)  # nodes 1, 2 receive nothing
    assert (out_once[0] - out_twice[0]).abs().max() > 1e-6


def test_the_nbody_gnn_is_not_equivariant():
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    pos = torch.randn(1, 5, 3, generator=g, dtype=torch.float64)
    vel = torch.randn(1, 5, 3, generator=g, dtype=torch.float64)
    data = charged_graphs(pos, vel, torch.ones(1, 5, dtype=torch.float64))
    data.edge_attr = data.edge_attr[:, :1]  # q_i q_j only: |x_i - x_j|^2 is invariant anyway
    model = PositionVelocityGNN(hidden_dim=16).double().eval()
    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(model, data, "E(n)")


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="edge_dim=1"):
        GCLLayer(4, edge_dim=1)(torch.randn(2, 4), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="num_layers"):
        GNN(3, num_layers=0)
