"""`Mesh` -> torch_geometric `Data` graph (`from_mesh`), and the same graph from a mesh's arrays
with its node types and edges known (`from_arrays`, for stored samples)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ..mesh import Mesh
from .edges import edge_attributes, mesh_edge_index
from .errors import GraphError
from .fields import node_first_fields, select_fields, stack_fields
from .node_types import node_types

Fields = Sequence[str] | Mapping[str, object] | str | None


def _boundary_tensors(boundary: Mapping[str, np.ndarray], k: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Named boundary facets of k-node cells as ((k-1, F) node ids, (F,) boundary ids, names)."""
    names = list(boundary)
    facets = [np.asarray(boundary[name], dtype=np.int64) for name in names]
    ids = np.repeat(np.arange(len(names), dtype=np.int64), [len(f) for f in facets])
    stacked = np.concatenate(facets) if facets else np.empty((0, k - 1), dtype=np.int64)
    return torch.from_numpy(stacked.T.copy()), torch.from_numpy(ids), names


def _tensor(array: np.ndarray, dtype) -> torch.Tensor:
    """``array`` as a tensor of numpy ``dtype``, sharing its memory when it is writable and of
    that dtype already (torch tensors must not view read-only arrays)."""
    array = np.asarray(array)
    if array.dtype != dtype or not array.flags.writeable:
        array = np.array(array, dtype=dtype)
    return torch.from_numpy(array)


def _graph(points: np.ndarray, cells: np.ndarray, boundary: Mapping[str, np.ndarray], node_type: np.ndarray,
           edge_index: np.ndarray, inputs: dict | None, outputs: dict | None, dtype: torch.dtype) -> Data:
    """The graph of `from_mesh` from its parts; ``inputs``/``outputs`` are node-first fields."""
    cells = np.asarray(cells, dtype=np.int64)
    pos = _tensor(points, np.float64)
    pos_learn = pos.to(dtype)
    edge_index = _tensor(edge_index, np.int64)
    boundary_facet_index, boundary_id, boundary_names = _boundary_tensors(boundary, cells.shape[1])
    data = Data(
        pos=pos_learn,
        pos64=pos,
        edge_index=edge_index,
        edge_attr=edge_attributes(pos_learn, edge_index),
        face=torch.from_numpy(cells.T.copy()),
        node_type=_tensor(node_type, np.int64),
        boundary_facet_index=boundary_facet_index,
        boundary_id=boundary_id,
        boundary_names=boundary_names,
    )
    for key, arrays in (("x", inputs), ("y", outputs)):
        if arrays is not None:
            data[key], data[f"{key}_fields"] = stack_fields(arrays, dtype)
    return data


def from_mesh(mesh: Mesh, fields: Fields = None, node_type_map: Mapping[str, int] | None = None,
              dtype: torch.dtype = torch.float32, targets: Fields = None) -> Data:
    """Graph of a mesh: its nodes, its edges in both directions, cells, boundaries and fields.

    Args:
        mesh: a line (1D), triangle or tetra `Mesh`.
        fields: inputs ``x``: names of ``mesh.point_data`` entries ((N,), (N, c) or (N, T, c)),
            or a dict name -> array (N,), (N, c) or (T, N, c) (a time window of T steps);
            see `meshsim.graph.fields` for how they are laid out in ``x``.
        node_type_map: boundary name -> `NodeType` code, overriding `DEFAULT_NODE_TYPES`.
        dtype: floating dtype of ``pos``, ``edge_attr``, ``x`` and ``y``.
        targets: outputs ``y``, given like ``fields``.

    Returns:
        ``Data`` with
        - ``pos`` (N, dim) ``dtype``: node coordinates;
        - ``pos64`` (N, dim) float64: the exact mesh points (see `to_mesh`);
        - ``edge_index`` (2, E) int64: each mesh edge once in each direction, row 0 source,
          row 1 target, sorted by target then source, no self loops or duplicates;
        - ``edge_attr`` (E, dim + 1) ``dtype``: ``pos[source] - pos[target]`` and its norm
          (antisymmetric, so PyG's ``data.is_undirected()``, which compares attributes, is False);
        - ``face`` (k, M) int64: the cells, one column per cell (PyG's layout); k gives the
          cell type (2 line, 3 triangle, 4 tetra);
        - ``node_type`` (N,) int64: `NodeType` codes from the boundary names (`node_types`);
        - ``boundary_facet_index`` (k-1, F) int64: every named boundary facet, one column each;
        - ``boundary_id`` (F,) int64: index into ``boundary_names`` of each facet's boundary;
        - ``boundary_names`` list[str]: the mesh's boundary names, in the mesh's order;
        - ``x`` (N, F_x) and ``x_fields`` layout when ``fields`` is given;
          ``y`` (N, F_y) and ``y_fields`` when ``targets`` is given.

        ``Batch.from_data_list`` offsets ``edge_index``, ``face`` and ``boundary_facet_index``
        by the node counts (their names make PyG treat them as node indices); ``boundary_id``
        stays per graph and ``boundary_names`` becomes a list of lists. ``cell_data`` is not
        carried.
    """
    if not isinstance(mesh, Mesh):
        raise GraphError(f"from_mesh takes a meshsim Mesh, got {type(mesh).__name__}; "
                         "convert scikit-fem meshes with Mesh.from_skfem")
    inputs, outputs = (None if selection is None else select_fields(mesh, selection)
                       for selection in (fields, targets))
    return _graph(mesh.points, mesh.cells, mesh.boundary, node_types(mesh, node_type_map),
                  mesh_edge_index(mesh.cells, mesh.num_points), inputs, outputs, dtype)


def from_arrays(points: np.ndarray, cells: np.ndarray, boundary: Mapping[str, np.ndarray], node_type: np.ndarray,
                edge_index: np.ndarray | None = None, *, fields: Mapping[str, object] | None = None,
                targets: Mapping[str, object] | None = None, dtype: torch.dtype = torch.float32) -> Data:
    """The graph `from_mesh` gives, from a mesh's arrays with its node types (and edges) known.

    For meshes already checked, such as the samples of a dataset store, which keeps node types
    and edges: the mesh is not validated and the stored edges skip the edge sort. The result
    equals ``from_mesh(Mesh(points, cells, boundary), fields, dtype=dtype, targets=targets)``
    attribute by attribute when ``node_type`` is that mesh's `node_types` and ``edge_index`` its
    `mesh_edge_index`.

    Args:
        points: (N, dim) float64 node coordinates.
        cells: (M, k) int64 simplex cells.
        boundary: name -> (F, k-1) int64 facets, in the order ``boundary_names`` will have.
        node_type: (N,) int64 `NodeType` codes.
        edge_index: (2, E) int64 directed edges sorted by target then source, as
            `mesh_edge_index` gives (not checked); computed from ``cells`` when None.
        fields, targets: dicts name -> array (N,), (N, c) or (T, N, c), as for `from_mesh`.
        dtype: floating dtype of ``pos``, ``edge_attr``, ``x`` and ``y``.

    ``pos64``, ``node_type`` and ``edge_index`` share memory with the given arrays when these are
    writable and of the graph's dtype (float64, int64): pass copies to keep them apart.
    """
    num_nodes = len(points)
    if edge_index is None:
        edge_index = mesh_edge_index(cells, num_nodes)
    elif np.ndim(edge_index) != 2 or np.shape(edge_index)[0] != 2:
        raise GraphError(f"edge_index has shape {np.shape(edge_index)}, expected (2, E)")
    if np.shape(node_type) != (num_nodes,):
        raise GraphError(f"node_type has shape {np.shape(node_type)}, expected ({num_nodes},) for {num_nodes} points")
    inputs, outputs = (None if selection is None else node_first_fields(selection, num_nodes)
                       for selection in (fields, targets))
    return _graph(points, cells, boundary, node_type, edge_index, inputs, outputs, dtype)
