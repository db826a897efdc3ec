"""Checks of cells read from files: folded (inverted) cells and duplicate cells.

A file may order the nodes of its cells either way round: some tools write clockwise triangles,
some do not care. Reversing such a cell's node order changes nothing geometrically, so `read`
does it silently. A *folded* cell is different: its node order agrees with its neighbours' (each
shared facet is traversed in opposite directions by the two cells, as in a consistently
oriented mesh) but its signed measure has the opposite sign, so it overlaps them; reversing it
would hide a broken mesh. `orientation` tells the two apart: after every negatively oriented
cell is reversed, a folded cell is left sharing a facet with a neighbour that induces the same
orientation on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import cell_facets, orient_cells, signed_measures


@dataclass(frozen=True)
class Orientation:
    """``cells`` positively oriented; ``reversed_ids`` the cells whose node order was reversed;
    ``folded_ids`` those of them (or of the others) that overlap their neighbours."""

    cells: np.ndarray
    reversed_ids: np.ndarray
    folded_ids: np.ndarray


def _permutation_parity(rows: np.ndarray) -> np.ndarray:
    """(F,) +1 or -1: parity of the permutation sorting each row of distinct values."""
    k = rows.shape[1]
    inversions = sum((rows[:, a] > rows[:, b]).astype(np.int64) for a in range(k) for b in range(a + 1, k))
    return 1 - 2 * (inversions % 2)


def orientation_conflicts(cells: np.ndarray) -> np.ndarray:
    """(M,) bool: cells sharing a facet with a cell that induces the same orientation on it
    (in a consistently oriented mesh, the two cells at an interior facet induce opposite ones).
    Facets shared by more than two cells are ignored."""
    k = cells.shape[1]
    facets = cell_facets(cells).reshape(-1, k - 1)  # facet i of a cell omits its vertex i
    sign = np.tile(1 - 2 * (np.arange(k) % 2), len(cells)) * _permutation_parity(facets)
    _, inverse, counts = np.unique(np.sort(facets, axis=1), axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    shared = np.flatnonzero(counts[inverse] == 2)
    order = shared[np.argsort(inverse[shared], kind="stable")]  # the two occurrences of a facet side by side
    first, second = order[0::2], order[1::2]
    conflict = sign[first] == sign[second]
    bad = np.zeros(len(cells), bool)
    bad[first[conflict] // k] = True
    bad[second[conflict] // k] = True
    return bad


def orientation(points: np.ndarray, cells: np.ndarray) -> Orientation:
    """Positively oriented cells, with the cells reversed and the folded ones (module docstring).

    For embedded cells (a triangle in 3D) there is no sign: nothing is reversed or folded.
    Folded cells are the cells next to a conflict (`orientation_conflicts`) whose original sign
    is the less common one in the mesh (all cells next to conflicts if the signs are tied).
    """
    measures = signed_measures(points, cells)
    negative = measures < 0
    oriented = orient_cells(points, cells)
    if cells.shape[1] - 1 != points.shape[1] or not negative.any():
        empty = np.zeros(0, np.int64)
        return Orientation(oriented, np.flatnonzero(negative), empty)
    near = orientation_conflicts(oriented)
    minority = negative if negative.sum() < (~negative).sum() else ~negative
    if negative.sum() * 2 == len(cells):
        minority = np.ones(len(cells), bool)
    return Orientation(oriented, np.flatnonzero(negative), np.flatnonzero(near & minority))


def duplicate_cells(cells: np.ndarray) -> np.ndarray:
    """Ids of cells with the same nodes as an earlier cell (in any order), ascending."""
    _, first = np.unique(np.sort(cells, axis=1), axis=0, return_index=True)
    keep = np.zeros(len(cells), bool)
    keep[first] = True
    return np.flatnonzero(~keep)
