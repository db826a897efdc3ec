"""Graphs of meshes: `from_mesh` builds a torch_geometric ``Data`` from a `Mesh`, `to_mesh` goes back.

Node types and edge lists (`mesh_edge_index`, `line_neighbour_edges`) need only numpy; the
torch-based names are imported on first use, so dataset generation workers that label nodes
and store edges do not pay for importing torch.
"""
from importlib import import_module

from .errors import GraphError
from .mesh_edges import line_neighbour_edges, mesh_edge_index
from .particles import (connected_radius, covering_radius, farthest_point_sampling, is_connected, radius_graph,
                        nearest_neighbours, random_subset, sort_by_target, subsample_count, wall_distances)
from .node_types import DEFAULT_NODE_TYPES, NUM_NODE_TYPES, PRIORITY, NodeType, default_node_type, node_types

#: torch-based public names -> the module that defines them
_TORCH_NAMES = {"from_mesh": ".mesh_to_graph", "from_arrays": ".mesh_to_graph", "to_mesh": ".graph_to_mesh",
                "edge_attributes": ".edges", "assert_same_graph": ".testing"}

__all__ = [
    "from_mesh", "from_arrays", "to_mesh", "GraphError",
    "NodeType", "NUM_NODE_TYPES", "PRIORITY", "DEFAULT_NODE_TYPES", "default_node_type", "node_types",
    "mesh_edge_index", "edge_attributes", "line_neighbour_edges", "assert_same_graph",
    "radius_graph", "wall_distances", "farthest_point_sampling", "random_subset", "subsample_count",
    "covering_radius", "connected_radius", "is_connected", "sort_by_target", "nearest_neighbours",
]


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        value = getattr(import_module(_TORCH_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
