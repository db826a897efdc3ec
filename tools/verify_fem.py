"""Verify meshsim.fem against exact solutions at full size (the tests run small versions).

    python tools/verify_fem.py

Each check is a function returning a dict of results; `CHECKS` lists them and the script prints
their merged dict as one JSON object on the last line. Keys:

- poisson_p1_l2_rate, poisson_p1_h1_rate, poisson_p2_l2_rate: convergence rates (least-squares
  slope of log error vs log h) of -lap u = f with u = exp(x + y/2 [+ z/3]), Dirichlet data,
  the smaller of the 2D (triangles) and 3D (tetrahedra) rates; ``*_2d`` / ``*_3d`` give each.
- heat_euler_order, heat_cn_order: temporal orders of implicit Euler and Crank-Nicolson for
  u = exp(-2 pi^2 t) sin(pi x) sin(pi y), P2 on h = 1/32, dt halved three times.
- advection_gaussian_l2_rate: convergence rate of a translating, spreading Gaussian (P1 SUPG,
  Crank-Nicolson, dt ~ h); swirl_return_max_error: max |u(T) - u(0)| of the swirl test (the
  cone must come back); supg_min, galerkin_min: minimum of a steady boundary-layer solution
  (eps = 1e-5, u in [0, 1]) with and without SUPG.
- elasticity_rel_error: relative L2 displacement error of the Lame thick-walled cylinder
  (internal pressure, plane strain, quarter annulus with symmetry conditions), P2 on a
  32 x 64 polar mesh; ``elasticity_rel_error_p1``: P1 on 64 x 128; ``elasticity_von_mises_rel_error``:
  max nodal von Mises error (P2) relative to the maximum.
- dfg_st, dfg_cd_max, dfg_cl_max, dfg_dp, dfg_runtime_s: DFG 2D-2 (Re = 100) with `dfg_2d2` defaults
  (curved cylinder, volume-formula forces, h = 0.02, 0.005 on the cylinder (3,873 points),
  dt = 0.0025, t in [0, 6] s, measured over [4, 6] s) and its wall-clock time; dfg_2d1_cd,
  dfg_2d1_cl, dfg_2d1_dp: DFG 2D-1 (Re = 20, steady) on h = 0.02, 0.005.
- with ``--full``, dfg_table: DFG 2D-2 on 3 meshes x 2 time steps and the dt -> 0 extrapolation of
  each mesh (St, c_D,max, c_L,max, dp, points, runtime), printed beside the 1996 intervals.

    python tools/verify_fem.py                  # all checks, a few minutes
    python tools/verify_fem.py --full           # + the DFG 2D-2 convergence table (about an hour idle)
    python tools/verify_fem.py --checks dfg     # one check
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import skfem

from meshsim.fem import (advection_diffusion, gaussian_cone, heat, poisson, steady_advection_diffusion,
                         swirl_velocity, translating_gaussian)
from meshsim.fem import dfg_2d1, dfg_2d2, linear_elasticity
from meshsim.fem.dfg import REFERENCE_2D1, REFERENCE_2D2
from meshsim.mesh import Mesh

EXPONENTS = np.array([1.0, 0.5, 1.0 / 3.0])


def _exact(x):
    return np.exp(np.tensordot(EXPONENTS[: len(x)], x, axes=1))


def _exact_grad(x):
    return EXPONENTS[: len(x)].reshape((-1,) + (1,) * (x.ndim - 1)) * _exact(x)


def _source(x):
    return -(EXPONENTS[: len(x)] ** 2).sum() * _exact(x)


def _square(level: int) -> Mesh:
    return Mesh.from_skfem(skfem.MeshTri1().refined(level).with_defaults())


def _cube(level: int) -> Mesh:
    return Mesh.from_skfem(skfem.MeshTet1().refined(level).with_defaults())


def _slope(sizes, errors) -> float:
    """Least-squares slope of log(error) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(errors), 1)[0])


def _poisson_rates(make: Callable[[int], Mesh], levels, order: int) -> tuple[float, float]:
    l2, h1, sizes = [], [], []
    for level in levels:
        mesh = make(level)
        u = poisson(mesh, 1.0, _source, dirichlet={name: _exact for name in mesh.boundary}, order=order)
        l2.append(u.l2_error(_exact))
        h1.append(u.h1_error(_exact_grad))
        sizes.append(2.0 ** -level)
        print(f"  P{order} {mesh.dim}D level {level}: {u.space.num_dofs} dofs, L2 {l2[-1]:.3e}, H1 {h1[-1]:.3e}")
    return _slope(sizes, l2), _slope(sizes, h1)


def check_poisson() -> dict:
    p1_2d = _poisson_rates(_square, range(3, 9), 1)
    p1_3d = _poisson_rates(_cube, range(1, 6), 1)
    p2_2d = _poisson_rates(_square, range(2, 7), 2)
    p2_3d = _poisson_rates(_cube, range(1, 5), 2)
    return {
        "poisson_p1_l2_rate": min(p1_2d[0], p1_3d[0]), "poisson_p1_h1_rate": min(p1_2d[1], p1_3d[1]),
        "poisson_p2_l2_rate": min(p2_2d[0], p2_3d[0]),
        "poisson_p1_l2_rate_2d": p1_2d[0], "poisson_p1_l2_rate_3d": p1_3d[0],
        "poisson_p1_h1_rate_2d": p1_2d[1], "poisson_p1_h1_rate_3d": p1_3d[1],
        "poisson_p2_l2_rate_2d": p2_2d[0], "poisson_p2_l2_rate_3d": p2_3d[0],
    }


def _decaying_mode(x, t):
    return np.exp(-2.0 * np.pi ** 2 * t) * np.sin(np.pi * x[0]) * np.sin(np.pi * x[1])


def _heat_order(space_mesh: Mesh, theta: float, step_counts, final_time: float = 0.1) -> float:
    walls = {name: 0.0 for name in space_mesh.boundary}
    errors = []
    for steps in step_counts:
        trajectory = heat(space_mesh, lambda x: _decaying_mode(x, 0.0), final_time / steps, steps,
                          dirichlet=walls, theta=theta, order=2)
        errors.append(trajectory[-1].l2_error(lambda x: _decaying_mode(x, final_time)))
        print(f"  theta {theta}: {steps} steps, L2 error {errors[-1]:.3e}")
    return _slope(final_time / np.array(step_counts), errors)


def check_heat() -> dict:
    mesh = _square(5)
    return {"heat_euler_order": _heat_order(mesh, 1.0, (10, 20, 40, 80)),
            "heat_cn_order": _heat_order(mesh, 0.5, (5, 10, 20, 40))}


_B, _EPS, _WIDTH, _START = np.array([0.5, 0.25]), 1e-3, 0.05, np.array([0.3, 0.3])


def _gaussian_at(x, t):
    return translating_gaussian(x, t, _B, _EPS, _START, _WIDTH)


def check_advection_diffusion() -> dict:
    final_time, errors, sizes = 0.5, [], []
    for level in (5, 6, 7):
        mesh = _square(level)
        steps = 2 ** (level - 1)
        trajectory = advection_diffusion(mesh, lambda x: _gaussian_at(x, 0.0), _B, _EPS,
                                         final_time / steps, steps, dirichlet={"left": 0.0, "bottom": 0.0})
        errors.append(trajectory[-1].l2_error(lambda x: _gaussian_at(x, final_time)))
        sizes.append(2.0 ** -level)
        print(f"  translating Gaussian level {level}: L2 error {errors[-1]:.3e}")
    mesh = _square(6)
    cone = gaussian_cone(mesh.points.T, center=(0.5, 0.75), width=0.1)
    swirl = advection_diffusion(mesh, cone, swirl_velocity, 1e-6, 1.0 / 100, 100, velocity_depends_on_time=True)
    walls = {name: 0.0 for name in mesh.boundary}
    layer = dict(velocity=np.array([1.0, 0.5]), eps=1e-5, f=1.0, dirichlet=walls)
    return {
        "advection_gaussian_l2_rate": _slope(sizes, errors),
        "swirl_return_max_error": float(np.abs(swirl.values[-1] - cone).max()),
        "supg_min": float(steady_advection_diffusion(mesh, **layer).values.min()),
        "galerkin_min": float(steady_advection_diffusion(mesh, supg=False, **layer).values.min()),
    }


_INNER, _OUTER, _PRESSURE, _YOUNG, _POISSON = 1.0, 2.0, 1.0, 1000.0, 0.3


def _quarter_annulus(n: int) -> Mesh:
    """Polar mesh of _INNER <= r <= _OUTER, 0 <= theta <= pi/2 (n x 2n cells); boundaries
    inner, outer, bottom (y = 0), left (x = 0)."""
    polar = skfem.MeshTri1.init_tensor(np.linspace(_INNER, _OUTER, n + 1), np.linspace(0, np.pi / 2, 2 * n + 1))
    polar = polar.with_boundaries({
        "inner": lambda x: np.isclose(x[0], _INNER), "outer": lambda x: np.isclose(x[0], _OUTER),
        "bottom": lambda x: np.isclose(x[1], 0), "left": lambda x: np.isclose(x[1], np.pi / 2)})
    r, theta = polar.p
    return Mesh.from_skfem(dataclasses.replace(polar, doflocs=np.stack([r * np.cos(theta), r * np.sin(theta)])))


def _lame_displacement(x):
    r = np.hypot(x[0], x[1])
    u_r = ((1 + _POISSON) * _INNER ** 2 * _PRESSURE / (_YOUNG * (_OUTER ** 2 - _INNER ** 2))
           * ((1 - 2 * _POISSON) * r + _OUTER ** 2 / r))
    return np.stack([u_r * x[0] / r, u_r * x[1] / r])


def _lame_von_mises(points):
    r = np.hypot(points[:, 0], points[:, 1])
    c = _PRESSURE * _INNER ** 2 / (_OUTER ** 2 - _INNER ** 2)
    s_rr, s_tt = c * (1 - _OUTER ** 2 / r ** 2), c * (1 + _OUTER ** 2 / r ** 2)
    s_zz = _POISSON * (s_rr + s_tt)
    return np.sqrt(0.5 * ((s_rr - s_tt) ** 2 + (s_tt - s_zz) ** 2 + (s_zz - s_rr) ** 2))


def _lame_errors(n: int, order: int) -> tuple[float, float]:
    """Relative L2 displacement error and max nodal von Mises error / max von Mises."""
    mesh = _quarter_annulus(n)
    solution = linear_elasticity(mesh, _YOUNG, _POISSON, order=order,
                                 dirichlet={("bottom", 1): 0.0, ("left", 0): 0.0},
                                 traction={"inner": lambda x: _PRESSURE * x / np.hypot(x[0], x[1])})
    basis = solution.displacement.space.basis
    u = np.asarray(basis.interpolate(solution.displacement.dofs))
    exact = _lame_displacement(np.asarray(basis.global_coordinates()))
    l2 = np.sqrt((((u - exact) ** 2).sum(0) * basis.dx).sum() / ((exact ** 2).sum(0) * basis.dx).sum())
    von_mises = _lame_von_mises(mesh.points)
    print(f"  Lame cylinder P{order}, {mesh.num_points} points: relative L2 error {l2:.3e}")
    return float(l2), float(np.abs(solution.von_mises - von_mises).max() / von_mises.max())


def check_elasticity() -> dict:
    p2, von_mises = _lame_errors(32, order=2)
    p1, _ = _lame_errors(64, order=1)
    return {"elasticity_rel_error": p2, "elasticity_rel_error_p1": p1,
            "elasticity_von_mises_rel_error": von_mises}


#: (h, h_cylinder) of the default DFG 2D-2 run and of the --full convergence table, and the table's time steps
DFG_DEFAULT_MESH = (0.02, 0.005)
DFG_TABLE_MESHES = ((0.04, 0.01), (0.02, 0.005), (0.01, 0.0025))
DFG_TABLE_STEPS = (0.0025, 0.00125)
DFG_QUANTITIES = ("st", "cd_max", "cl_max", "dp")


def _dfg_run(h: float, h_cylinder: float, dt: float, series: Path | None = None) -> dict:
    start = time.perf_counter()
    result = dfg_2d2(h=h, h_cylinder=h_cylinder, dt=dt)
    if series is not None:
        series.mkdir(parents=True, exist_ok=True)
        np.savez(series / f"dfg_2d2_h{h:g}_dt{dt:g}.npz", times=result.times, drag=result.drag, lift=result.lift,
                 pressure_difference=result.pressure_difference)
    row = {"h": h, "h_cylinder": h_cylinder, "points": result.mesh.num_points, "dt": dt,
           **{q: getattr(result, q) for q in DFG_QUANTITIES}, "runtime_s": time.perf_counter() - start,
           "factorisations": result.flow.factorisations}
    print(f"  {row['points']:>6} points  dt {dt:<8g} St {row['st']:.4f}  c_D,max {row['cd_max']:.4f}  "
          f"c_L,max {row['cl_max']:.4f}  dp {row['dp']:.4f}  ({row['runtime_s']:.0f} s, "
          f"{row['factorisations']} LU)", flush=True)
    return row


def _inside(value: float, interval: tuple) -> str:
    return "in" if interval[0] <= value <= interval[1] else "OUT"


def dfg_convergence_table(series: Path | None = None) -> list[dict]:
    """DFG 2D-2 on `DFG_TABLE_MESHES` x `DFG_TABLE_STEPS`, plus per mesh the dt -> 0 value by
    Richardson extrapolation of the two steps (BDF2 is second order: q0 = q(dt/2) + (q(dt/2) - q(dt)) / 3)."""
    rows = []
    for h, h_cylinder in DFG_TABLE_MESHES:
        coarse, fine = (_dfg_run(h, h_cylinder, dt, series) for dt in DFG_TABLE_STEPS)
        limit = {**fine, "dt": 0.0, "runtime_s": None, "factorisations": None,
                 **{q: fine[q] + (fine[q] - coarse[q]) / 3.0 for q in DFG_QUANTITIES}}
        rows += [coarse, fine, limit]
    print(f"\n  {'points':>6} {'dt':>8} {'St':>8} {'c_D,max':>8} {'c_L,max':>8} {'dp':>8}")
    for row in rows:
        dt = "->0" if row["dt"] == 0 else f"{row['dt']:g}"
        print(f"  {row['points']:>6} {dt:>8} " + " ".join(
            f"{row[q]:>8.4f}" for q in DFG_QUANTITIES) + "   " + " ".join(
            _inside(row[q], REFERENCE_2D2[q]) for q in DFG_QUANTITIES))
    print(f"  {'1996 intervals':>15}  " + "  ".join(f"{q} {lo}-{hi}" for q, (lo, hi) in REFERENCE_2D2.items()))
    return rows


def check_dfg(full: bool = False, series: Path | None = None) -> dict:
    steady = dfg_2d1(h=0.02, h_cylinder=0.005)
    print(f"  DFG 2D-1 on {steady.mesh.num_points} points: c_D {steady.cd:.5f}, c_L {steady.cl:.6f}, "
          f"dp {steady.dp:.5f} (refined {REFERENCE_2D1['cd']}, {REFERENCE_2D1['cl']}, {REFERENCE_2D1['dp']})")
    start = time.perf_counter()
    periodic = dfg_2d2(h=DFG_DEFAULT_MESH[0], h_cylinder=DFG_DEFAULT_MESH[1])
    runtime = time.perf_counter() - start
    print(f"  DFG 2D-2 on {periodic.mesh.num_points} points, {len(periodic.times)} steps, "
          f"{periodic.flow.factorisations} LU factorisations: St {periodic.st:.4f}, "
          f"c_D,max {periodic.cd_max:.4f}, c_L,max {periodic.cl_max:.4f}, dp {periodic.dp:.4f} in {runtime:.1f} s")
    results = {"dfg_st": periodic.st, "dfg_cd_max": periodic.cd_max, "dfg_cl_max": periodic.cl_max,
               "dfg_dp": periodic.dp, "dfg_runtime_s": runtime, "dfg_2d1_cd": steady.cd,
               "dfg_2d1_cl": steady.cl, "dfg_2d1_dp": steady.dp}
    if full:
        results["dfg_table"] = dfg_convergence_table(series)
    return results


CHECKS: dict[str, Callable[..., dict]] = {
    "poisson": check_poisson, "heat": check_heat, "advection_diffusion": check_advection_diffusion,
    "elasticity": check_elasticity, "dfg": check_dfg}


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="add the DFG 2D-2 convergence table (3 meshes x 2 time steps, about an hour)")
    parser.add_argument("--series", type=Path, help="write each table run's drag, lift and dp series (.npz) here")
    parser.add_argument("--checks", default=",".join(CHECKS),
                        help=f"comma-separated checks to run (default: all of {', '.join(CHECKS)})")
    args = parser.parse_args(argv)
    names = [n for n in args.checks.split(",") if n]
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        parser.error(f"unknown checks {unknown}; choose from {', '.join(CHECKS)}")
    results: dict = {}
    for name in names:
        start = time.perf_counter()
        print(f"{name}:")
        results.update(CHECKS[name](full=args.full, series=args.series) if name == "dfg" else CHECKS[name]())
        print(f"  ({time.perf_counter() - start:.1f} s)")
    print(json.dumps(_rounded(results)))


if __name__ == "__main__":
    main()
