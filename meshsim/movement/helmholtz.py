"""The Helmholtz benchmark of mesh movement: ``-Laplace u + u = f`` on the unit square with a sum
of anisotropic Gaussian bumps as exact solution (the reference `movement` package's Helmholtz demo
and UM2N's training set), its P1 solution, and FEM errors against the exact solution on the mesh
or on a fine reference mesh.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla

from ..mesh import Mesh
from .interpolation import PointLocator
from .p1 import TriangleP1

#: quadrature degree of the load (the bumps are narrow: 0.1 wide on h = 0.05 cells) and of errors
LOAD_ORDER = 6
ERROR_ORDER = 8


@dataclass(frozen=True, eq=False)
class GaussianBumps:
    """``u(x, y) = sum_i z_i exp(-((x - mx_i)^2 / sx_i^2 + (y - my_i)^2 / sy_i^2))``.

    Attributes:
        centres: (n, 2) bump centres (mx, my).
        widths: (n, 2) widths (sx, sy).
        heights: (n,) amplitudes z.
    """

    centres: np.ndarray
    widths: np.ndarray
    heights: np.ndarray

    def __post_init__(self):
        for name in ("centres", "widths", "heights"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))

    @classmethod
    def demo(cls) -> "GaussianBumps":
        """The reference package's Helmholtz demo: ``exp(-((x - 0.51)^2 + (y - 0.65)^2) / 0.1^2)``."""
        return cls(centres=[[0.51, 0.65]], widths=[[0.1, 0.1]], heights=[1.0])

    @classmethod
    def random(cls, rng: np.random.Generator, max_bumps: int = 6, sigma_mean: float = 0.25,
               sigma_std: float = 1 / 6, sigma_min: float = 1 / 8) -> "GaussianBumps":
        """UM2N's random solutions: n ~ U{1..max_bumps}, centres ~ U(0, 1)^2, widths ~
        max(N(sigma_mean, sigma_std), sigma_min) per axis, heights ~ U(0, 1)."""
        n = int(rng.integers(1, max_bumps + 1))
        centres = rng.uniform(0.0, 1.0, (n, 2))
        widths = np.maximum(rng.normal(sigma_mean, sigma_std, (n, 2)), sigma_min)
        heights = rng.uniform(0.0, 1.0, n)
        return cls(centres, widths, heights)

    def _parts(self, x):
        x = np.asarray(x, dtype=np.float64)
        shape = (-1,) + (1,) * (x.ndim - 1)
        d = [(x[k][None] - self.centres[:, k].reshape(shape)) for k in (0, 1)]
        s2 = [self.widths[:, k].reshape(shape) ** 2 for k in (0, 1)]
        e = self.heights.reshape(shape) * np.exp(-(d[0] ** 2 / s2[0] + d[1] ** 2 / s2[1]))
        return d, s2, e

    def value(self, x) -> np.ndarray:
        """u at points ``x`` (2, ...) -> (...)."""
        return self._parts(x)[2].sum(axis=0)

    def gradient(self, x) -> np.ndarray:
        """grad u at ``x`` (2, ...) -> (2, ...)."""
        d, s2, e = self._parts(x)
        return np.stack([(-2.0 * d[k] / s2[k] * e).sum(axis=0) for k in (0, 1)])

    def hessian(self, x) -> np.ndarray:
        """Hessian of u at ``x`` (2, ...) -> (2, 2, ...)."""
        d, s2, e = self._parts(x)
        diag = [((4.0 * d[k] ** 2 / s2[k] ** 2 - 2.0 / s2[k]) * e).sum(axis=0) for k in (0, 1)]
        off = (4.0 * d[0] * d[1] / (s2[0] * s2[1]) * e).sum(axis=0)
        return np.stack([np.stack([diag[0], off]), np.stack([off, diag[1]])])

    def source(self, x) -> np.ndarray:
        """``f = -Laplace u + u`` at ``x`` (2, ...) -> (...)."""
        h = self.hessian(x)
        return -(h[0, 0] + h[1, 1]) + self.value(x)

    def to_params(self, max_bumps: int = 6) -> dict:
        """Fixed-size arrays for a dataset sample: count and zero-padded (max_bumps,) values."""
        n = len(self.heights)
        pad = lambda v: np.concatenate([v, np.zeros(max_bumps - n)])  # noqa: E731
        return {"num_bumps": float(n), "mu_x": pad(self.centres[:, 0]), "mu_y": pad(self.centres[:, 1]),
                "sigma_x": pad(self.widths[:, 0]), "sigma_y": pad(self.widths[:, 1]), "z": pad(self.heights)}

    @classmethod
    def from_params(cls, params: dict) -> "GaussianBumps":
        """Inverse of `to_params`."""
        n = int(round(float(np.asarray(params["num_bumps"]))))
        get = lambda k: np.asarray(params[k], dtype=np.float64)[:n]  # noqa: E731
        return cls(np.column_stack([get("mu_x"), get("mu_y")]), np.column_stack([get("sigma_x"), get("sigma_y")]),
                   get("z"))


def unit_square_grid(n: int, diagonal: str = "left") -> Mesh:
    """Uniform n x n square grid of the unit square, each square cut in two along its diagonal from
    top left to bottom right (``"left"``, Firedrake's UnitSquareMesh default) or bottom left to top
    right (``"right"``); boundaries ``left``, ``right``, ``bottom``, ``top``."""
    if diagonal not in ("left", "right"):
        raise ValueError(f"diagonal must be 'left' or 'right', got {diagonal!r}")
    t = np.linspace(0.0, 1.0, n + 1)
    points = np.column_stack([np.repeat(t, n + 1), np.tile(t, n + 1)])  # node (i, j) = i (n+1) + j
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    v00, v01 = i * (n + 1) + j, i * (n + 1) + j + 1
    v11, v10 = (i + 1) * (n + 1) + j + 1, (i + 1) * (n + 1) + j
    halves = ((v00, v10, v01), (v01, v10, v11)) if diagonal == "left" else ((v00, v10, v11), (v00, v11, v01))
    cells = np.concatenate([np.stack(half, -1).reshape(-1, 3) for half in halves])
    side = np.arange(n)
    boundary = {"left": np.stack([side, side + 1], 1),
                "right": np.stack([n * (n + 1) + side, n * (n + 1) + side + 1], 1),
                "bottom": np.stack([side * (n + 1), (side + 1) * (n + 1)], 1),
                "top": np.stack([side * (n + 1) + n, (side + 1) * (n + 1) + n], 1)}
    return Mesh(points, cells, boundary)


def solve_helmholtz(mesh: Mesh, u: GaussianBumps, operators: TriangleP1 | None = None) -> np.ndarray:
    """(N,) P1 solution of ``-Laplace u + u = f`` with u's values on the whole boundary (Dirichlet),
    the load integrated by a degree-6 rule (the bumps are 0.1 wide on h = 0.05 cells)."""
    ops = operators or TriangleP1.of(mesh)
    matrix = (ops.stiffness + ops.mass).tocsr()
    load = ops.load(u.source(ops.quadrature_points(LOAD_ORDER).T), LOAD_ORDER)
    boundary = ops.boundary_nodes
    free = np.ones(mesh.num_points, dtype=bool)
    free[boundary] = False
    values = np.empty(mesh.num_points)
    values[boundary] = u.value(mesh.points[boundary].T)
    rhs = load[free] - matrix[free][:, boundary] @ values[boundary]
    values[free] = spla.splu(matrix[free][:, free].tocsc()).solve(rhs)
    return values


def l2_error(mesh: Mesh, values: np.ndarray, u: GaussianBumps, operators: TriangleP1 | None = None) -> float:
    """``||u_h - u||_L2`` of the P1 field ``values`` (N,) against the exact u (degree-8 rule)."""
    ops = operators or TriangleP1.of(mesh)
    interpolate, dx = ops.quadrature(ERROR_ORDER)
    difference = interpolate @ values - u.value(ops.quadrature_points(ERROR_ORDER).T)
    return float(np.sqrt((dx * difference**2).sum()))


def helmholtz_error(mesh: Mesh, u: GaussianBumps) -> float:
    """L2 error of the P1 Helmholtz solution on ``mesh`` against the exact u."""
    ops = TriangleP1.of(mesh)
    return l2_error(mesh, solve_helmholtz(mesh, u, ops), u, ops)


class FineReference:
    """L2 errors measured on a fine mesh, as UM2N does: the coarse P1 solution is L2-projected onto
    the fine P1 space and compared with the exact solution's fine P1 interpolant."""

    def __init__(self, fine: Mesh):
        self.mesh = fine
        self.ops = TriangleP1.of(fine)
        self.mass_lu = spla.splu(self.ops.mass.tocsc())
        self.quadrature_points = self.ops.quadrature_interpolation @ fine.points  # (MQ, 2)

    def error(self, mesh: Mesh, values: np.ndarray, u: GaussianBumps) -> float:
        """L2 error of the P1 field ``values`` (N,) on ``mesh`` against u, on the fine mesh."""
        coarse = PointLocator(mesh).interpolate(values, self.quadrature_points)
        projected = self.mass_lu.solve(self.ops.load(coarse))
        difference = projected - u.value(self.mesh.points.T)
        return float(np.sqrt(difference @ (self.ops.mass @ difference)))
