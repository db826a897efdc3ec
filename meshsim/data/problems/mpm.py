"""``mpm``: 2D MLS-MPM particle trajectories (`meshsim.sim.mpm`) of water, sand, jelly or snow, the data
of GNS and GIOROM (recipes ``mpm_water``, ``mpm_sand``, ``mpm_jelly``).

Each sample throws 1-3 random shapes (rectangles and disks, not overlapping) of one material, each
with its own random initial velocity, into the walled unit square and stores every frame.

A particle cloud has no cells: a sample stores its particles as one-vertex cells (``cells`` (N, 1),
no mesh edges, nothing quadratic) and graphs are built at load time from the positions. Layout in
LagrangeBench's spirit:

- field ``position`` (T, N, 2): the positions at the stored frames (frame 0 the initial state);
- field ``particle_type`` (N, 1): the material code (`meshsim.sim.MATERIALS`: water 0, jelly 1,
  snow 2, sand 3), also the ``node_type``;
- params ``bounds`` (4,) = (x_low, x_high, y_low, y_high) of the walls, ``frame_dt`` (s between
  stored frames), ``radius`` (the default connectivity radius), ``num_particles``;
- meta.json's ``stats.position_increment`` are the per-frame velocity statistics of the train
  split (the tasks also compute the acceleration statistics from it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...sim.mpm import MATERIALS, MPMConfig, ParticleState, block, simulate
from ..errors import DatasetError
from ..params import interval, number, uniform
from ..sample import Sample


@dataclass(frozen=True)
class MPMParams:
    """Parameters of ``mpm`` samples (defaults: a small budget; the cards give the published scale)."""

    material: str = number("water", doc="water, jelly, snow or sand")
    n_grid: int = number(128, 16, 1024, "grid cells per side")
    dt: float = number(1e-4, 1e-7, 1e-2, "MPM substep (s)")
    E: float = number(1e3, 1.0, 1e7, "Young's modulus")
    nu: float = number(0.2, 0.0, 0.49, "Poisson ratio")
    gravity: float = number(9.8, 0.0, 1e3, "downward acceleration")
    substeps_per_frame: int = number(25, 1, 10_000, "substeps between stored frames")
    num_frames: int = number(200, 1, 100_000, "stored frames after the initial one")
    num_shapes: tuple = interval((1, 3), 1, 10, "shapes per sample")
    shape_size: tuple = interval((0.08, 0.16), 0.01, 0.8, "side (rectangle) or diameter (disk) of a shape")
    speed: float = number(1.0, 0.0, 100.0, "initial velocity components drawn from [-speed, speed]")
    radius_spacings: float = number(2.5, 1.0, 10.0, "default connectivity radius in particle spacings (dx / 2)")

    def check(self, where: str) -> None:
        if self.material not in MATERIALS:
            raise DatasetError(f"{where}.material = {self.material!r} is not one of {', '.join(MATERIALS)}")
        if self.shape_size[1] > 0.8 - 6.0 / self.n_grid:
            raise DatasetError(f"{where}.shape_size {list(self.shape_size)} does not fit inside the walls")


def _shape(rng: np.random.Generator, params: MPMParams, config: MPMConfig, placed: list) -> np.ndarray | None:
    """Particles of one random rectangle or disk inside [0.1, 0.9]^2 that does not overlap the
    bounding boxes in ``placed`` (appended to it); None if 50 tries fail."""
    for _ in range(50):
        width, height = uniform(rng, params.shape_size), uniform(rng, params.shape_size)
        disk = rng.uniform() < 0.5
        if disk:
            height = width
        lower = np.array([rng.uniform(0.1, 0.9 - width), rng.uniform(0.1, 0.9 - height)])
        upper = lower + [width, height]
        if any((lower < b_up + 0.01).all() and (b_low < upper + 0.01).all() for b_low, b_up in placed):
            continue
        points = block(tuple(lower), (width, height), config, rng)
        if disk:
            points = points[np.linalg.norm(points - (lower + upper) / 2, axis=1) <= width / 2]
        placed.append((lower, upper))
        return points
    return None


def sample_mpm(params: MPMParams, rng: np.random.Generator) -> Sample:
    """One trajectory: 1-3 shapes of ``params.material`` with random velocities, simulated and stored
    every ``substeps_per_frame`` substeps (see the module docstring for the layout)."""
    config = MPMConfig(n_grid=params.n_grid, dt=params.dt, E=params.E, nu=params.nu,
                       gravity=(0.0, -params.gravity))
    placed, parts, velocities = [], [], []
    for _ in range(uniform(rng, params.num_shapes)):
        points = _shape(rng, params, config, placed)
        if points is None:
            break
        parts.append(points)
        velocities.append(np.broadcast_to(rng.uniform(-params.speed, params.speed, 2), points.shape))
    x, v = np.concatenate(parts), np.concatenate(velocities)
    state = ParticleState.at_rest(x, params.material, v=v)
    try:
        run = simulate(state, config, params.num_frames, params.substeps_per_frame)
    except ValueError as error:
        raise DatasetError(f"MPM simulation failed: {error}") from None
    n = len(x)
    wall = config.wall_cells * config.dx
    material = float(MATERIALS[params.material])
    return Sample(points=x, cells=np.arange(n)[:, None], boundary={}, node_type=np.full(n, int(material)),
                  fields={"position": run.positions, "particle_type": np.full((n, 1), material)},
                  params={"bounds": np.array([wall, 1 - wall, wall, 1 - wall]),
                          "frame_dt": params.dt * params.substeps_per_frame,
                          "radius": params.radius_spacings * 0.5 * config.dx, "num_particles": float(n)},
                  times=run.times)
