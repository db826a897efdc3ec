"""Declaring and checking recipe parameters.

A problem's parameters are a frozen dataclass whose fields are declared with `number` (a fixed
value) or `interval` (a (low, high) range that each sample draws from uniformly); both carry the
bounds a recipe value must lie in. `parse_params` builds such a dataclass from a TOML table,
rejecting unknown keys, wrong types and out-of-range values with a `DatasetError` naming the key.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np

from .errors import DatasetError


def number(default: float | int | bool, low: float = -math.inf, high: float = math.inf, doc: str = ""):
    """A fixed parameter in [low, high]; an int default makes it an integer parameter."""
    return dataclasses.field(default=default, metadata={"bounds": (low, high), "doc": doc})


def interval(default: tuple, low: float = -math.inf, high: float = math.inf, doc: str = ""):
    """A (lo, hi) range inside [low, high] that samples draw from uniformly; integer ranges when
    the default's entries are ints (both ends included)."""
    return dataclasses.field(default=tuple(default), metadata={"bounds": (low, high), "doc": doc})


def uniform(rng: np.random.Generator, bounds: tuple) -> float:
    """One draw from the (lo, hi) range: a float, or an int in [lo, hi] for integer ranges."""
    lo, hi = bounds
    if isinstance(lo, int) and isinstance(hi, int):
        return int(rng.integers(lo, hi + 1))
    return float(rng.uniform(lo, hi))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scalar(key: str, value, default, bounds) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise DatasetError(f"{key} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if not _is_int(value):
            raise DatasetError(f"{key} must be an integer, got {value!r}")
    elif isinstance(default, float):
        if not (_is_int(value) or isinstance(value, float)):
            raise DatasetError(f"{key} must be a number, got {value!r}")
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise DatasetError(f"{key} must be a string, got {value!r}")
        return value
    low, high = bounds
    if not (low <= value <= high):
        raise DatasetError(f"{key} = {value!r} is out of range [{low}, {high}]")
    return value


def _check_value(key: str, value, default, bounds) -> Any:
    if not isinstance(default, tuple):
        return _check_scalar(key, value, default, bounds)
    if not isinstance(value, (list, tuple)) or len(value) != len(default):
        raise DatasetError(f"{key} must be a list [low, high] of {len(default)} values, got {value!r}")
    checked = tuple(_check_scalar(f"{key}[{i}]", v, d, bounds) for i, (v, d) in enumerate(zip(value, default)))
    if len(checked) == 2 and checked[0] > checked[1]:
        raise DatasetError(f"{key} = {list(checked)} has low > high")
    return checked


def parse_params(cls, table: Mapping[str, Any], where: str):
    """Instance of the parameter dataclass ``cls`` from a TOML table (missing keys keep their
    defaults). ``where`` prefixes the key in error messages, e.g. ``"recipe.toml: params"``."""
    if not isinstance(table, Mapping):
        raise DatasetError(f"{where} must be a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise DatasetError(f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(fields))})")
    values = {name: _check_value(f"{where}.{name}", value, fields[name].default, fields[name].metadata["bounds"])
              for name, value in table.items()}
    instance = cls(**values)
    check = getattr(instance, "check", None)
    if check is not None:
        check(where)
    return instance


def params_to_dict(params) -> dict:
    """JSON/TOML-friendly dict of a parameter dataclass (ranges become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(params).items()}


def check_all_defaults(cls) -> None:
    """Raise `DatasetError` if a default of the parameter dataclass ``cls`` breaks its own bounds
    (a programming error; used by tests)."""
    parse_params(cls, params_to_dict(cls()), cls.__name__)
