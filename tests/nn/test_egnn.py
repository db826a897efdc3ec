"""Tests for meshsim.nn.egnn: the E_GCL layer's maths, equivariance, batching, safety, training."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from meshsim.nn import EGNN, EGNNLayer, assert_equivariant
from meshsim.sim import charged_system


def fully_connected(n):
    return torch.tensor([(j, i) for i in range(n) for j in range(n) if i != j]).T


def charged_graph(pos, vel, charges, target=None):
    """An N-body system as the EGNN paper feeds it: h = |v|, a_ij = q_i q_j."""
    edge_index = fully_connected(len(pos))
    return Data(x=vel.norm(dim=1, keepdim=True), pos=pos, vel=vel, edge_index=edge_index,
                edge_attr=(charges[edge_index[0]] * charges[edge_index[1]])[:, None], y=target)


def random_system(generator, n=5, dim=3):
    charges = torch.randint(0, 2, (n,), generator=generator).double() * 2 - 1
    return charged_graph(torch.randn(n, dim, generator=generator, dtype=torch.float64),
                         torch.randn(n, dim, generator=generator, dtype=torch.float64), charges)


def constant_coordinate_weight(layer, value):
    """Make phi_x(m) = value for every message."""
    with torch.no_grad():
        last = layer.coord_mlp.linears[-1]
        last.weight.zero_()
        last.bias.fill_(value)


def test_coordinate_update_is_the_mean_over_incoming_edges():
    layer = EGNNLayer(8).double()
    constant_coordinate_weight(layer, 1.0)
    pos = torch.randn(4, 3, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])  # node 0 hears 1, 2, 3; node 1 hears 0
    _, new = layer(torch.randn(4, 8, dtype=torch.float64), pos, edge_index)
    expected = pos.clone()
    expected[0] += pos[0] - pos[1:].mean(0)  # C = 1/deg: mean_j (x_0 - x_j)
    expected[1] += pos[1] - pos[0]
    torch.testing.assert_close(new, expected, rtol=0, atol=1e-14)  # nodes 2, 3 have no edges in


def test_velocity_variant_adds_phi_v_times_the_initial_velocity():
    torch.manual_seed(0)
    layer = EGNNLayer(8, velocity=True).double()
    constant_coordinate_weight(layer, 0.0)
    with torch.no_grad():
        layer.vel_mlp.linears[-1].weight.zero_()
        layer.vel_mlp.linears[-1].bias.fill_(0.5)
    pos, vel = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    h = torch.randn(5, 8, dtype=torch.float64)
    h_new, new = layer(h, pos, fully_connected(5), vel=vel)
    torch.testing.assert_close(new, pos + 0.5 * vel, rtol=0, atol=1e-15)
    assert h_new.shape == h.shape and not torch.equal(h_new, h)


def test_coordinate_mlp_starts_small():
    torch.manual_seed(1)
    model = EGNN(1, 1, hidden_dim=32, num_layers=4).double()
    data = random_system(torch.Generator().manual_seed(1))
    for layer in model.layers:
        assert torch.count_nonzero(layer.coord_mlp.linears[-1].bias) == 0
        assert layer.coord_mlp.linears[-1].weight.abs().max() < 1e-3
    assert (model(data) - data.pos).abs().max() < 1e-2


@pytest.mark.parametrize("velocity", [False, True])
def test_egnn_is_e3_equivariant_in_float64(velocity):
    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    batch = Batch.from_data_list([random_system(generator) for _ in range(3)])
    model = EGNN(1, 1, hidden_dim=16, num_layers=3, velocity=velocity).double().eval()
    errors = assert_equivariant(model, batch, "E(n)")
    assert set(errors) == {"rotation", "reflection", "translation", "permutation", "combined"}
    assert max(errors.values()) < 1e-9


def test_layer_is_equivariant_on_a_sparse_unsorted_graph_in_2d():
    generator = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    pos = torch.randn(12, 2, generator=generator, dtype=torch.float64)
    distance = torch.cdist(pos, pos)
    source, target = torch.nonzero((distance < 1.0) & (distance > 0), as_tuple=True)
    order = torch.randperm(len(source), generator=generator)
    data = Data(x=torch.randn(12, 4, generator=generator, dtype=torch.float64), pos=pos,
                edge_index=torch.stack([source[order], target[order]]))
    model = EGNN(4, hidden_dim=16, num_layers=2).double().eval()
    assert max(assert_equivariant(model, data).values()) < 1e-9


def test_a_batch_gives_the_same_result_as_separate_systems():
    generator = torch.Generator().manual_seed(4)
    torch.manual_seed(4)
    systems = [random_system(generator) for _ in range(4)]
    model = EGNN(1, 1, hidden_dim=16, num_layers=3, velocity=True).double().eval()
    with torch.no_grad():
        batched = model(Batch.from_data_list(systems))
        separate = torch.cat([model(system) for system in systems])
    torch.testing.assert_close(batched, separate, rtol=0, atol=1e-13)


def test_coincident_points_give_finite_outputs_and_gradients():
    torch.manual_seed(5)
    charges = torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    pos = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)  # every pair coincides
    data = charged_graph(pos, torch.randn(4, 3, dtype=torch.float64), charges)
    data.vel = torch.zeros(4, 3, dtype=torch.float64)  # |v| = 0 too
    data.x = data.vel.norm(dim=1, keepdim=True)
    model = EGNN(1, 1, hidden_dim=8, num_layers=2, velocity=True).double()
    out = model(data)
    out.square().sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(pos.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_bad_inputs_raise():
    layer = EGNNLayer(4, edge_dim=2)
    h, pos, edge_index = torch.randn(3, 4), torch.randn(3, 3), fully_connected(3)
    with pytest.raises(ValueError, match="edge_dim=2"):
        layer(h, pos, edge_index)
    with pytest.raises(ValueError, match="velocity"):
        layer(h, pos, edge_index, torch.randn(6, 2), vel=torch.randn(3, 3))
    with pytest.raises(ValueError, match="velocity"):
        EGNNLayer(4, velocity=True)(h, pos, edge_index)
    with pytest.raises(ValueError, match="num_layers"):
        EGNN(1, num_layers=0)


def test_a_tiny_egnn_overfits_ten_charged_systems():
    torch.manual_seed(0)
    traj = charged_system(10, steps=4000, seed=0)
    data = Batch.from_data_list([
        charged_graph(torch.tensor(traj.pos[s, 30], dtype=torch.float32),
                      torch.tensor(traj.vel[s, 30], dtype=torch.float32),
                      torch.tensor(traj.params[s], dtype=torch.float32),
                      torch.tensor(traj.pos[s, 40], dtype=torch.float32)) for s in range(10)])
    model = EGNN(1, 1, hidden_dim=32, num_layers=2, velocity=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(1500):
        optimizer.zero_grad()
        loss = torch.mean((model(data) - data.y) ** 2)
        if loss.item() < 1e-4:
            break
        loss.backward()
        optimizer.step()
    assert loss.item() < 1e-4


def test_coordinate_terms_are_clamped_to_plus_minus_100_per_edge():
    layer = EGNNLayer(8).double()
    constant_coordinate_weight(layer, 1e4)  # phi_x = 1e4: every |x_i - x_j| phi_x component exceeds 100
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.5, -0.2, 0.1], [-0.3, 0.4, 2.0]], dtype=torch.float64)
    edge_index = fully_connected(3)
    h = torch.randn(3, 8, dtype=torch.float64)
    _, clamped = layer(h, pos, edge_index)
    diff = pos[:, None, :] - pos[None, :, :]  # x_i - x_j
    off_diagonal = ~torch.eye(3, dtype=torch.bool)
    expected = pos + (100.0 * diff.sign())[off_diagonal].reshape(3, 2, 3).mean(1)
    torch.testing.assert_close(clamped, expected, rtol=0, atol=1e-12)
    layer.coord_clamp = None
    _, free = layer(h, pos, edge_index)
    torch.testing.assert_close(free, pos + 1e4 * diff[off_diagonal].reshape(3, 2, 3).mean(1), rtol=1e-12, atol=1e-9)
    with pytest.raises(ValueError, match="coord_clamp"):
        EGNNLayer(8, coord_clamp=0.0)
