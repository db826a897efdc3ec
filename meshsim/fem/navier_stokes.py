"""Incompressible Navier-Stokes on a triangle `Mesh`: Taylor-Hood P2/P1 in space,
semi-implicit BDF2 in time (and a Picard iteration for steady flow).

    du/dt + (u . grad) u - nu lap u + grad p = 0,   div u = 0

Each time step solves one linear system with the convecting velocity extrapolated,
w = 2 u^n - u^(n-1) (the first step is backward Euler with w = u^0):

    (3 u^(n+1) - 4 u^n + u^(n-1)) / (2 dt) + (w . grad) u^(n+1) - nu lap u^(n+1) + grad p^(n+1) = 0.

The matrix changes every step through w, but slowly: starting from the extrapolated solution,
it is solved by iterative refinement with the LU factors of an earlier step, refactorised only
when the refinement stalls (`taylor_hood.ReusedFactorisation`): DFG 2D-2 with dt = 0.005 needs
one factorisation per ~11 steps and ~5 refinement iterations per step. The matrix data is updated in
a fixed sparsity pattern (`taylor_hood.TaylorHoodSystem`), so nothing is re-assembled by scikit-fem.

Boundary conditions by boundary name: prescribed velocity (``inflow``, any boundary with a given
velocity, constant or time-dependent), ``no_slip`` (u = 0, wins at shared nodes), and the natural
"do-nothing" condition nu du/dn - p n = 0 on every other boundary (outflow). Without any
do-nothing boundary the pressure is normalised to zero mean.

Forces on a boundary (``force_on``) use the volume formula (John 2004): with v the P2 field that
is e_x (e_y) at the boundary's velocity dofs and zero elsewhere, F . e_x = -rho R(u, p; v), where
R is the discrete momentum residual (time derivative, convection, viscous and pressure terms),
evaluated without the Dirichlet conditions. This is far more accurate than a surface integral.

Curved boundaries (``curved={name: projection}``, e.g. ``fem.circle(center, radius)``) use
isoparametric P2 geometry (`curved.isoparametric_mesh`): the midpoint nodes of the edges on those
boundaries sit on the exact curve and the elements next to it are quadratically mapped, which
removes the O(h^2) error of a polygonal boundary from the forces. ``pressure_probes`` records the
pressure at given points after every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

import numpy as np

from ..mesh import Mesh
from .boundary import require_boundary
from .curved import Projection, isoparametric_mesh
from .errors import FEMError, SolverError
from .probes import p1_probe_matrix
from .solvers import vector_norm
from .taylor_hood import DirichletElimination, ReusedFactorisation, TaylorHoodSystem

#: a prescribed velocity: a constant (2,) vector, or f(x, t) -> (2, n) for points x (2, n) at time t
VelocityValue = Union[Sequence[float], Callable[[np.ndarray, float], np.ndarray]]


@dataclass(frozen=True)
class NavierStokesResult:
    """A Navier-Stokes trajectory on the mesh vertices.

    Attributes:
        times: (T,) saved times (s), the initial state first.
        velocity: (T, N, 2) velocity at the vertices (m/s; P2 restricted to the vertices).
        pressure: (T, N) pressure at the vertices (Pa, i.e. rho times kinematic pressure).
        step_times: (S,) time of every step (s).
        force: (S, 2) force of the fluid on the ``force_on`` boundary at every step (N per
            unit depth), or None.
        final_dofs: (2 n2 + n1,) last state as Taylor-Hood coefficients [u_x (P2), u_y (P2),
            p (P1, kinematic)] in scikit-fem numbering; ``final_dofs[:2 n2]`` restarts a run
            as ``initial_velocity``.
        factorisations: number of LU factorisations the run needed.
        probe_pressure: (S, P) pressure (Pa) at the ``pressure_probes`` points after every
            step, or None.
    """

    times: np.ndarray
    velocity: np.ndarray
    pressure: np.ndarray
    step_times: np.ndarray
    force: np.ndarray | None
    final_dofs: np.ndarray
    factorisations: int
    probe_pressure: np.ndarray | None = None


@dataclass(frozen=True)
class SteadyFlow:
    """A steady Navier-Stokes solution: velocity (N, 2) and pressure (N,) at the vertices,
    force (2,) on ``force_on`` (or None), the Taylor-Hood coefficients ``dofs`` (as
    `NavierStokesResult.final_dofs`) and the number of Picard iterations taken."""

    velocity: np.ndarray
    pressure: np.ndarray
    force: np.ndarray | None
    dofs: np.ndarray
    iterations: int


class _Flow:
    """Discretisation, boundary conditions and force functionals of one flow problem."""

    def __init__(self, mesh: Mesh, nu: float, inflow: Mapping[str, VelocityValue] | None,
                 no_slip: Sequence[str], force_on: str | None, rho: float,
                 curved: Mapping[str, Projection] | None = None):
        if mesh.cell_type != "triangle" or mesh.dim != 2:
            raise FEMError(f"Navier-Stokes needs a 2D triangle mesh, got {mesh.cell_type} cells in {mesh.dim}D")
        for name, value in (("nu", nu), ("rho", rho)):
            if not (np.isfinite(value) and value > 0):
                raise FEMError(f"{name} must be a positive finite number, got {value}")
        inflow = dict(inflow or {})
        for kind, names in (("inflow", inflow), ("no_slip", no_slip), ("force_on", [force_on] if force_on else [])):
            for name in names:
                require_boundary(mesh, name, kind)
        if not mesh.validate:
            mesh.check()
        skmesh = isoparametric_mesh(mesh, curved) if curved else mesh.to_skfem()
        self.rho = rho
        self.system = system = TaylorHoodSystem(skmesh, nu)
        vb, n2 = system.velocity_basis, system.n2
        self._inflow = [(vb.get_dofs(name).all(), value, name) for name, value in inflow.items()]
        self._no_slip = np.concatenate([vb.get_dofs(name).all() for name in no_slip] + [np.zeros(0, np.int64)])
        velocity_dofs = np.unique(np.concatenate([d for d, _, _ in self._inflow] + [self._no_slip]))
        fixed = np.concatenate([velocity_dofs, velocity_dofs + n2])
        used = np.concatenate([skmesh.boundaries[name] for name in [*inflow, *no_slip]] + [np.zeros(0, np.int64)])
        self.pinned_pressure = bool(np.isin(skmesh.boundary_facets(), used).all())
        if self.pinned_pressure:  # no do-nothing boundary: the pressure is defined up to a constant
            fixed = np.append(fixed, 2 * n2 + system.pressure_basis.nodal_dofs[0, 0])
        self.elimination = DirichletElimination(system.pattern, fixed)
        self._time_dependent = any(callable(v) for _, v, _ in self._inflow)
        self._cached_values = None
        self.force_dofs = None if force_on is None else vb.get_dofs(force_on).all()
        self.vertex_velocity = vb.nodal_dofs[0]
        self.vertex_pressure = 2 * n2 + system.pressure_basis.nodal_dofs[0]

    def boundary_values(self, t: float) -> np.ndarray:
        """Prescribed values of the fixed dofs at time t, in `elimination.fixed` order."""
        if self._cached_values is not None and not self._time_dependent:
            return self._cached_values
        n2 = self.system.n2
        full = np.zeros(self.system.size)
        locations = self.system.velocity_basis.doflocs
        for dofs, value, name in self._inflow:
            if callable(value):
                v = np.asarray(value(locations[:, dofs], t), dtype=np.float64)
            else:
                v = np.asarray(value, dtype=np.float64)
                v = np.repeat(v[:, None], len(dofs), axis=1) if v.shape == (2,) else v
            if v.shape != (2, len(dofs)) or not np.isfinite(v).all():
                raise FEMError(f"inflow[{name!r}] must be a finite velocity of shape (2,) or a callable "
                               f"returning (2, {len(dofs)}) at t = {t}; got shape {v.shape}")
            full[dofs], full[dofs + n2] = v[0], v[1]
        full[self._no_slip] = full[self._no_slip + n2] = 0.0
        self._cached_values = full[self.elimination.fixed]
        return self._cached_values

    def solve(self, data: np.ndarray, rhs: np.ndarray, t: float, solver) -> np.ndarray:
        """Full solution vector of the system with matrix data ``data`` and rhs at time t."""
        values = self.boundary_values(t)
        matrix, b = self.elimination.reduce(data, rhs, values)
        x = self.elimination.expand(solver(matrix, b), values)
        if self.pinned_pressure:
            p = x[2 * self.system.n2:]
            weights = self.system.pressure_integrals
            p -= (weights * p).sum() / weights.sum()
        return x

    def force(self, data: np.ndarray, x: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
        """(2,) force on the ``force_on`` boundary from the momentum residual."""
        if self.force_dofs is None:
            return None
        residual = self.system.pattern.matrix(data) @ x - rhs
        n2 = self.system.n2
        return -self.rho * np.array([residual[self.force_dofs].sum(), residual[self.force_dofs + n2].sum()])

    def vertex_fields(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Velocity (N, 2) and pressure (N,) at the vertices from a solution vector."""
        n2 = self.system.n2
        velocity = np.stack([x[self.vertex_velocity], x[n2 + self.vertex_velocity]], axis=1)
        return velocity, self.rho * x[self.vertex_pressure]


def _initial_state(flow: _Flow, initial_velocity) -> np.ndarray:
    """Solution vector at t = 0: the Stokes flow, or the given velocity with zero pressure."""
    system = flow.system
    if initial_velocity is None:
        return flow.solve(system.matrix_data(0.0, None), np.zeros(system.size), 0.0, _direct)
    x = np.zeros(system.size)
    if callable(initial_velocity):
        locations = system.velocity_basis.doflocs
        u0 = np.asarray(initial_velocity(locations), dtype=np.float64)
        expected = locations.shape
    else:
        u0 = np.asarray(initial_velocity, dtype=np.float64)
        expected = (2 * system.n2,)
    if u0.shape != expected or not np.isfinite(u0).all():
        raise FEMError(f"initial_velocity must give finite values of shape {expected}, got {u0.shape}")
    x[:2 * system.n2] = u0.ravel()
    return x


def _direct(matrix, rhs):
    return ReusedFactorisation(rtol=1e-10)(matrix, rhs)


def navier_stokes(mesh: Mesh, nu: float, *, dt: float, t_end: float,
                  inflow: Mapping[str, VelocityValue] | None = None, no_slip: Sequence[str] = (),
                  rho: float = 1.0, force_on: str | None = None,
                  initial_velocity: Callable[[np.ndarray], np.ndarray] | np.ndarray | None = None,
                  save_every: int = 1, rtol: float = 1e-7, curved: Mapping[str, Projection] | None = None,
                  pressure_probes: np.ndarray | None = None) -> NavierStokesResult:
    """Time-dependent incompressible flow on a 2D triangle mesh (see the module docstring).

    Args:
        mesh: triangle `Mesh` with named boundaries.
        nu: kinematic viscosity (m^2/s).
        dt: time step (s); t_end: final time (s), run for round(t_end / dt) steps.
        inflow: boundary name -> prescribed velocity, a constant (2,) or f(x, t) -> (2, n)
            for points x (2, n) (m/s).
        no_slip: names of walls with u = 0.
        rho: density (kg/m^3); scales pressure and forces only.
        force_on: boundary name whose force (drag, lift) is computed at every step.
        initial_velocity: f(x) -> (2, n) at points x (2, n), or P2 coefficients (2 n2,) such as
            ``final_dofs[:2 n2]`` of an earlier run on the same mesh (to continue it); default:
            the steady Stokes flow with the boundary values at t = 0.
        save_every: keep every this many steps in the returned trajectory.
        rtol: relative residual of each linear solve.
        curved: boundary name -> projection onto its exact curve (`fem.circle`): isoparametric
            P2 geometry on those boundaries.
        pressure_probes: (P, 2) points whose pressure is recorded after every step
            (`NavierStokesResult.probe_pressure`; P1 interpolation, `probes.p1_probe_matrix`).

    Raises:
        FEMError: bad mesh type, unknown boundary name, non-positive nu/rho/dt, bad values, a
            curved boundary off its curve, a probe outside the mesh.
    """
    if not (dt > 0 and t_end >= dt and save_every >= 1):
        raise FEMError(f"need dt > 0, t_end >= dt and save_every >= 1, got dt={dt}, t_end={t_end}, "
                       f"save_every={save_every}")
    flow = _Flow(mesh, nu, inflow, no_slip, force_on, rho, curved)
    system, n2 = flow.system, flow.system.n2
    probes = None if pressure_probes is None else p1_probe_matrix(mesh, pressure_probes)
    probe_pressure = None if probes is None else np.zeros((int(round(t_end / dt)), probes.shape[0]))
    solver = ReusedFactorisation(rtol=rtol)
    x = _initial_state(flow, initial_velocity)
    x_old = x
    steps = int(round(t_end / dt))
    saved = [flow.vertex_fields(x)]
    times, step_times = [0.0], dt * np.arange(1, steps + 1)
    forces = np.zeros((steps, 2))
    rhs = np.zeros(system.size)
    for n, t in enumerate(step_times):
        if n == 0:  # backward Euler start
            a0, history, guess = 1.0 / dt, x[:2 * n2] / dt, x
        else:
            a0, history, guess = 1.5 / dt, (2.0 * x[:2 * n2] - 0.5 * x_old[:2 * n2]) / dt, 2.0 * x - x_old
        rhs[:2 * n2] = system.velocity_mass_product(history)
        data = system.matrix_data(a0, guess[:2 * n2])
        x_old, x = x, flow.solve(data, rhs, t, lambda a, b: solver(a, b, x0=guess[flow.elimination.free]))
        if flow.force_dofs is not None:
            forces[n] = flow.force(data, x, rhs)
        if probes is not None:
            probe_pressure[n] = probes @ (flow.rho * x[flow.vertex_pressure])
        if (n + 1) % save_every == 0:
            saved.append(flow.vertex_fields(x))
            times.append(t)
    return NavierStokesResult(
        times=np.array(times), velocity=np.stack([s[0] for s in saved]),
        pressure=np.stack([s[1] for s in saved]), step_times=step_times,
        force=forces if flow.force_dofs is not None else None, final_dofs=x,
        factorisations=solver.factorisations, probe_pressure=probe_pressure)


def steady_navier_stokes(mesh: Mesh, nu: float, *, inflow: Mapping[str, VelocityValue] | None = None,
                         no_slip: Sequence[str] = (), rho: float = 1.0, force_on: str | None = None,
                         tol: float = 1e-10, max_iterations: int = 100,
                         curved: Mapping[str, Projection] | None = None) -> SteadyFlow:
    """Steady incompressible flow by Picard (Oseen) iteration from the Stokes solution.

    Arguments as in `navier_stokes` (a callable inflow is evaluated at t = 0; ``curved`` gives
    isoparametric geometry on the named boundaries). Iterates until
    the relative change of the velocity is below ``tol``.

    Raises:
        SolverError: no convergence within ``max_iterations`` (the message gives the change reached).
    """
    flow = _Flow(mesh, nu, inflow, no_slip, force_on, rho, curved)
    system, n2 = flow.system, flow.system.n2
    rhs = np.zeros(system.size)
    solver = ReusedFactorisation(rtol=min(1e-10, tol * 1e-2))
    x = flow.solve(system.matrix_data(0.0, None), rhs, 0.0, _direct)
    for iteration in range(1, max_iterations + 1):
        data = system.matrix_data(0.0, x[:2 * n2])
        x_new = flow.solve(data, rhs, 0.0, lambda a, b: solver(a, b, x0=x[flow.elimination.free]))
        velocity_new = x_new[:2 * n2]
        change = vector_norm(velocity_new - x[:2 * n2]) / max(vector_norm(velocity_new), 1e-300)
        x = x_new
        if change < tol:
            velocity, pressure = flow.vertex_fields(x)
            return SteadyFlow(velocity, pressure, flow.force(data, x, rhs), x, iteration)
    raise SolverError(f"Picard iteration for steady Navier-Stokes did not converge in {max_iterations} "
                      f"iterations: relative velocity change {change:.3e} > tol {tol:.1e}")
