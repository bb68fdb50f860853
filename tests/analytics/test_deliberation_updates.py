"""The deliberation engine's updates (its incremental mode): warm starts, the sticky
in-conversation set and the k-smoother, against hand-worked examples and Pol.is's exports
replayed in time order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from missionboard.analytics.deliberation import (
    Analysis,
    DeliberationState,
    VoteTable,
    analyse,
    smoothed_k_choice,
)
from missionboard.analytics.deliberation_cluster import kmeans_warm
from missionboard.analytics.polis_io import read_polis_export
from tests.analytics.test_deliberation import (
    FIXTURES,
    adjusted_rand_index,
    polis_groups,
    table,
    worked_votes,
)
from tests.analytics.test_deliberation_properties import Row, conversations
from tests.analytics.test_deliberation_properties import table as rows_table

LINE = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
ONES = np.ones(5)


def replay(name: str, seconds: int) -> Analysis:
    """Pol.is's export in updates, one per ``seconds`` of vote time, each on all votes so far."""
    export = read_polis_export(FIXTURES / name)
    votes = export.votes
    order = np.argsort(votes.timestamp, kind="stable")
    times = votes.timestamp[order]
    state: DeliberationState | None = None
    result = None
    for tick in np.unique(times // (seconds * 1000)):
        chosen = order[:np.searchsorted(times, (tick + 1) * seconds * 1000)]
        so_far = VoteTable(voter=votes.voter[chosen], statement=votes.statement[chosen],
                           vote=votes.vote[chosen], timestamp=votes.timestamp[chosen])
        result = analyse(so_far, moderated_out=export.moderated_out, meta=export.meta,
                         previous=state)
        state = result.state
    assert result is not None
    return result


# --------------------------------------------------------------------------------------------
# Warm-started k-means by hand
# --------------------------------------------------------------------------------------------

def test_warm_start_recentres_the_previous_clusters() -> None:
    # Clusters 7 = {0, 0} and 3 = {1, 10, 11} re-centre at 0 and 22/3; then as a cold run:
    # 1 moves to cluster 7 (centres 1/3 and 10.5) and nothing moves after.
    result = kmeans_warm(LINE, 2, owner=np.array([0, 0, 1, 1, 1]), ids=np.array([7, 3]),
                         iters=100, weights=ONES)
    by_id = dict(zip(result.ids.tolist(), result.centres[:, 0].tolist(), strict=True))
    assert by_id == pytest.approx({7: 1 / 3, 3: 10.5})
    assert result.ids[result.labels].tolist() == [7, 7, 7, 3, 3]


def test_warm_start_splits_off_the_most_distal_points() -> None:
    # Cluster 5 = {0, 0, 1} (centre 1/3); 10 and 11 are new; k = 3 (4 distinct points).
    # 11 is farthest (32/3) and starts cluster 6; then 10 (distance 1 from 11, more than any
    # member of cluster 5 from 1/3) starts cluster 7.
    result = kmeans_warm(LINE, 3, owner=np.array([0, 0, 0, -1, -1]), ids=np.array([5]),
                         iters=100, weights=ONES)
    assert result.ids[result.labels].tolist() == [5, 5, 5, 7, 6]
    assert sorted(result.ids.tolist()) == [5, 6, 7]


def test_warm_start_merges_identical_centres() -> None:
    # Clusters 1 = {0} and 2 = {0} have one centre: merged, keeping the later id on a tie (2).
    # k = 2: 11 is farthest from 0 and starts cluster 3; then {0, 0, 1} and {10, 11}.
    result = kmeans_warm(LINE, 2, owner=np.array([0, 1, -1, -1, -1]), ids=np.array([1, 2]),
                         iters=100, weights=ONES)
    assert result.ids[result.labels].tolist() == [2, 2, 2, 3, 3]


def test_warm_start_without_members_starts_from_one_cluster() -> None:
    result = kmeans_warm(LINE, 2, owner=np.full(5, -1), ids=np.array([4, 9]), iters=100,
                         weights=ONES)
    assert sorted(result.ids.tolist()) == [10, 11]
    assert len(set(result.labels[:3].tolist())) == 1
    assert result.labels[3] == result.labels[4] != result.labels[0]


# --------------------------------------------------------------------------------------------
# The k-smoother
# --------------------------------------------------------------------------------------------

def test_k_smoother_waits_for_four_updates_in_a_row() -> None:
    memory: tuple[int | None, int, int | None] = (None, 0, None)
    shown = []
    for best in (3, 2, 2, 2, 2, 3, 2, 2):
        silhouettes = {2: 0.1, 3: 0.1, 4: 0.0}
        silhouettes[best] = 0.5
        memory = smoothed_k_choice(silhouettes, k=None, memory=memory)
        shown.append(memory[2])
    assert shown == [3, 3, 3, 3, 2, 2, 2, 2]
    assert memory[:2] == (2, 2)


def test_k_smoother_ties_go_to_the_larger_k_and_a_fixed_k_is_shown() -> None:
    assert smoothed_k_choice({2: 0.3, 3: 0.3}, k=None, memory=(None, 0, None)) == (3, 1, 3)
    assert smoothed_k_choice({4: 0.1}, k=4, memory=(2, 3, 2)) == (2, 3, 4)


# --------------------------------------------------------------------------------------------
# Updates through analyse
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bg2050-volunteers", "brexit-consensus"])
def test_an_update_without_new_votes_keeps_the_groups(name: str) -> None:
    export = read_polis_export(FIXTURES / name)
    cold = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta)
    again = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta,
                    previous=cold.state)
    assert again.k == cold.k
    np.testing.assert_array_equal(again.membership, cold.membership)
    np.testing.assert_allclose(again.projection, cold.projection, atol=1e-9)


def test_whoever_was_grouped_stays_grouped() -> None:
    # At first everyone is topped up to 15; once 16 heavy voters have come, a cold run leaves
    # the light voters out, an update keeps them.
    light = {(f"w{i}", s): 1 for i in range(4) for s in range(3)}
    first = analyse(table(light))
    assert first.in_conversation.all()
    heavy = {(f"v{i:02}", s): 1 if (i + s) % 3 else -1 for i in range(16) for s in range(8)}
    both = table(light | heavy)
    light_voters = [f"w{i}" for i in range(4)]
    assert all(analyse(both).participants[v] is None for v in light_voters)
    update = analyse(both, previous=first.state)
    assert update.in_conversation.all()
    assert all(update.participants[v] is not None for v in light_voters)


def test_first_update_shows_its_best_k_and_state_records_it() -> None:
    result = analyse(table(worked_votes()))
    assert result.state is not None
    assert (result.state.last_k, result.state.last_k_count, result.state.smoothed_k) == (
        2, 1, 2)
    assert set(result.state.base_voters.tolist()) == set(result.voters.tolist())


def test_replaying_brexit_settles_on_polis_two_groups() -> None:
    # Cold, the silhouette prefers 3 groups; Pol.is, with its history, showed 2. Replayed in
    # two-minute updates the k-smoother settles on 2, and the groups match Pol.is's.
    result = replay("brexit-consensus", 120)
    assert result.k == 2
    theirs = polis_groups("brexit-consensus")
    both = sorted(p for p in theirs if result.participants.get(p) is not None)
    ari = adjusted_rand_index([theirs[p] for p in both],
                              [result.participants[p] for p in both])
    assert ari >= 0.85


def test_replaying_bg2050_groups_everyone_polis_grouped() -> None:
    # A cold run misses one participant whom Pol.is's sticky set kept; updates keep them too.
    result = replay("bg2050-volunteers", 300)
    ours = {p for p, g in result.participants.items() if g is not None}
    assert ours == set(polis_groups("bg2050-volunteers"))


@settings(max_examples=40, deadline=None)
@given(rows=conversations(), data=st.data())
def test_updates_are_order_stable(rows: list[Row], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, 12))
    early = [r for r in rows if r[3] <= cut] or rows[:1]
    first = analyse(rows_table(early))
    shuffled = data.draw(st.permutations(rows))
    one = analyse(rows_table(rows), previous=first.state)
    other = analyse(rows_table(shuffled), previous=first.state)
    assert one.to_json() == other.to_json()
    np.testing.assert_array_equal(one.projection, other.projection)
