"""The `Mesh` type: an immutable simplex mesh with named boundaries and attached data."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import numpy as np

from .errors import MeshError, format_ids
from .geometry import CELL_TYPES, boundary_facets, cell_edge_lengths, signed_measures, unique_edges

#: a cell whose measure is below this fraction of (longest edge)**dim counts as degenerate
DEGENERATE_RTOL = 1e-10


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


def _facet_array(name, facets, width: int) -> np.ndarray:
    """(F, width) int64 facets; a flat array is read as rows of ``width`` nodes."""
    facets = np.asarray(facets)
    if facets.size and not np.issubdtype(facets.dtype, np.integer):
        raise MeshError(f"boundary {name!r} must hold integer node indices, got dtype {facets.dtype}")
    if facets.ndim > 2 or (facets.ndim == 2 and facets.shape[1] != width) or facets.size % width:
        raise MeshError(f"boundary {name!r} has shape {facets.shape}; facets need {width} nodes each")
    return facets.astype(np.int64).reshape(-1, width)


@dataclass(frozen=True, eq=False, repr=False)
class Mesh:
    """A simplex mesh of one cell type (``line``, ``triangle`` or ``tetra``).

    Attributes:
        points: (N, dim) float64 vertex coordinates (dim 1, 2 or 3).
        cells: (M, k) int64 vertex indices, k = 2 (line), 3 (triangle) or 4 (tetra).
        boundary: boundary name -> (F, k-1) int64 facets, named as gmsh physical groups.
        point_data: field name -> array with N rows.
        cell_data: field name -> array with M rows.
        validate: check the mesh on construction (see `Mesh.check`); ``False`` lets mesh
            movers hold tangled meshes.

    Arrays are copied and made read-only; every method returns a new object.
    """

    points: np.ndarray
    cells: np.ndarray
    boundary: Mapping[str, np.ndarray] = field(default_factory=dict)
    point_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    cell_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    validate: bool = True

    def __post_init__(self):
        points = np.asarray(self.points)
        cells = np.asarray(self.cells)
        if points.ndim == 1:
            points = points[:, None]
        if points.ndim != 2 or points.shape[1] not in (1, 2, 3):
            raise MeshError(f"points must have shape (N, dim) with dim 1, 2 or 3, got {points.shape}")
        if cells.ndim != 2 or cells.shape[1] not in CELL_TYPES:
            raise MeshError(f"cells must have shape (M, k) with k 2, 3 or 4, got {cells.shape}")
        if len(points) == 0 or len(cells) == 0:
            raise MeshError(f"empty mesh: {len(points)} points, {len(cells)} cells")
        if cells.shape[1] - 1 > points.shape[1]:
            raise MeshError(f"{CELL_TYPES[cells.shape[1]]} cells need dim >= {cells.shape[1] - 1}, "
                            f"points have dim {points.shape[1]}")
        if not np.issubdtype(cells.dtype, np.integer):
            raise MeshError(f"cells must hold integer indices, got dtype {cells.dtype}")
        points = points.astype(np.float64)
        cells = cells.astype(np.int64)
        set_ = object.__setattr__
        set_(self, "points", _frozen(points))
        set_(self, "cells", _frozen(cells))
        set_(self, "boundary", {str(k): _frozen(_facet_array(k, v, cells.shape[1] - 1))
                                for k, v in dict(self.boundary).items()})
        set_(self, "point_data", {str(k): _frozen(v) for k, v in dict(self.point_data).items()})
        set_(self, "cell_data", {str(k): _frozen(v) for k, v in dict(self.cell_data).items()})
        self._check_data()
        if self.validate:
            self.check()

    # -- validation ------------------------------------------------------------------------
    def _check_data(self):
        for kind, data, n in (("point_data", self.point_data, self.num_points),
                              ("cell_data", self.cell_data, self.num_cells)):
            for name, value in data.items():
                if value.ndim == 0 or len(value) != n:
                    raise MeshError(f"{kind} {name!r} has shape {value.shape}; its first axis must be {n}")
        for name, facets in self.boundary.items():
            bad = np.flatnonzero(((facets < 0) | (facets >= self.num_points)).any(axis=1))
            if len(bad):
                raise MeshError(f"boundary {name!r} has facets with node indices out of range "
                                f"[0, {self.num_points}): facets {format_ids(bad)}")

    def check(self) -> None:
        """Raise `MeshError` naming the offending cell ids if the mesh is invalid.

        Checks, in order: finite coordinates, indices in range, no repeated node in a cell,
        no zero-measure cell, no inverted (negatively oriented) cell.
        """
        bad_points = np.flatnonzero(~np.isfinite(self.points).all(axis=1))
        if len(bad_points):
            raise MeshError(f"non-finite coordinates at points {format_ids(bad_points)}")
        bad = np.flatnonzero(((self.cells < 0) | (self.cells >= self.num_points)).any(axis=1))
        if len(bad):
            raise MeshError(f"node indices out of range [0, {self.num_points}) in cells {format_ids(bad)}")
        sorted_cells = np.sort(self.cells, axis=1)
        bad = np.flatnonzero((np.diff(sorted_cells, axis=1) == 0).any(axis=1))
        if len(bad):
            raise MeshError(f"repeated node in cells {format_ids(bad)}")
        measures = self.signed_measures
        scale = cell_edge_lengths(self.points, self.cells).max(axis=1) ** self.cell_dim
        bad = np.flatnonzero(np.abs(measures) <= DEGENERATE_RTOL * scale)
        if len(bad):
            raise MeshError(f"zero-measure (degenerate) {self.cell_type} cells {format_ids(bad)}")
        bad = np.flatnonzero(measures < 0)
        if len(bad):
            raise MeshError(f"inverted (negatively oriented) {self.cell_type} cells {format_ids(bad)}")

    # -- basic properties ------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Space dimension of the points."""
        return self.points.shape[1]

    @property
    def cell_dim(self) -> int:
        """Topological dimension of the cells (1 line, 2 triangle, 3 tetra)."""
        return self.cells.shape[1] - 1

    @property
    def cell_type(self) -> str:
        """meshio name of the cell type: ``line``, ``triangle`` or ``tetra``."""
        return CELL_TYPES[self.cells.shape[1]]

    @property
    def num_points(self) -> int:
        return self.points.shape[0]

    @property
    def num_cells(self) -> int:
        return self.cells.shape[0]

    @cached_property
    def signed_measures(self) -> np.ndarray:
        """(M,) signed cell length/area/volume; negative for inverted cells."""
        return signed_measures(self.points, self.cells)

    @property
    def cell_measures(self) -> np.ndarray:
        """(M,) unsigned cell length/area/volume (in the points' units to the power cell_dim)."""
        return np.abs(self.signed_measures)

    @cached_property
    def edges(self) -> np.ndarray:
        """(E, 2) int64 undirected edges, each once with i < j, in lexicographic order."""
        return unique_edges(self.cells)

    @cached_property
    def boundary_facets(self) -> np.ndarray:
        """(F, k-1) facets on the topological boundary (those in exactly one cell)."""
        return boundary_facets(self.cells)

    def boundary_nodes(self, name: str | None = None) -> np.ndarray:
        """Sorted unique node ids on the boundary named ``name``, or on the whole boundary.

        With ``name=None`` the topological boundary is used (facets belonging to one cell).
        """
        if name is None:
            return np.unique(self.boundary_facets)
        if name not in self.boundary:
            raise MeshError(f"no boundary named {name!r}; this mesh has {sorted(self.boundary)}")
        return np.unique(self.boundary[name])

    # -- new meshes from this one ----------------------------------------------------------
    def with_points(self, points: np.ndarray, validate: bool | None = None) -> "Mesh":
        """Same topology, boundaries and data on moved ``points`` (N, dim)."""
        points = np.asarray(points, dtype=np.float64)
        if points.shape != self.points.shape:
            raise MeshError(f"with_points needs points of shape {self.points.shape}, got {points.shape}")
        return Mesh(points, self.cells, self.boundary, self.point_data, self.cell_data,
                    validate=self.validate if validate is None else validate)

    def with_data(self, point_data: Mapping | None = None, cell_data: Mapping | None = None) -> "Mesh":
        """Same mesh with fields added to (or replacing those in) point_data / cell_data."""
        return Mesh(self.points, self.cells, self.boundary,
                    {**self.point_data, **(point_data or {})},
                    {**self.cell_data, **(cell_data or {})}, validate=self.validate)

    # -- summaries -------------------------------------------------------------------------
    def __repr__(self) -> str:
        from .quality import summary

        return summary(self)

    # conversions, attached in __init__ to keep this module about the type itself
    def to_skfem(self):
        """scikit-fem mesh (MeshLine1/MeshTri1/MeshTet1) with the named boundaries."""
        from .skfem_bridge import to_skfem

        return to_skfem(self)

    @classmethod
    def from_skfem(cls, mesh) -> "Mesh":
        """Mesh from a scikit-fem MeshLine1/MeshTri1/MeshTet1, keeping its named boundaries."""
        from .skfem_bridge import from_skfem

        return from_skfem(mesh)

    def to_meshio(self):
        """meshio.Mesh with boundary facets as extra cell blocks tagged by gmsh physical groups."""
        from .io import to_meshio

        return to_meshio(self)

    def write(self, path, **kwargs) -> None:
        """Write to any meshio format (.msh, .vtu, .xdmf, ...), keeping boundary names."""
        from .io import write

        write(self, path, **kwargs)
