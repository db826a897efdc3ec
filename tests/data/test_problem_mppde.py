"""Tests for meshsim.data.problems.mppde: MP-PDE combined-equation samples and the E1-E3 recipes."""
import dataclasses

import numpy as np
import pytest

from meshsim.data import PROBLEMS, DatasetError, ShardReader, generate, load_recipe, sample_seed
from meshsim.data import open as open_dataset
from meshsim.data.params import parse_params
from meshsim.data.problems.mppde import MPPDEParams, coarse_trajectories, sample_mppde, solve_stored
from meshsim.graph import NodeType
from meshsim.sim import (E1, E3, CombinedEquation, Forcing, cell_centres, coarsen, reference_filter,
                         solve_combined_equation)

E1_SHORT = MPPDEParams(t_end=0.5)


def _forcing(params) -> Forcing:
    return Forcing(params["forcing_amplitudes"], params["forcing_omegas"], params["forcing_phases"],
                   params["forcing_wavenumbers"].astype(np.int64))


def _rerun(sample, nx: int, t_end: float, grid: str = "cell") -> np.ndarray:
    p = sample.params
    equation = CombinedEquation(float(p["alpha"]), float(p["beta"]), float(p["gamma"]))
    return solve_combined_equation(equation, _forcing(p), nx, t_end, grid=grid)[1]


def test_a_sample_is_the_reference_solution_on_the_line_of_cell_centres():
    sample = sample_mppde(E1_SHORT, np.random.default_rng(4))
    equation, forcing = E1.sample(np.random.default_rng(4))  # same draws, same order
    times, u = solve_combined_equation(equation, forcing, 200, 0.5)
    assert sample.fields["u"].shape == (250, 200, 1)
    np.testing.assert_array_equal(sample.fields["u"][:, :, 0], u)
    np.testing.assert_array_equal(sample.times, times)
    np.testing.assert_allclose(sample.fields["u"][0, :, 0], forcing(0.0, cell_centres(200)), rtol=0, atol=1e-12)
    assert {k: v.shape for k, v in sample.params.items()} == {
        "alpha": (), "beta": (), "gamma": (), "forcing_amplitudes": (5,), "forcing_omegas": (5,),
        "forcing_phases": (5,), "forcing_wavenumbers": (5,)}
    np.testing.assert_array_equal(sample.params["forcing_phases"], forcing.phases)
    # the mesh: 200 cell centres on [0, 16), consecutive ones joined, no cell across the seam
    np.testing.assert_allclose(sample.points[:, 0], 0.04 * (2 * np.arange(200) + 1))
    np.testing.assert_array_equal(sample.cells, np.stack([np.arange(199), np.arange(1, 200)], 1))
    assert sample.boundary == {} and np.all(sample.node_type == NodeType.NORMAL)


def test_a_coarse_sample_is_the_cell_average_of_the_reference():
    fine = sample_mppde(E1_SHORT, np.random.default_rng(2))
    coarse = sample_mppde(dataclasses.replace(E1_SHORT, nx=50), np.random.default_rng(2))
    assert coarse.fields["u"].shape == (250, 50, 1) and coarse.points.shape == (50, 1)
    np.testing.assert_array_equal(coarse.fields["u"][:, :, 0], coarsen(fine.fields["u"][:, :, 0], 4))
    np.testing.assert_allclose(coarse.points[:, 0], cell_centres(50))
    forcing = _forcing(coarse.params)
    np.testing.assert_allclose(coarse.fields["u"][0, :, 0], coarsen(forcing(0.0, cell_centres(200)), 4), atol=1e-12)


def test_a_reference_protocol_sample_is_the_filtered_solve_on_linspace_nodes():
    reference = dataclasses.replace(E1_SHORT, grid="reference")
    fine = sample_mppde(reference, np.random.default_rng(2))
    coarse = sample_mppde(dataclasses.replace(reference, nx=40), np.random.default_rng(2))
    np.testing.assert_array_equal(fine.points[:, 0], np.linspace(0.0, 16.0, 200))
    np.testing.assert_array_equal(coarse.points[:, 0], np.linspace(0.0, 16.0, 40))
    np.testing.assert_array_equal(fine.fields["u"][:, :, 0], _rerun(fine, 200, 0.5, "reference"))
    np.testing.assert_array_equal(coarse.fields["u"][:, :, 0], reference_filter(fine.fields["u"][:, :, 0], 5))
    np.testing.assert_array_equal(coarse_trajectories(fine.fields["u"][:, :, 0], 40, "reference"),
                                  coarse.fields["u"][:, :, 0])
    # the classical baseline: an independent solve on 40 nodes from the stored parameters
    alone = _rerun(coarse, 40, 0.5, "reference")
    np.testing.assert_array_equal(solve_stored(coarse.params, 40, 0.5, "reference"), alone)
    batch = {k: np.stack([fine.params[k], coarse.params[k]]) for k in fine.params}
    np.testing.assert_allclose(solve_stored(batch, 40, 0.5, "reference")[1], alone, atol=1e-5)
    with pytest.raises(DatasetError, match="p.grid = 'nodes' is not a protocol"):
        parse_params(MPPDEParams, {"grid": "nodes"}, "p")
    with pytest.raises(DatasetError, match="cannot make 30 nodes from data on 200"):
        coarse_trajectories(fine.fields["u"][:, :, 0], 30, "reference")


def test_e3_draws_every_coefficient_in_its_range():
    params = load_recipe("mppde_E3").params
    draws = [sample_mppde(dataclasses.replace(params, t_end=0.05), np.random.default_rng(s)).params
             for s in range(3)]
    for p in draws:
        for name, (low, high) in (("alpha", E3.alpha), ("beta", E3.beta), ("gamma", E3.gamma)):
            assert low <= float(p[name]) <= high
        assert set(p["forcing_wavenumbers"]) <= {1.0, 2.0} and np.all(np.abs(p["forcing_amplitudes"]) <= 0.5)
    assert len({float(p["alpha"]) for p in draws}) == 3  # drawn per sample, not fixed


def test_fixed_coefficients_are_intervals_with_equal_ends():
    params = parse_params(MPPDEParams, {"alpha": [2, 2], "beta": [0.1, 0.1]}, "p")
    assert params.alpha == (2.0, 2.0) and params.beta == (0.1, 0.1)
    sample = sample_mppde(dataclasses.replace(params, t_end=0.05), np.random.default_rng(0))
    assert (float(sample.params["alpha"]), float(sample.params["beta"])) == (2.0, 0.1)


def test_nx_must_divide_the_reference_grid():
    with pytest.raises(DatasetError, match=r"p.nx = 60 does not divide reference_nx = 200"):
        parse_params(MPPDEParams, {"nx": 60}, "p")
    with pytest.raises(DatasetError, match="nx = 30 does not divide reference_nx = 200"):
        sample_mppde(dataclasses.replace(E1_SHORT, nx=30), np.random.default_rng(0))


def test_shipped_recipes_are_the_papers_experiments():
    for name, experiment in (("mppde_E1", E1), ("mppde_E2", None), ("mppde_E3", E3)):
        recipe = load_recipe(name)
        assert recipe.problem == "mppde" and recipe.splits == {"train": 2048, "valid": 128, "test": 128}
        assert (recipe.params.reference_nx, recipe.params.nx, recipe.params.grid) == (200, 200, "reference")
        if experiment is not None:
            assert (recipe.params.alpha, recipe.params.beta, recipe.params.gamma, recipe.params.t_end) == (
                experiment.alpha, experiment.beta, experiment.gamma, experiment.t_end)
    assert load_recipe("mppde_E2").params.beta == (0.0, 0.2)
    assert PROBLEMS["mppde"].inputs == () and PROBLEMS["mppde"].targets == ("u",)


def test_generated_samples_rerun_from_their_stored_parameters(tmp_path):
    meta = generate("mppde_E1", tmp_path, num_samples=3, progress=False)
    assert meta["complete"] and not meta["failed"] and meta["num_steps"] == 250
    recipe = load_recipe("mppde_E1")
    with ShardReader(tmp_path / "shard-00000.h5") as reader:
        assert len(reader) == 3
        stored = reader.sample(2)
        assert int(reader.indices[2]) == 2
    expected = sample_mppde(recipe.params, np.random.default_rng(sample_seed(0, "train", 2)))
    np.testing.assert_array_equal(stored.fields["u"], expected.fields["u"])
    rerun = _rerun(stored, 200, 4.0, "reference")
    u = stored.fields["u"][:, :, 0]
    assert np.abs(rerun - u).max() <= 1e-6 * np.abs(u).max()
    graph = open_dataset(tmp_path, split="train", history=1, horizon=1)[249]  # sample 1, frames 0 -> 1
    assert graph.num_nodes == 200 and graph.num_edges == 2 * 199 and graph.params.shape == (1, 23)
    with ShardReader(tmp_path / "shard-00000.h5") as reader:
        second = reader.sample(1).fields["u"]
    np.testing.assert_allclose(graph.x.numpy(), second[0], rtol=1e-6)
    np.testing.assert_allclose(graph.y.numpy(), second[1], rtol=1e-6)
