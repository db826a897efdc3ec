"""Graphs of meshes: `from_mesh` builds a torch_geometric ``Data`` from a `Mesh`, `to_mesh` goes back.

Node types need only numpy; the torch-based names are imported on first use, so dataset
generation workers that only label nodes do not pay for importing torch.
"""
from importlib import import_module

from .errors import GraphError
from .node_types import DEFAULT_NODE_TYPES, NUM_NODE_TYPES, PRIORITY, NodeType, default_node_type, node_types

#: torch-based public names -> the module that defines them
_TORCH_NAMES = {"from_mesh": ".mesh_to_graph", "to_mesh": ".graph_to_mesh",
                "mesh_edge_index": ".edges", "edge_attributes": ".edges", "line_neighbour_edges": ".edges"}

__all__ = [
    "from_mesh", "to_mesh", "GraphError",
    "NodeType", "NUM_NODE_TYPES", "PRIORITY", "DEFAULT_NODE_TYPES", "default_node_type", "node_types",
    "mesh_edge_index", "edge_attributes", "line_neighbour_edges",
]


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        value = getattr(import_module(_TORCH_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
