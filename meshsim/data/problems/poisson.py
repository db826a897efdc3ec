"""``poisson``: -div(kappa grad u) = f on random polygonal domains with holes, u = 0 on every
boundary; kappa a log-normal and f a Gaussian random field."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fem import gaussian_random_field, lognormal_field, poisson
from ...mesh import random_domain
from ..params import interval, number, uniform
from ..sample import Sample
from ._common import make_sample, mesh_seed
from ._sequence import Draft, SolverParams


@dataclass(frozen=True)
class RandomDomainParams:
    """Mesh parameters of `meshsim.mesh.random_domain` shared by the random-domain problems."""

    h: float = number(0.08, 0.002, 1.0, "element size (domain radius about `size`)")
    size: float = number(1.0, 0.01, 100.0, "outer radius of the star-shaped domain")
    num_vertices: tuple = interval((5, 10), 3, 64, "vertices of the outer polygon (min, max)")
    max_holes: int = number(2, 0, 8, "at most this many holes")

    def mesh(self, rng: np.random.Generator):
        """Random domain whose geometry comes from ``rng``; returns (mesh, its seed)."""
        seed = mesh_seed(rng)
        return random_domain(seed, h=self.h, size=self.size, num_vertices=self.num_vertices,
                             max_holes=self.max_holes), seed


@dataclass(frozen=True)
class PoissonParams(RandomDomainParams, SolverParams):
    """Parameters of the ``poisson`` problem; ranges are drawn uniformly per sample."""

    length_scale: tuple = interval((0.15, 0.4), 0.01, 10.0, "correlation length of kappa and f")
    log_kappa_variance: tuple = interval((0.1, 1.0), 0.0, 4.0, "variance of log kappa")
    f_mean: float = number(1.0, -100.0, 100.0, "mean of the source f")
    f_std: tuple = interval((0.5, 2.0), 0.0, 100.0, "standard deviation of f")
    n_modes: int = number(128, 8, 4096, "Fourier modes of each random field")


def draw_poisson(params: PoissonParams, rng: np.random.Generator) -> Draft:
    """One sample's domain and fields, its system solved later (each sample has its own mesh:
    SKR orders a shard by the drawn parameters)."""
    mesh, seed = params.mesh(rng)
    ell, log_var, f_std = (uniform(rng, r) for r in (params.length_scale, params.log_kappa_variance, params.f_std))
    kappa = lognormal_field(mesh, ell, log_variance=log_var, seed=rng, n_modes=params.n_modes)
    f = gaussian_random_field(mesh, ell, variance=f_std**2, mean=params.f_mean, seed=rng, n_modes=params.n_modes)

    def finish(solver) -> Sample:
        u = poisson(mesh, kappa, f, dirichlet={name: 0.0 for name in mesh.boundary}, solver=solver).values
        return make_sample(mesh, {"kappa": kappa, "f": f, "u": u},
                           {"length_scale": ell, "log_kappa_variance": log_var, "f_std": f_std, "mesh_seed": seed})
    return Draft(mesh, np.array([ell, log_var, f_std]), finish)


def sample_poisson(params: PoissonParams, rng: np.random.Generator) -> Sample:
    """One sample: fields kappa (N, 1), f (N, 1), u (N, 1); params length_scale,
    log_kappa_variance, f_std, mesh_seed."""
    return draw_poisson(params, rng).solve(params.make_solver())
