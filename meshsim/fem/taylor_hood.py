"""Taylor-Hood P2/P1 discretisation of incompressible flow on a triangle mesh.

The unknown vector is ``x = [u_x (n2), u_y (n2), p (n1)]`` with P2 velocity and P1 pressure
(scikit-fem dof numbering inside each block). The linearised momentum/continuity system

    [ a0 M + nu K + N(w)        0            -D_x^T ] [u_x]   [f_x]
    [        0           a0 M + nu K + N(w)  -D_y^T ] [u_y] = [f_y]
    [      -D_x                -D_y             0   ] [ p ]   [ 0 ]

(M mass, K stiffness, N(w) convection by a given velocity w, D_ij = (div phi_j, q_i)) is
kept in one fixed sparsity pattern, so a time step only recomputes the data array of the
matrix: the constant blocks are assembled once and N(w) is a vectorised einsum over cells.
Dirichlet dofs are eliminated through precomputed index maps into that data array.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from skfem import Basis, BilinearForm, ElementTriP1, ElementTriP2, asm
from skfem.helpers import dot, grad

from .errors import SolverError
from .forms import mass
from .solvers import vector_norm

#: quadrature order: exact for the cubic-in-space convection integrand phi_i (w . grad phi_j)
QUADRATURE_ORDER = 5


@BilinearForm
def _stiffness(u, v, _):
    return dot(grad(u), grad(v))


@BilinearForm
def _dx_form(u, q, _):
    return u.grad[0] * q


@BilinearForm
def _dy_form(u, q, _):
    return u.grad[1] * q


def _coo(matrix: sp.spmatrix, row_offset: int = 0, col_offset: int = 0, transpose: bool = False):
    coo = matrix.tocoo()
    rows, cols = (coo.col, coo.row) if transpose else (coo.row, coo.col)
    return rows + row_offset, cols + col_offset, coo.data


@dataclass(frozen=True)
class SparsityPattern:
    """A CSR sparsity pattern of shape ``shape``; `positions` maps (row, col) pairs to the
    index of their entry in the CSR data array."""

    shape: tuple[int, int]
    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_entries(cls, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> "SparsityPattern":
        keys = np.unique(rows.astype(np.int64) * shape[1] + cols)
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // shape[1], minlength=shape[0]), out=indptr[1:])
        return cls(shape, indptr, keys % shape[1])

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(n,) int64 index into the data array of each (row, col) entry (all in the pattern)."""
        keys = np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr)) * self.shape[1]
        keys += self.indices
        return np.searchsorted(keys, rows.astype(np.int64) * self.shape[1] + cols)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((data, self.indices, self.indptr), shape=self.shape)

    def submatrix(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR (indptr, indices, positions) of the submatrix ``[rows][:, cols]``; its data array
        is ``data[positions]`` for any data array of this pattern."""
        marker = self.matrix(np.arange(1, self.nnz + 1, dtype=np.float64))[rows][:, cols]
        return marker.indptr, marker.indices, marker.data.astype(np.int64) - 1


class TaylorHoodSystem:
    """Taylor-Hood P2/P1 matrices of a triangle mesh in one fixed sparsity pattern.

    Args:
        skfem_mesh: scikit-fem MeshTri1 (with named boundaries).
        nu: kinematic viscosity (m^2/s), > 0.

    `matrix_data(a0, w)` gives the data array of the system matrix above for the reaction
    coefficient ``a0`` (1/s, e.g. 3/(2 dt) for BDF2, 0 for a steady problem) and the
    convecting velocity ``w`` (2 n2,) (``None`` for Stokes).
    """

    def __init__(self, skfem_mesh, nu: float):
        vb = Basis(skfem_mesh, ElementTriP2(), intorder=QUADRATURE_ORDER)
        pb = vb.with_element(ElementTriP1())
        self.velocity_basis, self.pressure_basis = vb, pb
        n2, n1 = vb.N, pb.N
        self.n2, self.n1, self.size = n2, n1, 2 * n2 + n1
        self.mass = asm(mass, vb).tocsr()
        self.pressure_integrals = np.asarray(asm(mass, pb).sum(axis=0)).ravel()  # (n1,) int q_i dx
        stiffness = asm(_stiffness, vb)
        divergence = [asm(_dx_form, vb, pb), asm(_dy_form, vb, pb)]  # (n1, n2) each

        dofs = vb.element_dofs  # (6, M)
        nloc = dofs.shape[0]
        conv_rows = np.broadcast_to(dofs[:, None, :], (nloc, nloc, dofs.shape[1])).ravel()
        conv_cols = np.broadcast_to(dofs[None, :, :], (nloc, nloc, dofs.shape[1])).ravel()
        blocks = {  # (rows, cols, data) of each constant piece, in global numbering
            "mass": [_coo(self.mass, o, o) for o in (0, n2)],
            "viscous": [_coo(nu * stiffness, o, o) for o in (0, n2)],
            "pressure": [piece for d, o in zip(divergence, (0, n2))
                         for piece in (_coo(-d, o, 2 * n2, transpose=True), _coo(-d, 2 * n2, o))],
        }
        pieces = [p for group in blocks.values() for p in group]
        rows = np.concatenate([p[0] for p in pieces] + [conv_rows, conv_rows + n2])
        cols = np.concatenate([p[1] for p in pieces] + [conv_cols, conv_cols + n2])
        self.pattern = SparsityPattern.from_entries(rows, cols, (self.size, self.size))

        def scatter(group):
            r = np.concatenate([p[0] for p in group])
            c = np.concatenate([p[1] for p in group])
            w = np.concatenate([p[2] for p in group])
            return np.bincount(self.pattern.positions(r, c), weights=w, minlength=self.pattern.nnz)

        self._mass_data = scatter(blocks["mass"])
        self._constant_data = scatter(blocks["viscous"]) + scatter(blocks["pressure"])
        self._conv_positions = self.pattern.positions(np.concatenate([conv_rows, conv_rows + n2]),
                                                      np.concatenate([conv_cols, conv_cols + n2]))
        self._element_dofs = dofs
        values = np.stack([np.asarray(vb.basis[i][0]) for i in range(nloc)])  # (6, M, Q)
        self._phi = values
        self._phi_dx = values * vb.dx
        self._grad_phi = np.stack([vb.basis[i][0].grad for i in range(nloc)])  # (6, 2, M, Q)

    def convection_local(self, w: np.ndarray) -> np.ndarray:
        """(6, 6, M) cell matrices of (w . grad phi_j, phi_i) for velocity w (2 n2,)."""
        w_local = w.reshape(2, self.n2)[:, self._element_dofs]  # (2, 6, M)
        wq = np.einsum("kmq,dkm->dmq", self._phi, w_local)
        advected = np.einsum("dmq,jdmq->jmq", wq, self._grad_phi)
        return np.einsum("imq,jmq->ijm", self._phi_dx, advected)

    def matrix_data(self, a0: float, w: np.ndarray | None) -> np.ndarray:
        """(nnz,) data of the system matrix in `pattern` (see the class docstring)."""
        data = self._constant_data + a0 * self._mass_data
        if w is not None:
            local = self.convection_local(w).ravel()
            data += np.bincount(self._conv_positions, weights=np.concatenate([local, local]),
                                minlength=self.pattern.nnz)
        return data

    def velocity_mass_product(self, u: np.ndarray) -> np.ndarray:
        """(2 n2,) M u for both velocity components of u (2 n2,)."""
        return (self.mass @ u.reshape(2, self.n2).T).T.ravel()


class DirichletElimination:
    """Reduces systems in ``pattern`` to the free dofs when the dofs ``fixed`` are prescribed:
    A_ff x_f = b_f - A_fd x_d. The index maps are built once; `reduce` only gathers data."""

    def __init__(self, pattern: SparsityPattern, fixed: np.ndarray):
        self.size = pattern.shape[0]
        self.fixed = np.asarray(fixed, dtype=np.int64)
        self.free = np.setdiff1d(np.arange(self.size), self.fixed)
        self._ff = pattern.submatrix(self.free, self.free)
        self._fd = pattern.submatrix(self.free, self.fixed)

    def reduce(self, data: np.ndarray, rhs: np.ndarray, values: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """Free-dof matrix and right-hand side for matrix data (nnz,), full rhs (size,) and the
        prescribed values (len(fixed),)."""
        (ptr_ff, ind_ff, pos_ff), (ptr_fd, ind_fd, pos_fd) = self._ff, self._fd
        n_free = len(self.free)
        a_ff = sp.csr_matrix((data[pos_ff], ind_ff, ptr_ff), shape=(n_free, n_free))
        a_fd = sp.csr_matrix((data[pos_fd], ind_fd, ptr_fd), shape=(n_free, len(self.fixed)))
        return a_ff, rhs[self.free] - a_fd @ values

    def expand(self, x_free: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Full (size,) vector from the free-dof solution and the prescribed values."""
        x = np.empty(self.size)
        x[self.free], x[self.fixed] = x_free, values
        return x


def saddle_point_lu(matrix: sp.spmatrix, pivoting: bool = False):
    """SuperLU factors of a Taylor-Hood system (zero pressure block), or None if they fail.

    Without ``pivoting``: minimum degree ordering of A + A^T and diagonal pivots only. Minimum
    degree eliminates the pressure dofs (coupled to many velocity dofs) late, when fill has made
    their pivots non-zero, and this has 2-3x less fill than COLAMD with partial pivoting. With
    threshold pivoting instead, SuperLU's symmetric mode swaps rows into the zero block and the
    fill explodes (20x on a Stokes matrix). With ``pivoting``: COLAMD and partial pivoting, the
    robust fallback.
    """
    try:
        if pivoting:
            return splu(sp.csc_matrix(matrix), permc_spec="COLAMD")
        return splu(sp.csc_matrix(matrix), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                    options={"SymmetricMode": True})
    except RuntimeError:  # an exactly zero pivot
        return None


class ReusedFactorisation:
    """Solver for a sequence of slowly changing Taylor-Hood systems (time steps with linearised
    convection, Picard iterations): iterative refinement x += LU_old^-1 (b - A x) with the LU
    factors of an earlier matrix of the sequence, refactorising only when that fails to reach
    ``rtol`` within ``max_iterations`` or contracts the residual by less than
    ``min_contraction`` per iteration. Fresh factors come from `saddle_point_lu`, with
    pivoting only if the cheaper ones fail to reach ``rtol``.

    Attributes:
        factorisations: number of LU factorisations made so far.
        iterations: number of refinement iterations made so far.
    """

    def __init__(self, rtol: float = 1e-8, max_iterations: int = 6, min_contraction: float = 3.0):
        self.rtol, self.max_iterations, self.min_contraction = rtol, max_iterations, min_contraction
        self.factorisations = self.iterations = 0
        self._lu = None

    def __call__(self, matrix: sp.csr_matrix, rhs: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Solution of ``matrix @ x = rhs`` to relative residual ``rtol``, starting from ``x0``.

        Raises:
            SolverError: even fresh pivoted factors do not reach ``rtol``.
        """
        target = self.rtol * vector_norm(rhs)
        if self._lu is not None:
            x0 = np.zeros_like(rhs) if x0 is None else np.array(x0, dtype=np.float64)
            x, norm = self._refine(matrix, rhs, x0, target)
            if norm <= target:
                return x
        for pivoting in (False, True):
            self._lu = saddle_point_lu(matrix, pivoting)
            if self._lu is None:
                continue
            self.factorisations += 1
            x, norm = self._refine(matrix, rhs, self._lu.solve(rhs), target)
            if norm <= target:
                return x
        raise SolverError(f"LU solve of the {matrix.shape[0]}x{matrix.shape[0]} Taylor-Hood system failed: "
                          f"relative residual {norm / max(target / self.rtol, 1e-300):.3e} > {self.rtol:.1e}")

    def _refine(self, matrix, rhs, x, target) -> tuple[np.ndarray, float]:
        """Iterative refinement from x with the current factors: (x, residual norm reached)."""
        residual = rhs - matrix @ x
        norm = vector_norm(residual)
        for _ in range(self.max_iterations):
            if not norm > target:  # also stops on NaN
                break
            x = x + self._lu.solve(residual)
            residual = rhs - matrix @ x
            norm, previous = vector_norm(residual), norm
            self.iterations += 1
            if norm * self.min_contraction > previous:
                break
        return x, norm if np.isfinite(norm) else np.inf
