"""SSOR-preconditioned conjugate gradients with a given relaxation factor omega, the solver whose
omega `BanditSOR` learns (Khodak et al., "Learning to Relax", ICLR 2024), and `SSORCG`, the
sequence solver with one fixed omega (the comparators: omega = 1, best fixed omega in hindsight).

CG runs in reverse Cuthill-McKee order (see `rcm_order`); the iteration count is the number of
products with A, the loss the bandit minimises. The ordered matrix and the SSOR factors of each
omega used are kept while the same matrix object comes back (time steps). With the ``numba``
backend (the default when numba is installed) the whole iteration is one compiled kernel
(`meshsim.fem.sequence.kernels.ssor_cg`), with the same steps as the Python loop here.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import FEMError
from ..solvers import vector_norm
from .backends import kernels, resolve_backend
from .base import SequenceSolver, System
from .preconditioners import SSORPreconditioner, rcm_order


def ssor_cg(A: sp.csr_matrix, b: np.ndarray, preconditioner: SSORPreconditioner, tol: float,
            x0: np.ndarray | None = None, maxiter: int = 10_000) -> tuple[np.ndarray, int]:
    """Preconditioned CG on the symmetric positive definite ``A x = b``, all in the
    preconditioner's order (A, b and x0 already permuted).

    Stops when the recursively updated residual is below ``tol ||b||``, then checks the true
    residual and continues from it if the recurrence drifted (at most twice). A preconditioner
    of the ``numba`` backend runs the whole iteration compiled.

    Returns:
        x (n,) and the number of iterations (products with A, the initial residual excluded).
    """
    threshold = tol * vector_norm(b)
    if preconditioner.backend == "numba":
        return _ssor_cg_compiled(A, b, preconditioner, threshold, x0, maxiter)
    x = np.zeros_like(b) if x0 is None else x0.copy()
    iterations = 0
    for _ in range(3):
        r = b - A @ x if (x0 is not None or iterations) else b.copy()
        if vector_norm(r) <= threshold:
            break
        z = preconditioner.apply_ordered(r)
        p = z.copy()
        rz = float(r @ z)
        while iterations < maxiter:
            q = A @ p
            pq = float(p @ q)
            iterations += 1
            if not pq > 0.0:
                raise _not_positive_definite(pq, iterations)
            alpha = rz / pq
            x += alpha * p
            r -= alpha * q
            if vector_norm(r) <= threshold:
                break
            z = preconditioner.apply_ordered(r)
            rz_next = float(r @ z)
            p *= rz_next / rz
            p += z
            rz = rz_next
        if iterations >= maxiter:
            break
    return x, iterations


def _ssor_cg_compiled(A, b: np.ndarray, preconditioner: SSORPreconditioner, threshold: float,
                      x0: np.ndarray | None, maxiter: int) -> tuple[np.ndarray, int]:
    A = sp.csr_matrix(A, dtype=np.float64)
    M = preconditioner.matrix
    b = np.ascontiguousarray(b, dtype=np.float64)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64)
    iterations, pq = kernels().ssor_cg(A.indptr, A.indices, A.data, M.indptr, M.indices, M.data,
                                       preconditioner.diagonal, preconditioner.omega, b, x, x0 is not None,
                                       threshold, maxiter)
    if not pq > 0.0:
        raise _not_positive_definite(pq, iterations)
    return x, int(iterations)


def _not_positive_definite(pq: float, iterations: int) -> FEMError:
    return FEMError("SSOR-preconditioned CG needs a symmetric positive definite matrix; "
                    f"p^T A p = {pq:.3g} at iteration {iterations}")


class _OrderedSystem:
    """A symmetric matrix in RCM order with the SSOR factors built so far, by omega. The order
    and the permutation of the matrix entries are taken over from ``previous`` when the sparsity
    pattern is the same (dataset samples on one mesh). ``backend``: "numba" or "scipy"."""

    def __init__(self, system: System, previous: "_OrderedSystem | None" = None, backend: str = "scipy"):
        if not system.symmetric:
            raise FEMError("SSOR-preconditioned CG needs a symmetric positive definite matrix; "
                           "this one is not symmetric")
        A = system.matrix
        if not A.has_canonical_format:
            A = A.copy()
            A.sum_duplicates()
        if previous is not None and previous.has_pattern(A):
            self.order, self._entries, self._pattern = previous.order, previous._entries, previous._pattern
            self._ordered_pattern = previous._ordered_pattern
        else:
            self.order = rcm_order(A)
            # permute entry numbers 1..nnz like the matrix to find where each entry goes
            probe = sp.csr_matrix((np.arange(1.0, A.nnz + 1.0), A.indices, A.indptr), shape=A.shape)
            ordered = sp.csr_matrix(probe[self.order][:, self.order])
            self._entries = ordered.data.astype(np.int64) - 1
            self._pattern = (A.indptr, A.indices)
            self._ordered_pattern = (ordered.indptr, ordered.indices)
        self.matrix = sp.csr_matrix((A.data[self._entries], self._ordered_pattern[1], self._ordered_pattern[0]),
                                    shape=A.shape)
        self._factors: dict[float, SSORPreconditioner] = {}
        self.backend = backend

    def has_pattern(self, A: sp.csr_matrix) -> bool:
        indptr, indices = self._pattern
        return (A.shape[0] + 1 == len(indptr) and A.nnz == len(indices)
                and np.array_equal(A.indptr, indptr) and np.array_equal(A.indices, indices))

    def solve(self, b: np.ndarray, x0: np.ndarray | None, omega: float, tol: float,
              maxiter: int) -> tuple[np.ndarray, int]:
        if omega not in self._factors:
            self._factors[omega] = SSORPreconditioner(self.matrix, omega, backend=self.backend)
        x0 = None if x0 is None else x0[self.order]
        x_ordered, iterations = ssor_cg(self.matrix, b[self.order], self._factors[omega], tol, x0, maxiter)
        x = np.empty_like(x_ordered)
        x[self.order] = x_ordered
        return x, iterations


def iterations_by_omega(A, b: np.ndarray, omegas, tol: float, maxiter: int = 10_000,
                        backend: str = "auto") -> np.ndarray:
    """(len(omegas),) SSOR-CG iterations of ``A x = b`` (symmetric positive definite, from x = 0)
    for each omega: one row of the cost table that gives the best fixed omega in hindsight
    (`best_fixed_in_hindsight`). The RCM order is computed once for all omegas."""
    ordered = _OrderedSystem(System(sp.csr_matrix(A, dtype=np.float64), symmetric=True),
                             backend=resolve_backend(backend))
    b = np.asarray(b, dtype=np.float64)
    return np.array([ordered.solve(b, None, float(omega), tol, maxiter)[1] for omega in omegas], dtype=np.int64)


class SSORCG(SequenceSolver):
    """SSOR-preconditioned CG with one fixed relaxation factor for every system.

    Args:
        omega: relaxation factor in (0, 2) (1: symmetric Gauss-Seidel).
        tol: relative residual of every solution.
        maxiter: iterations allowed per solve.
        backend: ``"auto"``, ``"numba"`` or ``"scipy"`` (see `meshsim.fem.sequence.backends`).
    """

    def __init__(self, omega: float = 1.0, tol: float = 1e-10, maxiter: int = 10_000, backend: str = "auto"):
        super().__init__(tol)
        if not 0.0 < omega < 2.0:
            raise FEMError(f"omega must be in (0, 2), got {omega}")
        self.omega = float(omega)
        self.maxiter = int(maxiter)
        self.backend = resolve_backend(backend)
        self._ordered: _OrderedSystem | None = None

    def _solve(self, system, b, x0, context, new_matrix):
        if new_matrix or self._ordered is None:
            self._ordered = _OrderedSystem(system, self._ordered, self.backend)
        x, iterations = self._ordered.solve(b, x0, self.omega, self.tol, self.maxiter)
        return x, iterations, iterations + (x0 is not None), self.omega

    def reset(self) -> None:
        super().reset()
        self._ordered = None
