"""Recipes: what a dataset is made of (problem, parameter ranges, split sizes, seed), read from TOML.

    name = "poisson_random_domains"
    description = "..."
    problem = "poisson"          # a key of meshsim.data.problems.PROBLEMS
    seed = 0
    samples_per_shard = 8
    [splits]                     # samples per split: train, valid, test
    train = 32
    valid = 4
    test = 4
    [params]                     # the problem's parameters (see its dataclass)
    h = 0.05
    kappa = [0.5, 2.0]           # a range: each sample draws uniformly from it

Every key and value is checked when the recipe is loaded, before any work starts.
"""
from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import DatasetError
from .params import parse_params, params_to_dict
from .plan import SPLITS
from .problems import PROBLEMS

#: folder of the recipes shipped with meshsim (datasets/ at the repository root)
RECIPE_DIR = Path(__file__).resolve().parents[2] / "datasets"
_TOP_KEYS = ("name", "description", "problem", "seed", "samples_per_shard", "splits", "params")
_MAX_SAMPLES = 10**9


@dataclass(frozen=True)
class Recipe:
    """A validated dataset recipe.

    Attributes:
        name: dataset name.
        problem: key of `PROBLEMS` naming the sample function.
        params: the problem's parameter dataclass instance.
        splits: samples per split, e.g. ``{"train": 32, "valid": 4, "test": 4}``.
        seed: base seed; per-sample seeds derive from (seed, split, index).
        samples_per_shard: samples per HDF5 shard (one shard is one task).
        description: one paragraph for the dataset card.
    """

    name: str
    problem: str
    params: Any
    splits: Mapping[str, int]
    seed: int = 0
    samples_per_shard: int = 16
    description: str = ""

    @property
    def num_samples(self) -> int:
        return sum(self.splits.values())

    def to_dict(self) -> dict:
        """Plain dict (JSON/TOML) that `Recipe.from_dict` turns back into an equal recipe."""
        return {"name": self.name, "description": self.description, "problem": self.problem, "seed": self.seed,
                "samples_per_shard": self.samples_per_shard, "splits": dict(self.splits),
                "params": params_to_dict(self.params)}

    @classmethod
    def from_dict(cls, table: Mapping[str, Any], where: str = "recipe") -> "Recipe":
        """Validated recipe from a dict, as read from TOML; `DatasetError` names any bad key."""
        unknown = sorted(set(table) - set(_TOP_KEYS))
        if unknown:
            raise DatasetError(f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(_TOP_KEYS)})")
        for key in ("name", "problem", "splits"):
            if key not in table:
                raise DatasetError(f"{where}: missing key {key!r}")
        name, problem = table["name"], table["problem"]
        if not isinstance(name, str) or not name:
            raise DatasetError(f"{where}.name must be a non-empty string, got {name!r}")
        if problem not in PROBLEMS:
            raise DatasetError(f"{where}.problem = {problem!r} is not a known problem "
                               f"(known: {', '.join(sorted(PROBLEMS))})")
        description = table.get("description", "")
        if not isinstance(description, str):
            raise DatasetError(f"{where}.description must be a string")
        return cls(name=name, problem=problem,
                   params=parse_params(PROBLEMS[problem].params, table.get("params", {}), f"{where}.params"),
                   splits=_parse_splits(table["splits"], f"{where}.splits"),
                   seed=_integer(table.get("seed", 0), f"{where}.seed", 0, 2**63 - 1),
                   samples_per_shard=_integer(table.get("samples_per_shard", 16), f"{where}.samples_per_shard",
                                              1, 100_000),
                   description=description)

    def with_overrides(self, num_samples: int | None = None, seed: int | None = None, *,
                       splits: Mapping[str, int] | None = None,
                       params: Mapping[str, Any] | None = None) -> "Recipe":
        """This recipe with other ``splits`` (sample counts by split), some ``params`` replaced
        (validated as in a recipe file; `DatasetError` names a bad key or value), then
        ``num_samples`` in all (shared out in the split proportions) and/or another base ``seed``."""
        recipe = self
        if splits is not None or params is not None:
            table = self.to_dict()
            table["params"].update(params or {})
            table["splits"] = dict(splits) if splits is not None else table["splits"]
            recipe = Recipe.from_dict(table, where=f"{self.name} overrides")
        if seed is not None:
            recipe = dataclasses.replace(recipe, seed=_integer(seed, "seed", 0, 2**63 - 1))
        if num_samples is not None:
            total = _integer(num_samples, "num_samples", 1, _MAX_SAMPLES)
            recipe = dataclasses.replace(recipe, splits=_scale_splits(recipe.splits, total))
        return recipe


def _integer(value, key: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DatasetError(f"{key} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise DatasetError(f"{key} = {value} is out of range [{low}, {high}]")
    return value


def _parse_splits(table, where: str) -> dict[str, int]:
    if not isinstance(table, Mapping):
        raise DatasetError(f"{where} must be a table of sample counts")
    unknown = sorted(set(table) - set(SPLITS))
    if unknown:
        raise DatasetError(f"{where}: unknown split {unknown[0]!r} (splits: {', '.join(SPLITS)})")
    splits = {s: _integer(table[s], f"{where}.{s}", 0, _MAX_SAMPLES) for s in SPLITS if s in table}
    if splits.get("train", 0) < 1:
        raise DatasetError(f"{where}.train must be at least 1")
    return splits


def _scale_splits(splits: Mapping[str, int], total: int) -> dict[str, int]:
    """``total`` samples shared out in the proportions of ``splits`` (largest remainders first)."""
    size = sum(splits.values())
    exact = {s: total * n / size for s, n in splits.items()}
    counts = {s: math.floor(x) for s, x in exact.items()}
    by_remainder = sorted(splits, key=lambda s: (-(exact[s] - counts[s]), SPLITS.index(s)))
    for split in by_remainder[:total - sum(counts.values())]:
        counts[split] += 1
    return counts


def shipped_recipes() -> list[str]:
    """Names of the recipes in datasets/*.toml."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.toml"))


def load_recipe(spec: str | Path) -> Recipe:
    """Recipe from a TOML file path, or from the name of a shipped recipe (``"darcy_square"``)."""
    path = Path(spec)
    if not path.is_file():
        shipped = RECIPE_DIR / f"{spec}.toml"
        if path.suffix == ".toml" or not shipped.is_file():
            raise DatasetError(f"no recipe file {str(spec)!r} and no shipped recipe of that name "
                               f"(shipped: {', '.join(shipped_recipes()) or 'none'})")
        path = shipped
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise DatasetError(f"{path}: not valid TOML ({error})") from None
    return Recipe.from_dict(table, where=str(path))
