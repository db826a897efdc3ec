"""Helpers shared by the problems' sample functions."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...mesh import Mesh
from ..sample import Sample


def mesh_seed(rng: np.random.Generator) -> int:
    """A 31-bit seed for a mesh generator, drawn from the sample's generator."""
    return int(rng.integers(2**31 - 1))


def make_sample(mesh: Mesh, fields: Mapping[str, np.ndarray], params: Mapping[str, float],
                node_type_map: Mapping[str, int] | None = None, times: np.ndarray | None = None) -> Sample:
    """`Sample` of a solved mesh, with node types from its boundary names
    (`meshsim.graph.node_types`, ``node_type_map`` overriding the defaults)."""
    # imported here: meshsim.graph imports torch, which recipe checking does not need
    from ...graph import node_types

    return Sample.from_mesh(mesh, node_types(mesh, node_type_map), fields, params, times)
