"""The DFG flow-around-a-cylinder benchmarks (Schafer & Turek 1996) on `channel_with_cylinder`.

Channel [0, 2.2] x [0, 0.41] m, cylinder of diameter D = 0.1 m at (0.2, 0.2), nu = 1e-3 m^2/s,
rho = 1 kg/m^3, inflow U(y) = 4 U_m y (H - y) / H^2 on ``"inlet"``, no slip on ``"walls"`` and
``"cylinder"``, do-nothing on ``"outlet"``. Coefficients use the mean inflow U = 2 U_m / 3:
c_D = 2 F_x / (rho U^2 D), c_L = 2 F_y / (rho U^2 D), St = D f / U.

- 2D-1: U_m = 0.3 (Re = 20), steady; reference c_D = 5.5795, c_L = 0.010618.
- 2D-2: U_m = 1.5 (Re = 100), periodic vortex shedding; published intervals St 0.295-0.305,
  c_D,max 3.22-3.24, c_L,max 0.99-1.01.

The 2D-2 run starts from the steady Stokes flow; no perturbation is needed: the cylinder sits
0.005 m below the channel's centre line and that asymmetry starts the shedding, which is
periodic from t ~ 4 s on (maxima over [4, 5] s within 0.1% of those over [6, 7] s). Maxima and the period are measured over ``[measure_from, t_end]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh import Mesh
from .errors import FEMError
from .navier_stokes import NavierStokesResult, SteadyFlow, navier_stokes, steady_navier_stokes

HEIGHT = 0.41
DIAMETER = 0.1
VISCOSITY = 1e-3
#: published reference values: 2D-1 (Schafer & Turek 1996 and the refined values of John 2004)
REFERENCE_2D1 = {"cd": 5.5795, "cl": 0.010618}
#: published intervals of the 2D-2 benchmark (Schafer & Turek 1996)
REFERENCE_2D2 = {"st": (0.295, 0.305), "cd_max": (3.22, 3.24), "cl_max": (0.99, 1.01)}


def parabolic_inflow(u_max: float, height: float = HEIGHT):
    """Inflow profile f(x, t) -> (2, n): u = 4 u_max y (height - y) / height^2, v = 0."""

    def inflow(x: np.ndarray, t: float) -> np.ndarray:
        return np.stack([4.0 * u_max * x[1] * (height - x[1]) / height ** 2, np.zeros_like(x[1])])

    return inflow


def force_coefficients(force: np.ndarray, u_mean: float, diameter: float = DIAMETER,
                       rho: float = 1.0) -> np.ndarray:
    """(..., 2) drag and lift coefficients 2 F / (rho U^2 D) of forces (..., 2) (N per unit depth)."""
    return 2.0 * np.asarray(force) / (rho * u_mean ** 2 * diameter)


def peak_value(values: np.ndarray) -> float:
    """Maximum of a sampled smooth signal (S,), refined by the parabola through the largest
    sample and its neighbours (the sampling error of a sine's peak drops from O(dt^2) to O(dt^3))."""
    i = int(np.argmax(values))
    if i == 0 or i == len(values) - 1:
        return float(values[i])
    left, mid, right = values[i - 1], values[i], values[i + 1]
    curvature = left - 2.0 * mid + right
    return float(mid - (right - left) ** 2 / (8.0 * curvature)) if curvature < 0 else float(mid)


def oscillation_period(times: np.ndarray, signal: np.ndarray) -> float:
    """Mean period (s) of a periodic signal from its upward crossings of its mean, located by
    linear interpolation between samples. Raises `FEMError` with fewer than two full periods."""
    y = signal - signal.mean()
    i = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    if len(i) < 3:
        raise FEMError(f"the signal crosses its mean upwards {len(i)} times in [{times[0]:.3g}, "
                       f"{times[-1]:.3g}] s; need 3 (two full periods) to measure a frequency")
    crossings = times[i] - y[i] * (times[i + 1] - times[i]) / (y[i + 1] - y[i])
    return float((crossings[-1] - crossings[0]) / (len(crossings) - 1))


@dataclass(frozen=True)
class DFGPeriodicResult:
    """Result of DFG 2D-2.

    Attributes:
        st: Strouhal number D / (U T) from the lift period T.
        cd_max, cl_max: maximal drag and lift coefficients over the measuring window.
        times: (S,) time of every step (s).
        drag, lift: (S,) drag and lift coefficients at every step.
        flow: the Navier-Stokes trajectory (velocity, pressure at the vertices).
        mesh: the mesh it ran on.
    """

    st: float
    cd_max: float
    cl_max: float
    times: np.ndarray
    drag: np.ndarray
    lift: np.ndarray
    flow: NavierStokesResult
    mesh: Mesh


@dataclass(frozen=True)
class DFGSteadyResult:
    """Result of DFG 2D-1: drag and lift coefficients, the steady flow and its mesh."""

    cd: float
    cl: float
    flow: SteadyFlow
    mesh: Mesh


def _channel(h: float, h_cylinder: float | None, mesh: Mesh | None) -> Mesh:
    if mesh is not None:
        return mesh
    from ..mesh.generators import channel_with_cylinder

    return channel_with_cylinder(h=h, h_cylinder=h_cylinder)


def dfg_2d1(h: float = 0.04, h_cylinder: float | None = 0.01, mesh: Mesh | None = None,
            tol: float = 1e-10) -> DFGSteadyResult:
    """DFG 2D-1 (Re = 20, steady) on ``channel_with_cylinder(h=h, h_cylinder=h_cylinder)``, or
    on ``mesh`` (with the boundaries inlet, outlet, walls, cylinder) when given."""
    mesh = _channel(h, h_cylinder, mesh)
    u_max = 0.3
    flow = steady_navier_stokes(mesh, VISCOSITY, inflow={"inlet": parabolic_inflow(u_max)},
                                no_slip=("walls", "cylinder"), force_on="cylinder", tol=tol)
    cd, cl = force_coefficients(flow.force, 2.0 * u_max / 3.0)
    return DFGSteadyResult(float(cd), float(cl), flow, mesh)


def dfg_2d2(h: float = 0.04, h_cylinder: float | None = 0.01, dt: float = 0.005, t_end: float = 6.0,
            measure_from: float = 4.0, mesh: Mesh | None = None, save_every: int = 10) -> DFGPeriodicResult:
    """DFG 2D-2 (Re = 100, vortex shedding): runs `navier_stokes` from the Stokes flow to
    ``t_end`` and measures St, c_D,max and c_L,max over ``[measure_from, t_end]``.

    Args:
        h, h_cylinder: mesh sizes of ``channel_with_cylinder`` (m), used when ``mesh`` is None.
        dt: time step (s); t_end: final time (s).
        measure_from: start of the measuring window (s); the flow must be periodic by then.
        mesh: a channel mesh with the boundaries inlet, outlet, walls, cylinder.
        save_every: keep every this many steps of the velocity/pressure trajectory.
    """
    if not 0 <= measure_from < t_end:
        raise FEMError(f"need 0 <= measure_from < t_end, got measure_from={measure_from}, t_end={t_end}")
    mesh = _channel(h, h_cylinder, mesh)
    u_max = 1.5
    flow = navier_stokes(mesh, VISCOSITY, dt=dt, t_end=t_end, inflow={"inlet": parabolic_inflow(u_max)},
                         no_slip=("walls", "cylinder"), force_on="cylinder", save_every=save_every)
    u_mean = 2.0 * u_max / 3.0
    drag, lift = force_coefficients(flow.force, u_mean).T
    window = flow.step_times >= measure_from
    period = oscillation_period(flow.step_times[window], lift[window])
    return DFGPeriodicResult(st=DIAMETER / (u_mean * period), cd_max=peak_value(drag[window]),
                             cl_max=peak_value(lift[window]), times=flow.step_times, drag=drag,
                             lift=lift, flow=flow, mesh=mesh)
