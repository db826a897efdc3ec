"""Poisson / Darcy problem ``-div(kappa grad u) = f`` with Dirichlet, Neumann and Robin
conditions by boundary name, P1 or P2, in 1D, 2D and 3D."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import scipy.sparse as sp

from ..mesh import Mesh
from .boundary import check_boundary_names, dirichlet_constraint, neumann_load, robin_terms
from .coefficients import Coefficient
from .errors import FEMError
from .forms import diffusion, source
from .sequence import SequenceSolver
from .solution import Solution
from .solvers import LinearSolver
from .space import FunctionSpace, as_space


def check_conditions(space: FunctionSpace, dirichlet: Mapping | None, neumann: Mapping | None,
                     robin: Mapping | None) -> None:
    """Check every boundary name exists (`FEMError` listing the mesh's names otherwise)."""
    check_boundary_names(space.mesh, dirichlet, "dirichlet")
    check_boundary_names(space.mesh, neumann, "neumann")
    check_boundary_names(space.mesh, robin, "robin")


def diffusion_system(space: FunctionSpace, kappa: Coefficient = 1.0, f: Coefficient = 0.0,
                     neumann: Mapping | None = None, robin: Mapping | None = None
                     ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Matrix K (num_dofs, num_dofs) and load F (num_dofs,) of ``-div(kappa grad u) = f`` with
    natural conditions: ``K = int kappa grad u . grad v + sum_robin int alpha u v``,
    ``F = int f v + sum_neumann int g v + sum_robin int g v``. Dirichlet rows are not touched.

    kappa must be positive; kappa and f are checked before anything is assembled.
    """
    kappa_q = space.coefficient(kappa, "kappa", positive=True)
    f_q = space.coefficient(f, "f")
    robin_matrix, robin_load = robin_terms(space, robin)
    stiffness = space.assemble_matrix(diffusion, kappa=kappa_q)
    if robin:
        stiffness = (stiffness + robin_matrix).tocsr()
    load = space.assemble_vector(source, f=f_q) + neumann_load(space, neumann) + robin_load
    return stiffness, load


def poisson(domain: Mesh | FunctionSpace, kappa: Coefficient = 1.0, f: Coefficient = 0.0, *,
            dirichlet: Mapping | None = None, neumann: Mapping | None = None,
            robin: Mapping | None = None, order: int | None = None, method: str = "auto",
            tol: float = 1e-10, solver: SequenceSolver | None = None) -> Solution:
    """Solve ``-div(kappa grad u) = f`` (Poisson; Darcy pressure with kappa the permeability).

    Args:
        domain: a `Mesh`, or a `FunctionSpace` built once and reused across solves (faster).
        kappa: positive conductivity: constant, callable of x (dim, E, Q) or point values (N,).
        f: source, same forms as kappa.
        dirichlet: ``{boundary name: u value}``.
        neumann: ``{boundary name: g}`` with ``kappa du/dn = g`` (outward normal).
        robin: ``{boundary name: (alpha, g)}`` with ``kappa du/dn + alpha u = g``.
        order: 1 (P1) or 2 (P2) when ``domain`` is a mesh (default 1).
        method, tol: linear solver, see `LinearSolver`.
        solver: a `SequenceSolver` that solves this system as the next of a sequence (e.g.
            `RecyclingGMRES`, `BanditSOR`) instead; its own tolerance applies.

    Returns:
        `Solution`; ``.values`` (N,) at the mesh points, ``.dofs`` the FE coefficients.

    Raises:
        MeshError: invalid (e.g. inverted) mesh. FEMError: unknown boundary name, bad
        coefficient, or no Dirichlet/Robin condition (u only defined up to a constant).
        SolverError: the linear solve failed.
    """
    space = as_space(domain, order)
    check_conditions(space, dirichlet, neumann, robin)
    if not dirichlet and not robin:
        raise FEMError("poisson needs a dirichlet or robin condition somewhere: with Neumann "
                       "conditions only, u is defined up to a constant")
    constraint = dirichlet_constraint(space, dirichlet)
    stiffness, load = diffusion_system(space, kappa, f, neumann, robin)
    matrix, rhs = constraint.reduce(stiffness, load)
    if solver is None:
        free_values = LinearSolver(matrix, method=method, tol=tol, symmetric=True).solve(rhs)
    else:
        free_values = solver.solve(matrix, rhs, symmetric=True)
    return Solution(space, constraint.expand(free_values))
