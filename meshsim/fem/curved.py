"""Curved boundaries: isoparametric P2 geometry for a straight-sided triangle `Mesh`.

A gmsh mesh of a domain with a circular hole approximates the circle by a polygon; P2 elements
on it see a domain that is too small by the segments' sagittae, an O(h^2) geometry error that
caps the accuracy of boundary quantities (drag, lift) whatever the element order. The
isoparametric remedy: keep the vertices, move the P2 midpoint node of every edge on a curved
boundary onto the exact curve, and map each triangle by its quadratic (P2) map. scikit-fem
supports such meshes as `MeshTri2`; a `Basis` on one is isoparametric.

A curved boundary is described by a projection ``f(x) -> x'`` of points ``(2, n)`` onto the
exact curve (the nearest point); `circle` makes one.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
from skfem import MeshTri2

from ..mesh import Mesh
from .boundary import require_boundary
from .errors import FEMError

#: projection of points (2, n) onto an exact boundary curve, (2, n) -> (2, n)
Projection = Callable[[np.ndarray], np.ndarray]

#: how far (relative to the boundary's shortest edge) a vertex may lie off the exact curve
VERTEX_TOLERANCE = 1e-6


def circle(center: Sequence[float], radius: float) -> Projection:
    """Projection onto the circle of ``radius`` about ``center`` (2,): x -> c + r (x - c) / |x - c|."""
    c = np.asarray(center, dtype=np.float64).reshape(2, 1)
    if not (np.isfinite(radius) and radius > 0):
        raise FEMError(f"circle radius must be a positive finite number, got {radius}")

    def project(x: np.ndarray) -> np.ndarray:
        d = np.asarray(x, dtype=np.float64) - c
        return c + radius * d / np.linalg.norm(d, axis=0)

    return project


def isoparametric_mesh(mesh: Mesh, curved: Mapping[str, Projection]):
    """scikit-fem `MeshTri2` of a triangle ``mesh`` whose edges on the boundaries named in
    ``curved`` have their midpoint nodes on the exact curve; all other edges stay straight.

    Boundaries (facet sets) are carried over by name, so ``get_dofs(name)`` works as on the
    straight mesh. Raises `FEMError` for an unknown boundary name, a non-triangle mesh, or a
    boundary whose vertices are not on its curve (the wrong projection for that boundary).
    """
    if mesh.cell_type != "triangle" or mesh.dim != 2:
        raise FEMError(f"isoparametric geometry needs a 2D triangle mesh, got {mesh.cell_type} in {mesh.dim}D")
    straight = mesh.to_skfem()
    quadratic = MeshTri2.from_mesh(straight)
    doflocs = quadratic.doflocs.copy()
    for name, project in curved.items():
        facets = straight.boundaries[require_boundary(mesh, name, "curved")]
        ends = straight.facets[:, facets]  # (2, F) vertex ids
        vertices = np.unique(ends)
        length = np.linalg.norm(straight.p[:, ends[0]] - straight.p[:, ends[1]], axis=0).min()
        off = np.linalg.norm(np.asarray(project(straight.p[:, vertices])) - straight.p[:, vertices], axis=0)
        if off.max() > VERTEX_TOLERANCE * length:
            worst = vertices[int(np.argmax(off))]
            raise FEMError(f"curved[{name!r}]: vertex {worst} at {straight.p[:, worst].tolist()} lies "
                           f"{off.max():.3g} off the curve (edges are {length:.3g} long or more); "
                           f"the projection does not describe this boundary")
        midpoints = straight.nvertices + facets  # MeshTri2 numbers edge nodes after the vertices
        doflocs[:, midpoints] = project(doflocs[:, midpoints])
    return MeshTri2(doflocs, quadratic.t, _boundaries=dict(straight.boundaries), sort_t=False)
