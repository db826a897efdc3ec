"""Benchmark meshsim's sequence solvers on one sequence of Darcy systems, all in the same run.

    python tools/bench_sequences.py            # 200 systems at h = 0.02 (2,812 unknowns), a few minutes
    python tools/bench_sequences.py --full     # 200 systems at h = 0.0112 (9,094 unknowns)

The systems are darcy_square's (P1 on the unit square, permeability 12 / 3 thresholded from a
Gaussian random field with correlation length drawn in [0.08, 0.2], f = 1, u = 0 on the
boundary), each solved to the relative residual ``--tol`` (1e-8) from x = 0, BLAS on one thread.

1. SKR (Wang et al. 2024): GCRO-DR(m=40, k=20) in SKR order (greedy nearest neighbour on the
   permeability fields) against GMRES(40), both right-preconditioned by Jacobi:
   ``skr_iteration_ratio`` = GMRES iterations / SKR iterations. Also GCRO-DR unsorted and GCRO-DR
   without carrying the subspace between systems; wall time against AMG-CG and direct (SuperLU).
2. Learning to Relax (Khodak et al. 2024): SSOR-CG with omega drawn per system by Tsallis-INF over
   floor((2T)^(1/3)) omegas in [1, 1.95], against every omega of the paper's 20-point grid run on
   every system: ``bandit_vs_best`` = bandit total / best fixed omega's total (in hindsight, on the
   20-point grid), ``bandit_vs_omega1`` = omega 1's total / bandit total. Also the paper's own loss
   estimator and the contextual variant (context: the drawn correlation length, 3 bins).
3. ``meshsim generate darcy_square`` (96 samples, 788 nodes, 1 worker) with solver auto (today's
   default: direct), recycle and bandit_sor, best of 2 interleaved runs.

Last line: JSON with the keys above, the wall times and the details behind them.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

from meshsim.data import generate, load_recipe
from meshsim.data.problems.darcy import DarcyParams, darcy_system
from meshsim.fem.sequence import (DEFAULT_OMEGAS, BanditSOR, LinearSequence, RecyclingGMRES, best_fixed_in_hindsight,
                                  iterations_by_omega, sort_by_similarity)


def darcy_sequence(h: float, count: int, seed: int) -> tuple[list, np.ndarray, np.ndarray]:
    """``count`` darcy systems [(A, b)], their permeability fields (count, N) and correlation lengths."""
    params = DarcyParams(h=h)
    rng = np.random.default_rng(seed)
    systems, fields, lengths = [], [], []
    for _ in range(count):
        A, b, a, ell = darcy_system(params, rng)
        systems.append((A, b))
        fields.append(a)
        lengths.append(ell)
    return systems, np.array(fields), np.array(lengths)


def run(solver, systems, order, reference=None, contexts=None) -> dict:
    """Solve the systems in ``order``; totals and the largest error against ``reference``."""
    error = 0.0
    for i in order:
        x = solver.solve(*systems[i], symmetric=True, context=None if contexts is None else contexts[i])
        if reference is not None:
            error = max(error, float(np.abs(x - reference[i]).max() / np.abs(reference[i]).max()))
    return {"iterations": solver.total_iterations, "seconds": solver.total_seconds, "max_error": error,
            "matvecs": int(sum(r.matvecs for r in solver.records))}


def bench_skr(systems, fields, tol: float) -> tuple[dict, list]:
    count = len(systems)
    natural, skr = np.arange(count), sort_by_similarity(fields)
    direct = LinearSequence("direct", tol=tol)
    reference = [direct.solve(A, b, symmetric=True) for A, b in systems]
    results = {"direct": {"iterations": 0, "seconds": direct.total_seconds, "max_error": 0.0, "matvecs": 0},
               "amg_cg": run(LinearSequence("amg", tol=tol), systems, natural, reference)}
    for name, solver, order in (
            ("gmres", RecyclingGMRES(recycle=0, restart=40, preconditioner="jacobi", tol=tol), natural),
            ("gcrodr_per_system", RecyclingGMRES(20, 40, "jacobi", tol, keep_subspace=False), natural),
            ("gcrodr_unsorted", RecyclingGMRES(20, 40, "jacobi", tol), natural),
            ("skr", RecyclingGMRES(20, 40, "jacobi", tol), skr)):
        results[name] = run(solver, systems, order, reference)
        print(f"  {name:18s} {results[name]['iterations']:8d} iterations {results[name]['seconds']:8.2f} s "
              f"max rel. error {results[name]['max_error']:.1e}", flush=True)
    print(f"  direct {results['direct']['seconds']:.2f} s, AMG-CG {results['amg_cg']['iterations']} iterations "
          f"{results['amg_cg']['seconds']:.2f} s")
    return results, reference


def bench_bandit(systems, lengths, tol: float, reference, seed: int) -> dict:
    start = time.perf_counter()
    table = np.stack([iterations_by_omega(A, b, DEFAULT_OMEGAS, tol) for A, b in systems])  # (T, 20)
    table_s = time.perf_counter() - start
    best_arm, best_costs = best_fixed_in_hindsight(table)
    count = len(systems)
    natural = np.arange(count)
    bandits = {"bandit": BanditSOR(horizon=count, tol=tol, seed=seed),
               "bandit_paper_estimator": BanditSOR(horizon=count, tol=tol, seed=seed, reduced_variance=False),
               "bandit_contextual": BanditSOR(horizon=count, tol=tol, seed=seed, context_range=(0.08, 0.2),
                                              num_bins=3)}
    results = {name: run(solver, systems, natural, reference, lengths) for name, solver in bandits.items()}
    omega1 = int(table[:, 0].sum())
    for name, result in results.items():
        print(f"  {name:24s} {result['iterations']:7d} iterations {result['seconds']:7.2f} s "
              f"(best fixed x{result['iterations'] / best_costs.sum():.3f}, omega 1 / it x{omega1 / result['iterations']:.2f})")
    print(f"  fixed omegas (total iterations): {dict(zip(np.round(DEFAULT_OMEGAS, 2).tolist(), table.sum(0).tolist()))}")
    print(f"  best fixed omega in hindsight {DEFAULT_OMEGAS[best_arm]:.2f}: {int(best_costs.sum())}; omega 1: {omega1}"
          f" (table of {table.size} solves: {table_s:.1f} s)")
    results["omega_grid"] = np.round(bandits["bandit"].omegas, 4).tolist()
    results["omegas_drawn_last_20"] = [r.omega for r in bandits["bandit"].records[-20:]]
    results["best_fixed_omega"] = float(DEFAULT_OMEGAS[best_arm])
    results["best_fixed_iterations"] = int(best_costs.sum())
    results["omega1_iterations"] = omega1
    results["fixed_omega_iterations"] = table.sum(0).tolist()
    return results


def bench_generate(repeats: int = 2) -> dict:
    recipe = load_recipe("darcy_square")
    best = {}
    for _ in range(repeats):  # interleaved: robust to load from other processes
        for solver in ("auto", "recycle", "bandit_sor"):
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                generate(recipe.with_overrides(params={"solver": solver}), folder, workers=1, progress=False)
                best[solver] = min(best.get(solver, np.inf), time.perf_counter() - start)
    print(f"  generate darcy_square ({recipe.num_samples} samples), best of {repeats}: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="h = 0.0112 (9,094 unknowns) instead of 0.02")
    parser.add_argument("--systems", type=int, default=200, help="systems in the sequence")
    parser.add_argument("--tol", type=float, default=1e-8, help="relative residual of every solve")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-generate", action="store_true", help="leave out the generate timing")
    args = parser.parse_args()
    h = 0.0112 if args.full else 0.02
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        systems, fields, lengths = darcy_sequence(h, args.systems, args.seed)
        unknowns = systems[0][0].shape[0]
        print(f"{args.systems} Darcy systems, {unknowns} unknowns, tol {args.tol:g} "
              f"(built in {time.perf_counter() - start:.1f} s)")
        print("SKR (Jacobi right preconditioner, restart 40, 20 recycled vectors):")
        skr, reference = bench_skr(systems, fields, args.tol)
        print("Bandit SOR (SSOR-CG in RCM order):")
        bandit = bench_bandit(systems, lengths, args.tol, reference, args.seed)
        generate_s = {} if args.skip_generate else bench_generate()
    fastest = min((k for k in generate_s if k != "auto"), key=generate_s.get, default=None)
    results = {
        "skr_iteration_ratio": skr["gmres"]["iterations"] / skr["skr"]["iterations"],
        "bandit_vs_best": bandit["bandit"]["iterations"] / bandit["best_fixed_iterations"],
        "bandit_vs_omega1": bandit["omega1_iterations"] / bandit["bandit"]["iterations"],
        "skr_s": skr["skr"]["seconds"], "gmres_s": skr["gmres"]["seconds"], "amg_cg_s": skr["amg_cg"]["seconds"],
        "direct_s": skr["direct"]["seconds"], "bandit_s": bandit["bandit"]["seconds"],
        "skr_iteration_ratio_unsorted": skr["gmres"]["iterations"] / skr["gcrodr_unsorted"]["iterations"],
        "recycling_across_systems_ratio": skr["gcrodr_per_system"]["iterations"] / skr["skr"]["iterations"],
        "bandit_paper_estimator_vs_best": (bandit["bandit_paper_estimator"]["iterations"]
                                           / bandit["best_fixed_iterations"]),
        "bandit_contextual_vs_best": bandit["bandit_contextual"]["iterations"] / bandit["best_fixed_iterations"],
        "generate_s": generate_s,
        "generate_fastest_sequence_vs_default": (generate_s["auto"] / generate_s[fastest]) if fastest else None,
        "unknowns": unknowns, "systems": args.systems, "tol": args.tol,
        "skr": skr, "bandit": bandit, "runtime_s": time.perf_counter() - start,
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
