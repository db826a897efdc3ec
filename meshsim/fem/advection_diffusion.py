"""Advection-diffusion ``u_t + b . grad u - div(eps grad u) = f`` with SUPG stabilisation
(P1), time-dependent (theta scheme) or steady, and the velocity fields and initial
conditions of the swirl / rotating-cone tests used by mesh-movement papers.

SUPG (Brooks & Hughes 1982) tests the residual also with ``tau b . grad v``; on each element
``tau = h / (2 |b|) (coth(Pe) - 1 / Pe)`` with the element Peclet number ``Pe = |b| h / (2 eps)``
and h the element length along the flow, ``h = 2 |b| / sum_i |b . grad phi_i|`` (Tezduyar).
In 1D with P1 this tau makes the steady solution exact at the nodes for every Peclet number.
For P1 the diffusion term of the residual vanishes inside elements, so the method is
consistent; P2 would need second derivatives, which scikit-fem's elements do not give, so
only P1 is offered.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot, grad

from ..mesh import Mesh
from .boundary import dirichlet_constraint, neumann_load, robin_terms
from .coefficients import Coefficient
from .errors import FEMError
from .heat import check_time_stepping, theta_scheme
from .poisson import check_conditions
from .solution import Solution, Trajectory
from .solvers import LinearSolver, RecyclingSolver
from .space import FunctionSpace, as_space


def swirl_velocity(x: np.ndarray, t: float, period: float = 1.0) -> np.ndarray:
    """Swirling flow on the unit square (LeVeque 1996), reversing at ``period / 2`` so the
    advected field returns to its initial state at ``t = period``:
    ``b = cos(pi t / period) (sin^2(pi x) sin(2 pi y), -sin^2(pi y) sin(2 pi x))``.
    x: (2, ...) -> (2, ...). Tangential on the square's boundary."""
    scale = np.cos(np.pi * t / period)
    return scale * np.stack([np.sin(np.pi * x[0]) ** 2 * np.sin(2 * np.pi * x[1]),
                             -np.sin(np.pi * x[1]) ** 2 * np.sin(2 * np.pi * x[0])])


def rotating_velocity(x: np.ndarray, center=(0.5, 0.5), angular_speed: float = 2 * np.pi) -> np.ndarray:
    """Rigid rotation about ``center`` (counter-clockwise, radians per time unit): the
    rotating-cone test. x: (2, ...) -> (2, ...)."""
    return angular_speed * np.stack([-(x[1] - center[1]), x[0] - center[0]])


def gaussian_cone(x: np.ndarray, center=(0.5, 0.75), width: float = 0.1) -> np.ndarray:
    """``exp(-|x - center|^2 / (2 width^2))``, a smooth cone of height 1. x: (dim, ...) -> (...)."""
    center = np.asarray(center, dtype=np.float64).reshape((-1,) + (1,) * (np.ndim(x) - 1))
    return np.exp(-((np.asarray(x) - center) ** 2).sum(axis=0) / (2.0 * width ** 2))


def translating_gaussian(x: np.ndarray, t: float, velocity, eps: float, center, width: float) -> np.ndarray:
    """Exact free-space solution of u_t + b . grad u = eps lap u (constant b) whose initial
    condition is ``exp(-|x - center|^2 / (2 width^2))``: the Gaussian moves with b and spreads,
    ``width^2 / s * exp(-|x - center - b t|^2 / (2 s))`` with ``s = width^2 + 2 eps t`` (2D).
    x: (2, ...) -> (...)."""
    spread = width ** 2 + 2.0 * eps * t
    shift = (np.asarray(center, dtype=np.float64) + np.asarray(velocity, dtype=np.float64) * t)
    offset = np.asarray(x) - shift.reshape((-1,) + (1,) * (np.ndim(x) - 1))
    return width ** 2 / spread * np.exp(-(offset ** 2).sum(axis=0) / (2.0 * spread))


def supg_tau(space: FunctionSpace, velocity_q: np.ndarray, eps_q: np.ndarray) -> np.ndarray:
    """SUPG parameter (E, Q) from the velocity (dim, E, Q) and diffusivity (E, Q) at the
    quadrature points (formula in the module docstring)."""
    streamline = sum(np.abs(np.einsum("d...,d...->...", velocity_q, space.basis.basis[i][0].grad))
                     for i in range(space.basis.Nbfun))  # = 2 |b| / h
    speed = np.linalg.norm(velocity_q, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        peclet = np.where(streamline > 0, speed ** 2 / (eps_q * streamline), 0.0)
        xi = np.where(peclet > 1e-3, 1.0 / np.tanh(peclet) - 1.0 / peclet, peclet / 3.0)
        return np.where(streamline > 0, xi / streamline, 0.0)


@BilinearForm
def _supg_mass(u, v, w):
    return u * (v + w.tau * dot(w.b, grad(v)))


@BilinearForm
def _supg_operator(u, v, w):
    return w.eps * dot(grad(u), grad(v)) + dot(w.b, grad(u)) * (v + w.tau * dot(w.b, grad(v)))


@LinearForm
def _supg_source(v, w):
    return w.f * (v + w.tau * dot(w.b, grad(v)))


def _operators(space: FunctionSpace, velocity, eps_q, f, supg: bool, time: bool):
    """(SUPG mass or None, operator matrix, load) for one velocity field."""
    b_q = space.coefficient(velocity, "velocity", shape=(space.mesh.dim,))
    tau = supg_tau(space, b_q, eps_q) if supg else np.zeros_like(eps_q)
    f_q = space.coefficient(f, "f")
    weights = dict(b=b_q, tau=tau)
    mass_matrix = space.assemble_matrix(_supg_mass, **weights) if time else None
    operator = space.assemble_matrix(_supg_operator, eps=eps_q, **weights)
    return mass_matrix, operator, space.assemble_vector(_supg_source, f=f_q, **weights)


def _setup(domain, eps, dirichlet, neumann, robin, order):
    space = as_space(domain, order)
    if space.order != 1:
        raise FEMError("advection-diffusion is P1 only: SUPG with P2 needs second derivatives "
                       "that scikit-fem's P2 elements do not provide")
    check_conditions(space, dirichlet, neumann, robin)
    constraint = dirichlet_constraint(space, dirichlet)
    eps_q = space.coefficient(eps, "eps", positive=True)
    robin_matrix, robin_load = robin_terms(space, robin)
    return space, constraint, eps_q, robin_matrix, neumann_load(space, neumann) + robin_load


def steady_advection_diffusion(domain: Mesh | FunctionSpace, velocity: Coefficient, eps: Coefficient,
                               f: Coefficient = 0.0, *, dirichlet: Mapping | None = None,
                               neumann: Mapping | None = None, robin: Mapping | None = None,
                               supg: bool = True, order: int | None = None, method: str = "auto",
                               tol: float = 1e-10) -> Solution:
    """Solve ``b . grad u - div(eps grad u) = f`` (P1, SUPG unless ``supg=False``).

    Args:
        velocity: b, a constant (dim,), callable of x (dim, E, Q) -> (dim, E, Q), or point
            values (N, dim).
        eps: diffusivity (> 0): constant, callable or point values (N,).
        f: source; dirichlet, neumann (``eps du/dn = g``), robin: as in `poisson`.
    """
    space, constraint, eps_q, robin_matrix, boundary_load = _setup(domain, eps, dirichlet, neumann, robin, order)
    _, operator, load = _operators(space, velocity, eps_q, f, supg, time=False)
    matrix, rhs = constraint.reduce(operator + robin_matrix, load + boundary_load)
    free_values = LinearSolver(matrix, method=method, tol=tol, symmetric=False).solve(rhs)
    return Solution(space, constraint.expand(free_values))


def advection_diffusion(domain: Mesh | FunctionSpace, u0: Coefficient, velocity, eps: Coefficient,
                        dt: float, num_steps: int, f: Coefficient = 0.0, *,
                        dirichlet: Mapping | None = None, neumann: Mapping | None = None,
                        robin: Mapping | None = None, theta: float = 0.5, supg: bool = True,
                        velocity_depends_on_time: bool = False, t0: float = 0.0,
                        order: int | None = None, method: str = "auto", tol: float = 1e-10) -> Trajectory:
    """Solve ``u_t + b . grad u - div(eps grad u) = f`` by the theta scheme (P1, SUPG).

    Args:
        u0: initial condition: constant, callable of x (dim, P) or point values (N,).
        velocity: b as in `steady_advection_diffusion`; with ``velocity_depends_on_time`` a
            callable ``b(x, t)`` (e.g. `swirl_velocity`), evaluated at ``t_n + theta dt`` in
            step n (second order for theta = 1/2), the matrices re-assembled every step and
            solved by GMRES preconditioned with an earlier step's factorisation
            (`RecyclingSolver`). A steady b is assembled and factorised once.
        eps, f, dirichlet, neumann, robin: as in `steady_advection_diffusion`, constant in time.
        dt, num_steps, theta, t0: time stepping as in `heat` (default Crank-Nicolson).

    Returns:
        `Trajectory`, ``values`` (T+1, N), the initial condition first.
    """
    check_time_stepping(dt, num_steps, theta)
    space, constraint, eps_q, robin_matrix, boundary_load = _setup(domain, eps, dirichlet, neumann, robin, order)
    initial = space.interpolate(u0, name="u0")
    times = t0 + dt * np.arange(num_steps + 1)
    if not velocity_depends_on_time:
        mass_matrix, operator, load = _operators(space, velocity, eps_q, f, supg, time=True)
        dofs = theta_scheme(constraint, mass_matrix, operator + robin_matrix, load + boundary_load,
                            initial, dt, num_steps, theta, method=method, tol=tol, symmetric=False)
        return Trajectory(space, times, dofs)
    if not callable(velocity):
        raise FEMError("velocity_depends_on_time needs velocity to be a callable b(x, t)")
    dofs = np.empty((num_steps + 1, space.num_dofs))
    dofs[0] = initial
    solver = RecyclingSolver(method=method, tol=tol)
    for step in range(num_steps):
        velocity_now = _at_time(velocity, times[step] + theta * dt)
        mass_matrix, operator, load = _operators(space, velocity_now, eps_q, f, supg, time=True)
        operator = operator + robin_matrix
        left = (mass_matrix + theta * dt * operator).tocsr()
        right = mass_matrix - (1.0 - theta) * dt * operator
        matrix, rhs = constraint.reduce(left, right @ dofs[step] + dt * (load + boundary_load))
        free_values = solver.solve(matrix, rhs, x0=dofs[step, constraint.free])
        dofs[step + 1] = constraint.expand(free_values)
    return Trajectory(space, times, dofs)


def _at_time(velocity: Callable, t: float) -> Callable:
    return lambda x: velocity(x, t)
