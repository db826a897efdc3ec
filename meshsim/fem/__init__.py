"""FEM on `Mesh` with scikit-fem: problems (Poisson, heat, advection-diffusion, elasticity,
Navier-Stokes), random fields, and linear solvers."""
from .errors import FEMError, SolverError

__all__ = ["FEMError", "SolverError"]
