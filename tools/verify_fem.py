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
"""
from __future__ import annotations

import json
import time
from typing import Callable

import numpy as np
import skfem

from meshsim.fem import advection_diffusion, gaussian_cone, heat, poisson, steady_advection_diffusion, swirl_velocity
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


def _translating_gaussian(x, t):
    spread = _WIDTH ** 2 + 2.0 * _EPS * t
    offset = x - (_START + _B * t).reshape((2,) + (1,) * (x.ndim - 1))
    return _WIDTH ** 2 / spread * np.exp(-(offset ** 2).sum(axis=0) / (2.0 * spread))


def check_advection_diffusion() -> dict:
    final_time, errors, sizes = 0.5, [], []
    for level in (5, 6, 7):
        mesh = _square(level)
        steps = 2 ** (level - 1)
        trajectory = advection_diffusion(mesh, lambda x: _translating_gaussian(x, 0.0), _B, _EPS,
                                         final_time / steps, steps, dirichlet={"left": 0.0, "bottom": 0.0})
        errors.append(trajectory[-1].l2_error(lambda x: _translating_gaussian(x, final_time)))
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


CHECKS: list[Callable[[], dict]] = [check_poisson, check_heat, check_advection_diffusion]


def main() -> None:
    results: dict = {}
    for check in CHECKS:
        start = time.perf_counter()
        print(f"{check.__name__}:")
        results.update(check())
        print(f"  ({time.perf_counter() - start:.1f} s)")
    print(json.dumps({key: round(value, 4) if isinstance(value, float) else value
                      for key, value in results.items()}))


if __name__ == "__main__":
    main()
