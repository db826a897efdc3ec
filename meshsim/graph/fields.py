"""Node fields <-> the feature matrices ``x`` / ``y`` of a graph.

A graph's ``x`` (and ``y``) is one (N, F) matrix: the selected fields side by side, each
flattened per node. Its layout is kept next to it as ``x_fields`` (``y_fields``): a list of
``(name, shape)`` pairs, ``shape`` being the field's per-node shape:

- ``()`` for a scalar field (N,): one column;
- ``(c,)`` for a vector field (N, c): c columns;
- ``(T, c)`` for a time window of T steps: T * c columns, time-major (column ``t * c + j``
  is step ``t``, channel ``j``), so ``x[:, :c]`` is the window's first (oldest) step.

A time window enters as a (T, N, c) array in a dict of fields (the simulators' time-major
layout) and as an (N, T, c) array in ``Mesh.point_data`` (a mesh keeps nodes first);
`to_mesh` writes it back as (N, T, c).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..mesh import Mesh
from .errors import GraphError

FieldLayout = list[tuple[str, tuple[int, ...]]]

#: torch dtypes that numpy casts to with the same rounding (float16 is left to torch: it may round
#: double -> half through float)
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _node_first(name: str, value, num_nodes: int, time_major: bool) -> np.ndarray:
    """``value`` as an (N, ...) array; a 3D ``value`` is (T, N, c) when ``time_major``."""
    array = np.asarray(value)
    if array.ndim == 3 and time_major:
        array = array.transpose(1, 0, 2)
    if array.ndim not in (1, 2, 3) or array.shape[0] != num_nodes:
        expected = "(N,), (N, c) or (T, N, c)" if time_major else "(N,), (N, c) or (N, T, c)"
        raise GraphError(f"field {name!r} has shape {np.shape(value)}; expected {expected} "
                         f"with N = {num_nodes} nodes")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise GraphError(f"field {name!r} has non-numeric dtype {array.dtype}")
    return array


def node_first_fields(fields: Mapping[str, object], num_nodes: int) -> dict[str, np.ndarray]:
    """Node-first arrays (N, ...) of a dict name -> array (N,), (N, c) or (T, N, c)."""
    return {str(name): _node_first(str(name), value, num_nodes, time_major=True) for name, value in fields.items()}


def select_fields(mesh: Mesh, fields: Sequence[str] | Mapping[str, object] | str) -> dict[str, np.ndarray]:
    """Node-first arrays of the selected fields: names of ``mesh.point_data`` or a dict
    name -> array (N,), (N, c) or (T, N, c)."""
    if isinstance(fields, str):
        fields = [fields]
    if isinstance(fields, Mapping):
        return node_first_fields(fields, mesh.num_points)
    missing = [name for name in fields if name not in mesh.point_data]
    if missing:
        raise GraphError(f"fields {missing} are not in the mesh's point_data {sorted(mesh.point_data)}")
    return {name: _node_first(name, mesh.point_data[name], mesh.num_points, time_major=False) for name in fields}


def stack_fields(arrays: Mapping[str, np.ndarray], dtype: torch.dtype) -> tuple[torch.Tensor, FieldLayout]:
    """(N, F) feature matrix of node-first ``arrays`` and its layout (see module docstring)."""
    if not arrays:
        raise GraphError("no fields selected; pass None instead of an empty selection")
    columns = [array.reshape(array.shape[0], -1) for array in arrays.values()]
    numpy_dtype = _NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None:
        matrix = torch.from_numpy(np.concatenate(columns, axis=1)).to(dtype)
    else:  # cast while concatenating: one copy instead of two, the same values as torch's cast
        matrix = torch.from_numpy(np.concatenate(columns, axis=1, dtype=numpy_dtype, casting="unsafe"))
    return matrix, [(name, tuple(int(n) for n in array.shape[1:])) for name, array in arrays.items()]


def unstack_fields(matrix: torch.Tensor, layout: FieldLayout, what: str) -> dict[str, np.ndarray]:
    """Node-first numpy arrays (N, *shape) of the fields in ``matrix`` (N, F) by ``layout``."""
    widths = [int(np.prod(shape)) for _, shape in layout]
    if sum(widths) != matrix.shape[1]:
        raise GraphError(f"{what} has {matrix.shape[1]} columns but its layout {layout} needs {sum(widths)}")
    array = matrix.detach().cpu().numpy()
    bounds = np.cumsum([0] + widths)
    return {name: array[:, start:stop].reshape(array.shape[0], *shape)
            for (name, shape), start, stop in zip(layout, bounds[:-1], bounds[1:])}
