"""GNS features, GIOROM's neural-operator layers and the dense decoder."""
import numpy as np
import pytest
import torch

from meshsim.graph import nearest_neighbours, radius_graph
from meshsim.nn import (FNO2d, GIOROM, GNS, DenseDecoder, ParticleFeatures, ParticleStatistics, SpectralConv2d,
                        grid_nodes, grid_pairs)

STATS = ParticleStatistics(vel_mean=[1e-3, -2e-3], vel_std=[4e-3, 3e-3], acc_mean=[0.0, -1e-4], acc_std=[5e-4, 6e-4],
                           bounds=[[0.1, 0.9], [0.1, 0.9]], radius=0.05)


def _history(n=50, seed=0):
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.2, 0.8, (n, 1, 2))
    steps = np.cumsum(rng.normal(0, 3e-3, (n, 6, 2)), 1)
    return torch.tensor(start + steps, dtype=torch.float32)


def test_gns_features_follow_the_paper():
    features = ParticleFeatures(STATS, noise_std=3e-3)
    positions = _history()
    nodes = features.node_features(positions, torch.zeros(50, dtype=torch.long))
    assert nodes.shape == (50, 5 * 2 + 4 + 16)
    velocity = positions[:, 1:] - positions[:, :-1]
    std = torch.tensor([5e-3, np.hypot(3e-3, 3e-3)], dtype=torch.float32)  # sqrt(std^2 + noise^2)
    assert torch.allclose(nodes[:, :10], ((velocity - torch.tensor([1e-3, -2e-3])) / std).flatten(1), atol=1e-5)
    walls = nodes[:, 10:14]
    assert walls.abs().max() <= 1.0 and (walls == 1.0).any()  # clipped at 1 far from the walls
    near = positions[:, -1, 0] - 0.1 < 0.05
    assert torch.allclose(walls[near, 0], (positions[near, -1, 0] - 0.1) / 0.05)
    edges = torch.from_numpy(radius_graph(positions[:, -1].numpy(), 0.05))
    edge_features = features.edge_features(positions, edges)
    assert edge_features[:, 2].max() < 1.0 and torch.allclose(edge_features[:, 2], edge_features[:, :2].norm(dim=1))
    # the integration inverts the target: next_position(normalised_acceleration(x_next)) = x_next
    target = positions[:, -1] + 2e-3
    assert torch.allclose(features.next_position(positions, features.normalised_acceleration(positions, target)),
                          target, atol=1e-6)


@pytest.mark.parametrize("model", ["gns", "giorom"])
def test_models_give_one_acceleration_per_particle(model):
    torch.manual_seed(0)
    net = (GNS(STATS, latent_dim=16, num_steps=2) if model == "gns" else
           GIOROM(STATS, latent_dim=16, num_steps=1, grid_size=16, grid_width=8, fno_modes=4, fno_layers=2))
    positions = _history()
    edges = torch.from_numpy(radius_graph(positions[:, -1].numpy(), 0.05))
    out = net(positions, torch.zeros(50, dtype=torch.long), edges)
    assert out.shape == (50, 2) and torch.isfinite(out).all()
    # two copies of the cloud in one batch give the same outputs as one (graphs stay separate)
    batch = torch.cat([torch.zeros(50), torch.ones(50)]).long()
    doubled = net(torch.cat([positions, positions]), torch.zeros(100, dtype=torch.long),
                  torch.cat([edges, edges + 50], 1), batch)
    assert torch.allclose(doubled[:50], out, atol=1e-5) and torch.allclose(doubled[50:], out, atol=1e-5)
    with pytest.raises(ValueError, match="positions must have shape"):
        net(positions[:, :3], torch.zeros(50, dtype=torch.long), edges)


def test_grid_pairs_equal_brute_force():
    points = torch.rand(300, 2, dtype=torch.float64)
    lower, upper = torch.tensor([0.0, 0.0], dtype=torch.float64), torch.tensor([1.0, 1.0], dtype=torch.float64)
    point, node, relative = grid_pairs(points, 16, lower, upper, 0.11)
    nodes = grid_nodes(16, lower, upper).double()
    distance = torch.cdist(points, nodes)
    expected = set(map(tuple, torch.nonzero(distance < 0.11).tolist()))
    assert set(zip(point.tolist(), node.tolist())) == expected and len(point) == len(expected)
    assert torch.allclose(relative, (points[point] - nodes[node]) / 0.11)


def test_spectral_convolution_commutes_with_periodic_shifts():
    torch.manual_seed(0)
    layer = SpectralConv2d(3, 4, modes=5)
    x = torch.randn(2, 3, 16, 16)
    shifted = torch.roll(x, shifts=(3, -5), dims=(2, 3))
    assert torch.allclose(layer(shifted), torch.roll(layer(x), shifts=(3, -5), dims=(2, 3)), atol=1e-5)
    # it keeps only the lowest modes: a pure high-frequency input is annihilated
    j = torch.arange(16.0)
    high = torch.cos(2 * np.pi * 7 * j / 16)[None, None, :, None].expand(1, 3, 16, 16)
    assert layer(high).abs().max() < 1e-5
    assert FNO2d(3, 2, width=8, modes=4, num_layers=2)(x).shape == (2, 2, 16, 16)


def _smooth_field_sample(rng, num_sources=150, num_queries=300):
    sources = rng.uniform(size=(num_sources, 2))
    queries = rng.uniform(0.05, 0.95, size=(num_queries, 2))
    k, phase, amplitude = rng.normal(0, 4, (3, 2)), rng.uniform(0, 2 * np.pi, 3), rng.normal(0, 1, (3, 2))
    field = lambda p: np.sin(p @ k.T + phase) @ amplitude  # noqa: E731
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return (as_tensor(queries), as_tensor(sources), as_tensor(field(sources)),
            torch.from_numpy(nearest_neighbours(sources, queries, 8)), as_tensor(field(queries)))


def _relative_error(decoder, samples):
    with torch.no_grad():
        return np.mean([float(((decoder(q, s, u, nb, 1.0) - t) ** 2).sum() / (t ** 2).sum()) for q, s, u, nb, t in samples])


def test_dense_decoder_reproduces_a_smooth_field_at_unseen_points():
    torch.manual_seed(0)
    decoder = DenseDecoder(2, hidden=32)
    # an untrained decoder is moving least squares: exact on linear fields but for the small ridge
    q, s, _, nb, _ = _smooth_field_sample(np.random.default_rng(1))
    linear = lambda p: p @ torch.tensor([[1.0, -2.0], [0.5, 3.0]]) + 0.25  # noqa: E731
    assert torch.allclose(decoder(q, s, linear(s), nb, 1.0), linear(q), atol=1e-3)
    rng = np.random.default_rng(0)
    optimiser = torch.optim.Adam(decoder.parameters(), lr=1e-3)
    for _ in range(150):
        q, s, u, nb, truth = _smooth_field_sample(rng)
        loss = ((decoder(q, s, u, nb, 1.0) - truth) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    unseen = [_smooth_field_sample(np.random.default_rng(100 + i)) for i in range(5)]
    nearest = np.mean([float(((u[nb[:, 0]] - t) ** 2).sum() / (t ** 2).sum()) for _, _, u, nb, t in unseen])
    error = _relative_error(decoder, unseen)
    assert error < 0.5 * nearest and error < 0.02
    # discretisation invariance: four times denser sources, never seen in training, give a smaller error
    denser = [_smooth_field_sample(np.random.default_rng(200 + i), num_sources=600) for i in range(5)]
    assert _relative_error(decoder, denser) < 0.2 * error
