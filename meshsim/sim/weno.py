"""Fifth-order WENO reconstruction and the Godunov flux of Burgers' equation on periodic 1D grids."""
from __future__ import annotations

import numpy as np

#: linear weights of the three 3-point candidate stencils (Jiang & Shu 1996)
LINEAR_WEIGHTS = (0.1, 0.6, 0.3)
#: keeps the nonlinear weights finite where a stencil is flat
WENO_EPSILON = 1e-6


def weno5_left(vm2: np.ndarray, vm1: np.ndarray, v0: np.ndarray, vp1: np.ndarray, vp2: np.ndarray) -> np.ndarray:
    """Value at the right face x_{i+1/2} of cell i reconstructed from the cell averages
    v_{i-2} .. v_{i+2} (WENO-JS: a smoothness-weighted blend of three 3rd-order candidates,
    5th order where the solution is smooth, non-oscillatory at shocks). Elementwise on arrays."""
    q0 = (2 * vm2 - 7 * vm1 + 11 * v0) / 6
    q1 = (-vm1 + 5 * v0 + 2 * vp1) / 6
    q2 = (2 * v0 + 5 * vp1 - vp2) / 6
    b0 = 13 / 12 * (vm2 - 2 * vm1 + v0) ** 2 + 0.25 * (vm2 - 4 * vm1 + 3 * v0) ** 2
    b1 = 13 / 12 * (vm1 - 2 * v0 + vp1) ** 2 + 0.25 * (vm1 - vp1) ** 2
    b2 = 13 / 12 * (v0 - 2 * vp1 + vp2) ** 2 + 0.25 * (3 * v0 - 4 * vp1 + vp2) ** 2
    d0, d1, d2 = LINEAR_WEIGHTS
    a0 = d0 / (WENO_EPSILON + b0) ** 2
    a1 = d1 / (WENO_EPSILON + b1) ** 2
    a2 = d2 / (WENO_EPSILON + b2) ** 2
    return (a0 * q0 + a1 * q1 + a2 * q2) / (a0 + a1 + a2)


def face_states(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right WENO5 states at every face x_{i+1/2} of a periodic grid (last axis).

    Returns: (u^-_{i+1/2}, u^+_{i+1/2}), each shaped like ``u``; entry i is face i + 1/2.
    """
    shifted = {k: np.roll(u, -k, axis=-1) for k in range(-2, 4)}  # shifted[k][i] = u[i + k]
    left = weno5_left(shifted[-2], shifted[-1], shifted[0], shifted[1], shifted[2])
    right = weno5_left(shifted[3], shifted[2], shifted[1], shifted[0], shifted[-1])
    return left, right


def burgers_godunov_flux(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact Riemann (Godunov) flux of f(u) = u^2 / 2 between face states ``left`` and ``right``.

    Rarefaction (left <= right): min of f over [left, right] (0 if the interval holds the sonic
    point 0); shock (left > right): max of f at the two states.
    """
    f_left, f_right = 0.5 * left ** 2, 0.5 * right ** 2
    rarefaction = np.where((left <= 0) & (right >= 0), 0.0, np.minimum(f_left, f_right))
    return np.where(left <= right, rarefaction, np.maximum(f_left, f_right))


def burgers_flux_divergence(u: np.ndarray, dx: float) -> np.ndarray:
    """(F_{i+1/2} - F_{i-1/2}) / dx for (u^2/2)_x with WENO5 states and the Godunov flux (periodic).

    Conservative: its sum over the grid is zero, so the mean of u is conserved.
    """
    flux = burgers_godunov_flux(*face_states(u))
    return (flux - np.roll(flux, 1, axis=-1)) / dx
