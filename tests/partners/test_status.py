"""The status rules: worked examples for each status, properties that must hold for any
commitment and reports (hypothesis), and the SQL twin of the rules agreeing with them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.partners import register, service
from missionboard.partners.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    ReportingSchedule,
)
from missionboard.partners.status import (
    GRACE_DAYS,
    TOLERANCE,
    Report,
    Terms,
    add_months,
    assess,
    derive_status,
    report_due_on,
)
from tests import factories
from tests.partners import builders

S = CommitmentStatus
START = dt.date(2025, 1, 1)
DEADLINE = dt.date(2027, 1, 1)  # 730 days after the start
TARGET = Terms(kind=CommitmentKind.TARGET, start_on=START, schedule=ReportingSchedule.QUARTERLY,
               baseline=0.0, target=100.0, deadline=DEADLINE)


def _on(months: int, days: int = 0) -> dt.date:
    return add_months(START, months) + dt.timedelta(days=days)


# Worked examples ---------------------------------------------------------------------------

def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 11, 15), 3) == dt.date(2026, 2, 15)
    assert add_months(dt.date(2025, 3, 31), -1) == dt.date(2025, 2, 28)


def test_not_yet_due_until_the_first_report_is_overdue() -> None:
    due = _on(3, GRACE_DAYS)  # quarterly, plus the grace period
    assert report_due_on(start_on=START, last_report_on=None,
                         schedule=ReportingSchedule.QUARTERLY) == due
    assert derive_status(TARGET, [], today=START) == S.NOT_YET_DUE
    assert derive_status(TARGET, [], today=due) == S.NOT_YET_DUE
    assert derive_status(TARGET, [], today=due + dt.timedelta(days=1)) == S.LAPSED


@pytest.mark.parametrize(("value", "expected"), [
    # At 12 months of 24 the straight line is at 50%; up to 10 points below is on track.
    (50.0, S.ON_TRACK), (40.0, S.ON_TRACK), (39.9, S.BEHIND), (0.0, S.BEHIND),
    (100.0, S.ACHIEVED), (130.0, S.ACHIEVED),
])
def test_a_target_is_judged_against_the_straight_line(value: float, expected: S) -> None:
    at = dt.date(2026, 1, 1)  # 365 of 730 days
    reports = [Report(period_end=at, value=value)]
    assert derive_status(TARGET, reports, today=at + dt.timedelta(days=10)) == expected


def test_a_reduction_target_is_judged_the_same_way() -> None:
    waits = Terms(kind=CommitmentKind.TARGET, start_on=START,
                  schedule=ReportingSchedule.QUARTERLY, baseline=40.0, target=20.0,
                  deadline=DEADLINE)
    at = dt.date(2026, 1, 1)
    assert derive_status(waits, [Report(at, value=30.0)], today=at) == S.ON_TRACK
    assert derive_status(waits, [Report(at, value=38.0)], today=at) == S.BEHIND
    assert derive_status(waits, [Report(at, value=19.0)], today=at) == S.ACHIEVED


def test_lapsed_once_the_schedule_and_the_grace_period_pass_without_a_report() -> None:
    last = dt.date(2025, 6, 30)
    reports = [Report(period_end=last, value=60.0)]  # well ahead: on track
    due = add_months(last, 3) + dt.timedelta(days=GRACE_DAYS)
    assert derive_status(TARGET, reports, today=due) == S.ON_TRACK
    assert derive_status(TARGET, reports, today=due + dt.timedelta(days=1)) == S.LAPSED
    yearly = Terms(**{**TARGET.__dict__, "schedule": ReportingSchedule.YEARLY})
    assert derive_status(yearly, reports, today=due + dt.timedelta(days=1)) == S.ON_TRACK


def test_the_deadline_passing_unmet_is_behind_unless_it_lapsed() -> None:
    reports = [Report(period_end=dt.date(2026, 12, 1), value=95.0)]
    assert derive_status(TARGET, reports, today=dt.date(2026, 12, 20)) == S.ON_TRACK
    assert derive_status(TARGET, reports, today=dt.date(2027, 1, 2)) == S.BEHIND
    assert derive_status(TARGET, reports, today=dt.date(2027, 6, 1)) == S.LAPSED
    late = [*reports, Report(period_end=dt.date(2027, 2, 1), value=97.0)]
    assert derive_status(TARGET, late, today=dt.date(2027, 2, 2)) == S.BEHIND


def test_money_and_time_add_up_across_reports() -> None:
    money = Terms(kind=CommitmentKind.MONEY, start_on=START,
                  schedule=ReportingSchedule.QUARTERLY, deadline=DEADLINE,
                  pledged_money=1000.0)
    spent = [Report(dt.date(2025, 4, 1), money_spent=200.0),
             Report(dt.date(2025, 7, 1), money_spent=300.0)]
    assessment = assess(money, spent)
    assert assessment.delivered_money == 500.0
    assert assessment.progress == 0.5
    assert derive_status(money, spent, today=dt.date(2025, 7, 2)) == S.ON_TRACK
    spent.append(Report(dt.date(2025, 10, 1), money_spent=500.0))
    assert derive_status(money, spent, today=dt.date(2027, 6, 1)) == S.ACHIEVED
    hours = Terms(kind=CommitmentKind.TIME, start_on=START, schedule=ReportingSchedule.MONTHLY,
                  deadline=DEADLINE, pledged_hours=100.0)
    given_ = [Report(dt.date(2025, 12, 1), hours_given=10.0)]
    assert derive_status(hours, given_, today=dt.date(2025, 12, 2)) == S.BEHIND


def test_an_action_is_achieved_when_a_report_says_it_is_done() -> None:
    action = Terms(kind=CommitmentKind.ACTION, start_on=START,
                   schedule=ReportingSchedule.SIX_MONTHLY, deadline=DEADLINE)
    begun = [Report(dt.date(2025, 6, 1))]
    assert derive_status(action, begun, today=dt.date(2025, 6, 2)) == S.ON_TRACK
    done = [*begun, Report(dt.date(2025, 12, 1), completed=True)]
    assert derive_status(action, done, today=dt.date(2030, 1, 1)) == S.ACHIEVED
    target_says_done = [Report(dt.date(2025, 6, 1), value=10.0, completed=True)]
    assert derive_status(TARGET, target_says_done, today=dt.date(2025, 6, 2)) == S.BEHIND


def test_withdrawn_overrides_everything() -> None:
    gone = Terms(**{**TARGET.__dict__, "withdrawn": True})
    assert derive_status(gone, [Report(dt.date(2025, 6, 1), value=100.0)],
                         today=dt.date(2030, 1, 1)) == S.WITHDRAWN


# Properties --------------------------------------------------------------------------------

days = st.integers(min_value=0, max_value=1500)
kinds = st.sampled_from(list(CommitmentKind))
schedules = st.sampled_from(list(ReportingSchedule))


@st.composite
def commitments(draw: st.DrawFn) -> tuple[Terms, list[Report]]:
    kind = draw(kinds)
    baseline = draw(st.floats(-1e6, 1e6, allow_nan=False))
    gap = draw(st.floats(1e-3, 1e6, allow_nan=False)) * draw(st.sampled_from([1, -1]))
    deadline = START + dt.timedelta(days=draw(st.integers(1, 1500)))
    terms = Terms(kind=kind, start_on=START, schedule=draw(schedules), baseline=baseline,
                  target=baseline + gap, deadline=draw(st.sampled_from([deadline, None])),
                  pledged_money=draw(st.floats(1, 1e9)), pledged_hours=draw(st.floats(1, 1e6)))
    reports = [Report(period_end=START + dt.timedelta(days=d),
                      value=draw(st.one_of(st.none(), st.floats(-2e6, 2e6))),
                      money_spent=draw(st.floats(0, 1e8)), hours_given=draw(st.floats(0, 1e5)),
                      completed=draw(st.booleans()))
               for d in draw(st.lists(days, max_size=6))]
    return terms, reports


@settings(max_examples=300, deadline=None)
@given(commitments(), days)
def test_lapsed_exactly_when_a_report_is_overdue_beyond_the_grace(
        case: tuple[Terms, list[Report]], later: int) -> None:
    terms, reports = case
    today = START + dt.timedelta(days=later)
    status = derive_status(terms, reports, today=today)
    last = max((r.period_end for r in reports), default=None)
    overdue = today > add_months(last or START, terms.schedule.months) + dt.timedelta(
        days=GRACE_DAYS)
    if status != S.ACHIEVED:
        assert (status == S.LAPSED) == overdue


@settings(max_examples=300, deadline=None)
@given(commitments(), days)
def test_a_report_today_never_leaves_it_lapsed_or_not_yet_due(
        case: tuple[Terms, list[Report]], later: int) -> None:
    terms, reports = case
    today = START + dt.timedelta(days=later)
    assume(all(r.period_end <= today for r in reports))
    status = derive_status(terms, [*reports, Report(period_end=today)], today=today)
    assert status not in (S.LAPSED, S.NOT_YET_DUE, S.WITHDRAWN)


@settings(max_examples=300, deadline=None)
@given(commitments(), days, days)
def test_achieved_is_final(case: tuple[Terms, list[Report]], first: int, extra: int) -> None:
    terms, reports = case
    today = START + dt.timedelta(days=first)
    if derive_status(terms, reports, today=today) == S.ACHIEVED:
        assert derive_status(terms, reports, today=today + dt.timedelta(days=extra)) \
            == S.ACHIEVED


@settings(max_examples=300, deadline=None)
@given(commitments(), days, st.randoms(use_true_random=False))
def test_the_order_reports_arrive_in_does_not_matter(
        case: tuple[Terms, list[Report]], later: int, rng: object) -> None:
    terms, reports = case
    assume(len({r.period_end for r in reports}) == len(reports))  # ties: the latest value
    shuffled = list(reports)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    today = START + dt.timedelta(days=later)
    assert derive_status(terms, shuffled, today=today) == derive_status(terms, reports,
                                                                         today=today)


_RANK = {S.BEHIND: 0, S.ON_TRACK: 1, S.ACHIEVED: 2}


@st.composite
def target_reports(draw: st.DrawFn) -> tuple[Terms, dt.date, dt.date, float, float]:
    """A target (rising or falling), a report's day and the day after, the share of the
    pledge reported and a further share."""
    baseline = draw(st.floats(-1e3, 1e3))
    gap = draw(st.floats(0.01, 1e3)) * draw(st.sampled_from([1, -1]))
    terms = Terms(kind=CommitmentKind.TARGET, start_on=START,
                  schedule=ReportingSchedule.QUARTERLY, baseline=baseline,
                  target=baseline + gap, deadline=DEADLINE)
    on = START + dt.timedelta(days=draw(st.integers(1, 700)))
    today = on + dt.timedelta(days=draw(st.integers(0, 60)))
    return terms, on, today, draw(st.floats(-2, 3)), draw(st.floats(0, 1))


@settings(max_examples=300, deadline=None)
@given(target_reports())
def test_more_progress_never_makes_a_target_worse(
        case: tuple[Terms, dt.date, dt.date, float, float]) -> None:
    terms, on, today, share, more = case
    assert terms.baseline is not None
    assert terms.target is not None
    baseline, gap = terms.baseline, terms.target - terms.baseline

    def status(progress: float) -> S:
        return derive_status(terms, [Report(on, value=baseline + progress * gap)], today=today)

    assert _RANK[status(share + more)] >= _RANK[status(share)]


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e3, 1e3), st.floats(0.01, 1e3), st.floats(-2, 3), st.integers(1, 700))
def test_a_rise_and_a_fall_of_the_same_share_are_judged_alike(
        baseline: float, size: float, share: float, at: int) -> None:
    on = START + dt.timedelta(days=at)

    def status(direction: int) -> S:
        target = baseline + direction * size
        terms = Terms(kind=CommitmentKind.TARGET, start_on=START,
                      schedule=ReportingSchedule.QUARTERLY, baseline=baseline, target=target,
                      deadline=DEADLINE)
        return derive_status(terms, [Report(on, value=baseline + share * (target - baseline))],
                             today=on)

    assert status(1) == status(-1)


def test_the_tolerance_is_a_share_of_the_pledge() -> None:
    at = dt.date(2026, 1, 1)  # half the time gone
    edge = (0.5 - TOLERANCE) * 100
    assert derive_status(TARGET, [Report(at, value=edge)], today=at) == S.ON_TRACK
    assert derive_status(TARGET, [Report(at, value=edge - 0.01)], today=at) == S.BEHIND


# The SQL twin ------------------------------------------------------------------------------

CASES: list[tuple[CommitmentKind, str, list[tuple[int, float | None, bool]], bool]] = [
    # (kind, schedule, reports as (days after the start, value, completed), withdrawn)
    (CommitmentKind.TARGET, "quarterly", [], False),
    (CommitmentKind.TARGET, "quarterly", [(100, 10.0, False)], False),
    (CommitmentKind.TARGET, "quarterly", [(100, 1.0, False), (370, 20.0, False)], False),
    (CommitmentKind.TARGET, "monthly", [(700, 99.0, False)], False),
    (CommitmentKind.TARGET, "yearly", [(300, 100.0, False)], False),
    (CommitmentKind.ACTION, "six_monthly", [(200, None, False)], False),
    (CommitmentKind.ACTION, "six_monthly", [(200, None, True)], False),
    (CommitmentKind.TARGET, "quarterly", [(100, 60.0, False)], True),
]
TODAYS = [dt.date(2025, 2, 1), dt.date(2025, 5, 1), dt.date(2025, 6, 1), dt.date(2026, 1, 20),
          dt.date(2026, 12, 31), dt.date(2027, 1, 15), dt.date(2028, 1, 1)]


def test_the_register_filters_by_status_as_the_rules_derive_it(session: Session) -> None:
    w = factories.world(session)
    partner = builders.partner(session)
    made: list[Commitment] = []
    for kind, schedule, reports, withdrawn in CASES:
        c = builders.commitment(session, partner, kind=kind.value, schedule=schedule,
                                mission=w.mission.slug)
        for day, value, completed in reports:
            builders.report(session, c, START + dt.timedelta(days=day), value=value,
                            completed=completed)
        if withdrawn:
            service.withdraw_commitment(session, commitment=c, reason="Merged with another")
        made.append(c)
    session.flush()
    from missionboard.partners.schemas import RegisterQuery

    for today in TODAYS:
        expected = {c.id: derive_status(service.terms_of(c), service.reports_of(c), today=today)
                    for c in made}
        for status in S:
            found = register.page(session, RegisterQuery(status=status), today=today,
                                  base="", limit=100)
            assert {i.id for i in found.items} == {k for k, v in expected.items()
                                                   if v == status}, (today, status)
            assert found.total == len(found.items)
        rows = session.execute(select(Commitment.id, register.status_expression(today=today))
                               .where(Commitment.id.in_(expected)))
        assert {i: S(s) for i, s in rows} == expected
        assert {c.id: service.current_status(c, today=today) for c in made} == expected
