"""Closed-form P1 finite element operators on a triangle mesh, vectorised over cells.

Everything the Monge-Ampere mover and the monitors need is a small set of sparse matrices on a
fixed mesh: the P1 mass matrix, the stiffness matrix, the gradient loads ``int psi dphi/dx_k``,
the weak Hessian ``int tau : H = -int div(tau) . grad(phi) + int_boundary (tau n) . grad(phi)``
(integration by parts, as the reference `movement` package and UM2N recover Hessians), and the
interpolation of nodal values to quadrature points. P1 gradients are constant per cell, so the
integrals are exact closed forms; they equal scikit-fem's assembly to rounding (tests check it).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp
from skfem.refdom import RefTri
from skfem.quadrature import get_quadrature

from ..mesh import Mesh
from .errors import MovementError


def _csr(rows, cols, values, shape) -> sp.csr_matrix:
    return sp.coo_matrix((np.ravel(values), (np.ravel(rows), np.ravel(cols))), shape=shape).tocsr()


class TriangleP1:
    """P1 operators on the triangles of ``points`` (N, 2) / ``cells`` (M, 3).

    Attributes:
        areas: (M,) signed cell areas (positive for counter-clockwise cells).
        grads: (M, 3, 2) gradient of each vertex's hat function on each cell.
        facets: (F, 2) boundary facets (edges in one cell); ``facet_cells`` (F,) their cell,
            ``normals`` (F, 2) outward unit normals, ``lengths`` (F,).
    """

    def __init__(self, points: np.ndarray, cells: np.ndarray, facets: np.ndarray | None = None):
        points = np.asarray(points, dtype=np.float64)
        cells = np.asarray(cells, dtype=np.int64)
        if points.ndim != 2 or points.shape[1] != 2 or cells.ndim != 2 or cells.shape[1] != 3:
            raise MovementError(f"mesh movement works on 2D triangle meshes; got points {points.shape}, "
                                f"cells {cells.shape}")
        self.points, self.cells = points, cells
        self.num_points = len(points)
        self._set_geometry()
        self._rules: dict[int, tuple] = {}
        self._set_facets(facets)

    def _set_geometry(self) -> None:
        points, cells = self.points, self.cells
        e1 = points[cells[:, 1]] - points[cells[:, 0]]
        e2 = points[cells[:, 2]] - points[cells[:, 0]]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        self.areas = 0.5 * det
        # rows of J^{-T}: gradients of the barycentric coordinates 1 and 2; vertex 0 takes minus their sum
        g1 = np.stack([e2[:, 1], -e2[:, 0]], axis=1) / det[:, None]
        g2 = np.stack([-e1[:, 1], e1[:, 0]], axis=1) / det[:, None]
        self.grads = np.stack([-g1 - g2, g1, g2], axis=1)

    @classmethod
    def of(cls, mesh: Mesh) -> "TriangleP1":
        """Operators of a 2D triangle `Mesh` (its topological boundary facets)."""
        if mesh.cell_type != "triangle" or mesh.dim != 2:
            raise MovementError(f"mesh movement works on 2D triangle meshes; got {mesh.cell_type} cells in "
                                f"{mesh.dim}D")
        return cls(mesh.points, mesh.cells, mesh.boundary_facets)

    def moved(self, points: np.ndarray) -> "TriangleP1":
        """Operators of the same cells and boundary facets on moved ``points`` (N, 2), without
        searching the topology again (a mesh mover evaluates monitors on every iterate)."""
        other = object.__new__(TriangleP1)
        other.points, other.cells, other.num_points = np.asarray(points, dtype=np.float64), self.cells, self.num_points
        other._set_geometry()
        other._rules = {}
        other.facets, other.facet_cells = self.facets, self.facet_cells
        other._set_facet_geometry(self._opposite)
        return other

    @cached_property
    def boundary_nodes(self) -> np.ndarray:
        """Sorted ids of the nodes on the boundary facets."""
        return np.unique(self.facets)

    def _set_facets(self, facets) -> None:
        cells = self.cells
        if facets is None:
            edges = np.sort(np.concatenate([cells[:, [0, 1]], cells[:, [1, 2]], cells[:, [2, 0]]]), axis=1)
            unique, counts = np.unique(edges, axis=0, return_counts=True)
            facets = unique[counts == 1]
        facets = np.sort(np.asarray(facets, dtype=np.int64), axis=1)
        # the cell of each boundary facet, and its vertex opposite the facet
        local = np.sort(np.concatenate([cells[:, [0, 1]], cells[:, [1, 2]], cells[:, [2, 0]]]), axis=1)
        opposite = np.concatenate([cells[:, 2], cells[:, 0], cells[:, 1]])
        owner = np.tile(np.arange(len(cells)), 3)
        n = self.num_points
        key = local[:, 0] * n + local[:, 1]
        order = np.argsort(key)
        position = np.searchsorted(key[order], facets[:, 0] * n + facets[:, 1])
        found = order[np.minimum(position, len(order) - 1)]
        if not np.array_equal(key[found], facets[:, 0] * n + facets[:, 1]):
            raise MovementError("boundary facets that are not edges of any cell")
        self.facets, self.facet_cells = facets, owner[found]
        self._set_facet_geometry(opposite[found])

    def _set_facet_geometry(self, opposite: np.ndarray) -> None:
        """Lengths and outward normals of the facets; ``opposite`` (F,) the vertex of each facet's
        cell that is not on it."""
        self._opposite = opposite
        a, b = self.points[self.facets[:, 0]], self.points[self.facets[:, 1]]
        tangent = b - a
        self.lengths = np.linalg.norm(tangent, axis=1)
        normals = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1) / self.lengths[:, None]
        inward = self.points[opposite] - a
        self.normals = normals * np.where((normals * inward).sum(axis=1) > 0, -1.0, 1.0)[:, None]

    # -- matrices ----------------------------------------------------------------------------
    def _pairs(self):
        rows = np.repeat(self.cells, 3, axis=1)  # (M, 9): row vertex a for each (a, b)
        cols = np.tile(self.cells, (1, 3))
        return rows, cols

    @cached_property
    def mass(self) -> sp.csr_matrix:
        """(N, N) consistent mass matrix ``int phi_a phi_b``."""
        local = (np.ones((3, 3)) + np.eye(3)).ravel() / 12.0
        rows, cols = self._pairs()
        return _csr(rows, cols, np.abs(self.areas)[:, None] * local, (self.num_points,) * 2)

    @cached_property
    def lumped_mass(self) -> np.ndarray:
        """(N,) row sums of the mass matrix (the area each node carries)."""
        return np.bincount(self.cells.ravel(), weights=np.repeat(np.abs(self.areas) / 3.0, 3),
                           minlength=self.num_points)

    @cached_property
    def stiffness(self) -> sp.csr_matrix:
        """(N, N) stiffness matrix ``int grad phi_a . grad phi_b``."""
        local = np.einsum("mad,mbd->mab", self.grads, self.grads) * np.abs(self.areas)[:, None, None]
        rows, cols = self._pairs()
        return _csr(rows, cols, local, (self.num_points,) * 2)

    def gradient_matrix(self, k: int) -> sp.csr_matrix:
        """(N, N) ``G[a, b] = int phi_a dphi_b/dx_k``: ``G @ u`` is the load of the L2-projected
        gradient component k of the P1 field u."""
        local = np.abs(self.areas)[:, None, None] / 3.0 * self.grads[:, None, :, k] * np.ones((1, 3, 1))
        rows, cols = self._pairs()
        return _csr(rows, cols, local, (self.num_points,) * 2)

    def hessian_matrices(self, tangential: bool) -> list[list[sp.csr_matrix]]:
        """``A[i][j]`` (N, N) with ``M H_ij = A[i][j] @ u`` the L2-projected Hessian of a P1 field u:
        ``int tau H_ij = -int dtau/dx_j du/dx_i + int_boundary tau n_j g_i``, with g the gradient
        (``tangential=False``, as UM2N's monitor) or its tangential part ``g - (g.n) n``
        (``tangential=True``, as the Monge-Ampere potential, whose normal derivative vanishes)."""
        n, area = self.num_points, np.abs(self.areas)
        rows, cols = self._pairs()
        f_cells = self.facet_cells
        f_rows = np.repeat(self.facets, 3, axis=1)  # (F, 6): each facet node against the cell's 3 nodes
        f_cols = np.tile(self.cells[f_cells], (1, 2))
        cell_grads = self.grads[f_cells]  # (F, 3, 2)
        projector = np.eye(2)[None] - (np.einsum("fi,fk->fik", self.normals, self.normals) if tangential else 0.0)
        matrices = []
        for i in range(2):
            row = []
            for j in range(2):
                interior = -area[:, None, None] * self.grads[:, :, None, j] * self.grads[:, None, :, i]
                # g_i = sum_k P_ik dphi_b/dx_k, constant on the facet; int_facet phi_a = length / 2
                g_i = np.einsum("fk,fbk->fb", projector[:, i, :], cell_grads)
                boundary = 0.5 * self.lengths[:, None] * self.normals[:, j, None] * g_i
                matrix = _csr(np.concatenate([rows.ravel(), f_rows.ravel()]),
                              np.concatenate([cols.ravel(), f_cols.ravel()]),
                              np.concatenate([interior.ravel(), np.tile(boundary, (1, 2)).ravel()]), (n, n))
                row.append(matrix)
            matrices.append(row)
        return matrices

    def hessian_loads(self, u: np.ndarray, tangential: bool = False) -> np.ndarray:
        """(N, 4) ``hessian_matrices(tangential)[i][j] @ u`` for (i, j) = 00, 01, 10, 11, without
        building the matrices (one field: the monitors' recovery)."""
        g = self.cell_gradients(u)  # (M, 2)
        area = np.abs(self.areas)
        g_facet = g[self.facet_cells]
        if tangential:
            g_facet = g_facet - (g_facet * self.normals).sum(axis=1, keepdims=True) * self.normals
        loads = np.empty((self.num_points, 4))
        for i in (0, 1):
            for j in (0, 1):
                interior = -(area * g[:, i])[:, None] * self.grads[:, :, j]  # (M, 3)
                boundary = 0.5 * self.lengths * self.normals[:, j] * g_facet[:, i]  # (F,)
                loads[:, 2 * i + j] = (
                    np.bincount(self.cells.ravel(), weights=interior.ravel(), minlength=self.num_points)
                    + np.bincount(self.facets.ravel(), weights=np.repeat(boundary, 2), minlength=self.num_points))
        return loads

    # -- quadrature ----------------------------------------------------------------------------
    def quadrature(self, order: int = 4) -> tuple[sp.csr_matrix, np.ndarray]:
        """Interpolation (M*Q, N) from nodal values to the points of a degree-``order`` rule
        (cell-major), and the weights times the cell Jacobians (M*Q,), which sum to the area."""
        if order not in self._rules:
            reference, weights = get_quadrature(RefTri, order)
            bary = np.vstack([1.0 - reference.sum(axis=0), reference])  # (3, Q)
            m, q = len(self.cells), len(weights)
            rows = np.repeat(np.arange(m * q), 3)
            cols = np.repeat(self.cells, q, axis=0).ravel()
            interpolate = _csr(rows, cols, np.tile(bary.T, (m, 1)).ravel(), (m * q, self.num_points))
            self._rules[order] = (interpolate, (2.0 * np.abs(self.areas)[:, None] * weights[None, :]).ravel())
        return self._rules[order]

    @property
    def quadrature_interpolation(self) -> sp.csr_matrix:
        """Interpolation to the degree-4 rule's points (exact for the Monge-Ampere residual)."""
        return self.quadrature(4)[0]

    @property
    def quadrature_weights(self) -> np.ndarray:
        """Weights of the degree-4 rule (M*Q,)."""
        return self.quadrature(4)[1]

    def quadrature_points(self, order: int = 4) -> np.ndarray:
        """(M*Q, 2) coordinates of the degree-``order`` rule's points."""
        return self.quadrature(order)[0] @ self.points

    def load(self, values_q: np.ndarray, order: int = 4) -> np.ndarray:
        """(N,) ``int f phi_a`` of f given at the degree-``order`` rule's points (M*Q,)."""
        interpolate, dx = self.quadrature(order)
        return interpolate.T @ (dx * values_q)

    def weighted_mass(self, weight_q: np.ndarray) -> sp.csr_matrix:
        """(N, N) ``int w phi_a phi_b`` of a weight w at the degree-4 rule's points (M*Q,)."""
        interpolate, dx = self.quadrature(4)
        return (interpolate.T @ sp.diags(dx * weight_q) @ interpolate).tocsr()

    def cell_gradients(self, u: np.ndarray) -> np.ndarray:
        """(M, 2) gradient of the P1 field with nodal values ``u`` (N,) on each cell."""
        return np.einsum("mad,ma->md", self.grads, np.asarray(u)[self.cells])
