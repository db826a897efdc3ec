"""Small sequences of related systems (finite differences, no meshing) shared by the tests."""
import numpy as np
import pytest
import scipy.sparse as sp


def diffusion_matrix(coefficient: np.ndarray) -> sp.csr_matrix:
    """5-point -div(a grad u) on an n x n interior grid (Dirichlet), a (n+2, n+2) at the nodes,
    harmonic-free arithmetic face averages; SPD, n^2 unknowns."""
    n = coefficient.shape[0] - 2
    east = 0.5 * (coefficient[1:-1, 1:] + coefficient[1:-1, :-1])   # (n, n+1) faces in x
    north = 0.5 * (coefficient[1:, 1:-1] + coefficient[:-1, 1:-1])  # (n+1, n) faces in y
    diagonal = (east[:, :-1] + east[:, 1:] + north[:-1, :] + north[1:, :]).ravel()
    index = np.arange(n * n).reshape(n, n)
    rows, cols, vals = [index.ravel()], [index.ravel()], [diagonal]
    for (i0, i1), weights in (((index[:, :-1], index[:, 1:]), east[:, 1:-1]),
                              ((index[:-1, :], index[1:, :]), north[1:-1, :])):
        rows += [i0.ravel(), i1.ravel()]
        cols += [i1.ravel(), i0.ravel()]
        vals += [-weights.ravel(), -weights.ravel()]
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n * n))


@pytest.fixture(scope="module")
def slowly_varying_sequence():
    """12 SPD systems (900 unknowns) whose coefficient drifts slowly, with their right-hand sides
    and exact (direct) solutions."""
    n = 30
    grid = np.linspace(0.0, 1.0, n + 2)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    rng = np.random.default_rng(0)
    systems = []
    for t in range(12):
        a = 1.0 + 0.8 * np.sin(3 * x + 0.05 * t) * np.cos(2 * y - 0.03 * t)
        A = diffusion_matrix(a)
        b = 1.0 + 0.1 * rng.standard_normal(n * n)
        systems.append((A, b, sp.linalg.spsolve(A.tocsc(), b)))
    return systems
