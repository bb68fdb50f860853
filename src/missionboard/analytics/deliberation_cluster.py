"""k-means and the silhouette as Pol.is uses them (``clusters.clj``; the spec's §1.5).

**k-means** on 2-D points, optionally weighted:

- initial centres: the first k *distinct* points in the given order (a cold start), or the
  previous clusters re-centred on their members (a warm start, :func:`kmeans_warm`);
- a step assigns every point to its nearest centre (Euclidean), drops clusters left empty,
  and moves each centre to the (weighted) mean of its members;
- it stops after the step in which no surviving centre moved by 0.01 or more, or after
  ``iters + 1`` steps (Pol.is's loop counts down from ``iters`` to 0, stepping each time).

The nearest centre is found with Hamerly's bounds (G. Hamerly, "Making k-means even faster",
SIAM SDM 2010): an upper bound on each point's distance to its centre and a lower bound on its
distance to every other centre, moved by how far the centres move, spare the search for points
that cannot have changed cluster; the others are looked up in a k-d tree of the centres. The
bounds are tested with a relative margin of 10⁻⁹, so a point is skipped only when no rounding
could make another centre nearer: the assignments are those of the plain algorithm. Each
point's assignment depends only on the point and the centres, never on its position in the
array (exact ties, which need two centres at the same distance, are broken by the tree).

**Silhouette** of a clustering of points (the base-cluster centres, unweighted): for point i
in cluster g, a = its mean distance to the other members of g, b = the least mean distance to
the members of another cluster, s = (b − a)/max(a, b); s = 0 when i is alone in g (or there is
only one cluster); the clustering's score is the plain mean of s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import spatial

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Centres that all move less than this far end the iterations (Pol.is ``same-clustering?``).
TOLERANCE = 0.01
_MARGIN = 1e-9
#: From this many points the k-d tree is searched on every core.
_PARALLEL = 50_000


@dataclass(frozen=True)
class Clustering:
    """``labels[i]`` indexes ``centres``; ``sizes`` is each cluster's total weight and ``ids``
    its lasting id (a cold start numbers the initial centres 0, 1, …; a warm start keeps the
    previous ids and numbers new clusters on from the largest)."""

    labels: IntArray
    centres: FloatArray
    sizes: FloatArray
    ids: IntArray

    def by_id(self) -> Clustering:
        """The same clustering with its clusters in increasing order of id."""
        order = np.argsort(self.ids, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return Clustering(labels=rank[self.labels], centres=self.centres[order],
                          sizes=self.sizes[order], ids=self.ids[order])


def first_distinct(points: FloatArray, k: int) -> FloatArray:
    """The first ``k`` distinct rows of ``points``, in order."""
    block = min(len(points), max(4 * k, 64))
    while True:
        _, first = np.unique(points[:block], axis=0, return_index=True)
        if first.size >= k or block == len(points):
            chosen: FloatArray = points[np.sort(first)[:k]]
            return chosen
        block = min(len(points), 4 * block)


def kmeans(points: FloatArray, k: int, *, iters: int,
           weights: FloatArray | None = None) -> Clustering:
    """Cold-start k-means (module docstring) of 2-D ``points``."""
    w = np.ones(len(points)) if weights is None else weights
    return kmeans_from(points, first_distinct(points, k), iters=iters, weights=w)


def kmeans_from(points: FloatArray, centres: FloatArray, *, iters: int,
                weights: FloatArray, ids: IntArray | None = None) -> Clustering:
    """k-means from the given initial centres (module docstring), whose ids are ``ids``
    (0, 1, … by default)."""
    m = len(points)
    ids = np.arange(len(centres)) if ids is None else ids
    if m == 0:
        return Clustering(labels=np.zeros(0, dtype=np.int64), centres=np.zeros((0, 2)),
                          sizes=np.zeros(0), ids=np.zeros(0, dtype=np.int64))
    labels, upper, lower = _assign_all(points, centres)
    for step in range(iters + 1):
        sizes = np.bincount(labels, weights=weights, minlength=len(centres)).astype(np.float64)
        alive = sizes > 0
        sums = np.stack([np.bincount(labels, weights=weights * points[:, d],
                                     minlength=len(centres)) for d in (0, 1)], axis=1)
        moved_centres = sums[alive] / sizes[alive][:, None]
        movement = np.hypot(*(moved_centres - centres[alive]).T)
        if not alive.all():
            labels = (np.cumsum(alive) - 1)[labels]
            ids = ids[alive]
        centres, sizes = moved_centres, sizes[alive]
        if step == iters or np.all(movement < TOLERANCE):
            break
        upper += movement[labels]
        lower -= _others_moved(movement)[labels]
        labels, upper, lower = _reassign(points, centres, labels, upper, lower)
    return Clustering(labels=labels, centres=centres, sizes=sizes, ids=ids)


def kmeans_warm(points: FloatArray, k: int, *, owner: IntArray, ids: IntArray, iters: int,
                weights: FloatArray) -> Clustering:
    """k-means warm-started from a previous clustering (Pol.is ``clean-start-clusters``).

    ``owner[i]`` is the slot (an index into ``ids``) of the previous cluster that point i
    belonged to, or −1 for a point new to the clustering. Clusters left without members are
    dropped (if none is left, every point starts in one cluster, id one past the largest);
    each cluster is re-centred on its remaining members (weighted mean); clusters whose centres
    coincide are merged (the larger's id; the later's on a tie); then, while there are fewer
    clusters than min(k, distinct points), the point farthest from every centre (the last
    such) leaves its cluster as a new singleton cluster, id one past the largest. k-means
    steps follow from these centres.
    """
    if len(points) == 0:
        return kmeans_from(points, np.zeros((0, 2)), iters=iters, weights=weights)
    owner, ids = _merge_identical(points, owner.copy(), ids, weights)
    if ids.size < k:
        possible = min(k, int(np.unique(points, axis=0).shape[0]))
        while ids.size < possible:
            centres = _recentre(points, owner, ids.size, weights)
            distance = _assign_all(points, centres)[1]
            farthest = distance.size - 1 - int(np.argmax(distance[::-1]))
            if distance[farthest] <= 0:
                break
            owner[farthest] = ids.size
            ids = np.append(ids, ids.max() + 1)
    centres = _recentre(points, owner, ids.size, weights)
    return kmeans_from(points, centres, iters=iters, weights=weights, ids=ids)


def _recentre(points: FloatArray, owner: IntArray, n: int, weights: FloatArray) -> FloatArray:
    """The weighted mean of each slot's members."""
    member = owner >= 0
    size = np.bincount(owner[member], weights=weights[member], minlength=n)
    sums = np.stack([np.bincount(owner[member], weights=(weights * points[:, d])[member],
                                 minlength=n) for d in (0, 1)], axis=1)
    result: FloatArray = sums / size[:, None]
    return result


def _merge_identical(points: FloatArray, owner: IntArray, ids: IntArray,
                     weights: FloatArray) -> tuple[IntArray, IntArray]:
    """Drop memberless slots and merge slots with identical centres; renumber the slots."""
    present = np.bincount(owner[owner >= 0], minlength=ids.size) > 0
    if not present.any():
        return np.zeros(len(points), dtype=np.int64), np.array([int(ids.max(initial=-1)) + 1])
    slot = np.full(ids.size, -1, dtype=np.int64)
    slot[present] = np.arange(int(present.sum()))
    owner = np.where(owner >= 0, slot[np.maximum(owner, 0)], -1)
    ids = ids[present]
    centres = _recentre(points, owner, ids.size, weights)
    _, first, twin = np.unique(centres, axis=0, return_index=True, return_inverse=True)
    if first.size == ids.size:
        return owner, ids
    counts = np.bincount(owner[owner >= 0], minlength=ids.size)
    target = first[twin.reshape(-1)]
    kept = np.flatnonzero(target == np.arange(ids.size))
    for j in np.flatnonzero(target != np.arange(ids.size)).tolist():
        into = int(target[j])
        if counts[j] >= counts[into]:
            ids[into] = ids[j]
        counts[into] += counts[j]
    renumber = np.full(ids.size, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    owner = np.where(owner >= 0, renumber[target[np.maximum(owner, 0)]], -1)
    return owner, ids[kept]


def _others_moved(movement: FloatArray) -> FloatArray:
    """For each centre, the largest distance any *other* centre moved."""
    if movement.size < 2:
        return np.zeros_like(movement)
    top = np.argsort(movement)[-2:]
    result = np.full_like(movement, movement[top[1]])
    result[top[1]] = movement[top[0]]
    return result


def _distances(points: FloatArray, centres: FloatArray) -> FloatArray:
    dx = points[:, 0, None] - centres[None, :, 0]
    dy = points[:, 1, None] - centres[None, :, 1]
    result: FloatArray = np.sqrt(dx * dx + dy * dy)
    return result


def _assign_all(points: FloatArray, centres: FloatArray) -> tuple[IntArray, FloatArray,
                                                                   FloatArray]:
    """Nearest centre, its distance and the second-nearest distance (∞ with one centre)."""
    if centres.shape[0] == 1:
        distance = np.hypot(*(points - centres[0]).T)
        return np.zeros(len(points), dtype=np.int64), distance, np.full(len(points), np.inf)
    workers = -1 if len(points) >= _PARALLEL else 1
    found = spatial.cKDTree(centres).query(points, k=2, workers=workers)
    distance, nearest = np.asarray(found[0], dtype=np.float64), np.asarray(found[1])
    return nearest[:, 0].astype(np.int64), distance[:, 0], distance[:, 1]


def _reassign(points: FloatArray, centres: FloatArray, labels: IntArray, upper: FloatArray,
              lower: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """One Hamerly assignment pass: recompute only the points whose bounds overlap."""
    if centres.shape[0] > 1:
        between = _distances(centres, centres)
        np.fill_diagonal(between, np.inf)
        half_gap = 0.5 * between.min(axis=1)
    else:
        half_gap = np.full(1, np.inf)
    bound = np.maximum(half_gap[labels], lower) * (1 - _MARGIN)
    suspect = np.flatnonzero(upper >= bound)
    if suspect.size:
        own = centres[labels[suspect]]
        upper[suspect] = np.hypot(*(points[suspect] - own).T) * (1 + _MARGIN)
        suspect = suspect[upper[suspect] >= bound[suspect]]
    if suspect.size:
        new_labels, new_upper, new_lower = _assign_all(points[suspect], centres)
        labels[suspect] = new_labels
        upper[suspect] = new_upper
        lower[suspect] = new_lower
    return labels, upper, lower


def silhouette(points: FloatArray, labels: IntArray) -> float:
    """Mean silhouette of a clustering of a few points (module docstring)."""
    m = len(points)
    if m == 0:
        return 0.0
    groups = int(labels.max()) + 1
    if groups < 2:
        return 0.0
    distance = _distances(points, points)
    member = np.zeros((m, groups))
    member[np.arange(m), labels] = 1.0
    size = member.sum(axis=0)
    total = distance @ member
    own_size = size[labels]
    rows = np.arange(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = total[rows, labels] / (own_size - 1)
        mean_to = total / size
    mean_to[rows, labels] = np.inf
    mean_to[:, size == 0] = np.inf
    b = mean_to.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    s[own_size == 1] = 0.0
    return float(s.mean())
