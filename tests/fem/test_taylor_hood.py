import numpy as np
import pytest
import scipy.sparse as sp
import skfem
from skfem import BilinearForm
from skfem.helpers import dot, grad

from meshsim.fem import SolverError
from meshsim.fem.taylor_hood import DirichletElimination, ReusedFactorisation, SparsityPattern, TaylorHoodSystem

NU = 0.01


@pytest.fixture(scope="module")
def system():
    return TaylorHoodSystem(skfem.MeshTri1().refined(3).with_defaults(), NU)


def velocity(system, seed=0):
    x = system.velocity_basis.doflocs
    phase = np.random.default_rng(seed).uniform(0, 1, 2)
    return np.concatenate([np.sin(3 * x[1] + phase[0]), np.cos(2 * x[0] + phase[1])])


@BilinearForm
def convection(u, v, w):
    return dot(w.w, grad(u)) * v


@BilinearForm
def reference_momentum(u, v, w):
    return 7.0 * u * v + NU * dot(grad(u), grad(v)) + dot(w.w, grad(u)) * v


def test_matrix_data_matches_scikit_fem_assembly(system):
    n2 = system.n2
    w = velocity(system)
    matrix = system.pattern.matrix(system.matrix_data(7.0, w))
    vb, pb = system.velocity_basis, system.pressure_basis
    w_field = vb.interpolate(w[:n2]), vb.interpolate(w[n2:])
    w_q = np.stack([np.asarray(w_field[0]), np.asarray(w_field[1])])
    expected = reference_momentum.assemble(vb, w=w_q)
    for block in (slice(0, n2), slice(n2, 2 * n2)):
        assert abs(matrix[block, block] - expected).max() < 1e-12
    assert abs(matrix[:n2, n2:2 * n2]).max() == 0.0
    divergence_x = BilinearForm(lambda u, q, _: u.grad[0] * q).assemble(vb, pb)
    assert abs(matrix[2 * n2:, :n2] + divergence_x).max() < 1e-12
    assert abs(matrix[:n2, 2 * n2:] + divergence_x.T).max() < 1e-12
    assert abs(matrix[2 * n2:, 2 * n2:]).max() == 0.0


def test_sparsity_pattern_positions_and_submatrix():
    rows, cols = np.array([0, 2, 1, 2, 0]), np.array([1, 0, 1, 2, 1])  # (0, 1) twice
    pattern = SparsityPattern.from_entries(rows, cols, (3, 3))
    assert pattern.nnz == 4
    data = np.bincount(pattern.positions(rows, cols), weights=[1.0, 2.0, 3.0, 4.0, 5.0], minlength=4)
    dense = pattern.matrix(data).toarray()
    assert np.array_equal(dense, [[0, 6, 0], [0, 3, 0], [2, 0, 4]])
    indptr, indices, positions = pattern.submatrix(np.array([0, 2]), np.array([0, 1]))
    assert np.array_equal(sp.csr_matrix((data[positions], indices, indptr), shape=(2, 2)).toarray(), [[0, 6], [2, 0]])


def test_dirichlet_elimination_solves_the_full_system(system):
    data = system.matrix_data(10.0, velocity(system))
    matrix = system.pattern.matrix(data)
    fixed = np.concatenate([np.arange(0, system.size, 7)[:-1], [system.size - 1]])
    values = np.linspace(-1, 1, len(fixed))
    rhs = np.random.default_rng(1).normal(size=system.size)
    elimination = DirichletElimination(system.pattern, fixed)
    reduced, b = elimination.reduce(data, rhs, values)
    x = elimination.expand(ReusedFactorisation(rtol=1e-12)(reduced, b), values)
    assert np.array_equal(x[fixed], values)
    assert np.abs((matrix @ x - rhs)[elimination.free]).max() < 1e-9


def test_reused_factorisation_refactorises_only_when_refinement_stalls(system):
    fixed = np.concatenate([system.velocity_basis.get_dofs().all(), system.velocity_basis.get_dofs().all() + system.n2,
                            [2 * system.n2]])  # walls all round, one pressure dof pinned
    elimination = DirichletElimination(system.pattern, fixed)
    solver = ReusedFactorisation(rtol=1e-10)
    rhs = np.random.default_rng(2).normal(size=system.size)
    for step in range(5):  # slowly changing convection: the first factors serve all
        w = velocity(system) * (1 + 0.01 * step)
        matrix, b = elimination.reduce(system.matrix_data(100.0, w), rhs, np.zeros(len(fixed)))
        x = solver(matrix, b)
        assert np.linalg.norm(matrix @ x - b) <= 1e-10 * np.linalg.norm(b)
    assert solver.factorisations == 1 and solver.iterations > 0
    matrix, b = elimination.reduce(system.matrix_data(0.0, 50 * velocity(system, seed=3)), rhs, np.zeros(len(fixed)))
    x = solver(matrix, b)
    assert solver.factorisations == 2
    assert np.linalg.norm(matrix @ x - b) <= 1e-10 * np.linalg.norm(b)


def test_singular_system_raises_solver_error(system):
    # closed cavity without a pinned pressure: the constant pressure is in the kernel
    dofs = system.velocity_basis.get_dofs().all()
    elimination = DirichletElimination(system.pattern, np.concatenate([dofs, dofs + system.n2]))
    matrix, b = elimination.reduce(system.matrix_data(0.0, None), np.ones(system.size), np.zeros(2 * len(dofs)))
    with pytest.raises(SolverError, match="relative residual"):
        ReusedFactorisation()(matrix, b)
