"""`Sample`: one generated sample (mesh, fields, parameters) as plain numpy arrays."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..mesh import Mesh


@dataclass(frozen=True, eq=False)
class Sample:
    """One sample of a dataset, as written to and read from a shard.

    Attributes:
        points: (N, dim) float64 node coordinates.
        cells: (M, k) int64 simplex cells.
        boundary: boundary name -> (F, k-1) int64 facets.
        node_type: (N,) int64 node types (meshsim.graph's convention: 0 interior, then one code
            per boundary condition kind).
        fields: name -> (N, c) float64 nodal field; in a trajectory, time-dependent fields are
            (T, N, c) and fields constant in time stay (N, c).
        params: name -> float64 array (scalar or small vector) of the parameters drawn.
        times: (T,) float64 times of a trajectory's frames, or None for a steady sample.
        edge_index: (2, E) int64 directed mesh edges, sorted by target then source
            (`meshsim.graph.mesh_edge_index` of the cells), or None. A sample read from a shard
            always has them (stored, or computed for shards of schema 1); `write_shard` computes
            them from the cells when None.
    """

    points: np.ndarray
    cells: np.ndarray
    boundary: Mapping[str, np.ndarray]
    node_type: np.ndarray
    fields: Mapping[str, np.ndarray]
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    times: np.ndarray | None = None
    edge_index: np.ndarray | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        points = np.asarray(self.points, dtype=np.float64)
        set_(self, "points", points)
        set_(self, "cells", np.asarray(self.cells, dtype=np.int64))
        k = self.cells.shape[1]
        set_(self, "boundary", {str(n): np.asarray(f, dtype=np.int64).reshape(-1, k - 1)
                                for n, f in sorted(dict(self.boundary).items())})
        set_(self, "node_type", np.asarray(self.node_type, dtype=np.int64).reshape(-1))
        times = None if self.times is None else np.asarray(self.times, dtype=np.float64).reshape(-1)
        set_(self, "times", times)
        set_(self, "fields", {str(n): self._as_field(str(n), v) for n, v in sorted(dict(self.fields).items())})
        set_(self, "params", {str(n): np.asarray(v, dtype=np.float64) for n, v in sorted(dict(self.params).items())})
        if self.edge_index is not None:
            edge_index = np.asarray(self.edge_index, dtype=np.int64)
            if edge_index.ndim != 2 or edge_index.shape[0] != 2:
                raise ValueError(f"edge_index has shape {edge_index.shape}, expected (2, E)")
            set_(self, "edge_index", edge_index)

    def _as_field(self, name: str, value) -> np.ndarray:
        """Field as (N, c), or (T, N, c) for a time-dependent field of a trajectory; a channel
        axis is added to (N,) fields."""
        value = np.asarray(value, dtype=np.float64)
        n = len(self.points)
        if value.ndim == 1:
            value = value[:, None]
        steady = value.ndim == 2 and value.shape[0] == n
        timed = (self.times is not None and value.ndim == 3
                 and value.shape[:2] == (len(self.times), n))
        if not (steady or timed):
            expected = "(N,), (N, c)" + ("" if self.times is None else f" or (T={len(self.times)}, N, c)")
            raise ValueError(f"field {name!r} has shape {value.shape}, expected {expected} with N={n}")
        return value

    @property
    def num_nodes(self) -> int:
        return len(self.points)

    @property
    def is_trajectory(self) -> bool:
        return self.times is not None

    def non_finite(self) -> str | None:
        """Why this sample must not be written (NaN/Inf in a field or parameter), or None."""
        for kind, values in (("field", self.fields), ("parameter", self.params)):
            for name, value in values.items():
                bad = ~np.isfinite(value)
                if bad.any():
                    return f"non-finite values in {kind} {name!r} ({int(bad.sum())} of {value.size} entries)"
        return None

    def to_mesh(self, validate: bool = False) -> Mesh:
        """The sample's `Mesh` with its fields as point_data ((N, c), or (N, T, c) for
        time-dependent fields: a mesh keeps nodes first)."""
        point_data = {name: np.moveaxis(v, 0, 1) if v.ndim == 3 else v for name, v in self.fields.items()}
        return Mesh(self.points, self.cells, self.boundary, point_data=point_data, validate=validate)

    @classmethod
    def from_mesh(cls, mesh: Mesh, node_type, fields, params=None, times=None) -> "Sample":
        """Sample from a `Mesh` plus its node types, fields and parameters."""
        return cls(mesh.points, mesh.cells, mesh.boundary, node_type, fields, params or {}, times)
