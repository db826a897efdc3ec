"""2D MLS-MPM: the numba and numpy backends agree; transfers conserve mass and momentum; free fall;
water comes to rest level."""
import numpy as np
import pytest

from meshsim.sim import MPMConfig, ParticleState, advance, block, simulate
from meshsim.sim import mpm_numpy
from meshsim.sim.mpm_numpy import svd2


def _state(material, config, seed=0, lower=(0.35, 0.4), size=(0.2, 0.15)):
    rng = np.random.default_rng(seed)
    state = ParticleState.at_rest(block(lower, size, config, rng), material, v=(0.7, -1.3))
    # random affine velocities and deformations: every branch of the return mappings (snow
    # clamping, sand's cone and tip) is reached from the first substep
    state.C[:] = rng.normal(0.0, 8.0, state.C.shape)
    state.F[:] += rng.normal(0.0, 0.05, state.F.shape)
    return state


def test_closed_form_svd_reconstructs_and_matches_numpy():
    F = np.random.default_rng(1).normal(size=(500, 2, 2))
    u, v, sig = svd2(F)
    rebuilt = mpm_numpy._compose(u, sig, v)
    assert np.abs(rebuilt - F).max() < 1e-12
    assert np.allclose(np.sort(np.abs(sig), 1), np.sort(np.linalg.svd(F, compute_uv=False), 1), atol=1e-12)


@pytest.mark.parametrize("material", ["water", "jelly", "snow", "sand"])
def test_numba_backend_equals_numpy_backend(material):
    config = MPMConfig(n_grid=64)
    state = _state(material, config)
    a = advance(state, MPMConfig(n_grid=64, backend="numpy"), 30)
    b = advance(state, MPMConfig(n_grid=64, backend="numba"), 30)
    for name in ("x", "v", "C", "F", "Jp"):
        assert np.abs(getattr(a, name) - getattr(b, name)).max() < 1e-9, name
    assert np.abs(a.x - state.x).max() > 1e-3  # the particles did move
    if material == "snow":
        assert np.abs(a.Jp - 1).max() > 1e-3  # plastic flow happened


@pytest.mark.parametrize("material", ["water", "jelly", "snow", "sand"])
def test_transfers_conserve_mass_and_momentum(material):
    config = MPMConfig(n_grid=64, gravity=(0.0, 0.0), wall_cells=0)
    state = _state(material, config)
    mu0, la0 = config.lame
    F = state.F + config.dt * state.C @ state.F
    _, _, stress = mpm_numpy.constitutive(F, state.Jp, state.material, mu0, la0, config.alpha)
    grid_m, grid_p = mpm_numpy.particle_to_grid(state.x, state.v, state.C, stress, config.p_mass, config.p_vol,
                                                config.dt, config.n_grid)
    momentum = config.p_mass * state.v.sum(0)
    assert grid_m.sum() == pytest.approx(config.p_mass * state.num_particles, rel=1e-13)
    assert np.abs(grid_p.sum((0, 1)) - momentum).max() < 1e-13 * config.p_mass * state.num_particles
    # grid to particles: sum_p m v_p = sum_i m_i v_i
    grid_v = mpm_numpy.grid_velocity(grid_m, grid_p, config.dt, config.gravity, 0, True)
    _, v, _ = mpm_numpy.grid_to_particle(state.x, grid_v, config.dt)
    assert np.abs(config.p_mass * v.sum(0) - momentum).max() < 1e-12 * config.p_mass * state.num_particles
    # and over many full substeps (numba), elastic forces included
    later = advance(state, config, 200)
    assert np.abs(config.p_mass * later.v.sum(0) - momentum).max() < 1e-11 * config.p_mass * state.num_particles


def test_falling_block_follows_free_fall_before_impact():
    config = MPMConfig(n_grid=64, gravity=(0.0, -9.8))
    state = ParticleState.at_rest(block((0.4, 0.6), (0.15, 0.1), config), "jelly")
    trajectory = simulate(state, config, num_frames=10, substeps_per_frame=100)  # 0.1 s: falls 0.049
    t = trajectory.times
    drop = trajectory.positions[:, :, 1].mean(1) - trajectory.positions[0, :, 1].mean()
    # symplectic Euler on the grid: drop = -g dt^2 n (n + 1) / 2 = -g t^2 / 2 - g t dt / 2
    assert np.abs(drop + 0.5 * 9.8 * t**2).max() <= 9.8 * t[-1] * config.dt
    assert np.abs(trajectory.positions[:, :, 0].mean(1) - trajectory.positions[0, :, 0].mean()).max() < 1e-12


def test_water_comes_to_rest_level():
    config = MPMConfig(n_grid=32, dt=2e-4)
    state = ParticleState.at_rest(block((3 / 32, 3 / 32), (0.4, 0.25), config), "water")
    final = advance(state, config, 30_000)  # 6 s: the block collapses, sloshes and settles
    speed = np.sqrt((final.v**2).sum(1).mean())
    columns = np.floor(final.x[:, 0] * 16).astype(int)
    tops = np.array([final.x[columns == c, 1].max() for c in np.unique(columns)])
    assert speed < 0.01  # the collapse reaches about 1 length unit / s
    assert np.ptp(tops) < config.dx  # level to within one cell
    assert len(tops) >= 12  # spread over the whole floor (28 cells inside the walls)


def test_bad_inputs_are_named():
    config = MPMConfig()
    with pytest.raises(ValueError, match="particle 1 at"):
        advance(ParticleState.at_rest([[0.5, 0.5], [1.2, 0.5]], "water"), config)
    with pytest.raises(ValueError, match="unknown material 'mud'"):
        ParticleState.at_rest([[0.5, 0.5]], "mud")
    with pytest.raises(ValueError, match="boundary"):
        MPMConfig(boundary="glue")
