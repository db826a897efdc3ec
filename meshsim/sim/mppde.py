r"""Reference solver of the MP-PDE combined equation (Brandstetter, Worrall & Welling, ICLR 2022).

.. math::
    u_t = -\alpha (u^2/2)_x + \beta u_{xx} - \gamma u_{xxx} + \delta(t, x), \quad x \in [0, L),
    \quad \delta(t, x) = \sum_{j=1}^{5} A_j \sin(\omega_j t + 2\pi l_j x / L + \phi_j),
    \quad u(0, x) = \delta(0, x)

periodic in x, L = 16. Finite volumes on n_x cells of width dx = L / n_x: WENO5 with the Godunov
flux for the advection term, fourth-order central differences for u_xx and u_xxx, the forcing at
the grid's nodes, and adaptive explicit Runge-Kutta in time (scipy's ``RK45``, the Dormand-Prince
5(4) pair). The nodes are the cell centres (``grid="cell"``) or, as in the paper's code,
``linspace(0, L, n_x)`` with both ends (``grid="reference"``; see `meshsim.sim.mppde_grids`).
Experiments E1-E3 draw (alpha, beta, gamma) and the forcing from the paper's ranges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .mppde_grids import DOMAIN_LENGTH, cell_centres, coarsen, grid_points, spectral_subsample  # noqa: F401
from .weno import burgers_flux_divergence

#: stored time steps per trajectory
NUM_STORED_STEPS = 250


@dataclass(frozen=True)
class Forcing:
    r"""The forcing :math:`\delta(t, x) = \sum_j A_j \sin(\omega_j t + 2\pi l_j x / L + \phi_j)`.

    Attributes: ``amplitudes``, ``omegas``, ``phases`` (..., J) float and ``wavenumbers`` (..., J)
    int (the l_j); ``length`` L. Leading axes make a batch of forcings (see `Forcing.stack`).
    """

    amplitudes: np.ndarray
    omegas: np.ndarray
    phases: np.ndarray
    wavenumbers: np.ndarray
    length: float = DOMAIN_LENGTH

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """delta at time t and positions x (*X): shape (*batch, *X)."""
        x = np.asarray(x, dtype=np.float64)

        def spread(a: np.ndarray) -> np.ndarray:
            return a.reshape(a.shape[:-1] + (1,) * x.ndim + a.shape[-1:])

        arguments = (spread(self.omegas) * t + 2 * np.pi * spread(self.wavenumbers) * x[..., None] / self.length
                     + spread(self.phases))
        return (spread(self.amplitudes) * np.sin(arguments)).sum(-1)

    @classmethod
    def stack(cls, forcings: list["Forcing"]) -> "Forcing":
        """A batch of forcings with the same number of terms: parameters (B, J)."""
        return cls(*(np.stack([getattr(f, name) for f in forcings])
                     for name in ("amplitudes", "omegas", "phases", "wavenumbers")), forcings[0].length)

    @classmethod
    def none(cls, length: float = DOMAIN_LENGTH) -> "Forcing":
        """delta = 0."""
        empty = np.zeros(0)
        return cls(empty, empty, empty, np.zeros(0, dtype=np.int64), length)

    @classmethod
    def sample(cls, rng: np.random.Generator, num_terms: int = 5, max_amplitude: float = 0.5,
               max_omega: float = 0.4, wavenumbers: tuple[int, ...] = (1, 2),
               length: float = DOMAIN_LENGTH) -> "Forcing":
        """A_j ~ U[-0.5, 0.5], omega_j ~ U[-0.4, 0.4], phi_j ~ U[0, 2 pi], l_j uniform in {1, 2}."""
        return cls(amplitudes=rng.uniform(-max_amplitude, max_amplitude, num_terms),
                   omegas=rng.uniform(-max_omega, max_omega, num_terms),
                   phases=rng.uniform(0, 2 * np.pi, num_terms),
                   wavenumbers=rng.choice(np.asarray(wavenumbers), num_terms), length=length)


@dataclass(frozen=True)
class CombinedEquation:
    """Coefficients of u_t = -alpha (u^2/2)_x + beta u_xx - gamma u_xxx + delta.

    Floats, or arrays of shape (B, 1) for a batch of trajectories solved together.
    """

    alpha: float = 1.0
    beta: float = 0.0
    gamma: float = 0.0

    def as_array(self) -> np.ndarray:
        """(3,) [alpha, beta, gamma], the PDE parameters a model is given."""
        return np.array([self.alpha, self.beta, self.gamma])


@dataclass(frozen=True)
class Experiment:
    """Ranges of one MP-PDE experiment: coefficients drawn uniformly in ``(low, high)``, time ``[0, t_end]``."""

    name: str
    alpha: tuple[float, float]
    beta: tuple[float, float]
    gamma: tuple[float, float]
    t_end: float

    def sample(self, rng: np.random.Generator) -> tuple[CombinedEquation, Forcing]:
        equation = CombinedEquation(*(float(rng.uniform(*r)) for r in (self.alpha, self.beta, self.gamma)))
        return equation, Forcing.sample(rng)


E1 = Experiment("E1", alpha=(1.0, 1.0), beta=(0.0, 0.0), gamma=(0.0, 0.0), t_end=4.0)
E2 = Experiment("E2", alpha=(1.0, 1.0), beta=(0.0, 0.2), gamma=(0.0, 0.0), t_end=4.0)
E3 = Experiment("E3", alpha=(0.0, 6.0), beta=(0.1, 0.4), gamma=(0.0, 1.0), t_end=2.0)


def _second_derivative(u: np.ndarray, dx: float) -> np.ndarray:
    r = {k: np.roll(u, -k, axis=-1) for k in (-2, -1, 1, 2)}
    return (-r[2] + 16 * r[1] - 30 * u + 16 * r[-1] - r[-2]) / (12 * dx ** 2)


def _third_derivative(u: np.ndarray, dx: float) -> np.ndarray:
    r = {k: np.roll(u, -k, axis=-1) for k in (-3, -2, -1, 1, 2, 3)}
    return (-r[3] + 8 * r[2] - 13 * r[1] + 13 * r[-1] - 8 * r[-2] + r[-3]) / (8 * dx ** 3)


def right_hand_side(t: float, u: np.ndarray, equation: CombinedEquation, forcing: Forcing,
                    length: float = DOMAIN_LENGTH, grid: str = "cell") -> np.ndarray:
    """du/dt of the semi-discrete scheme for node values u (..., nx) on ``grid`` (dx = length / nx)."""
    nx = u.shape[-1]
    dx = length / nx
    rate = forcing(t, grid_points(nx, grid, length)) * np.ones_like(u)
    if np.any(equation.alpha):
        rate = rate - equation.alpha * burgers_flux_divergence(u, dx)
    if np.any(equation.beta):
        rate = rate + equation.beta * _second_derivative(u, dx)
    if np.any(equation.gamma):
        rate = rate - equation.gamma * _third_derivative(u, dx)
    return rate


def solve_combined_equation(equation: CombinedEquation, forcing: Forcing, nx: int, t_end: float,
          num_steps: int = NUM_STORED_STEPS, u0: np.ndarray | None = None, rtol: float = 1e-6,
          atol: float = 1e-8, length: float = DOMAIN_LENGTH, grid: str = "cell") -> tuple[np.ndarray, np.ndarray]:
    """Integrate the combined equation on ``nx`` cells of [0, length) and store ``num_steps`` frames.

    Args:
        equation, forcing: the PDE.
        nx: number of cells (>= 7, the width of the third-derivative stencil).
        t_end: final time; frames at ``linspace(0, t_end, num_steps)``.
        u0: initial values (..., nx); default delta(0, x) at the grid's nodes. A batch of
            trajectories (B, nx) is integrated together, with a batch of forcings (`Forcing.stack`)
            and coefficients of shape (B, 1) or scalars.
        rtol, atol: tolerances of the adaptive Dormand-Prince integrator.
        grid: ``"cell"`` (nodes at the cell centres) or ``"reference"`` (nodes at
            ``linspace(0, length, nx)``, the paper's code); the forcing is evaluated at the nodes.

    Returns: (times (num_steps,), u (..., num_steps, nx)).

    Raises:
        RuntimeError: the integrator failed (message from scipy) or the solution is not finite.
    """
    if nx < 7:
        raise ValueError(f"nx must be >= 7, got {nx}")
    points = grid_points(nx, grid, length)
    u0 = forcing(0.0, points) if u0 is None else np.asarray(u0, dtype=np.float64)
    if u0.shape[-1] != nx:
        raise ValueError(f"u0 has {u0.shape[-1]} cells, expected nx={nx}")
    batch_shape = u0.shape[:-1]
    times = np.linspace(0.0, t_end, num_steps)

    def rate(t, flat):
        return right_hand_side(t, flat.reshape(*batch_shape, nx), equation, forcing, length, grid).ravel()

    result = solve_ivp(rate, (0.0, t_end), u0.ravel(), method="RK45", t_eval=times, rtol=rtol, atol=atol)
    if not result.success:
        raise RuntimeError(f"integration of {equation} failed: {result.message}")
    u = np.moveaxis(result.y.reshape(*batch_shape, nx, num_steps), -1, -2)
    if not np.isfinite(u).all():
        raise RuntimeError(f"solution of {equation} at nx={nx} is not finite")
    return times, u
