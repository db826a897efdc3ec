"""Vectorised numpy kernels of the 2D MLS-MPM step (`meshsim.sim.mpm`): no Python loop over particles.

The reference backend: every particle operation is an array expression over all particles, the
particle-to-grid scatter is one ``np.bincount`` per grid channel over the 3 x 3 stencil. The numba
backend (`meshsim.sim.mpm_numba`) computes the same step particle by particle and must agree with
this one to rounding.
"""
from __future__ import annotations

import numpy as np

#: material codes of a particle
WATER, JELLY, SNOW, SAND = 0, 1, 2, 3


def rotation(angle: np.ndarray) -> np.ndarray:
    """(N, 2, 2) rotation matrices of angles (N,)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def svd2(F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed-form SVD of 2x2 matrices through the polar decomposition F = R S.

    R is the rotation by ``theta = atan2(F10 - F01, F00 + F11)``, S = R^T F is symmetric and its
    eigenvectors are the rotation V by ``phi = atan2(2 S01, S00 - S11) / 2``; then U = R V.

    Args:
        F: (N, 2, 2).
    Returns:
        angles of U and V (N,) (U, V are rotations) and singular values (N, 2) (the second may be
        negative where det F < 0), with F = U diag(sig) V^T.
    """
    a, b, c, d = F[:, 0, 0], F[:, 0, 1], F[:, 1, 0], F[:, 1, 1]
    theta = np.arctan2(c - b, a + d)
    co, si = np.cos(theta), np.sin(theta)
    s00, s01, s11 = co * a + si * c, co * b + si * d, co * d - si * b
    phi = 0.5 * np.arctan2(2.0 * s01, s00 - s11)
    cp, sp = np.cos(phi), np.sin(phi)
    cross = 2.0 * s01 * cp * sp
    sig = np.stack([s00 * cp * cp + cross + s11 * sp * sp, s00 * sp * sp - cross + s11 * cp * cp], -1)
    return theta + phi, phi, sig


def _compose(u_angle, sig, v_angle) -> np.ndarray:
    """U diag(sig) V^T: (N, 2, 2)."""
    U, V = rotation(u_angle), rotation(v_angle)
    return np.einsum("nij,nj,nkj->nik", U, sig, V)


def constitutive(F, Jp, material, mu0, la0, alpha):
    """Plasticity return mapping and Kirchhoff stress of every particle (mpm99's models, plus sand).

    Args:
        F: (N, 2, 2) deformation gradients after this step's update ``(I + dt C) F``.
        Jp: (N,) plastic volume ratio (snow hardening).
        material: (N,) codes `WATER`, `JELLY`, `SNOW`, `SAND`.
        mu0, la0: Lame parameters; alpha: Drucker-Prager friction coefficient of sand.
    Returns:
        F (N, 2, 2) after the return mapping, Jp (N,), Kirchhoff stress tau (N, 2, 2).
    """
    F, Jp = F.copy(), Jp.copy()
    u, v, sig = svd2(F)
    water = material == WATER
    # water keeps only its volume change: J = det F exactly (the SVD's product rounds differently)
    sig[water] = np.stack([F[water, 0, 0] * F[water, 1, 1] - F[water, 0, 1] * F[water, 1, 0],
                           np.ones(int(water.sum()))], -1)
    h = np.where(material == SNOW, np.exp(10.0 * (1.0 - Jp)), np.where(material == JELLY, 0.3, 1.0))
    mu, la = mu0 * h, la0 * h
    mu[water] = 0.0
    snow = material == SNOW
    if snow.any():
        clamped = np.clip(sig[snow], 1.0 - 2.5e-2, 1.0 + 4.5e-3)
        Jp[snow] *= sig[snow].prod(-1) / clamped.prod(-1)
        sig[snow] = clamped
    sand = material == SAND
    if sand.any():
        sig[sand] = _drucker_prager(sig[sand], mu0, la0, alpha)
    J = sig.prod(-1)
    eye = np.eye(2)
    stress = (la * J * (J - 1.0))[:, None, None] * eye
    F[water] = np.sqrt(np.abs(J[water]))[:, None, None] * eye
    solid = (material == JELLY) | snow
    if solid.any():
        F[solid] = _compose(u[solid], sig[solid], v[solid])
        R = rotation(u[solid] - v[solid])
        stress[solid] += 2.0 * mu[solid, None, None] * (F[solid] - R) @ np.swapaxes(F[solid], 1, 2)
    if sand.any():
        F[sand] = _compose(u[sand], sig[sand], v[sand])
        eps = np.log(sig[sand])
        principal = 2.0 * mu0 * eps + la0 * eps.sum(-1, keepdims=True)
        U = rotation(u[sand])
        stress[sand] = np.einsum("nij,nj,nkj->nik", U, principal, U)
    return F, Jp, stress


def _drucker_prager(sig, mu, la, alpha):
    """Singular values after the Drucker-Prager return mapping in log-strain space (Klar et al. 2016):
    expansion goes to the cone's tip (sig = 1), shear beyond the friction cone is projected back."""
    eps = np.log(np.maximum(np.abs(sig), 1e-4))
    trace = eps.sum(-1)
    dev = eps - 0.5 * trace[:, None]
    dev_norm = np.linalg.norm(dev, axis=-1)
    gamma = dev_norm + (2.0 * la + 2.0 * mu) / (2.0 * mu) * trace * alpha
    shear = (trace < 0) & (gamma > 0) & (dev_norm > 0)
    eps = np.where((trace >= 0)[:, None], 0.0, eps)
    eps[shear] -= (gamma[shear] / dev_norm[shear])[:, None] * dev[shear]
    return np.exp(eps)


def stencil(x: np.ndarray, inv_dx: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadratic B-spline stencil: base node (N, 2) int, offset fx = x/dx - base (N, 2) in [0.5, 1.5),
    weights (3, N, 2) per axis (rows: nodes base, base+1, base+2)."""
    scaled = x * inv_dx
    base = np.floor(scaled - 0.5).astype(np.int64)
    fx = scaled - base
    w = np.stack([0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1.0) ** 2, 0.5 * (fx - 0.5) ** 2])
    return base, fx, w


def particle_to_grid(x, v, C, stress, p_mass, p_vol, dt, n_grid):
    """APIC/MLS-MPM transfer of mass and momentum (with the stress force) to the grid.

    Args:
        x, v: (N, 2) positions and velocities; C: (N, 2, 2) affine velocity; stress: (N, 2, 2)
        Kirchhoff stress. Particle mass ``p_mass`` and volume ``p_vol``.
    Returns:
        grid mass (n_grid, n_grid) and momentum (n_grid, n_grid, 2).
    """
    inv_dx = float(n_grid)
    dx = 1.0 / n_grid
    base, fx, w = stencil(x, inv_dx)
    affine = (-dt * p_vol * 4.0 * inv_dx * inv_dx) * stress + p_mass * C
    momentum = p_mass * v
    index, weight, mom = [], [], []
    for i in range(3):
        for j in range(3):
            wij = w[i, :, 0] * w[j, :, 1]
            dpos = (np.array([i, j]) - fx) * dx
            index.append((base[:, 0] + i) * n_grid + base[:, 1] + j)
            weight.append(wij)
            mom.append(wij[:, None] * (momentum + np.einsum("nij,nj->ni", affine, dpos)))
    index, weight, mom = np.concatenate(index), np.concatenate(weight), np.concatenate(mom)
    size = n_grid * n_grid
    grid_m = np.bincount(index, weight * p_mass, minlength=size)
    grid_p = np.stack([np.bincount(index, mom[:, 0], minlength=size),
                       np.bincount(index, mom[:, 1], minlength=size)], -1)
    return grid_m.reshape(n_grid, n_grid), grid_p.reshape(n_grid, n_grid, 2)


def grid_velocity(grid_m, grid_p, dt, gravity, wall_cells, sticky):
    """Grid velocity momentum / mass plus gravity, with the walls: in the ``wall_cells`` outer
    cells a velocity into the wall is zeroed (``sticky``: the whole velocity; else its normal part)."""
    n = grid_m.shape[0]
    v = np.divide(grid_p, grid_m[..., None], out=np.zeros_like(grid_p), where=grid_m[..., None] > 0)
    v += dt * np.asarray(gravity)
    v[grid_m <= 0] = 0.0
    if wall_cells:
        idx = np.arange(n)
        for axis in range(2):
            near_low = (idx < wall_cells)[:, None] if axis == 0 else (idx < wall_cells)[None, :]
            near_high = (idx > n - wall_cells)[:, None] if axis == 0 else (idx > n - wall_cells)[None, :]
            into = (near_low & (v[..., axis] < 0)) | (near_high & (v[..., axis] > 0))
            if sticky:
                v[into] = 0.0
            else:
                v[..., axis][into] = 0.0
    return v


def grid_to_particle(x, grid_v, dt):
    """Gather velocity and affine velocity C from the grid, then advect: returns x, v, C."""
    n_grid = grid_v.shape[0]
    inv_dx = float(n_grid)
    base, fx, w = stencil(x, inv_dx)
    v = np.zeros_like(x)
    C = np.zeros((len(x), 2, 2))
    for i in range(3):
        for j in range(3):
            wij = w[i, :, 0] * w[j, :, 1]
            gv = grid_v[base[:, 0] + i, base[:, 1] + j]
            v += wij[:, None] * gv
            C += (4.0 * inv_dx * wij)[:, None, None] * gv[:, :, None] * (np.array([i, j]) - fx)[:, None, :]
    return x + dt * v, v, C
