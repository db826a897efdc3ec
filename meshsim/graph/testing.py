"""Test helpers for graphs (like `meshsim.nn.testing`): exact comparison of two `Data` graphs."""
from __future__ import annotations

import torch
from torch_geometric.data import Data


def assert_same_graph(graph: Data, expected: Data, *, same_keys: bool = True) -> None:
    """Raise AssertionError unless every attribute of ``expected`` is in ``graph`` with the same
    dtype, shape and values (tensors compared exactly); with ``same_keys``, ``graph`` must also
    have no other attributes. The message names the first differing attribute."""
    if same_keys and sorted(graph.keys()) != sorted(expected.keys()):
        raise AssertionError(f"attributes differ: {sorted(graph.keys())} != {sorted(expected.keys())}")
    for key in expected.keys():
        value, want = graph[key], expected[key]
        if isinstance(want, torch.Tensor):
            if not (isinstance(value, torch.Tensor) and value.dtype == want.dtype and torch.equal(value, want)):
                raise AssertionError(f"attribute {key!r} differs")
        elif value != want:
            raise AssertionError(f"attribute {key!r} differs: {value!r} != {want!r}")
