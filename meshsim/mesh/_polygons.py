"""Plane polygons for the gmsh generators: validity checks and random domains.

A polygon is a ``(V, 2)`` float64 array of vertices in order (either orientation), closed
implicitly (the last vertex connects to the first). A circle ``(cx, cy, r)`` is checked as its
circumscribed polygon, so checks on it are conservative.
"""
from __future__ import annotations

import numpy as np

from .errors import MeshError

#: vertices of the polygon that stands in for a circle in the checks
_CIRCLE_CHECK_VERTICES = 64


def as_polygon(shape, what: str, allow_circle: bool = True) -> np.ndarray:
    """(V, 2) vertices of a polygon, or the circumscribed polygon of a circle ``(cx, cy, r)``."""
    array = np.asarray(shape, dtype=np.float64)
    if array.shape == (3,) and allow_circle:
        cx, cy, r = array
        if not r > 0:
            raise MeshError(f"{what}: circle radius must be positive, got {r}")
        n = _CIRCLE_CHECK_VERTICES
        angles = 2.0 * np.pi * np.arange(n) / n
        rc = r / np.cos(np.pi / n)
        return np.stack([cx + rc * np.cos(angles), cy + rc * np.sin(angles)], axis=1)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3:
        circle = " or a circle (cx, cy, r)" if allow_circle else ""
        raise MeshError(f"{what} must be (V, 2) vertices with V >= 3{circle}, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise MeshError(f"{what} has non-finite vertices")
    return array


def signed_area(polygon: np.ndarray) -> float:
    """Shoelace area, positive for counter-clockwise vertices."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _segments(polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return polygon, np.roll(polygon, -1, axis=0)


def _orientation(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def _crossings(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(Sp, Sq) bool: whether closed segment i of polygon p meets closed segment j of q."""
    p1, p2 = (s[:, None, :] for s in _segments(p))
    q1, q2 = (s[None, :, :] for s in _segments(q))
    straddle = ((_orientation(q1, q2, p1) * _orientation(q1, q2, p2) <= 0)
                & (_orientation(p1, p2, q1) * _orientation(p1, p2, q2) <= 0))
    boxes_meet = ((np.minimum(p1, p2) <= np.maximum(q1, q2)) & (np.minimum(q1, q2) <= np.maximum(p1, p2))).all(-1)
    return straddle & boxes_meet


def _is_simple(polygon: np.ndarray) -> bool:
    """No two non-adjacent edges meet (adjacent edges share only their common vertex)."""
    n = len(polygon)
    i, j = np.triu_indices(n, k=2)
    non_adjacent = ~((i == 0) & (j == n - 1))
    return not _crossings(polygon, polygon)[i[non_adjacent], j[non_adjacent]].any()


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(P,) bool: points strictly inside the polygon (crossing-number test)."""
    a, b = (s[None, :, :] for s in _segments(polygon))
    x, y = points[:, None, 0], points[:, None, 1]
    spans = (a[..., 1] > y) != (b[..., 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[..., 0] + (y - a[..., 1]) * (b[..., 0] - a[..., 0]) / (b[..., 1] - a[..., 1])
    return (spans & (x < x_cross)).sum(axis=1) % 2 == 1


def distance_to_boundary(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(P,) distance from each point to the nearest edge of the polygon."""
    a, b = (s[None, :, :] for s in _segments(polygon))
    d = b - a
    t = np.clip(np.einsum("psd,psd->ps", points[:, None, :] - a, d) / np.einsum("psd,psd->ps", d, d), 0.0, 1.0)
    return np.linalg.norm(points[:, None, :] - (a + t[..., None] * d), axis=-1).min(axis=1)


def check_domain(outer: np.ndarray, holes: list[np.ndarray]) -> None:
    """Raise `MeshError` unless ``outer`` is a simple polygon and the holes are simple,
    strictly inside it and pairwise disjoint (holes as polygons, see `as_polygon`)."""
    for name, polygon in [("outer", outer)] + [(f"hole_{i}", hole) for i, hole in enumerate(holes)]:
        if not _is_simple(polygon):
            raise MeshError(f"polygon {name!r} intersects itself")
        if abs(signed_area(polygon)) <= 1e-14 * np.ptp(polygon, axis=0).max() ** 2:
            raise MeshError(f"polygon {name!r} has zero area")
    for i, hole in enumerate(holes):
        if _crossings(hole, outer).any() or not inside(hole, outer).all():
            raise MeshError(f"hole_{i} is not strictly inside the outer polygon")
        for j in range(i):
            if _crossings(hole, holes[j]).any() or inside(hole[:1], holes[j])[0] or inside(holes[j][:1], hole)[0]:
                raise MeshError(f"holes hole_{j} and hole_{i} overlap")


def random_star_polygon(rng: np.random.Generator, size: float, num_vertices: tuple[int, int]) -> np.ndarray:
    """(V, 2) counter-clockwise polygon, star-shaped about the origin, V in ``num_vertices``
    (inclusive), vertex angles jittered about equal spacing, radii in [0.55, 1] * size."""
    n = int(rng.integers(num_vertices[0], num_vertices[1] + 1))
    angles = 2.0 * np.pi * (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / n
    radii = size * rng.uniform(0.55, 1.0, n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def random_holes(rng: np.random.Generator, outer: np.ndarray, size: float, max_holes: int,
                 tries: int = 200) -> list:
    """Up to ``max_holes`` non-overlapping holes inside ``outer``: circles ``(cx, cy, r)`` or
    polygons (3-6 vertices inside such a circle), r in [0.08, 0.2] * size, kept 0.08 * size
    away from the outer boundary and from each other. Rejection sampling, ``tries`` per hole."""
    margin = 0.08 * size
    count = int(rng.integers(0, max_holes + 1))
    circles, holes = [], []
    for _ in range(count):
        for _ in range(tries):
            center = rng.uniform(-size, size, 2)
            r = size * rng.uniform(0.08, 0.2)
            clear_of_outer = (inside(center[None], outer)[0]
                              and distance_to_boundary(center[None], outer)[0] > r + margin)
            clear_of_holes = all(np.hypot(*(center - c)) > r + rc + margin for c, rc in circles)
            if clear_of_outer and clear_of_holes:
                break
        else:
            break
        circles.append((center, r))
        if rng.uniform() < 0.5:
            holes.append((float(center[0]), float(center[1]), float(r)))
        else:
            n = int(rng.integers(3, 7))
            angles = rng.uniform(0.0, 2.0 * np.pi) + 2.0 * np.pi * np.arange(n) / n
            radii = r * rng.uniform(0.7, 1.0, n)
            holes.append(center + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1))
    return holes
