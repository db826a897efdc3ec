"""What a mesh mover reports: iterations, residual history, equidistribution, tangling, time."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..mesh import Mesh
from ..mesh.errors import format_ids
from ..mesh.geometry import signed_measures
from .errors import MovementError


def tangled_cells(reference: Mesh, points: np.ndarray) -> np.ndarray:
    """Ids of the cells whose signed area on ``points`` (N, 2) has the opposite sign of (or is
    zero where it was not on) the ``reference`` mesh."""
    before = np.sign(reference.signed_measures)
    after = np.sign(signed_measures(np.asarray(points, dtype=np.float64), reference.cells))
    return np.flatnonzero(after != before)


def check_untangled(reference: Mesh, points: np.ndarray, when: str) -> None:
    """Raise `MovementError` naming the cells that changed the sign of their signed area."""
    bad = tangled_cells(reference, points)
    if len(bad):
        raise MovementError(f"the mesh tangled {when}: cells {format_ids(bad)} changed the sign of their "
                            f"signed area")


def equidistribution(mesh: Mesh, monitor_values: np.ndarray) -> tuple[float, float]:
    """Coefficient of variation (std / mean) and max / min over cells of ``int_K m`` (the monitor
    times the cell area, exact for P1 m): both 0 / 1 for a perfectly equidistributed mesh."""
    mass = mesh.cell_measures * np.asarray(monitor_values)[mesh.cells].mean(axis=1)
    return float(mass.std() / mass.mean()), float(mass.max() / mass.min())


@dataclass(frozen=True, eq=False)
class MovementReport:
    """Summary of one mesh movement.

    Attributes:
        method: ``"relaxation"``, ``"quasi_newton"``, ``"um2n"``, ``"dmm"``, ...
        iterations: potential updates made (0: the input already met the tolerance).
        converged: the relative residual reached ``rtol`` (always True for a learned mover).
        residuals: relative residual ``||int psi (m det(I + H) - theta)|| / ||int psi theta||`` before
            each update and at the end (empty for learned movers).
        equidistribution_cv: std / mean over cells of ``m * cell area`` on the moved mesh.
        equidistribution_ratio: max / min of the same.
        area_ratio: smallest over largest cell area of the moved mesh.
        tangled_cells: ids of cells whose signed area changed sign (empty for an accepted mesh).
        seconds: wall time of the movement.
    """

    method: str
    iterations: int
    converged: bool
    residuals: tuple = ()
    equidistribution_cv: float = float("nan")
    equidistribution_ratio: float = float("nan")
    area_ratio: float = float("nan")
    tangled_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    seconds: float = 0.0

    def summary(self) -> str:
        """Several lines for the command line."""
        residual = f", final residual {self.residuals[-1]:.3e}" if self.residuals else ""
        return "\n".join([
            f"method {self.method}: {self.iterations} iterations, converged {self.converged}{residual}",
            f"equidistribution of m * area: std/mean {self.equidistribution_cv:.4f}, "
            f"max/min {self.equidistribution_ratio:.3f}",
            f"cell area min/max {self.area_ratio:.4f}; tangled cells {len(self.tangled_cells)}; "
            f"time {self.seconds:.3f} s"])

    def to_dict(self) -> dict:
        """JSON-friendly dict."""
        return {"method": self.method, "iterations": self.iterations, "converged": self.converged,
                "residuals": [float(r) for r in self.residuals],
                "equidistribution_cv": self.equidistribution_cv,
                "equidistribution_ratio": self.equidistribution_ratio, "area_ratio": self.area_ratio,
                "tangled_cells": [int(i) for i in self.tangled_cells], "seconds": self.seconds}


@dataclass(frozen=True, eq=False)
class MovementResult:
    """A moved mesh (same cells and boundaries, moved points), its ``report``, and for the
    Monge-Ampere mover the nodal ``potential`` phi (N,) with ``x = xi + grad phi``."""

    mesh: Mesh
    report: MovementReport
    potential: np.ndarray | None = None


def report_for(method: str, computational: Mesh, points: np.ndarray, monitor_values: np.ndarray, *,
               iterations: int, converged: bool, residuals=(), seconds: float = 0.0) -> MovementReport:
    """`MovementReport` of moved ``points`` with the monitor evaluated there."""
    moved = computational.with_points(points, validate=False)
    cv, ratio = equidistribution(moved, monitor_values)
    areas = moved.cell_measures
    return MovementReport(method=method, iterations=iterations, converged=converged,
                          residuals=tuple(float(r) for r in residuals), equidistribution_cv=cv,
                          equidistribution_ratio=ratio, area_ratio=float(areas.min() / areas.max()),
                          tangled_cells=tangled_cells(computational, points), seconds=seconds)
