"""How a problem's linear systems are solved (the recipe keys ``solver`` and ``solver_tol``), and
`Draft`: a sample whose inputs are drawn but whose systems are not yet solved, so that a shard can
solve its samples as one sequence (see `meshsim.data.shard_sampling`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...fem.sequence import SEQUENCE_SOLVERS, SequenceSolver, sequence_solver
from ...mesh import Mesh
from ..errors import DatasetError
from ..params import number
from ..sample import Sample


@dataclass(frozen=True)
class SolverParams:
    """Recipe keys of the problems that solve linear systems as a sequence (darcy, poisson, heat)."""

    solver: str = number("auto", doc="linear solver: 'auto' (direct, AMG-CG above 100k unknowns), 'direct', "
                                     "'amg', 'recycle' (GCRO-DR, SKR order) or 'bandit_sor' (Tsallis-INF SSOR-CG)")
    solver_tol: float = number(1e-10, 1e-14, 1e-3, "relative residual ||b - A x|| / ||b|| of every linear solve")

    def check(self, where: str) -> None:
        if self.solver not in SEQUENCE_SOLVERS:
            raise DatasetError(f"{where}.solver = {self.solver!r} is not a solver "
                               f"(solvers: {', '.join(SEQUENCE_SOLVERS)})")

    def make_solver(self, seed=0) -> SequenceSolver:
        """A fresh solver of this kind and tolerance (``seed`` seeds a bandit's draws)."""
        return sequence_solver(self.solver, self.solver_tol, seed=seed)


@dataclass(frozen=True, eq=False)
class Draft:
    """A drawn sample waiting for its solve.

    Attributes:
        mesh: the sample's mesh; consecutive drafts on the same mesh object share a recycled
            subspace, a new mesh resets it.
        features: (d,) what the SKR ordering compares (a coefficient field on a shared mesh, else
            the drawn parameters).
        finish: ``finish(solver) -> Sample`` solves the sample's systems with ``solver``.
    """

    mesh: Mesh
    features: np.ndarray
    finish: Callable[[SequenceSolver], Sample]

    def solve(self, solver: SequenceSolver) -> Sample:
        return self.finish(solver)
