"""The recipe key ``solver``: darcy, poisson and heat solved as sequences (SKR order within a
shard) give deterministic shards whatever the worker count, equal to the direct solves to the
solver's tolerance."""
import json

import numpy as np
import pytest

from meshsim.data import DatasetError, PROBLEMS, ShardReader, generate, load_recipe, make_shard, plan_shards
from meshsim.data import shard_sampling
from meshsim.data.plan import sample_seed
from meshsim.data.shard_sampling import solve_in_order
from meshsim.fem.sequence import sort_by_similarity


def _recipe(tmp_path, problem, solver, train=8, per_shard=4, **params):
    lines = [f'name = "tiny_{problem}"', f'problem = "{problem}"', f"samples_per_shard = {per_shard}",
             "[splits]", f"train = {train}", "[params]", f'solver = "{solver}"', "n_modes = 16",
             *(f"{key} = {value}" for key, value in params.items())]
    path = tmp_path / f"{problem}-{solver}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fields(folder, name):
    meta = json.loads((folder / "meta.json").read_text())
    values = []
    for shard in meta["shards"]:
        with ShardReader(folder / shard["file"]) as reader:
            values += [reader.sample(i).fields[name] for i in range(len(reader))]
    return values


@pytest.mark.parametrize("solver", ["recycle", "bandit_sor"])
def test_sequence_solvers_give_the_same_shards_with_any_worker_count(tmp_path, solver):
    recipe = _recipe(tmp_path, "darcy", solver, h=0.1)
    generate(recipe, tmp_path / "one", workers=1, progress=False)
    generate(recipe, tmp_path / "two", workers=2, progress=False)
    one = json.loads((tmp_path / "one" / "meta.json").read_text())
    two = json.loads((tmp_path / "two" / "meta.json").read_text())
    assert [s["sha256"] for s in one["shards"]] == [s["sha256"] for s in two["shards"]]
    assert one["recipe"]["params"]["solver"] == solver
    generate(_recipe(tmp_path, "darcy", "direct", h=0.1), tmp_path / "direct", workers=1, progress=False)
    for u, exact in zip(_fields(tmp_path / "one", "u"), _fields(tmp_path / "direct", "u"), strict=True):
        assert np.abs(u - exact).max() <= 1e-7 * np.abs(exact).max()


def test_darcy_shard_is_solved_in_skr_order_by_one_recycling_solver(tmp_path, monkeypatch):
    recipe = load_recipe(_recipe(tmp_path, "darcy", "recycle", h=0.1, solver_tol=1e-8))
    seeds = [sample_seed(recipe.seed, "train", i) for i in range(6)]
    solvers, orders = [], []
    make_solver = type(recipe.params).make_solver
    monkeypatch.setattr(type(recipe.params), "make_solver",
                        lambda self, seed=0: solvers.append(make_solver(self, seed)) or solvers[-1])
    monkeypatch.setattr(shard_sampling, "sort_by_similarity",
                        lambda features: orders.append(sort_by_similarity(features)) or orders[-1])
    outcomes = solve_in_order(PROBLEMS["darcy"].draw, recipe.params, seeds)
    drafts = [PROBLEMS["darcy"].draw(recipe.params, np.random.default_rng(s)) for s in seeds]
    # the SKR order of the shard's permeability fields, solved by one solver
    np.testing.assert_array_equal(orders[0], sort_by_similarity(np.stack([d.features for d in drafts])))
    assert len(solvers) == 1 and len(solvers[0].records) == 6
    assert all(r.residual <= 1e-8 for r in solvers[0].records)
    assert solvers[0].iterations[1:].max() < solvers[0].iterations[0]  # the recycled subspace helps
    for seed, draft in zip(seeds, drafts):
        np.testing.assert_array_equal(outcomes[seed].fields["a"][:, 0], draft.features)


@pytest.mark.parametrize("problem, params", [("poisson", {"h": 0.3}), ("heat", {"h": 0.3, "num_steps": 4})])
def test_random_domain_problems_with_sequence_solvers_match_direct(tmp_path, problem, params):
    results = {}
    for solver in ("direct", "recycle", "bandit_sor"):
        recipe = load_recipe(_recipe(tmp_path, problem, solver, train=3, per_shard=3, **params))
        task = plan_shards(recipe.splits, recipe.samples_per_shard)[0]
        (tmp_path / solver).mkdir()
        make_shard(recipe, task, str(tmp_path / solver))
        with ShardReader(tmp_path / solver / task.file_name) as reader:
            results[solver] = [reader.sample(i).fields["u"] for i in range(len(reader))]
    for solver in ("recycle", "bandit_sor"):
        for u, exact in zip(results[solver], results["direct"], strict=True):
            assert np.abs(u - exact).max() <= 1e-7 * np.abs(exact).max()


def test_unknown_solver_is_a_recipe_error(tmp_path):
    with pytest.raises(DatasetError, match=r"params.solver = 'gmres' is not a solver \(solvers: auto, direct, amg, "
                                           r"recycle, bandit_sor\)"):
        load_recipe(_recipe(tmp_path, "darcy", "gmres"))


def test_generate_command_takes_a_solver(tmp_path, capsys):
    import argparse

    from meshsim.data.cli import add_commands

    parser = argparse.ArgumentParser(prog="meshsim")
    add_commands(parser.add_subparsers(dest="command", required=True))
    recipe = _recipe(tmp_path, "darcy", "auto", train=2, per_shard=2, h=0.2)
    args = parser.parse_args(["generate", str(recipe), "--out", str(tmp_path / "d"), "--quiet", "--solver", "bandit_sor"])
    assert args.func(args) == 0
    assert "linear solver: bandit_sor, relative residual 1e-10" in capsys.readouterr().out
    assert json.loads((tmp_path / "d" / "meta.json").read_text())["recipe"]["params"]["solver"] == "bandit_sor"
    args = parser.parse_args(["generate", "nbody_charged", "--out", str(tmp_path / "n"), "--solver", "recycle"])
    assert args.func(args) == 2
    assert "unknown key 'solver'" in capsys.readouterr().err
