"""poisson and heat with a SequenceSolver give the direct solutions to the solver's tolerance."""
import numpy as np

from meshsim.fem import FunctionSpace, gaussian_random_field, heat, poisson
from meshsim.fem.sequence import BanditSOR, LinearSequence, RecyclingGMRES, sort_by_similarity
from meshsim.mesh import rectangle


def test_poisson_sequence_in_skr_order_matches_direct_solves():
    space = FunctionSpace(rectangle(h=0.05))
    walls = {name: 0.0 for name in space.mesh.boundary}
    fields = [np.where(gaussian_random_field(space.mesh, 0.15, seed=s) >= 0, 12.0, 3.0) for s in range(6)]
    order = sort_by_similarity(np.array(fields))
    solvers = {"recycle": RecyclingGMRES(recycle=10, restart=30, tol=1e-10), "bandit": BanditSOR(horizon=6, tol=1e-10, seed=0),
               "direct": LinearSequence("direct", tol=1e-10)}
    for i in order:
        exact = poisson(space, fields[i], 1.0, dirichlet=walls, method="direct").values
        for solver in solvers.values():
            u = poisson(space, fields[i], 1.0, dirichlet=walls, solver=solver).values
            assert np.abs(u - exact).max() <= 1e-7 * np.abs(exact).max()
    assert all(len(s.records) == 6 for s in solvers.values())
    assert solvers["direct"].total_iterations == 0 < solvers["recycle"].total_iterations


def test_heat_steps_as_a_sequence_match_the_factorised_steps():
    mesh = rectangle(h=0.08)
    walls = {name: 0.0 for name in mesh.boundary}
    u0 = gaussian_random_field(mesh, 0.2, seed=1)
    reference = heat(mesh, u0, 0.01, 12, dirichlet=walls, method="direct").values
    recycling = RecyclingGMRES(recycle=8, restart=25, tol=1e-11)
    values = heat(mesh, u0, 0.01, 12, dirichlet=walls, solver=recycling).values
    assert np.abs(values - reference).max() <= 1e-8 * np.abs(reference).max()
    # one matrix for all steps: its recycled subspace is set up once, later steps start warm
    assert len(recycling.records) == 12
    assert recycling.iterations[-1] < recycling.iterations[0]
