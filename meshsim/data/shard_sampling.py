"""The samples of one shard. Problems that split drawing from solving (`Problem.draw`) draw all the
shard's samples first, order them by similarity (SKR: `meshsim.fem.sequence.sort_by_similarity`)
and solve them in that order with one sequence solver, so a recycled subspace or a bandit's
learning carries from one to the next. The order, the solver's state and a bandit's seed depend
only on the shard's samples, so a shard is the same whatever the worker count."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..fem.sequence import sort_by_similarity
from .sample import Sample


def shard_sampler(problem, params, seeds: Sequence[int]) -> Callable[[int], Sample]:
    """``sample(seed) -> Sample`` for the shard's sample seeds; a sample whose drawing or solving
    failed raises its error when asked for, as ``problem.sample`` would have."""
    if problem.draw is None:
        return lambda seed: problem.sample(params, np.random.default_rng(seed))
    outcomes = solve_in_order(problem.draw, params, seeds)

    def sample(seed: int) -> Sample:
        outcome = outcomes[seed]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return sample


def solve_in_order(draw, params, seeds: Sequence[int]) -> dict[int, Sample | Exception]:
    """Samples (or their errors) by seed: all drawn, then solved in SKR order by one solver
    (``params.make_solver``, its bandit seeded from the shard's seeds). The solver is reset (its
    recycled subspace dropped) whenever the mesh changes and after a failed solve."""
    outcomes: dict[int, Sample | Exception] = {}
    drafts = {}
    for seed in seeds:
        try:
            drafts[seed] = draw(params, np.random.default_rng(seed))
        except Exception as error:  # raised again when the runner asks for this sample
            outcomes[seed] = error
    if not drafts:
        return outcomes
    drawn = list(drafts)
    order = sort_by_similarity(np.stack([drafts[seed].features for seed in drawn]))
    solver = params.make_solver(seed=np.random.SeedSequence([int(s) for s in seeds]))
    mesh = None
    for position in order:
        draft = drafts[drawn[position]]
        if draft.mesh is not mesh:
            solver.reset()
            mesh = draft.mesh
        try:
            outcomes[drawn[position]] = draft.solve(solver)
        except Exception as error:  # raised again when the runner asks for this sample
            outcomes[drawn[position]] = error
            solver.reset()
    return outcomes
