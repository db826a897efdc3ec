"""Boundary conditions by boundary name: Dirichlet (essential), Neumann and Robin (natural).

Conditions are mappings from a boundary name of the mesh (``mesh.boundary``) to a value given
as any `Coefficient` (constant, callable of x, point values):

- ``dirichlet={name: g}``: u = g on the boundary. For a vector space g has shape (dim,) (or a
  callable returning (dim, P), or point values (N, dim)); a key ``(name, component)`` fixes one
  component only, with a scalar constant or callable. Where boundaries share dofs (corners),
  the later entry wins.
- ``neumann={name: g}``: the flux ``kappa du/dn = g`` (outward normal n) for a scalar problem,
  the traction for a vector one: adds ``int_boundary g v ds`` to the load.
- ``robin={name: (alpha, g)}``: ``kappa du/dn + alpha u = g``: adds ``int alpha u v ds`` to the
  matrix and ``int g v ds`` to the load.

Unknown names raise `FEMError` listing the mesh's boundary names, before any assembly.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Mapping

import numpy as np
import scipy.sparse as sp
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot

from ..mesh import Mesh
from .errors import FEMError

if TYPE_CHECKING:
    from .space import FunctionSpace


def require_boundary(mesh: Mesh, name: str, kind: str = "boundary condition") -> str:
    """``name`` if the mesh has a boundary of that name, else `FEMError` listing the names it
    has; ``kind`` says what the name was given for (``"dirichlet"``)."""
    if name not in mesh.boundary:
        raise FEMError(f"{kind}: no boundary named {name!r}; this mesh has boundaries "
                       f"{sorted(mesh.boundary)}")
    return name


def check_boundary_names(mesh: Mesh, conditions: Mapping | None, kind: str) -> None:
    """Check every key of ``conditions`` (a name, or ``(name, component)``) names a boundary."""
    for key in conditions or {}:
        require_boundary(mesh, key[0] if isinstance(key, tuple) else key, kind)


@dataclass(frozen=True, eq=False)
class DirichletConstraint:
    """Dofs with prescribed values; the rest are free.

    Attributes:
        dofs: (D,) sorted constrained dof ids.
        values: (D,) their values.
        num_dofs: size of the full dof vector.
    """

    dofs: np.ndarray
    values: np.ndarray
    num_dofs: int

    @cached_property
    def free(self) -> np.ndarray:
        """(num_dofs - D,) sorted ids of the unconstrained dofs."""
        mask = np.ones(self.num_dofs, dtype=bool)
        mask[self.dofs] = False
        return np.flatnonzero(mask)

    def reduce(self, A: sp.spmatrix, b: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """System for the free dofs: ``A_ff`` and ``b_f - A_fd g``."""
        matrix, lifting = self.split(A)
        return matrix, b[self.free] - lifting

    def split(self, A: sp.spmatrix) -> tuple[sp.csr_matrix, np.ndarray]:
        """``A_ff`` and the lifting ``A_fd g`` (what the prescribed values add to the free rows
        of ``A u``)."""
        rows = sp.csr_matrix(A)[self.free]
        return rows[:, self.free], rows[:, self.dofs] @ self.values

    def expand(self, free_values: np.ndarray) -> np.ndarray:
        """Full dof vector(s) (..., num_dofs) from free values (..., num_dofs - D)."""
        free_values = np.asarray(free_values)
        full = np.empty(free_values.shape[:-1] + (self.num_dofs,))
        full[..., self.free] = free_values
        full[..., self.dofs] = self.values
        return full


def dirichlet_constraint(space: "FunctionSpace", dirichlet: Mapping | None) -> DirichletConstraint:
    """Constrained dofs and values of ``dirichlet`` (see the module docstring) on ``space``."""
    values = np.full(space.num_dofs, np.nan)
    for key, value in (dirichlet or {}).items():
        name, component = key if isinstance(key, tuple) else (key, None)
        dofs = space.boundary_dofs(name, component=component, kind="dirichlet")
        label = f"dirichlet[{key!r}]"
        if component is None:
            values[dofs] = space.interpolate(value, name=label, dofs=dofs)
        else:
            values[dofs] = _component_values(space, value, dofs, label)
    dofs = np.flatnonzero(~np.isnan(values))
    return DirichletConstraint(dofs=dofs, values=values[dofs], num_dofs=space.num_dofs)


def _component_values(space: "FunctionSpace", value, dofs: np.ndarray, label: str) -> np.ndarray:
    if callable(value):
        out = np.broadcast_to(np.asarray(value(space.basis.doflocs[:, dofs]), dtype=np.float64),
                              (len(dofs),)).copy()
    elif np.ndim(value) == 0:
        out = np.full(len(dofs), float(value))
    else:
        raise FEMError(f"{label}: a single component takes a scalar constant or a callable of x, "
                       f"got an array of shape {np.shape(value)}")
    if not np.isfinite(out).all():
        raise FEMError(f"{label} is not finite at {int((~np.isfinite(out)).sum())} dofs")
    return out


@LinearForm
def _scalar_facet_load(v, w):
    return w.g * v


@LinearForm
def _vector_facet_load(v, w):
    return dot(w.g, v)


@BilinearForm
def _scalar_facet_mass(u, v, w):
    return w.alpha * u * v


@BilinearForm
def _vector_facet_mass(u, v, w):
    return w.alpha * dot(u, v)


def neumann_load(space: "FunctionSpace", neumann: Mapping | None) -> np.ndarray:
    """(num_dofs,) load ``sum over names of int g v ds`` (flux, or traction for a vector space)."""
    load = np.zeros(space.num_dofs)
    form = _vector_facet_load if space.vector else _scalar_facet_load
    for name, g in (neumann or {}).items():
        g_q = space.coefficient(g, f"neumann[{name!r}]", boundary=name, shape=space.value_shape)
        load += space.assemble_facet_vector(form, name, g=g_q)
    return load


def robin_terms(space: "FunctionSpace", robin: Mapping | None) -> tuple[sp.csr_matrix, np.ndarray]:
    """Matrix ``int alpha u v ds`` and load ``int g v ds`` of ``robin={name: (alpha, g)}``."""
    matrix = sp.csr_matrix((space.num_dofs, space.num_dofs))
    load = np.zeros(space.num_dofs)
    mass = _vector_facet_mass if space.vector else _scalar_facet_mass
    source = _vector_facet_load if space.vector else _scalar_facet_load
    for name, pair in (robin or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise FEMError(f"robin[{name!r}] must be a pair (alpha, g), got {type(pair).__name__}")
        alpha, g = pair
        alpha_q = space.coefficient(alpha, f"robin[{name!r}] alpha", boundary=name)
        g_q = space.coefficient(g, f"robin[{name!r}] g", boundary=name, shape=space.value_shape)
        matrix = matrix + space.assemble_facet_matrix(mass, name, alpha=alpha_q)
        load += space.assemble_facet_vector(source, name, g=g_q)
    return matrix.tocsr(), load
