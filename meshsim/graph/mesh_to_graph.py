"""`Mesh` -> torch_geometric `Data` graph."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ..mesh import Mesh
from .edges import edge_attributes, mesh_edge_index
from .errors import GraphError
from .fields import select_fields, stack_fields
from .node_types import node_types

Fields = Sequence[str] | Mapping[str, object] | str | None


def _boundary_tensors(mesh: Mesh) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Named boundary facets as ((k-1, F) node ids, (F,) boundary ids, names)."""
    names = list(mesh.boundary)
    facets = [mesh.boundary[name] for name in names]
    ids = np.repeat(np.arange(len(names), dtype=np.int64), [len(f) for f in facets])
    stacked = np.concatenate(facets) if facets else np.empty((0, mesh.cells.shape[1] - 1), dtype=np.int64)
    return torch.from_numpy(stacked.T.copy()), torch.from_numpy(ids), names


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
    pos = torch.from_numpy(np.array(mesh.points, dtype=np.float64))
    pos_learn = pos.to(dtype)
    edge_index = torch.from_numpy(mesh_edge_index(mesh.cells, mesh.num_points))
    boundary_facet_index, boundary_id, boundary_names = _boundary_tensors(mesh)
    data = Data(
        pos=pos_learn,
        pos64=pos,
        edge_index=edge_index,
        edge_attr=edge_attributes(pos_learn, edge_index),
        face=torch.from_numpy(mesh.cells.T.copy()),
        node_type=torch.from_numpy(node_types(mesh, node_type_map)),
        boundary_facet_index=boundary_facet_index,
        boundary_id=boundary_id,
        boundary_names=boundary_names,
    )
    for key, selection in (("x", fields), ("y", targets)):
        if selection is not None:
            matrix, layout = stack_fields(select_fields(mesh, selection), dtype)
            data[key], data[f"{key}_fields"] = matrix, layout
    return data
