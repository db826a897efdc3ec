"""The SKR ordering (Wang et al., ICLR 2024): solve similar systems one after the other, so what
a solver carries from one to the next (a recycled subspace) fits."""
from __future__ import annotations

import numpy as np

from ..errors import FEMError


def sort_by_similarity(features: np.ndarray, start: int = 0) -> np.ndarray:
    """Greedy nearest-neighbour order of systems described by ``features``.

    Starting at system ``start``, the next system is always the nearest (Euclidean distance,
    lowest index on ties) of those not yet taken; SKR's reference code does this on the
    coefficient fields (the Frobenius distance between them). O(S^2 d), exact and free of BLAS
    reductions, so the order is the same on every run.

    Args:
        features: (S,) or (S, d): one row per system, e.g. its parameters or its coefficient field
            at the mesh points (scale columns of mixed units first).
        start: index of the first system.

    Returns:
        (S,) int64 permutation: solve system ``order[0]`` first, then ``order[1]``, ...
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or len(features) == 0:
        raise FEMError(f"features must be (S,) or (S, d) with S >= 1, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise FEMError("features must be finite")
    count = len(features)
    if not 0 <= start < count:
        raise FEMError(f"start must be in [0, {count}), got {start}")
    order = np.empty(count, dtype=np.int64)
    remaining = np.delete(np.arange(count), start)
    order[0] = current = start
    for position in range(1, count):
        distances = np.square(features[remaining] - features[current]).sum(axis=1)
        nearest = int(np.argmin(distances))
        current = remaining[nearest]
        order[position] = current
        remaining = np.delete(remaining, nearest)
    return order
