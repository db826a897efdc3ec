"""The sequence solver a dataset recipe's ``solver`` key names."""
from __future__ import annotations

from ..errors import FEMError
from .bandit import BanditSOR
from .base import LinearSequence, SequenceSolver
from .gcrodr import RecyclingGMRES

#: the values of a recipe's ``solver`` key: ``auto`` (direct up to 100k 2D unknowns, else
#: AMG-CG: what `meshsim.fem.poisson` does by default), ``direct``, ``amg`` (AMG-preconditioned
#: CG), ``recycle`` (GCRO-DR(40, 20), Jacobi-preconditioned), ``bandit_sor`` (Tsallis-INF SSOR-CG)
SEQUENCE_SOLVERS = ("auto", "direct", "amg", "recycle", "bandit_sor")


def sequence_solver(kind: str, tol: float = 1e-10, seed=None) -> SequenceSolver:
    """A fresh solver of kind ``kind`` (one of `SEQUENCE_SOLVERS`) with relative tolerance
    ``tol``; ``seed`` seeds the bandit's draws."""
    if kind in ("auto", "direct", "amg"):
        return LinearSequence(kind, tol=tol)
    if kind == "recycle":
        return RecyclingGMRES(recycle=20, restart=40, preconditioner="jacobi", tol=tol)
    if kind == "bandit_sor":
        return BanditSOR(tol=tol, seed=seed)
    raise FEMError(f"solver must be one of {', '.join(SEQUENCE_SOLVERS)}, got {kind!r}")
