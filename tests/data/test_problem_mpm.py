"""``mpm`` particle datasets: a particle cloud is stored without mesh edges, read back exactly, and
the shipped recipes are valid."""
import numpy as np
import pytest

from meshsim.data import DatasetError, Recipe, ShardReader, generate, load_recipe
from meshsim.data.problems.mpm import MPMParams, sample_mpm
from meshsim.data.params import check_all_defaults
from meshsim.train.particle_tasks import load_particle_split

TINY = {"name": "mpm_tiny", "problem": "mpm", "seed": 3, "samples_per_shard": 2,
        "splits": {"train": 2, "valid": 1, "test": 1},
        "params": {"material": "sand", "n_grid": 32, "substeps_per_frame": 20, "num_frames": 6,
                   "shape_size": [0.15, 0.25], "num_shapes": [2, 3]}}


def test_sample_is_a_particle_cloud_with_the_simulated_trajectory():
    params = MPMParams(material="jelly", n_grid=32, substeps_per_frame=10, num_frames=4, shape_size=(0.15, 0.25))
    sample = sample_mpm(params, np.random.default_rng(0))
    n = sample.num_nodes
    assert sample.cells.shape == (n, 1) and (sample.cells[:, 0] == np.arange(n)).all()
    assert sample.fields["position"].shape == (5, n, 2) and sample.times.tolist() == pytest.approx([0, 1e-3, 2e-3, 3e-3, 4e-3])
    assert (sample.fields["particle_type"] == 1).all() and (sample.node_type == 1).all()
    assert sample.params["radius"] == pytest.approx(2.5 / 64) and sample.params["frame_dt"] == pytest.approx(1e-3)
    # the stored frames are the simulator's from the stored initial state (velocities drawn per shape)
    assert np.array_equal(sample.fields["position"][0], sample.points)
    moved = sample.fields["position"][1] - sample.points
    assert np.abs(moved).max() > 0


def test_generated_store_reads_back_without_edges(tmp_path):
    recipe = Recipe.from_dict(TINY)
    meta = generate(recipe, tmp_path / "d", progress=False)
    assert meta["counts"] == {"train": 2, "valid": 1, "test": 1} and meta["nodes_per_cell"] == 1
    assert meta["fields"]["position"]["shape"] == ["T", "N", 2] and meta["num_steps"] == 7
    assert {"position", "position_increment"} <= set(meta["stats"])
    with ShardReader(tmp_path / "d" / meta["shards"][0]["file"]) as reader:
        sample = reader.sample(0)
        assert sample.edge_index.shape == (2, 0)  # nothing quadratic, no mesh edges
        # a second generation is bit-identical: the stored trajectory is reproducible
        again = generate(recipe, tmp_path / "e", progress=False)
        with ShardReader(tmp_path / "e" / again["shards"][0]["file"]) as other:
            assert np.array_equal(other.sample(0).fields["position"], sample.fields["position"])
    split = load_particle_split(tmp_path / "d", "train")
    assert len(split.trajectories) == 2 and split.bounds.tolist() == [[3 / 32, 29 / 32]] * 2
    first = split.trajectories[0]
    assert first.positions.shape[0] == 7 and (first.particle_type == 3).all()
    assert np.array_equal(first.positions, sample.fields["position"].astype(np.float32))


def test_shipped_recipes_and_bad_params(tmp_path):
    check_all_defaults(MPMParams)
    for material in ("water", "sand", "jelly"):
        recipe = load_recipe(f"mpm_{material}")
        assert recipe.params.material == material and recipe.problem == "mpm"
    with pytest.raises(DatasetError, match="material = 'mud'"):
        Recipe.from_dict(TINY | {"params": TINY["params"] | {"material": "mud"}})
    nbody = load_recipe("nbody_charged").with_overrides(splits={"train": 1}, params={"num_frames": 2})
    generate(nbody, tmp_path / "nbody", progress=False)
    with pytest.raises(DatasetError, match="expected a particle dataset"):
        load_particle_split(tmp_path / "nbody", "train")
