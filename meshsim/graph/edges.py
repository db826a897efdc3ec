"""Geometric edge attributes, vectorised; the edge lists themselves are in `mesh_edges`
(numpy only) and re-exported here."""
from __future__ import annotations

import torch

from .mesh_edges import line_neighbour_edges, mesh_edge_index

__all__ = ["edge_attributes", "line_neighbour_edges", "mesh_edge_index"]


def edge_attributes(pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """(E, dim + 1) edge features: relative displacement ``pos[source] - pos[target]``
    (sender minus receiver, as in MeshGraphNets) in columns ``:dim`` and its Euclidean norm
    in the last column, in ``pos``'s units and dtype."""
    num_edges, dim = edge_index.shape[1], pos.shape[1]
    attr = torch.empty((num_edges, dim + 1), dtype=pos.dtype)
    displacement = attr[:, :dim]
    # index_select gathers rows about 3x faster than advanced indexing pos[edge_index[0]]
    torch.sub(pos.index_select(0, edge_index[0]), pos.index_select(0, edge_index[1]), out=displacement)
    torch.linalg.vector_norm(displacement, dim=1, out=attr[:, dim])
    return attr
