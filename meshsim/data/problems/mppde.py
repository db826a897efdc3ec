r"""``mppde``: the combined equation of MP-PDE (Brandstetter, Worrall & Welling, ICLR 2022),

.. math::
    u_t = -\alpha (u^2/2)_x + \beta u_{xx} - \gamma u_{xxx} + \delta(t, x), \quad u(0, x) = \delta(0, x),

periodic on [0, 16), solved by `meshsim.sim.solve_combined_equation` (WENO5 + Dormand-Prince) on
``reference_nx`` cells, 250 frames on ``linspace(0, t_end, 250)``, and stored on ``nx`` nodes by
the protocol ``grid`` (`meshsim.sim.mppde_grids`):

* ``"cell"``: nodes at the cell centres, coarse data the exact cell averages of the reference;
* ``"reference"`` (the paper's code): nodes at ``linspace(0, 16, nx)``, the scheme's dx = 16 / nx,
  coarse data the 5-tap box filter of the reference solve with stride ``reference_nx / nx``.

With ``nx = reference_nx`` the reference solve itself is stored, and any coarser grid of the same
protocol can be made from it when the data are loaded (`coarse_trajectories`). The recipes
``mppde_E1``-``mppde_E3`` are the paper's experiments E1-E3 on the reference protocol.

A sample's "mesh" is the line graph of the ``nx`` nodes (points (nx, 1), ``nx - 1`` line cells
between neighbours; the periodic seam is not a cell), all nodes interior. It stores the drawn
(alpha, beta, gamma) and the forcing's parameters, so the reference, or the classical baseline on
a coarse grid (`solve_stored`), can be rerun from the sample alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...mesh import Mesh
from ...sim.mppde import CombinedEquation, Forcing, solve_combined_equation
from ...sim.mppde_grids import DOMAIN_LENGTH, GRIDS, coarse_data, grid_points
from ..errors import DatasetError
from ..params import interval, number
from ..sample import Sample
from ._common import make_sample


@dataclass(frozen=True)
class MPPDEParams:
    """Parameters of the ``mppde`` problem (defaults: experiment E1). Coefficient ranges are
    drawn uniformly per sample; equal ends (``alpha = [1, 1]``) fix a coefficient."""

    alpha: tuple = interval((1.0, 1.0), -1e3, 1e3, "advection coefficient: -alpha (u^2/2)_x")
    beta: tuple = interval((0.0, 0.0), 0.0, 1e3, "diffusion coefficient: +beta u_xx")
    gamma: tuple = interval((0.0, 0.0), -1e3, 1e3, "dispersion coefficient: -gamma u_xxx")
    t_end: float = number(4.0, 1e-3, 1e3, "final time; 250 frames at linspace(0, t_end, 250)")
    reference_nx: int = number(200, 7, 100_000, "cells of the reference solve")
    nx: int = number(200, 2, 100_000, "stored nodes: the reference's coarse data by `grid` (divides reference_nx)")
    grid: str = number("cell", doc="protocol: 'cell' (cell centres, cell averages) or 'reference' (the paper's "
                                   "linspace nodes, 5-tap filtered truth)")
    num_terms: int = number(5, 1, 100, "sine terms J of the forcing")
    max_amplitude: float = number(0.5, 0.0, 1e3, "forcing amplitudes A_j ~ U[-max, max]")
    max_omega: float = number(0.4, 0.0, 1e3, "forcing frequencies omega_j ~ U[-max, max]")
    wavenumbers: tuple = interval((1, 2), 0, 1000, "forcing wavenumbers l_j drawn uniformly from these integers")

    def check(self, where: str = "params") -> None:
        """The stored grid is a coarsening of the reference grid; the protocol is known."""
        if self.reference_nx % self.nx:
            raise DatasetError(f"{where}.nx = {self.nx} does not divide reference_nx = {self.reference_nx}")
        if self.grid not in GRIDS:
            raise DatasetError(f"{where}.grid = {self.grid!r} is not a protocol (choose one of {', '.join(GRIDS)})")


def line_of_nodes(nx: int, grid: str = "cell", length: float = DOMAIN_LENGTH) -> Mesh:
    """Line mesh of the ``nx`` nodes of ``grid`` on [0, length]: points (nx, 1), cells (nx - 1, 2)
    joining consecutive nodes (not across the periodic seam), no boundary names."""
    first = np.arange(nx - 1)
    return Mesh(grid_points(nx, grid, length)[:, None], np.stack([first, first + 1], axis=1), validate=False)


def coarse_trajectories(u: np.ndarray, nx: int, grid: str) -> np.ndarray:
    """Data (..., n) stored on ``n`` nodes of ``grid`` as data on ``nx`` nodes (n / nx an integer):
    cell averages (``"cell"``) or the 5-tap filter (``"reference"``); unchanged when nx = n."""
    n = u.shape[-1]
    if n % nx:
        raise DatasetError(f"cannot make {nx} nodes from data on {n}: {nx} does not divide {n}")
    return u if nx == n else coarse_data(u, n // nx, grid)


def stored_equation(params) -> tuple[CombinedEquation, Forcing]:
    """The equation and forcing of a stored sample's params (alpha, beta, gamma, forcing_*):
    scalars, or arrays (B,) of a batch of samples (coefficients then (B, 1), forcings (B, J))."""
    def coefficient(name):
        value = np.asarray(params[name], dtype=np.float64)
        return float(value) if value.ndim == 0 else value.reshape(-1, 1)
    forcing = Forcing(*(np.asarray(params[f"forcing_{n}"], dtype=np.float64) for n in ("amplitudes", "omegas",
                                                                                        "phases")),
                      np.asarray(params["forcing_wavenumbers"]).astype(np.int64))
    return CombinedEquation(*(coefficient(n) for n in ("alpha", "beta", "gamma"))), forcing


def solve_stored(params, nx: int, t_end: float, grid: str, u0: np.ndarray | None = None) -> np.ndarray:
    """The classical baseline of stored samples: WENO5 solved directly on ``nx`` nodes of ``grid``
    from ``u0`` (..., nx), by default delta(0, x) at those nodes (the paper's independent coarse
    solve). ``params`` as in `stored_equation`; returns u (..., 250, nx)."""
    equation, forcing = stored_equation(params)
    return solve_combined_equation(equation, forcing, nx, t_end, u0=u0, grid=grid)[1]


def draw_equation(params: MPPDEParams, rng: np.random.Generator) -> tuple[CombinedEquation, Forcing]:
    """(alpha, beta, gamma) then the forcing, from ``rng`` in that order (the order of
    `meshsim.sim.Experiment.sample`, so E1-E3 recipes draw the same equations)."""
    alpha, beta, gamma = (float(rng.uniform(*r)) for r in (params.alpha, params.beta, params.gamma))
    low, high = params.wavenumbers
    forcing = Forcing.sample(rng, num_terms=params.num_terms, max_amplitude=params.max_amplitude,
                             max_omega=params.max_omega, wavenumbers=tuple(range(low, high + 1)))
    return CombinedEquation(alpha, beta, gamma), forcing


def sample_mppde(params: MPPDEParams, rng: np.random.Generator) -> Sample:
    """One trajectory: field u (250, nx, 1), times (250,); params alpha, beta, gamma (scalars)
    and forcing_amplitudes, forcing_omegas, forcing_phases, forcing_wavenumbers (num_terms,).

    Raises:
        DatasetError: nx does not divide reference_nx, or an unknown grid.
        FloatingPointError: the reference solve failed or blew up (the runner records the
            sample as failed).
    """
    params.check()
    equation, forcing = draw_equation(params, rng)
    try:
        times, u = solve_combined_equation(equation, forcing, params.reference_nx, params.t_end, grid=params.grid)
    except RuntimeError as error:
        raise FloatingPointError(str(error)) from error
    u = coarse_trajectories(u, params.nx, params.grid)
    return make_sample(line_of_nodes(params.nx, params.grid), {"u": u[:, :, None]},
                       {"alpha": equation.alpha, "beta": equation.beta, "gamma": equation.gamma,
                        "forcing_amplitudes": forcing.amplitudes, "forcing_omegas": forcing.omegas,
                        "forcing_phases": forcing.phases, "forcing_wavenumbers": forcing.wavenumbers},
                       times=times)
