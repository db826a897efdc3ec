"""Graphs of meshes: `from_mesh` builds a torch_geometric ``Data`` from a `Mesh`, `to_mesh` goes back."""
from .edges import edge_attributes, mesh_edge_index
from .errors import GraphError
from .from_mesh import from_mesh
from .node_types import DEFAULT_NODE_TYPES, NUM_NODE_TYPES, PRIORITY, NodeType, default_node_type, node_types
from .to_mesh import to_mesh

__all__ = [
    "from_mesh", "to_mesh", "GraphError",
    "NodeType", "NUM_NODE_TYPES", "PRIORITY", "DEFAULT_NODE_TYPES", "default_node_type", "node_types",
    "mesh_edge_index", "edge_attributes",
]
