"""The DFG flow-around-a-cylinder benchmarks (Schafer & Turek 1996) on `channel_with_cylinder`.

Channel [0, 2.2] x [0, 0.41] m, cylinder of diameter D = 0.1 m at (0.2, 0.2), nu = 1e-3 m^2/s,
rho = 1 kg/m^3, inflow U(y) = 4 U_m y (H - y) / H^2 on ``"inlet"``, no slip on ``"walls"`` and
``"cylinder"``, do-nothing on ``"outlet"``. Coefficients use the mean inflow U = 2 U_m / 3:
c_D = 2 F_x / (rho U^2 D), c_L = 2 F_y / (rho U^2 D), St = D f / U; Delta p = p(0.15, 0.2) -
p(0.25, 0.2), the pressure difference between the cylinder's front and back points.

- 2D-1: U_m = 0.3 (Re = 20), steady; refined reference values (John & Matthies 2001, "Higher-order
  finite element discretizations in a benchmark problem for incompressible flows", Int. J. Numer.
  Meth. Fluids 37) c_D = 5.57953523384, c_L = 0.010618948146, Delta p = 0.11752016697.
- 2D-2: U_m = 1.5 (Re = 100), periodic vortex shedding; published intervals (Schafer & Turek 1996)
  St 0.295-0.305, c_D,max 3.22-3.24, c_L,max 0.99-1.01, Delta p 2.46-2.50, with Delta p taken at
  t0 + 1/(2f), t0 a time of maximal lift.

Forces come from the momentum residual (the volume formula, see `navier_stokes`) and the cylinder
is curved by default: isoparametric P2 geometry (`fem.curved`), which removes the polygon's
O(h^2) geometry error (2D-1 c_D on 690 points: -0.04% instead of -0.6%). Delta p is the P1
pressure interpolated along the cylinder's boundary edges at the two points (`fem.probes`).

The 2D-2 run starts from the steady Stokes flow; no perturbation is needed: the cylinder sits
0.005 m below the channel's centre line and that asymmetry starts the shedding, which is
periodic from t ~ 4 s on. Maxima, the period and Delta p are measured over
``[measure_from, t_end]``; maxima are refined by the parabola through the largest sample and its
neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh import Mesh
from .curved import circle
from .errors import FEMError
from .navier_stokes import NavierStokesResult, SteadyFlow, navier_stokes, steady_navier_stokes
from .probes import p1_probe_matrix

HEIGHT = 0.41
DIAMETER = 0.1
CENTER = (0.2, 0.2)
VISCOSITY = 1e-3
#: the two points on the cylinder whose pressure difference Delta p = p(front) - p(back) is reported
PRESSURE_POINTS = np.array([[0.15, 0.2], [0.25, 0.2]])
#: 2D-1 reference values (the refined values of John & Matthies 2001, also on the FEATFLOW page)
REFERENCE_2D1 = {"cd": 5.57953523384, "cl": 0.010618948146, "dp": 0.11752016697}
#: published intervals of the 2D-2 benchmark (Schafer & Turek 1996)
REFERENCE_2D2 = {"st": (0.295, 0.305), "cd_max": (3.22, 3.24), "cl_max": (0.99, 1.01), "dp": (2.46, 2.50)}


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


def lift_maxima(times: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Times (s) of the local maxima of a sampled signal, each refined by the parabola through
    the sample and its neighbours (interior samples only)."""
    i = 1 + np.flatnonzero((lift[1:-1] > lift[:-2]) & (lift[1:-1] >= lift[2:]))
    left, mid, right = lift[i - 1], lift[i], lift[i + 1]
    curvature = left - 2.0 * mid + right
    shift = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
    return times[i] + shift * (times[i + 1] - times[i])


def pressure_difference_at_half_period(times: np.ndarray, lift: np.ndarray, dp: np.ndarray,
                                       period: float) -> float:
    """Delta p at t0 + T/2 (the 2D-2 definition), t0 the last lift maximum for which t0 + T/2 is
    still sampled; ``dp`` (S,) is interpolated linearly between samples. Raises `FEMError` if no
    lift maximum is followed by half a period of samples."""
    peaks = lift_maxima(times, lift)
    usable = peaks[peaks + 0.5 * period <= times[-1]]
    if not len(usable):
        raise FEMError(f"no lift maximum in [{times[0]:.3g}, {times[-1]:.3g}] s is followed by half a "
                       f"period ({0.5 * period:.3g} s) of samples; measure over a longer window")
    return float(np.interp(usable[-1] + 0.5 * period, times, dp))


@dataclass(frozen=True)
class DFGPeriodicResult:
    """Result of DFG 2D-2.

    Attributes:
        st: Strouhal number D / (U T) from the lift period T.
        cd_max, cl_max: maximal drag and lift coefficients over the measuring window.
        dp: pressure difference p(0.15, 0.2) - p(0.25, 0.2) (Pa) half a period after the last
            lift maximum of the window whose half period is inside it.
        times: (S,) time of every step (s).
        drag, lift: (S,) drag and lift coefficients at every step.
        pressure_difference: (S,) p(0.15, 0.2) - p(0.25, 0.2) at every step (Pa).
        flow: the Navier-Stokes trajectory (velocity, pressure at the vertices).
        mesh: the mesh it ran on.
    """

    st: float
    cd_max: float
    cl_max: float
    dp: float
    times: np.ndarray
    drag: np.ndarray
    lift: np.ndarray
    pressure_difference: np.ndarray
    flow: NavierStokesResult
    mesh: Mesh


@dataclass(frozen=True)
class DFGSteadyResult:
    """Result of DFG 2D-1: drag and lift coefficients, the pressure difference
    p(0.15, 0.2) - p(0.25, 0.2) (Pa), the steady flow and its mesh."""

    cd: float
    cl: float
    dp: float
    flow: SteadyFlow
    mesh: Mesh


def _channel(h: float, h_cylinder: float | None, mesh: Mesh | None) -> Mesh:
    if mesh is not None:
        return mesh
    from ..mesh.generators import channel_with_cylinder

    return channel_with_cylinder(h=h, h_cylinder=h_cylinder)


def _curved(curved: bool) -> dict:
    return {"cylinder": circle(CENTER, DIAMETER / 2)} if curved else {}


def dfg_2d1(h: float = 0.04, h_cylinder: float | None = 0.01, mesh: Mesh | None = None,
            tol: float = 1e-10, curved: bool = True) -> DFGSteadyResult:
    """DFG 2D-1 (Re = 20, steady) on ``channel_with_cylinder(h=h, h_cylinder=h_cylinder)``, or
    on ``mesh`` (with the boundaries inlet, outlet, walls, cylinder) when given; ``curved``:
    isoparametric P2 geometry on the cylinder (else its polygon)."""
    mesh = _channel(h, h_cylinder, mesh)
    u_max = 0.3
    flow = steady_navier_stokes(mesh, VISCOSITY, inflow={"inlet": parabolic_inflow(u_max)},
                                no_slip=("walls", "cylinder"), force_on="cylinder", tol=tol,
                                curved=_curved(curved))
    cd, cl = force_coefficients(flow.force, 2.0 * u_max / 3.0)
    front, back = p1_probe_matrix(mesh, PRESSURE_POINTS) @ flow.pressure
    return DFGSteadyResult(float(cd), float(cl), float(front - back), flow, mesh)


def dfg_2d2(h: float = 0.02, h_cylinder: float | None = 0.005, dt: float = 0.0025, t_end: float = 6.0,
            measure_from: float = 4.0, mesh: Mesh | None = None, save_every: int = 20,
            curved: bool = True) -> DFGPeriodicResult:
    """DFG 2D-2 (Re = 100, vortex shedding): runs `navier_stokes` from the Stokes flow to
    ``t_end`` and measures St, c_D,max, c_L,max and Delta p over ``[measure_from, t_end]``.

    The defaults (3,873 points, dt 0.0025, window [4, 6] s) give St, c_D,max, c_L,max and Delta p
    inside the 1996 intervals; see ``tools/verify_fem.py --full`` for the convergence in h and dt.

    Args:
        h, h_cylinder: mesh sizes of ``channel_with_cylinder`` (m), used when ``mesh`` is None.
        dt: time step (s); t_end: final time (s).
        measure_from: start of the measuring window (s); the flow must be periodic by then.
        mesh: a channel mesh with the boundaries inlet, outlet, walls, cylinder.
        save_every: keep every this many steps of the velocity/pressure trajectory.
        curved: isoparametric P2 geometry on the cylinder (else its polygon).
    """
    if not 0 <= measure_from < t_end:
        raise FEMError(f"need 0 <= measure_from < t_end, got measure_from={measure_from}, t_end={t_end}")
    mesh = _channel(h, h_cylinder, mesh)
    u_max = 1.5
    flow = navier_stokes(mesh, VISCOSITY, dt=dt, t_end=t_end, inflow={"inlet": parabolic_inflow(u_max)},
                         no_slip=("walls", "cylinder"), force_on="cylinder", save_every=save_every,
                         curved=_curved(curved), pressure_probes=PRESSURE_POINTS)
    u_mean = 2.0 * u_max / 3.0
    drag, lift = force_coefficients(flow.force, u_mean).T
    dp = flow.probe_pressure[:, 0] - flow.probe_pressure[:, 1]
    window = flow.step_times >= measure_from
    times = flow.step_times[window]
    period = oscillation_period(times, lift[window])
    return DFGPeriodicResult(st=DIAMETER / (u_mean * period), cd_max=peak_value(drag[window]),
                             cl_max=peak_value(lift[window]),
                             dp=pressure_difference_at_half_period(times, lift[window], dp[window], period),
                             times=flow.step_times, drag=drag, lift=lift, pressure_difference=dp,
                             flow=flow, mesh=mesh)
