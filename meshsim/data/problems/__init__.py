"""The problems a recipe can name: for each, a parameter dataclass and a function
``sample(params, rng) -> Sample`` that draws one sample's parameters from ``rng`` and solves it.

`PROBLEMS` maps a recipe's ``problem`` key to its `Problem`; it is a fixed table, not a registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..sample import Sample
from .cylinder_flow import CylinderFlowParams, sample_cylinder_flow
from .darcy import DarcyParams, draw_darcy, sample_darcy
from .elasticity import ElasticityParams, sample_elasticity
from .heat import HeatParams, draw_heat, sample_heat
from .heat_parametric import HeatParametricParams, sample_heat_parametric
from .helmholtz_movement import HelmholtzMovementParams, sample_helmholtz_movement
from .mpm import MPMParams, sample_mpm
from .mppde import MPPDEParams, sample_mppde
from .nbody import ChargedNBodyParams, GravityNBodyParams, sample_charged_nbody, sample_gravity_nbody
from .poisson import PoissonParams, draw_poisson, sample_poisson


@dataclass(frozen=True)
class Problem:
    """A kind of sample a recipe can generate.

    Attributes:
        params: parameter dataclass (see `meshsim.data.params`).
        sample: ``sample(params, rng) -> Sample``; deterministic given ``rng``.
        inputs: fields a model reads (graph ``x``), e.g. coefficients.
        targets: fields a model predicts (graph ``y``); for trajectories, the evolving state.
        description: one line for the dataset card.
        draw: for problems that solve linear systems, ``draw(params, rng) -> Draft``: the
            sample drawn but not solved, so a shard solves its samples as one sequence
            (`meshsim.data.shard_sampling`); None for the others.
    """

    params: type
    sample: Callable[[Any, np.random.Generator], Sample]
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    description: str = ""
    draw: Callable[[Any, np.random.Generator], Any] | None = None


PROBLEMS: Mapping[str, Problem] = {
    "poisson": Problem(PoissonParams, sample_poisson, inputs=("kappa", "f"), targets=("u",),
                       description="-div(kappa grad u) = f, u = 0 on every boundary", draw=draw_poisson),
    "darcy": Problem(DarcyParams, sample_darcy, inputs=("a",), targets=("u",),
                     description="Darcy flow -div(a grad u) = f on the unit square, u = 0 on the boundary",
                     draw=draw_darcy),
    "heat": Problem(HeatParams, sample_heat, inputs=("kappa",), targets=("u",),
                    description="u_t = div(kappa grad u), u = 0 on every boundary, random initial state",
                    draw=draw_heat),
    "heat_parametric": Problem(HeatParametricParams, sample_heat_parametric, inputs=(), targets=("u",),
                               description="u_t = kappa Laplace u in a channel of height H with a bump of height a, "
                                           "heat in at the inlet; (H, a, kappa) per sample, one reference grid"),
    "elasticity": Problem(ElasticityParams, sample_elasticity, inputs=("load",), targets=("displacement", "von_mises"),
                          description="plane-stress plate with holes, left edge clamped, right edge pulled"),
    "cylinder_flow": Problem(CylinderFlowParams, sample_cylinder_flow, inputs=(), targets=("velocity", "pressure"),
                             description="incompressible Navier-Stokes past a cylinder, parabolic inflow"),
    "nbody_charged": Problem(ChargedNBodyParams, sample_charged_nbody, inputs=("charge",), targets=("pos", "vel"),
                             description="charged particles (Coulomb), the EGNN/SEGNO N-body benchmark"),
    "nbody_gravity": Problem(GravityNBodyParams, sample_gravity_nbody, inputs=("mass",), targets=("pos", "vel"),
                             description="self-gravitating particles, softened gravity"),
    "helmholtz_movement": Problem(HelmholtzMovementParams, sample_helmholtz_movement, inputs=("monitor", "slide"),
                                  targets=("moved",),
                                  description="Monge-Ampere moved meshes for -Laplace u + u = f with Gaussian bumps (UM2N)"),
    "mppde": Problem(MPPDEParams, sample_mppde, inputs=(), targets=("u",),
                     description="MP-PDE combined equation u_t = -alpha (u^2/2)_x + beta u_xx - gamma u_xxx + delta, "
                                 "periodic 1D"),
    "mpm": Problem(MPMParams, sample_mpm, inputs=("particle_type",), targets=("position",),
                   description="2D MLS-MPM particles (water, jelly, snow or sand): random shapes thrown into a walled box"),
}
