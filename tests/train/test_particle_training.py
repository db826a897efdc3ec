"""GNS and GIOROM overfit a short MPM trajectory (in memory); noise, windows and metrics."""
import numpy as np
import pytest
import torch

from meshsim.nn import GIOROM, GNS
from meshsim.sim import MPMConfig, ParticleState, block, simulate
from meshsim.train.loop import TrainConfig, train
from meshsim.train.particle_data import (ParticleLoss, ParticleTrajectory, ParticleWindows, particle_statistics,
                                         random_walk_noise, sparse_radius)
from meshsim.train.particle_rollout import giorom_rollout, gns_rollout, rollout_mse

RADIUS = 2.5 / 64  # 2.5 particle spacings on a 32^2 grid
BOUNDS = [[3 / 32, 29 / 32]] * 2


@pytest.fixture(scope="module")
def splash():
    """~250 water particles thrown at the floor: 30 frames of 4 ms."""
    config = MPMConfig(n_grid=32)
    start = ParticleState.at_rest(block((0.3, 0.12), (0.3, 0.2), config, np.random.default_rng(0)), "water",
                                  v=(1.0, -2.0))
    run = simulate(start, config, num_frames=30, substeps_per_frame=40)
    return ParticleTrajectory(run.positions.astype(np.float32), run.material)


def test_random_walk_noise_has_the_gns_statistics():
    noise = random_walk_noise(torch.Size((20000, 6, 2)), 3e-4, torch.Generator().manual_seed(0))
    assert (noise[:, 0] == 0).all()
    velocity_noise = noise[:, 1:] - noise[:, :-1]
    # the velocity noise is a random walk: std of the last velocity = noise_std
    assert velocity_noise[:, -1].std().item() == pytest.approx(3e-4, rel=0.02)
    assert velocity_noise[:, 0].std().item() == pytest.approx(3e-4 / np.sqrt(5), rel=0.02)


def test_windows_and_sparse_subsets(splash):
    windows = ParticleWindows([splash], RADIUS, fraction=0.25, num_queries=64)
    assert len(windows) == 31 - 6
    item = windows[3]
    n = splash.positions.shape[1]
    assert item.num_nodes == round(0.25 * n) and item.pos_seq.shape == (item.num_nodes, 6, 2)
    assert item.query_neighbours.shape == (64, 8) and int(item.query_neighbours.max()) < item.num_nodes
    distances = (item.pos_seq[item.edge_index[0], -1] - item.pos_seq[item.edge_index[1], -1]).norm(dim=1)
    assert distances.max() < sparse_radius(RADIUS, 0.25) == pytest.approx(2 * RADIUS)
    # the window is frames 6 .. 11 of the trajectory (index 3 -> last input frame 8)
    assert torch.equal(windows[3].pos_seq, ParticleWindows([splash], RADIUS, fraction=0.25, num_queries=64)[3].pos_seq)


def _constant_velocity(positions, steps):
    return np.stack([positions[5] + (k + 1) * (positions[5] - positions[4]) for k in range(steps)])


@pytest.mark.parametrize("kind", ["gns", "giorom"])
def test_tiny_model_overfits_a_short_trajectory(splash, kind):
    statistics = particle_statistics([splash], BOUNDS, RADIUS)
    torch.manual_seed(0)
    if kind == "gns":
        model, windows = GNS(statistics, latent_dim=32, num_steps=3, num_hidden_layers=1), ParticleWindows([splash], RADIUS)
    else:
        model = GIOROM(statistics, latent_dim=32, num_steps=1, num_hidden_layers=1, grid_size=16, grid_width=16,
                       fno_modes=6, fno_layers=2)
        windows = ParticleWindows([splash], RADIUS, fraction=0.25, num_queries=256)
    result = train(model, ParticleLoss(noise_std=0.0), windows,
                   TrainConfig(steps=120, batch_size=2, lr=1e-3, lr_final=1e-4, progress=False))
    assert np.mean(result.losses[-10:]) < 0.5 * np.mean(result.losses[:10])
    if kind == "gns":
        rollout = gns_rollout(model, splash.positions, splash.particle_type, RADIUS, steps=10)
    else:
        rollout = giorom_rollout(model, splash.positions, splash.particle_type, RADIUS, 0.25, steps=10)
        assert len(rollout.sparse) == round(0.25 * splash.positions.shape[1])
    assert rollout.prediction.shape == rollout.truth.shape == (10, splash.positions.shape[1], 2)
    baseline = rollout_mse(_constant_velocity(splash.positions, 10), rollout.truth, (5,))
    assert rollout_mse(rollout.prediction, rollout.truth, (5,))["mse5"] < 0.5 * baseline["mse5"]


def test_rollout_mse_is_lagrangebench_s():
    truth = np.zeros((20, 3, 2))
    prediction = truth + np.arange(1, 21)[:, None, None] * 0.1
    metrics = rollout_mse(prediction, truth)
    assert metrics["mse5"] == pytest.approx(np.mean((0.1 * np.arange(1, 6)) ** 2))
    assert metrics["mse20"] == metrics["mse_full"] == pytest.approx(np.mean((0.1 * np.arange(1, 21)) ** 2))
