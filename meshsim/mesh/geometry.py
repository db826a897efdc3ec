"""Vectorised simplex geometry: signed measures, edges, facets.

All functions take ``points (N, dim) float64`` and ``cells (M, k) int64`` and loop over
nothing but the (at most 4) vertices of a simplex.
"""
from __future__ import annotations

import math

import numpy as np

#: cell type name by number of vertices per cell
CELL_TYPES = {2: "line", 3: "triangle", 4: "tetra"}


def signed_measures(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Signed length / area / volume of each cell, shape (M,).

    Positive for positively oriented cells (counter-clockwise triangles, right-handed tets,
    lines pointing along +x) when the simplex dimension equals the space dimension. For
    embedded simplices (a triangle in 3D, a line in 2D) the unsigned measure is returned.
    """
    k = cells.shape[1]
    dim = points.shape[1]
    v0 = points[cells[:, 0]]
    edges = np.stack([points[cells[:, i]] - v0 for i in range(1, k)], axis=1)  # (M, k-1, dim)
    if k - 1 == dim:
        return np.linalg.det(edges) / math.factorial(dim) if dim > 1 else edges[:, 0, 0]
    gram = np.einsum("mid,mjd->mij", edges, edges)
    return np.sqrt(np.clip(np.linalg.det(gram), 0.0, None)) / math.factorial(k - 1)


def cell_edge_lengths(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Length of every edge of every cell, shape (M, k(k-1)/2)."""
    a, b = np.triu_indices(cells.shape[1], k=1)
    return np.linalg.norm(points[cells[:, b]] - points[cells[:, a]], axis=-1)


def unique_edges(cells: np.ndarray) -> np.ndarray:
    """Each undirected edge of the cells once, shape (E, 2), rows (i < j) in lexicographic order."""
    a, b = np.triu_indices(cells.shape[1], k=1)
    pairs = np.sort(np.stack([cells[:, a], cells[:, b]], axis=-1).reshape(-1, 2), axis=1)
    return np.unique(pairs, axis=0)


def cell_facets(cells: np.ndarray) -> np.ndarray:
    """All facets of all cells, shape (M, k, k-1): facet ``i`` of a cell omits its vertex ``i``."""
    k = cells.shape[1]
    return np.stack([np.delete(cells, i, axis=1) for i in range(k)], axis=1)


def boundary_facets(cells: np.ndarray) -> np.ndarray:
    """Facets that belong to exactly one cell (the topological boundary), shape (F, k-1).

    Each facet keeps the vertex order that makes it outward oriented for a positively
    oriented cell in 2D (for tets the order is the cell's, omitting one vertex).
    """
    k = cells.shape[1]
    facets = cell_facets(cells).reshape(-1, k - 1)
    if k == 3:  # outward order for CCW triangles: (v1, v2), (v2, v0), (v0, v1)
        facets = cells[:, [[1, 2], [2, 0], [0, 1]]].reshape(-1, 2)
    key = np.sort(facets, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return facets[counts[inverse.ravel()] == 1]


def orient_cells(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Copy of ``cells`` with vertices 0 and 1 swapped in every negatively oriented cell,
    so that all cells have positive signed measure (for full-dimensional simplices)."""
    cells = np.array(cells, dtype=np.int64, copy=True)
    flip = signed_measures(points, cells) < 0
    cells[flip, 0], cells[flip, 1] = cells[flip, 1], cells[flip, 0].copy()
    return cells
