import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from meshsim.fem import FEMError, LinearSolver, SolverError, factorize, solve
from meshsim.fem import solvers as solvers_module
from meshsim.fem.solvers import RecyclingSolver


def laplacian_2d(n: int) -> sp.csr_matrix:
    """5-point Laplacian on an n x n grid (SPD, n^2 unknowns)."""
    one_d = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    return sp.csr_matrix(sp.kronsum(one_d, one_d))


def advection_2d(n: int, peclet: float) -> sp.csr_matrix:
    """Laplacian plus upwinded advection: non-symmetric, still an M-matrix."""
    one_d = sp.diags([-np.ones(n - 1), np.ones(n)], [-1, 0])
    return sp.csr_matrix(laplacian_2d(n) + peclet * sp.kron(sp.eye(n), one_d))


@pytest.mark.parametrize("method", ["direct", "cg", "gmres", "auto"])
def test_symmetric_solve_matches_reference_and_meets_tol(method):
    A = laplacian_2d(30)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    x = solve(A, b, method=method, tol=1e-10)
    assert np.linalg.norm(b - A @ x) <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(x, spla.spsolve(A.tocsc(), b), rtol=0, atol=1e-7 * np.abs(x).max())


@pytest.mark.parametrize("method", ["direct", "gmres"])
def test_nonsymmetric_solve(method):
    A = advection_2d(25, peclet=20.0)
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    x = solve(A, b, method=method, tol=1e-9)
    assert np.linalg.norm(b - A @ x) <= 1e-9 * np.linalg.norm(b)


def stencil_27(n: int, lower: float) -> sp.csr_matrix:
    """27-point stencil on an n^3 grid (Kronecker product of tridiagonal matrices)."""
    one_d = sp.diags([lower * np.ones(n - 1), 4 * np.ones(n), np.ones(n - 1)], [-1, 0, 1])
    return sp.csr_matrix(sp.kron(one_d, sp.kron(one_d, one_d)))


def test_auto_chooses_by_size_and_symmetry():
    assert LinearSolver(laplacian_2d(20)).method == "direct"     # 400 unknowns
    assert LinearSolver(laplacian_2d(200)).method == "direct"    # 40k, 5 nonzeros per row
    assert LinearSolver(laplacian_2d(320)).method == "cg"        # 102k unknowns
    assert LinearSolver(stencil_27(21, 1.0)).method == "direct"  # 9261 unknowns, 27 per row
    assert LinearSolver(stencil_27(22, 1.0)).method == "cg"      # 10648 unknowns
    assert LinearSolver(stencil_27(22, 0.5)).method == "gmres"   # non-symmetric


def test_numerically_singular_system_raises_instead_of_returning_garbage():
    A = advection_2d(20, peclet=5.0)
    A = sp.csr_matrix(A + 50.0 * sp.triu(A, 1))  # LU "succeeds" with x ~ 1e23, residual ~ 1e7 |b|
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    with pytest.raises(SolverError, match=r"direct solve failed: relative residual \d\.\d+e\+\d+ > tol"):
        solve(A, b, method="direct")


def test_non_convergence_raises_with_residual():
    A = laplacian_2d(40)
    b = np.ones(A.shape[0])
    with pytest.raises(SolverError, match=r"relative residual \d\.\d+e[+-]\d+ > tol 1.0e-10 after \d+ iterations"):
        solve(A, b, method="cg", M=sp.eye(A.shape[0]), maxiter=3)


def test_singular_matrix_raises():
    A = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(SolverError, match="direct solve failed"):
        solve(A, np.array([1.0, 0.0]), method="direct")


def test_factorize_reuses_factors(monkeypatch):
    calls = []
    original = spla.splu
    monkeypatch.setattr(solvers_module.spla, "splu", lambda *a, **k: calls.append(1) or original(*a, **k))
    A = laplacian_2d(20)
    solve_A = factorize(A)
    rng = np.random.default_rng(2)
    for _ in range(5):
        b = rng.standard_normal(A.shape[0])
        assert np.linalg.norm(b - A @ solve_A(b)) <= 1e-10 * np.linalg.norm(b)
    assert len(calls) == 1


def test_recycling_solver_sets_up_once_for_nearby_matrices():
    A = advection_2d(20, peclet=5.0)
    solver = RecyclingSolver(method="direct", tol=1e-10)
    rng = np.random.default_rng(3)
    for k in range(6):
        A_k = sp.csr_matrix(A + 0.01 * k * sp.eye(A.shape[0]))
        b = rng.standard_normal(A.shape[0])
        x = solver.solve(A_k, b)
        assert np.linalg.norm(b - A_k @ x) <= 1e-10 * np.linalg.norm(b)
    assert solver.setups == 1
    far = sp.csr_matrix(A + 50.0 * sp.eye(A.shape[0]))  # too far for 20 GMRES iterations
    b = rng.standard_normal(A.shape[0])
    x = solver.solve(far, b)
    assert np.linalg.norm(b - far @ x) <= 1e-10 * np.linalg.norm(b)
    assert solver.setups == 2


def test_zero_rhs_gives_zero():
    np.testing.assert_array_equal(solve(laplacian_2d(5), np.zeros(25)), np.zeros(25))


def test_bad_input_raises_fem_error():
    A = laplacian_2d(5)
    with pytest.raises(FEMError, match="method must be one of"):
        solve(A, np.ones(25), method="lu")
    with pytest.raises(FEMError, match="square"):
        solve(sp.csr_matrix(np.ones((2, 3))), np.ones(2))
    with pytest.raises(FEMError, match="right-hand side has shape"):
        solve(A, np.ones(24))
    with pytest.raises(FEMError, match="non-finite"):
        solve(A, np.full(25, np.nan))
    bad = A.copy()
    bad.data[0] = np.inf
    with pytest.raises(FEMError, match="1 non-finite entries"):
        solve(bad, np.ones(25))
