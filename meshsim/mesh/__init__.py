"""Meshes: the `Mesh` type, gmsh generators, meshio I/O, quality measures, scikit-fem bridge."""
from .errors import MeshError
from .mesh import Mesh
from .quality import aspect_ratios, cell_measures, count_inverted, min_angles, summary
from .skfem_bridge import from_skfem, to_skfem

__all__ = [
    "Mesh", "MeshError",
    "aspect_ratios", "cell_measures", "count_inverted", "min_angles", "summary",
    "from_skfem", "to_skfem",
]
