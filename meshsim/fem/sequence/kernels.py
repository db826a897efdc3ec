"""Numba kernels of the sequence solvers: SSOR sweeps and the whole SSOR-preconditioned CG
iteration on CSR arrays, and the Arnoldi step of GCRO-DR, each one compiled loop instead of a
Python loop over scipy calls.

Imported only when the ``numba`` backend runs (see `meshsim.fem.sequence.backends`); compiled on
first use and cached on disk (``cache=True``), like `meshsim.sim.mpm_numba`. No ``fastmath``: the
sums run in storage order, so a kernel gives the same bits on the same inputs every time.

Matrices come as CSR arrays ``(indptr, indices, data)`` without duplicate entries (the column
indices of a row may be in any order).
"""
from __future__ import annotations

import math

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def csr_matvec(indptr, indices, data, x, out):
    """``out = A x`` (n,), rows summed in storage order (as scipy's csr_matvec)."""
    for i in range(len(out)):
        total = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            total += data[k] * x[indices[k]]
        out[i] = total


@_jit
def dot(u, v):
    total = 0.0
    for i in range(len(u)):
        total += u[i] * v[i]
    return total


@_jit
def ssor_apply(indptr, indices, data, diagonal, omega, r, z):
    """``z = M^{-1} r`` with ``M = (D + w L) D^{-1} (D + w U)`` (see `SSORPreconditioner`): a
    forward sweep ``(D + w L) y = r``, then a backward sweep ``(D + w U) z = D y`` in place."""
    n = len(r)
    for i in range(n):
        lower = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            if indices[k] < i:
                lower += data[k] * z[indices[k]]
        z[i] = (r[i] - omega * lower) / diagonal[i]
    for i in range(n - 1, -1, -1):
        upper = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            if indices[k] > i:
                upper += data[k] * z[indices[k]]
        z[i] = (diagonal[i] * z[i] - omega * upper) / diagonal[i]


@_jit
def ssor_cg(indptr, indices, data, m_indptr, m_indices, m_data, diagonal, omega, b, x, restart_from_x,
            threshold, maxiter):
    """SSOR-preconditioned CG on ``A x = b`` in place on x (n,): the iteration of
    `meshsim.fem.sequence.ssor_cg`, step for step. A is ``(indptr, indices, data)``, the SSOR
    preconditioner is built from ``(m_indptr, m_indices, m_data)`` with ``diagonal`` and omega.
    ``restart_from_x``: x holds an initial guess (else x = 0 and r = b).

    Returns (iterations, p^T A p): the second is > 0 unless A was found not positive definite
    at the last iteration.
    """
    n = len(b)
    r = np.empty(n)
    z = np.empty(n)
    p = np.empty(n)
    q = np.empty(n)
    iterations = 0
    pq = 1.0
    for _ in range(3):
        if restart_from_x or iterations > 0:
            csr_matvec(indptr, indices, data, x, r)
            for i in range(n):
                r[i] = b[i] - r[i]
        else:
            r[:] = b
        if math.sqrt(dot(r, r)) <= threshold:
            break
        ssor_apply(m_indptr, m_indices, m_data, diagonal, omega, r, z)
        p[:] = z
        rz = dot(r, z)
        while iterations < maxiter:
            csr_matvec(indptr, indices, data, p, q)
            pq = dot(p, q)
            iterations += 1
            if not pq > 0.0:
                return iterations, pq
            alpha = rz / pq
            for i in range(n):
                x[i] += alpha * p[i]
                r[i] -= alpha * q[i]
            if math.sqrt(dot(r, r)) <= threshold:
                break
            ssor_apply(m_indptr, m_indices, m_data, diagonal, omega, r, z)
            rz_next = dot(r, z)
            beta = rz_next / rz
            for i in range(n):
                p[i] = p[i] * beta + z[i]
            rz = rz_next
        if iterations >= maxiter:
            break
    return iterations, pq
