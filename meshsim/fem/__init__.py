"""FEM on `Mesh` with scikit-fem: problems (Poisson, heat, advection-diffusion, elasticity,
Navier-Stokes), random fields, and linear solvers."""
from .advection_diffusion import (advection_diffusion, gaussian_cone, rotating_velocity,
                                  steady_advection_diffusion, supg_tau, swirl_velocity,
                                  translating_gaussian)
from .boundary import DirichletConstraint, dirichlet_constraint, neumann_load, robin_terms
from .coefficients import Coefficient, evaluate_coefficient
from .curved import circle, isoparametric_mesh
from .dfg import DFGPeriodicResult, DFGSteadyResult, dfg_2d1, dfg_2d2
from .elasticity import ElasticitySolution, linear_elasticity, rigid_body_modes, von_mises
from .errors import FEMError, SolverError
from .heat import heat, theta_scheme
from .navier_stokes import NavierStokesResult, SteadyFlow, navier_stokes, steady_navier_stokes
from .poisson import diffusion_system, poisson
from .probes import p1_probe_matrix
from .random_fields import gaussian_random_field, lognormal_field
from .solution import Solution, Trajectory, h1_seminorm_error, l2_error
from .sequence import (BanditSOR, RecyclingGMRES, SequenceSolver, sequence_solver, solve_sequence,
                       sort_by_similarity)
from .solvers import LinearSolver, RecyclingSolver, factorize, solve
from .space import FunctionSpace, as_space

__all__ = [
    "FEMError", "SolverError",
    "FunctionSpace", "as_space", "Coefficient", "evaluate_coefficient",
    "DirichletConstraint", "dirichlet_constraint", "neumann_load", "robin_terms",
    "Solution", "Trajectory", "l2_error", "h1_seminorm_error",
    "LinearSolver", "RecyclingSolver", "factorize", "solve",
    "SequenceSolver", "RecyclingGMRES", "BanditSOR", "sort_by_similarity", "solve_sequence", "sequence_solver",
    "poisson", "diffusion_system", "heat", "theta_scheme",
    "advection_diffusion", "steady_advection_diffusion", "supg_tau", "swirl_velocity",
    "rotating_velocity", "gaussian_cone", "translating_gaussian",
    "gaussian_random_field", "lognormal_field",
    "linear_elasticity", "ElasticitySolution", "rigid_body_modes", "von_mises",
    "navier_stokes", "steady_navier_stokes", "NavierStokesResult", "SteadyFlow",
    "dfg_2d1", "dfg_2d2", "DFGPeriodicResult", "DFGSteadyResult",
    "circle", "isoparametric_mesh", "p1_probe_matrix",
]
