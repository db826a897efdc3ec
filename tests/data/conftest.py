"""A tiny analytic problem ("toy") for fast in-process tests of the store machinery, and recipe
helpers. Tests that need worker processes use the shipped problems on tiny meshes instead."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from meshsim.data import PROBLEMS, Problem, Recipe
from meshsim.data.params import interval, number, uniform
from meshsim.data.problems._common import make_sample
from meshsim.fem import FEMError
from meshsim.mesh import rectangle


@dataclass(frozen=True)
class ToyParams:
    h: float = number(0.34, 0.05, 1.0)
    a: tuple = interval((1.0, 3.0), 0.0, 10.0)
    num_frames: int = number(0, 0, 50)
    fail_above: float = number(100.0, 0.0, 100.0)
    nan_above: float = number(100.0, 0.0, 100.0)


def sample_toy(params: ToyParams, rng: np.random.Generator):
    """u = sin(a x) (or exp(-t) sin(a x) over num_frames frames) on a unit square; a drawn from
    params.a. Samples with a > fail_above raise FEMError; with a > nan_above, u holds a NaN."""
    a = uniform(rng, params.a)
    if a > params.fail_above:
        raise FEMError(f"toy solve failed for a = {a:.3f}")
    mesh = rectangle(h=params.h)
    u = np.sin(a * mesh.points[:, 0])
    if a > params.nan_above:
        u[0] = np.nan
    if params.num_frames:
        times = np.linspace(0.0, 1.0, params.num_frames)
        return make_sample(mesh, {"u": np.exp(-times)[:, None, None] * u[None, :, None], "k": mesh.points},
                           {"a": a}, times=times)
    return make_sample(mesh, {"u": u, "k": mesh.points}, {"a": a, "ab": [a, 2 * a]})


def _toy_recipe(train=5, valid=2, test=0, per_shard=2, seed=0, **params) -> Recipe:
    splits = {"train": train, "valid": valid, "test": test}
    return Recipe.from_dict({"name": "toy", "problem": "toy", "seed": seed, "samples_per_shard": per_shard,
                             "splits": {k: v for k, v in splits.items() if v}, "params": params})


TOY = Problem(ToyParams, sample_toy, inputs=("k",), targets=("u",), description="toy")


@pytest.fixture
def toy(monkeypatch):
    """Adds the "toy" problem to PROBLEMS for the test; returns a recipe factory."""
    monkeypatch.setitem(PROBLEMS, "toy", TOY)
    return _toy_recipe


@pytest.fixture(scope="module")
def toy_module():
    """`toy` for module-scoped fixtures (datasets generated once per test module)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROBLEMS, "toy", TOY)
        yield _toy_recipe
