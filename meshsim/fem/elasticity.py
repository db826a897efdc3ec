"""Linear elasticity ``-div sigma(u) = f`` on triangles (plane strain / plane stress) and
tetrahedra, P1 or P2, with displacement and traction conditions by boundary name.

    sigma = 2 mu eps(u) + lambda tr(eps(u)) I,   eps(u) = (grad u + grad u^T) / 2,
    mu = E / (2 (1 + nu)),   lambda = E nu / ((1 + nu) (1 - 2 nu)),

and in plane stress lambda is replaced by 2 lambda mu / (lambda + 2 mu) = E nu / (1 - nu^2)
(sigma_zz = 0); in plane strain eps_zz = 0 and sigma_zz = lambda (eps_xx + eps_yy).

Nodal stresses: the stress tensor (3 x 3, sigma_zz included in 2D) and the von Mises stress
sqrt(3/2 s:s) (s the deviatoric stress) are computed at the quadrature points of the
displacement field and L2-projected onto continuous P1 (consistent mass matrix, factorised
once for all components), so they are second-order accurate at the vertices for smooth fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from skfem import BilinearForm, LinearForm
from skfem.helpers import ddot, dot, sym_grad, trace

from ..mesh import Mesh
from ..mesh.errors import format_ids
from .boundary import check_boundary_names, dirichlet_constraint, neumann_load
from .coefficients import Coefficient
from .errors import FEMError
from .forms import mass
from .solution import Solution
from .solvers import LinearSolver, factorize
from .space import FunctionSpace, as_space

_PLANES = ("strain", "stress")


@BilinearForm
def _elastic_energy(u, v, w):
    eps_u, eps_v = sym_grad(u), sym_grad(v)
    return 2.0 * w.mu * ddot(eps_u, eps_v) + w.lam * trace(eps_u) * trace(eps_v)


@LinearForm
def _body_force(v, w):
    return dot(w.f, v)


@LinearForm
def _projection_load(v, w):
    return w.g * v


@dataclass(frozen=True, eq=False)
class ElasticitySolution:
    """Result of `linear_elasticity`.

    Attributes:
        displacement: the displacement field; ``.values`` is (N, dim) at the mesh points (m).
        stress: (N, 3, 3) Cauchy stress at the mesh points (Pa), sigma_zz included in 2D.
        von_mises: (N,) von Mises stress at the mesh points (Pa).
    """

    displacement: Solution
    stress: np.ndarray
    von_mises: np.ndarray


def lame_parameters(E: np.ndarray, nu: np.ndarray, plane_stress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, mu) from Young's modulus E and Poisson's ratio nu; with ``plane_stress`` the
    effective in-plane lambda = E nu / (1 - nu^2)."""
    mu = E / (2.0 * (1.0 + nu))
    lam = E * nu / (1.0 - nu ** 2) if plane_stress else E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    return lam, mu


def _material(space: FunctionSpace, E: Coefficient, nu: Coefficient) -> tuple[np.ndarray, np.ndarray]:
    E_q = space.coefficient(E, "E", positive=True)
    nu_q = space.coefficient(nu, "nu")
    if not callable(nu) and np.shape(nu) == (space.mesh.num_points,):
        _check_poisson_ratio(np.asarray(nu, dtype=np.float64), "points")
    _check_poisson_ratio(nu_q, "cells")
    return np.asarray(E_q), np.asarray(nu_q)


def _check_poisson_ratio(nu: np.ndarray, where: str) -> None:
    """`FEMError` naming the points (nu (N,)) or cells (nu (M, Q)) where nu is outside (-1, 0.5)."""
    outside = (nu >= 0.5) | (nu <= -1.0)
    bad = np.flatnonzero(outside.any(axis=1) if outside.ndim == 2 else outside)
    if len(bad):
        raise FEMError(f"Poisson's ratio nu must lie in (-1, 0.5); got values in [{nu.min():.3g}, "
                       f"{nu.max():.3g}], out of range at {where} {format_ids(bad)}")


def _stress_at_quadrature(space: FunctionSpace, dofs: np.ndarray, E_q: np.ndarray, nu_q: np.ndarray,
                          plane_stress: bool) -> np.ndarray:
    """(3, 3, E, Q) stress of the displacement ``dofs`` at the quadrature points."""
    dim = space.mesh.dim
    eps = sym_grad(space.basis.interpolate(dofs))  # (dim, dim, E, Q)
    lam, mu = lame_parameters(E_q, nu_q, plane_stress and dim == 2)
    volumetric = trace(eps)
    sigma = np.zeros((3, 3) + E_q.shape)
    sigma[:dim, :dim] = 2.0 * mu * eps + lam * volumetric * np.eye(dim).reshape(dim, dim, 1, 1)
    if dim == 2 and not plane_stress:
        sigma[2, 2] = lame_parameters(E_q, nu_q)[0] * volumetric
    return sigma


def von_mises(stress: np.ndarray) -> np.ndarray:
    """von Mises stress sqrt(3/2 s:s) of stress tensors (3, 3, ...), s = sigma - tr(sigma) I / 3."""
    deviator = stress - np.trace(stress) / 3.0 * np.eye(3).reshape((3, 3) + (1,) * (stress.ndim - 2))
    return np.sqrt(1.5 * np.einsum("ij...,ij...->...", deviator, deviator))


def rigid_body_modes(space: FunctionSpace) -> np.ndarray:
    """(num_dofs, 3) in 2D / (num_dofs, 6) in 3D: the translations and infinitesimal rotations
    of a vector space, the near-nullspace of the elasticity operator."""
    x = space.basis.doflocs  # (dim, num_dofs)
    component = space.dof_components
    dim = space.mesh.dim
    translations = [(component == i).astype(np.float64) for i in range(dim)]
    rotations = []
    for i, j in ((0, 1), (0, 2), (1, 2))[: 1 if dim == 2 else 3]:  # rotation in the (i, j) plane
        rotations.append(np.where(component == i, -x[j], 0.0) + np.where(component == j, x[i], 0.0))
    return np.stack(translations + rotations, axis=1)


def _rigid_body_amg(space: FunctionSpace, free: np.ndarray, matrix):
    import pyamg

    modes = rigid_body_modes(space)[free]
    return pyamg.smoothed_aggregation_solver(matrix, B=modes, symmetry="hermitian").aspreconditioner()


def _project_to_vertices(space: FunctionSpace, fields: np.ndarray) -> np.ndarray:
    """L2 projection onto P1 of quadrature-point fields (K, E, Q): values (K, N) at the points."""
    p1 = space.p1_basis
    solve = factorize(mass.assemble(p1))
    projected = np.stack([solve(_projection_load.assemble(p1, g=g)) for g in fields])
    vertex = p1.nodal_dofs[0]
    return projected[:, vertex]


def linear_elasticity(domain: Mesh | FunctionSpace, E: Coefficient, nu: Coefficient, *,
                      dirichlet: Mapping | None = None, traction: Mapping | None = None,
                      body_force: Coefficient | None = None, order: int | None = None,
                      plane: str = "strain", method: str = "auto", tol: float = 1e-10) -> ElasticitySolution:
    """Solve small-strain linear elasticity.

    Args:
        domain: triangle (2D) or tetrahedral (3D) `Mesh`, or a vector `FunctionSpace` on one.
        E: Young's modulus (Pa), > 0: constant, callable of x (dim, E, Q), or point values (N,).
        nu: Poisson's ratio in (-1, 0.5), same forms as E.
        dirichlet: prescribed displacement by boundary name: ``{name: (dim,) vector or callable
            x (dim, P) -> (dim, P)}``, or one component only with ``{(name, component): scalar
            or callable x -> (P,)}`` (e.g. ``{("symmetry", 0): 0.0}`` fixes u_x on a symmetry line).
        traction: ``{name: t}`` surface traction sigma n = t (Pa), t a (dim,) vector or a
            callable x (dim, E, Q) -> (dim, E, Q).
        body_force: force per volume f (N/m^3), (dim,) vector, callable, or point values (N, dim).
        order: 1 (P1) or 2 (P2) when ``domain`` is a mesh (default 1).
        plane: 2D model, ``"strain"`` (eps_zz = 0) or ``"stress"`` (sigma_zz = 0).
        method, tol: linear solver, see `LinearSolver`.

    Raises:
        FEMError: unknown boundary name, E <= 0, nu outside (-1, 0.5), bad field shapes, no
        dirichlet condition (rigid-body motions free), a 1D mesh, or an unknown ``plane``.
        MeshError: invalid (e.g. inverted) mesh. SolverError: the linear solve failed.
    """
    if plane not in _PLANES:
        raise FEMError(f"plane must be one of {_PLANES}, got {plane!r}")
    space = as_space(domain, order, vector=True)
    if space.mesh.dim not in (2, 3):
        raise FEMError(f"linear elasticity needs a 2D triangle or 3D tetrahedral mesh, got dim {space.mesh.dim}")
    check_boundary_names(space.mesh, dirichlet, "dirichlet")
    check_boundary_names(space.mesh, traction, "traction")
    if not dirichlet:
        raise FEMError("linear elasticity needs a dirichlet condition: without one, rigid-body "
                       "motions are free and the displacement is not unique")
    plane_stress = plane == "stress"
    E_q, nu_q = _material(space, E, nu)
    lam, mu = lame_parameters(E_q, nu_q, plane_stress and space.mesh.dim == 2)
    load = neumann_load(space, traction)
    if body_force is not None:
        f_q = space.coefficient(body_force, "body_force", shape=space.value_shape)
        load = load + space.assemble_vector(_body_force, f=f_q)
    constraint = dirichlet_constraint(space, dirichlet)
    stiffness = space.assemble_matrix(_elastic_energy, lam=lam, mu=mu)
    matrix, rhs = constraint.reduce(stiffness, load)
    solver = LinearSolver(matrix, method=method, tol=tol, symmetric=True)
    if solver.method != "direct":  # AMG for elasticity needs the rigid-body modes as near-nullspace
        solver = LinearSolver(matrix, method=solver.method, tol=tol, symmetric=True,
                              M=_rigid_body_amg(space, constraint.free, matrix))
    dofs = constraint.expand(solver.solve(rhs))
    sigma = _stress_at_quadrature(space, dofs, E_q, nu_q, plane_stress)
    fields = np.concatenate([sigma.reshape((9,) + sigma.shape[2:]), von_mises(sigma)[None]])
    projected = _project_to_vertices(space, fields)
    return ElasticitySolution(displacement=Solution(space, dofs),
                              stress=projected[:9].T.reshape(-1, 3, 3), von_mises=projected[9])
