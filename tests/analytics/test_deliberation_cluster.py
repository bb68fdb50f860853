"""k-means and the silhouette of the deliberation engine, against hand-worked examples and a
plain Lloyd's algorithm written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from missionboard.analytics.deliberation_cluster import (
    first_distinct,
    kmeans,
    kmeans_from,
    silhouette,
)

LINE = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])


def plain_lloyd(points: np.ndarray, centres: np.ndarray, weights: np.ndarray,
                iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Every distance computed, every step; empty clusters dropped; stop below 0.01."""
    for step in range(iters + 1):
        distance = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
        labels = distance.argmin(axis=1)
        used = np.unique(labels)
        moved = np.array([np.average(points[labels == c], axis=0, weights=weights[labels == c])
                          for c in used])
        shift = np.linalg.norm(moved - centres[used], axis=1)
        labels = np.searchsorted(used, labels)
        centres = moved
        if step == iters or (shift < 0.01).all():
            break
    return labels, centres


def test_kmeans_by_hand() -> None:
    # Initial centres: the first two distinct points, (0, 0) and (1, 0).
    # Step 1: {0, 0} and {1, 10, 11}: centres 0 and 22/3 (moved 19/3, go on).
    # Step 2: {0, 0, 1} and {10, 11}: centres 1/3 and 10.5 (moved more than 0.01, go on).
    # Step 3: the same members: nothing moves, stop.
    result = kmeans(LINE, 2, iters=100)
    assert result.labels.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_allclose(result.centres, [[1 / 3, 0], [10.5, 0]], rtol=1e-15)
    assert result.sizes.tolist() == [3, 2]


def test_kmeans_iteration_cap_counts_like_polis() -> None:
    # iters = 0 is one step (Pol.is's loop steps once more than it counts down).
    result = kmeans(LINE, 2, iters=0)
    assert result.labels.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(result.centres, [[0, 0], [22 / 3, 0]], rtol=1e-15)


def test_weighted_mean_centres() -> None:
    points = np.array([[0.0, 0.0], [4.0, 0.0]])
    result = kmeans(points, 1, iters=10, weights=np.array([3.0, 1.0]))
    np.testing.assert_allclose(result.centres, [[1.0, 0.0]])
    assert result.sizes.tolist() == [4.0]


def test_empty_clusters_are_dropped() -> None:
    centres = np.array([[0.0, 0.0], [100.0, 100.0], [10.0, 0.0]])
    result = kmeans_from(LINE, centres, iters=10, weights=np.ones(5))
    assert len(result.centres) == 2
    assert result.labels.tolist() == [0, 0, 0, 1, 1]


def test_first_distinct_points_in_order() -> None:
    points = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [1.0, 1.0], [5.0, 5.0],
                       [0.0, 2.0], [3.0, 3.0]])
    np.testing.assert_array_equal(first_distinct(points, 3), [[1, 1], [0, 2], [5, 5]])
    np.testing.assert_array_equal(first_distinct(points, 10),
                                  [[1, 1], [0, 2], [5, 5], [3, 3]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounded_assignment_equals_plain_lloyd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(centre, 1.0, (700, 2))
                             for centre in ([0, 0], [4, 1], [-2, 5])])
    weights = rng.integers(1, 4, len(points)).astype(float)
    result = kmeans(points, 40, iters=100, weights=weights)
    labels, centres = plain_lloyd(points, first_distinct(points, 40), weights, 100)
    np.testing.assert_array_equal(result.labels, labels)
    np.testing.assert_allclose(result.centres, centres, rtol=1e-12, atol=1e-12)


def test_silhouette_by_hand() -> None:
    # Points 0, 1, 10, 11 on a line in clusters {0, 1} and {10, 11}:
    # point 0: a = 1, b = (10 + 11)/2 = 10.5, s = 9.5/10.5; point 1: a = 1, b = 9.5,
    # s = 8.5/9.5; by symmetry the same for 11 and 10.
    points = np.array([[0.0, 0], [1, 0], [10, 0], [11, 0]])
    expected = (9.5 / 10.5 + 8.5 / 9.5) / 2
    assert silhouette(points, np.array([0, 0, 1, 1])) == pytest.approx(expected, rel=1e-15)


def test_silhouette_singletons_score_zero() -> None:
    # {0} alone scores 0; {1, 10, 11}: point 1 has a = (9 + 10)/2 = 9.5 and b = 1,
    # s = (1 − 9.5)/9.5; point 10: a = (9 + 1)/2 = 5, b = 10, s = 5/10; point 11: a = 5.5,
    # b = 11, s = 5.5/11.
    points = np.array([[0.0, 0], [1, 0], [10, 0], [11, 0]])
    expected = (0 + (1 - 9.5) / 9.5 + 0.5 + 0.5) / 4
    assert silhouette(points, np.array([0, 1, 1, 1])) == pytest.approx(expected, rel=1e-15)
    assert silhouette(points, np.zeros(4, dtype=np.int64)) == 0.0


def test_silhouette_is_unweighted_euclidean() -> None:
    points = np.array([[0.0, 0], [3, 4], [20, 0], [20, 5]])
    a0 = 5.0
    b0 = (20 + math.hypot(20, 5)) / 2
    a1 = 5.0
    b1 = (math.hypot(17, 4) + math.hypot(17, 1)) / 2
    a2 = 5.0
    b2 = (20 + math.hypot(17, 4)) / 2
    b3 = (math.hypot(20, 5) + math.hypot(17, 1)) / 2
    expected = ((b0 - a0) / b0 + (b1 - a1) / b1 + (b2 - a2) / b2 + (b3 - a2) / b3) / 4
    assert silhouette(points, np.array([0, 0, 1, 1])) == pytest.approx(expected, rel=1e-15)
