"""``nbody_charged`` and ``nbody_gravity``: trajectories of small particle systems
(`meshsim.sim.nbody`), the benchmark of the equivariant GNNs (EGNN, SEGNO).

A particle system has no mesh; a sample stores it as a complete graph of line cells between the
particles (so `meshsim.graph.from_mesh` gives the fully connected edges) on the particles' initial
positions. The trajectory is in the fields: ``pos`` and ``vel`` (T, N, dim) and the per-particle
``charge`` or ``mass`` (N, 1). The benchmark task reads frame 30 and predicts frame 40; every frame
is stored, so any horizon can be chosen at training time.

``nbody_charged`` with ``reference_protocol = true`` follows the EGNN/SEGNO generator's conventions
(`meshsim.sim.nbody_reference`): kick-drift integration, frame k at step (k + 1) * steps_per_frame
(``num_frames`` frames, no initial one) and the drift velocity stored with each frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...mesh import Mesh
from ...sim.nbody import CHARGED_MAX_FORCE, NBodyTrajectory, charged_system, gravity_system
from ...sim.nbody_reference import reference_charged_system
from ..params import number
from ..sample import Sample
from ._common import make_sample


@dataclass(frozen=True)
class _NBodyParams:
    """Parameters every N-body recipe shares."""

    num_particles: int = number(5, 2, 1000, "particles per system")
    dim: int = number(3, 1, 3, "space dimension")
    dt: float = number(0.001, 1e-6, 1.0, "time step")
    steps_per_frame: int = number(100, 1, 100_000, "simulation steps between stored frames")
    num_frames: int = number(50, 1, 100_000, "stored frames after the initial one")
    loc_std: float = number(1.0, 1e-6, 1e6, "standard deviation of the initial positions")
    speed: float = number(0.5, 0.0, 1e6, "initial speed (random direction)")


@dataclass(frozen=True)
class ChargedNBodyParams(_NBodyParams):
    """Parameters of ``nbody_charged`` (defaults: the EGNN paper's charged system)."""

    strength: float = number(1.0, 0.0, 1e6, "Coulomb constant")
    max_force: float = number(CHARGED_MAX_FORCE, 0.0, 1e12, "force component clip; 0 disables clipping")
    reference_protocol: bool = number(False, doc="the EGNN/SEGNO generator's integrator, frame numbering "
                                                 "(frame k at step (k + 1) steps_per_frame) and stored velocity")


@dataclass(frozen=True)
class GravityNBodyParams(_NBodyParams):
    """Parameters of ``nbody_gravity`` (unit masses, softened gravity, no clipping; the
    centre-of-mass velocity is removed from the initial speeds)."""

    G: float = number(1.0, 0.0, 1e6, "gravitational constant")
    softening: float = number(0.1, 0.0, 1e6, "softening length")


def _as_sample(traj: NBodyTrajectory, param_field: str) -> Sample:
    """The first system of ``traj`` as a `Sample` on the complete graph of its particles."""
    start = traj.pos[0, 0]
    first, second = np.triu_indices(len(start), k=1)
    mesh = Mesh(start, np.stack([first, second], axis=1), validate=False)
    fields = {"pos": traj.pos[0], "vel": traj.vel[0], param_field: traj.params[0][:, None]}
    return make_sample(mesh, fields, {"clip_events": float(traj.clip_events[0])}, times=traj.time)


def _steps(params) -> dict:
    return {"steps": params.num_frames * params.steps_per_frame, "every": params.steps_per_frame}


def sample_charged_nbody(params: ChargedNBodyParams, rng: np.random.Generator) -> Sample:
    """One charged system: fields pos, vel (T, N, dim), charge (N, 1); param clip_events (force
    evaluations whose force was clipped; 0 means exact Coulomb dynamics). T = num_frames + 1
    (frame 0 the initial state), or num_frames on the reference protocol."""
    if params.reference_protocol:
        steps = _steps(params)
        traj = reference_charged_system(1, seed=rng, num_particles=params.num_particles, dim=params.dim,
                                        steps=steps["steps"], every=steps["every"], dt=params.dt,
                                        loc_std=params.loc_std, speed=params.speed, strength=params.strength,
                                        max_force=params.max_force or None,
                                        length=steps["steps"] + steps["every"])
        return _as_sample(traj, "charge")
    traj = charged_system(1, num_particles=params.num_particles, dim=params.dim, dt=params.dt,
                          loc_std=params.loc_std, speed=params.speed, strength=params.strength,
                          max_force=params.max_force or None, seed=rng, **_steps(params))
    return _as_sample(traj, "charge")


def sample_gravity_nbody(params: GravityNBodyParams, rng: np.random.Generator) -> Sample:
    """One self-gravitating system: fields pos, vel (T, N, dim), mass (N, 1)."""
    traj = gravity_system(1, num_particles=params.num_particles, dim=params.dim, dt=params.dt,
                          loc_std=params.loc_std, speed=params.speed, G=params.G, softening=params.softening,
                          seed=rng, **_steps(params))
    return _as_sample(traj, "mass")
