"""Mesh movement (r-adaptation) on the shared `Mesh`: monitor functions and the Monge-Ampere mover
(relaxation and quasi-Newton), the reference for and data generator of the learned movers.

    from meshsim.movement import monge_ampere, ring_monitor
    result = monge_ampere(mesh, ring_monitor, method="quasi_newton")
    result.mesh, result.report            # same cells, moved points; iterations, residuals, ...
"""
from .boundary import SlidingBoundary
from .errors import MovementError
from .helmholtz import FineReference, GaussianBumps, helmholtz_error, l2_error, solve_helmholtz, unit_square_grid
from .interpolation import PointLocator
from .monge_ampere import METHODS, identity_residual, monge_ampere
from .monitors import (gradient_monitor, hessian_monitor, interpolated, recover_gradient, recover_hessian,
                       ring_monitor, smooth)
from .p1 import TriangleP1
from .report import MovementReport, MovementResult, check_untangled, equidistribution, tangled_cells

__all__ = [
    "MovementError", "SlidingBoundary", "TriangleP1", "PointLocator",
    "monge_ampere", "identity_residual", "METHODS", "MovementReport", "MovementResult", "check_untangled",
    "equidistribution",
    "tangled_cells",
    "ring_monitor", "gradient_monitor", "hessian_monitor", "recover_gradient", "recover_hessian", "smooth",
    "interpolated",
    "GaussianBumps", "unit_square_grid", "solve_helmholtz", "helmholtz_error", "l2_error", "FineReference",
]
