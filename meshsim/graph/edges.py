"""Geometric edge attributes, vectorised; the edge lists themselves are in `mesh_edges`
(numpy only) and re-exported here."""
from __future__ import annotations

import torch

from .mesh_edges import line_neighbour_edges, mesh_edge_index

__all__ = ["edge_attributes", "line_neighbour_edges", "mesh_edge_index"]


def edge_attributes(pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """(E, dim + 1) edge features: relative displacement ``pos[source] - pos[target]``
    (sender minus receiver, as in MeshGraphNets) in columns ``:dim`` and its Euclidean norm
    in the last column, in ``pos``'s units and dtype.

    On CPU tensors outside autograd, one compiled pass (`meshsim.graph.edge_kernels`, also used by
    `meshsim.data.read_batch`, so a graph and a batch of it hold the same bits); otherwise torch
    operations (differentiable; the norm may differ in the last bit). ``IndexError`` for a node id
    outside ``[0, N)``."""
    num_edges, dim = edge_index.shape[1], pos.shape[1]
    if (pos.device.type == "cpu" and edge_index.device.type == "cpu" and pos.dtype in (torch.float32, torch.float64)
            and not (pos.requires_grad and torch.is_grad_enabled())):
        from .edge_kernels import displacements_and_lengths

        attr = torch.empty((num_edges, dim + 1), dtype=pos.dtype)
        index = edge_index.to(torch.int64).numpy()
        displacements_and_lengths(pos.detach().contiguous().numpy(), index[0], index[1], attr.numpy())
        return attr
    displacement = pos.index_select(0, edge_index[0]) - pos.index_select(0, edge_index[1])
    return torch.cat([displacement, torch.linalg.vector_norm(displacement, dim=1, keepdim=True)], dim=1)
