"""Properties of the deliberation engine: the result depends on the votes, not on how they
are written down (row order, repeated or superseded votes, voters' ids), and stays in bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from missionboard.analytics.deliberation import Analysis, VoteTable, analyse

Row = tuple[int, int, int, int]  # voter, statement, vote, timestamp


@st.composite
def conversations(draw: st.DrawFn) -> list[Row]:
    """Standing votes only: each voter votes once on each of some statements. Timestamps come
    from a short range, so that first votes often tie."""
    n_voters = draw(st.integers(1, 24))
    n_statements = draw(st.integers(1, 9))
    rows = []
    for voter in draw(st.lists(st.integers(0, 10**6), min_size=n_voters, max_size=n_voters,
                               unique=True)):
        for statement in draw(st.lists(st.integers(0, n_statements - 1), min_size=1,
                                       max_size=n_statements, unique=True)):
            rows.append((voter, statement * 10 + 3, draw(st.sampled_from([-1, 0, 1])),
                         draw(st.integers(0, 12))))
    return rows


def table(rows: list[Row], voters: list[Any] | None = None) -> VoteTable:
    return VoteTable(voter=np.array(voters if voters is not None else [r[0] for r in rows]),
                     statement=np.array([r[1] for r in rows]),
                     vote=np.array([r[2] for r in rows]),
                     timestamp=np.array([r[3] for r in rows]))


def assert_same(first: Analysis, second: Analysis) -> None:
    assert first.to_json() == second.to_json()
    assert first.priorities == second.priorities
    np.testing.assert_array_equal(first.projection, second.projection)
    np.testing.assert_array_equal(first.statement_projection, second.statement_projection)


@settings(max_examples=60, deadline=None)
@given(rows=conversations(), data=st.data(), k=st.sampled_from([None, 2, 3]))
def test_row_order_changes_nothing(rows: list[Row], data: st.DataObject,
                                   k: int | None) -> None:
    shuffled = data.draw(st.permutations(rows))
    assert_same(analyse(table(rows), k=k), analyse(table(shuffled), k=k))


@settings(max_examples=60, deadline=None)
@given(rows=conversations(), data=st.data())
def test_repeated_and_superseded_votes_change_nothing(rows: list[Row],
                                                      data: st.DataObject) -> None:
    extra = []
    for voter, statement, vote, time in data.draw(st.lists(st.sampled_from(rows),
                                                           max_size=12)):
        if data.draw(st.booleans()):
            extra.append((voter, statement, vote, time))  # the same vote again
        else:
            older = data.draw(st.sampled_from([v for v in (-1, 0, 1) if v != vote]))
            extra.append((voter, statement, older, time - data.draw(st.integers(1, 30))))
    noisy = data.draw(st.permutations(rows + extra))
    assert_same(analyse(table(rows)), analyse(table(noisy)))


@settings(max_examples=60, deadline=None)
@given(rows=conversations(), data=st.data())
def test_relabelling_participants_changes_no_group(rows: list[Row],
                                                   data: st.DataObject) -> None:
    ids = sorted({r[0] for r in rows})
    new_ids = data.draw(st.permutations([f"p{i}" for i in range(len(ids))]))
    rename = dict(zip(ids, new_ids, strict=True))
    original = analyse(table(rows))
    renamed = analyse(table(rows, [rename[r[0]] for r in rows]))
    groups = original.participants
    renamed_groups = renamed.participants
    pairs = {(groups[v], renamed_groups[rename[v]]) for v in ids}
    # The same partition, up to the groups' numbers; the ungrouped stay ungrouped.
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    assert all((a is None) == (b is None) for a, b in pairs)
    assert original.k == renamed.k
    position = {v: i for i, v in enumerate(renamed.voters.tolist())}
    for i, voter in enumerate(original.voters.tolist()):
        np.testing.assert_array_equal(original.projection[i],
                                      renamed.projection[position[rename[voter]]])
    assert original.consensus == renamed.consensus
    assert original.group_informed_consensus == renamed.group_informed_consensus


@settings(max_examples=60, deadline=None)
@given(rows=conversations(), k=st.sampled_from([None, 1, 2, 4]))
def test_results_stay_in_bounds(rows: list[Row], k: int | None) -> None:
    result = analyse(table(rows), k=k)
    grouped = result.membership >= 0
    assert np.array_equal(grouped, result.in_conversation)
    assert grouped.sum() >= min(15, len(result.voters))
    assert sum(g.size for g in result.groups) == grouped.sum()
    assert result.k == len(result.groups) <= (k or 5)
    assert [g.id for g in result.groups] == list(range(result.k))
    for group in result.groups:
        assert 1 <= len(group.representative) <= 5 or not result.statements.size
        directions = [r.direction for r in group.representative]
        assert directions == sorted(directions)
        for rep in group.representative:
            assert 0 < rep.p_success < 1
            assert 0 <= rep.n_success <= rep.n_trials
    for chosen in result.consensus.agree + result.consensus.disagree:
        assert chosen.p_success > 0.5
        assert chosen.p_test > 1.2816
    assert all(0 < v <= 1 for v in result.group_informed_consensus.values())
    assert all(v > 0 for v in result.priorities.values())
    assert np.isfinite(result.projection).all()
    assert all(-1 <= s <= 1 for s in result.silhouettes.values())
