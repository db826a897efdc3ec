"""Solving sequences of related systems: SKR (sorted Krylov recycling) and Learning to Relax (a
bandit-tuned SSOR-CG), against direct and AMG-CG solves.

Two sequences of linear systems, each system solved to the relative residual 1e-8, BLAS on one
thread:
1. darcy_square's systems (P1 on the unit square, permeability 12 / 3 thresholded from a
   Gaussian random field, f = 1), each from x = 0: direct (SuperLU), AMG-CG, GMRES(40) without
   recycling, SKR (GCRO-DR(40, 20) in SKR order; both GMRES right-preconditioned by Jacobi), the
   bandit SOR (Tsallis-INF over floor((2T)^(1/3)) omegas in [1, 1.95], and its contextual variant
   with the drawn correlation length as context), and every omega of the paper's 20-point grid
   (giving the best fixed omega in hindsight and omega = 1).
2. heat_random_domains' implicit Euler steps (trajectories on random polygons with holes, one
   matrix per trajectory), each step started from the previous one: the same solvers, direct and
   AMG set up once per trajectory, GCRO-DR keeping its subspace across the steps.

    python tutorials/solver_sequences.py --out runs/sequences          # default: ~10k unknowns
    python tutorials/solver_sequences.py --full --out runs/seq-full    # ~100k unknowns (hours)
    python tutorials/solver_sequences.py --smoke --out /tmp/seq        # seconds

Writes ``results.json`` (the tables, per-system iterations and seconds of every solver) and
``regret.png`` (cumulative iterations of the bandit, the best fixed omega and omega = 1, and the
bandit's regret) to ``--out``.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from _tutorial_cli import start, tutorial_parser, write_results  # noqa: E402

from meshsim.data.problems.darcy import DarcyParams, darcy_system  # noqa: E402
from meshsim.data.problems.heat import HeatParams, draw_heat  # noqa: E402
from meshsim.fem.sequence import (DEFAULT_OMEGAS, SSORCG, BanditSOR, LinearSequence, RecyclingGMRES,  # noqa: E402
                                  best_fixed_in_hindsight, iterations_by_omega, regret, solve_sequence,
                                  sort_by_similarity)

TOL = 1e-8
#: published claims, for the printed table
PUBLISHED = {
    "skr": "SKR (Wang et al. 2024, Darcy FD, 10,000 unknowns, Jacobi, tol 1e-8, PETSc/HPDDM on 72 MPI "
           "processes): GMRES(40) 9,610 vs SKR 613 iterations per system (15.7x), 0.91 vs 0.38 s (2.4x); "
           "up to 13.9x faster data generation over all their problems",
    "bandit": "Learning to Relax (Khodak et al. 2024): the bandit's total iterations approach the best fixed "
              "omega's as the sequence grows (their runs: 5,000 systems)",
}


@dataclass(frozen=True)
class Budget:
    """Sizes: ``darcy_h`` element size (unknowns ~ 1.14 / h^2), ``darcy_systems`` systems;
    ``heat_h`` (0.014: 6,138-12,535 nodes on seed 0's ten random domains),
    ``heat_trajectories`` x ``heat_steps`` implicit Euler steps."""

    name: str
    darcy_h: float
    darcy_systems: int
    heat_h: float
    heat_trajectories: int
    heat_steps: int


BUDGETS = {
    "smoke": Budget("smoke", 0.1, 12, 0.3, 2, 4),
    # measured on the shared 2-core machine: see the README table
    "default": Budget("default", 0.0112, 200, 0.014, 10, 20),
    "full": Budget("full", 0.0035, 200, 0.0045, 10, 20),
}


def summarise(solver, reference: list, solutions: list) -> dict:
    """Totals, per-system averages and the largest relative error against the direct solutions."""
    error = max(float(np.abs(x - r).max() / np.abs(r).max()) for x, r in zip(solutions, reference))
    count = len(solver.records)
    return {"iterations": solver.total_iterations, "iterations_per_system": solver.total_iterations / count,
            "seconds": solver.total_seconds, "seconds_per_system": solver.total_seconds / count,
            "max_rel_error": error, "per_system_iterations": solver.iterations.tolist(),
            "per_system_seconds": [r.seconds for r in solver.records],
            "omegas": [r.omega for r in solver.records] if solver.records[0].omega is not None else None}


def darcy_part(budget: Budget, seed: int) -> dict:
    params = DarcyParams(h=budget.darcy_h)
    rng = np.random.default_rng(seed)
    drawn = [darcy_system(params, rng) for _ in range(budget.darcy_systems)]
    systems = [(A, b) for A, b, _, _ in drawn]
    fields = np.array([a for _, _, a, _ in drawn])
    lengths = np.array([ell for *_, ell in drawn])
    count = len(systems)
    print(f"darcy_square: {count} systems, {systems[0][0].shape[0]} unknowns", flush=True)
    skr_order = sort_by_similarity(fields)
    direct = LinearSequence("direct", tol=TOL)
    reference = solve_sequence(direct, systems, symmetric=True)
    solvers = {
        "direct": (direct, None, None),
        "amg_cg": (LinearSequence("amg", tol=TOL), None, None),
        "gmres": (RecyclingGMRES(recycle=0, restart=40, preconditioner="jacobi", tol=TOL), None, None),
        "skr": (RecyclingGMRES(recycle=20, restart=40, preconditioner="jacobi", tol=TOL), skr_order, None),
        "bandit_sor": (BanditSOR(horizon=count, tol=TOL, seed=seed), None, None),
        "bandit_sor_contextual": (BanditSOR(horizon=count, tol=TOL, seed=seed, context_range=(0.08, 0.2),
                                           num_bins=3), None, lengths),
        "omega_1": (SSORCG(1.0, tol=TOL), None, None),
    }
    results = {}
    for name, (solver, order, contexts) in solvers.items():
        solutions = reference if solver is direct else solve_sequence(solver, systems, order, contexts, True)
        results[name] = summarise(solver, reference, solutions)
        print(f"  {name:22s} {results[name]['iterations_per_system']:8.1f} it/system "
              f"{results[name]['seconds_per_system'] * 1e3:8.1f} ms/system", flush=True)
    start_table = time.perf_counter()
    table = np.stack([iterations_by_omega(A, b, DEFAULT_OMEGAS, TOL) for A, b in systems])
    best_arm, best_costs = best_fixed_in_hindsight(table)
    best = SSORCG(DEFAULT_OMEGAS[best_arm], tol=TOL)
    results["best_fixed_omega"] = summarise(best, reference, solve_sequence(best, systems, symmetric=True))
    results["best_fixed_omega"]["omega"] = float(DEFAULT_OMEGAS[best_arm])
    print(f"  best fixed omega {DEFAULT_OMEGAS[best_arm]:.2f}: {best_costs.mean():.1f} it/system "
          f"(20 omegas x {count} systems in {time.perf_counter() - start_table:.0f} s)", flush=True)
    results["fixed_omega_totals"] = dict(zip([f"{w:.2f}" for w in DEFAULT_OMEGAS], table.sum(axis=0).tolist()))
    results["regret"] = regret(results["bandit_sor"]["per_system_iterations"], best_costs).tolist()
    results["unknowns"] = int(systems[0][0].shape[0])
    return results


def heat_part(budget: Budget, seed: int) -> dict:
    params = HeatParams(h=budget.heat_h, num_steps=budget.heat_steps)
    rng = np.random.default_rng(seed)
    drafts = [draw_heat(params, rng) for _ in range(budget.heat_trajectories)]
    order = sort_by_similarity(np.stack([d.features for d in drafts]))
    unknowns = [d.mesh.num_points for d in drafts]
    count = budget.heat_trajectories * budget.heat_steps
    print(f"heat_random_domains: {budget.heat_trajectories} trajectories x {budget.heat_steps} steps, "
          f"{min(unknowns)}-{max(unknowns)} nodes", flush=True)

    def trajectories(solver) -> list[np.ndarray]:
        values = [None] * len(drafts)
        for i in order:  # one mesh per trajectory: what is tied to the previous mesh is dropped
            solver.reset()
            values[i] = drafts[i].solve(solver).fields["u"]
        return values

    direct = LinearSequence("direct", tol=TOL)
    reference = trajectories(direct)
    solvers = {"direct": direct, "amg_cg": LinearSequence("amg", tol=TOL),
               "gmres": RecyclingGMRES(recycle=0, restart=40, preconditioner="jacobi", tol=TOL),
               "skr": RecyclingGMRES(recycle=20, restart=40, preconditioner="jacobi", tol=TOL),
               "bandit_sor": BanditSOR(horizon=count, tol=TOL, seed=seed)}
    results = {}
    for name, solver in solvers.items():
        values = reference if solver is direct else trajectories(solver)
        results[name] = summarise(solver, [r.ravel() for r in reference], [v.ravel() for v in values])
    fixed = {}
    for omega in DEFAULT_OMEGAS:  # each fixed omega runs the whole simulation, as the paper's h2d.m
        solver = SSORCG(omega, tol=TOL)
        fixed[omega] = (solver, trajectories(solver))
    best_omega = min(fixed, key=lambda w: fixed[w][0].total_iterations)
    for name, omega in (("best_fixed_omega", best_omega), ("omega_1", DEFAULT_OMEGAS[0])):
        solver, values = fixed[omega]
        results[name] = summarise(solver, [r.ravel() for r in reference], [v.ravel() for v in values])
        results[name]["omega"] = float(omega)
    for name, result in results.items():
        print(f"  {name:22s} {result['iterations_per_system']:8.1f} it/step {result['seconds_per_system'] * 1e3:8.1f} "
              f"ms/step", flush=True)
    results["fixed_omega_totals"] = {f"{w:.2f}": s.total_iterations for w, (s, _) in fixed.items()}
    results["regret"] = regret(results["bandit_sor"]["per_system_iterations"],
                               results["best_fixed_omega"]["per_system_iterations"]).tolist()
    results["nodes"] = [min(unknowns), max(unknowns)]
    return results


def table(results: dict, unit: str) -> str:
    lines = [f"| solver | iterations / {unit} | ms / {unit} | total iterations | max rel. error vs direct |",
             "| --- | --- | --- | --- | --- |"]
    for name in ("direct", "amg_cg", "gmres", "skr", "bandit_sor", "bandit_sor_contextual", "best_fixed_omega",
                 "omega_1"):
        if name in results:
            r = results[name]
            label = name + (f" ({r['omega']:.2f})" if "omega" in r and name == "best_fixed_omega" else "")
            lines.append(f"| {label} | {r['iterations_per_system']:.1f} | {r['seconds_per_system'] * 1e3:.1f} | "
                         f"{r['iterations']} | {r['max_rel_error']:.1e} |")
    return "\n".join(lines)


def ratios(results: dict) -> dict:
    return {"skr_iteration_ratio": results["gmres"]["iterations"] / results["skr"]["iterations"],
            "skr_time_ratio": results["gmres"]["seconds"] / results["skr"]["seconds"],
            "bandit_vs_best": results["bandit_sor"]["iterations"] / results["best_fixed_omega"]["iterations"],
            "bandit_vs_omega1": results["omega_1"]["iterations"] / results["bandit_sor"]["iterations"]}


def plot_regret(out, parts: dict) -> None:
    figure, axes = plt.subplots(1, 2 * len(parts), figsize=(6 * len(parts), 3.6))
    for column, (label, results) in enumerate(parts.items()):
        left, right = axes[2 * column], axes[2 * column + 1]
        for name in ("omega_1", "bandit_sor", "best_fixed_omega"):
            left.plot(np.cumsum(results[name]["per_system_iterations"]), label=name)
        left.set(title=f"{label}: cumulative iterations", xlabel="system")
        left.legend()
        right.plot(results["regret"])
        right.set(title=f"{label}: bandit regret", xlabel="system", ylabel="iterations above best fixed omega")
    figure.tight_layout()
    figure.savefig(out / "regret.png", dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "runs/solver_sequences")
    args = parser.parse_args(argv)
    budget = BUDGETS[start(args)]
    began = time.perf_counter()
    with threadpool_limits(limits=1):
        darcy = darcy_part(budget, args.seed)
        heat = heat_part(budget, args.seed)
    plot_regret(args.out, {"darcy": darcy, "heat": heat})
    results = {"budget": dataclasses.asdict(budget), "tol": TOL, "darcy": darcy, "heat": heat,
               "darcy_ratios": ratios(darcy), "heat_ratios": ratios(heat), "published": PUBLISHED,
               "runtime_s": time.perf_counter() - began}
    results["table"] = (f"darcy_square, {darcy['unknowns']} unknowns, {budget.darcy_systems} systems:\n"
                        f"{table(darcy, 'system')}\n\nheat_random_domains, {heat['nodes'][0]}-{heat['nodes'][1]} nodes, "
                        f"{budget.heat_trajectories} x {budget.heat_steps} steps:\n{table(heat, 'step')}")
    print(results["table"])
    for part in ("darcy", "heat"):
        print(f"{part}: " + ", ".join(f"{k} {v:.3f}" for k, v in results[f"{part}_ratios"].items()))
    print("published:\n  " + "\n  ".join(PUBLISHED.values()))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
