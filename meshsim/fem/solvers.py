"""Sparse linear solvers: direct (SuperLU, factorisation cached for repeated solves) and
Krylov (CG for symmetric, GMRES otherwise) preconditioned with pyamg smoothed aggregation.

Every solve checks the true relative residual ``||b - A x|| / ||b||`` of the answer it returns:
a solve that did not reach the tolerance raises `SolverError` giving the residual reached, never
a silent wrong answer. The one allowance is for tolerances below what double precision can
resolve for the system: a residual at the rounding floor ``16 eps ||A||_inf ||x|| / ||b||`` is
accepted as long as that floor is itself below `RESIDUAL_FLOOR_CAP`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .errors import FEMError, SolverError

#: ``method="auto"`` uses a direct solve up to this many unknowns (3D P1 crosses over here:
#: SuperLU and AMG-CG take about the same time at ~5k unknowns, AMG-CG is 10x faster at 40k) ...
AUTO_DIRECT_MAX_UNKNOWNS = 10_000
#: ... or up to this many when the matrix has at most `AUTO_SPARSE_ROW_NNZ` nonzeros per row on
#: average (2D P1-like sparsity, where LU fill stays small: at 90k unknowns one direct solve
#: takes ~1.4x an AMG-CG solve, and each repeated solve ~1/20); larger systems use AMG + Krylov.
AUTO_DIRECT_MAX_UNKNOWNS_SPARSE = 100_000
AUTO_SPARSE_ROW_NNZ = 8.0
#: a relative residual above ``tol`` is accepted only if it is at the rounding floor and the
#: floor is below this (an ill-conditioned but meaningful system); above it the system is
#: numerically singular and the solve fails
RESIDUAL_FLOOR_CAP = 1e-6
_METHODS = ("auto", "direct", "cg", "gmres")


class LinearSolver:
    """Solver for ``A x = b`` that keeps what it builds (LU factors or an AMG hierarchy) for
    every later right-hand side.

    Args:
        A: square sparse matrix (n, n).
        method: ``"direct"`` (SuperLU), ``"cg"`` (symmetric positive definite A), ``"gmres"``,
            or ``"auto"``: direct up to `AUTO_DIRECT_MAX_UNKNOWNS` unknowns (or
            `AUTO_DIRECT_MAX_UNKNOWNS_SPARSE` for matrices with <= `AUTO_SPARSE_ROW_NNZ`
            nonzeros per row), else CG if A is symmetric and GMRES if not.
        tol: relative residual ``||b - A x|| / ||b||`` every returned solution satisfies (or
            the rounding floor, see the module docstring).
        M: preconditioner for CG/GMRES (anything scipy accepts); default pyamg smoothed
            aggregation, built once.
        symmetric: whether A is symmetric; checked numerically when not given.
        maxiter: iteration limit of one Krylov run (default 1000).
    """

    def __init__(self, A, method: str = "auto", tol: float = 1e-10, M=None,
                 symmetric: bool | None = None, maxiter: int | None = None):
        if method not in _METHODS:
            raise FEMError(f"method must be one of {_METHODS}, got {method!r}")
        A = sp.csr_matrix(A, dtype=np.float64)
        if A.shape[0] != A.shape[1]:
            raise FEMError(f"the system matrix must be square, got shape {A.shape}")
        if not np.isfinite(A.data).all():
            raise FEMError(f"the system matrix has {int((~np.isfinite(A.data)).sum())} non-finite entries")
        if not tol > 0:
            raise FEMError(f"tol must be positive, got {tol}")
        self.A = A
        self.tol = float(tol)
        self.maxiter = 1000 if maxiter is None else int(maxiter)
        self.symmetric = is_symmetric(A) if symmetric is None else bool(symmetric)
        self.method = self._choose(method)
        self._lu = None
        #: Krylov iterations of the last solve (0 for a direct solve)
        self.iterations = 0
        self._M = M
        self._given_M = M is not None
        self._norm_A_inf = None

    def _choose(self, method: str) -> str:
        if method != "auto":
            return method
        n = self.A.shape[0]
        sparse_rows = self.A.nnz <= AUTO_SPARSE_ROW_NNZ * n
        if n <= AUTO_DIRECT_MAX_UNKNOWNS or (sparse_rows and n <= AUTO_DIRECT_MAX_UNKNOWNS_SPARSE):
            return "direct"
        return "cg" if self.symmetric else "gmres"

    @property
    def shape(self) -> tuple:
        return self.A.shape

    def solve(self, b: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Solution x (n,) of ``A x = b``; raises `SolverError` if it cannot reach ``tol``."""
        b = np.asarray(b, dtype=np.float64)
        if b.shape != (self.A.shape[0],):
            raise FEMError(f"right-hand side has shape {b.shape}, expected ({self.A.shape[0]},)")
        if not np.isfinite(b).all():
            raise FEMError(f"right-hand side has {int((~np.isfinite(b)).sum())} non-finite entries")
        norm_b = vector_norm(b)
        if norm_b == 0.0:
            return np.zeros_like(b)
        if self.method == "direct":
            return self._solve_direct(b, norm_b)
        return self._solve_krylov(b, norm_b, x0)

    __call__ = solve

    # -- direct ---------------------------------------------------------------------------
    def _factor(self):
        if self._lu is None:
            # FEM matrices are structurally symmetric: minimum degree on A^T + A with SuperLU's
            # symmetric mode (diagonal pivots preferred, still pivoting when they are too small)
            # is several times faster than the default COLAMD, also for non-symmetric values.
            # A^T in CSC shares A's CSR arrays, so factorising it needs no conversion.
            try:
                self._lu = spla.splu(self.A.T, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
            except RuntimeError as err:
                raise SolverError(f"direct solve failed: LU factorisation of the "
                                  f"{self.A.shape[0]}x{self.A.shape[0]} matrix: {err}") from None
        return self._lu

    def _lu_solve(self, b: np.ndarray) -> np.ndarray:
        return self._factor().solve(b, trans="T")  # the factors are of A^T

    def _solve_direct(self, b: np.ndarray, norm_b: float) -> np.ndarray:
        x = self._lu_solve(b)
        for _ in range(3):  # iterative refinement, only when the first answer falls short
            if not np.isfinite(x).all():
                break
            residual = b - self.A @ x
            if self._accepts(residual, x, norm_b):
                return x
            x = x + self._lu_solve(residual)
        relative = _relative(b - self.A @ x, norm_b) if np.isfinite(x).all() else np.inf
        if relative <= self._target(x, norm_b):
            return x
        raise SolverError(f"direct solve failed: relative residual {relative:.3e} > tol {self.tol:.1e}; "
                          f"the matrix is singular or too ill-conditioned")

    def _target(self, x: np.ndarray, norm_b: float) -> float:
        """Relative residual to reach: ``tol``, or the rounding floor if that is larger (and
        below `RESIDUAL_FLOOR_CAP`)."""
        if self._norm_A_inf is None:
            self._norm_A_inf = float(abs(self.A).sum(axis=1).max())
        return residual_target(self.tol, self._norm_A_inf, vector_norm(x), norm_b)

    def _accepts(self, residual: np.ndarray, x: np.ndarray, norm_b: float) -> bool:
        relative = _relative(residual, norm_b)
        if not np.isfinite(relative):
            return False
        return relative <= self.tol or relative <= self._target(x, norm_b)

    # -- Krylov ---------------------------------------------------------------------------
    def _preconditioner(self):
        if self._M is None:
            import pyamg

            symmetry = "hermitian" if self.symmetric else "nonsymmetric"
            self._M = pyamg.smoothed_aggregation_solver(self.A, symmetry=symmetry).aspreconditioner()
        return self._M

    def _solve_krylov(self, b: np.ndarray, norm_b: float, x0) -> np.ndarray:
        M = self._preconditioner()
        x = None if x0 is None else np.asarray(x0, dtype=np.float64)
        iterations = [0]

        def count(_):
            iterations[0] += 1

        relative = np.inf
        restart = min(50, self.maxiter)
        for _ in range(3):  # restart from the last iterate if recurrence drift left the true residual short
            if self.method == "cg":
                x, info = spla.cg(self.A, b, x0=x, rtol=self.tol, atol=0.0, maxiter=self.maxiter,
                                  M=M, callback=count)
            else:
                x, info = spla.gmres(self.A, b, x0=x, rtol=self.tol, atol=0.0, restart=restart,
                                     maxiter=-(-self.maxiter // restart), M=M, callback=count,
                                     callback_type="pr_norm")
            if not np.isfinite(x).all():
                break
            residual = b - self.A @ x
            relative = _relative(residual, norm_b)
            self.iterations = iterations[0]
            if self._accepts(residual, x, norm_b):
                return x
            if info != 0:  # ran out of iterations: more of the same will not help
                break
        raise SolverError(f"{self.method} with {'given' if self._given_M else 'AMG'} preconditioner "
                          f"did not converge: relative residual {relative:.3e} > tol {self.tol:.1e} "
                          f"after {iterations[0]} iterations")


    def as_preconditioner(self) -> spla.LinearOperator:
        """One application of this solver's LU solve (direct) or AMG cycle (Krylov) as an
        operator, to precondition systems with nearby matrices."""
        apply = self._lu_solve if self.method == "direct" else self._preconditioner().matvec
        return spla.LinearOperator(self.A.shape, matvec=apply, dtype=np.float64)


class RecyclingSolver:
    """Solver for a sequence of nearby systems ``A_k x = b_k`` (time steps with slowly changing
    matrices): GMRES preconditioned with the factorisation (or AMG hierarchy) of an earlier
    matrix of the sequence, set up again only when GMRES needs more than ``max_iterations``.

    Args:
        method: how the reference matrix is solved, see `LinearSolver` (``"auto"``).
        tol: relative residual of every solution.
        max_iterations: GMRES iterations allowed before the reference is rebuilt.
    """

    def __init__(self, method: str = "auto", tol: float = 1e-10, max_iterations: int = 20):
        self.method = method
        self.tol = tol
        self.max_iterations = max_iterations
        self.setups = 0
        self._reference: LinearSolver | None = None

    def solve(self, A, b: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Solution of ``A x = b``; raises `SolverError` if even a fresh setup fails."""
        if self._reference is not None and self._reference.shape == A.shape:
            krylov = LinearSolver(A, method="gmres", tol=self.tol, symmetric=False,
                                  M=self._reference.as_preconditioner(), maxiter=self.max_iterations)
            try:
                return krylov.solve(b, x0=x0)
            except SolverError:
                pass  # the reference has drifted too far from A: set it up again below
        self._reference = LinearSolver(A, method=self.method, tol=self.tol, symmetric=False)
        self.setups += 1
        return self._reference.solve(b, x0=x0)


def factorize(A, tol: float = 1e-10) -> LinearSolver:
    """Direct solver of ``A`` with its LU factors computed now and reused by every call:
    ``solve_A = factorize(A); x = solve_A(b)``."""
    solver = LinearSolver(A, method="direct", tol=tol)
    solver._factor()
    return solver


def solve(A, b, method: str = "auto", tol: float = 1e-10, M=None, x0=None,
          maxiter: int | None = None) -> np.ndarray:
    """Solve ``A x = b`` once; see `LinearSolver` for ``method``, ``tol``, ``M``, ``maxiter``.

    Returns x (n,) with ``||b - A x|| <= tol ||b||`` (or at the rounding floor, see the module
    docstring).
    Raises `SolverError` with the residual reached otherwise.
    """
    return LinearSolver(A, method=method, tol=tol, M=M, maxiter=maxiter).solve(b, x0=x0)


def residual_target(tol: float, norm_A_inf: float, norm_x: float, norm_b: float) -> float:
    """Relative residual a solution must reach: ``tol``, or the rounding floor
    ``16 eps ||A||_inf ||x|| / ||b||`` if that is larger and below `RESIDUAL_FLOOR_CAP`."""
    floor = 16 * np.finfo(np.float64).eps * norm_A_inf * norm_x / norm_b
    return max(tol, min(floor, RESIDUAL_FLOOR_CAP))


def is_symmetric(A: sp.csr_matrix) -> bool:
    scale = abs(A).max() if A.nnz else 0.0
    difference = abs(A - A.T)
    return difference.nnz == 0 or difference.max() <= 1e-12 * scale


def _relative(residual: np.ndarray, norm_b: float) -> float:
    return vector_norm(residual) / norm_b


def vector_norm(vector: np.ndarray) -> float:
    """Euclidean norm by a plain reduction: np.linalg.norm goes through multithreaded BLAS,
    which is ~100x slower than this on an oversubscribed machine."""
    return float(np.sqrt(np.square(vector).sum()))

