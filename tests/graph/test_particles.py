"""Particle graphs: radius graph == brute force, wall features, FPS covering, connected radius."""
import numpy as np
import pytest

from meshsim.graph import (GraphError, connected_radius, covering_radius, farthest_point_sampling, is_connected,
                           nearest_neighbours,
                           radius_graph, random_subset, subsample_count, wall_distances)


def _brute_force(points, radius):
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    target, source = np.nonzero((d < radius) & ~np.eye(len(points), dtype=bool))
    return np.stack([source, target])  # row-major nonzero: sorted by target, then source


@pytest.mark.parametrize("dim", [2, 3])
def test_radius_graph_equals_brute_force(dim):
    points = np.random.default_rng(dim).uniform(size=(600, dim))
    for radius in (0.03, 0.08, 0.2):
        edges = radius_graph(points, radius)
        expected = _brute_force(points, radius)
        assert edges.shape == expected.shape and (edges == expected).all()
    assert edges.shape[1] > 5_000


def test_radius_graph_excludes_the_radius_itself():
    points = np.array([[0.0, 0.0], [0.5, 0.0], [1.5, 0.0]])
    assert radius_graph(points, 0.5).shape == (2, 0)
    assert radius_graph(points, 0.5000001).tolist() == [[1, 0], [0, 1]]


def test_wall_distances_are_scaled_and_clipped():
    points = np.array([[0.1, 0.5], [0.12, 0.895]])
    features = wall_distances(points, [[0.1, 0.9], [0.1, 0.9]], radius=0.05)
    assert np.allclose(features, [[0.0, 1.0, 1.0, 1.0], [0.4, 1.0, 1.0, 0.1]])
    with pytest.raises(GraphError, match="bounds"):
        wall_distances(points, [[0, 1]], 0.05)


def test_farthest_point_sampling_covers_the_cloud():
    points = np.random.default_rng(0).uniform(size=(3000, 2))
    chosen = farthest_point_sampling(points, 100)
    assert len(np.unique(chosen)) == 100 and chosen[0] == 0
    cover = covering_radius(points, chosen)
    # greedy property: every chosen point was at least the final covering radius from the others
    spacing = np.linalg.norm(points[chosen][:, None] - points[chosen][None], axis=-1)
    assert spacing[~np.eye(100, dtype=bool)].min() >= cover - 1e-12
    # 100 disks of the covering radius must cover the unit square (area 1): a lower bound on r
    assert cover >= 1 / np.sqrt(100 * np.pi)
    # and it covers far better than random subsets of the same size
    rng = np.random.default_rng(1)
    random_cover = min(covering_radius(points, random_subset(3000, 100, rng)) for _ in range(5))
    assert cover < 0.6 * random_cover


def test_subsample_count_and_random_subset():
    assert subsample_count(16000, 1 / 32) == 500 and subsample_count(10, 0.01) == 1
    subset = random_subset(100, 30, np.random.default_rng(0))
    assert len(np.unique(subset)) == 30 and (np.diff(subset) > 0).all()
    with pytest.raises(GraphError, match="fraction"):
        subsample_count(10, 0.0)


@pytest.mark.parametrize("layout", ["uniform", "clusters", "collinear"])
def test_connected_radius_is_the_smallest_connecting_radius(layout):
    rng = np.random.default_rng(0)
    if layout == "uniform":
        points = rng.uniform(size=(800, 2))
    elif layout == "clusters":  # two clusters 0.5 apart: the radius must bridge them
        points = np.concatenate([rng.uniform(0, 0.2, (300, 2)), rng.uniform(0.7, 0.9, (300, 2))])
    else:
        points = np.stack([np.sort(rng.uniform(size=200)), np.zeros(200)], 1)
    r = connected_radius(points)
    assert is_connected(radius_graph(points, r * (1 + 1e-9)), len(points))
    assert not is_connected(radius_graph(points, r * (1 - 1e-9)), len(points))
    if layout == "clusters":
        assert r > 0.5


def test_nearest_neighbours_match_sorted_distances_and_keep_their_width():
    rng = np.random.default_rng(3)
    sources, queries = rng.uniform(size=(200, 2)), rng.uniform(size=(50, 2))
    index = nearest_neighbours(sources, queries, 8)
    expected = np.argsort(np.linalg.norm(queries[:, None] - sources[None], axis=-1), axis=1)[:, :8]
    assert (index == expected).all()
    padded = nearest_neighbours(sources[:3], queries, 5)
    assert padded.shape == (50, 5) and (padded[:, 3:] == padded[:, 2:3]).all()
    assert {tuple(sorted(row[:3])) for row in padded.tolist()} == {(0, 1, 2)}
