r"""``mppde``: the combined equation of MP-PDE (Brandstetter, Worrall & Welling, ICLR 2022),

.. math::
    u_t = -\alpha (u^2/2)_x + \beta u_{xx} - \gamma u_{xxx} + \delta(t, x), \quad u(0, x) = \delta(0, x),

periodic on [0, 16), solved by `meshsim.sim.solve_combined_equation` (WENO5 + Dormand-Prince) on
``reference_nx`` cells and stored as exact cell averages on ``nx`` cells (`meshsim.sim.coarsen`),
250 frames on ``linspace(0, t_end, 250)``. The recipes ``mppde_E1``-``mppde_E3`` are the paper's
experiments E1-E3.

A sample's "mesh" is the line graph of the ``nx`` cell centres (points (nx, 1), ``nx - 1`` line
cells between neighbours; the periodic seam is not a cell), all nodes interior. It stores the
drawn (alpha, beta, gamma) and the forcing's parameters, so the reference (or a coarse classical
baseline) can be rerun from the sample alone:

    forcing = Forcing(p["forcing_amplitudes"], p["forcing_omegas"], p["forcing_phases"],
                      p["forcing_wavenumbers"].astype(int))
    solve_combined_equation(CombinedEquation(p["alpha"], p["beta"], p["gamma"]), forcing, nx, t_end)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...mesh import Mesh
from ...sim.mppde import DOMAIN_LENGTH, CombinedEquation, Forcing, cell_centres, coarsen, solve_combined_equation
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
    nx: int = number(200, 2, 100_000, "stored cells: cell averages of the reference (divides reference_nx)")
    num_terms: int = number(5, 1, 100, "sine terms J of the forcing")
    max_amplitude: float = number(0.5, 0.0, 1e3, "forcing amplitudes A_j ~ U[-max, max]")
    max_omega: float = number(0.4, 0.0, 1e3, "forcing frequencies omega_j ~ U[-max, max]")
    wavenumbers: tuple = interval((1, 2), 0, 1000, "forcing wavenumbers l_j drawn uniformly from these integers")

    def check(self, where: str = "params") -> None:
        """The stored grid is a coarsening of the reference grid."""
        if self.reference_nx % self.nx:
            raise DatasetError(f"{where}.nx = {self.nx} does not divide reference_nx = {self.reference_nx}")


def line_of_cell_centres(nx: int, length: float = DOMAIN_LENGTH) -> Mesh:
    """Line mesh of the ``nx`` cell centres of [0, length): points (nx, 1), cells (nx - 1, 2)
    joining consecutive centres (not across the periodic seam), no boundary names."""
    first = np.arange(nx - 1)
    return Mesh(cell_centres(nx, length)[:, None], np.stack([first, first + 1], axis=1), validate=False)


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
        DatasetError: nx does not divide reference_nx.
        FloatingPointError: the reference solve failed or blew up (the runner records the
            sample as failed).
    """
    params.check()
    equation, forcing = draw_equation(params, rng)
    try:
        times, u = solve_combined_equation(equation, forcing, params.reference_nx, params.t_end)
    except RuntimeError as error:
        raise FloatingPointError(str(error)) from error
    u = coarsen(u, params.reference_nx // params.nx)
    return make_sample(line_of_cell_centres(params.nx), {"u": u[:, :, None]},
                       {"alpha": equation.alpha, "beta": equation.beta, "gamma": equation.gamma,
                        "forcing_amplitudes": forcing.amplitudes, "forcing_omegas": forcing.omegas,
                        "forcing_phases": forcing.phases, "forcing_wavenumbers": forcing.wavenumbers},
                       times=times)
