"""`BanditSOR`: SSOR-preconditioned CG whose relaxation factor is chosen for each new system by
an online bandit over a grid of omegas, with the iteration count as the loss (Khodak, Chow,
Balcan & Talwalkar, "Learning to Relax: Setting Solver Parameters Across a Sequence of Linear
System Instances", ICLR 2024).

`TsallisINF` is the 1/2-Tsallis-INF bandit of Zimmert & Seldin (JMLR 2021). Losses are iteration
counts, shifted by the least possible count 1 and divided by the running mean count minus 1, as
the paper's code does, so they are O(1) whatever the system size. Two loss estimators:
- ``reduced_variance=False``: the paper's code: importance-weighted ``(loss - 1) / p``, learning
  rate ``eta_t = 2 / sqrt(t)``;
- ``reduced_variance=True`` (default): Zimmert & Seldin's reduced-variance estimator, the loss
  taken relative to a baseline (here the running mean) before importance weighting, with their
  learning rate for it, ``eta_t = 4 / sqrt(t)``. Replayed on the iteration counts of 200 Darcy
  systems (2,812 unknowns, tol 1e-8, 20 seeds) it finished 8% above the best fixed omega in
  hindsight, against 27-29% for the paper's estimator (see the issue-16 report).
`BinnedTsallisINF` is the paper's contextual variant (Tsallis-INF-CB): the context interval is cut
into bins and each bin runs its own Tsallis-INF.

The grid: the paper's code uses ``floor((2 T)^(1/3))`` omegas in [1, 1.9] for T systems (the
discretisation that balances grid error against regret) and, for T = 5,000, 20 omegas in
[1, 1.95]; `omega_grid` gives ``floor((2 T)^(1/3))`` omegas in [1, 1.95] (7 for T = 200).
"""
from __future__ import annotations

import numpy as np

from ..errors import FEMError
from .sor import SSORCG, _OrderedSystem

#: the paper's action set for its 5,000-system runs: 20 omegas evenly spaced in [1, 1.95]
DEFAULT_OMEGAS = tuple(np.round(np.linspace(1.0, 1.95, 20), 10))


def omega_grid(horizon: int, low: float = 1.0, high: float = 1.95) -> np.ndarray:
    """``max(2, floor((2 T)^(1/3)))`` omegas evenly spaced in [low, high] for T = ``horizon``
    systems."""
    if not (isinstance(horizon, (int, np.integer)) and horizon >= 1):
        raise FEMError(f"horizon must be a positive integer, got {horizon!r}")
    return np.linspace(low, high, max(2, int(np.floor((2.0 * horizon) ** (1.0 / 3.0) + 1e-9))))


class TsallisINF:
    """1/2-Tsallis-INF over ``num_arms`` actions with losses >= 1 (iteration counts).

    Args:
        num_arms: number of actions.
        rng: numpy Generator (or seed) drawing the actions.
        reduced_variance: Zimmert & Seldin's reduced-variance estimator and learning rate
            (default), or the paper's code's importance weighting (see the module docstring).
    """

    def __init__(self, num_arms: int, rng=None, reduced_variance: bool = True):
        if not (isinstance(num_arms, (int, np.integer)) and num_arms >= 1):
            raise FEMError(f"num_arms must be a positive integer, got {num_arms!r}")
        self.num_arms = int(num_arms)
        self.rng = np.random.default_rng(rng)
        self.reduced_variance = bool(reduced_variance)
        self._estimates = np.zeros(self.num_arms)  # importance-weighted sums of shifted losses
        self._loss_sum = 0.0
        self.arms: list[int] = []
        self.losses: list[float] = []
        self._pending: tuple[int, float] | None = None

    def probabilities(self) -> np.ndarray:
        """(num_arms,) distribution the next action is drawn from: ``p_i = 4 / (eta (L_i - x))^2``
        with L the scaled loss estimates and x normalising the sum to 1 (Newton's method from
        below, as Zimmert & Seldin)."""
        t = len(self.losses) + 1
        eta = (4.0 if self.reduced_variance else 2.0) / np.sqrt(t)
        scale = max(self._loss_sum / len(self.losses) - 1.0, 1e-12) if self.losses else 1.0
        estimates = self._estimates / scale
        x = estimates.min() - 2.0 / eta  # the best arm alone has probability 1 here: sum >= 1
        for _ in range(100):
            p = 4.0 / (eta * (estimates - x)) ** 2
            excess = p.sum() - 1.0
            if abs(excess) < 1e-12:
                break
            x -= excess / (eta * np.sum(p ** 1.5))
        return p / p.sum()

    def choose(self) -> int:
        """Draw the next arm (and remember its probability for `update`)."""
        p = self.probabilities()
        arm = int(self.rng.choice(self.num_arms, p=p))
        self._pending = (arm, float(p[arm]))
        return arm

    def update(self, loss: float) -> None:
        """Report the loss (>= 1) of the arm drawn by the last `choose`."""
        if self._pending is None:
            raise FEMError("update() needs a choose() first")
        arm, probability = self._pending
        self._pending = None
        loss = float(loss)
        baseline = (self._loss_sum / len(self.losses) if self.losses else loss) if self.reduced_variance else 1.0
        self._estimates[arm] += (loss - baseline) / probability
        self._loss_sum += loss
        self.arms.append(arm)
        self.losses.append(loss)


class BinnedTsallisINF:
    """Contextual bandit: ``num_bins`` equal bins of the context interval ``[low, high]``, each
    with its own `TsallisINF` (contexts outside the interval go to the nearest bin)."""

    def __init__(self, num_arms: int, low: float, high: float, num_bins: int = 5, rng=None,
                 reduced_variance: bool = True):
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise FEMError(f"context interval must have low < high, got [{low}, {high}]")
        rng = np.random.default_rng(rng)
        self.low, self.high = float(low), float(high)
        self.bins = [TsallisINF(num_arms, rng, reduced_variance) for _ in range(int(num_bins))]
        self._bin: int | None = None

    def bin_of(self, context: float) -> int:
        position = (float(context) - self.low) / (self.high - self.low) * len(self.bins)
        return int(np.clip(np.floor(position), 0, len(self.bins) - 1))

    def choose(self, context: float) -> int:
        self._bin = self.bin_of(context)
        return self.bins[self._bin].choose()

    def update(self, loss: float) -> None:
        if self._bin is None:
            raise FEMError("update() needs a choose() first")
        self.bins[self._bin].update(loss)
        self._bin = None


class BanditSOR(SSORCG):
    """SSOR-preconditioned CG whose omega is drawn for each system by Tsallis-INF (or by its
    contextual variant when ``context_range`` is given: pass ``context=`` to every `solve`).

    Args:
        omegas: the actions, relaxation factors in (0, 2); default `omega_grid` of ``horizon``,
            or the paper's 20 in [1, 1.95] when no horizon is given.
        horizon: expected number of systems T (sets the default grid).
        tol: relative residual of every solution.
        seed: seed of the bandit's draws (the same seed and systems give the same choices).
        context_range: (low, high) of the context for the contextual variant, or None.
        num_bins: bins of the context interval.
        reduced_variance: the loss estimator (see `TsallisINF`).
        maxiter: CG iterations allowed per solve.
        backend: ``"auto"``, ``"numba"`` or ``"scipy"`` (see `meshsim.fem.sequence.backends`).

    ``records[i].omega`` is the omega used for system i and ``iterations`` its loss;
    `regret` turns them into a regret curve against a comparator.
    """

    def __init__(self, omegas=None, horizon: int | None = None, tol: float = 1e-10, seed=None,
                 context_range: tuple[float, float] | None = None, num_bins: int = 5,
                 reduced_variance: bool = True, maxiter: int = 10_000, backend: str = "auto"):
        super().__init__(omega=1.0, tol=tol, maxiter=maxiter, backend=backend)
        if omegas is None:
            omegas = DEFAULT_OMEGAS if horizon is None else omega_grid(horizon)
        self.omegas = np.asarray(omegas, dtype=np.float64)
        if self.omegas.ndim != 1 or len(self.omegas) == 0 or not ((self.omegas > 0) & (self.omegas < 2)).all():
            raise FEMError(f"omegas must be a non-empty list of values in (0, 2), got {omegas!r}")
        self.contextual = context_range is not None
        self.learner = (BinnedTsallisINF(len(self.omegas), *context_range, num_bins=num_bins, rng=seed,
                                         reduced_variance=reduced_variance)
                        if self.contextual else TsallisINF(len(self.omegas), seed, reduced_variance))

    def _solve(self, system, b, x0, context, new_matrix):
        if self.contextual and context is None:
            raise FEMError("this BanditSOR is contextual: pass context= to solve()")
        if new_matrix or self._ordered is None:
            self._ordered = _OrderedSystem(system, self._ordered, self.backend)
        arm = self.learner.choose(context) if self.contextual else self.learner.choose()
        omega = float(self.omegas[arm])
        x, iterations = self._ordered.solve(b, x0, omega, self.tol, self.maxiter)
        self.learner.update(max(iterations, 1))
        return x, iterations, iterations + (x0 is not None), omega


def regret(costs: np.ndarray, comparator_costs: np.ndarray) -> np.ndarray:
    """(T,) cumulative regret ``sum_{s<=t} (costs_s - comparator_s)`` of a sequence of solve
    costs (T,) against a comparator's costs on the same systems (e.g. the best fixed omega in
    hindsight)."""
    costs, comparator_costs = np.asarray(costs, dtype=np.float64), np.asarray(comparator_costs, dtype=np.float64)
    if costs.shape != comparator_costs.shape or costs.ndim != 1:
        raise FEMError(f"costs and comparator costs must be 1D of equal length, got {costs.shape} "
                       f"and {comparator_costs.shape}")
    return np.cumsum(costs - comparator_costs)


def best_fixed_in_hindsight(cost_table: np.ndarray) -> tuple[int, np.ndarray]:
    """Best fixed action in hindsight from costs (T, num_arms) of every action on every system:
    the arm with the smallest total cost, and that arm's costs (T,)."""
    cost_table = np.asarray(cost_table, dtype=np.float64)
    if cost_table.ndim != 2:
        raise FEMError(f"cost table must be (T, num_arms), got shape {cost_table.shape}")
    arm = int(np.argmin(cost_table.sum(axis=0)))
    return arm, cost_table[:, arm]
