"""``darcy``: Darcy flow -div(a grad u) = f on the unit square with u = 0 on the boundary and a
two-valued permeability a, thresholded from a Gaussian random field (the FNO Darcy benchmark's
construction)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from ...fem import FunctionSpace, diffusion_system, dirichlet_constraint, gaussian_random_field, poisson
from ...mesh import rectangle
from ..params import interval, number, uniform
from ..sample import Sample
from ._common import make_sample
from ._sequence import Draft, SolverParams


@dataclass(frozen=True)
class DarcyParams(SolverParams):
    """Parameters of the ``darcy`` problem; ranges are drawn uniformly per sample."""

    h: float = number(0.05, 0.002, 0.5, "element size on the unit square")
    length_scale: tuple = interval((0.08, 0.2), 0.01, 10.0, "correlation length of the field thresholded")
    a_low: float = number(3.0, 1e-6, 1e6, "permeability where the field is negative")
    a_high: float = number(12.0, 1e-6, 1e6, "permeability where the field is >= 0")
    f: float = number(1.0, -1e6, 1e6, "constant source")
    n_modes: int = number(128, 8, 4096, "Fourier modes of the random field")


@lru_cache(maxsize=4)
def _unit_square(h: float) -> FunctionSpace:
    """P1 space on the unit square, meshed and set up once per process and element size."""
    return FunctionSpace(rectangle(h=h), order=1)


def _permeability(params: DarcyParams, rng: np.random.Generator) -> tuple[FunctionSpace, float, np.ndarray]:
    """The shared space, a drawn correlation length and the two-valued permeability (N,)."""
    space = _unit_square(params.h)
    ell = uniform(rng, params.length_scale)
    g = gaussian_random_field(space.mesh, ell, seed=rng, n_modes=params.n_modes)
    return space, ell, np.where(g >= 0.0, params.a_high, params.a_low)


def darcy_system(params: DarcyParams, rng: np.random.Generator) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, float]:
    """The linear system of one sample, for solver studies: A (n, n) and b (n,) on the free
    (interior) dofs, the permeability a (N,) and the correlation length drawn; the same draws as
    `draw_darcy` with the same ``rng``."""
    space, ell, a = _permeability(params, rng)
    constraint = dirichlet_constraint(space, {name: 0.0 for name in space.mesh.boundary})
    A, b = constraint.reduce(*diffusion_system(space, a, params.f))
    return A, b, a, ell


def draw_darcy(params: DarcyParams, rng: np.random.Generator) -> Draft:
    """One sample's permeability, its system solved later: SKR orders a shard by the field a."""
    space, ell, a = _permeability(params, rng)
    mesh = space.mesh

    def finish(solver) -> Sample:
        u = poisson(space, a, params.f, dirichlet={name: 0.0 for name in mesh.boundary}, solver=solver).values
        return make_sample(mesh, {"a": a, "u": u}, {"length_scale": ell})
    return Draft(mesh, a, finish)


def sample_darcy(params: DarcyParams, rng: np.random.Generator) -> Sample:
    """One sample: fields a (N, 1) and u (N, 1); param length_scale."""
    return draw_darcy(params, rng).solve(params.make_solver())
