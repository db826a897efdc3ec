"""Which way each boundary node may move: slide along its straight boundary segment, or stay.

Mesh movement keeps the domain: a boundary node moves only along the straight segment it lies on
(its displacement has no normal component), and a corner (where segments with different normals
or different boundary names meet) does not move. A named boundary that bends (a discretised
curve) cannot slide and raises `MovementError` unless it is declared fixed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import scipy.sparse as sp

from ..mesh import Mesh
from ..mesh.errors import format_ids
from .errors import MovementError
from .p1 import TriangleP1

#: two unit normals closer than this (|n1 x n2| and n1 . n2 > 0) belong to one straight segment
STRAIGHT_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class SlidingBoundary:
    """Per-node movement constraint of a triangle mesh.

    Attributes:
        normals: (N, 2) unit normal of the segment a sliding node lies on; zero elsewhere.
        offsets: (N,) ``n . x`` of the segment's line for sliding nodes; zero elsewhere.
        fixed: (N,) True for nodes that may not move (corners, fixed boundaries).
    """

    normals: np.ndarray
    offsets: np.ndarray
    fixed: np.ndarray

    @property
    def sliding(self) -> np.ndarray:
        """(N,) True for nodes that slide along a segment."""
        return np.any(self.normals != 0.0, axis=1)

    @classmethod
    def of(cls, mesh: Mesh, fixed_boundaries: Iterable[str] = (), operators: TriangleP1 | None = None
           ) -> "SlidingBoundary":
        """Constraints of ``mesh``'s topological boundary; facets in no named boundary count as
        one unnamed boundary. Raises `MovementError` naming a boundary that bends, unless it is in
        ``fixed_boundaries`` (whose nodes are then all fixed)."""
        fixed_boundaries = set(fixed_boundaries)
        unknown = sorted(fixed_boundaries - set(mesh.boundary))
        if unknown:
            raise MovementError(f"fixed_boundaries: no boundary named {unknown[0]!r}; this mesh has "
                                f"{sorted(mesh.boundary)}")
        ops = operators or TriangleP1.of(mesh)
        facets, normals = ops.facets, ops.normals
        names = _facet_names(mesh, facets)
        n = mesh.num_points
        # each boundary node has two boundary facets (a 2D manifold boundary): pair them up
        ends = facets.ravel()
        which = np.repeat(np.arange(len(facets)), 2)
        order = np.argsort(ends, kind="stable")
        ends, which = ends[order], which[order]
        starts = np.flatnonzero(np.concatenate([[True], ends[1:] != ends[:-1]]))
        counts = np.diff(np.append(starts, len(ends)))
        if np.any(counts != 2):
            bad = ends[starts[counts != 2]]
            raise MovementError(f"boundary nodes {format_ids(bad)} do not have exactly two boundary facets "
                                f"(the boundary is not a set of closed curves)")
        node = ends[starts]
        first, second = which[starts], which[starts + 1]
        n1, n2 = normals[first], normals[second]
        straight = (np.abs(n1[:, 0] * n2[:, 1] - n1[:, 1] * n2[:, 0]) < STRAIGHT_TOL) & ((n1 * n2).sum(1) > 0)
        same_name = names[first] == names[second]
        kinks = same_name & ~straight
        held = np.isin(names[first], list(fixed_boundaries)) | np.isin(names[second], list(fixed_boundaries))
        bent = kinks & ~held
        if bent.any():
            name = names[first][bent][0]
            where = node[bent & (names[first] == name)]
            label = repr(name) if name else "(unnamed)"
            raise MovementError(f"boundary {label} is not straight: it bends at nodes {format_ids(where)}; nodes "
                                f"can only slide along straight segments. Declare it fixed "
                                f"(fixed_boundaries=[{label}]) to hold its nodes")
        slide = straight & same_name & ~held
        out_normals = np.zeros((n, 2))
        out_normals[node[slide]] = n1[slide]
        offsets = np.zeros(n)
        offsets[node[slide]] = (n1[slide] * mesh.points[node[slide]]).sum(axis=1)
        fixed = np.zeros(n, dtype=bool)
        fixed[node[~slide]] = True
        return cls(out_normals, offsets, fixed)

    def project(self, points: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """``points`` (N, 2) with sliding nodes put back on their segment's line and fixed nodes at
        their ``reference`` position."""
        out = np.array(points, dtype=np.float64)
        slide = self.sliding
        excess = (out[slide] * self.normals[slide]).sum(axis=1) - self.offsets[slide]
        out[slide] -= excess[:, None] * self.normals[slide]
        out[self.fixed] = reference[self.fixed]
        return out

    def free_basis(self) -> sp.csr_matrix:
        """(2N, F) basis of the allowed displacements, displacement ``d = B s`` stored as
        ``[d_x (N); d_y (N)]``: two columns per interior node, the tangent per sliding node,
        none for a fixed node."""
        n = len(self.fixed)
        slide = self.sliding
        interior = ~slide & ~self.fixed
        ids = np.arange(n)
        rows, cols, values = [], [], []
        column = 0
        for component in (0, 1):
            nodes = ids[interior]
            rows.append(component * n + nodes)
            cols.append(column + np.arange(len(nodes)))
            values.append(np.ones(len(nodes)))
            column += len(nodes)
        nodes = ids[slide]
        tangents = np.stack([-self.normals[slide, 1], self.normals[slide, 0]], axis=1)
        for component in (0, 1):
            rows.append(component * n + nodes)
            cols.append(column + np.arange(len(nodes)))
            values.append(tangents[:, component])
        column += len(nodes)
        return sp.coo_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(2 * n, column)).tocsr()

    def as_array(self) -> np.ndarray:
        """(N, 4) ``[n_x, n_y, offset, fixed]`` per node, the form stored in datasets and read by
        the learned movers' boundary projection."""
        return np.column_stack([self.normals, self.offsets, self.fixed.astype(np.float64)])


def _facet_names(mesh: Mesh, facets: np.ndarray) -> np.ndarray:
    """(F,) boundary name of each facet ('' for a facet in no named boundary)."""
    n = mesh.num_points
    keys = facets[:, 0] * n + facets[:, 1]
    names = np.full(len(facets), "", dtype=object)
    for name, named in mesh.boundary.items():
        named = np.sort(named, axis=1)
        names[np.isin(keys, named[:, 0] * n + named[:, 1])] = name
    return names
