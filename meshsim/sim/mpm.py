"""2D MLS-MPM (Hu et al. 2018) in the style of taichi's mpm99: water, jelly, snow and sand.

The unit square holds a ``n_grid`` x ``n_grid`` grid (dx = 1 / n_grid); a particle has volume
(dx / 2)^2 and density ``rho``. Each substep: F <- (I + dt C) F, the material's return mapping and
Kirchhoff stress, APIC particle-to-grid transfer of mass and momentum (with the MLS stress force),
grid velocity plus gravity with the walls, grid-to-particle gather of v and C, advection.

Materials (codes in `MATERIALS`):

- water: no shear (mu = 0), F reset to sqrt(J) I (only the volume change is kept);
- jelly: fixed-corotated elasticity, Lame parameters x 0.3;
- snow: fixed-corotated with hardening exp(10 (1 - Jp)), singular values clamped to
  [1 - 2.5e-2, 1 + 4.5e-3] (the excess goes to the plastic volume ratio Jp);
- sand: Hencky elasticity with the Drucker-Prager return mapping of Klar et al. (2016) (friction
  angle ``friction_angle``), expansion projected to the cone's tip.

Walls: in the ``wall_cells`` outer grid cells a grid velocity pointing into the wall is zeroed,
whole (``boundary="sticky"``) or only its normal part (``"slip"``, mpm99's condition).

Backends: ``"numba"`` (compiled, the fastest measured here) and ``"numpy"`` (vectorised
reference); ``"auto"`` takes numba when it is installed. Units: lengths in the unit square,
seconds, density ``rho``; gravity in length / s^2.
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, replace

import numpy as np

from . import mpm_numpy
from .mpm_numpy import JELLY, SAND, SNOW, WATER

#: material name -> particle material code
MATERIALS = {"water": WATER, "jelly": JELLY, "snow": SNOW, "sand": SAND}
BACKENDS = ("auto", "numba", "numpy")


@dataclass(frozen=True)
class MPMConfig:
    """Simulation settings (mpm99's, with E = 1e3 and gravity 9.8 by default).

    Attributes:
        n_grid: grid cells per side of the unit square.
        dt: substep (s).
        rho: particle density.
        E, nu: Young's modulus and Poisson ratio.
        gravity: (gx, gy) acceleration.
        wall_cells: width of the walls in cells (0: no walls, particles must stay inside).
        boundary: ``"sticky"`` or ``"slip"`` (see the module docstring).
        friction_angle: sand's friction angle in degrees.
        backend: ``"auto"``, ``"numba"`` or ``"numpy"``.
    """

    n_grid: int = 128
    dt: float = 1e-4
    rho: float = 1.0
    E: float = 1e3
    nu: float = 0.2
    gravity: tuple[float, float] = (0.0, -9.8)
    wall_cells: int = 3
    boundary: str = "sticky"
    friction_angle: float = 30.0
    backend: str = "auto"

    def __post_init__(self):
        if self.n_grid < 8:
            raise ValueError(f"n_grid must be >= 8, got {self.n_grid}")
        if self.dt <= 0 or self.rho <= 0 or self.E <= 0 or not 0 <= self.nu < 0.5:
            raise ValueError(f"need dt, rho, E > 0 and 0 <= nu < 0.5; got dt={self.dt}, rho={self.rho}, "
                             f"E={self.E}, nu={self.nu}")
        if self.boundary not in ("sticky", "slip"):
            raise ValueError(f"boundary must be 'sticky' or 'slip', got {self.boundary!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")

    @property
    def dx(self) -> float:
        return 1.0 / self.n_grid

    @property
    def p_vol(self) -> float:
        """Particle volume (dx / 2)^2: four particles per cell."""
        return (0.5 * self.dx) ** 2

    @property
    def p_mass(self) -> float:
        return self.p_vol * self.rho

    @property
    def lame(self) -> tuple[float, float]:
        """(mu0, lambda0) from E and nu."""
        return self.E / (2 * (1 + self.nu)), self.E * self.nu / ((1 + self.nu) * (1 - 2 * self.nu))

    @property
    def alpha(self) -> float:
        """Drucker-Prager coefficient sqrt(2/3) 2 sin(phi) / (3 - sin(phi))."""
        s = math.sin(math.radians(self.friction_angle))
        return math.sqrt(2.0 / 3.0) * 2.0 * s / (3.0 - s)

    def resolved_backend(self) -> str:
        """The backend that runs: ``auto`` is numba when it imports, else numpy."""
        if self.backend != "auto":
            return self.backend
        return "numba" if importlib.util.find_spec("numba") is not None else "numpy"


@dataclass(frozen=True)
class ParticleState:
    """The particles of an MPM simulation (numpy float64, one row per particle).

    Attributes:
        x: (N, 2) positions; v: (N, 2) velocities; C: (N, 2, 2) APIC affine velocity;
        F: (N, 2, 2) deformation gradient; Jp: (N,) plastic volume ratio; material: (N,) int64 codes.
    """

    x: np.ndarray
    v: np.ndarray
    C: np.ndarray
    F: np.ndarray
    Jp: np.ndarray
    material: np.ndarray

    @classmethod
    def at_rest(cls, x: np.ndarray, material, v: np.ndarray | None = None) -> "ParticleState":
        """Undeformed particles at ``x`` (N, 2) of ``material`` (a code, a name or (N,) codes)
        with velocities ``v`` (N, 2) or (2,) (zero if None)."""
        x = np.array(x, dtype=np.float64).reshape(-1, 2)
        n = len(x)
        if isinstance(material, str):
            if material not in MATERIALS:
                raise ValueError(f"unknown material {material!r}; materials: {', '.join(MATERIALS)}")
            material = MATERIALS[material]
        codes = np.broadcast_to(np.asarray(material, dtype=np.int64), (n,)).copy()
        if len(codes) and (codes.min() < 0 or codes.max() > SAND):
            raise ValueError(f"material codes must be in 0..{SAND}, got {sorted(set(codes.tolist()))}")
        vel = np.zeros((n, 2)) if v is None else np.broadcast_to(np.asarray(v, dtype=np.float64), (n, 2)).copy()
        return cls(x, vel, np.zeros((n, 2, 2)), np.tile(np.eye(2), (n, 1, 1)), np.ones(n), codes)

    @property
    def num_particles(self) -> int:
        return len(self.x)

    def copy(self) -> "ParticleState":
        return ParticleState(*(np.array(a) for a in (self.x, self.v, self.C, self.F, self.Jp, self.material)))


def _stencil_range(config: MPMConfig) -> tuple[float, float]:
    """Positions whose 3 x 3 stencil lies on the grid."""
    return 0.5 * config.dx, 1.0 - 1.5 * config.dx - 1e-9


def _check_inside(state: ParticleState, config: MPMConfig) -> None:
    """Every particle's stencil must lie on the grid (a ValueError names the first that does not)."""
    low, high = _stencil_range(config)
    x = state.x
    bad = ~np.all((x >= low) & (x <= high), axis=1) | ~np.isfinite(x).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"particle {i} at {x[i].tolist()} is outside [{low:.4g}, {high:.4g}]^2 "
                         f"({int(bad.sum())} such particles): the grid cannot hold it")


def _substeps_numpy(s: ParticleState, config: MPMConfig, substeps: int) -> None:
    mu0, la0 = config.lame
    low, high = _stencil_range(config)
    for _ in range(substeps):
        F = s.F + config.dt * s.C @ s.F
        F, Jp, stress = mpm_numpy.constitutive(F, s.Jp, s.material, mu0, la0, config.alpha)
        grid_m, grid_p = mpm_numpy.particle_to_grid(s.x, s.v, s.C, stress, config.p_mass, config.p_vol,
                                                    config.dt, config.n_grid)
        grid_v = mpm_numpy.grid_velocity(grid_m, grid_p, config.dt, config.gravity, config.wall_cells,
                                         config.boundary == "sticky")
        x, v, C = mpm_numpy.grid_to_particle(s.x, grid_v, config.dt)
        s.x[:], s.v[:], s.C[:], s.F[:], s.Jp[:] = np.clip(x, low, high), v, C, F, Jp


def _substeps_numba(s: ParticleState, config: MPMConfig, substeps: int) -> None:
    from . import mpm_numba

    mu0, la0 = config.lame
    n = config.n_grid
    grid_m, grid_p, grid_v = np.zeros((n, n)), np.zeros((n, n, 2)), np.zeros((n, n, 2))
    low, high = _stencil_range(config)
    for _ in range(substeps):
        grid_m[:] = 0.0
        grid_p[:] = 0.0
        mpm_numba.particle_to_grid(s.x, s.v, s.C, s.F, s.Jp, s.material, config.dt, config.p_mass,
                                   config.p_vol, mu0, la0, config.alpha, grid_m, grid_p, True)
        mpm_numba.grid_velocity(grid_m, grid_p, config.dt, float(config.gravity[0]), float(config.gravity[1]),
                                config.wall_cells, config.boundary == "sticky", grid_v)
        mpm_numba.grid_to_particle(s.x, s.v, s.C, grid_v, config.dt)
        np.clip(s.x, low, high, out=s.x)


def advance(state: ParticleState, config: MPMConfig, substeps: int = 1) -> ParticleState:
    """The particles after ``substeps`` MPM substeps of ``config.dt`` (a new state; the input is kept).

    Positions are kept on the grid's stencil range (a safety net: the walls stop particles first).
    """
    _check_inside(state, config)
    s = state.copy()
    if config.resolved_backend() == "numba":
        _substeps_numba(s, config, substeps)
    else:
        _substeps_numpy(s, config, substeps)
    return s


@dataclass(frozen=True)
class MPMTrajectory:
    """Stored frames of a simulation: ``positions`` (T, N, 2), ``velocities`` (T, N, 2),
    ``times`` (T,) in s, ``material`` (N,) codes; frame 0 is the initial state."""

    positions: np.ndarray
    velocities: np.ndarray
    times: np.ndarray
    material: np.ndarray


def simulate(state: ParticleState, config: MPMConfig, num_frames: int, substeps_per_frame: int) -> MPMTrajectory:
    """Run ``num_frames`` frames of ``substeps_per_frame`` substeps each and store every frame.

    Raises:
        ValueError: a particle outside the grid at the start, or non-finite positions (a blow-up:
            reduce dt) at a frame, named.
    """
    if num_frames < 0 or substeps_per_frame < 1:
        raise ValueError(f"need num_frames >= 0 and substeps_per_frame >= 1, got {num_frames}, {substeps_per_frame}")
    positions = np.empty((num_frames + 1, state.num_particles, 2))
    velocities = np.empty_like(positions)
    positions[0], velocities[0] = state.x, state.v
    for frame in range(1, num_frames + 1):
        state = advance(state, config, substeps_per_frame)
        if not np.isfinite(state.x).all():
            raise ValueError(f"MPM blew up at frame {frame} (non-finite positions); reduce dt = {config.dt}")
        positions[frame], velocities[frame] = state.x, state.v
    times = config.dt * substeps_per_frame * np.arange(num_frames + 1)
    return MPMTrajectory(positions, velocities, times, state.material.copy())


def block(lower: tuple[float, float], size: tuple[float, float], config: MPMConfig,
          rng: np.random.Generator | None = None) -> np.ndarray:
    """Particle positions (M, 2) filling the rectangle [lower, lower + size] at 2 x 2 particles per
    grid cell (spacing dx / 2, matching the particle volume), jittered by up to a quarter spacing
    when ``rng`` is given."""
    spacing = 0.5 * config.dx
    counts = [max(1, int(round(s / spacing))) for s in size]
    axes = [lower[k] + spacing * (np.arange(counts[k]) + 0.5) for k in range(2)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    if rng is not None:
        points = points + rng.uniform(-0.25 * spacing, 0.25 * spacing, points.shape)
    return points


def with_backend(config: MPMConfig, backend: str) -> MPMConfig:
    """``config`` with another backend."""
    return replace(config, backend=backend)
