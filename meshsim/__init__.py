"""meshsim: learning simulation on meshes and graphs.

geometry --gmsh--> Mesh --scikit-fem--> fields --> torch_geometric graphs --> neural simulators.
"""
from .mesh import Mesh, MeshError, read

__version__ = "0.1.0"

__all__ = ["Mesh", "MeshError", "read", "__version__"]
