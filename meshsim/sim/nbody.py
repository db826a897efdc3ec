"""N-body simulators: charged particles (Coulomb) and gravity, vectorised over particles and systems.

The charged system is the benchmark of the equivariant-GNN papers (EGNN, Satorras et al. 2021; SEGNO,
Liu et al. 2024): 5 particles in 3D with charges +-1, unit masses, Coulomb forces, time step 0.001, a frame
every 100 steps, initial positions N(0, 1) per coordinate and speed 0.5 in a uniformly random direction.
As in the original generator, each component of the net force on a particle is clipped to +-``max_force``
(0.1 / dt = 100); a step where that happens is counted in ``clip_events`` because clipping breaks the
conservation of momentum and energy. There are no walls.

Units are arbitrary and consistent (Coulomb constant = ``strength``, gravitational constant = ``G``).
Integration is velocity Verlet, so the saved positions and velocities refer to the same instant; the
pairwise forces are computed antisymmetrically, so momentum is conserved to rounding when nothing is clipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: net-force clip of the published charged-system generator (0.1 / dt for dt = 0.001)
CHARGED_MAX_FORCE = 100.0


@dataclass(frozen=True)
class NBodyTrajectory:
    """Saved frames of a batch of independent N-body systems.

    Attributes:
        pos: (S, T, N, dim) float64 positions at frames ``0, every, 2 every, ...`` steps.
        vel: (S, T, N, dim) float64 velocities at the same instants.
        params: (S, N) float64 per-particle charges (charged system) or masses (gravity).
        time: (T,) float64 frame times (steps * dt).
        clip_events: (S,) int64 number of force evaluations (one per step) that were clipped;
            0 means the exact dynamics.
    """

    pos: np.ndarray
    vel: np.ndarray
    params: np.ndarray
    time: np.ndarray
    clip_events: np.ndarray

    @property
    def num_systems(self) -> int:
        return self.pos.shape[0]


def _pair_vectors(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, N, dim) positions -> differences x_i - x_j (S, N, N, dim) and squared distances (S, N, N)."""
    diff = pos[:, :, None, :] - pos[:, None, :, :]
    return diff, np.einsum("sijd,sijd->sij", diff, diff)


def _coulomb(charges: np.ndarray, strength: float) -> Callable[[np.ndarray], np.ndarray]:
    """Coulomb force function of fixed charges (S, N), with the charge products computed once."""
    products = strength * charges[:, :, None] * charges[:, None, :]
    diagonal = np.eye(charges.shape[1], dtype=bool)

    def force(pos: np.ndarray) -> np.ndarray:
        diff, dist2 = _pair_vectors(pos)
        dist2[:, diagonal] = np.inf  # no self-force, no 0/0
        return np.einsum("sij,sijd->sid", products / (dist2 * np.sqrt(dist2)), diff)

    return force


def coulomb_forces(pos: np.ndarray, charges: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Coulomb forces F_i = strength * sum_{j != i} q_i q_j (x_i - x_j) / |x_i - x_j|^3.

    Args:
        pos: (S, N, dim) positions.
        charges: (S, N) charges.
    Returns:
        (S, N, dim) net force on each particle (like charges repel).
    """
    return _coulomb(charges, strength)(pos)


def gravity_forces(pos: np.ndarray, masses: np.ndarray, G: float = 1.0, softening: float = 0.1) -> np.ndarray:
    """Softened gravity F_i = -G m_i sum_{j != i} m_j (x_i - x_j) / (|x_i - x_j|^2 + softening^2)^(3/2).

    Args:
        pos: (S, N, dim) positions.
        masses: (S, N) masses.
    Returns:
        (S, N, dim) net force on each particle.
    """
    diff, dist2 = _pair_vectors(pos)
    soft2 = dist2 + softening**2
    coef = -G * masses[:, :, None] * masses[:, None, :] / (soft2 * np.sqrt(soft2))
    return np.einsum("sij,sijd->sid", coef, diff)  # the diagonal has diff = 0


def charged_energy(pos: np.ndarray, vel: np.ndarray, charges: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Total energy 0.5 sum_i |v_i|^2 + strength sum_{i<j} q_i q_j / |x_i - x_j| (unit masses).

    Args:
        pos, vel: (..., N, dim) with the same leading shape.
        charges: (..., N) broadcastable against ``pos[..., 0]``.
    Returns:
        (...) energy per system and frame.
    """
    diff = pos[..., :, None, :] - pos[..., None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    n = pos.shape[-2]
    dist = dist + np.where(np.eye(n, dtype=bool), np.inf, 0.0)
    q = np.broadcast_to(charges, pos.shape[:-1])
    potential = 0.5 * strength * (q[..., :, None] * q[..., None, :] / dist).sum((-1, -2))
    return 0.5 * (vel**2).sum((-1, -2)) + potential


def gravity_energy(pos: np.ndarray, vel: np.ndarray, masses: np.ndarray, G: float = 1.0,
                   softening: float = 0.1) -> np.ndarray:
    """Total energy 0.5 sum_i m_i |v_i|^2 - G sum_{i<j} m_i m_j / sqrt(|x_i - x_j|^2 + softening^2).

    Shapes as in `charged_energy`, with ``masses`` in place of charges.
    """
    diff = pos[..., :, None, :] - pos[..., None, :, :]
    soft = np.sqrt((diff**2).sum(-1) + softening**2)
    n = pos.shape[-2]
    m = np.broadcast_to(masses, pos.shape[:-1])
    pair = np.where(np.eye(n, dtype=bool), 0.0, m[..., :, None] * m[..., None, :] / soft)
    return 0.5 * (m * (vel**2).sum(-1)).sum(-1) - 0.5 * G * pair.sum((-1, -2))


def integrate(pos: np.ndarray, vel: np.ndarray, masses: np.ndarray,
              force: Callable[[np.ndarray], np.ndarray], *, dt: float, steps: int, every: int,
              max_force: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Velocity-Verlet integration of a batch of systems, saving a frame every ``every`` steps.

    Args:
        pos, vel: (S, N, dim) initial state.
        masses: (S, N) particle masses.
        force: positions (S, N, dim) -> forces (S, N, dim).
        dt: time step; steps: number of steps (a multiple of ``every``).
        max_force: clip each force component to +-max_force (None: no clipping).
    Returns:
        positions and velocities (S, steps // every + 1, N, dim) (frame 0 is the initial state) and
        clip_events (S,) int64, the number of force evaluations in which a component was clipped.
    """
    if steps < 0 or every <= 0 or steps % every:
        raise ValueError(f"steps ({steps}) must be a non-negative multiple of every ({every})")
    if dt <= 0:
        raise ValueError(f"dt must be positive, got {dt}")
    num_frames = steps // every + 1
    shape = (pos.shape[0], num_frames) + pos.shape[1:]
    pos_frames, vel_frames = np.empty(shape), np.empty(shape)
    clip_events = np.zeros(pos.shape[0], dtype=np.int64)
    inv_mass = 1.0 / masses[:, :, None]

    def acceleration(x):
        f = force(x)
        if max_force is not None:
            clipped = np.abs(f) > max_force
            clip_events[:] += clipped.any(axis=(1, 2))
            f = np.clip(f, -max_force, max_force)
        return f * inv_mass

    x, v = np.array(pos, dtype=np.float64), np.array(vel, dtype=np.float64)
    pos_frames[:, 0], vel_frames[:, 0] = x, v
    a = acceleration(x)
    for step in range(1, steps + 1):
        v = v + 0.5 * dt * a
        x = x + dt * v
        a = acceleration(x)
        v = v + 0.5 * dt * a
        if step % every == 0:
            pos_frames[:, step // every], vel_frames[:, step // every] = x, v
    return pos_frames, vel_frames, clip_events


def _initial_state(rng: np.random.Generator, num_systems: int, num_particles: int, dim: int,
                   loc_std: float, speed: float) -> tuple[np.ndarray, np.ndarray]:
    if num_systems < 1 or num_particles < 2 or dim < 1:
        raise ValueError(f"need num_systems >= 1, num_particles >= 2 and dim >= 1, got "
                         f"{num_systems}, {num_particles}, {dim}")
    pos = rng.normal(0.0, loc_std, size=(num_systems, num_particles, dim))
    direction = rng.normal(size=(num_systems, num_particles, dim))
    vel = speed * direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    return pos, vel


def charged_system(num_systems: int, *, num_particles: int = 5, dim: int = 3, steps: int = 5000,
                   every: int = 100, dt: float = 1e-3, loc_std: float = 1.0, speed: float = 0.5,
                   strength: float = 1.0, max_force: float | None = CHARGED_MAX_FORCE,
                   seed: int | np.random.Generator = 0) -> NBodyTrajectory:
    """Simulate ``num_systems`` charged-particle systems (the EGNN/SEGNO N-body benchmark).

    Charges are +1 or -1 with probability 1/2 each, masses 1. Positions start N(0, loc_std^2) per
    coordinate, velocities have norm ``speed`` in a uniformly random direction.
    Returns an `NBodyTrajectory` with ``params`` the charges.
    """
    rng = np.random.default_rng(seed)
    pos, vel = _initial_state(rng, num_systems, num_particles, dim, loc_std, speed)
    charges = rng.choice(np.array([-1.0, 1.0]), size=(num_systems, num_particles))
    pos_f, vel_f, clips = integrate(pos, vel, np.ones_like(charges),
                                    _coulomb(charges, strength),
                                    dt=dt, steps=steps, every=every, max_force=max_force)
    return NBodyTrajectory(pos_f, vel_f, charges, dt * every * np.arange(pos_f.shape[1]), clips)


def gravity_system(num_systems: int, *, num_particles: int = 5, dim: int = 3, steps: int = 5000,
                   every: int = 100, dt: float = 1e-3, loc_std: float = 1.0, speed: float = 0.5,
                   G: float = 1.0, softening: float = 0.1, max_force: float | None = None,
                   seed: int | np.random.Generator = 0) -> NBodyTrajectory:
    """Simulate ``num_systems`` self-gravitating systems of unit masses with softened gravity.

    Initial state as in `charged_system`, then the centre-of-mass velocity is removed so the
    system does not drift. Returns an `NBodyTrajectory` with ``params`` the masses.
    """
    rng = np.random.default_rng(seed)
    pos, vel = _initial_state(rng, num_systems, num_particles, dim, loc_std, speed)
    masses = np.ones((num_systems, num_particles))
    vel = vel - (masses[:, :, None] * vel).sum(1, keepdims=True) / masses.sum(1)[:, None, None]
    pos_f, vel_f, clips = integrate(pos, vel, masses, lambda x: gravity_forces(x, masses, G, softening),
                                    dt=dt, steps=steps, every=every, max_force=max_force)
    return NBodyTrajectory(pos_f, vel_f, masses, dt * every * np.arange(pos_f.shape[1]), clips)
