import pytest

from meshsim.data import DatasetError, Recipe, load_recipe, shipped_recipes
from meshsim.data.recipes import RECIPE_DIR

SHIPPED = ["cylinder_flow", "darcy_square", "elasticity_plate_with_holes", "heat_random_domains",
           "poisson_random_domains"]


def test_every_shipped_recipe_loads_and_round_trips():
    assert set(SHIPPED) <= set(shipped_recipes())
    for name in shipped_recipes():
        recipe = load_recipe(name)
        assert recipe.name == name
        assert recipe == Recipe.from_dict(recipe.to_dict())


@pytest.mark.parametrize("name", SHIPPED)
def test_each_dataset_of_this_issue_has_a_card(name):
    assert (RECIPE_DIR / f"{name}.md").is_file()


def test_load_by_path_equals_load_by_name():
    assert load_recipe(RECIPE_DIR / "darcy_square.toml") == load_recipe("darcy_square")


def test_unknown_recipe_names_the_shipped_ones():
    with pytest.raises(DatasetError, match="no recipe file 'nope'.*darcy_square"):
        load_recipe("nope")


def _write(tmp_path, text):
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


BASE = 'name = "x"\nproblem = "darcy"\n[splits]\ntrain = 4\n'


@pytest.mark.parametrize("text, message", [
    (BASE + '[params]\nh = 0.05\nmesh_size = 2\n', "r.toml.params: unknown key 'mesh_size'"),
    (BASE + '[params]\nh = 5.0\n', "r.toml.params.h = 5.0 is out of range [0.002, 0.5]"),
    (BASE + '[params]\nlength_scale = [0.3, 0.1]\n', "r.toml.params.length_scale = [0.3, 0.1] has low > high"),
    ('seeed = 3\n' + BASE, "r.toml: unknown key 'seeed'"),
    (BASE.replace('"darcy"', '"darcey"'), "r.toml.problem = 'darcey' is not a known problem"),
    (BASE + 'valid = -1\n', "r.toml.splits.valid = -1 is out of range"),
    (BASE + 'training = 3\n', "r.toml.splits: unknown split 'training'"),
    (BASE.replace("train = 4", "train = 0"), "r.toml.splits.train must be at least 1"),
    ('samples_per_shard = 0\n' + BASE, "r.toml.samples_per_shard = 0 is out of range"),
    ('name = "x"\n[splits]\ntrain = 1\n', "r.toml: missing key 'problem'"),
    (BASE + '[params\n', "not valid TOML"),
])
def test_bad_recipes_are_rejected_naming_the_key(tmp_path, text, message):
    with pytest.raises(DatasetError) as info:
        load_recipe(_write(tmp_path, text))
    assert message in str(info.value)


def test_cylinder_that_leaves_the_channel_is_rejected(tmp_path):
    text = 'name = "c"\nproblem = "cylinder_flow"\n[splits]\ntrain = 1\n[params]\ncenter_y = [0.08, 0.2]\nradius = [0.04, 0.07]\n'
    with pytest.raises(DatasetError, match="params.center_y"):
        load_recipe(_write(tmp_path, text))


def test_num_samples_override_keeps_split_proportions():
    recipe = Recipe.from_dict(
        {"name": "x", "problem": "darcy", "splits": {"train": 32, "valid": 4, "test": 4}})
    assert recipe.with_overrides(num_samples=80).splits == {"train": 64, "valid": 8, "test": 8}
    assert recipe.with_overrides(num_samples=10).splits == {"train": 8, "valid": 1, "test": 1}
    assert recipe.with_overrides(num_samples=2).splits == {"train": 2, "valid": 0, "test": 0}
    assert recipe.with_overrides(seed=5).seed == 5 and recipe.with_overrides(seed=5).splits == recipe.splits
    with pytest.raises(DatasetError, match="num_samples = 0 is out of range"):
        recipe.with_overrides(num_samples=0)


def test_overrides_replace_splits_and_params_and_validate_them():
    base = load_recipe("darcy_square")
    recipe = base.with_overrides(splits={"train": 3, "test": 1}, params={"h": 0.2}, seed=7)
    assert recipe.splits == {"train": 3, "test": 1} and recipe.params.h == 0.2 and recipe.seed == 7
    assert recipe.params.a_high == base.params.a_high and recipe.problem == base.problem
    assert base.with_overrides(splits={"train": 3, "test": 1}, num_samples=8).splits == {"train": 6, "test": 2}
    with pytest.raises(DatasetError, match="darcy_square overrides.*'nope'"):
        base.with_overrides(params={"nope": 1.0})
    with pytest.raises(DatasetError, match="train must be at least 1"):
        base.with_overrides(splits={"test": 2})
