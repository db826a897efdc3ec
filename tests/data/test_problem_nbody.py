"""Tests for meshsim.data.problems.nbody: N-body samples, the shipped recipes and their graphs."""
import numpy as np

from meshsim.data import PROBLEMS, Recipe, ShardReader, generate, load_recipe, sample_seed
from meshsim.data import open as open_dataset
from meshsim.data.problems.nbody import (ChargedNBodyParams, GravityNBodyParams, sample_charged_nbody,
                                         sample_gravity_nbody)
from meshsim.sim import charged_system


def test_a_charged_sample_is_the_simulated_trajectory_on_the_complete_graph():
    params = ChargedNBodyParams(num_frames=4, steps_per_frame=50)
    sample = sample_charged_nbody(params, np.random.default_rng(7))
    traj = charged_system(1, steps=200, every=50, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(sample.fields["pos"], traj.pos[0])
    np.testing.assert_array_equal(sample.fields["vel"], traj.vel[0])
    np.testing.assert_array_equal(sample.fields["charge"], traj.params[0][:, None])
    np.testing.assert_allclose(sample.times, [0.0, 0.05, 0.1, 0.15, 0.2])
    np.testing.assert_array_equal(sample.points, traj.pos[0, 0])
    assert sample.cells.shape == (10, 2) and len({tuple(c) for c in np.sort(sample.cells, 1)}) == 10
    assert float(sample.params["clip_events"]) == traj.clip_events[0]


def test_a_gravity_sample_holds_masses_and_no_drift():
    sample = sample_gravity_nbody(GravityNBodyParams(num_particles=4, dim=2, num_frames=3), np.random.default_rng(1))
    assert sample.fields["pos"].shape == (4, 4, 2)
    np.testing.assert_array_equal(sample.fields["mass"], np.ones((4, 1)))
    assert np.abs(sample.fields["vel"].sum(axis=1)).max() < 1e-12


def test_shipped_recipes_are_the_published_setup():
    charged = load_recipe("nbody_charged")
    assert charged.splits == {"train": 3000, "valid": 2000, "test": 2000}
    assert charged.params == ChargedNBodyParams()
    assert (charged.params.dt, charged.params.steps_per_frame, charged.params.max_force) == (0.001, 100, 100.0)
    assert load_recipe("nbody_gravity").params == GravityNBodyParams()
    assert PROBLEMS["nbody_charged"].targets == ("pos", "vel")


def test_the_dataset_gives_fully_connected_windows(tmp_path):
    recipe = Recipe.from_dict({"name": "tiny_nbody", "problem": "nbody_charged", "seed": 3,
                               "samples_per_shard": 2, "splits": {"train": 2, "valid": 1},
                               "params": {"num_frames": 4, "steps_per_frame": 20}})
    generate(recipe, tmp_path, progress=False)
    dataset = open_dataset(tmp_path, split="train", history=1, horizon=2)
    assert len(dataset) == 2 * 3  # 5 frames - history - horizon + 1 windows per sample
    graph = dataset[1]  # sample 0, window t = 1
    with ShardReader(tmp_path / "shard-00000.h5") as reader:
        sample = reader.sample(0)
    expected = sample_charged_nbody(recipe.params, np.random.default_rng(sample_seed(3, "train", 0)))
    np.testing.assert_array_equal(sample.fields["pos"], expected.fields["pos"])
    assert graph.num_edges == 20 and graph.num_nodes == 5
    pos, vel = sample.fields["pos"], sample.fields["vel"]
    np.testing.assert_allclose(graph.x.numpy(), np.concatenate([pos[1], vel[1], sample.fields["charge"]], 1),
                               rtol=1e-6)
    np.testing.assert_allclose(graph.y.numpy(), np.concatenate([pos[2], pos[3], vel[2], vel[3]], 1), rtol=1e-6)


def test_a_reference_protocol_sample_numbers_frames_from_the_first_step_block():
    from meshsim.sim.nbody_reference import reference_charged_system

    params = ChargedNBodyParams(num_frames=4, steps_per_frame=50, reference_protocol=True)
    sample = sample_charged_nbody(params, np.random.default_rng(7))
    traj = reference_charged_system(1, seed=np.random.default_rng(7), steps=200, every=50, length=250)
    assert sample.fields["pos"].shape == (4, 5, 3)  # no initial frame: frame k is step 50 (k + 1)
    np.testing.assert_allclose(sample.times, [0.05, 0.1, 0.15, 0.2])
    np.testing.assert_array_equal(sample.fields["pos"], traj.pos[0])
    np.testing.assert_array_equal(sample.fields["vel"], traj.vel[0])
    recipe = load_recipe("nbody_charged_reference")
    assert recipe.params.reference_protocol and recipe.params.num_frames == 49 and recipe.seed == 43
