"""The deliberation engine: Pol.is's method on a sparse vote matrix.

Participants vote agree (+1), disagree (−1) or pass (0) on short statements. The engine places
them on a 2-D opinion map, finds opinion groups, and reports each group's representative
statements, the statements that command agreement across everyone (consensus), and how far
each statement is agreed across the groups (group-informed consensus). The reference is
Pol.is's published method (compdemocracy/polis, ``math/src/polismath/math``: ``pca.clj``,
``clusters.clj``, ``repness.clj``, ``conversation.clj``); Missionboard's specification,
``deliberation.md``, describes it section by section. A cold run (the default, for exports):

1. **Votes** (:mod:`.deliberation_matrix`): the latest vote per voter and statement stands;
   statements moderated out, and meta statements, are *zeroed* — their columns are 0 for
   everyone in the matrix that the map, the representative statements and the consensus use
   (Pol.is ``rating-mat``), while the group tallies behind group-informed consensus and
   priorities keep their votes (``raw-rating-mat``).
2. **Opinion map**: the top two principal components of the mean-imputed vote matrix — a
   truncated SVD of the sparse centred matrix — and each participant's projection on them,
   scaled by √(C/nᵢ) (C statements, nᵢ of them with a vote from i, zeroed ones included).
3. **Who is grouped** (in the conversation): participants with at least min(7, C) votes
   (passes and zeroed statements count); if fewer than 15, the heaviest voters are added up to
   15 — all of those tied at the cut-off.
4. **Base clusters**: k-means with k = 100 on the map positions of those participants, in the
   canonical order (:mod:`.deliberation_cluster`), at most 101 steps.
5. **Groups**: weighted k-means (weights: base-cluster sizes) of the base-cluster centres for
   each k from 2 to min(5, 2 + ⌊B/12⌋) (B base clusters), at most 21 steps (Pol.is runs 20
   iterations here, its quirk Q3); the k with the highest mean silhouette of the centres
   (the largest such k on a tie, as Pol.is's ``max-key``), or the ``k`` given. A participant
   belongs to their base cluster's group; groups are numbered in the order of their
   clusters' ids (in a cold run, of the k-means initial centres).
6. **Representative statements, consensus, group-informed consensus and priorities**
   (:mod:`.deliberation_repness`, with the formulas).

**Updates** (``previous=`` the ``state`` of the last result, with every vote so far), as
Pol.is runs between its ticks: the in-conversation set only grows (the last update's, then the
rule of step 3); base clusters, and each k's group clustering, warm-start from the last
update's (:func:`.deliberation_cluster.kmeans_warm`, Pol.is ``clean-start-clusters``); the k
shown changes to the best k only once it has been best on 4 updates in a row (the k-smoother,
:func:`smoothed_k_choice`); the opinion map's axes keep their signs, and ARPACK starts from the
last components. An update's result depends on the history of updates, as Pol.is's does.

**Deterministic and order-stable.** The result depends on the votes (and, for an update, the
state), not on the order of the rows, on duplicated votes or on voters' ids: rows are put in a
canonical order (first standing vote, then a hash of the votes) before anything
order-dependent, ties are broken by rules rather than by position, and the only random number
is ARPACK's start vector in a cold run, from ``seed``.

**Where this differs from Pol.is** (as the specification asks, or where Pol.is has no rule):

- a cold run has no warm starts, no k-smoother and no sticky in-conversation set; Pol.is's
  own results depend on its history, so a cold run on an export need not match them (nor
  need a replay in updates: an export holds neither Pol.is's ticks nor when statements were
  moderated);
- components from a converged truncated SVD, not 100 power iterations from a random start,
  and no sampled PCA above 10,000 participants; signs fixed (largest loading positive);
- no caps on participants (100,000) or statements (10,000);
- ties: the later vote by timestamp stands, then the higher vote; the top-up to 15 admits
  everyone tied at the cut-off; participants are ordered by their first *standing* vote;
  statements are scanned (best agree, ties in the rankings) in the order of their ids, where
  Pol.is uses the order in which they first received a vote;
- priorities use the current groups (Pol.is: the previous update's, quirk Q2);
- moderated-out statements are left out of group-informed consensus and priorities too
  (Pol.is reports them).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from missionboard.analytics.deliberation_cluster import (
    Clustering,
    kmeans,
    kmeans_warm,
    silhouette,
)
from missionboard.analytics.deliberation_matrix import (
    BoolArray,
    FloatArray,
    IdArray,
    IntArray,
    VoteMatrix,
    opinion_map,
    standing_votes,
)
from missionboard.analytics.deliberation_repness import (
    ConsensusPick,
    Pick,
    Tally,
    consensus,
    group_informed_consensus,
    priorities,
    representative,
    tally,
)

Direction = Literal["agree", "disagree"]

BASE_K = 100
BASE_ITERS = 100
GROUP_ITERS = 20
MAX_K = 5
MIN_VOTES = 7
MIN_GROUPED = 15
#: Updates in a row that a new best k must win before the groups shown change (Pol.is
#: ``group-k-buffer``).
K_BUFFER = 4


@dataclass(frozen=True)
class VoteTable:
    """Votes as parallel arrays: ``vote[i]`` by ``voter[i]`` on ``statement[i]`` at
    ``timestamp[i]``; +1 agree, −1 disagree, 0 pass. Ids are integers or strings."""

    voter: IdArray
    statement: IdArray
    vote: npt.NDArray[np.int8]
    timestamp: npt.NDArray[Any]

    def __post_init__(self) -> None:
        voter, statement = np.asarray(self.voter), np.asarray(self.statement)
        vote, timestamp = np.asarray(self.vote), np.asarray(self.timestamp)
        for name, ids in (("voter", voter), ("statement", statement)):
            if ids.dtype.kind not in "iuU":
                raise TypeError(f"{name} ids must be integers or strings, not {ids.dtype}")
        if timestamp.dtype.kind not in "iuf":
            raise TypeError(f"timestamps must be numbers, not {timestamp.dtype}")
        arrays = (voter, statement, vote, timestamp)
        if any(a.ndim != 1 or a.size != voter.size for a in arrays):
            raise ValueError("voter, statement, vote and timestamp must be 1-D, of one length")
        if timestamp.dtype.kind == "f" and not np.isfinite(timestamp).all():
            raise ValueError("timestamps must be finite")
        if vote.size and not np.isin(vote, (-1, 0, 1)).all():
            raise ValueError("votes must be -1 (disagree), 0 (pass) or 1 (agree)")
        for name, given in zip(("voter", "statement", "vote", "timestamp"),
                               (voter, statement, vote.astype(np.int8), timestamp),
                               strict=True):
            view = given.view()
            view.setflags(write=False)
            object.__setattr__(self, name, view)

    def __len__(self) -> int:
        return int(self.vote.size)


@dataclass(frozen=True, kw_only=True)
class RepresentativeStatement:
    """A statement that sets a group apart, with its chosen direction's statistics:
    ``repness`` (ra or rd), ``repness_test`` (rat or rdt), ``p_success`` (pa or pd),
    ``p_test`` (pat or pdt); ``n_success`` of the group's ``n_trials`` votes went that way."""

    statement: Hashable
    direction: Direction
    repness: float
    repness_test: float
    p_success: float
    p_test: float
    n_success: int
    n_trials: int
    best_agree: bool

    def to_json(self) -> dict[str, object]:
        return {"statement": self.statement, "direction": self.direction,
                "repness": self.repness, "repness_test": self.repness_test,
                "p_success": self.p_success, "p_test": self.p_test}


@dataclass(frozen=True, kw_only=True)
class Group:
    """An opinion group: its number, how many participants, its representative statements."""

    id: int
    size: int
    representative: tuple[RepresentativeStatement, ...]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "size": self.size,
                "representative": [r.to_json() for r in self.representative]}


@dataclass(frozen=True, kw_only=True)
class ConsensusStatement:
    """A statement agreed (or disagreed) across everyone: p_success = (n+1)/(trials+2)."""

    statement: Hashable
    p_success: float
    p_test: float
    n_success: int
    n_trials: int

    def to_json(self) -> dict[str, object]:
        return {"statement": self.statement, "p_success": self.p_success,
                "p_test": self.p_test}


@dataclass(frozen=True, kw_only=True)
class Consensus:
    agree: tuple[ConsensusStatement, ...]
    disagree: tuple[ConsensusStatement, ...]


@dataclass(frozen=True, kw_only=True)
class DeliberationState:
    """What an update hands on to the next, as Pol.is keeps it between ticks. Read-only.

    ``in_conversation``: every participant grouped so far (the set only grows);
    ``statements`` and ``components``: the opinion map's axes; ``base_voters`` and
    ``base_clusters``: each grouped participant's base-cluster id; ``group_clusterings``:
    for each k tried, the base-cluster ids and each one's group id; the k-smoother's
    ``last_k`` (the last best k), ``last_k_count`` (updates in a row it has been best) and
    ``smoothed_k`` (the k shown).
    """

    in_conversation: IdArray
    statements: IdArray
    components: FloatArray
    base_voters: IdArray
    base_clusters: IntArray
    group_clusterings: Mapping[int, tuple[IntArray, IntArray]]
    last_k: int | None
    last_k_count: int
    smoothed_k: int | None

    def __post_init__(self) -> None:
        arrays = [self.in_conversation, self.statements, self.components, self.base_voters,
                  self.base_clusters]
        for pair in self.group_clusterings.values():
            arrays.extend(pair)
        for array in arrays:
            array.setflags(write=False)


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """The result of :func:`analyse`. Arrays are read-only.

    Per participant, in the order of ``voters`` (sorted ids): ``membership`` (group number,
    −1 when not grouped), ``in_conversation`` and ``projection`` (the opinion map, n × 2).
    Per statement, in the order of ``statements`` (sorted ids): ``statement_projection``
    (C × 2), ``extremity`` and ``components`` (C × 2). ``silhouettes`` maps each k tried to
    its mean silhouette; ``k`` is the number of groups. ``state`` is what the next update
    needs (``analyse(…, previous=result.state)``).
    """

    voters: IdArray
    membership: IntArray
    in_conversation: BoolArray
    projection: FloatArray
    statements: IdArray
    statement_projection: FloatArray
    extremity: FloatArray
    components: FloatArray
    k: int
    silhouettes: Mapping[int, float]
    groups: tuple[Group, ...]
    consensus: Consensus
    group_informed_consensus: Mapping[Hashable, float]
    priorities: Mapping[Hashable, float]
    state: DeliberationState | None

    def __post_init__(self) -> None:
        for array in (self.voters, self.membership, self.in_conversation, self.projection,
                      self.statements, self.statement_projection, self.extremity,
                      self.components):
            array.setflags(write=False)

    @cached_property
    def participants(self) -> dict[Hashable, int | None]:
        """Each participant's group number, or None when not grouped."""
        return {voter: (group if group >= 0 else None) for voter, group in
                zip(self.voters.tolist(), self.membership.tolist(), strict=True)}

    def to_json(self) -> dict[str, object]:
        """The object ``missionboard deliberation analyse --json`` prints."""
        return {
            "participants": {str(v): g for v, g in self.participants.items()},
            "k": self.k,
            "groups": [group.to_json() for group in self.groups],
            "consensus": {"agree": [c.to_json() for c in self.consensus.agree],
                          "disagree": [c.to_json() for c in self.consensus.disagree]},
            "group_informed_consensus": {
                str(s): v for s, v in self.group_informed_consensus.items()},
        }


def analyse(votes: VoteTable, *, k: int | None = None, seed: int = 0,
            moderated_out: Collection[Hashable] = frozenset(),
            meta: Collection[Hashable] = frozenset(),
            previous: DeliberationState | None = None) -> Analysis:
    """Opinion map, groups, representative statements and consensus of a conversation.

    ``k`` fixes the number of groups (a moderator's choice) instead of choosing it by
    silhouette; ``moderated_out`` statements are zeroed and never reported; ``meta``
    statements are zeroed and get the meta priority. Without ``previous`` the run is cold;
    with the ``state`` of an earlier result (on the votes so far, then) it is an update, as
    in the module docstring. The method is the module docstring's.
    """
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if len(votes) == 0:
        return _empty(previous)
    matrix = standing_votes(votes.voter, votes.statement, votes.vote, votes.timestamp)
    out = _marks(matrix.statements, moderated_out)
    is_meta = _marks(matrix.statements, meta) & ~out
    zeroed = out | is_meta
    positions = opinion_map(matrix, zeroed=zeroed, seed=seed,
                            previous=_previous_components(matrix, previous))
    grouped = _in_conversation(matrix.vote_counts, matrix.n_statements)
    if previous is not None:
        grouped |= _index(previous.in_conversation, matrix.voters) >= 0
        grouped = _topped_up(grouped, matrix.vote_counts)
    rows = np.flatnonzero(grouped)
    points = positions.participants[rows]
    if previous is None or previous.base_voters.size == 0:
        base = kmeans(points, BASE_K, iters=BASE_ITERS)
    else:
        slot, ids = _slots(previous.base_voters, previous.base_clusters, matrix.voters[rows])
        base = kmeans_warm(points, BASE_K, owner=slot, ids=ids, iters=BASE_ITERS,
                           weights=np.ones(rows.size))
    base = base.by_id()
    clusterings, silhouettes = _group_clusterings(base, k, previous)
    last_k, last_k_count, smoothed_k = smoothed_k_choice(
        silhouettes, k=k, memory=(None, 0, None) if previous is None else
        (previous.last_k, previous.last_k_count, previous.smoothed_k))
    chosen = clusterings.get(smoothed_k) if smoothed_k is not None else None
    if chosen is None and silhouettes:
        chosen = clusterings[_best(silhouettes)]
    group_of_base = np.zeros(0, dtype=np.int64) if chosen is None else chosen.labels
    n_groups = int(group_of_base.max()) + 1 if group_of_base.size else 0
    membership = np.full(matrix.n_participants, -1, dtype=np.int64)
    membership[rows] = group_of_base[base.labels]

    raw = tally(membership[matrix.rows], n_groups, matrix.indices, matrix.votes,
                matrix.n_statements)
    sizes = np.bincount(membership[rows], minlength=n_groups)
    picks = representative(_rating(raw, zeroed, sizes), excluded=out)
    everyone = tally(None, 1, matrix.indices, matrix.votes, matrix.n_statements)
    agree, disagree = consensus(
        _rating(everyone, zeroed, np.array([matrix.n_participants])), excluded=out)
    ids = matrix.statements.tolist()
    kept = np.flatnonzero(~out).tolist()
    gic = group_informed_consensus(raw) if n_groups else None
    priority = priorities(raw, extremity=positions.extremity, meta=is_meta)

    kept_clusterings = dict(previous.group_clusterings) if previous is not None else {}
    kept_clusterings.update({g: (base.ids.copy(), c.ids[c.labels])
                             for g, c in clusterings.items()})
    state = DeliberationState(
        in_conversation=np.sort(matrix.voters[rows]), statements=matrix.statements,
        components=positions.components, base_voters=matrix.voters[rows],
        base_clusters=base.ids[base.labels], group_clusterings=kept_clusterings,
        last_k=last_k, last_k_count=last_k_count, smoothed_k=smoothed_k)
    order = np.argsort(matrix.voters, kind="stable")
    return Analysis(
        voters=matrix.voters[order],
        membership=membership[order],
        in_conversation=grouped[order],
        projection=positions.participants[order],
        statements=matrix.statements,
        statement_projection=positions.statements,
        extremity=positions.extremity,
        components=positions.components,
        k=n_groups,
        silhouettes=silhouettes,
        groups=tuple(
            Group(id=g, size=int(sizes[g]),
                  representative=tuple(_representative(p, ids) for p in picks[g]))
            for g in range(n_groups)),
        consensus=Consensus(agree=tuple(_consensus(c, ids) for c in agree),
                            disagree=tuple(_consensus(c, ids) for c in disagree)),
        group_informed_consensus={} if gic is None else {ids[c]: float(gic[c]) for c in kept},
        priorities={ids[c]: float(priority[c]) for c in kept},
        state=state,
    )


def _index(ids: IdArray, wanted: IdArray) -> IntArray:
    """The position of each of ``wanted`` in the sorted array ``ids``, −1 where absent."""
    if ids.size == 0 or wanted.size == 0:
        return np.full(wanted.size, -1, dtype=np.int64)
    position = np.minimum(np.searchsorted(ids, wanted), ids.size - 1)
    found: IntArray = np.where(ids[position] == wanted, position, -1)
    return found


def _slots(members: IdArray, clusters: IntArray, points: IdArray) -> tuple[IntArray, IntArray]:
    """For each of ``points``, the slot of its previous cluster (−1: none), and the ids."""
    ids, slot_of_member = np.unique(clusters, return_inverse=True)
    order = np.argsort(members, kind="stable")
    at = _index(members[order], points)
    slot = np.where(at >= 0, slot_of_member[order][np.maximum(at, 0)], -1)
    return slot.astype(np.int64), ids.astype(np.int64)


def _previous_components(matrix: VoteMatrix, previous: DeliberationState | None
                         ) -> FloatArray | None:
    """The previous components on the current statements (0 on new ones)."""
    if previous is None or previous.statements.size == 0:
        return None
    at = _index(previous.statements, matrix.statements)
    result: FloatArray = np.where((at >= 0)[:, None],
                                  previous.components[np.maximum(at, 0)], 0.0)
    return result


def _marks(statements: IdArray, chosen: Collection[Hashable]) -> BoolArray:
    if not chosen:
        return np.zeros(statements.size, dtype=np.bool_)
    wanted = set(chosen)
    return np.fromiter((s in wanted for s in statements.tolist()), dtype=np.bool_,
                       count=statements.size)


def _in_conversation(counts: IntArray, n_statements: int) -> BoolArray:
    """Participants with ≥ min(7, C) votes, topped up to 15 by the heaviest voters."""
    return _topped_up(counts >= min(MIN_VOTES, n_statements), counts)


def _topped_up(chosen: BoolArray, counts: IntArray) -> BoolArray:
    """If fewer than 15 are chosen, add the heaviest voters (all tied at the cut-off)."""
    missing = MIN_GROUPED - int(chosen.sum())
    if missing > 0:
        rest = np.flatnonzero(~chosen)
        if rest.size <= missing:
            chosen[rest] = True
        else:
            cutoff = np.sort(counts[rest])[::-1][missing - 1]
            chosen[rest[counts[rest] >= cutoff]] = True
    return chosen


def _group_clusterings(base: Clustering, k: int | None, previous: DeliberationState | None
                       ) -> tuple[dict[int, Clustering], dict[int, float]]:
    """Group clusterings of the base clusters for each k tried, and their silhouettes."""
    b = len(base.centres)
    if b == 0:
        return {}, {}
    candidates = [k] if k is not None else list(range(2, min(MAX_K, 2 + b // 12) + 1))
    clusterings: dict[int, Clustering] = {}
    silhouettes: dict[int, float] = {}
    for candidate in candidates:
        last = None if previous is None else previous.group_clusterings.get(candidate)
        if last is None:
            clustering = kmeans(base.centres, candidate, iters=GROUP_ITERS,
                                weights=base.sizes)
        else:
            slot, ids = _slots(last[0], last[1], base.ids)
            clustering = kmeans_warm(base.centres, candidate, owner=slot, ids=ids,
                                     iters=GROUP_ITERS, weights=base.sizes)
        clusterings[candidate] = clustering.by_id()
        silhouettes[candidate] = silhouette(base.centres, clusterings[candidate].labels)
    return clusterings, silhouettes


def _best(silhouettes: Mapping[int, float]) -> int:
    """The k with the highest silhouette; the largest such k on a tie (Pol.is ``max-key``)."""
    top = max(silhouettes.values())
    return max(k for k, s in silhouettes.items() if s == top)


def smoothed_k_choice(silhouettes: Mapping[int, float], *, k: int | None,
                      memory: tuple[int | None, int, int | None]
                      ) -> tuple[int | None, int, int | None]:
    """Pol.is's k-smoother: from the silhouette of each k and the memory (last best k,
    updates in a row it was best, the k shown), the new memory.

    The k shown changes to the best k only once it has been best K_BUFFER updates in a row;
    the first update shows its best k (so does one whose shown k was not tried). A fixed
    ``k`` is shown and leaves the rest as it was.
    """
    last_k, count, shown = memory
    if k is not None:
        return last_k, count, k
    if not silhouettes:
        return last_k, count, shown
    best = _best(silhouettes)
    count = count + 1 if best == last_k else 1
    if count >= K_BUFFER or shown is None or shown not in silhouettes:
        shown = best
    return best, count, shown


def _rating(counts: Tally, zeroed: BoolArray, sizes: npt.NDArray[Any]) -> Tally:
    """Counts as on Pol.is's ``rating-mat``: zeroed columns are a pass from everyone."""
    if not zeroed.any():
        return counts
    agree, disagree, seen = counts.agree.copy(), counts.disagree.copy(), counts.seen.copy()
    agree[:, zeroed] = 0
    disagree[:, zeroed] = 0
    seen[:, zeroed] = np.asarray(sizes, dtype=np.float64)[:, None]
    return Tally(agree=agree, disagree=disagree, seen=seen)


def _representative(pick: Pick, ids: list[Any]) -> RepresentativeStatement:
    return RepresentativeStatement(
        statement=ids[pick.column], direction="agree" if pick.agree else "disagree",
        repness=pick.repness, repness_test=pick.repness_test, p_success=pick.p_success,
        p_test=pick.p_test, n_success=pick.n_success, n_trials=pick.n_trials,
        best_agree=pick.best_agree)


def _consensus(pick: ConsensusPick, ids: list[Any]) -> ConsensusStatement:
    return ConsensusStatement(statement=ids[pick.column], p_success=pick.p_success,
                              p_test=pick.p_test, n_success=pick.n_success,
                              n_trials=pick.n_trials)


def _empty(previous: DeliberationState | None) -> Analysis:
    none = np.zeros(0, dtype=np.int64)
    return Analysis(
        voters=none, membership=none.copy(), in_conversation=np.zeros(0, dtype=np.bool_),
        projection=np.zeros((0, 2)), statements=none.copy(),
        statement_projection=np.zeros((0, 2)), extremity=np.zeros(0),
        components=np.zeros((0, 2)), k=0, silhouettes={}, groups=(),
        consensus=Consensus(agree=(), disagree=()), group_informed_consensus={},
        priorities={}, state=previous)
