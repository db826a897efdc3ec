"""The helmholtz_movement problem: a Monge-Ampere moved mesh per sample, failures recorded."""
import dataclasses

import numpy as np
import pytest

from meshsim.data import PROBLEMS, ShardReader, load_recipe, make_shard, plan_shards
from meshsim.movement import GaussianBumps

COARSE = {"h_values": (0.1, 0.12)}


def _sample(seed=0, **params):
    entry = PROBLEMS["helmholtz_movement"]
    return entry.sample(dataclasses.replace(entry.params(), **{**COARSE, **params}), np.random.default_rng(seed))


@pytest.fixture(scope="module")
def sample():
    return _sample()


def test_sample_holds_a_converged_untangled_moved_mesh(sample):
    n = sample.num_nodes
    assert {k: v.shape for k, v in sample.fields.items()} == {"u": (n, 1), "monitor": (n, 1), "moved": (n, 2),
                                                              "slide": (n, 4)}
    mesh = sample.to_mesh()
    moved = mesh.with_points(sample.fields["moved"])  # validates: no inverted cell
    assert moved.signed_measures.min() > 0
    assert 0 < sample.params["ma_iterations"] <= 500 and float(sample.params["h"]) in COARSE["h_values"]
    assert sample.params["error_moved"] < sample.params["error_uniform"]  # the moved mesh is better
    assert sample.fields["monitor"].max() == pytest.approx(6.0) and sample.fields["monitor"].min() >= 1.0


def test_boundary_nodes_slide_and_corners_stay(sample):
    points, moved, slide = sample.points, sample.fields["moved"], sample.fields["slide"]
    sliding = np.any(slide[:, :2] != 0, axis=1)
    assert np.abs((moved[sliding] * slide[sliding, :2]).sum(axis=1) - slide[sliding, 2]).max() < 1e-14
    fixed = slide[:, 3] == 1.0
    assert fixed.sum() == 4 and np.array_equal(moved[fixed], points[fixed])
    interior = ~sliding & ~fixed
    assert np.abs(moved[interior] - points[interior]).max() > 0.01


def test_u_is_the_p1_solution_with_exact_boundary_values(sample):
    bumps = GaussianBumps.from_params(sample.params)
    boundary = np.unique(np.concatenate(list(sample.boundary.values())))
    exact = bumps.value(sample.points[boundary].T)
    np.testing.assert_array_equal(sample.fields["u"][boundary, 0], exact)


def test_samples_are_reproducible(sample):
    again = _sample()
    np.testing.assert_array_equal(again.fields["moved"], sample.fields["moved"])


def test_a_failed_monge_ampere_solve_is_recorded(tmp_path):
    recipe = load_recipe("helmholtz_movement").with_overrides(splits={"train": 2}, params={**COARSE, "maxiter": 2})
    task = plan_shards(recipe.splits, recipe.samples_per_shard)[0]
    result = make_shard(recipe, task, str(tmp_path))
    assert result.num_samples == 0 and result.num_failed == 2
    with ShardReader(tmp_path / task.file_name) as reader:
        reasons = [failure.reason for failure in reader.failures]
    assert all(r.startswith("MovementError: relaxation did not converge in 2 iterations") for r in reasons)


def test_shipped_recipe_matches_um2n():
    recipe = load_recipe("helmholtz_movement")
    assert recipe.params.h_values == (0.05, 0.055) and recipe.params.rtol == 1e-3 and recipe.params.maxiter == 500
    assert recipe.params.method == "relaxation" and recipe.params.alpha == 5.0
    with pytest.raises(Exception, match="method must be"):
        recipe.with_overrides(params={"method": "newton"})
