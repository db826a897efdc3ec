"""Numba kernels of the 2D MLS-MPM step: the step of `meshsim.sim.mpm_numpy`, particle by particle.

Compiled on first use (cached on disk). One core: the particle-to-grid scatter has write
conflicts, so it runs serially; it is still the fastest backend measured on this machine
(tools/bench_mpm.py).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .mpm_numpy import JELLY, SAND, SNOW, WATER

_jit = numba.njit(cache=True, fastmath=True, nogil=True)


@_jit
def _svd2(a, b, c, d):
    """Closed-form SVD of [[a, b], [c, d]]: (angle of U, angle of V, sig0, sig1); see mpm_numpy.svd2."""
    theta = math.atan2(c - b, a + d)
    co, si = math.cos(theta), math.sin(theta)
    s00, s01, s11 = co * a + si * c, co * b + si * d, co * d - si * b
    phi = 0.5 * math.atan2(2.0 * s01, s00 - s11)
    cp, sp = math.cos(phi), math.sin(phi)
    cross = 2.0 * s01 * cp * sp
    return theta + phi, phi, s00 * cp * cp + cross + s11 * sp * sp, s00 * sp * sp - cross + s11 * cp * cp


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _stress(f00, f01, f10, f11, jp, m, mu0, la0, alpha):
    """Return mapping and Kirchhoff stress of one particle: (F after the mapping (4 entries), Jp,
    stress tau (4 entries)), all scalars."""
    if m == WATER:  # only the volume change J = det F matters: no SVD
        J = f00 * f11 - f01 * f10
        r = math.sqrt(abs(J))
        pressure = la0 * J * (J - 1.0)
        return r, 0.0, 0.0, r, jp, pressure, 0.0, 0.0, pressure
    u, v, s0, s1 = _svd2(f00, f01, f10, f11)
    h = 1.0
    if m == SNOW:
        h = math.exp(10.0 * (1.0 - jp))
    elif m == JELLY:
        h = 0.3
    mu, la = mu0 * h, la0 * h
    if m == SNOW:
        c0, c1 = min(max(s0, 1.0 - 2.5e-2), 1.0 + 4.5e-3), min(max(s1, 1.0 - 2.5e-2), 1.0 + 4.5e-3)
        jp *= (s0 * s1) / (c0 * c1)
        s0, s1 = c0, c1
    if m == SAND:
        e0, e1 = math.log(max(abs(s0), 1e-4)), math.log(max(abs(s1), 1e-4))
        trace = e0 + e1
        d0, d1 = e0 - 0.5 * trace, e1 - 0.5 * trace
        norm = math.sqrt(d0 * d0 + d1 * d1)
        gamma = norm + (2.0 * la + 2.0 * mu) / (2.0 * mu) * trace * alpha
        if trace >= 0:
            e0, e1 = 0.0, 0.0
        elif gamma > 0 and norm > 0:
            e0, e1 = e0 - gamma / norm * d0, e1 - gamma / norm * d1
        s0, s1 = math.exp(e0), math.exp(e1)
    J = s0 * s1
    cu, su, cv, sv = math.cos(u), math.sin(u), math.cos(v), math.sin(v)
    # F = U diag(s) V^T with U = [[cu, -su], [su, cu]], V = [[cv, -sv], [sv, cv]]
    f00 = cu * s0 * cv + su * s1 * sv
    f01 = cu * s0 * sv - su * s1 * cv
    f10 = su * s0 * cv - cu * s1 * sv
    f11 = su * s0 * sv + cu * s1 * cv
    if m == SAND:
        e0, e1 = math.log(s0), math.log(s1)
        t0, t1 = 2.0 * mu0 * e0 + la0 * (e0 + e1), 2.0 * mu0 * e1 + la0 * (e0 + e1)
        t01 = cu * su * (t0 - t1)
        return f00, f01, f10, f11, jp, cu * cu * t0 + su * su * t1, t01, t01, su * su * t0 + cu * cu * t1
    co, si = math.cos(u - v), math.sin(u - v)  # R = U V^T
    a00, a01, a10, a11 = f00 - co, f01 + si, f10 - si, f11 - co
    pressure = la * J * (J - 1.0)
    return (f00, f01, f10, f11, jp, pressure + 2.0 * mu * (a00 * f00 + a01 * f01), 2.0 * mu * (a00 * f10 + a01 * f11),
            2.0 * mu * (a10 * f00 + a11 * f01), pressure + 2.0 * mu * (a10 * f10 + a11 * f11))


@_jit
def particle_to_grid(x, v, C, F, Jp, material, dt, p_mass, p_vol, mu0, la0, alpha, grid_m, grid_p,
                     update_stress):
    """F <- (I + dt C) F, return mapping, stress, then scatter mass and momentum into the (zeroed)
    grid arrays grid_m (n, n) and grid_p (n, n, 2). Without ``update_stress`` the stress is 0 and
    F, Jp are left alone (the transfer alone, for conservation tests)."""
    n = grid_m.shape[0]
    inv_dx = float(n)
    dx = 1.0 / n
    scale = -dt * p_vol * 4.0 * inv_dx * inv_dx
    wx, wy = np.empty(3), np.empty(3)
    for p in range(x.shape[0]):
        t00 = t01 = t10 = t11 = 0.0
        if update_stress:
            g00 = (1.0 + dt * C[p, 0, 0]) * F[p, 0, 0] + dt * C[p, 0, 1] * F[p, 1, 0]
            g01 = (1.0 + dt * C[p, 0, 0]) * F[p, 0, 1] + dt * C[p, 0, 1] * F[p, 1, 1]
            g10 = dt * C[p, 1, 0] * F[p, 0, 0] + (1.0 + dt * C[p, 1, 1]) * F[p, 1, 0]
            g11 = dt * C[p, 1, 0] * F[p, 0, 1] + (1.0 + dt * C[p, 1, 1]) * F[p, 1, 1]
            g00, g01, g10, g11, Jp[p], t00, t01, t10, t11 = _stress(g00, g01, g10, g11, Jp[p], material[p],
                                                                    mu0, la0, alpha)
            F[p, 0, 0], F[p, 0, 1], F[p, 1, 0], F[p, 1, 1] = g00, g01, g10, g11
        a00 = scale * t00 + p_mass * C[p, 0, 0]
        a01 = scale * t01 + p_mass * C[p, 0, 1]
        a10 = scale * t10 + p_mass * C[p, 1, 0]
        a11 = scale * t11 + p_mass * C[p, 1, 1]
        bx, by = math.floor(x[p, 0] * inv_dx - 0.5), math.floor(x[p, 1] * inv_dx - 0.5)
        fx, fy = x[p, 0] * inv_dx - bx, x[p, 1] * inv_dx - by
        wx[0], wx[1], wx[2] = 0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1.0) ** 2, 0.5 * (fx - 0.5) ** 2
        wy[0], wy[1], wy[2] = 0.5 * (1.5 - fy) ** 2, 0.75 - (fy - 1.0) ** 2, 0.5 * (fy - 0.5) ** 2
        mx, my = p_mass * v[p, 0], p_mass * v[p, 1]
        ix, iy = int(bx), int(by)
        for i in range(3):
            dpx = (i - fx) * dx
            for j in range(3):
                dpy = (j - fy) * dx
                w = wx[i] * wy[j]
                gi, gj = ix + i, iy + j
                grid_m[gi, gj] += w * p_mass
                grid_p[gi, gj, 0] += w * (mx + a00 * dpx + a01 * dpy)
                grid_p[gi, gj, 1] += w * (my + a10 * dpx + a11 * dpy)


@_jit
def grid_velocity(grid_m, grid_p, dt, gx, gy, wall_cells, sticky, grid_v):
    """grid_v (n, n, 2) = momentum / mass + dt g, walls as `meshsim.sim.mpm_numpy.grid_velocity`."""
    n = grid_m.shape[0]
    for i in range(n):
        for j in range(n):
            if grid_m[i, j] <= 0:
                grid_v[i, j, 0], grid_v[i, j, 1] = 0.0, 0.0
                continue
            vx = grid_p[i, j, 0] / grid_m[i, j] + dt * gx
            vy = grid_p[i, j, 1] / grid_m[i, j] + dt * gy
            into_x = (i < wall_cells and vx < 0) or (i > n - wall_cells and vx > 0)
            into_y = (j < wall_cells and vy < 0) or (j > n - wall_cells and vy > 0)
            if wall_cells > 0:
                if sticky and (into_x or into_y):
                    vx, vy = 0.0, 0.0
                if into_x:
                    vx = 0.0
                if into_y:
                    vy = 0.0
            grid_v[i, j, 0], grid_v[i, j, 1] = vx, vy


@_jit
def grid_to_particle(x, v, C, grid_v, dt):
    """Gather v and C from the grid and advect x, in place."""
    n = grid_v.shape[0]
    inv_dx = float(n)
    wx, wy = np.empty(3), np.empty(3)
    for p in range(x.shape[0]):
        bx, by = math.floor(x[p, 0] * inv_dx - 0.5), math.floor(x[p, 1] * inv_dx - 0.5)
        fx, fy = x[p, 0] * inv_dx - bx, x[p, 1] * inv_dx - by
        wx[0], wx[1], wx[2] = 0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1.0) ** 2, 0.5 * (fx - 0.5) ** 2
        wy[0], wy[1], wy[2] = 0.5 * (1.5 - fy) ** 2, 0.75 - (fy - 1.0) ** 2, 0.5 * (fy - 0.5) ** 2
        ix, iy = int(bx), int(by)
        vx = vy = c00 = c01 = c10 = c11 = 0.0
        for i in range(3):
            for j in range(3):
                w = wx[i] * wy[j]
                gx, gy = grid_v[ix + i, iy + j, 0], grid_v[ix + i, iy + j, 1]
                vx += w * gx
                vy += w * gy
                k = 4.0 * inv_dx * w
                c00 += k * gx * (i - fx)
                c01 += k * gx * (j - fy)
                c10 += k * gy * (i - fx)
                c11 += k * gy * (j - fy)
        v[p, 0], v[p, 1] = vx, vy
        C[p, 0, 0], C[p, 0, 1], C[p, 1, 0], C[p, 1, 1] = c00, c01, c10, c11
        x[p, 0] += dt * vx
        x[p, 1] += dt * vy
