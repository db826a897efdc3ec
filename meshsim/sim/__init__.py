"""meshsim.sim"""
from .nbody import (NBodyTrajectory, charged_energy, charged_system, coulomb_forces, gravity_energy,
                    gravity_forces, gravity_system)
from .mppde import (E1, E2, E3, CombinedEquation, Experiment, Forcing, cell_centres, coarsen,
                    solve_combined_equation, spectral_subsample)
