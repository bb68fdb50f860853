"""The recommendation status and the membership balance: pure functions, by example and by
property (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from missionboard.councils.models import RecommendationStatus, ResponseKind, Sector
from missionboard.councils.service import (
    days_late,
    default_due,
    membership_balance,
    recommendation_status,
)

DUE = dt.date(2026, 7, 7)
S = RecommendationStatus


@pytest.mark.parametrize(("response", "responded_on", "today", "expected"), [
    # No response: awaiting up to and including the due date, overdue from the day after.
    (None, None, dt.date(2026, 5, 12), S.AWAITING),
    (None, None, DUE, S.AWAITING),
    (None, None, DUE + dt.timedelta(days=1), S.OVERDUE),
    (None, None, dt.date(2027, 1, 1), S.OVERDUE),
    # A response counts from its date, late or not.
    (ResponseKind.ACCEPTED, dt.date(2026, 7, 1), dt.date(2026, 7, 1), S.ACCEPTED),
    (ResponseKind.ACCEPTED, dt.date(2026, 7, 1), dt.date(2026, 12, 1), S.ACCEPTED),
    (ResponseKind.PARTLY_ACCEPTED, dt.date(2026, 7, 20), dt.date(2026, 8, 1),
     S.PARTLY_ACCEPTED),
    (ResponseKind.REJECTED, dt.date(2026, 7, 3), dt.date(2026, 7, 3), S.REJECTED),
    # Asked about a day before the response was given (a stocktake's data date): not yet.
    (ResponseKind.ACCEPTED, dt.date(2026, 7, 1), dt.date(2026, 6, 30), S.AWAITING),
    (ResponseKind.REJECTED, dt.date(2026, 7, 20), dt.date(2026, 7, 19), S.OVERDUE),
])
def test_status_by_example(response: ResponseKind | None, responded_on: dt.date | None,
                           today: dt.date, expected: RecommendationStatus) -> None:
    assert recommendation_status(due_on=DUE, response=response, responded_on=responded_on,
                                 today=today) == expected


def test_days_late_and_the_default_due_date() -> None:
    assert days_late(due_on=DUE, responded_on=dt.date(2026, 7, 20)) == 13
    assert days_late(due_on=DUE, responded_on=DUE) == 0
    assert days_late(due_on=DUE, responded_on=dt.date(2026, 7, 1)) == 0
    assert default_due(dt.date(2026, 5, 12), weeks=8) == DUE
    assert default_due(dt.date(2026, 12, 30), weeks=1) == dt.date(2027, 1, 6)


days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1))
kinds = st.sampled_from(list(ResponseKind))


@given(due=days, today=days, kind=st.none() | kinds, responded_on=st.none() | days)
def test_status_properties(due: dt.date, today: dt.date, kind: ResponseKind | None,
                           responded_on: dt.date | None) -> None:
    status = recommendation_status(due_on=due, response=kind, responded_on=responded_on,
                                   today=today)
    answered = kind is not None and responded_on is not None and responded_on <= today
    if answered:
        assert kind is not None
        assert status.value == kind.value
    else:  # awaiting exactly until the due date, overdue after it
        assert status == (S.OVERDUE if today > due else S.AWAITING)


@given(due=days, start=days, kind=kinds, responded_on=days, step=st.integers(1, 4000))
def test_status_only_moves_forward_in_time(due: dt.date, start: dt.date, kind: ResponseKind,
                                           responded_on: dt.date, step: int) -> None:
    """Awaiting → overdue → answered, never back: later days never undo a status."""
    order = {S.AWAITING: 0, S.OVERDUE: 1, S.ACCEPTED: 2, S.PARTLY_ACCEPTED: 2, S.REJECTED: 2}
    later = start + dt.timedelta(days=step)
    before = recommendation_status(due_on=due, response=kind, responded_on=responded_on,
                                   today=start)
    after = recommendation_status(due_on=due, response=kind, responded_on=responded_on,
                                  today=later)
    assert order[after] >= order[before]
    if order[before] == 2:
        assert after == before


def test_balance_by_example() -> None:
    sectors = [Sector.BUSINESS] * 3 + [Sector.ACADEMIA, Sector.CHARITY]
    found = membership_balance(sectors, max_share=0.4,
                               needed=[Sector.CITIZEN, Sector.CHARITY])
    by = {s.sector: s for s in found.sectors}
    assert found.members == 5
    assert by[Sector.BUSINESS].members == 3
    assert by[Sector.BUSINESS].share == pytest.approx(0.6)
    assert found.over_limit == [Sector.BUSINESS]
    assert found.missing == [Sector.CITIZEN]
    assert found.flagged
    assert found.flags == [
        "Business holds 3 of the 5 seats (60%), more than the limit of 40%",
        "The remit needs a member from citizen or lived experience, and there is none"]
    # At the limit exactly is not over it.
    even = membership_balance([Sector.BUSINESS, Sector.BUSINESS, Sector.ACADEMIA,
                               Sector.CHARITY, Sector.CITIZEN], max_share=0.4)
    assert even.over_limit == []
    assert not even.flagged


def test_an_empty_council_has_no_shares_but_misses_what_it_needs() -> None:
    found = membership_balance([], max_share=0.4, needed=[Sector.TRADE_UNION])
    assert found.members == 0
    assert all(s.share is None for s in found.sectors)
    assert found.over_limit == []
    assert found.missing == [Sector.TRADE_UNION]


@given(sectors=st.lists(st.sampled_from(list(Sector)), max_size=40),
       max_share=st.floats(min_value=0.01, max_value=1.0),
       needed=st.sets(st.sampled_from(list(Sector))))
def test_balance_properties(sectors: list[Sector], max_share: float,
                            needed: set[Sector]) -> None:
    found = membership_balance(sectors, max_share=max_share, needed=needed)
    assert [s.sector for s in found.sectors] == list(Sector)
    assert sum(s.members for s in found.sectors) == len(sectors) == found.members
    if sectors:
        assert sum(s.share or 0 for s in found.sectors) == pytest.approx(1.0)
        # Some sector holds at least an equal share; with a limit below that, one is over.
        if max_share < 1 / len(Sector):
            assert found.over_limit
    assert set(found.missing) == {s for s in needed if s not in sectors}
    assert all(s.share is not None and s.share > max_share
               for s in found.sectors if s.over_limit)
    assert found.flagged == bool(found.over_limit or found.missing)
    # The order of the members does not matter.
    assert membership_balance(sorted(sectors, reverse=True), max_share=max_share,
                              needed=needed) == found
