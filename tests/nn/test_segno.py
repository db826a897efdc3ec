"""Tests for meshsim.nn.segno: the second-order integrator, weight sharing, equivariance, batching."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from meshsim.nn import SEGNO, assert_equivariant


def fully_connected(n):
    return torch.tensor([(j, i) for i in range(n) for j in range(n) if i != j]).T


def random_system(generator, n=5, dim=3):
    charges = torch.randint(0, 2, (n,), generator=generator).double() * 2 - 1
    vel = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    edge_index = fully_connected(n)
    return Data(x=vel.norm(dim=1, keepdim=True), pos=torch.randn(n, dim, generator=generator, dtype=torch.float64),
                vel=vel, edge_index=edge_index, edge_attr=(charges[edge_index[0]] * charges[edge_index[1]])[:, None])


def set_constant_acceleration_weight(model, value):
    """phi_x(m) = value, so a_i = value * mean_j (x_i - x_j)."""
    with torch.no_grad():
        last = model.layer.coord_mlp.linears[-1]
        last.weight.zero_()
        last.bias.fill_(value)


def test_zero_acceleration_is_free_flight_over_unit_time():
    data = random_system(torch.Generator().manual_seed(0))
    model = SEGNO(1, 1, hidden_dim=8, num_steps=4).double()
    set_constant_acceleration_weight(model, 0.0)
    pos, vel = model.integrate(data)
    torch.testing.assert_close(pos, data.pos + data.vel, rtol=0, atol=1e-14)
    torch.testing.assert_close(vel, data.vel, rtol=0, atol=0)


def test_steps_are_semi_implicit_euler_with_tau_one_over_l():
    data = random_system(torch.Generator().manual_seed(1), n=4)
    model = SEGNO(1, 1, hidden_dim=8, num_steps=5).double()
    set_constant_acceleration_weight(model, -0.7)
    pos, vel = data.pos.clone(), data.vel.clone()
    for _ in range(5):
        acceleration = -0.7 * (pos - (pos.sum(0) - pos) / 3)  # mean over the 3 other particles
        vel = vel + 0.2 * acceleration
        pos = pos + 0.2 * vel
    got_pos, got_vel = model.integrate(data)
    torch.testing.assert_close(got_pos, pos, rtol=0, atol=1e-13)
    torch.testing.assert_close(got_vel, vel, rtol=0, atol=1e-13)


def test_one_layer_is_shared_by_all_steps():
    sizes = {sum(p.numel() for p in SEGNO(1, 1, hidden_dim=16, num_steps=steps).parameters())
             for steps in (1, 4, 8)}
    assert len(sizes) == 1


def test_segno_is_e3_equivariant_in_float64():
    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    batch = Batch.from_data_list([random_system(generator) for _ in range(3)])
    model = SEGNO(1, 1, hidden_dim=16, num_steps=4).double().eval()
    errors = assert_equivariant(model, batch, "E(n)")
    assert max(errors.values()) < 1e-9


def test_a_batch_gives_the_same_result_as_separate_systems():
    generator = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    systems = [random_system(generator) for _ in range(3)]
    model = SEGNO(1, 1, hidden_dim=16, num_steps=4).double().eval()
    with torch.no_grad():
        batched = model(Batch.from_data_list(systems))
        separate = torch.cat([model(system) for system in systems])
    torch.testing.assert_close(batched, separate, rtol=0, atol=1e-13)


def test_coincident_points_stay_finite():
    data = random_system(torch.Generator().manual_seed(4))
    data.pos = torch.zeros_like(data.pos, requires_grad=True)
    model = SEGNO(1, 1, hidden_dim=8, num_steps=3).double()
    out = model(data)
    out.square().sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(data.pos.grad).all()


def test_num_steps_must_be_positive():
    with pytest.raises(ValueError, match="num_steps"):
        SEGNO(1, num_steps=0)


def test_clamped_accelerations_bound_the_displacement_from_free_flight():
    data = random_system(torch.Generator().manual_seed(5))
    model = SEGNO(1, 1, hidden_dim=8, num_steps=4).double()
    set_constant_acceleration_weight(model, 1e5)  # every edge term far beyond the clamp
    with torch.no_grad():
        pos = model(data)
        model.layer.coord_clamp = None
        unclamped = model(data)
    # |a| <= 100 per component, so |x_L - x_0 - v_0| <= 100 tau^2 L (L + 1) / 2 = 62.5 for L = 4
    assert (pos - data.pos - data.vel).abs().max() <= 62.5 + 1e-12  # measured: the bound, reached
    assert (unclamped - data.pos - data.vel).abs().max() > 1e4
