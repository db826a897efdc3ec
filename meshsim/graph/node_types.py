"""Node types: integer codes for interior and boundary nodes, derived from boundary names.

The codes follow MeshGraphNets' ``NodeType`` (cylinder_flow, airfoil, flag, deforming_plate),
so a one-hot of width `NUM_NODE_TYPES` matches the published models' inputs.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Mapping

import numpy as np

from ..mesh import Mesh
from .errors import GraphError


class NodeType(IntEnum):
    """Integer code of a node's role (MeshGraphNets' codes, plus `BOUNDARY`).

    - ``NORMAL = 0``: interior node, no boundary condition.
    - ``OBSTACLE = 1``: node of a moving/kinematic obstacle (MGN flag, deforming_plate).
    - ``AIRFOIL = 2``: airfoil surface (MGN airfoil).
    - ``HANDLE = 3``: prescribed-motion node (MGN flag handle).
    - ``INFLOW = 4``: inflow boundary, Dirichlet velocity (``"inlet"``).
    - ``OUTFLOW = 5``: outflow boundary, do-nothing / Neumann (``"outlet"``).
    - ``WALL = 6``: no-slip Dirichlet wall (MGN ``WALL_BOUNDARY``; ``"walls"``, ``"cylinder"``).
    - ``BOUNDARY = 7``: any other named boundary (meshsim's code, e.g. a Dirichlet side).
    """

    NORMAL = 0
    OBSTACLE = 1
    AIRFOIL = 2
    HANDLE = 3
    INFLOW = 4
    OUTFLOW = 5
    WALL = 6
    BOUNDARY = 7


#: width of a one-hot node type encoding (MeshGraphNets' ``NodeType.SIZE``)
NUM_NODE_TYPES = 9

#: a node on several boundaries gets the type that comes first here. Walls win over inflow and
#: outflow, as at the inlet corners of MeshGraphNets' cylinder_flow data (no-slip holds there).
PRIORITY = (NodeType.WALL, NodeType.OBSTACLE, NodeType.AIRFOIL, NodeType.HANDLE,
            NodeType.INFLOW, NodeType.OUTFLOW, NodeType.BOUNDARY, NodeType.NORMAL)

#: default type of a boundary by its (lower-cased) name; other names get `NodeType.BOUNDARY`.
#: The cylinder is a no-slip wall, as in MeshGraphNets' cylinder_flow.
DEFAULT_NODE_TYPES = {
    "inlet": NodeType.INFLOW, "inflow": NodeType.INFLOW,
    "outlet": NodeType.OUTFLOW, "outflow": NodeType.OUTFLOW,
    "wall": NodeType.WALL, "walls": NodeType.WALL, "cylinder": NodeType.WALL,
    "obstacle": NodeType.OBSTACLE, "airfoil": NodeType.AIRFOIL, "handle": NodeType.HANDLE,
}


def default_node_type(name: str) -> NodeType:
    """Node type of the boundary called ``name`` under `DEFAULT_NODE_TYPES` (case-insensitive)."""
    return DEFAULT_NODE_TYPES.get(name.lower(), NodeType.BOUNDARY)


def _as_node_type(name: str, code) -> NodeType:
    try:
        return NodeType(int(code))
    except (TypeError, ValueError):
        raise GraphError(f"node_type_map[{name!r}] = {code!r} is not a NodeType code "
                         f"{[int(t) for t in NodeType]}") from None


def boundary_node_types(mesh: Mesh, node_type_map: Mapping[str, int] | None = None) -> dict[str, NodeType]:
    """Node type of each of ``mesh``'s named boundaries: ``node_type_map[name]`` where given,
    else `default_node_type`. Names in ``node_type_map`` that the mesh lacks are ignored, so one
    map serves meshes with different boundaries."""
    node_type_map = dict(node_type_map or {})
    return {name: _as_node_type(name, node_type_map[name]) if name in node_type_map else default_node_type(name)
            for name in mesh.boundary}


def node_types(mesh: Mesh, node_type_map: Mapping[str, int] | None = None) -> np.ndarray:
    """(N,) int64 `NodeType` code of every node of ``mesh``.

    Nodes on no named boundary are `NodeType.NORMAL` (also nodes of the topological boundary
    that no name covers). A node on several named boundaries gets the type that comes first in
    `PRIORITY` (e.g. an inlet/wall corner is a `NodeType.WALL` node).
    """
    rank_of = np.empty(max(NodeType) + 1, dtype=np.int64)
    rank_of[[int(t) for t in PRIORITY]] = np.arange(len(PRIORITY))[::-1]  # higher rank wins
    rank = np.zeros(mesh.num_points, dtype=np.int64)
    for name, node_type in boundary_node_types(mesh, node_type_map).items():
        nodes = mesh.boundary[name].ravel()
        rank[nodes] = np.maximum(rank[nodes], rank_of[node_type])
    code_of_rank = np.array([int(t) for t in PRIORITY[::-1]], dtype=np.int64)
    return code_of_rank[rank]
