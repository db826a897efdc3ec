"""Monitor functions: where a moved mesh should concentrate its nodes (large m = small cells).

Each monitor is ``(mesh, ...) -> (N,)`` positive nodal values. The Monge-Ampere mover takes a
callable of the moved mesh, so a monitor can be re-evaluated (even re-solving a PDE) on every
iterate, e.g. ``lambda moved: ring_monitor(moved)``; `interpolated` turns nodal values on a fixed
mesh into such a callable.

Gradients and Hessians of a P1 field are recovered by L2 projection (see `TriangleP1`): the
gradient ``M g = int phi grad u``, the Hessian ``M H = -int div(phi) grad u + boundary term``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse.linalg as spla

from ..mesh import Mesh
from .errors import MovementError
from .p1 import TriangleP1

Monitor = Callable[[Mesh], np.ndarray]


def _field(mesh: Mesh, u) -> np.ndarray:
    values = np.asarray(u, dtype=np.float64).reshape(-1)
    if values.shape != (mesh.num_points,) or not np.isfinite(values).all():
        raise MovementError(f"the field must hold one finite value per mesh point ({mesh.num_points}), "
                            f"got shape {np.shape(u)}")
    return values


def recover_gradient(mesh: Mesh, u, operators: TriangleP1 | None = None) -> np.ndarray:
    """(N, 2) L2-projected gradient of the P1 field ``u`` (N,)."""
    ops = operators or TriangleP1.of(mesh)
    u = _field(mesh, u)
    lu = spla.splu(ops.mass.tocsc())
    return np.column_stack([lu.solve(ops.gradient_matrix(k) @ u) for k in (0, 1)])


def recover_hessian(mesh: Mesh, u, operators: TriangleP1 | None = None) -> np.ndarray:
    """(N, 2, 2) L2-projected Hessian of the P1 field ``u`` (N,): ``int tau : H = -int div(tau) .
    grad u + int_boundary (tau n) . grad u`` for all P1 tensors tau (UM2N's recovery)."""
    ops = operators or TriangleP1.of(mesh)
    u = _field(mesh, u)
    return spla.splu(ops.mass.tocsc()).solve(ops.hessian_loads(u)).reshape(-1, 2, 2)


#: a recovered derivative below this fraction of the field's scale (max |u| / h^k) is rounding noise
NEGLIGIBLE = 1e-8


def _normalised(values: np.ndarray, alpha: float, floor: float) -> np.ndarray:
    """``1 + alpha values / max(values)``; 1 everywhere when the largest value is at most
    ``floor`` (a derivative that is zero up to rounding must not be blown up to alpha)."""
    top = float(values.max())
    return 1.0 + alpha * (values / top if top > floor else np.zeros_like(values))


def _scale(mesh: Mesh, u: np.ndarray, order: int) -> float:
    """max |u| / h_min^order: the size of an order-th derivative of u resolvable on the mesh."""
    corners = mesh.points[mesh.cells]
    h = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).min()
    return float(np.abs(u).max()) / h**order


def ring_monitor(mesh: Mesh, centre=(0.5, 0.5), radius: float = 0.4, amplitude: float = 20.0,
                 width: float = 200.0) -> np.ndarray:
    """``1 + alpha / cosh^2(beta (|x - c|^2 - gamma^2))`` (alpha ``amplitude``, beta ``width``,
    gamma ``radius``): resolution concentrated on the circle of radius gamma around c; the
    reference package's ring monitor."""
    r2 = ((mesh.points[:, :2] - np.asarray(centre, dtype=np.float64)) ** 2).sum(axis=1)
    decay = np.exp(-2.0 * np.abs(width * (r2 - radius**2)))  # 1 / cosh^2 z = 4 e^{-2|z|} / (1 + e^{-2|z|})^2
    return 1.0 + amplitude * 4.0 * decay / (1.0 + decay) ** 2


def gradient_monitor(mesh: Mesh, u, alpha: float = 5.0, operators: TriangleP1 | None = None) -> np.ndarray:
    """``1 + alpha |grad u|^2 / max |grad u|^2`` with the gradient of the P1 field ``u`` recovered by
    L2 projection."""
    g = recover_gradient(mesh, u, operators)
    return _normalised((g**2).sum(axis=1), alpha, (NEGLIGIBLE * _scale(mesh, _field(mesh, u), 1)) ** 2)


def hessian_monitor(mesh: Mesh, u, alpha: float = 5.0, norm: str = "double_dot",
                    operators: TriangleP1 | None = None) -> np.ndarray:
    """``1 + alpha H:H / max H:H`` (``norm="double_dot"``, UM2N's monitor) or
    ``1 + alpha ||H||_F / max ||H||_F`` (``norm="frobenius"``, the reference package's demo), with H
    the L2-projected Hessian of the P1 field ``u``."""
    if norm not in ("double_dot", "frobenius"):
        raise MovementError(f"norm must be 'double_dot' or 'frobenius', got {norm!r}")
    h = recover_hessian(mesh, u, operators)
    squared = (h**2).sum(axis=(1, 2))
    floor = NEGLIGIBLE * _scale(mesh, _field(mesh, u), 2)
    return _normalised(squared if norm == "double_dot" else np.sqrt(squared), alpha,
                       floor**2 if norm == "double_dot" else floor)


def smooth(mesh: Mesh, values, passes: int = 1, operators: TriangleP1 | None = None) -> np.ndarray:
    """Nodal values averaged ``passes`` times by the lumped L2 projection of their cell means
    (each pass replaces a node's value by the area-weighted mean over its cells)."""
    ops = operators or TriangleP1.of(mesh)
    out = _field(mesh, values)
    share = np.abs(ops.areas) / 3.0  # each vertex's share of its cell's area
    for _ in range(int(passes)):
        cell_mean = out[ops.cells].mean(axis=1)
        out = np.bincount(ops.cells.ravel(), weights=np.repeat(cell_mean * share, 3),
                          minlength=mesh.num_points) / ops.lumped_mass
    return out


def interpolated(mesh: Mesh, values) -> Monitor:
    """A monitor callable that evaluates the P1 interpolant of nodal ``values`` (N,) on ``mesh`` at
    the points of a moved mesh (of the same domain): the monitor moves with the physical
    position, not with the nodes."""
    from .interpolation import PointLocator

    locator = PointLocator(mesh)
    values = _field(mesh, values)

    def monitor(moved: Mesh) -> np.ndarray:
        return locator.interpolate(values, moved.points)

    return monitor
