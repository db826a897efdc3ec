"""meshsim's N-body models equal the reference implementations' formulation (reference_layers.py) on
identical weights and inputs: EGNN-vel, SEGNO and the GCL GNN, with the coordinate clamp both idle
and active."""
import pytest
import torch

import reference_layers as ref
from meshsim.train.nbody_task import PositionVelocityGNN, charged_graphs, nbody_model


def systems(seed, num=3, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    pos = scale * torch.randn(num, 5, 3, generator=g, dtype=torch.float64)
    vel = 0.5 * torch.randn(num, 5, 3, generator=g, dtype=torch.float64)
    charges = torch.randint(0, 2, (num, 5), generator=g).double() * 2 - 1
    return charged_graphs(pos, vel, charges)


def edges(data):
    return data.edge_index[1], data.edge_index[0]  # rows: receiving node i, cols: sending node j


def randomise(model, seed, scale=0.3):
    """Weights away from initialisation (the coordinate MLP's last layer is nearly zero there)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def test_egnn_vel_equals_the_reference_layers():
    data = systems(0)
    model = randomise(nbody_model("egnn", hidden_dim=16).double(), 1)
    rows, cols = edges(data)
    h, x = ref.linear(model.embedding, data.x), data.pos
    for layer in model.layers:
        h, x = ref.egnn_vel_layer(layer, h, x, rows, cols, data.vel, data.edge_attr)
    with torch.no_grad():
        torch.testing.assert_close(model(data), x, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("clamp_active", [False, True])
def test_segno_equals_the_reference_layer(clamp_active):
    data = systems(2, scale=30.0 if clamp_active else 1.0)  # far-apart particles make |x_i - x_j| phi_x > 100
    model = randomise(nbody_model("segno", hidden_dim=16).double(), 3, scale=1.0 if clamp_active else 0.1)
    rows, cols = edges(data)
    expected = ref.segno_forward(model, data.x, data.pos, rows, cols, data.vel, data.edge_attr)
    unclamped = ref.segno_forward(model, data.x, data.pos, rows, cols, data.vel, data.edge_attr, clamp=None)
    with torch.no_grad():
        torch.testing.assert_close(model(data), expected, rtol=1e-13, atol=1e-12)
    if clamp_active:  # without the clamp the same weights diverge (measured: NaN)
        assert not torch.allclose(expected, unclamped)
    else:
        torch.testing.assert_close(expected, unclamped, rtol=0, atol=0)


def test_gnn_equals_the_reference_gcl_network():
    data = systems(4)
    model = randomise(PositionVelocityGNN(hidden_dim=16).double(), 5)
    rows, cols = edges(data)
    expected = ref.gnn_forward(model.core, torch.cat([data.pos, data.vel], 1), rows, cols, data.edge_attr[:, :1])
    with torch.no_grad():
        torch.testing.assert_close(model(data), expected, rtol=1e-13, atol=1e-12)


def test_the_nbody_egnn_has_no_coordinate_bias_like_the_reference_and_segno_has_one():
    egnn, segno = nbody_model("egnn"), nbody_model("segno")
    assert all(layer.coord_mlp.linears[-1].bias is None for layer in egnn.layers)
    assert segno.layer.coord_mlp.linears[-1].bias is not None
    # the reference models' parameter counts (EGNN repo: EGNN_vel with in_node_nf=1, in_edge_nf=2, and
    # GNN with input_dim=6; hidden 64, 4 layers), counted layer by layer from their definitions
    assert sum(p.numel() for p in egnn.parameters()) == 134_020
    assert sum(p.numel() for p in nbody_model("gnn").parameters()) == 104_387
