"""`FunctionSpace`: a Lagrange finite element space on a `Mesh` that caches what repeats across
solves on the same mesh (the scikit-fem mesh and bases, facet bases per boundary name, the
sparsity pattern of its matrices)."""
from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp
import skfem

from ..mesh import Mesh
from .boundary import require_boundary
from .coefficients import Coefficient, evaluate_coefficient
from .errors import FEMError

_ELEMENTS = {
    (1, 1): skfem.ElementLineP1, (1, 2): skfem.ElementLineP2,
    (2, 1): skfem.ElementTriP1, (2, 2): skfem.ElementTriP2,
    (3, 1): skfem.ElementTetP1, (3, 2): skfem.ElementTetP2,
}


class FunctionSpace:
    """Continuous P1 or P2 Lagrange space on a `Mesh`, scalar or vector valued.

    Build it once per mesh and pass it to many solves: the scikit-fem mesh, the cell basis, the
    facet basis of each named boundary and the CSR sparsity pattern are built once and reused.

    Args:
        mesh: simplex mesh whose cell dimension equals its space dimension (1, 2 or 3). It is
            checked here even if it was built with ``validate=False``, so an inverted or
            degenerate cell raises `MeshError` before anything is assembled.
        order: polynomial degree, 1 (P1) or 2 (P2).
        vector: ``dim`` components per node (displacement, velocity) instead of one.
        intorder: quadrature degree; default ``2 * order`` (exact for mass matrices).

    Degrees of freedom are scikit-fem's: for a scalar space, dof ``i < N`` is the value at mesh
    point ``i``; P2 adds one dof per edge.
    """

    def __init__(self, mesh: Mesh, order: int = 1, vector: bool = False, intorder: int | None = None):
        if order not in (1, 2):
            raise FEMError(f"order must be 1 (P1) or 2 (P2), got {order!r}")
        if mesh.cell_dim != mesh.dim:
            raise FEMError(f"FEM needs cells of the space dimension; got {mesh.cell_type} cells "
                           f"in {mesh.dim}D")
        if not mesh.validate:
            mesh.check()
        self.mesh = mesh
        self.order = order
        self.vector = bool(vector)
        self.intorder = 2 * order if intorder is None else int(intorder)
        self.skfem_mesh = mesh.to_skfem()
        scalar_element = _ELEMENTS[(mesh.dim, order)]()
        self.element = skfem.ElementVector(scalar_element) if self.vector else scalar_element
        self.basis = skfem.CellBasis(self.skfem_mesh, self.element, intorder=self.intorder)
        self._p1_element = _ELEMENTS[(mesh.dim, 1)]()
        self._p1_basis = None
        self._facet_bases: dict[str, tuple] = {}
        self._pattern = None

    # -- sizes and dof bookkeeping --------------------------------------------------------
    @property
    def num_dofs(self) -> int:
        """Number of degrees of freedom."""
        return int(self.basis.N)

    @property
    def value_shape(self) -> tuple:
        """Shape of the field's value at a point: ``()`` scalar, ``(dim,)`` vector."""
        return (self.mesh.dim,) if self.vector else ()

    @cached_property
    def dof_components(self) -> np.ndarray:
        """(num_dofs,) component index of each dof (all 0 for a scalar space)."""
        components = np.zeros(self.num_dofs, dtype=np.int64)
        if self.vector:  # scikit-fem's ElementVector interleaves components: local dof i is i % dim
            local = np.arange(self.basis.Nbfun) % self.mesh.dim
            components[self.basis.element_dofs] = local[:, None]
        return components

    @cached_property
    def vertex_dofs(self) -> np.ndarray:
        """Dof ids of the mesh points: (N,) for a scalar space, (N, dim) for a vector one."""
        nodal = self.basis.nodal_dofs
        return nodal.T if self.vector else nodal[0]

    def to_vertices(self, dofs: np.ndarray) -> np.ndarray:
        """Values at the mesh points, (..., N) or (..., N, dim), of dof vectors (..., num_dofs)."""
        dofs = np.asarray(dofs)
        vertex = self.vertex_dofs
        if not self.vector and np.array_equal(vertex, np.arange(self.mesh.num_points)):
            return dofs[..., : self.mesh.num_points]
        return dofs[..., vertex]

    def from_vertices(self, values: np.ndarray) -> np.ndarray:
        """Dof vector (num_dofs,) of the piecewise-linear interpolant of point values (N,) or
        (N, dim): P2 edge dofs get the mean of their edge's end values."""
        values = np.asarray(values, dtype=np.float64)
        expected = (self.mesh.num_points,) + self.value_shape
        if values.shape != expected:
            raise FEMError(f"point values have shape {values.shape}, expected {expected}")
        if self.order == 1:
            dofs = np.empty(self.num_dofs)
            dofs[self.vertex_dofs] = values
            return dofs
        element = self.element
        ref_locs = element.doflocs.T  # (dim, Nbfun) reference coordinates of the local dofs
        p1_at_dofs = np.stack([self._p1_element.lbasis(ref_locs, i)[0]
                               for i in range(self.mesh.cell_dim + 1)])  # (k, Nbfun)
        t = self.skfem_mesh.t  # (k, M)
        local_components = self.dof_components[self.basis.element_dofs[:, 0]]
        if self.vector:
            corner_values = values[t][:, :, local_components]  # (k, M, Nbfun)
            local_values = np.einsum("kmj,kj->jm", corner_values, p1_at_dofs)
        else:
            local_values = np.einsum("km,kj->jm", values[t], p1_at_dofs)
        dofs = np.empty(self.num_dofs)
        dofs[self.basis.element_dofs] = local_values
        return dofs

    def interpolate(self, value: Coefficient, name: str = "field", dofs: np.ndarray | None = None) -> np.ndarray:
        """Dof values of ``value``: a constant (scalar, or (dim,) for a vector space), a callable
        of x (dim, P) returning (P,) or (dim, P), point values (N,) / (N, dim), or a dof vector
        (num_dofs,). With ``dofs`` given, only those entries are returned (callables are then
        evaluated at those dofs only). Raises `FEMError` naming ``name`` on a wrong shape or
        non-finite values."""
        ids = np.arange(self.num_dofs) if dofs is None else np.asarray(dofs, dtype=np.int64)
        components = self.dof_components[ids]
        if callable(value):
            raw = np.asarray(value(self.basis.doflocs[:, ids]), dtype=np.float64)
            out = _pick_components(raw, components, self.value_shape, name, (len(ids),))
        else:
            array = np.asarray(value, dtype=np.float64)
            point_shape = (self.mesh.num_points,) + self.value_shape
            if array.shape == point_shape:
                out = self.from_vertices(array)[ids]
            elif array.shape == (self.num_dofs,):
                out = array[ids]
            elif array.shape in ((), self.value_shape):
                out = np.broadcast_to(array, self.value_shape)[components] if self.vector \
                    else np.full(len(ids), float(array))
            else:
                raise FEMError(f"{name} has shape {array.shape}; expected a constant, point values "
                               f"{point_shape} or a dof vector ({self.num_dofs},)")
        bad = np.flatnonzero(~np.isfinite(out))
        if len(bad):
            raise FEMError(f"{name} is not finite at {len(bad)} dofs, e.g. at x = "
                           f"{self.basis.doflocs[:, ids[bad[0]]].tolist()}")
        return out

    # -- bases --------------------------------------------------------------------------
    @property
    def p1_basis(self) -> skfem.CellBasis:
        """Scalar P1 basis on the cell basis's quadrature points (to evaluate point data)."""
        if self._p1_basis is None:
            plain_p1 = self.order == 1 and not self.vector
            self._p1_basis = self.basis if plain_p1 else self.basis.with_element(self._p1_element)
        return self._p1_basis

    def facet_basis(self, name: str, kind: str = "boundary condition") -> skfem.FacetBasis:
        """Facet basis on the boundary called ``name`` (built once). Raises `FEMError` listing
        the mesh's boundary names if there is none called ``name``; ``kind`` names its use."""
        return self._facet_bases_for(name, kind)[0]

    def _facet_bases_for(self, name: str, kind: str) -> tuple:
        if name not in self._facet_bases:
            facets = self.skfem_mesh.boundaries[require_boundary(self.mesh, name, kind)]
            basis = skfem.FacetBasis(self.skfem_mesh, self.element, facets=facets, intorder=self.intorder)
            p1 = basis if self.order == 1 and not self.vector else basis.with_element(self._p1_element)
            self._facet_bases[name] = (basis, p1)
        return self._facet_bases[name]

    def boundary_dofs(self, name: str, component: int | None = None, kind: str = "boundary condition") -> np.ndarray:
        """Sorted dof ids on the boundary ``name`` (vertex and, for P2, edge dofs), optionally
        of one vector component only."""
        facets = self.skfem_mesh.boundaries[require_boundary(self.mesh, name, kind)]
        dofs = self.basis.get_dofs(facets=facets).flatten()
        if component is not None:
            if not self.vector or not 0 <= component < self.mesh.dim:
                raise FEMError(f"component {component} does not exist in a space with value shape "
                               f"{self.value_shape}")
            dofs = dofs[self.dof_components[dofs] == component]
        return np.unique(dofs)

    # -- coefficients and assembly ---------------------------------------------------------
    def coefficient(self, value: Coefficient, name: str, boundary: str | None = None,
                    shape: tuple = (), positive: bool = False) -> np.ndarray:
        """``value`` at the quadrature points of the cells, or of the facets of ``boundary``:
        array ``shape + (E, Q)``. See `evaluate_coefficient`."""
        if boundary is None:
            basis, p1 = self.basis, self.p1_basis
        else:
            basis, p1 = self._facet_bases_for(boundary, name)
        return evaluate_coefficient(value, name, basis, p1, shape=shape, positive=positive)

    def assemble_matrix(self, form: skfem.BilinearForm, **coefficients) -> sp.csr_matrix:
        """Sparse (num_dofs, num_dofs) matrix of a bilinear form over the cells.

        Same result as ``form.assemble(self.basis, **coefficients)``, but the CSR pattern and the
        map from element entries to it are computed once per space, so repeated assemblies
        only sum element values (np.bincount) instead of converting COO to CSR.
        """
        local = form.elemental(self.basis, **coefficients)
        if self._pattern is None:
            self._pattern = _csr_pattern(local.indices, self.num_dofs)
        scatter, indices, indptr = self._pattern
        data = np.bincount(scatter, weights=local.data, minlength=len(indices))
        return sp.csr_matrix((data, indices.copy(), indptr.copy()), shape=(self.num_dofs,) * 2)

    def assemble_vector(self, form: skfem.LinearForm, **coefficients) -> np.ndarray:
        """(num_dofs,) vector of a linear form over the cells."""
        return form.assemble(self.basis, **coefficients)

    def assemble_facet_matrix(self, form: skfem.BilinearForm, boundary: str, **coefficients) -> sp.csr_matrix:
        """Sparse matrix of a bilinear form over the facets of the boundary ``boundary``."""
        return form.assemble(self.facet_basis(boundary), **coefficients).tocsr()

    def assemble_facet_vector(self, form: skfem.LinearForm, boundary: str, **coefficients) -> np.ndarray:
        """(num_dofs,) vector of a linear form over the facets of the boundary ``boundary``."""
        return form.assemble(self.facet_basis(boundary), **coefficients)

    def __repr__(self) -> str:
        kind = "vector " if self.vector else ""
        return (f"FunctionSpace({kind}P{self.order} on {self.mesh.num_cells} {self.mesh.cell_type} "
                f"cells, {self.num_dofs} dofs)")


def as_space(domain: Mesh | FunctionSpace, order: int | None = None, vector: bool = False) -> FunctionSpace:
    """``domain`` itself if it is a `FunctionSpace` (checking ``order``/``vector`` agree), else a
    new P``order`` space on the mesh (order 1 when not given)."""
    if isinstance(domain, FunctionSpace):
        if order is not None and order != domain.order:
            raise FEMError(f"order={order} was asked for but the given space is P{domain.order}")
        if vector != domain.vector:
            raise FEMError(f"a {'vector' if vector else 'scalar'} space is needed, got {domain!r}")
        return domain
    if not isinstance(domain, Mesh):
        raise FEMError(f"expected a Mesh or FunctionSpace, got {type(domain).__name__}")
    return FunctionSpace(domain, order=1 if order is None else order, vector=vector)


def _pick_components(raw: np.ndarray, components: np.ndarray, value_shape: tuple, name: str,
                     points_shape: tuple) -> np.ndarray:
    """Per-dof values from a callable's output (P,) (scalar) or (dim, P) (vector)."""
    expected = value_shape + points_shape
    try:
        raw = np.broadcast_to(raw, expected)
    except ValueError:
        raise FEMError(f"{name}(x) returned shape {raw.shape}, expected {expected}") from None
    if not value_shape:
        return np.array(raw)
    return raw[components, np.arange(points_shape[0])]


def _csr_pattern(indices: np.ndarray, n: int) -> tuple:
    """Map COO entries (2, nnz_coo) to a canonical CSR pattern: (scatter (nnz_coo,), indices,
    indptr)."""
    keys = indices[0].astype(np.int64) * n + indices[1]
    order = np.argsort(keys, kind="stable")  # several times faster than np.unique(return_inverse)
    sorted_keys = keys[order]
    first = np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]])
    unique_keys = sorted_keys[first]
    scatter = np.empty(len(keys), dtype=np.int64)
    scatter[order] = np.cumsum(first) - 1
    index_dtype = np.int32 if len(unique_keys) < np.iinfo(np.int32).max else np.int64
    rows = unique_keys // n
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(index_dtype)
    return scatter, (unique_keys % n).astype(index_dtype), indptr
