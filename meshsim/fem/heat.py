"""Heat equation ``u_t - div(kappa grad u) = f`` by the theta scheme, the system matrix
factorised once and reused every step."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import scipy.sparse as sp

from ..mesh import Mesh
from .boundary import DirichletConstraint, dirichlet_constraint
from .coefficients import Coefficient
from .errors import FEMError
from .forms import mass
from .poisson import check_conditions, diffusion_system
from .sequence import SequenceSolver
from .solution import Trajectory
from .solvers import LinearSolver
from .space import FunctionSpace, as_space


def check_time_stepping(dt: float, num_steps: int, theta: float) -> None:
    """`FEMError` unless dt > 0, num_steps is a positive integer and 0 <= theta <= 1."""
    if not (np.isfinite(dt) and dt > 0):
        raise FEMError(f"dt must be a positive number, got {dt!r}")
    if not (isinstance(num_steps, (int, np.integer)) and num_steps >= 1):
        raise FEMError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not 0.0 <= theta <= 1.0:
        raise FEMError(f"theta must be in [0, 1] (1 implicit Euler, 0.5 Crank-Nicolson), got {theta!r}")


def theta_scheme(constraint: DirichletConstraint, mass_matrix: sp.spmatrix, operator: sp.spmatrix,
                 load: np.ndarray, u0: np.ndarray, dt: float, num_steps: int, theta: float,
                 method: str = "auto", tol: float = 1e-10, symmetric: bool | None = None,
                 solver: SequenceSolver | None = None) -> np.ndarray:
    """Dofs (num_steps + 1, num_dofs) of ``M u' + K u = F`` from ``u0`` by the theta scheme
    ``(M + theta dt K) u[n+1] = (M - (1 - theta) dt K) u[n] + dt F`` with Dirichlet values
    ``constraint``; the left matrix is factorised (or its AMG hierarchy built) once, or, with a
    `SequenceSolver` ``solver``, each step is the next system of its sequence (same matrix,
    the previous step as initial guess)."""
    free = constraint.free
    left = (mass_matrix + theta * dt * operator).tocsr()
    right_free_rows = (mass_matrix - (1.0 - theta) * dt * operator).tocsr()[free]
    left_free, lifting = constraint.split(left)
    if solver is None:
        step_solve = LinearSolver(left_free, method=method, tol=tol, symmetric=symmetric).solve
    else:
        def step_solve(rhs, x0):
            return solver.solve(left_free, rhs, x0=x0, symmetric=symmetric)
    constant = dt * load[free] - lifting
    dofs = np.empty((num_steps + 1, len(u0)))
    dofs[0] = u0
    dofs[1:, constraint.dofs] = constraint.values
    free_values = u0[free]
    for step in range(num_steps):
        free_values = step_solve(right_free_rows @ dofs[step] + constant, x0=free_values)
        dofs[step + 1, free] = free_values
    return dofs


def heat(domain: Mesh | FunctionSpace, u0: Coefficient, dt: float, num_steps: int,
         kappa: Coefficient = 1.0, f: Coefficient = 0.0, *, dirichlet: Mapping | None = None,
         neumann: Mapping | None = None, robin: Mapping | None = None, theta: float = 1.0,
         t0: float = 0.0, order: int | None = None, method: str = "auto",
         tol: float = 1e-10, solver: SequenceSolver | None = None) -> Trajectory:
    """Solve ``u_t - div(kappa grad u) = f`` for ``num_steps`` steps of size ``dt``.

    Args:
        domain: a `Mesh`, or a `FunctionSpace` reused across runs.
        u0: initial condition: constant, callable of x (dim, P) or point values (N,).
        dt: time step (> 0), in the time unit of kappa (length^2 / time).
        num_steps: number of steps T.
        kappa, f: conductivity (> 0) and source, constant in time; constant, callable of x or
            point values (N,).
        dirichlet, neumann, robin: boundary conditions by name, constant in time (see `poisson`).
        theta: 1 implicit Euler (first order), 0.5 Crank-Nicolson (second order).
        t0: initial time.
        order: 1 or 2 when ``domain`` is a mesh.
        method, tol: linear solver, see `LinearSolver`; it is set up once for all steps.
        solver: a `SequenceSolver` solving the steps as a sequence instead (its tolerance applies).

    Returns:
        `Trajectory` with ``times`` (T+1,) and ``values`` (T+1, N), the initial condition first.
    """
    space = as_space(domain, order)
    check_time_stepping(dt, num_steps, theta)
    check_conditions(space, dirichlet, neumann, robin)
    constraint = dirichlet_constraint(space, dirichlet)
    initial = space.interpolate(u0, name="u0")
    stiffness, load = diffusion_system(space, kappa, f, neumann, robin)
    mass_matrix = space.assemble_matrix(mass)
    dofs = theta_scheme(constraint, mass_matrix, stiffness, load, initial, dt, num_steps, theta,
                        method=method, tol=tol, symmetric=True, solver=solver)
    return Trajectory(space, t0 + dt * np.arange(num_steps + 1), dofs)
