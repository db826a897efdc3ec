"""``helmholtz_movement``: UM2N's training set. ``-Laplace u + u = f`` on the unit square with a
random sum of anisotropic Gaussian bumps as exact solution, its P1 solution u_h on a gmsh mesh,
the monitor ``1 + alpha H:H / max`` (H the L2-recovered Hessian of u_h) and the Monge-Ampere
moved points (relaxation; the monitor re-solved on every iterate, as UM2N's data generator does).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...mesh import rectangle
from ...movement import (GaussianBumps, SlidingBoundary, TriangleP1, hessian_monitor, l2_error, monge_ampere,
                         solve_helmholtz)
from ..errors import DatasetError
from ..params import interval, number
from ..sample import Sample
from ._common import make_sample


@dataclass(frozen=True)
class HelmholtzMovementParams:
    """Parameters of the ``helmholtz_movement`` problem (UM2N's defaults)."""

    h_values: tuple = interval((0.05, 0.055), 0.005, 0.5,
                               "gmsh element sizes: each sample uses one of the two, with equal odds")
    max_bumps: int = number(6, 1, 32, "bumps per solution drawn from 1..max_bumps")
    sigma_mean: float = number(0.25, 0.01, 1.0, "mean bump width (per axis)")
    sigma_std: float = number(1 / 6, 0.0, 1.0, "standard deviation of the bump widths")
    sigma_min: float = number(0.125, 0.01, 1.0, "smallest bump width")
    alpha: float = number(5.0, 0.0, 1000.0, "monitor amplitude: m = 1 + alpha H:H / max H:H")
    method: str = number("relaxation", doc="Monge-Ampere method: relaxation or quasi_newton")
    rtol: float = number(1e-3, 1e-12, 0.5, "relative residual the Monge-Ampere solve stops at")
    maxiter: int = number(500, 1, 100_000, "Monge-Ampere iterations allowed")
    pseudo_timestep: float = number(0.1, 1e-4, 10.0, "relaxation pseudo-time step")

    def check(self, where: str) -> None:
        if self.method not in ("relaxation", "quasi_newton"):
            raise DatasetError(f"{where}.method must be 'relaxation' or 'quasi_newton', got {self.method!r}")


@lru_cache(maxsize=4)
def _unit_square(h: float):
    """gmsh mesh of the unit square and its P1 operators, built once per process and size."""
    mesh = rectangle(h=h)
    return mesh, TriangleP1.of(mesh), SlidingBoundary.of(mesh).as_array()


def sample_helmholtz_movement(params: HelmholtzMovementParams, rng: np.random.Generator) -> Sample:
    """One sample: fields u (N, 1) = u_h, monitor (N, 1) on the mesh, moved (N, 2) the Monge-Ampere
    points, slide (N, 4) the boundary constraint ``[n_x, n_y, offset, fixed]``; params h, the bumps
    (`GaussianBumps.to_params`), ma_iterations, error_uniform and error_moved (L2 errors of u_h
    against the exact u on the mesh and on the moved mesh)."""
    bumps = GaussianBumps.random(rng, params.max_bumps, params.sigma_mean, params.sigma_std, params.sigma_min)
    h = float(params.h_values[int(rng.integers(2))])
    mesh, ops, slide = _unit_square(h)
    u = solve_helmholtz(mesh, bumps, ops)
    monitor = hessian_monitor(mesh, u, alpha=params.alpha, operators=ops)

    def resolved_monitor(moved):
        moved_ops = ops.moved(moved.points)
        return hessian_monitor(moved, solve_helmholtz(moved, bumps, moved_ops), alpha=params.alpha,
                               operators=moved_ops)

    result = monge_ampere(mesh, resolved_monitor, method=params.method, rtol=params.rtol,
                          maxiter=params.maxiter, pseudo_timestep=params.pseudo_timestep)
    moved_ops = ops.moved(result.mesh.points)
    error_moved = l2_error(result.mesh, solve_helmholtz(result.mesh, bumps, moved_ops), bumps, moved_ops)
    return make_sample(mesh, {"u": u, "monitor": monitor, "moved": result.mesh.points, "slide": slide},
                       {"h": h, **bumps.to_params(params.max_bumps), "ma_iterations": float(result.report.iterations),
                        "error_uniform": l2_error(mesh, u, bumps, ops), "error_moved": error_moved})
