import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing

from meshsim.nn import MPPDE, TargetSortedEdges
from meshsim.nn.mp_pde import _decoder_sizes, banded_conv, equal_block_instance_norm


def ring_edges(n, neighbours=2):
    """Periodic 1D grid: each node receives from the ``neighbours`` nodes on each side, sorted by target."""
    target = torch.arange(n).repeat_interleave(2 * neighbours)
    offsets = torch.tensor([o for o in range(-neighbours, neighbours + 1) if o]).repeat(n)
    return torch.stack([(target + offsets) % n, target])


def sample(n=12, tw=4, seed=0, num_params=2):
    generator = torch.Generator().manual_seed(seed)
    return Data(x=torch.randn(n, tw, generator=generator), pos=torch.linspace(0, 16, n + 1)[:-1, None],
                time=torch.tensor([0.5]), params=torch.rand(1, num_params, generator=generator),
                edge_index=ring_edges(n))


def tiny(tw=4, num_params=2, **kwargs):
    torch.manual_seed(0)
    return MPPDE(time_window=tw, num_params=num_params, dt=0.1, hidden_dim=32, num_layers=2,
                 domain_length=16.0, t_max=4.0, **kwargs)


def test_decoder_sizes_match_paper_and_reject_long_windows():
    assert _decoder_sizes(128, 25) == (16, 3, 14)
    model = MPPDE(time_window=25, num_params=0, dt=0.016)
    assert len(model.layers) == 6 and model.layers[0].hidden_dim == 128
    assert isinstance(model.layers[0].activation, torch.nn.SiLU)
    with pytest.raises(ValueError, match="time_window 40 is too long"):
        _decoder_sizes(128, 40)


def test_output_is_temporal_bundle_from_last_input():
    data = sample()
    model = tiny()
    last_conv = model.decoder[-1]
    last_conv.weight.data.zero_()
    last_conv.bias.data.fill_(2.0)
    out = model(data.x, data.pos, data.time, data.params, data.edge_index)
    expected = data.x[:, -1:] + 2.0 * 0.1 * torch.arange(1, 5)
    assert torch.allclose(out, expected, atol=1e-6)


class NaiveLayer(MessagePassing):
    """Reference for one MP-PDE layer: concatenate (h_i, h_j, u_i - u_j, x_i - x_j, v_i), v the
    variables (time, PDE parameters); with ``period`` the position difference is wrapped into
    [-period / 2, period / 2)."""

    def __init__(self, layer, period=None):
        super().__init__(aggr="mean")
        self.layer, self.period = layer, period

    def forward(self, h, u, pos, variables, edge_index, batch):
        received = self.propagate(edge_index, h=h, u=u, pos=pos, variables=variables)
        update = self.layer.activation(self.layer.update_mlp(torch.cat([h, received, variables], -1)))
        return self.layer.norm(h + update, batch)

    def message(self, h_i, h_j, u_i, u_j, pos_i, pos_j, variables_i):
        difference = pos_i - pos_j
        if self.period is not None:
            difference = torch.remainder(difference + self.period / 2, self.period) - self.period / 2
        cat = torch.cat([h_i, h_j, u_i - u_j, difference, variables_i], -1)
        return self.layer.activation(self.layer.message_mlp(cat))


def test_layer_equals_naive_message_passing():
    data = sample(n=10)
    model = tiny()
    layer = model.layers[0]
    generator = torch.Generator().manual_seed(3)
    h = torch.randn(10, 32, generator=generator)
    variables = torch.cat([torch.full((1, 1), 0.3), data.params], -1).expand(10, -1)
    batch = torch.zeros(10, dtype=torch.long)
    edges = TargetSortedEdges.from_edge_index(data.edge_index, 10)
    ours = layer(h, data.x, data.pos, variables, edges, batch, 1)
    naive = NaiveLayer(layer)(h, data.x, data.pos, variables, data.edge_index, batch)
    assert torch.allclose(ours, naive, atol=1e-5)
    assert torch.allclose(layer(h, data.x, data.pos, variables, edges, batch, 1, equal_graphs=True), naive, atol=1e-5)
    # a periodic ring: edges across the seam see x_i - x_j shifted by -+16
    source, target = data.edge_index
    shift = 16.0 * ((source - target) > 2).float() - 16.0 * ((target - source) > 2).float()
    periodic = layer(h, data.x, data.pos, variables, edges, batch, 1, edge_shift=shift[:, None])
    wrapped = NaiveLayer(layer, period=16.0)(h, data.x, data.pos, variables, data.edge_index, batch)
    assert torch.allclose(periodic, wrapped, atol=1e-5)
    assert not torch.allclose(periodic, naive, atol=1e-3)


def test_time_enters_every_layer():
    data = sample()
    model = tiny()
    assert model.layers[0].message_mlp.first_linear.in_features == 2 * 32 + 4 + 1 + 1 + 2  # h, h, u, x, (t, theta)
    assert model.layers[1].update_mlp.first_linear.in_features == 2 * 32 + 1 + 2
    model.encoder.first_linear.weight.data[:, 4 + 1] = 0.0  # the encoder no longer reads time
    now = model(data.x, data.pos, data.time, data.params, data.edge_index)
    later = model(data.x, data.pos, data.time + 1.0, data.params, data.edge_index)
    assert (now - later).abs().max() > 1e-4
    for layer in model.layers:
        layer.message_mlp.first_linear.weight.data[:, -3] = 0.0
        layer.update_mlp.first_linear.weight.data[:, -3] = 0.0
    now = model(data.x, data.pos, data.time, data.params, data.edge_index)
    assert torch.equal(now, model(data.x, data.pos, data.time + 1.0, data.params, data.edge_index))


def test_equal_block_norm_equals_pyg_instance_norm():
    from torch_geometric.nn import InstanceNorm

    h = torch.randn(3 * 7, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64, requires_grad=True)
    batch = torch.arange(3).repeat_interleave(7)
    fast = equal_block_instance_norm(h, 3)
    plain = InstanceNorm(5)(h, batch, 3)
    torch.testing.assert_close(fast, plain, rtol=1e-12, atol=1e-12)
    weights = torch.randn(21, 5, dtype=torch.float64)
    fast_grad, = torch.autograd.grad((fast * weights).sum(), h)
    plain_grad, = torch.autograd.grad((plain * weights).sum(), h)
    torch.testing.assert_close(fast_grad, plain_grad, rtol=1e-10, atol=1e-10)


def test_prebuilt_edges_give_the_same_output():
    data = sample()
    model = tiny()
    edges = TargetSortedEdges.from_edge_index(data.edge_index, 12)
    assert torch.equal(model(data.x, data.pos, data.time, data.params, edges),
                       model(data.x, data.pos, data.time, data.params, data.edge_index))
    with pytest.raises(ValueError, match="edges are of a graph of 12 nodes, u has 6"):
        model(data.x[:6], data.pos[:6], data.time, data.params, edges)


def test_batched_graphs_equal_separate_graphs():
    model = tiny().eval()
    graphs = [sample(n=12, seed=0), sample(n=8, seed=1)]
    batch = Batch.from_data_list(graphs)
    together = model(batch.x, batch.pos, batch.time, batch.params, batch.edge_index, batch.batch)
    apart = torch.cat([model(g.x, g.pos, g.time, g.params, g.edge_index) for g in graphs])
    assert torch.allclose(together, apart, atol=1e-5)


def test_advance_moves_time_by_one_bundle():
    data = sample()
    stepped = tiny().advance(data)
    assert stepped.x.shape == (12, 4)
    assert torch.allclose(stepped.time, torch.tensor([0.9]))
    assert stepped.edge_index is data.edge_index


def test_without_parameters_and_bad_shapes():
    data = sample(num_params=0)
    model = tiny(num_params=0)
    assert model(data.x, data.pos, data.time, None, data.edge_index).shape == (12, 4)
    with pytest.raises(ValueError, match=r"u must have shape \(N, 4\)"):
        model(data.x[:, :3], data.pos, data.time, None, data.edge_index)
    with pytest.raises(ValueError, match="expected 0 PDE parameters, got 2"):
        model(data.x, data.pos, data.time, torch.ones(1, 2), data.edge_index)
    with pytest.raises(ValueError, match="time must have one row per node"):
        model(data.x, data.pos, torch.ones(5), None, data.edge_index)


def test_decoder_as_banded_matrices_equals_its_convolutions():
    model = tiny(tw=4).double()
    h = torch.randn(7, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    first, activation, second = model.decoder
    convolved = model.decoder(h.unsqueeze(1)).squeeze(1)
    banded = banded_conv(activation(banded_conv(h, first, model._band1)), second, model._band2)
    torch.testing.assert_close(banded, convolved, rtol=1e-12, atol=1e-12)
    assert "_band1" not in model.state_dict()
