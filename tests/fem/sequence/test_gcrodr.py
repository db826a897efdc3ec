import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from meshsim.fem import FEMError, SolverError
from meshsim.fem.sequence import LinearSequence, RecyclingGMRES


def test_gmres_without_recycling_matches_scipy_gmres(slowly_varying_sequence):
    A, b, exact = slowly_varying_sequence[0]
    ours = RecyclingGMRES(recycle=0, restart=20, preconditioner="none", tol=1e-8)
    x = ours.solve(A, b)
    counted = []
    reference, info = spla.gmres(A, b, rtol=1e-8, atol=0.0, restart=20, maxiter=200,
                                 callback=counted.append, callback_type="pr_norm")
    assert info == 0
    # the same algorithm: the same number of Arnoldi steps (scipy stops on its own residual estimate)
    assert abs(ours.total_iterations - len(counted)) <= 2
    np.testing.assert_allclose(x, reference, atol=1e-6 * np.abs(exact).max())
    assert np.linalg.norm(b - A @ x) <= 1e-8 * np.linalg.norm(b)


@pytest.mark.parametrize("preconditioner", ["none", "jacobi", "ssor", "amg"])
def test_recycled_solves_equal_direct_solves(slowly_varying_sequence, preconditioner):
    solver = RecyclingGMRES(recycle=10, restart=30, preconditioner=preconditioner, tol=1e-10)
    for A, b, exact in slowly_varying_sequence[:4]:
        x = solver.solve(A, b, symmetric=True)
        assert np.linalg.norm(b - A @ x) <= 1e-10 * np.linalg.norm(b)
        assert np.abs(x - exact).max() <= 1e-7 * np.abs(exact).max()
    assert all(r.residual <= 1e-10 for r in solver.records)


def test_recycling_lowers_iterations_on_slowly_varying_sequence(slowly_varying_sequence):
    plain = RecyclingGMRES(recycle=0, restart=40, preconditioner="jacobi", tol=1e-8)
    within = RecyclingGMRES(recycle=20, restart=40, preconditioner="jacobi", tol=1e-8, keep_subspace=False)
    recycled = RecyclingGMRES(recycle=20, restart=40, preconditioner="jacobi", tol=1e-8)
    for A, b, _ in slowly_varying_sequence:
        for solver in (plain, within, recycled):
            solver.solve(A, b)
    # measured: GMRES(40) 1,707 iterations, GCRO-DR(40, 20) within each solve 1,223, recycled
    # across the sequence 607 (101 for the first system, then 44-61 each)
    assert recycled.total_iterations * 2.5 <= plain.total_iterations
    assert recycled.total_iterations * 1.8 <= within.total_iterations
    assert recycled.iterations[1:].mean() * 2.5 <= plain.iterations[1:].mean()


def test_nonsymmetric_sequence_and_same_matrix_reuse():
    n = 20
    one_d = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    upwind = sp.diags([-np.ones(n - 1), np.ones(n)], [-1, 0])
    A = sp.csr_matrix(sp.kronsum(one_d, one_d) + 5.0 * sp.kron(sp.eye(n), upwind))
    rng = np.random.default_rng(1)
    solver = RecyclingGMRES(recycle=8, restart=25, preconditioner="jacobi", tol=1e-9)
    x = None
    for step in range(5):  # time steps: one matrix, new right-hand sides, warm starts
        b = rng.standard_normal(n * n)
        x = solver.solve(A, b, x0=x)
        assert np.linalg.norm(b - A @ x) <= 1e-9 * np.linalg.norm(b)
    # the recycled C = A U stays valid for the same matrix: no setup products after the first solve
    # (the x0 residual and the final true-residual check only)
    assert [r.matvecs - r.iterations for r in solver.records[1:]] == [2, 2, 2, 2]


def test_shape_change_and_reset_drop_the_subspace(slowly_varying_sequence):
    A, b, exact = slowly_varying_sequence[0]
    solver = RecyclingGMRES(recycle=5, restart=15, tol=1e-9)
    solver.solve(A, b)
    small = sp.csr_matrix(sp.diags([2.0] * 10) + sp.diags([-0.5] * 9, 1) + sp.diags([-0.5] * 9, -1))
    x = solver.solve(small, np.ones(10))
    np.testing.assert_allclose(small @ x, np.ones(10), atol=1e-8)
    solver.reset()
    np.testing.assert_allclose(solver.solve(A, b), exact, atol=1e-6 * np.abs(exact).max())


def test_non_convergence_raises_solver_error(slowly_varying_sequence):
    A, b, _ = slowly_varying_sequence[0]
    with pytest.raises(SolverError, match=r"RecyclingGMRES did not converge: relative residual \d\.\d+e[+-]\d+ > tol"):
        RecyclingGMRES(recycle=2, restart=5, preconditioner="none", tol=1e-10, maxiter=7).solve(A, b)


def test_bad_arguments_raise_fem_error(slowly_varying_sequence):
    A, b, _ = slowly_varying_sequence[0]
    with pytest.raises(FEMError, match="recycle must be"):
        RecyclingGMRES(recycle=10, restart=10)
    with pytest.raises(FEMError, match="preconditioner must be"):
        RecyclingGMRES(preconditioner="ilu")
    with pytest.raises(FEMError, match="right-hand side has shape"):
        RecyclingGMRES().solve(A, b[:-1])
    with pytest.raises(FEMError, match="non-finite"):
        LinearSequence().solve(A, np.full_like(b, np.nan))


def test_zero_right_hand_side_then_the_same_matrix(slowly_varying_sequence):
    (A0, b0, _), (A1, b1, exact1) = slowly_varying_sequence[:2]
    solver = RecyclingGMRES(recycle=5, restart=20, preconditioner="jacobi", tol=1e-10)
    solver.solve(A0, b0)
    np.testing.assert_array_equal(solver.solve(A1, np.zeros_like(b1)), 0.0)
    # A1 again: its preconditioner and recycled C must be set up for A1, not left from A0
    np.testing.assert_allclose(solver.solve(A1, b1), exact1, atol=1e-7 * np.abs(exact1).max())
    assert solver.records[1].iterations == 0
