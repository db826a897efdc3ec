"""Gaussian random fields on meshes or point sets, reproducible from a seed, by random Fourier
features (Rahimi & Recht 2007).

A field is ``g(x) = mean + sqrt(variance / m) sum_j (a_j cos(w_j . x) + b_j sin(w_j . x))`` with
``a_j, b_j ~ N(0, 1)`` and frequencies ``w_j`` drawn from the spectral density of the covariance
(Gaussian for the squared exponential, multivariate Student t for Matern). Over seeds its
covariance is exactly the target's for any number of modes m; m sets how Gaussian one sample
is. The field is a function of x fixed by the seed, so the same seed gives the same field on
any point set (a moved mesh, a finer mesh).
"""
from __future__ import annotations

import numpy as np

from ..mesh import Mesh
from .errors import FEMError

#: bound on samples * modes * points evaluated at once (temporary memory ~ 3 x 8 bytes each)
_BLOCK_ENTRIES = 1 << 22


def gaussian_random_field(domain: Mesh | np.ndarray, length_scale, variance: float = 1.0,
                          seed=None, n_modes: int = 256, nu: float | None = None, mean: float = 0.0,
                          num_samples: int | None = None) -> np.ndarray:
    """Sample a stationary Gaussian random field at the mesh points or at given points.

    Args:
        domain: a `Mesh` (its points) or points (N, dim) (or (N,) in 1D), in length units.
        length_scale: correlation length, a number or one per axis (dim,) (anisotropic).
        variance: pointwise variance sigma^2.
        seed: int or numpy Generator; the same int gives the same field.
        n_modes: number of random Fourier features m.
        nu: None for the squared-exponential covariance ``s^2 exp(-r^2 / (2 l^2))``, else the
            Matern smoothness (0.5 exponential, 1.5, 2.5, ...).
        mean: constant mean.
        num_samples: None for one field (N,), else that many independent fields (S, N).

    Returns:
        (N,) or (num_samples, N) float64 values.
    """
    points = _points(domain)
    dim = points.shape[1]
    ell = np.broadcast_to(np.asarray(length_scale, dtype=np.float64), (dim,))
    if not (np.isfinite(ell).all() and (ell > 0).all()):
        raise FEMError(f"length_scale must be positive, got {length_scale!r}")
    if not variance >= 0:
        raise FEMError(f"variance must be >= 0, got {variance!r}")
    if nu is not None and not nu > 0:
        raise FEMError(f"Matern smoothness nu must be positive, got {nu!r}")
    if not (isinstance(n_modes, (int, np.integer)) and n_modes >= 1):
        raise FEMError(f"n_modes must be a positive integer, got {n_modes!r}")
    rng = np.random.default_rng(seed)
    samples = 1 if num_samples is None else int(num_samples)
    frequencies = rng.standard_normal((samples, n_modes, dim))
    if nu is not None:  # Student t with 2 nu degrees of freedom = Gaussian / sqrt(chi2 / (2 nu))
        frequencies *= np.sqrt(2.0 * nu / rng.chisquare(2.0 * nu, size=(samples, n_modes, 1)))
    frequencies /= ell
    weights = rng.standard_normal((2, samples, n_modes)) * np.sqrt(variance / n_modes)
    field = np.empty((samples, len(points)))
    block = max(1, _BLOCK_ENTRIES // (n_modes * samples))
    for start in range(0, len(points), block):
        phase = frequencies @ points[start:start + block].T  # (S, m, B)
        field[:, start:start + block] = (np.einsum("sm,smb->sb", weights[0], np.cos(phase))
                                         + np.einsum("sm,smb->sb", weights[1], np.sin(phase)))
    field += mean
    return field[0] if num_samples is None else field


def lognormal_field(domain: Mesh | np.ndarray, length_scale, log_variance: float = 1.0,
                    median: float = 1.0, seed=None, n_modes: int = 256, nu: float | None = None,
                    num_samples: int | None = None) -> np.ndarray:
    """Positive field ``median * exp(g)`` with g a zero-mean `gaussian_random_field` of variance
    ``log_variance`` (a conductivity / permeability kappa). Same arguments and shapes."""
    if not median > 0:
        raise FEMError(f"median must be positive, got {median!r}")
    g = gaussian_random_field(domain, length_scale, variance=log_variance, seed=seed,
                              n_modes=n_modes, nu=nu, num_samples=num_samples)
    return median * np.exp(g)


def _points(domain) -> np.ndarray:
    points = domain.points if isinstance(domain, Mesh) else np.asarray(domain, dtype=np.float64)
    if points.ndim == 1:
        points = points[:, None]
    if points.ndim != 2 or points.shape[1] not in (1, 2, 3) or len(points) == 0:
        raise FEMError(f"points must have shape (N, dim) with dim 1, 2 or 3, got {points.shape}")
    if not np.isfinite(points).all():
        raise FEMError("points have non-finite coordinates")
    return points
