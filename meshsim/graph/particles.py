"""Graphs of point clouds (particles), numpy and scipy only: radius graphs, wall distances,
farthest-point and random subsampling, and the smallest radius that keeps a cloud connected.

A particle cloud has no cells: its graph is built from the positions when it is needed (at load
time, and at every step of a learned rollout), never stored.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, QhullError, cKDTree

from .errors import GraphError


def _points(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] not in (1, 2, 3):
        raise GraphError(f"points must have shape (N, dim) with dim 1-3, got {points.shape}")
    if not np.isfinite(points).all():
        bad = int(np.flatnonzero(~np.isfinite(points).all(1))[0])
        raise GraphError(f"point {bad} is not finite: {points[bad].tolist()}")
    return points


def sort_by_target(source: np.ndarray, target: np.ndarray, num_nodes: int) -> np.ndarray:
    """(2, E) int64 edges sorted by target, then source (one sort of the keys target * N + source)."""
    keys = target.astype(np.int64) * num_nodes + source
    keys.sort()
    target, source = np.divmod(keys, num_nodes)
    return np.stack([source, target])


def radius_graph(points, radius: float) -> np.ndarray:
    """(2, E) int64 directed edges between every pair of distinct points closer than ``radius``
    (distance < radius), each pair in both directions, sorted by target then source, no self loops.

    Uses scipy's cKDTree (``query_pairs``); about N k log N for k neighbours per point.
    """
    points = _points(points)
    if not radius > 0:
        raise GraphError(f"radius must be positive, got {radius}")
    # query_pairs keeps d <= r; the radius graph keeps d < r (as torch_cluster.radius_graph)
    pairs = cKDTree(points).query_pairs(np.nextafter(radius, 0.0), output_type="ndarray")
    source = np.concatenate([pairs[:, 0], pairs[:, 1]])
    target = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return sort_by_target(source, target, len(points))


def wall_distances(points, bounds, radius: float) -> np.ndarray:
    """GNS's boundary features: distances to the lower and upper walls of ``bounds`` (dim, 2),
    divided by ``radius`` and clipped to [-1, 1]: (N, 2 dim), lower walls first."""
    points = _points(points)
    bounds = np.asarray(bounds, dtype=np.float64)
    if bounds.shape != (points.shape[1], 2):
        raise GraphError(f"bounds must have shape ({points.shape[1]}, 2), got {bounds.shape}")
    distances = np.concatenate([points - bounds[:, 0], bounds[:, 1] - points], axis=1)
    return np.clip(distances / radius, -1.0, 1.0)


def farthest_point_sampling(points, count: int, start: int = 0) -> np.ndarray:
    """Indices (count,) int64 of ``count`` points chosen greedily, each the point farthest from
    those already chosen (starting with ``start``): a 2-approximation of the best covering.

    Vectorised over points, one pass per chosen point: O(N count).
    """
    points = _points(points)
    n = len(points)
    if not 1 <= count <= n:
        raise GraphError(f"count must be in 1..{n}, got {count}")
    if not 0 <= start < n:
        raise GraphError(f"start must be in 0..{n - 1}, got {start}")
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = start
    nearest = ((points - points[start]) ** 2).sum(1)
    for k in range(1, count):
        chosen[k] = int(np.argmax(nearest))
        np.minimum(nearest, ((points - points[chosen[k]]) ** 2).sum(1), out=nearest)
    return chosen


def random_subset(num_points: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices (count,) of ``count`` of ``num_points`` points drawn without replacement."""
    if not 1 <= count <= num_points:
        raise GraphError(f"count must be in 1..{num_points}, got {count}")
    return np.sort(rng.choice(num_points, size=count, replace=False))


def subsample_count(num_points: int, fraction: float) -> int:
    """Points kept at ``fraction`` (0, 1] of ``num_points``: round(fraction N), at least 1."""
    if not 0 < fraction <= 1:
        raise GraphError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, int(round(fraction * num_points)))


def covering_radius(points, chosen: np.ndarray) -> float:
    """Largest distance from a point of the cloud to its nearest chosen point."""
    points = _points(points)
    distance, _ = cKDTree(points[chosen]).query(points)
    return float(distance.max())


def _candidate_edges(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges that contain the Euclidean minimum spanning tree: Delaunay's, or where Qhull cannot
    triangulate (1D, collinear points) the k-nearest-neighbour graph with k doubled until connected."""
    n = len(points)
    try:
        if points.shape[1] == 1:
            raise QhullError("1D points")
        simplices = Delaunay(points).simplices
        a, b = np.triu_indices(simplices.shape[1], k=1)
        return simplices[:, a].ravel(), simplices[:, b].ravel()
    except QhullError:
        k = min(8, n - 1)
        while True:
            _, neighbours = cKDTree(points).query(points, k + 1)
            source, target = np.repeat(np.arange(n), k), neighbours[:, 1:].ravel()
            if k == n - 1 or is_connected(np.stack([source, target]), n):
                return source, target
            k = min(2 * k, n - 1)


def connected_radius(points) -> float:
    """The smallest radius r such that the graph of pairs at distance <= r is connected: the
    longest edge of the Euclidean minimum spanning tree (computed on the Delaunay edges, which
    contain it).

    `radius_graph` keeps distances strictly below its radius: pass a slightly larger one.
    """
    points = _points(points)
    n = len(points)
    if n < 2:
        return 0.0
    source, target = _candidate_edges(points)
    # one entry per pair: a sparse matrix sums duplicate entries (an edge shared by two triangles)
    pairs = np.unique(np.stack([np.minimum(source, target), np.maximum(source, target)], 1), axis=0)
    source, target = pairs[:, 0], pairs[:, 1]
    # duplicate points give zero lengths, which a sparse matrix would drop: keep them as tiny edges
    length = np.maximum(np.linalg.norm(points[source] - points[target], axis=1), 1e-300)
    tree = minimum_spanning_tree(coo_matrix((length, (source, target)), shape=(n, n)).tocsr())
    return float(tree.data.max())


def is_connected(edge_index: np.ndarray, num_nodes: int) -> bool:
    """Whether the graph of ``edge_index`` (2, E) on ``num_nodes`` nodes is one component."""
    edge_index = np.asarray(edge_index)
    graph = coo_matrix((np.ones(edge_index.shape[1]), (edge_index[0], edge_index[1])), shape=(num_nodes, num_nodes))
    return connected_components(graph, directed=False)[0] == 1


def nearest_neighbours(sources, queries, k: int) -> np.ndarray:
    """(Q, k) int64 indices of the ``k`` sources nearest to each query (nearest first). With fewer
    than ``k`` sources, each row lists them all and repeats the farthest, so rows keep width k."""
    sources, queries = _points(sources), _points(queries)
    if len(sources) < 1 or k < 1:
        raise GraphError(f"need at least one source point and k >= 1, got {len(sources)} sources, k = {k}")
    found = min(int(k), len(sources))
    _, index = cKDTree(sources).query(queries, found)
    index = np.asarray(index, dtype=np.int64).reshape(len(queries), found)
    if found < k:
        index = np.concatenate([index, np.repeat(index[:, -1:], k - found, axis=1)], axis=1)
    return index
