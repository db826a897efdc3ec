"""meshsim.sim"""
from .nbody import (NBodyTrajectory, charged_energy, charged_system, coulomb_forces, gravity_energy,
                    gravity_forces, gravity_system)
from .nbody_reference import integrate_kick_drift, reference_charged_splits, reference_charged_system
from .mppde import E1, E2, E3, CombinedEquation, Experiment, Forcing, solve_combined_equation
from .mppde_grids import (GRIDS, cell_centres, coarse_data, coarsen, grid_points, reference_filter,
                          spectral_subsample)
from .mpm import (BACKENDS, MATERIALS, MPMConfig, MPMTrajectory, ParticleState, advance, block, simulate,
                  with_backend)
