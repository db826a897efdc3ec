"""Monge-Ampere mesh movement (r-adaptation) on a fixed computational mesh.

Find a potential phi on the computational mesh (points xi) such that the physical points
``x = xi + grad phi`` equidistribute the monitor m::

    m(x) det(I + H(phi)) = theta,    theta = int m det(I + H) dxi / |Omega|,

with grad phi and H(phi) recovered from the P1 phi by L2 projection (the gradient with the
boundary nodes' normal component removed; the Hessian by integration by parts with the tangential
gradient on the boundary), as in the reference `movement` package (McRae et al. 2018):

- ``relaxation``: pseudo-time stepping ``int grad psi . grad phi_new = int grad psi . grad phi_old
  + dtau int psi (m det(I + H) - theta)`` (Neumann Laplacian, factorised once);
- ``quasi_newton``: Newton on ``int psi (m det(I + H(phi)) - theta) = 0`` with the monitor held
  fixed in the Jacobian (GMRES on the Jacobian bordered by theta and a zero-mean condition on phi,
  preconditioned by its lumped-mass version), backtracking when a step raises the residual or
  tangles the mesh.

The monitor is re-evaluated on every iterate. Every operator on the computational mesh is built
once; an iteration costs a few sparse solves with stored factorisations plus the monitor.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..mesh import Mesh, MeshError
from .boundary import SlidingBoundary
from .errors import MovementError
from .p1 import TriangleP1
from .report import MovementResult, check_untangled, report_for, tangled_cells

METHODS = ("relaxation", "quasi_newton")
#: backtracking halvings a quasi-Newton step may take
MAX_BACKTRACKS = 6
#: relative tolerance, restart length and restarts of the GMRES solve of each Newton step
NEWTON_RTOL = 1e-8
GMRES_RESTART = 60
GMRES_MAXITER = 20


class _Operators:
    """What the iterations reuse on the computational mesh: factorisations and sparse maps."""

    def __init__(self, mesh: Mesh, fixed_boundaries: Iterable[str]):
        ops = TriangleP1.of(mesh)
        self.ops, self.n = ops, mesh.num_points
        self.boundary = SlidingBoundary.of(mesh, fixed_boundaries, ops)
        self.mass = ops.mass
        self.mass_lu = spla.splu(ops.mass.tocsc())
        self.stiffness_lu = spla.splu(ops.stiffness[1:, 1:].tocsc())  # phi pinned at node 0
        self.gradient = sp.vstack([ops.gradient_matrix(0), ops.gradient_matrix(1)]).tocsr()  # (2N, N)
        a = ops.hessian_matrices(tangential=True)
        self.hessian = [a[0][0], a[0][1], a[1][0], a[1][1]]  # components 00, 01, 10, 11
        self.free = self.boundary.free_basis()  # (2N, F)
        vector_mass = sp.block_diag([ops.mass, ops.mass]).tocsr()
        self.projection_matrix = (self.free.T @ vector_mass @ self.free).tocsc()
        self.projection_lu = spla.splu(self.projection_matrix)
        self.interpolate, self.dx = ops.quadrature_interpolation, ops.quadrature_weights
        self.area = float(self.dx.sum())
        self.test_integrals = ops.load(np.ones_like(self.dx))  # int psi

    def displacement(self, phi: np.ndarray) -> np.ndarray:
        """(N, 2) L2 projection of grad phi onto the allowed (sliding / fixed) displacements."""
        coords = self.projection_lu.solve(self.free.T @ (self.gradient @ phi))
        return (self.free @ coords).reshape(2, self.n).T

    def hessian_of(self, phi: np.ndarray) -> np.ndarray:
        """(N, 4) recovered Hessian components (00, 01, 10, 11)."""
        return self.mass_lu.solve(np.column_stack([a @ phi for a in self.hessian]))

    def potential_of(self, displacement: np.ndarray) -> np.ndarray:
        """phi (N,) whose gradient best fits the P1 ``displacement`` (N, 2) in L2 (a Neumann Poisson
        problem), to start from moved points. The projected gradient does not determine phi (it
        has checkerboard-like null vectors), so this is the smoothest fit, not an inverse."""
        n = self.n
        load = self.gradient[:n].T @ displacement[:, 0] + self.gradient[n:].T @ displacement[:, 1]
        phi = np.zeros(n)
        phi[1:] = self.stiffness_lu.solve(load[1:] - load.mean())
        return phi


def _monitor_values(monitor: Callable, moved: Mesh) -> np.ndarray:
    values = np.asarray(monitor(moved), dtype=np.float64).reshape(-1)
    if values.shape != (moved.num_points,):
        raise MovementError(f"the monitor returned shape {values.shape}, expected ({moved.num_points},)")
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if len(bad):
        raise MovementError(f"the monitor must be finite and positive; it is {values[bad[0]]} at "
                            f"{len(bad)} points, e.g. x = {moved.points[bad[0]].tolist()}")
    return values


class _State:
    """One iterate: potential, recovered Hessian, moved points, monitor, theta and residual."""

    def __init__(self, problem: "_MongeAmpere", phi: np.ndarray):
        ops = problem.operators
        self.phi = phi
        self.hessian = ops.hessian_of(phi)
        self.points = problem.mesh.points + ops.displacement(phi)
        self.tangled = tangled_cells(problem.mesh, self.points)
        if len(self.tangled):
            return
        self.monitor = _monitor_values(problem.monitor, problem.mesh.with_points(self.points, validate=False))
        self.m_q = ops.interpolate @ self.monitor
        h = ops.interpolate @ self.hessian  # (MQ, 4)
        self.h_q = h
        det = (1.0 + h[:, 0]) * (1.0 + h[:, 3]) - h[:, 1] * h[:, 2]
        self.theta = float((ops.dx * self.m_q * det).sum() / ops.area)
        self.residual_vector = ops.interpolate.T @ (ops.dx * (self.m_q * det - self.theta))
        self.residual = float(np.linalg.norm(self.residual_vector)
                              / np.linalg.norm(self.theta * ops.test_integrals))


class _MongeAmpere:
    def __init__(self, mesh: Mesh, monitor: Callable, fixed_boundaries: Iterable[str]):
        self.mesh, self.monitor = mesh, monitor
        self.operators = _Operators(mesh, fixed_boundaries)

    def evaluate(self, phi: np.ndarray) -> _State:
        return _State(self, phi)

    # -- relaxation ---------------------------------------------------------------------------
    def relaxation_step(self, state: _State, dtau: float) -> np.ndarray:
        ops = self.operators
        increment = np.zeros(ops.n)
        increment[1:] = ops.stiffness_lu.solve(dtau * state.residual_vector[1:])
        return state.phi + increment

    # -- quasi-Newton -------------------------------------------------------------------------
    def newton_direction(self, state: _State) -> np.ndarray:
        """Newton increment of phi for the residual with the monitor held fixed.

        The Jacobian ``J v = sum_ij C_ij M^{-1} A_ij v`` (``C_ij`` the mass weighted by m and the
        cofactor of I + H, ``A_ij`` the weak Hessian, M the consistent mass) is applied matrix-free
        and bordered by theta (whose change absorbs the constant in the residual) and a zero-mean
        condition on phi; GMRES solves it, preconditioned by the sparse LU of the same Jacobian
        with the lumped mass in place of M.
        """
        ops = self.operators
        n, h = ops.n, state.h_q
        cofactors = [1.0 + h[:, 3], -h[:, 2], -h[:, 1], 1.0 + h[:, 0]]  # d det(I + H) / d H_ij
        coupling = [ops.ops.weighted_mass(state.m_q * c) for c in cofactors]
        w = ops.test_integrals

        def jacobian(v: np.ndarray) -> np.ndarray:
            dh = ops.mass_lu.solve(np.column_stack([a @ v[:n] for a in ops.hessian]))
            top = sum(c @ dh[:, k] for k, c in enumerate(coupling)) - w * v[n]
            return np.append(top, w @ v[:n])

        inverse_lumped = sp.diags(1.0 / ops.ops.lumped_mass)
        lumped = sum(c @ inverse_lumped @ a for c, a in zip(coupling, ops.hessian))
        column = sp.csr_matrix(w[:, None])
        preconditioner = spla.splu(sp.bmat([[lumped, -column], [column.T, None]], format="csc"))
        size = n + 1
        rhs = np.append(-state.residual_vector, 0.0)
        solution, info = spla.gmres(spla.LinearOperator((size, size), jacobian), rhs, rtol=NEWTON_RTOL,
                                    restart=GMRES_RESTART, maxiter=GMRES_MAXITER,
                                    M=spla.LinearOperator((size, size), preconditioner.solve))
        if info != 0:
            raise MovementError(f"the quasi-Newton linear solve did not converge (GMRES info {info})")
        return solution[:n]


def identity_residual(mesh: Mesh, monitor_values: np.ndarray) -> float:
    """Relative Monge-Ampere residual of leaving ``mesh`` as it is (phi = 0) for nodal monitor
    values (N,): ``||int psi (m - theta)|| / ||int psi theta||``, zero for an equidistributing
    monitor (a constant). A mesh below the tolerance needs no movement."""
    ops = TriangleP1.of(mesh)
    m_q = ops.quadrature_interpolation @ np.asarray(monitor_values, dtype=np.float64).reshape(-1)
    dx = ops.quadrature_weights
    theta = float((dx * m_q).sum() / dx.sum())
    psi = ops.load(np.ones_like(dx))
    return float(np.linalg.norm(ops.load(m_q - theta)) / np.linalg.norm(theta * psi))


def monge_ampere(mesh: Mesh, monitor: Callable[[Mesh], np.ndarray], *, method: str = "relaxation",
                 rtol: float = 1e-8, maxiter: int = 1000, dtol: float = 2.0, pseudo_timestep: float = 0.1,
                 fixed_boundaries: Iterable[str] = (), initial: MovementResult | np.ndarray | None = None
                 ) -> MovementResult:
    """Move the points of ``mesh`` to equidistribute ``monitor`` (Monge-Ampere, see the module doc).

    Args:
        mesh: 2D triangle mesh; its points are the computational coordinates xi.
        monitor: ``monitor(moved_mesh) -> (N,)`` positive values at the moved points, called on
            every iterate (see `meshsim.movement.monitors`).
        method: ``"relaxation"`` or ``"quasi_newton"``.
        rtol: stop when the relative residual is below this (the reference's default 1e-8;
            1e-3 for dataset generation).
        maxiter: potential updates allowed.
        dtol: divergence when the residual exceeds ``dtol`` times the first one.
        pseudo_timestep: dtau of the relaxation.
        fixed_boundaries: boundary names whose nodes do not move (needed for curved ones).
        initial: where to start: an earlier `MovementResult` on this mesh (its potential: a
            converged result is a fixed point, zero iterations), or (N, 2) moved points such as a
            learned mover's output (the potential whose gradient fits them best).

    Returns:
        `MovementResult` with the moved mesh, its `MovementReport` and the potential.

    Raises:
        MovementError: diverged, ``maxiter`` reached, the mesh tangled (naming the cells), a
            boundary that cannot slide, or a bad monitor.
    """
    if method not in METHODS:
        raise MovementError(f"method must be one of {METHODS}, got {method!r}")
    if not (rtol > 0 and maxiter >= 0 and dtol > 1 and pseudo_timestep > 0):
        raise MovementError(f"need rtol > 0, maxiter >= 0, dtol > 1, pseudo_timestep > 0; got {rtol}, "
                            f"{maxiter}, {dtol}, {pseudo_timestep}")
    start = time.perf_counter()
    problem = _MongeAmpere(mesh, monitor, fixed_boundaries)
    phi = np.zeros(mesh.num_points)
    if isinstance(initial, MovementResult):
        if initial.potential is None or initial.potential.shape != phi.shape:
            raise MovementError("initial must be a Monge-Ampere result on this mesh (with its potential)")
        phi = np.array(initial.potential, dtype=np.float64)
    elif initial is not None:
        initial = np.asarray(initial, dtype=np.float64)
        if initial.shape != mesh.points.shape:
            raise MovementError(f"initial points have shape {initial.shape}, expected {mesh.points.shape}")
        check_untangled(mesh, initial, "in the initial points")
        phi = problem.operators.potential_of(initial - mesh.points)
    state = problem.evaluate(phi)
    if len(state.tangled):
        check_untangled(mesh, state.points, "at the start")
    residuals = [state.residual]
    iterations = 0
    while state.residual >= rtol:
        if iterations >= maxiter:
            raise MovementError(f"{method} did not converge in {maxiter} iterations: relative residual "
                                f"{state.residual:.3e} > rtol {rtol:.1e}")
        if method == "relaxation":
            state = problem.evaluate(problem.relaxation_step(state, pseudo_timestep))
            if len(state.tangled):
                check_untangled(mesh, state.points, f"at relaxation iteration {iterations + 1}")
        else:
            state = _line_search(problem, state, iterations + 1)
        iterations += 1
        residuals.append(state.residual)
        if state.residual > dtol * residuals[0]:
            raise MovementError(f"{method} diverged at iteration {iterations}: relative residual "
                                f"{state.residual:.3e} > {dtol} x the initial {residuals[0]:.3e}")
    try:
        moved = mesh.with_points(state.points, validate=True)
    except MeshError as error:
        raise MovementError(f"the moved mesh is invalid: {error}") from None
    report = report_for(method, mesh, state.points, state.monitor, iterations=iterations, converged=True,
                        residuals=residuals, seconds=time.perf_counter() - start)
    return MovementResult(moved, report, state.phi)


def _line_search(problem: _MongeAmpere, state: _State, iteration: int) -> _State:
    """The Newton step, halved until it lowers the residual without tangling (the least bad
    untangled trial when none lowers it)."""
    direction = problem.newton_direction(state)
    best, step = None, 1.0
    for _ in range(MAX_BACKTRACKS + 1):
        trial = problem.evaluate(state.phi + step * direction)
        if not len(trial.tangled):
            if trial.residual < state.residual:
                return trial
            if best is None or trial.residual < best.residual:
                best = trial
        step *= 0.5
    if best is None:
        check_untangled(problem.mesh, trial.points, f"at quasi-Newton iteration {iteration} (every "
                        f"backtracked step tangles it)")
    return best
