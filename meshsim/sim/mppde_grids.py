r"""Grids and coarse-data protocols of the MP-PDE experiments (Brandstetter, Worrall & Welling, 2022).

Two protocols turn the fine reference solve (``nx = 200``) into data on a coarse grid:

* ``"cell"`` (meshsim's): the solver's values are cell averages on the cells of [0, L); nodes sit
  at the cell centres :math:`(i + 1/2) L / n_x`; coarse data are exact averages of the fine cells
  (`coarsen`).
* ``"reference"`` (the paper's code): node positions ``linspace(0, L, nx)`` with the endpoint
  included, while the scheme's spacing is ``dx = L / nx``; the coarse "truth" is the fine solve
  passed through a 5-tap box filter of weights 0.2 with stride ``factor`` and wrap padding
  (`reference_filter`), and the classical baseline is an independent coarse solve from the
  initial condition sampled at the coarse positions.
"""
from __future__ import annotations

import numpy as np

#: domain length L of the MP-PDE experiments
DOMAIN_LENGTH = 16.0
#: the grid conventions `grid_points` knows
GRIDS = ("cell", "reference")
#: taps of the paper's box filter
FILTER_TAPS = 5


def check_grid(grid: str) -> None:
    """Raise ValueError unless ``grid`` is one of `GRIDS`."""
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")


def cell_centres(nx: int, length: float = DOMAIN_LENGTH) -> np.ndarray:
    """(nx,) centres (i + 1/2) dx of the cells of [0, length)."""
    return (np.arange(nx) + 0.5) * (length / nx)


def grid_points(nx: int, grid: str = "cell", length: float = DOMAIN_LENGTH) -> np.ndarray:
    """(nx,) node positions of a grid: cell centres (``"cell"``) or ``linspace(0, length, nx)``
    with both ends (``"reference"``). Either way the scheme's spacing is dx = length / nx."""
    check_grid(grid)
    return cell_centres(nx, length) if grid == "cell" else np.linspace(0.0, length, nx)


def _check_factor(nx: int, factor: int, what: str) -> None:
    if factor < 1 or nx % factor:
        raise ValueError(f"cannot {what} {nx} cells by a factor of {factor}")


def coarsen(u: np.ndarray, factor: int) -> np.ndarray:
    """Average groups of ``factor`` consecutive cells: (..., nx) -> (..., nx / factor).

    The reference data at nx = 200 gives the MP-PDE grids nx = 100, 50, 40 (factors 2, 4, 5).
    """
    nx = u.shape[-1]
    _check_factor(nx, factor, "coarsen")
    return u.reshape(*u.shape[:-1], nx // factor, factor).mean(-1)


def reference_filter(u: np.ndarray, factor: int) -> np.ndarray:
    """The paper's down-projection: (..., nx) -> (..., nx / factor).

    Coarse value j is the mean of the fine values ``j factor - 2 .. j factor + 2`` of the array
    padded on the left by its entries ``[-3, -2]`` and on the right by ``[1, 2]`` (the wrap of the
    reference code, whose last node at x = L is the periodic image of the first). Coarse node j
    thus sits on fine node ``j factor``.
    """
    nx = u.shape[-1]
    _check_factor(nx, factor, "filter")
    if nx < FILTER_TAPS:
        raise ValueError(f"the {FILTER_TAPS}-tap filter needs at least {FILTER_TAPS} values, got {nx}")
    u = np.asarray(u, dtype=np.float64)
    half = FILTER_TAPS // 2
    padded = np.concatenate([u[..., -half - 1:-1], u, u[..., 1:half + 1]], axis=-1)
    coarse = nx // factor
    return sum(padded[..., k:k + (coarse - 1) * factor + 1:factor] for k in range(FILTER_TAPS)) / FILTER_TAPS


def coarse_data(u: np.ndarray, factor: int, grid: str) -> np.ndarray:
    """Coarse data of a protocol: `coarsen` on the ``"cell"`` grid, `reference_filter` on the
    ``"reference"`` grid. (..., nx) -> (..., nx / factor)."""
    check_grid(grid)
    return coarsen(u, factor) if grid == "cell" else reference_filter(u, factor)


def spectral_subsample(u: np.ndarray, factor: int) -> np.ndarray:
    """Low-pass and subsample: (..., nx) -> (..., nx / factor) point values at the coarse cell centres
    of the Fourier series of ``u`` truncated to the modes the coarse grid resolves (|k| < nx_c / 2).

    The alternative to `coarsen` (exact cell averages): a smooth, band-limited coarse signal, closer
    to the filtered and subsampled coarse grids of the MP-PDE paper's data. Periodic in x.
    """
    nx = u.shape[-1]
    _check_factor(nx, factor, "subsample")
    coarse = nx // factor
    spectrum = np.fft.rfft(u, axis=-1)[..., :coarse // 2 + 1].copy()
    if coarse % 2 == 0:
        spectrum[..., -1] = 0.0  # the coarse Nyquist mode is not resolved symmetrically
    # fine samples sit at (i + 1/2) dx; coarse centres at (j + 1/2) factor dx: shift by (factor - 1) dx / 2
    k = np.arange(spectrum.shape[-1])
    spectrum *= np.exp(2j * np.pi * k * (factor - 1) / (2 * nx))
    return np.fft.irfft(spectrum, n=coarse, axis=-1) * (coarse / nx)
