"""Conversion between `Mesh` and scikit-fem meshes (MeshLine1, MeshTri1, MeshTet1)."""
from __future__ import annotations

import numpy as np

from .errors import MeshError
from .geometry import orient_cells
from .mesh import Mesh


def _skfem_class(mesh: Mesh):
    import skfem

    classes = {("line", 1): skfem.MeshLine1, ("triangle", 2): skfem.MeshTri1, ("tetra", 3): skfem.MeshTet1}
    try:
        return classes[(mesh.cell_type, mesh.dim)]
    except KeyError:
        raise MeshError(f"scikit-fem has no mesh for {mesh.cell_type} cells in {mesh.dim}D") from None


def _row_keys(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """One int64 key per row of ``a`` and ``b`` (entries in [0, n)), equal exactly when rows are equal."""
    width = a.shape[1]
    if float(n) ** width < 2.0 ** 62:
        base = n ** np.arange(width - 1, -1, -1, dtype=np.int64)
        return a @ base, b @ base
    _, inverse = np.unique(np.concatenate([a, b]), axis=0, return_inverse=True)
    inverse = inverse.ravel().astype(np.int64)
    return inverse[: len(a)], inverse[len(a):]


def facet_indices(skfem_mesh, facets: np.ndarray) -> np.ndarray:
    """Indices into ``skfem_mesh.facets`` of the given (F, k-1) facets (any vertex order).

    Raises `MeshError` naming the facets that are not facets of the mesh.
    """
    known = np.sort(skfem_mesh.facets.T, axis=1)
    wanted = np.sort(np.asarray(facets), axis=1)
    keys_known, keys_wanted = _row_keys(known, wanted, skfem_mesh.nvertices)
    order = np.argsort(keys_known)
    pos = np.searchsorted(keys_known, keys_wanted, sorter=order).clip(0, len(order) - 1)
    found = order[pos]
    missing = np.flatnonzero(keys_known[found] != keys_wanted)
    if len(missing):
        raise MeshError(f"boundary facets {missing[:10].tolist()} are not facets of the mesh")
    return found.astype(np.int64)


def to_skfem(mesh: Mesh):
    """scikit-fem mesh of the same points and cells (same order) with ``mesh.boundary`` as named
    boundaries (facet index arrays)."""
    cls = _skfem_class(mesh)
    # sort_t=False: scikit-fem would otherwise sort each cell's vertices, losing the orientation
    sk = cls(np.ascontiguousarray(mesh.points.T), np.ascontiguousarray(mesh.cells.T), sort_t=False)
    if mesh.boundary:
        sk = sk.with_boundaries({name: facet_indices(sk, f) for name, f in mesh.boundary.items()})
    return sk


def from_skfem(skfem_mesh, validate: bool = True) -> Mesh:
    """`Mesh` from a scikit-fem simplex mesh; named boundaries become facet arrays (F, k-1)
    with vertices in scikit-fem's (sorted) order.

    scikit-fem does not fix cell orientation; negatively oriented cells are flipped (vertices 0
    and 1 swapped) so the result is positively oriented. A mesh that came from `to_skfem`
    comes back with its cells unchanged.
    """
    boundaries = skfem_mesh.boundaries or {}
    points = np.asarray(skfem_mesh.p, dtype=np.float64).T
    return Mesh(
        points=points,
        cells=orient_cells(points, np.asarray(skfem_mesh.t, dtype=np.int64).T),
        boundary={name: skfem_mesh.facets[:, idx].T for name, idx in boundaries.items()},
        validate=validate,
    )
