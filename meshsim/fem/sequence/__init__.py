"""Solvers for sequences of related linear systems ``A_i x_i = b_i`` (dataset samples, time
steps): each keeps what helps the next solve and records iterations and time per solve.

- `LinearSequence`: direct (SuperLU) or AMG-preconditioned Krylov, set up again per matrix.
- `RecyclingGMRES`: GCRO-DR, a Krylov subspace recycled across the sequence (SKR, with
  `sort_by_similarity` ordering the systems so neighbours are alike).
- `BanditSOR`: SSOR-preconditioned CG with omega chosen per system by Tsallis-INF (Learning to
  Relax), optionally contextual; `SSORCG` is the same with one fixed omega.
- `sequence_solver(kind)`: the solver a dataset recipe's ``solver`` key names.

SSOR-CG runs as compiled numba kernels when numba is installed (``backend="auto"``; ``"scipy"``
keeps the Python loop over SuperLU triangular solves), see `meshsim.fem.sequence.backends`.
"""
from .bandit import (DEFAULT_OMEGAS, BanditSOR, BinnedTsallisINF, TsallisINF, best_fixed_in_hindsight,
                     omega_grid, regret)
from .backends import BACKENDS, resolve_backend
from .base import LinearSequence, SequenceSolver, SolveRecord, solve_sequence
from .factory import SEQUENCE_SOLVERS, sequence_solver
from .gcrodr import RecyclingGMRES
from .ordering import sort_by_similarity
from .preconditioners import SSORPreconditioner, rcm_order
from .sor import SSORCG, iterations_by_omega, ssor_cg

__all__ = [
    "SequenceSolver", "SolveRecord", "LinearSequence", "solve_sequence", "RecyclingGMRES", "SSORCG", "BanditSOR",
    "TsallisINF", "BinnedTsallisINF", "DEFAULT_OMEGAS", "omega_grid", "regret", "best_fixed_in_hindsight",
    "iterations_by_omega", "sort_by_similarity", "SSORPreconditioner", "rcm_order", "ssor_cg",
    "SEQUENCE_SOLVERS", "sequence_solver", "BACKENDS", "resolve_backend",
]
