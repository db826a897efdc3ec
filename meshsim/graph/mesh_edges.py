"""Edge lists of meshes and grids, numpy only (no torch), so dataset generation workers can
store a mesh's edges without importing torch."""
from __future__ import annotations

import numpy as np


def mesh_edge_index(cells: np.ndarray, num_nodes: int) -> np.ndarray:
    """(2, E) int64 directed edges of the cells: each mesh edge once in each direction.

    Row 0 holds sources, row 1 targets; columns are sorted by target, then by source, with no
    duplicates and no self loops (a cell with a repeated node, possible with ``validate=False``,
    adds no loop). Works for any simplex cells (M, k): every vertex pair of a cell is an edge.

    Each directed edge (s, t) is encoded as the int64 key ``t * N + s``; one sort of the keys
    orders the edges and puts duplicates side by side.
    """
    cells = np.asarray(cells, dtype=np.int64)
    a, b = np.triu_indices(cells.shape[1], k=1)
    first, second = np.take(cells, a, axis=1), np.take(cells, b, axis=1)  # (M, pairs per cell)
    keys = np.empty((2,) + first.shape, dtype=np.int64)
    np.multiply(second, num_nodes, out=keys[0])
    keys[0] += first
    np.multiply(first, num_nodes, out=keys[1])
    keys[1] += second
    keys = keys.reshape(-1)
    keys.sort()
    keep = np.empty(keys.size, dtype=bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    keys = keys[keep]
    target, source = np.divmod(keys, num_nodes)
    loops = source == target
    if loops.any():
        source, target = source[~loops], target[~loops]
    return np.stack([source, target])


def line_neighbour_edges(num_nodes: int, neighbours: int) -> np.ndarray:
    """(2, E) int64 edges of ``num_nodes`` points on a line (a 1D grid), each receiving from the
    points up to ``neighbours`` positions away on either side, not across the ends (MP-PDE's
    graph on a periodic grid also stops at the seam); sorted by target, then source."""
    if num_nodes < 1 or neighbours < 1:
        raise ValueError(f"need num_nodes >= 1 and neighbours >= 1, got {num_nodes}, {neighbours}")
    offsets = np.array([o for o in range(-neighbours, neighbours + 1) if o], dtype=np.int64)
    target = np.repeat(np.arange(num_nodes, dtype=np.int64), len(offsets))
    source = target + np.tile(offsets, num_nodes)
    keep = (source >= 0) & (source < num_nodes)
    return np.stack([source[keep], target[keep]])
