"""Meshes: the `Mesh` type, gmsh generators, meshio I/O, quality measures, scikit-fem bridge."""
from .errors import MeshError
from .fileinfo import describe_file
from .generators import (Refinement, box, channel_with_cylinder, disk, from_geo, interval, polygon,
                         random_domain, rectangle)
from .io import MeshRepairWarning, from_meshio, read, read_xdmf_series, to_meshio, write, write_xdmf_series
from .mesh import Mesh
from .quality import aspect_ratios, cell_measures, count_inverted, min_angles, summary
from .skfem_bridge import from_skfem, to_skfem

__all__ = [
    "Mesh", "MeshError",
    "Refinement", "box", "channel_with_cylinder", "disk", "from_geo", "interval", "polygon",
    "random_domain", "rectangle",
    "aspect_ratios", "cell_measures", "count_inverted", "min_angles", "summary",
    "from_skfem", "to_skfem",
    "from_meshio", "read", "read_xdmf_series", "to_meshio", "write", "write_xdmf_series",
    "MeshRepairWarning", "describe_file",
]
