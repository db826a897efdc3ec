"""``heat``: u_t = div(kappa grad u) on random polygonal domains with holes, u = 0 on every
boundary, from a random initial condition; kappa a log-normal random field. Trajectories."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fem import gaussian_random_field, heat, lognormal_field
from ..params import interval, number, uniform
from ..sample import Sample
from ._common import make_sample
from ._sequence import Draft, SolverParams
from .poisson import RandomDomainParams


@dataclass(frozen=True)
class HeatParams(RandomDomainParams, SolverParams):
    """Parameters of the ``heat`` problem; ranges are drawn uniformly per sample."""

    dt: float = number(0.005, 1e-6, 10.0, "time step")
    num_steps: int = number(20, 1, 100_000, "time steps; a trajectory has num_steps + 1 frames")
    theta: float = number(1.0, 0.5, 1.0, "1 implicit Euler, 0.5 Crank-Nicolson")
    kappa_length_scale: tuple = interval((0.2, 0.5), 0.01, 10.0, "correlation length of kappa")
    log_kappa_variance: tuple = interval((0.1, 0.5), 0.0, 4.0, "variance of log kappa")
    kappa_median: tuple = interval((0.5, 2.0), 1e-6, 1e6, "median conductivity")
    u0_length_scale: tuple = interval((0.1, 0.3), 0.01, 10.0, "correlation length of the initial condition")
    n_modes: int = number(128, 8, 4096, "Fourier modes of each random field")


def draw_heat(params: HeatParams, rng: np.random.Generator) -> Draft:
    """One trajectory's domain, conductivity and initial state, its time steps solved later (one
    sequence per trajectory; SKR orders a shard by the drawn parameters)."""
    mesh, seed = params.mesh(rng)
    k_ell, log_var, median, u_ell = (uniform(rng, r) for r in (
        params.kappa_length_scale, params.log_kappa_variance, params.kappa_median, params.u0_length_scale))
    kappa = lognormal_field(mesh, k_ell, log_variance=log_var, median=median, seed=rng, n_modes=params.n_modes)
    u0 = gaussian_random_field(mesh, u_ell, seed=rng, n_modes=params.n_modes)

    def finish(solver) -> Sample:
        trajectory = heat(mesh, u0, params.dt, params.num_steps, kappa=kappa, theta=params.theta,
                          dirichlet={name: 0.0 for name in mesh.boundary}, solver=solver)
        return make_sample(mesh, {"kappa": kappa, "u": trajectory.values[:, :, None]},
                           {"kappa_length_scale": k_ell, "log_kappa_variance": log_var, "kappa_median": median,
                            "u0_length_scale": u_ell, "mesh_seed": seed}, times=trajectory.times)
    return Draft(mesh, np.array([k_ell, log_var, median, u_ell]), finish)


def sample_heat(params: HeatParams, rng: np.random.Generator) -> Sample:
    """One sample: kappa (N, 1) and u (T, N, 1) with T = num_steps + 1 frames (the initial
    condition first); params kappa_length_scale, log_kappa_variance, kappa_median,
    u0_length_scale, mesh_seed."""
    return draw_heat(params, rng).solve(params.make_solver())
