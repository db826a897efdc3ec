import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing

from meshsim.nn import MPPDE, TargetSortedEdges
from meshsim.nn.mp_pde import _decoder_sizes


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
    """Reference for one MP-PDE layer: concatenate (h_i, h_j, u_i - u_j, x_i - x_j, params_i)."""

    def __init__(self, layer):
        super().__init__(aggr="mean")
        self.layer = layer

    def forward(self, h, u, pos, params, edge_index, batch):
        received = self.propagate(edge_index, h=h, u=u, pos=pos, params=params)
        update = self.layer.activation(self.layer.update_mlp(torch.cat([h, received, params], -1)))
        return self.layer.norm(h + update, batch)

    def message(self, h_i, h_j, u_i, u_j, pos_i, pos_j, params_i):
        cat = torch.cat([h_i, h_j, u_i - u_j, pos_i - pos_j, params_i], -1)
        return self.layer.activation(self.layer.message_mlp(cat))


def test_layer_equals_naive_message_passing():
    data = sample(n=10)
    model = tiny()
    layer = model.layers[0]
    generator = torch.Generator().manual_seed(3)
    h = torch.randn(10, 32, generator=generator)
    params = data.params.expand(10, -1)
    batch = torch.zeros(10, dtype=torch.long)
    edges = TargetSortedEdges.from_edge_index(data.edge_index, 10)
    ours = layer(h, data.x, data.pos, params, edges, batch, 1)
    naive = NaiveLayer(layer)(h, data.x, data.pos, params, data.edge_index, batch)
    assert torch.allclose(ours, naive, atol=1e-5)


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
