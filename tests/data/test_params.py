from dataclasses import dataclass

import numpy as np
import pytest

from meshsim.data import DatasetError
from meshsim.data.params import check_all_defaults, interval, number, params_to_dict, parse_params, uniform
from meshsim.data.problems import PROBLEMS


@dataclass(frozen=True)
class P:
    h: float = number(0.1, 0.01, 1.0)
    n: int = number(3, 0, 8)
    flag: bool = number(False)
    r: tuple = interval((0.5, 2.0), 0.0, 10.0)
    k: tuple = interval((2, 5), 1, 9)


def test_parse_keeps_defaults_and_converts_ints_to_floats():
    p = parse_params(P, {"h": 1, "r": [1, 3]}, "t")
    assert p == P(h=1.0, r=(1.0, 3.0))
    assert isinstance(p.h, float) and isinstance(p.r[0], float)
    assert params_to_dict(p) == {"h": 1.0, "n": 3, "flag": False, "r": [1.0, 3.0], "k": [2, 5]}


@pytest.mark.parametrize("table, message", [
    ({"hh": 0.1}, "t: unknown key 'hh'"),
    ({"h": 2.0}, "t.h = 2.0 is out of range [0.01, 1.0]"),
    ({"h": "big"}, "t.h must be a number"),
    ({"n": 2.5}, "t.n must be an integer"),
    ({"n": True}, "t.n must be an integer"),
    ({"flag": 1}, "t.flag must be true or false"),
    ({"r": [3.0, 1.0]}, "t.r = [3.0, 1.0] has low > high"),
    ({"r": [1.0]}, "t.r must be a list [low, high] of 2 values"),
    ({"r": [1.0, 11.0]}, "t.r[1] = 11.0 is out of range [0.0, 10.0]"),
    ({"k": [0, 3]}, "t.k[0] = 0 is out of range [1, 9]"),
    ({"k": [1.5, 3]}, "t.k[0] must be an integer"),
])
def test_bad_values_are_rejected_naming_the_key(table, message):
    with pytest.raises(DatasetError) as info:
        parse_params(P, table, "t")
    assert message in str(info.value)


def test_uniform_draws_floats_in_range_and_integers_inclusive():
    rng = np.random.default_rng(0)
    floats = [uniform(rng, (0.5, 2.0)) for _ in range(200)]
    ints = [uniform(rng, (2, 4)) for _ in range(200)]
    assert all(0.5 <= x <= 2.0 for x in floats) and all(isinstance(i, int) for i in ints)
    assert set(ints) == {2, 3, 4}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_every_problem_default_lies_in_its_bounds(name):
    check_all_defaults(PROBLEMS[name].params)
