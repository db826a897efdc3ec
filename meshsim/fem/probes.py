"""Point evaluation of P1 (vertex) fields: a sparse matrix W (P, N) with ``W @ values`` the
piecewise-linear interpolant of vertex values (N,) at P points.

A point inside a triangle gets its barycentric weights. A point just outside the straight-sided
mesh, as a point on a curved boundary between a boundary edge and the exact curve, gets the
linear interpolant along the nearest boundary edge (its projection onto that edge), which is
the P1 field of an isoparametric element along that edge up to O(h^3) in position.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..mesh import Mesh
from .errors import FEMError

#: how far outside the mesh (relative to the nearest boundary edge's length) a point may lie
OUTSIDE_TOLERANCE = 0.05


def _barycentric(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Barycentric coordinates (P, M, 3) of points (P, 2) in triangles with corners (M, 3, 2)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1 = b - a, c - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    d = points[:, None, :] - a[None]
    l1 = (d[..., 0] * v1[:, 1] - d[..., 1] * v1[:, 0]) / det
    l2 = (v0[:, 0] * d[..., 1] - v0[:, 1] * d[..., 0]) / det
    return np.stack([1.0 - l1 - l2, l1, l2], axis=-1)


def p1_probe_matrix(mesh: Mesh, points: np.ndarray) -> sp.csr_matrix:
    """(P, N) interpolation weights of vertex values at ``points`` (P, 2) on a triangle mesh.

    Raises `FEMError` naming the first point that is neither inside a triangle nor within
    ``OUTSIDE_TOLERANCE`` edge lengths of the boundary.
    """
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if mesh.cell_type != "triangle" or points.shape[1] != 2:
        raise FEMError(f"probes need a triangle mesh and points (P, 2); got {mesh.cell_type} cells and "
                       f"points of shape {points.shape}")
    corners = mesh.points[mesh.cells]  # (M, 3, 2)
    rows, cols, weights = [], [], []
    bary = _barycentric(points, corners)
    facets = np.concatenate(list(mesh.boundary.values())) if mesh.boundary else np.zeros((0, 2), np.int64)
    for p, point in enumerate(points):
        inside = np.flatnonzero((bary[p] >= -1e-12).all(axis=1))
        if len(inside):
            cell = inside[0]
            rows += [p] * 3
            cols += list(mesh.cells[cell])
            weights += list(np.clip(bary[p, cell], 0.0, 1.0) / np.clip(bary[p, cell], 0.0, 1.0).sum())
            continue
        start, end = mesh.points[facets[:, 0]], mesh.points[facets[:, 1]]
        edge = end - start
        length2 = (edge ** 2).sum(axis=1)
        s = np.clip(((point - start) * edge).sum(axis=1) / length2, 0.0, 1.0)
        distance = np.linalg.norm(start + s[:, None] * edge - point, axis=1)
        nearest = int(np.argmin(distance))
        if distance[nearest] > OUTSIDE_TOLERANCE * np.sqrt(length2[nearest]):
            raise FEMError(f"probe point {point.tolist()} lies outside the mesh (distance "
                           f"{distance[nearest]:.3g} to the nearest boundary edge)")
        rows += [p, p]
        cols += list(facets[nearest])
        weights += [1.0 - s[nearest], s[nearest]]
    return sp.csr_matrix((weights, (rows, cols)), shape=(len(points), mesh.num_points))
