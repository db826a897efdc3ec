"""`RecyclingGMRES`: GCRO-DR (Parks, de Sturler, Mackey, Johnson & Maiti, SIAM J. Sci. Comput.
2006), restarted GMRES that carries a deflation subspace of harmonic Ritz vectors from one restart
cycle to the next and from one system of a sequence to the next: the working horse of SKR (Wang
et al., ICLR 2024, who run HPDDM's GCRO-DR with restart 40 and 20 recycled vectors).

Notation (columns of n-vectors): U (n, k) with ``A U = C`` and C orthonormal. A cycle runs
``m - k`` Arnoldi steps on ``(I - C C^T) A M^{-1}`` from the residual r (r is orthogonal to C),
storing ``Z = M^{-1} V`` as flexible GMRES does:

    A Z_j = C B_j + V_{j+1} H_j            (H_j (j+1, j) Hessenberg, B_j = C^T A Z_j)

The minimal residual over ``x + span[U, Z_j]`` leaves ``r = V_{j+1} (beta e1 - H_j y)`` for the
GMRES coefficients y of H_j, with the update ``x += Z_j y - U B_j y``. The next subspace is spanned
by the k harmonic Ritz vectors of A with smallest harmonic Ritz values in ``span[U, Z_j]``:
``G^T G p = theta G^T W^T V p`` with ``V = [U D, Z_j]``, ``W = [C, V_{j+1}]``,
``G = [[D, B_j], [0, H_j]]`` (``A V = W G``) and D scaling U's columns to unit length. For a new
matrix A' the subspace is kept and C rebuilt: ``A' U = Q R``, ``C = Q``, ``U <- U R^{-1}`` (k
products with A', counted as matvecs, not iterations, as PETSc/HPDDM count them).

With the preconditioner M applied on the right the residual is the true one, so ``tol`` means
the same as for every other solver. ``recycle=0`` is plain restarted GMRES(m).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la

from ..errors import FEMError
from ..solvers import vector_norm
from .base import SequenceSolver
from .preconditioners import make_preconditioner


@dataclass
class _Cycle:
    """One Arnoldi cycle: rows of V (j+1, n) and Z (j, n) (None: Z = V without preconditioner),
    H (j+1, j), B (k, j), GMRES coefficients y (j,), new residual (n,) and its norm."""

    V: np.ndarray
    Z: np.ndarray | None
    H: np.ndarray
    B: np.ndarray
    y: np.ndarray
    residual: np.ndarray
    residual_norm: float

    @property
    def steps(self) -> int:
        return len(self.y)


class RecyclingGMRES(SequenceSolver):
    """GCRO-DR(m, k) for a sequence of systems (symmetric or not); the recycled subspace is
    carried from each solve to the next.

    Args:
        recycle: k, harmonic Ritz vectors recycled (0: restarted GMRES(m) without recycling).
        restart: m, dimension of the search space of a cycle (recycled vectors included).
        preconditioner: ``"none"``, ``"jacobi"``, ``"ssor"`` (omega 1, RCM order), ``"amg"``,
            or a callable ``f(A) -> (r -> M^{-1} r)``; built for each new matrix, applied on
            the right.
        tol: relative residual of every solution.
        maxiter: iterations allowed per solve.
        keep_subspace: carry the subspace to the next system (False: GCRO-DR within each solve
            only, for comparison).
    """

    def __init__(self, recycle: int = 20, restart: int = 40, preconditioner="jacobi", tol: float = 1e-10,
                 maxiter: int = 10_000, keep_subspace: bool = True):
        super().__init__(tol)
        if not (isinstance(restart, int) and restart >= 2):
            raise FEMError(f"restart must be an integer >= 2, got {restart!r}")
        if not (isinstance(recycle, int) and 0 <= recycle < restart):
            raise FEMError(f"recycle must be an integer in [0, restart), got {recycle!r}")
        if not (callable(preconditioner) or preconditioner in ("none", "jacobi", "ssor", "amg")):
            raise FEMError(f"preconditioner must be 'none', 'jacobi', 'ssor', 'amg' or a callable, "
                           f"got {preconditioner!r}")
        self.recycle = recycle
        self.restart = restart
        self.preconditioner = preconditioner
        self.maxiter = int(maxiter)
        self.keep_subspace = keep_subspace
        self._U: np.ndarray | None = None  # rows (k, n): A U^T = C^T for the current matrix
        self._C: np.ndarray | None = None
        self._M = None

    def reset(self) -> None:
        super().reset()
        self._U = self._C = self._M = None

    def _solve(self, system, b, x0, context, new_matrix):
        A = system.matrix
        n = A.shape[0]
        if new_matrix or self._M is None:
            self._M = (make_preconditioner(A, self.preconditioner, system.symmetric),)
        precondition = self._M[0]
        matvecs = 0
        x = np.zeros(n) if x0 is None else x0.copy()
        r = b.copy() if x0 is None else b - A @ x
        matvecs += x0 is not None
        U, C = (self._U, self._C) if self.keep_subspace and self._U is not None and self._U.shape[1] == n \
            else (None, None)
        if U is not None and (new_matrix or C is None):
            U, C = _subspace_for_matrix(A, U)
            matvecs += len(U)
        if C is not None:
            coefficients = C @ r
            x += coefficients @ U
            r -= coefficients @ C
        threshold = self.tol * vector_norm(b)
        norm_r = vector_norm(r)
        iterations = 0
        while iterations < self.maxiter:
            if norm_r <= threshold:
                r = b - A @ x  # the recurrence may drift from the true residual: check it
                matvecs += 1
                norm_r = vector_norm(r)
                if norm_r <= threshold:
                    break
                if C is not None:
                    coefficients = C @ r
                    x += coefficients @ U
                    r -= coefficients @ C
                    norm_r = vector_norm(r)
            k = 0 if C is None else len(C)
            steps = min(self.restart - k, self.maxiter - iterations)
            cycle = _arnoldi_cycle(A, precondition, r, norm_r, C, steps, threshold)
            iterations += cycle.steps
            matvecs += cycle.steps
            basis = cycle.V[:-1] if cycle.Z is None else cycle.Z
            x += cycle.y @ basis[:cycle.steps]
            if C is not None:
                x -= (cycle.B @ cycle.y) @ U
            r, norm_r = cycle.residual, cycle.residual_norm
            if self.recycle:
                U, C = _harmonic_ritz_subspace(cycle, U, C, self.recycle)
        if self.keep_subspace and self.recycle:
            self._U, self._C = U, C
        return x, iterations, matvecs, None


def _subspace_for_matrix(A, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U, C) rows with ``A U^T = C^T`` and C orthonormal, from recycled rows U (k, n); columns
    that A maps to (numerically) dependent vectors are dropped."""
    image = np.asarray(A @ U.T)  # (n, k)
    Q, R, pivots = la.qr(image, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(R))
    keep = int(np.sum(diagonal > 1e-10 * diagonal[0])) if len(diagonal) and diagonal[0] > 0 else 0
    if keep == 0:
        return None, None
    R = R[:keep, :keep]
    U = la.solve_triangular(R, U[pivots[:keep]], trans="T", lower=False)  # rows of U[:, piv] R^{-1}
    return np.ascontiguousarray(U), np.ascontiguousarray(Q[:, :keep].T)


def _arnoldi_cycle(A, precondition, r: np.ndarray, norm_r: float, C: np.ndarray | None, steps: int,
                   threshold: float) -> _Cycle:
    """Up to ``steps`` Arnoldi steps on ``(I - C C^T) A M^{-1}`` from ``r`` (orthogonal to C),
    orthogonalised twice (classical Gram-Schmidt, CGS2); stops early once the GMRES residual
    is below ``threshold``."""
    n = len(r)
    k = 0 if C is None else len(C)
    basis = np.zeros((k + steps + 1, n))  # rows [C; V]: one product orthogonalises against both
    if k:
        basis[:k] = C
    V = basis[k:]
    Z = None if precondition is None else np.empty((steps, n))
    H = np.zeros((steps + 1, steps))
    B = np.zeros((k, steps))
    R = np.zeros((steps, steps))  # H after the Givens rotations
    cosines, sines = np.zeros(steps), np.zeros(steps)
    g = np.zeros(steps + 1)
    g[0] = norm_r
    V[0] = r / norm_r
    done = steps
    for j in range(steps):
        z = V[j] if precondition is None else precondition(V[j])
        if Z is not None:
            Z[j] = z
        w = A @ z
        active = basis[:k + j + 1]
        coefficients = active @ w
        w -= coefficients @ active
        second = active @ w
        w -= second @ active
        coefficients += second
        beta = vector_norm(w)
        B[:, j] = coefficients[:k]
        H[:j + 1, j] = coefficients[k:]
        H[j + 1, j] = beta
        column = H[:j + 2, j].copy()
        for i in range(j):
            column[i], column[i + 1] = (cosines[i] * column[i] + sines[i] * column[i + 1],
                                        -sines[i] * column[i] + cosines[i] * column[i + 1])
        radius = np.hypot(column[j], column[j + 1])
        cosines[j], sines[j] = (column[j] / radius, column[j + 1] / radius) if radius > 0 else (1.0, 0.0)
        R[:j + 1, j] = column[:j + 1]
        R[j, j] = radius
        g[j + 1] = -sines[j] * g[j]
        g[j] = cosines[j] * g[j]
        if beta > 0:
            V[j + 1] = w / beta
        if abs(g[j + 1]) <= threshold or beta == 0.0:
            done = j + 1
            break
    y = la.solve_triangular(R[:done, :done], g[:done], check_finite=False)
    coordinates = -H[:done + 1, :done] @ y
    coordinates[0] += norm_r
    residual = coordinates @ V[:done + 1]
    return _Cycle(V[:done + 1], None if Z is None else Z[:done], H[:done + 1, :done], B[:, :done], y,
                  residual, vector_norm(residual))


def _harmonic_ritz_subspace(cycle: _Cycle, U: np.ndarray | None, C: np.ndarray | None,
                            recycle: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (U, C) of the next recycled subspace: the ``recycle`` harmonic Ritz vectors of A
    with smallest harmonic Ritz values in ``span[U, Z_j]`` (see the module docstring)."""
    j = cycle.steps
    k = 0 if U is None else len(U)
    scale = np.ones(0) if U is None else 1.0 / np.sqrt(np.square(U).sum(axis=1))
    G = np.zeros((k + j + 1, k + j))
    G[:k, :k] = np.diag(scale)
    G[:k, k:] = cycle.B
    G[k:, k:] = cycle.H
    search = cycle.V[:-1] if cycle.Z is None else cycle.Z  # rows of Z_j
    scaled_U = None if U is None else U * scale[:, None]
    WtV = np.zeros((k + j + 1, k + j))
    if k:
        WtV[:k, :k] = C @ scaled_U.T
        WtV[k:, :k] = cycle.V @ scaled_U.T
    if cycle.Z is None:
        WtV[k:k + j, k:] = np.eye(j)  # V_{j+1}^T V_j; C^T V_j = 0
    else:
        if k:
            WtV[:k, k:] = C @ search.T
        WtV[k:, k:] = cycle.V @ search.T
    values, vectors = la.eig(G.T @ G, G.T @ WtV, check_finite=False)
    finite = np.flatnonzero(np.isfinite(values))
    order = finite[np.argsort(np.abs(values[finite]), kind="stable")]
    columns = []
    for index in order:
        if len(columns) >= recycle:
            break
        vector = vectors[:, index]
        if abs(values[index].imag) > 0:
            if values[index].imag < 0:
                continue  # its conjugate brings the same real pair
            columns.append(vector.imag)
        columns.append(vector.real)
    if not columns:
        return U, C
    P = np.array(columns[:recycle]).T  # (k + j, k')
    Q, R = la.qr(G @ P, mode="economic")
    keep = np.abs(np.diag(R)) > 1e-12 * np.abs(R).max()
    P, Q, R = P[:, keep], Q[:, keep], R[np.ix_(keep, keep)]
    combination = la.solve_triangular(R, P.T, trans="T", lower=False)  # rows of (P R^{-1})^T
    new_U = combination[:, k:] @ search
    new_C = Q[k:].T @ cycle.V
    if k:
        new_U += combination[:, :k] @ scaled_U
        new_C += Q[:k].T @ C
    return new_U, new_C
