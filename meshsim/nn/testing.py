"""`assert_equivariant`: measure a graph model's equivariance to Euclidean maps and node permutations."""
from __future__ import annotations

from typing import Callable, Literal, Sequence

import torch
from torch_geometric.data import Data

#: group name -> (exercise a reflection, exercise a translation)
GROUPS = {"E(n)": (True, True), "SE(n)": (False, True), "O(n)": (True, False), "SO(n)": (False, False)}
#: default tolerance on the largest absolute output error, per floating-point type
DEFAULT_ATOL = {torch.float64: 1e-9, torch.float32: 1e-4}


def random_orthogonal(dim: int, *, reflection: bool, generator: torch.Generator,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A Haar-random (dim, dim) orthogonal matrix with determinant -1 if ``reflection`` else +1."""
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if (torch.linalg.det(q) < 0) != reflection:
        q[:, 0] = -q[:, 0]
    return q.to(dtype)


def _node_permutation(data: Data, generator: torch.Generator) -> torch.Tensor:
    """Random order of the nodes; within each graph of a `Batch`, so ``batch`` stays sorted."""
    keys = torch.rand(data.num_nodes, generator=generator, dtype=torch.float64)
    if getattr(data, "batch", None) is not None:
        keys = keys + data.batch.to(torch.float64)
    return torch.argsort(keys)


def _permuted(data: Data, perm: torch.Tensor, generator: torch.Generator) -> Data:
    """Node ``k`` of the result is node ``perm[k]`` of ``data``; edges are relabelled and reshuffled
    (still sorted by target node if they were)."""
    out = data.clone()
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel())
    edge_index = inverse[data.edge_index]
    ties = 0.5 * torch.rand(edge_index.shape[1], generator=generator, dtype=torch.float64)
    edge_order = torch.argsort(edge_index[1].to(torch.float64) + ties)
    for key, value in data.items():
        if key == "edge_index" or not torch.is_tensor(value):
            continue
        if data.is_node_attr(key):
            out[key] = value[perm]
        elif data.is_edge_attr(key):
            out[key] = value[edge_order]
    out.edge_index = edge_index[:, edge_order]
    return out


def _moved(data: Data, matrix: torch.Tensor | None, shift: torch.Tensor | None,
           points: Sequence[str], vectors: Sequence[str]) -> Data:
    out = data.clone()
    for key in points:
        value = data[key] if matrix is None else data[key] @ matrix.T
        out[key] = value if shift is None else value + shift
    for key in vectors:
        if key in data and matrix is not None:
            out[key] = data[key] @ matrix.T
    return out


def assert_equivariant(model: Callable[[Data], torch.Tensor], data: Data, group: str = "E(n)",
                       atol: float | None = None, *,
                       output: Literal["point", "vector", "invariant"] = "point",
                       points: Sequence[str] = ("pos",), vectors: Sequence[str] = ("vel",),
                       seed: int = 0) -> dict[str, float]:
    """Check ``model(g . data) == g . model(data)`` for random group elements g.

    The transformations, each checked on its own and then all together ("combined"):

    - rotation: a random orthogonal matrix Q with det +1;
    - reflection (E(n), O(n)): a random orthogonal Q with det -1;
    - translation (E(n), SE(n)): a random shift t ~ N(0, 1) per coordinate;
    - permutation: a random node order (within each graph of a `Batch`) with edges relabelled and
      reshuffled.

    Fields named in ``points`` (N, dim) map to ``x Q^T + t``; fields in ``vectors`` (velocities,
    forces) to ``v Q^T`` (those absent from ``data`` are skipped); everything else is left as is, so
    ``x`` and ``edge_attr`` must be invariant inputs. The model's node-level output maps according to
    ``output``. Errors are the largest absolute differences. The model runs under ``torch.no_grad`` and
    should be in eval mode.

    Args:
        model: callable mapping a `Data` to an (N, ...) tensor.
        data: the input graph; its first ``points`` field sets dim and dtype.
        group: "E(n)", "SE(n)", "O(n)" or "SO(n)".
        atol: allowed error; default 1e-9 in float64 and 1e-4 in float32.
    Returns:
        the error of each transformation, e.g. ``{"rotation": 3e-16, "reflection": ..., ...}``.
    Raises:
        AssertionError: naming every transformation whose error exceeds ``atol`` (or is NaN).
    """
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; expected one of {sorted(GROUPS)}")
    if output not in ("point", "vector", "invariant"):
        raise ValueError(f"output must be 'point', 'vector' or 'invariant', got {output!r}")
    missing = [key for key in points if key not in data]
    if not points or missing:
        raise ValueError(f"data has no point field(s) {missing or list(points)} to transform")
    reference_field = data[points[0]]
    dim, dtype = reference_field.shape[1], reference_field.dtype
    if atol is None:
        if dtype not in DEFAULT_ATOL:
            raise ValueError(f"no default tolerance for dtype {dtype}; pass atol")
        atol = DEFAULT_ATOL[dtype]
    reflection, translation = GROUPS[group]
    generator = torch.Generator().manual_seed(seed)
    rotation = random_orthogonal(dim, reflection=False, generator=generator, dtype=dtype)
    reflected = random_orthogonal(dim, reflection=True, generator=generator, dtype=dtype)
    shift = torch.randn(dim, generator=generator, dtype=torch.float64).to(dtype)
    perm = _node_permutation(data, generator)

    def expected(out, matrix, t, permutation):
        if output != "invariant" and matrix is not None:
            out = out @ matrix.T
        if output == "point" and t is not None:
            out = out + t
        return out if permutation is None else out[permutation]

    cases = {"rotation": (rotation, None, None)}
    if reflection:
        cases["reflection"] = (reflected, None, None)
    if translation:
        cases["translation"] = (None, shift, None)
    cases["permutation"] = (None, None, perm)
    cases["combined"] = (reflected if reflection else rotation, shift if translation else None, perm)

    errors = {}
    with torch.no_grad():
        reference = model(data)
        for name, (matrix, t, permutation) in cases.items():
            moved = _moved(data, matrix, t, points, vectors)
            if permutation is not None:
                moved = _permuted(moved, permutation, generator)
            difference = model(moved) - expected(reference, matrix, t, permutation)
            errors[name] = float(difference.abs().max())
    failed = {name: err for name, err in errors.items() if not err <= atol}
    if failed:
        detail = ", ".join(f"{name} {err:.3g}" for name, err in failed.items())
        raise AssertionError(f"model is not {group}-equivariant: error above atol {atol:g} for {detail}")
    return errors
