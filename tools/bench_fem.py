"""Benchmark meshsim.fem against plain scikit-fem + scipy code in the same run.

    python tools/bench_fem.py                  # 71 x 71 grid (5041 nodes), 1M-triangle assembly
    python tools/bench_fem.py --cells 300 --assembly-cells 400

1. Poisson P1, several samples (lognormal kappa, random f) on one ~5k-node mesh. meshsim: one
   `FunctionSpace` (its build time is counted, spread over the samples), then `poisson` per
   sample. Plain loop, "the obvious way": per sample, skfem mesh + basis, assemble, condense,
   `scipy.sparse.linalg.spsolve`. Also against a plain loop that builds the basis once.
   Phases (assembly, solve) are timed separately: meshsim must not be slower in any.
2. Heat, 100 implicit Euler steps on the same mesh: `heat` (factorised once) vs the same
   matrices with `spsolve` every step.
3. Assembly throughput of the P1 Laplacian (variable kappa) on a ~1M-triangle mesh: meshsim's
   cached-pattern assembly vs scikit-fem's `BilinearForm.assemble`.

Timings are the best of --repeats interleaved runs (other processes share the machine).
Last line: JSON with poisson_speedup (plain loop time / meshsim time per sample), heat_speedup,
assembly_elements_per_s, and the details behind them (seconds, per-phase speed-ups).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse.linalg as spla
import skfem

from meshsim.fem import FunctionSpace, LinearSolver, dirichlet_constraint, gaussian_random_field, heat
from meshsim.fem import diffusion_system, lognormal_field, poisson
from meshsim.fem.forms import diffusion, mass, source
from meshsim.mesh import Mesh


def grid_mesh(cells_per_side: int) -> Mesh:
    """Unit square, 2 * cells_per_side**2 triangles, boundaries left/right/top/bottom."""
    grid = np.linspace(0.0, 1.0, cells_per_side + 1)
    return Mesh.from_skfem(skfem.MeshTri1.init_tensor(grid, grid).with_defaults())


def plain_poisson(mesh: Mesh, kappa: np.ndarray, f: np.ndarray, basis=None) -> tuple[np.ndarray, float, float]:
    """-div(kappa grad u) = f, u = 0 on the boundary, written the obvious scikit-fem way.
    Returns (u, assembly seconds, solve seconds)."""
    start = time.perf_counter()
    if basis is None:
        basis = skfem.Basis(mesh.to_skfem(), skfem.ElementTriP1())
    A = diffusion.assemble(basis, kappa=basis.interpolate(kappa))
    b = source.assemble(basis, f=basis.interpolate(f))
    A_free, b_free, u, free = skfem.condense(A, b, D=basis.get_dofs())
    assembled = time.perf_counter()
    u[free] = spla.spsolve(A_free, b_free)
    return u, assembled - start, time.perf_counter() - assembled


def meshsim_poisson_phases(space: FunctionSpace, kappa, f, walls) -> tuple[np.ndarray, float, float]:
    """The steps of `meshsim.fem.poisson`, timed by phase: (u, assembly s, solve s)."""
    start = time.perf_counter()
    constraint = dirichlet_constraint(space, walls)
    matrix, rhs = constraint.reduce(*diffusion_system(space, kappa, f))
    assembled = time.perf_counter()
    u = constraint.expand(LinearSolver(matrix, symmetric=True).solve(rhs))
    return u, assembled - start, time.perf_counter() - assembled


def bench_poisson(mesh: Mesh, num_samples: int, repeats: int) -> dict:
    kappas = lognormal_field(mesh, 0.2, log_variance=1.0, seed=0, num_samples=num_samples)
    sources = gaussian_random_field(mesh, 0.1, seed=1, num_samples=num_samples) + 1.0
    walls = {name: 0.0 for name in mesh.boundary}
    basis = skfem.Basis(mesh.to_skfem(), skfem.ElementTriP1())
    samples = list(zip(kappas, sources))

    def plain_loop():
        return [plain_poisson(mesh, k, f) for k, f in samples]

    def plain_reused_basis_loop():
        return [plain_poisson(mesh, k, f, basis=basis) for k, f in samples]

    def meshsim_loop():
        space = FunctionSpace(mesh)  # built once per loop: its cost is counted
        return [poisson(space, k, f, dirichlet=walls) for k, f in samples]

    def meshsim_phases_loop():
        space = FunctionSpace(mesh)
        return [meshsim_poisson_phases(space, k, f, walls) for k, f in samples]

    loops = {"plain": plain_loop, "plain_reused": plain_reused_basis_loop, "meshsim": meshsim_loop,
             "phases": meshsim_phases_loop}
    best = {name: np.inf for name in loops}
    phase_times = {"plain": [], "phases": []}
    for _ in range(repeats):  # interleaved, best of `repeats`: robust to load from other processes
        for name, loop in loops.items():
            start = time.perf_counter()
            output = loop()
            best[name] = min(best[name], (time.perf_counter() - start) / num_samples)
            if name in phase_times:
                phase_times[name].append(np.array([[p[1], p[2]] for p in output]).mean(axis=0))
            if name == "plain":
                plain = output
            if name == "meshsim":
                solutions = output
    plain_assembly, plain_solve = np.min(phase_times["plain"], axis=0)
    ours_assembly, ours_solve = np.min(phase_times["phases"], axis=0)
    difference = max(np.abs(s.values - p[0]).max() for s, p in zip(solutions, plain))
    assert difference < 1e-8 * max(np.abs(p[0]).max() for p in plain), difference
    print(f"poisson P1, {mesh.num_points} nodes, {num_samples} samples, best of {repeats}: plain "
          f"{best['plain'] * 1e3:.1f} ms/sample (basis reused: {best['plain_reused'] * 1e3:.1f}), meshsim "
          f"{best['meshsim'] * 1e3:.1f} ms/sample (space build included); max |difference| {difference:.1e}")
    print(f"  phases ms/sample: assembly plain {plain_assembly * 1e3:.1f} vs meshsim {ours_assembly * 1e3:.1f}, "
          f"solve plain {plain_solve * 1e3:.1f} vs meshsim {ours_solve * 1e3:.1f}")
    return {
        "poisson_speedup": best["plain"] / best["meshsim"],
        "poisson_speedup_vs_reused_basis": best["plain_reused"] / best["meshsim"],
        "poisson_assembly_speedup": plain_assembly / ours_assembly,
        "poisson_solve_speedup": plain_solve / ours_solve,
        "poisson_plain_ms": best["plain"] * 1e3, "poisson_meshsim_ms": best["meshsim"] * 1e3,
        "poisson_nodes": mesh.num_points,
    }


def plain_heat(mesh: Mesh, u0: np.ndarray, dt: float, num_steps: int) -> np.ndarray:
    """Implicit Euler, u = 0 on the boundary, spsolve every step; returns the final u."""
    basis = skfem.Basis(mesh.to_skfem(), skfem.ElementTriP1())
    M = mass.assemble(basis)
    A = M + dt * diffusion.assemble(basis, kappa=basis.ones())
    boundary = basis.get_dofs().all()
    free = np.setdiff1d(np.arange(basis.N), boundary)
    A_free = A[free][:, free].tocsc()
    M_rows = M[free]
    u = u0.copy()
    for _ in range(num_steps):
        u[free] = spla.spsolve(A_free, M_rows @ u)
        u[boundary] = 0.0
    return u


def bench_heat(mesh: Mesh, num_steps: int, repeats: int, dt: float = 1e-3) -> dict:
    walls = {name: 0.0 for name in mesh.boundary}
    u0 = gaussian_random_field(mesh, 0.1, seed=2)
    meshsim_s = plain_s = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        trajectory = heat(mesh, u0, dt, num_steps, dirichlet=walls)
        meshsim_s = min(meshsim_s, time.perf_counter() - start)
        start = time.perf_counter()
        u = plain_heat(mesh, u0, dt, num_steps)
        plain_s = min(plain_s, time.perf_counter() - start)
    difference = np.abs(trajectory.values[-1] - u).max()
    assert difference < 1e-8 * np.abs(u0).max(), difference
    print(f"heat {num_steps} steps, {mesh.num_points} nodes, best of {repeats}: spsolve each step {plain_s:.3f} s, "
          f"meshsim {meshsim_s:.3f} s; max |difference| {difference:.1e}")
    return {"heat_speedup": plain_s / meshsim_s, "heat_plain_s": plain_s, "heat_meshsim_s": meshsim_s}


def bench_assembly(cells_per_side: int, repeats: int = 3) -> dict:
    start = time.perf_counter()
    mesh = grid_mesh(cells_per_side)
    space = FunctionSpace(mesh)
    setup_s = time.perf_counter() - start
    kappa = space.coefficient(1.0 + mesh.points[:, 0], "kappa")
    start = time.perf_counter()
    first = space.assemble_matrix(diffusion, kappa=kappa)
    first_s = time.perf_counter() - start
    ours, reference = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        space.assemble_matrix(diffusion, kappa=kappa)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        skfem_matrix = diffusion.assemble(space.basis, kappa=kappa)
        reference.append(time.perf_counter() - start)
    assert abs(first - skfem_matrix).max() < 1e-10
    cells = mesh.num_cells
    print(f"assembly P1 Laplacian, {cells} triangles: meshsim {min(ours):.3f} s "
          f"({cells / min(ours):.3g} elements/s; first call with pattern {first_s:.3f} s), "
          f"scikit-fem {min(reference):.3f} s; mesh + space setup {setup_s:.2f} s")
    return {"assembly_elements_per_s": cells / min(ours),
            "assembly_skfem_elements_per_s": cells / min(reference),
            "assembly_first_call_s": first_s, "assembly_triangles": cells}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=70, help="grid cells per side for Poisson/heat")
    parser.add_argument("--samples", type=int, default=10, help="Poisson samples")
    parser.add_argument("--steps", type=int, default=100, help="heat steps")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (best of) for Poisson and heat")
    parser.add_argument("--assembly-cells", type=int, default=708,
                        help="grid cells per side of the assembly mesh (708: 1,002,528 triangles)")
    args = parser.parse_args()
    mesh = grid_mesh(args.cells)
    results = {**bench_poisson(mesh, args.samples, args.repeats), **bench_heat(mesh, args.steps, args.repeats),
               **bench_assembly(args.assembly_cells)}
    print(json.dumps({key: round(value, 4) if isinstance(value, float) else value
                      for key, value in results.items()}))


if __name__ == "__main__":
    main()
