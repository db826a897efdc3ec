"""Preconditioners of the sequence solvers: Jacobi, SSOR in reverse Cuthill-McKee order, and
pyamg smoothed aggregation; each is an operator ``z = M^{-1} r`` built for one matrix.

SSOR's triangular solves are two compiled sweeps over A's CSR arrays with the ``numba`` backend
(nothing to set up), or, with the ``scipy`` backend, SuperLU factorisations of the two triangles in
their natural order (no fill, no pivoting: the factors are the triangles themselves), set up once
per matrix and relaxation factor. Measured on a 9,094-unknown 2D P1 Darcy matrix (62,918
nonzeros), one SSOR application takes 0.16 ms compiled, 0.25 ms with SuperLU and 2.4 ms with
``scipy.sparse.linalg.spsolve_triangular`` (see the issue-16 reports).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import reverse_cuthill_mckee

from ..errors import FEMError
from .backends import kernels, resolve_backend

#: ``preconditioner`` names the solvers accept
PRECONDITIONERS = ("none", "jacobi", "ssor", "amg")

Operator = Callable[[np.ndarray], np.ndarray]


def rcm_order(A: sp.csr_matrix) -> np.ndarray:
    """(n,) reverse Cuthill-McKee permutation of A's (symmetrised) graph.

    SSOR depends on the order of the unknowns: in gmsh's node order SSOR-preconditioned CG
    barely improves with omega (measured on a 9k-unknown Darcy matrix: 141 iterations at
    omega = 1, 126 at best), in RCM order it gains as the theory says (128 -> 55 at omega 1.8).
    """
    return np.asarray(reverse_cuthill_mckee(sp.csr_matrix(A), symmetric_mode=True), dtype=np.int64)


class SSORPreconditioner:
    """Symmetric SOR: ``M = (D + w L) D^{-1} (D + w U)`` for ``A = L + D + U``, applied as
    ``z = M^{-1} r`` by a forward and a backward triangular solve. (The textbook factor
    ``1 / (w (2 - w))`` is left out: CG and GMRES do not depend on the scale of M.)

    Args:
        A: (n, n) sparse matrix with a nonzero diagonal.
        omega: relaxation factor in (0, 2).
        order: (n,) permutation: M is built for ``A[order][:, order]`` and vectors are permuted
            on the way in and out; None uses A's own order.
        backend: ``"auto"``, ``"numba"`` or ``"scipy"`` (see `meshsim.fem.sequence.backends`).

    Attributes:
        matrix: (n, n) CSR float64, A in the preconditioner's order.
        backend: the implementation that runs, ``"numba"`` or ``"scipy"``.
    """

    def __init__(self, A: sp.spmatrix, omega: float, order: np.ndarray | None = None, backend: str = "auto"):
        if not 0.0 < omega < 2.0:
            raise FEMError(f"SSOR needs 0 < omega < 2, got {omega}")
        self.backend = resolve_backend(backend)
        A = sp.csr_matrix(A, dtype=np.float64)
        if order is not None:
            A = sp.csr_matrix(A[order][:, order])
        diagonal = A.diagonal()
        zero = np.flatnonzero(diagonal == 0.0)
        if len(zero):
            raise FEMError(f"SSOR needs a nonzero diagonal; it is zero in {len(zero)} rows, e.g. row {zero[0]}")
        self.omega = float(omega)
        self.order = order
        self.matrix = A
        self.diagonal = diagonal
        if self.backend == "scipy":
            self._lower = _triangle_factor(_scaled_triangle(A, omega, lower=True))
            self._upper = _triangle_factor(_scaled_triangle(A, omega, lower=False))

    def apply_ordered(self, r: np.ndarray) -> np.ndarray:
        """``M^{-1} r`` for r (n,) already in the preconditioner's order."""
        if self.backend == "numba":
            z = np.empty(len(r))
            kernels().ssor_apply(self.matrix.indptr, self.matrix.indices, self.matrix.data, self.diagonal,
                                 self.omega, np.ascontiguousarray(r, dtype=np.float64), z)
            return z
        return self._upper.solve(self.diagonal * self._lower.solve(r))

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """``M^{-1} r`` for r (n,) in A's own numbering."""
        if self.order is None:
            return self.apply_ordered(r)
        z = np.empty_like(r)
        z[self.order] = self.apply_ordered(r[self.order])
        return z


def _scaled_triangle(A: sp.csr_matrix, omega: float, lower: bool) -> sp.csc_matrix:
    """``D + w L`` (lower) or ``D + w U`` (upper) of A in CSC format, cut from A's CSC arrays
    (column j of a triangle is column j of A with rows >= j, resp. <= j) without building the
    triangle as a sparse matrix first (0.9 ms instead of 2.9 ms for darcy_square's 688 unknowns)."""
    columns = A.tocsc()
    column_of = np.repeat(np.arange(A.shape[1]), np.diff(columns.indptr))
    keep = columns.indices >= column_of if lower else columns.indices <= column_of
    rows, column_of = columns.indices[keep], column_of[keep]
    data = np.where(rows == column_of, 1.0, omega) * columns.data[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(column_of, minlength=A.shape[1]))])
    return sp.csc_matrix((data, rows, indptr), shape=A.shape)


def _triangle_factor(triangle: sp.spmatrix):
    """SuperLU object whose ``solve`` is the triangular solve with ``triangle`` (natural order,
    diagonal pivots: the factors are the triangle and a diagonal)."""
    return spla.splu(sp.csc_matrix(triangle), permc_spec="NATURAL", diag_pivot_thresh=0.0,
                     options={"SymmetricMode": True})


def make_preconditioner(A: sp.csr_matrix, kind: str | Callable, symmetric: bool,
                        omega: float = 1.0, backend: str = "auto") -> Operator | None:
    """Operator ``r -> M^{-1} r`` for A: ``"none"`` (None), ``"jacobi"`` (diagonal), ``"ssor"``
    (`SSORPreconditioner` with ``omega`` in RCM order, run by ``backend``), ``"amg"`` (one pyamg
    smoothed-aggregation V-cycle), or a callable ``kind(A) -> operator``."""
    if callable(kind):
        return kind(A)
    if kind == "none":
        return None
    if kind == "jacobi":
        diagonal = A.diagonal()
        zero = np.flatnonzero(diagonal == 0.0)
        if len(zero):
            raise FEMError(f"Jacobi needs a nonzero diagonal; it is zero in {len(zero)} rows, e.g. row {zero[0]}")
        inverse = 1.0 / diagonal
        return lambda r: inverse * r
    if kind == "ssor":
        return SSORPreconditioner(A, omega, rcm_order(A), backend)
    if kind == "amg":
        import pyamg

        symmetry = "hermitian" if symmetric else "nonsymmetric"
        return pyamg.smoothed_aggregation_solver(A, symmetry=symmetry).aspreconditioner().matvec
    raise FEMError(f"preconditioner must be one of {PRECONDITIONERS} or a callable, got {kind!r}")
