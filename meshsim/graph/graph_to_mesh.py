"""torch_geometric `Data` graph -> `Mesh`."""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from ..mesh import Mesh
from .errors import GraphError
from .fields import unstack_fields


def _single_graph(data: Data) -> Data:
    if isinstance(data, Batch):
        if data.num_graphs != 1:
            raise GraphError(f"to_mesh takes one graph, got a batch of {data.num_graphs}; "
                             "use batch.to_data_list() or batch.get_example(i)")
        return data.get_example(0)
    return data


def _points(data: Data) -> np.ndarray:
    """``pos64`` while ``pos`` still equals it in ``pos``'s dtype, else ``pos`` (moved nodes)."""
    if data.get("pos") is None:
        raise GraphError("graph has no 'pos'; to_mesh needs node coordinates")
    pos = data.pos.detach().cpu()
    pos64 = data.get("pos64")
    if pos64 is not None and pos64.shape == pos.shape and torch.equal(pos64.to(pos.dtype), pos):
        return pos64.detach().cpu().numpy().astype(np.float64)
    return pos.numpy().astype(np.float64)


def _boundary(data: Data) -> dict[str, np.ndarray]:
    names = data.get("boundary_names")
    if names is None:
        return {}
    facets = data.boundary_facet_index.detach().cpu().numpy().T
    ids = data.boundary_id.detach().cpu().numpy()
    if len(ids) != len(facets) or (len(ids) and (ids.min() < 0 or ids.max() >= len(names))):
        raise GraphError(f"boundary_id ({len(ids)} facets) does not match boundary_facet_index "
                         f"({len(facets)} facets) and {len(names)} boundary_names")
    order = np.argsort(ids, kind="stable")
    starts = np.searchsorted(ids[order], np.arange(len(names) + 1))
    return {name: facets[order[start:stop]] for name, start, stop in zip(names, starts[:-1], starts[1:])}


def _point_data(data: Data) -> dict[str, np.ndarray]:
    point_data: dict[str, np.ndarray] = {}
    for key in ("x", "y"):
        matrix = data.get(key)
        if matrix is None:
            continue
        layout = data.get(f"{key}_fields") or [(key, tuple(matrix.shape[1:]))]
        fields = unstack_fields(matrix.reshape(matrix.shape[0], -1), layout, key)
        clash = sorted(set(fields) & set(point_data))
        if clash:
            raise GraphError(f"fields {clash} are both in x and in y; to_mesh cannot keep both")
        point_data.update(fields)
    return point_data


def to_mesh(data: Data, validate: bool = True) -> Mesh:
    """The `Mesh` a graph from `from_mesh` was made of (or a moved version of it).

    Points are ``data.pos64`` (float64, exact) while ``data.pos`` still equals them rounded to
    ``pos``'s dtype; once ``pos`` has changed (a graph whose nodes were moved), ``data.pos``.
    Cells come from ``face`` (k, M), named boundaries from ``boundary_facet_index``,
    ``boundary_id`` and ``boundary_names``, and ``point_data`` from ``x`` and ``y`` split by
    ``x_fields`` / ``y_fields`` (time windows as (N, T, c); an ``x`` without layout becomes
    the field ``"x"``). Fields come back in the graph's dtype. ``to_mesh(from_mesh(m))`` has
    exactly ``m``'s points, cells and boundaries.

    Args:
        data: one graph (a ``Batch`` of one graph is accepted).
        validate: check the mesh (`Mesh.check`); ``False`` for tangled meshes.
    """
    data = _single_graph(data)
    if data.get("face") is None:
        raise GraphError("graph has no 'face'; to_mesh needs the cells (k, M)")
    return Mesh(points=_points(data), cells=data.face.detach().cpu().numpy().T, boundary=_boundary(data),
                point_data=_point_data(data), validate=validate)
