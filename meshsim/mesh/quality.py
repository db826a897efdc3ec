"""Mesh quality: cell measures, angles, aspect ratios, inverted cells, one-line summary."""
from __future__ import annotations

import numpy as np

from .geometry import cell_edge_lengths, signed_measures


def cell_measures(mesh) -> np.ndarray:
    """(M,) unsigned cell length / area / volume."""
    return np.abs(signed_measures(mesh.points, mesh.cells))


def count_inverted(mesh) -> int:
    """Number of negatively oriented cells (0 for embedded simplices, which have no sign)."""
    return int((signed_measures(mesh.points, mesh.cells) < 0).sum())


def min_angles(mesh) -> np.ndarray:
    """(M,) smallest interior angle of each triangle, in degrees.

    For tetrahedra, the smallest dihedral angle; for lines, 180 (no angle to speak of).
    """
    p, c = mesh.points, mesh.cells
    if c.shape[1] == 2:
        return np.full(len(c), 180.0)
    if c.shape[1] == 3:
        angles = []
        for i in range(3):
            u = p[c[:, (i + 1) % 3]] - p[c[:, i]]
            v = p[c[:, (i + 2) % 3]] - p[c[:, i]]
            cos = np.einsum("md,md->m", u, v) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
            angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        return np.min(angles, axis=0)
    # tetra: dihedral angle along edge (a, b) between the faces (a, b, c) and (a, b, d)
    dihedral = []
    for a, b, cc, d in ((0, 1, 2, 3), (0, 2, 1, 3), (0, 3, 1, 2), (1, 2, 0, 3), (1, 3, 0, 2), (2, 3, 0, 1)):
        e = p[c[:, b]] - p[c[:, a]]
        n1 = np.cross(e, p[c[:, cc]] - p[c[:, a]])
        n2 = np.cross(e, p[c[:, d]] - p[c[:, a]])
        cos = np.einsum("md,md->m", n1, n2) / (np.linalg.norm(n1, axis=1) * np.linalg.norm(n2, axis=1))
        dihedral.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.min(dihedral, axis=0)


def aspect_ratios(mesh) -> np.ndarray:
    """(M,) longest edge over the inradius-based height, normalised to 1 for a regular simplex.

    Triangles: ``h_max / (2 sqrt(3) r)``; tetrahedra: ``h_max / (2 sqrt(6) r)``, with r the inradius;
    lines: 1.
    """
    c = mesh.cells
    if c.shape[1] == 2:
        return np.ones(len(c))
    lengths = cell_edge_lengths(mesh.points, c)
    measure = cell_measures(mesh)
    if c.shape[1] == 3:
        inradius = 2.0 * measure / lengths.sum(axis=1)
        return lengths.max(axis=1) / (2.0 * np.sqrt(3.0) * inradius)
    p = mesh.points
    faces = ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2))
    area = sum(0.5 * np.linalg.norm(np.cross(p[c[:, j]] - p[c[:, i]], p[c[:, k]] - p[c[:, i]]), axis=1)
               for i, j, k in faces)
    inradius = 3.0 * measure / area
    return lengths.max(axis=1) / (2.0 * np.sqrt(6.0) * inradius)


def summary(mesh) -> str:
    """One line: cell type, N, M, dimension, edge-length range, min angle, inverted cells, boundaries."""
    lengths = cell_edge_lengths(mesh.points, mesh.cells)
    parts = [f"Mesh({mesh.cell_type}, N={mesh.num_points}, M={mesh.num_cells}, dim={mesh.dim}",
             f"h=[{lengths.min():.3g}, {lengths.max():.3g}]"]
    if mesh.cells.shape[1] > 2:
        parts.append(f"min_angle={min_angles(mesh).min():.1f}deg")
    parts.append(f"inverted={count_inverted(mesh)}")
    parts.append(f"boundaries={sorted(mesh.boundary)})")
    return ", ".join(parts)
