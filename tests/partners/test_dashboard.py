"""The mobilisation dashboard's figures against what was built (:mod:`.mobilisation_builders`),
worked out here without the dashboard's code: headline figures and the count by status (from
the pure status rules), the lapsed list and its order, the area filter with areas two levels
down, the monthly and quarterly series, the breakdowns, and that nothing private is counted or
shown. Hypothesis checks that the series are running totals that never fall, and that the
count by status adds up to every public commitment, whatever the commitments."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from missionboard.partners import dashboard
from missionboard.partners.dashboard import Scope
from missionboard.partners.models import CommitmentStatus, ModerationStatus
from missionboard.partners.schemas import SECTOR_LABELS
from missionboard.partners.status import add_months
from missionboard.volunteering import signups
from tests import factories
from tests.partners import builders
from tests.partners.mobilisation_builders import (
    ENGLAND,
    HARTLEPOOL,
    NORTH_EAST,
    SECRET_TITLES,
    STAFF_EMAIL,
    TODAY,
    VOLUNTEER_EMAIL,
    VOLUNTEER_NAME,
    WALES,
    Built,
    Placed,
    Scenario,
    scenario,
)

LAPSED = CommitmentStatus.LAPSED
WITHDRAWN = CommitmentStatus.WITHDRAWN
#: Each area with the areas within it, as built.
WITHIN = {ENGLAND: {ENGLAND, NORTH_EAST, HARTLEPOOL}, NORTH_EAST: {NORTH_EAST, HARTLEPOOL},
          HARTLEPOOL: {HARTLEPOOL}, WALES: {WALES}}


@pytest.fixture
def sc(session: Session) -> Scenario:
    return scenario(session)


@pytest.fixture
def world(session: Session) -> factories.World:
    return factories.world(session)


def _scope(session: Session, sc: Scenario, mission: str | None, area: str | None) -> Scope:
    from missionboard.missions import service as missions_service

    return Scope(mission=missions_service.get_mission(session, slug=mission,
                                                      include_drafts=False)
                 if mission else None,
                 area=sc.areas[area] if area else None)


# What the dashboard should say, worked out from what was built -----------------------------

def _commitments(sc: Scenario, mission: str | None, area: str | None) -> list[Built]:
    return [b for b in sc.public()
            if (mission is None or b.mission == mission)
            and (area is None or b.area in WITHIN[area])]


def _volunteers(sc: Scenario, mission: str | None, area: str | None) -> list[Placed]:
    return [v for v in sc.volunteers if v.public
            and (mission is None or v.mission == mission)
            and (area is None or v.area in WITHIN[area])]


def _live(items: Iterable[Built]) -> list[Built]:
    return [b for b in items if b.status != WITHDRAWN]


SCOPES = [(None, None), ("published-mission", None), ("second-mission", None),
          ("other-mission", None), (None, ENGLAND), (None, NORTH_EAST), (None, HARTLEPOOL),
          (None, WALES), ("published-mission", ENGLAND), ("second-mission", NORTH_EAST)]


def test_the_scenario_has_every_status(session: Session, sc: Scenario) -> None:
    statuses = {b.status for b in sc.public()}
    assert statuses >= {CommitmentStatus.NOT_YET_DUE, CommitmentStatus.ACHIEVED, LAPSED,
                        WITHDRAWN}
    assert statuses & {CommitmentStatus.ON_TRACK, CommitmentStatus.BEHIND}


@pytest.mark.parametrize(("mission", "area"), SCOPES)
def test_the_headline_figures_are_those_built(session: Session, sc: Scenario,
                                              mission: str | None, area: str | None) -> None:
    found = dashboard.headline(session, _scope(session, sc, mission, area), today=TODAY)
    public = _commitments(sc, mission, area)
    live = _live(public)
    expected_status = Counter(b.status for b in public)
    assert found.by_status == {s: expected_status.get(s, 0) for s in CommitmentStatus}
    assert found.public_commitments == len(public)
    assert found.commitments == len(live)
    assert found.lapsed == expected_status.get(LAPSED, 0)
    assert found.partners == len({b.commitment.partner_id for b in live})
    assert found.partners_active == len({b.commitment.partner_id for b in live
                                         if b.status != LAPSED})
    assert found.pledged_money == pytest.approx(sum(b.money for b in live))
    assert found.pledged_hours == pytest.approx(sum(b.hours for b in live))
    assert found.delivered_money == pytest.approx(sum(m for b in live for _, m, _ in b.reports))
    assert found.delivered_hours == pytest.approx(sum(h for b in live for _, _, h in b.reports))
    people = _volunteers(sc, mission, area)
    assert found.people == len(people)
    assert found.volunteer_hours == pytest.approx(sum(h for v in people for _, h in v.hours))
    assert found.opportunities == len({v.opportunity.id for v in people})


def test_the_figures_in_all_are_those_built(session: Session, sc: Scenario) -> None:
    """Spelled out once, for the reader: what the scenario is meant to add up to."""
    found = dashboard.headline(session, Scope(), today=TODAY)
    assert found.by_status[LAPSED] == 4  # time, target, dormant1, dormant2
    assert found.by_status[WITHDRAWN] == 1
    assert found.commitments == 8
    assert (found.partners, found.partners_active) == (4, 3)  # Dormant Builders has lapsed
    assert found.pledged_money == 1000  # not the withdrawn 5,000 nor the private ones
    assert found.delivered_money == 600
    assert found.delivered_hours == 130  # 50 + 70 + 10, not the pending partner's 99
    assert (found.people, found.volunteer_hours) == (5, 19.0)  # 3 + 2.5 + 1.5 + 2 + 4 + 6
    assert found.opportunities == 4  # garden, online, welsh and the closed one


# The lapsed list ---------------------------------------------------------------------------

def _due(b: Built) -> dt.date:
    c = b.commitment
    last = max((r[0] for r in b.reports), default=None)
    return add_months(last or c.start_on, c.schedule.months)


def test_the_lapsed_list_is_most_overdue_first(session: Session, sc: Scenario) -> None:
    found = dashboard.lapsed(session, Scope(), today=TODAY)
    by_key = {b.commitment.id: k for k, b in sc.commitments.items()}
    assert [by_key[r.id] for r in found] == ["target", "dormant1", "dormant2", "time"]
    for row in found:
        built = sc.commitments[by_key[row.id]]
        assert row.due_on == _due(built)
        assert row.days_overdue == (TODAY - _due(built)).days
        assert row.lapsed_after == row.due_on + dt.timedelta(days=30)
        assert row.partner_name == built.commitment.partner.name
        assert row.mission_slug == built.mission
    target = found[0]
    assert (target.due_on, target.days_overdue, target.last_report_on) == (
        dt.date(2025, 4, 1), 440, None)
    assert (found[-1].due_on, found[-1].last_report_on) == (dt.date(2026, 4, 30),
                                                            dt.date(2026, 3, 31))
    assert [r.area_name for r in found] == ["Hartlepool", "England", "England", "North East"]
    # Private commitments that have lapsed too are never listed.
    private = {sc.commitments[k].commitment.id for k in ("rejected", "draft_mission")}
    assert {sc.commitments[k].status for k in ("rejected", "draft_mission")} == {LAPSED}
    assert not private & {r.id for r in found}


def test_the_lapsed_list_follows_the_scope(session: Session, sc: Scenario) -> None:
    def titles(mission: str | None, area: str | None) -> list[str]:
        return [r.title for r in dashboard.lapsed(session, _scope(session, sc, mission, area),
                                                  today=TODAY)]

    assert titles(None, NORTH_EAST) == ["Commitment target", "Commitment time"]
    assert titles(None, HARTLEPOOL) == ["Commitment target"]
    assert titles(None, WALES) == []
    assert titles("second-mission", None) == []
    assert titles(None, None)[:1] == ["Commitment target"]
    assert len(dashboard.lapsed(session, Scope(), today=TODAY, limit=2)) == 2


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_the_lapsed_download_streams_every_one_in_order(
        session: Session, session_factory: sessionmaker[Session], sc: Scenario,
        batch: int) -> None:
    session.flush()
    expected = dashboard.lapsed(session, Scope(), today=TODAY)
    streamed = list(dashboard.stream_lapsed(session_factory, Scope(), today=TODAY,
                                            batch=batch))
    assert [r.id for r in streamed] == [r.id for r in expected]
    assert streamed == expected


# The area filter ---------------------------------------------------------------------------

def test_an_area_includes_every_area_within_it_at_any_depth(session: Session,
                                                            sc: Scenario) -> None:
    def figures(area: str) -> tuple[int, int, int]:
        found = dashboard.headline(session, Scope(area=sc.areas[area]), today=TODAY)
        return found.commitments, found.lapsed, found.people

    # Hartlepool is two levels below England: its commitment and its volunteers count there.
    assert figures(ENGLAND) == (6, 4, 3)  # money, time, target, second, dormant ×2
    assert figures(NORTH_EAST) == (3, 2, 3)  # time, target, second; the garden and closed
    assert figures(HARTLEPOOL) == (1, 1, 2)  # target; the garden's two
    assert figures(WALES) == (1, 0, 1)
    # What is tied to no area (the in-kind pledge, the online opportunity) is only counted
    # for everywhere.
    everywhere = dashboard.headline(session, Scope(), today=TODAY)
    assert (everywhere.commitments, everywhere.people) == (8, 5)


def test_by_area_is_the_tree_with_each_area_counting_those_within(
        session: Session, sc: Scenario) -> None:
    rows = dashboard.by_area(session, Scope(), today=TODAY)
    assert [(r.key, r.depth) for r in rows] == [
        (ENGLAND, 0), (NORTH_EAST, 1), (HARTLEPOOL, 2), (WALES, 0), ("", 0)]
    assert rows[-1].label == dashboard.NO_AREA
    for row in rows[:-1]:
        live = _live(_commitments(sc, None, row.key))
        people = _volunteers(sc, None, row.key)
        assert row.commitments == len(live), row.key
        assert row.partners == len({b.commitment.partner_id for b in live})
        assert row.lapsed == sum(b.status == LAPSED for b in live)
        assert row.delivered_money == pytest.approx(sum(m for b in live for _, m, _ in b.reports))
        assert row.delivered_hours == pytest.approx(sum(h for b in live for _, _, h in b.reports))
        assert row.people == len(people)
        assert row.volunteer_hours == pytest.approx(sum(h for v in people for _, h in v.hours))
    assert rows[1].parent == "England"
    assert rows[2].parent == "North East"
    nowhere = rows[-1]
    assert (nowhere.commitments, nowhere.people, nowhere.volunteer_hours) == (1, 1, 2.0)
    # Within an area: that area first, then those within it; no row for "no area".
    within = dashboard.by_area(session, Scope(area=sc.areas[NORTH_EAST]), today=TODAY)
    assert [(r.key, r.depth) for r in within] == [(NORTH_EAST, 0), (HARTLEPOOL, 1)]


def test_an_unknown_area_is_not_found(session: Session, sc: Scenario) -> None:
    from missionboard.errors import NotFound

    with pytest.raises(NotFound):
        dashboard.find_area(session, "NOWHERE")
    assert dashboard.find_area(session, HARTLEPOOL).name == "Hartlepool"


# Over time ---------------------------------------------------------------------------------

def _expected(dated: Sequence[tuple[dt.date, float]], spans: Sequence[dashboard.Period]
              ) -> list[tuple[float, float]]:
    """(added, running total) at each period, from dated amounts (none after today)."""
    dated = [(d, v) for d, v in dated if d <= TODAY]
    total = sum(v for d, v in dated if d < spans[0].start)
    found = []
    for span in spans:
        added = sum(v for d, v in dated if span.start <= d <= span.end)
        total += added
        found.append((added, total))
    return found


def _points(series: dashboard.Series) -> list[tuple[Any, Any]]:
    return [(pytest.approx(p.added), pytest.approx(p.total)) for p in series.points]


@pytest.mark.parametrize("period", [("month", 6), ("month", 12), ("quarter", 3),
                                    ("quarter", 8)])
@pytest.mark.parametrize("where", [(None, None), ("published-mission", None),
                                   (None, NORTH_EAST)])
def test_the_series_are_the_running_totals_of_what_was_built(
        session: Session, sc: Scenario, period: tuple[str, int],
        where: tuple[str | None, str | None]) -> None:
    (by, count), (mission, area) = period, where
    found = dashboard.over_time(session, _scope(session, sc, mission, area), today=TODAY,
                                by=by, count=count)
    spans = found.periods
    assert len(spans) == count
    live = _live(_commitments(sc, mission, area))
    people = _volunteers(sc, mission, area)
    assert _points(found.money) == _expected(
        [(d, m) for b in live for d, m, _ in b.reports], spans)
    assert _points(found.partner_hours) == _expected(
        [(d, h) for b in live for d, _, h in b.reports], spans)
    assert _points(found.volunteer_hours) == _expected(
        [(d, h) for v in people for d, h in v.hours], spans)
    assert _points(found.people) == _expected([(v.on, 1) for v in people], spans)
    assert _points(found.commitments) == _expected(
        [(b.commitment.start_on, 1) for b in live], spans)
    assert found.people.undated == 0
    assert found.volunteer_hours.undated == 0


def test_the_months_and_quarters(session: Session) -> None:
    months = dashboard.periods(today=TODAY, by="month", count=6)
    assert [p.label for p in months] == ["January 2026", "February 2026", "March 2026",
                                         "April 2026", "May 2026", "June 2026"]
    assert [p.partial for p in months] == [False] * 5 + [True]
    assert (months[-1].start, months[-1].end, months[-1].to) == (
        dt.date(2026, 6, 1), dt.date(2026, 6, 30), TODAY)
    assert months[1].end == dt.date(2026, 2, 28)
    quarters = dashboard.periods(today=TODAY, by="quarter", count=3)
    assert [(p.start, p.end) for p in quarters] == [
        (dt.date(2025, 10, 1), dt.date(2025, 12, 31)), (dt.date(2026, 1, 1),
                                                       dt.date(2026, 3, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30))]
    assert quarters[0].label == "October to December 2025"
    last_day = dashboard.periods(today=dt.date(2026, 6, 30), by="quarter", count=1)[0]
    assert not last_day.partial
    assert last_day.to == dt.date(2026, 6, 30)
    assert len(dashboard.periods(today=TODAY, by="month")) == 12
    assert len(dashboard.periods(today=TODAY, by="quarter")) == 8


def test_the_change_on_the_previous_period_in_words(session: Session, sc: Scenario) -> None:
    found = dashboard.over_time(session, Scope(), today=TODAY, by="month", count=6)
    # Money: 300 in May against nothing in April.
    assert found.money.trend is not None
    assert found.money.trend.words == "£300 in May 2026, up from none in April 2026"
    quarters = dashboard.over_time(session, Scope(), today=TODAY, by="quarter", count=3)
    # Volunteers' hours: 8.5 in January to March 2026 against 3 in the quarter before.
    trend = quarters.volunteer_hours.trend
    assert trend is not None
    assert (trend.latest, trend.previous) == (8.5, 3.0)
    assert trend.change == pytest.approx(5.5 / 3)
    assert trend.words == ("8.5 hours in January to March 2026, up 183% on the previous "
                           "quarter (3 hours in October to December 2025)")


def _points_of(added: Sequence[float], *, partial_last: bool = True) -> list[dashboard.Point]:
    spans = dashboard.periods(today=TODAY, by="quarter", count=len(added))
    if not partial_last:
        spans = [dataclasses.replace(s, partial=False) for s in spans]
    total, points = 0.0, []
    for span, a in zip(spans, added, strict=True):
        total += a
        points.append(dashboard.Point(period=span, added=a, total=total))
    return points


@pytest.mark.parametrize(("added", "unit", "words", "change"), [
    ([100, 112, 5], "money", "£112 in January to March 2026, up 12% on the previous quarter "
                             "(£100 in October to December 2025)", 0.12),
    ([200, 150, 0], "hours", "150 hours in January to March 2026, down 25% on the previous "
                             "quarter (200 hours in October to December 2025)", -0.25),
    ([0, 3, 0], "people", "3 people in January to March 2026, up from none in October to "
                          "December 2025", None),
    ([1, 0, 0], "commitments", "None in January to March 2026, down from 1 commitment in "
                               "October to December 2025", -1.0),
    ([0, 0, 9], "people", "None in January to March 2026 or in October to December 2025",
     None),
    ([1000, 1001, 0], "money", "£1,001 in January to March 2026, about the same as the "
                               "previous quarter (£1,000 in October to December 2025)", 0.001),
    # A previous figure so small that the ratio overflows gets no percentage.
    ([2.2250738585072014e-308, 1, 0], "money", "£1 in January to March 2026, against £0 in "
                                               "October to December 2025", None),
])
def test_trend_words(added: list[float], unit: str, words: str, change: float | None) -> None:
    found = dashboard.trend(_points_of(added), by="quarter", unit=unit)
    assert found is not None
    assert found.words == words
    assert found.change == (None if change is None else pytest.approx(change))


def test_no_trend_until_two_periods_are_complete() -> None:
    assert dashboard.trend(_points_of([5, 6]), by="quarter", unit="money") is None
    assert dashboard.trend(_points_of([5, 6], partial_last=False), by="quarter",
                           unit="money") is not None


def test_volunteering_whose_details_were_deleted_counts_but_is_undated(
        session: Session, sc: Scenario) -> None:
    closed = next(v.opportunity for v in sc.volunteers if v.opportunity.slug == "closed-one")
    signups.purge_personal_data(session, opportunity=closed)
    top = dashboard.headline(session, Scope(), today=TODAY)
    assert (top.people, top.volunteer_hours) == (5, 19.0)  # the counters stay
    found = dashboard.over_time(session, Scope(), today=TODAY, totals=top)
    assert found.people.undated == 1
    assert found.people.undated_words == "1 person"
    assert found.volunteer_hours.undated == 6.0
    assert found.people.total == 4
    assert found.volunteer_hours.total == 13.0


# Breakdowns --------------------------------------------------------------------------------

def test_by_sector_and_by_mission(session: Session, sc: Scenario) -> None:
    sectors = dashboard.by_sector(session, Scope(), today=TODAY, labels=SECTOR_LABELS)
    live = _live(sc.public())
    expected = Counter(b.commitment.partner.sector.value for b in live)
    assert {r.key: r.commitments for r in sectors if r.key} == {
        k: expected.get(k, 0) for k in {r.key for r in sectors if r.key}}
    assert sum(r.commitments for r in sectors) == len(live)
    # Two commitments each: the sector with volunteers too first, then by name.
    assert [r.key for r in sectors] == ["community", "construction_housing",
                                        "energy_utilities", "manufacturing", ""]
    community = next(r for r in sectors if r.key == "community")
    assert (community.people, community.volunteer_hours) == (2, 7.0)  # Beacon's garden
    assert sectors[-1].label == dashboard.PUBLIC_BODIES
    assert (sectors[-1].people, sectors[-1].commitments) == (3, 0)
    assert sum(r.people for r in sectors) == 5

    missions = dashboard.by_mission(session, Scope(), today=TODAY)
    # In the missions' order (all at position 0 here, so by slug), drafts left out.
    assert [r.key for r in missions] == ["other-mission", "published-mission",
                                         "second-mission"]
    for row in missions:
        mine = _live(_commitments(sc, row.key, None))
        assert row.commitments == len(mine)
        assert row.lapsed == sum(b.status == LAPSED for b in mine)
        assert row.people == len(_volunteers(sc, row.key, None))
    assert "hidden-mission" not in {r.key for r in missions}


def test_the_whole_dashboard_for_one_mission(session: Session, sc: Scenario) -> None:
    scope = _scope(session, sc, "published-mission", None)
    found = dashboard.dashboard(session, scope, today=TODAY, sector_labels=SECTOR_LABELS,
                                by="quarter", count=4)
    assert found.by_mission == []
    assert found.over_time.by == "quarter"
    assert len(found.over_time.periods) == 4
    assert {r.id for r in found.lapsed} == {
        b.commitment.id for b in _commitments(sc, "published-mission", None)
        if b.status == LAPSED}
    rows = dashboard.series_rows(found.over_time)
    assert rows[0][:4] == ["period", "period_start", "period_end", "partial"]
    assert "money_delivered_gbp_total" in rows[0]
    assert "people_total" in rows[0]
    assert rows[-1][:4] == ["April to June 2026", "2026-04-01", "2026-06-15", "yes"]
    assert len(rows) == 5


# Nothing private ---------------------------------------------------------------------------

def test_nothing_private_is_counted_or_shown(session: Session, sc: Scenario) -> None:
    found = dashboard.dashboard(session, Scope(), today=TODAY, sector_labels=SECTOR_LABELS)
    text = repr(found)
    for secret in (*SECRET_TITLES, STAFF_EMAIL, "Private.Staffer", VOLUNTEER_NAME,
                   VOLUNTEER_EMAIL, "Pending Partner Ltd", "hidden-mission", "LS6 1AA",
                   "01632 960 001", "Free on Saturdays"):
        assert secret not in text, secret
    # The private commitments' money and hours are not in any figure.
    assert found.headline.pledged_money == 1000
    assert 777 not in {p.added for p in found.over_time.money.points}
    assert found.headline.delivered_hours == 130


# Properties --------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(before=st.floats(min_value=0, max_value=1e9, allow_nan=False),
       amounts=st.dictionaries(st.integers(min_value=24290, max_value=24330),
                               st.floats(min_value=0, max_value=1e9, allow_nan=False),
                               max_size=30),
       by=st.sampled_from(["month", "quarter"]), count=st.integers(min_value=1, max_value=24))
def test_a_series_is_a_running_total_that_never_falls(
        before: float, amounts: dict[int, float], by: str, count: int) -> None:
    spans = dashboard.periods(today=TODAY, by=by, count=count)
    series = dashboard.cumulate(spans, before=before, by_month=amounts, by=by, unit="money",
                                key="k", title="T")
    totals = [p.total for p in series.points]
    assert totals == sorted(totals)
    assert totals[0] >= before
    first, last = dashboard.month_key(spans[0].start), dashboard.month_key(spans[-1].end)
    in_window = sum(v for k, v in amounts.items() if first <= k <= last)
    assert totals[-1] == pytest.approx(before + in_window)
    assert sum(p.added for p in series.points) == pytest.approx(in_window)


_COMMITMENTS = st.lists(st.fixed_dictionaries({
    "months_ago": st.integers(min_value=0, max_value=30),
    "schedule": st.sampled_from(["monthly", "quarterly", "six_monthly", "yearly"]),
    "reported": st.none() | st.integers(min_value=0, max_value=12),
    "done": st.booleans(),
    "approved": st.booleans(),
    "partner": st.integers(min_value=0, max_value=2),
    "withdrawn": st.booleans(),
    "area": st.sampled_from(["E92000001", ""]),
}), min_size=1, max_size=8)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=_COMMITMENTS)
def test_the_count_by_status_adds_up_to_every_public_commitment(
        session: Session, world: factories.World, specs: list[dict[str, Any]]) -> None:
    savepoint = session.begin_nested()
    try:
        partners = [builders.partner(session, f"Partner {i}", approved=i != 2,
                                     web_domain=f"p{i}.example") for i in range(3)]
        public = 0
        for n, spec in enumerate(specs):
            start = add_months(TODAY, -spec["months_ago"])
            partner = partners[spec["partner"]]
            c = builders.commitment(
                session, partner, approved=bool(spec["approved"]), title=f"C{n}",
                kind="action", baseline=None, target=None, unit="", start_on=start,
                deadline=None, schedule=spec["schedule"], area_code=spec["area"])
            if spec["reported"] is not None:
                on = min(TODAY, add_months(start, spec["reported"]))
                builders.report(session, c, on, completed=bool(spec["done"]))
            if spec["withdrawn"]:
                c.withdrawn_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
                from missionboard.partners import service

                service.refresh_progress(c)
            public += bool(spec["approved"]) and partner.moderation == ModerationStatus.APPROVED
        session.flush()
        for area in (None, "E92000001"):
            scope = Scope(area=dashboard.find_area(session, area) if area else None)
            found = dashboard.headline(session, scope, today=TODAY)
            if area is None:
                assert found.public_commitments == public
            assert sum(found.by_status.values()) == found.public_commitments
            assert found.commitments == found.public_commitments - found.by_status[WITHDRAWN]
            assert found.lapsed == len(dashboard.lapsed(session, scope, today=TODAY))
            assert found.partners_active <= found.partners <= 2
            rows = dashboard.by_area(session, scope, today=TODAY)
            assert sum(r.commitments for r in rows if r.depth == 0) == found.commitments
    finally:
        savepoint.rollback()
        session.expunge_all()  # what the example built is gone: forget it
