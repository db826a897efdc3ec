"""Evaluating P1 fields of one triangle mesh at arbitrary points (a moved mesh's nodes, a finer
mesh's quadrature points)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..mesh import Mesh
from .errors import MovementError


class PointLocator:
    """Finds the cell of ``mesh`` holding each query point and its barycentric coordinates.

    Points a little outside the mesh (rounding on a boundary) take the nearest cell by centroid
    with clipped barycentric coordinates, so a P1 field is extended by its boundary values.
    """

    def __init__(self, mesh: Mesh):
        from matplotlib.tri import Triangulation

        if mesh.cell_type != "triangle" or mesh.dim != 2:
            raise MovementError(f"point location works on 2D triangle meshes; got {mesh.cell_type} cells")
        self.points, self.cells = mesh.points, mesh.cells
        self._finder = Triangulation(self.points[:, 0], self.points[:, 1], self.cells).get_trifinder()
        self._centroids = cKDTree(self.points[self.cells].mean(axis=1))

    def locate(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P,) cell ids and (P, 3) barycentric coordinates of the points ``query`` (P, 2)."""
        query = np.asarray(query, dtype=np.float64)
        cells = np.asarray(self._finder(query[:, 0], query[:, 1]), dtype=np.int64)
        outside = cells < 0
        if outside.any():
            cells[outside] = self._centroids.query(query[outside])[1]
        corners = self.points[self.cells[cells]]  # (P, 3, 2)
        e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        rel = query - corners[:, 0]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        l1 = (rel[:, 0] * e2[:, 1] - rel[:, 1] * e2[:, 0]) / det
        l2 = (e1[:, 0] * rel[:, 1] - e1[:, 1] * rel[:, 0]) / det
        bary = np.column_stack([1.0 - l1 - l2, l1, l2])
        if outside.any():
            clipped = np.clip(bary[outside], 0.0, None)
            bary[outside] = clipped / clipped.sum(axis=1, keepdims=True)
        return cells, bary

    def interpolate(self, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        """P1 interpolant of nodal ``values`` (N,) or (N, C) at ``query`` (P, 2): (P,) or (P, C)."""
        cells, bary = self.locate(query)
        values = np.asarray(values, dtype=np.float64)
        corner_values = values[self.cells[cells]]  # (P, 3) or (P, 3, C)
        if corner_values.ndim == 2:
            return (corner_values * bary).sum(axis=1)
        return np.einsum("pkc,pk->pc", corner_values, bary)
