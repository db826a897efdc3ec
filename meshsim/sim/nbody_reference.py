"""The charged N-body data on the EGNN/SEGNO reference protocol.

The EGNN paper's generator (its ``n_body_system/dataset``, also used by SEGNO; ``nbody_small``:
seed 43, 10,000 train, 2,000 valid, 2,000 test systems generated in that order, of which the first
3,000 train systems are used) differs from `meshsim.sim.charged_system` in three conventions,
which this module reproduces:

- **integrator**: kick-drift (symplectic Euler) with a full first kick: ``v += dt F(x_0)``, then per
  step ``x += dt v; v += dt F(x)``, forces clipped componentwise to +-0.1 / dt, as in `integrate`;
- **frame numbering**: frame k holds step ``(k + 1) * every`` (the initial state is not stored):
  the benchmark's frames 30 -> 40 are steps 3,100 -> 4,100 (``charged_system``'s frame 30 is step
  3,000);
- **stored velocity**: the velocity of the drift that produced the stored positions, i.e. before
  the kick at that step (``v(t) - dt F(x(t))`` in terms of the kick-drift state), not v(t).

With a legacy ``np.random.RandomState(seed)`` the initial states are drawn exactly as the reference
draws them (charges from three types with probabilities 1/2, 0, 1/2, positions N(0, 1), speed 0.5
in a random direction, a reflection into the box [-5, 5]^3 at the start, then two blocks of
observation noise of zero variance that still consume the random stream), so
`reference_charged_splits` gives the published splits up to floating-point rounding in the force
sums (close encounters amplify rounding, so rare systems drift apart late in a trajectory).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .nbody import CHARGED_MAX_FORCE, NBodyTrajectory, _coulomb

#: seed and split sizes of the reference ``nbody_small`` charged dataset, in generation order
REFERENCE_SEED = 43
REFERENCE_SPLITS = {"train": 10_000, "valid": 2_000, "test": 2_000}
#: systems of each split the EGNN and SEGNO papers use (the first ones generated)
REFERENCE_USED = {"train": 3_000, "valid": 2_000, "test": 2_000}
#: trajectory length (steps) and frame spacing of the reference generator: 49 stored frames
REFERENCE_LENGTH, REFERENCE_EVERY = 5000, 100
#: half-width of the box the reference reflects initial positions into
REFERENCE_BOX = 5.0
#: meshsim's large test set on this protocol: 10,000 systems from their own RandomState(2024), so a
#: test MSE no longer depends on which 2,000 systems were drawn
LARGE_TEST_SEED, LARGE_TEST_SYSTEMS = 2024, 10_000


def reference_initial_states(rng: np.random.RandomState | np.random.Generator, num_systems: int, *,
                             num_particles: int = 5, dim: int = 3, loc_std: float = 1.0, speed: float = 0.5,
                             length: int = REFERENCE_LENGTH, every: int = REFERENCE_EVERY
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial positions, velocities (S, N, dim) and charges (S, N) of ``num_systems`` systems,
    drawn one system after another in the reference generator's order (see the module docstring);
    each system also consumes the two noise blocks of ``length / every - 1`` frames."""
    frames = length // every - 1
    pos = np.empty((num_systems, num_particles, dim))
    vel = np.empty_like(pos)
    charges = np.empty((num_systems, num_particles))
    for s in range(num_systems):
        q = rng.choice(np.array([-1.0, 0.0, 1.0]), size=(num_particles, 1), p=[0.5, 0.0, 0.5])
        x = rng.standard_normal((dim, num_particles)) * loc_std
        v = rng.standard_normal((dim, num_particles))
        v = v * speed / np.sqrt((v ** 2).sum(axis=0))
        rng.standard_normal((frames, dim, num_particles))  # zero-variance noise on the stored positions
        rng.standard_normal((frames, dim, num_particles))  # and velocities: values unused
        pos[s], vel[s], charges[s] = x.T, v.T, q[:, 0]
    pos, vel = _reflect_into_box(pos, vel)
    return pos, vel, charges


def _reflect_into_box(pos: np.ndarray, vel: np.ndarray, box: float = REFERENCE_BOX):
    """The reference's start-up wall: coordinates beyond +-box are mirrored back inside and their
    velocity component turned inwards (at N(0, 1) positions this almost never happens)."""
    pos, vel = pos.copy(), vel.copy()
    over, under = pos > box, pos < -box
    pos[over], vel[over] = 2 * box - pos[over], -np.abs(vel[over])
    pos[under], vel[under] = -2 * box - pos[under], np.abs(vel[under])
    return pos, vel


def integrate_kick_drift(pos: np.ndarray, vel: np.ndarray, force: Callable[[np.ndarray], np.ndarray], *,
                         dt: float, steps: int, every: int, max_force: float | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kick-drift integration of unit-mass systems, the reference generator's scheme.

    Args:
        pos, vel: (S, N, dim) initial state.
        force: positions (S, N, dim) -> forces (S, N, dim).
        dt: time step; steps: number of drifts (a multiple of ``every``).
        max_force: clip each force component to +-max_force (None: no clipping).
    Returns:
        positions and velocities (S, steps // every, N, dim) at steps every, 2 every, ..., steps
        (velocity = the drift velocity that produced the position), and clip_events (S,).
    """
    if steps < every or every <= 0 or steps % every:
        raise ValueError(f"steps ({steps}) must be a positive multiple of every ({every})")
    if dt <= 0:
        raise ValueError(f"dt must be positive, got {dt}")
    shape = (pos.shape[0], steps // every) + pos.shape[1:]
    pos_frames, vel_frames = np.empty(shape), np.empty(shape)
    clip_events = np.zeros(pos.shape[0], dtype=np.int64)

    def kick(x, v):
        f = force(x)
        if max_force is not None:
            clip_events[:] += (np.abs(f) > max_force).any(axis=(1, 2))
            f = np.clip(f, -max_force, max_force)
        return v + dt * f

    x, v = np.array(pos, dtype=np.float64), np.array(vel, dtype=np.float64)
    v = kick(x, v)
    for step in range(1, steps + 1):
        x = x + dt * v
        if step % every == 0:
            pos_frames[:, step // every - 1], vel_frames[:, step // every - 1] = x, v
        v = kick(x, v)
    return pos_frames, vel_frames, clip_events


def reference_charged_system(num_systems: int, *, seed: int | np.random.RandomState | np.random.Generator,
                             num_particles: int = 5, dim: int = 3, steps: int = 4100,
                             every: int = REFERENCE_EVERY, dt: float = 1e-3, loc_std: float = 1.0,
                             speed: float = 0.5, strength: float = 1.0,
                             max_force: float | None = CHARGED_MAX_FORCE,
                             length: int = REFERENCE_LENGTH) -> NBodyTrajectory:
    """``num_systems`` charged systems on the reference protocol, frames 0 .. steps / every - 1
    (frame k at step (k + 1) every; the default 4,100 steps reach the benchmark's frame 40).

    ``seed``: an int makes a fresh ``RandomState(seed)``; pass a RandomState to continue a stream
    (as the reference generates its splits one after another), or a Generator for independent
    draws (the dataset store's per-sample generators). ``length`` is the trajectory length the
    reference generator was run with; it sets how many noise draws each system consumes.
    """
    rng = np.random.RandomState(seed) if isinstance(seed, (int, np.integer)) else seed
    pos, vel, charges = reference_initial_states(rng, num_systems, num_particles=num_particles, dim=dim,
                                                 loc_std=loc_std, speed=speed, length=length, every=every)
    pos_f, vel_f, clips = integrate_kick_drift(pos, vel, _coulomb(charges, strength), dt=dt, steps=steps,
                                               every=every, max_force=max_force)
    return NBodyTrajectory(pos_f, vel_f, charges, dt * every * np.arange(1, pos_f.shape[1] + 1), clips)


def reference_charged_splits(seed: int = REFERENCE_SEED, used: dict | None = None, steps: int = 4100,
                             **kwargs) -> dict[str, NBodyTrajectory]:
    """The reference splits (``REFERENCE_SPLITS`` generated in order from one ``RandomState(seed)``),
    keeping the first ``used[split]`` systems of each (default `REFERENCE_USED`: 3,000 / 2,000 /
    2,000, the papers' protocol); the draws of the unused systems are consumed without simulating
    them. ``kwargs`` go to `reference_charged_system`."""
    used = dict(REFERENCE_USED if used is None else used)
    rng = np.random.RandomState(seed)
    splits = {}
    for name, count in REFERENCE_SPLITS.items():
        keep = min(used.get(name, 0), count)
        if keep:
            splits[name] = reference_charged_system(keep, seed=rng, steps=steps, **kwargs)
        reference_initial_states(rng, count - keep, **{k: kwargs[k] for k in ("num_particles", "dim", "loc_std",
                                                                              "speed", "length", "every")
                                                   if k in kwargs})
    return splits
