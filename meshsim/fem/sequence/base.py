"""`SequenceSolver`: solves a sequence of related systems ``A_i x_i = b_i`` one call at a time,
keeping what helps the next solve (a factorisation, a recycled Krylov subspace, a learned
relaxation factor) and recording every solve.

Every returned solution is checked like `meshsim.fem.solve` checks its own: the true relative
residual ``||b - A x|| / ||b||`` must reach ``tol`` (or the rounding floor, see
`meshsim.fem.solvers`), else `SolverError` gives the residual reached.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from ..errors import FEMError, SolverError
from ..solvers import LinearSolver, is_symmetric, residual_target, vector_norm


@dataclass(frozen=True)
class SolveRecord:
    """What one solve of a sequence cost.

    Attributes:
        iterations: Krylov iterations (one product with A and one preconditioner application
            each; 0 for a direct solve).
        matvecs: the solver's products with A: its iterations plus any setup (the recycled
            subspace of a new matrix, an initial residual); the final residual check is not counted.
        seconds: wall time of the solve, setup included.
        residual: true relative residual ``||b - A x|| / ||b||`` of the returned x.
        omega: SOR relaxation factor used, for the SOR solvers (else None).
    """

    iterations: int
    matvecs: int
    seconds: float
    residual: float
    omega: float | None = None


@dataclass
class System:
    """One checked system of a sequence: ``matrix`` (n, n) CSR float64, whether it is symmetric, and ``||A||_inf`` (computed on first use)."""

    matrix: sp.csr_matrix
    symmetric: bool
    _norm_inf: float | None = None

    @property
    def shape(self) -> tuple:
        return self.matrix.shape

    @property
    def norm_inf(self) -> float:
        if self._norm_inf is None:
            self._norm_inf = float(abs(self.matrix).sum(axis=1).max())
        return self._norm_inf


class SequenceSolver:
    """Base of the solvers of sequences: ``x = solver.solve(A, b)`` for each system in turn.

    Subclasses implement ``_solve(system, b, x0, context, new_matrix) -> (x, iterations,
    matvecs, omega)``; this class checks the inputs and the answer and records the solve in
    ``records``.

    Args:
        tol: relative residual ``||b - A x|| / ||b||`` every returned solution reaches.
    """

    def __init__(self, tol: float = 1e-10):
        if not tol > 0:
            raise FEMError(f"tol must be positive, got {tol}")
        self.tol = float(tol)
        self.records: list[SolveRecord] = []
        self._given = None
        self._system: System | None = None

    def solve(self, A, b: np.ndarray, x0: np.ndarray | None = None, *, symmetric: bool | None = None,
              context: float | None = None) -> np.ndarray:
        """Solution x (n,) of ``A x = b``.

        Args:
            A: square sparse matrix (n, n). Passing the same object again (time steps of one
                matrix) reuses everything set up for it.
            b: right-hand side (n,).
            x0: initial guess (n,) for the iterative solvers (e.g. the previous time step).
            symmetric: whether A is symmetric; checked numerically when not given.
            context: a number describing the system, for the contextual bandit (`BanditSOR`).

        Raises:
            FEMError: bad shapes or non-finite entries. SolverError: tolerance not reached.
        """
        start = time.perf_counter()
        new_matrix = A is not self._given
        if new_matrix:
            self._system = _check_matrix(A, symmetric)
            self._given = A
        system = self._system
        b = np.asarray(b, dtype=np.float64)
        n = system.shape[0]
        if b.shape != (n,):
            raise FEMError(f"right-hand side has shape {b.shape}, expected ({n},)")
        if not np.isfinite(b).all():
            raise FEMError(f"right-hand side has {int((~np.isfinite(b)).sum())} non-finite entries")
        if x0 is not None:
            x0 = np.asarray(x0, dtype=np.float64)
            if x0.shape != (n,) or not np.isfinite(x0).all():
                raise FEMError(f"x0 must be finite with shape ({n},), got shape {x0.shape}")
        norm_b = vector_norm(b)
        if norm_b == 0.0:
            x, iterations, matvecs, omega = np.zeros(n), 0, 0, None
            self._given = None  # nothing was set up for this matrix: the next call does it
        else:
            with _blas_controller().limit(limits=1, user_api="blas"):
                x, iterations, matvecs, omega = self._solve(system, b, x0, context, new_matrix)
        relative = vector_norm(b - system.matrix @ x) / norm_b if norm_b > 0 else 0.0
        if not self._accepts(relative, system, x, norm_b):
            self._given = None  # set everything up again for the next call
            raise SolverError(f"{type(self).__name__} did not converge: relative residual {relative:.3e} > "
                              f"tol {self.tol:.1e} after {iterations} iterations")
        self.records.append(SolveRecord(iterations, matvecs, time.perf_counter() - start, relative, omega))
        return x

    def _accepts(self, relative: float, system: System, x: np.ndarray, norm_b: float) -> bool:
        if relative <= self.tol:
            return True
        return bool(np.isfinite(relative)
                    and relative <= residual_target(self.tol, system.norm_inf, vector_norm(x), norm_b))

    __call__ = solve

    def _solve(self, system: System, b: np.ndarray, x0, context, new_matrix: bool):
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what is tied to the unknowns of the systems solved so far (a factorisation, a
        recycled subspace), e.g. before systems on another mesh. What was learned about the
        sequence (a bandit's losses) and ``records`` are kept."""
        self._given = None
        self._system = None

    @property
    def iterations(self) -> np.ndarray:
        """(num_solves,) iterations of each solve so far."""
        return np.array([r.iterations for r in self.records], dtype=np.int64)

    @property
    def total_iterations(self) -> int:
        return int(sum(r.iterations for r in self.records))

    @property
    def total_seconds(self) -> float:
        return float(sum(r.seconds for r in self.records))


def solve_sequence(solver: SequenceSolver, systems, order=None, contexts=None,
                   symmetric: bool | None = None) -> list[np.ndarray]:
    """Solve ``systems`` [(A, b)] with one solver, in ``order`` (default as given; e.g.
    `sort_by_similarity`), passing ``contexts[i]`` to system i (contextual bandits). Returns the
    solutions in the systems' own order; ``solver.records`` are in solving order."""
    order = range(len(systems)) if order is None else order
    solutions = [None] * len(systems)
    for i in order:
        A, b = systems[i]
        solutions[i] = solver.solve(A, b, symmetric=symmetric, context=None if contexts is None else contexts[i])
    return solutions


class LinearSequence(SequenceSolver):
    """Each system solved by `LinearSolver` (``"direct"`` SuperLU, ``"amg"`` AMG-preconditioned
    CG/GMRES, or ``"auto"``); its factorisation or AMG hierarchy is kept while the same matrix
    object comes back (time steps).

    Args:
        method: ``"direct"``, ``"amg"`` or ``"auto"`` (see `LinearSolver`).
        tol: relative residual of every solution.
    """

    def __init__(self, method: str = "direct", tol: float = 1e-10):
        super().__init__(tol)
        if method not in ("direct", "amg", "auto"):
            raise FEMError(f"method must be 'direct', 'amg' or 'auto', got {method!r}")
        self.method = method
        self._solver: LinearSolver | None = None

    def _solve(self, system, b, x0, context, new_matrix):
        if new_matrix or self._solver is None:
            method = self.method
            if method == "amg":
                method = "cg" if system.symmetric else "gmres"
            self._solver = LinearSolver(system.matrix, method=method, tol=self.tol, symmetric=system.symmetric)
        x = self._solver.solve(b, x0=x0)
        iterations = self._solver.iterations
        return x, iterations, iterations, None

    def reset(self) -> None:
        super().reset()
        self._solver = None


@cache
def _blas_controller() -> ThreadpoolController:
    """The BLAS thread pools, limited to one thread inside every solve: the solvers' dense
    operations are small ((n, 40) at most), where a second thread gains little on an idle machine
    and costs 10x on a busy one (12 GCRO-DR solves at 900 unknowns, load 6: 3.25 s with 2 BLAS
    threads, 0.36 s with 1)."""
    return ThreadpoolController()


def _check_matrix(A, symmetric: bool | None) -> System:
    matrix = sp.csr_matrix(A, dtype=np.float64)
    if matrix.shape[0] != matrix.shape[1]:
        raise FEMError(f"the system matrix must be square, got shape {matrix.shape}")
    if not np.isfinite(matrix.data).all():
        raise FEMError(f"the system matrix has {int((~np.isfinite(matrix.data)).sum())} non-finite entries")
    return System(matrix, is_symmetric(matrix) if symmetric is None else bool(symmetric))
