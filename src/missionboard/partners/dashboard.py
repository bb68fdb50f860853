"""The mobilisation dashboard: what partners and volunteers are doing for the missions, for one
mission or all of them, in one area (with every area within it) or everywhere — headline
figures, the lapsed commitments, monthly or quarterly series with the change on the previous
period, and breakdowns by area, by the partners' sector and by mission.

Public data only: approved commitments of approved partners on published missions (as the
register shows them, :func:`missionboard.partners.register.public_condition`), and public
volunteering opportunities (published or closed, on a published mission, by a public body or
an approved partner, :func:`missionboard.volunteering.service.public_conditions`). Every
figure is an aggregate computed in SQL; the only rows read one by one are the lapsed
commitments (a page at a time) and the areas (a small reference table, for the tree).
Nothing personal is ever selected: volunteering is counted from the opportunities' anonymous
counters, and the series count sign-ups and confirmed hours by month without reading any
column but their dates and hours.

The rules, stated once on the page too:

- withdrawn commitments are left out of every figure but the count by status (as on the
  mission's page);
- money and hours delivered are as the partners report them, by the end date of each
  report's period; people volunteering are those with a place (not the waiting list), dated
  when they got it; volunteers' hours are those their organisers confirmed, dated when they
  were worked;
- a commitment counts in an area when it is tied to that area or one within it (a
  commitment for the whole country is not in a region's figures), and an opportunity when
  its postcode lies there.

Volunteers' details are deleted when they withdraw and after the retention period, while the
counters stay: sign-ups and hours whose rows are gone are in the totals but cannot be dated,
and the series say how many (``undated``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import CTE

from missionboard.errors import NotFound
from missionboard.metrics.models import Area
from missionboard.missions.models import Mission, MissionStatus
from missionboard.partners.models import (
    Commitment,
    CommitmentStatus,
    Partner,
    ProgressReport,
    Sector,
)
from missionboard.partners.register import public_condition, status_condition, status_expression
from missionboard.partners.status import add_months
from missionboard.volunteering.models import (
    HoursLog,
    HoursStatus,
    Opportunity,
    Signup,
    SignupStatus,
)
from missionboard.volunteering.service import PUBLIC_STATUSES
from missionboard.volunteering.service import public_conditions as opportunity_public

AnySelect = Select[*tuple[Any, ...]]

#: Months in each kind of period, and how many periods the series show by default.
PERIOD_MONTHS = {"month": 1, "quarter": 3}
DEFAULT_PERIODS = {"month": 12, "quarter": 8}
#: The most periods a series may span (five years of months).
MAX_PERIODS = 60
#: The lapsed commitments listed on the page (the download has every one).
LAPSED_SHOWN = 200
#: The download's batch size.
BATCH_SIZE = 1000
_WITHDRAWN = CommitmentStatus.WITHDRAWN
_LAPSED = CommitmentStatus.LAPSED


# Where: one mission or all, one area (and the areas within it) or everywhere ---------------

@dataclass(frozen=True)
class Scope:
    """What the dashboard covers: a published mission (None: every published mission) and
    an area (None: everywhere, including what is tied to no area)."""

    mission: Mission | None = None
    area: Area | None = None


def find_area(session: Session, code: str) -> Area:
    found = session.scalar(select(Area).where(Area.code == code))
    if found is None:
        raise NotFound(f"No area {code!r}")
    return found


def _subtree(area_id: int) -> CTE:
    """The area and every area within it, at any depth (``UNION``, so a loop in the parents
    cannot run forever)."""
    tree = select(Area.id.label("id")).where(Area.id == area_id).cte(
        "area_subtree", recursive=True)
    child = aliased(Area)
    return tree.union(select(child.id).where(child.parent_id == tree.c.id))


def _closure() -> CTE:
    """Every (ancestor, descendant) pair of areas, each area its own ancestor too."""
    pairs = select(Area.id.label("ancestor_id"), Area.id.label("descendant_id")).cte(
        "area_closure", recursive=True)
    child = aliased(Area)
    return pairs.union(select(pairs.c.ancestor_id, child.id)
                       .where(child.parent_id == pairs.c.descendant_id))


def _commitments(scope: Scope, query: AnySelect, *, withdrawn: bool = False) -> AnySelect:
    """``query`` over the public commitments in scope (withdrawn ones only if asked)."""
    query = (query.join(Partner, Partner.id == Commitment.partner_id)
             .join(Mission, Mission.id == Commitment.mission_id).where(public_condition()))
    if not withdrawn:
        query = query.where(Commitment.withdrawn_at.is_(None))
    if scope.mission is not None:
        query = query.where(Commitment.mission_id == scope.mission.id)
    if scope.area is not None:
        tree = _subtree(scope.area.id)
        query = query.where(Commitment.area_id.in_(select(tree.c.id)))
    return query


def _opportunities(scope: Scope, query: AnySelect) -> AnySelect:
    """``query`` over the public volunteering opportunities in scope."""
    query = query.where(Opportunity.status.in_(PUBLIC_STATUSES), *opportunity_public())
    if scope.mission is not None:
        query = query.where(Opportunity.mission_id == scope.mission.id)
    if scope.area is not None:
        tree = _subtree(scope.area.id)
        query = query.where(Opportunity.area_code.in_(
            select(Area.code).where(Area.id.in_(select(tree.c.id)))))
    return query


# Headline figures --------------------------------------------------------------------------

@dataclass(frozen=True)
class Headline:
    """The figures at the top of the dashboard."""

    #: Partners with a (not withdrawn) public commitment in scope, and those with one that
    #: has not lapsed either.
    partners: int
    partners_active: int
    #: Public commitments, withdrawn ones left out, and the count by status (every status,
    #: withdrawn included: these add up to every public commitment).
    commitments: int
    by_status: dict[CommitmentStatus, int]
    pledged_money: float
    delivered_money: float
    pledged_hours: float
    delivered_hours: float
    #: Public volunteering opportunities, people with a place, hours confirmed.
    opportunities: int
    people: int
    volunteer_hours: float
    #: Whether any of it is the demonstration's made-up data.
    illustrative: bool

    @property
    def public_commitments(self) -> int:
        return sum(self.by_status.values())

    @property
    def lapsed(self) -> int:
        return self.by_status[_LAPSED]


def headline(session: Session, scope: Scope, *, today: dt.date) -> Headline:
    status = status_expression(today=today)
    by_status = dict.fromkeys(CommitmentStatus, 0)
    sums = {"pledged_money": 0.0, "delivered_money": 0.0, "pledged_hours": 0.0,
            "delivered_hours": 0.0}
    illustrative = False
    for row in session.execute(_commitments(scope, select(
            status.label("status"), func.count(Commitment.id).label("n"),
            func.coalesce(func.sum(Commitment.pledged_money), 0).label("pledged_money"),
            func.coalesce(func.sum(Commitment.delivered_money), 0).label("delivered_money"),
            func.coalesce(func.sum(Commitment.pledged_hours), 0).label("pledged_hours"),
            func.coalesce(func.sum(Commitment.delivered_hours), 0).label("delivered_hours"),
            func.max(case((Commitment.illustrative, 1), else_=0)).label("illustrative"),
    ).select_from(Commitment), withdrawn=True).group_by(status)):
        found = CommitmentStatus(row.status)
        by_status[found] += int(row.n)
        illustrative = illustrative or bool(row.illustrative)
        if found != _WITHDRAWN:
            for key in sums:
                sums[key] += float(getattr(row, key))
    not_lapsed = status != _LAPSED.value
    partners = session.execute(_commitments(scope, select(
        func.count(func.distinct(Commitment.partner_id)),
        func.count(func.distinct(case((not_lapsed, Commitment.partner_id)))),
    ).select_from(Commitment))).one()
    volunteering = session.execute(_opportunities(scope, select(
        func.count(Opportunity.id), func.coalesce(func.sum(Opportunity.signed_up), 0),
        func.coalesce(func.sum(Opportunity.hours_confirmed), 0.0),
        func.max(case((Opportunity.illustrative, 1), else_=0)),
    ))).one()
    return Headline(
        partners=int(partners[0]), partners_active=int(partners[1]),
        commitments=sum(n for s, n in by_status.items() if s != _WITHDRAWN),
        by_status=by_status, **sums, opportunities=int(volunteering[0]),
        people=int(volunteering[1]), volunteer_hours=float(volunteering[2]),
        illustrative=illustrative or bool(volunteering[3]))


# The lapsed commitments --------------------------------------------------------------------

@dataclass(frozen=True)
class LapsedRow:
    """A lapsed public commitment: its next report was due on ``due_on`` and has not come,
    and the grace period after it has passed too."""

    id: int
    title: str
    partner_slug: str
    partner_name: str
    mission_slug: str
    mission_title: str
    area_code: str | None
    area_name: str | None
    start_on: dt.date
    last_report_on: dt.date | None
    #: When the missing report was due, and the day after which the commitment lapsed.
    due_on: dt.date
    lapsed_after: dt.date
    days_overdue: int
    illustrative: bool


_area = aliased(Area)


def _lapsed_query(scope: Scope, *, today: dt.date) -> AnySelect:
    query = select(
        Commitment.id, Commitment.title, Commitment.start_on, Commitment.last_report_on,
        Commitment.schedule, Commitment.report_due_on, Commitment.illustrative,
        Partner.slug.label("partner_slug"), Partner.name.label("partner_name"),
        Mission.slug.label("mission_slug"), Mission.title.label("mission_title"),
        _area.code.label("area_code"), _area.name.label("area_name"),
    ).select_from(Commitment).outerjoin(_area, _area.id == Commitment.area_id)
    return _commitments(scope, query).where(status_condition(_LAPSED, today=today))


def _lapsed_row(row: Any, today: dt.date) -> LapsedRow:
    due = add_months(row.last_report_on or row.start_on, row.schedule.months)
    return LapsedRow(
        id=row.id, title=row.title, partner_slug=row.partner_slug,
        partner_name=row.partner_name, mission_slug=row.mission_slug,
        mission_title=row.mission_title, area_code=row.area_code, area_name=row.area_name,
        start_on=row.start_on, last_report_on=row.last_report_on, due_on=due,
        lapsed_after=row.report_due_on, days_overdue=(today - due).days,
        illustrative=row.illustrative)


#: Most overdue first: the earliest lapsing day, then the oldest commitment.
_LAPSED_ORDER = (Commitment.report_due_on, Commitment.id)


def lapsed(session: Session, scope: Scope, *, today: dt.date, limit: int | None = None
           ) -> list[LapsedRow]:
    """The lapsed public commitments in scope, most overdue first (at most ``limit``)."""
    query = _lapsed_query(scope, today=today).order_by(*_LAPSED_ORDER)
    if limit is not None:
        query = query.limit(limit)
    return [_lapsed_row(r, today) for r in session.execute(query)]


def stream_lapsed(session_factory: Callable[[], Session], scope: Scope, *, today: dt.date,
                  batch: int = BATCH_SIZE) -> Iterator[LapsedRow]:
    """Every lapsed public commitment in scope, most overdue first, read in keyset batches
    (a session of its own: the download outlives the request's unit of work)."""
    with session_factory() as session:
        after: tuple[dt.date, int] | None = None
        while True:
            query = _lapsed_query(scope, today=today)
            if after is not None:
                query = query.where(or_(
                    Commitment.report_due_on > after[0],
                    and_(Commitment.report_due_on == after[0], Commitment.id > after[1])))
            rows = list(session.execute(query.order_by(*_LAPSED_ORDER).limit(batch)))
            for row in rows:
                yield _lapsed_row(row, today)
            if len(rows) < batch:
                return
            after = (rows[-1].report_due_on, rows[-1].id)


LAPSED_CSV_COLUMNS = (
    "id", "url", "commitment", "partner", "partner_name", "mission", "mission_title",
    "area_code", "area_name", "start_on", "last_report_on", "report_due_on", "lapsed_after",
    "days_overdue", "illustrative")


def lapsed_record(row: LapsedRow, *, base: str) -> list[Any]:
    return [row.id, f"{base}/commitments/{row.id}", row.title, row.partner_slug,
            row.partner_name, row.mission_slug, row.mission_title, row.area_code or "",
            row.area_name or "", row.start_on.isoformat(),
            row.last_report_on.isoformat() if row.last_report_on else "",
            row.due_on.isoformat(), row.lapsed_after.isoformat(), row.days_overdue,
            "yes" if row.illustrative else "no"]


# Over time ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A month or a quarter; ``partial`` when it is the current one (to today)."""

    start: dt.date
    end: dt.date
    label: str
    partial: bool
    #: The last day counted: its end, or today for the current period.
    to: dt.date


def periods(*, today: dt.date, by: str = "month", count: int | None = None) -> list[Period]:
    """The last ``count`` months or quarters, the current one (to ``today``) last."""
    months = PERIOD_MONTHS[by]
    count = count or DEFAULT_PERIODS[by]
    first_month = (today.month - 1) // months * months + 1
    current = dt.date(today.year, first_month, 1)
    found = []
    for back in range(count - 1, -1, -1):
        start = add_months(current, -back * months)
        end = add_months(start, months) - dt.timedelta(days=1)
        label = f"{start:%B %Y}" if by == "month" else f"{start:%B} to {end:%B %Y}"
        found.append(Period(start=start, end=end, label=label, partial=today < end,
                            to=min(end, today)))
    return found


@dataclass(frozen=True)
class Point:
    period: Period
    #: What was added in the period, and the running total at its end (or today).
    added: float
    total: float


@dataclass(frozen=True)
class Trend:
    """The change from one complete period to the next, in words."""

    latest: float
    previous: float
    #: The relative change (0.12 for up 12%), or None when there was none before.
    change: float | None
    latest_label: str
    previous_label: str
    words: str


@dataclass(frozen=True)
class Series:
    key: str
    title: str
    #: ``money`` (pounds), ``hours``, ``people`` or ``commitments``.
    unit: str
    points: list[Point]
    trend: Trend | None
    #: Counted in the totals but without a date (volunteers' details since deleted).
    undated: float = 0.0

    @property
    def total(self) -> float:
        return self.points[-1].total if self.points else 0.0

    @property
    def undated_words(self) -> str:
        return format_amount(self.undated, self.unit)


def format_amount(value: float, unit: str) -> str:
    """An amount in words: ``£1,200``, ``1,200.5 hours``, ``1 person``, ``3 commitments``."""
    if unit == "money":
        return f"£{value:,.0f}"
    if unit == "hours":
        shown = f"{value:,.1f}".removesuffix(".0")
        return f"{shown} hour{'' if shown == '1' else 's'}"
    n = round(value)
    if unit == "people":
        return f"{n:,} {'person' if n == 1 else 'people'}"
    return f"{n:,} {unit[:-1] if n == 1 else unit}"


def trend(points: Sequence[Point], *, by: str, unit: str) -> Trend | None:
    """What was added in the latest complete period against the one before it: "up 12% on
    the previous month". None until there are two complete periods."""
    complete = [p for p in points if not p.period.partial]
    if len(complete) < 2:
        return None
    latest, previous = complete[-1], complete[-2]
    new, old = latest.added, previous.added
    change = None if old == 0 else (new - old) / old
    if change is not None and not math.isfinite(change * 100):
        change = None  # a previous figure so small that the percentage overflows: none shown
    now, then = latest.period.label, previous.period.label
    if new == 0 and old == 0:
        words = f"None in {now} or in {then}"
    elif old == 0:
        words = f"{format_amount(new, unit)} in {now}, up from none in {then}"
    elif new == 0:
        words = f"None in {now}, down from {format_amount(old, unit)} in {then}"
    elif change is None:
        words = (f"{format_amount(new, unit)} in {now}, against "
                 f"{format_amount(old, unit)} in {then}")
    else:
        shift = ("about the same as" if round(change * 100) == 0 else
                 f"{'up' if change > 0 else 'down'} {abs(change):.0%} on")
        words = (f"{format_amount(new, unit)} in {now}, {shift} the previous {by} "
                 f"({format_amount(old, unit)} in {then})")
    return Trend(latest=new, previous=old, change=change, latest_label=now,
                 previous_label=then, words=words)


def cumulate(spans: Sequence[Period], *, before: float, by_month: dict[int, float],
             by: str, unit: str, key: str, title: str, undated: float = 0.0) -> Series:
    """The running total at the end of each period, from what came before the first
    (``before``) and what each month added (``by_month``, keyed by :func:`month_key`)."""
    points, total = [], before
    for span in spans:
        first, last = month_key(span.start), month_key(span.end)
        added = sum((v for k, v in by_month.items() if first <= k <= last), 0.0)
        total += added
        points.append(Point(period=span, added=added, total=total))
    return Series(key=key, title=title, unit=unit, points=points,
                  trend=trend(points, by=by, unit=unit), undated=max(0.0, undated))


def month_key(day: dt.date) -> int:
    """Months since the year 0, the buckets' key (the SQL twin is :func:`_month_index`)."""
    return day.year * 12 + day.month - 1


def _month_index(column: Any, *, dialect: str, timestamp: bool) -> ColumnElement[int]:
    if timestamp and dialect == "postgresql":
        column = func.timezone("UTC", column)  # the month in UTC, whatever the session's zone
    return (cast(extract("year", column), Integer) * 12
            + cast(extract("month", column), Integer) - 1)


def _buckets(session: Session, query: AnySelect, *, day: Any, values: Sequence[Any],
             start: dt.date, timestamp: bool = False) -> list[tuple[float, dict[int, float]]]:
    """For each of ``values``: its sum before ``start``, and its sum in each month from
    then on (keyed by :func:`month_key`), grouped in SQL.

    ``query`` selects from the rows to count, with their filters; ``day`` dates them."""
    dialect = session.get_bind().dialect.name
    since: Any = (dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC) if timestamp
                  else start)
    bucket = case((day < since, literal(-1)),
                  else_=_month_index(day, dialect=dialect, timestamp=timestamp))
    rows = query.with_only_columns(
        bucket.label("bucket"), *(v.label(f"v{i}") for i, v in enumerate(values)),
        maintain_column_froms=True).subquery()
    found: list[tuple[float, dict[int, float]]] = [(0.0, {}) for _ in values]
    for row in session.execute(select(rows.c.bucket, *(
            func.coalesce(func.sum(rows.c[f"v{i}"]), 0) for i in range(len(values))))
            .group_by(rows.c.bucket)):
        for i, (_before, months) in enumerate(found):
            if row[0] == -1:
                found[i] = (float(row[i + 1]), months)
            else:
                months[int(row[0])] = float(row[i + 1])
    return found


@dataclass(frozen=True)
class OverTime:
    by: str
    periods: list[Period]
    money: Series
    partner_hours: Series
    volunteer_hours: Series
    people: Series
    commitments: Series

    @property
    def all(self) -> list[Series]:
        return [self.money, self.partner_hours, self.volunteer_hours, self.people,
                self.commitments]


def over_time(session: Session, scope: Scope, *, today: dt.date, by: str = "month",
              count: int | None = None, totals: Headline | None = None) -> OverTime:
    """The running totals at the end of each of the last ``count`` months or quarters:
    money delivered and partners' hours given (by the end of each report's period),
    volunteers' confirmed hours (by the day worked), people with a place to volunteer (by
    when they got it) and commitments made (by the day each starts). Nothing dated after
    today is counted."""
    spans = periods(today=today, by=by, count=count)
    start = spans[0].start
    totals = totals or headline(session, scope, today=today)

    reports = _commitments(scope, select(ProgressReport.id).select_from(ProgressReport)
                           .join(Commitment, Commitment.id == ProgressReport.commitment_id)
                           ).where(ProgressReport.period_end <= today)
    money, hours = _buckets(session, reports, day=ProgressReport.period_end, start=start,
                            values=[func.coalesce(ProgressReport.money_spent, 0),
                                    func.coalesce(ProgressReport.hours_given, 0)])
    made = _commitments(scope, select(Commitment.id).select_from(Commitment)
                        ).where(Commitment.start_on <= today)
    (commitments,) = _buckets(session, made, day=Commitment.start_on, start=start,
                              values=[literal(1)])
    confirmed = _opportunities(scope, select(HoursLog.id).select_from(HoursLog).join(
        Opportunity, Opportunity.id == HoursLog.opportunity_id)).where(
        HoursLog.status == HoursStatus.CONFIRMED, HoursLog.worked_on <= today)
    (volunteered,) = _buckets(session, confirmed, day=HoursLog.worked_on, start=start,
                              values=[HoursLog.hours])
    placed = _opportunities(scope, select(Signup.id).select_from(Signup).join(
        Opportunity, Opportunity.id == Signup.opportunity_id)).where(
        Signup.status == SignupStatus.SIGNED_UP)
    (people,) = _buckets(session, placed,
                         day=func.coalesce(Signup.promoted_at, Signup.created_at),
                         start=start, values=[literal(1)], timestamp=True)

    def series(sums: tuple[float, dict[int, float]], *, key: str, title: str, unit: str,
               total: float | None = None) -> Series:
        before, months = sums
        dated = before + sum(v for k, v in months.items() if k <= month_key(today))
        return cumulate(spans, before=before, by_month=months, by=by, unit=unit, key=key,
                        title=title, undated=0.0 if total is None else total - dated)

    return OverTime(
        by=by, periods=spans,
        money=series(money, key="money_delivered", title="Money delivered", unit="money"),
        partner_hours=series(hours, key="partner_hours", title="Hours given by partners",
                             unit="hours"),
        volunteer_hours=series(volunteered, key="volunteer_hours",
                               title="Volunteers' hours confirmed", unit="hours",
                               total=totals.volunteer_hours),
        people=series(people, key="people", title="People volunteering", unit="people",
                      total=totals.people),
        commitments=series(commitments, key="commitments", title="Commitments made",
                           unit="commitments"))


SERIES_CSV_COLUMNS = ("period", "period_start", "period_end", "partial")


def series_rows(found: OverTime) -> list[list[Any]]:
    """The series as rows for a download, with a header: each series' amount added in the
    period and its running total."""
    header = list(SERIES_CSV_COLUMNS)
    for s in found.all:
        suffix = "_gbp" if s.unit == "money" else ""
        header += [f"{s.key}{suffix}_added", f"{s.key}{suffix}_total"]
    rows: list[list[Any]] = [header]
    for i, span in enumerate(found.periods):
        row: list[Any] = [span.label, span.start.isoformat(), span.to.isoformat(),
                          "yes" if span.partial else "no"]
        for s in found.all:
            p = s.points[i]
            if s.unit in ("people", "commitments"):
                row += [round(p.added), round(p.total)]
            else:
                row += [round(p.added, 2), round(p.total, 2)]
        rows.append(row)
    return rows


# Breakdowns --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Breakdown:
    """One row of a breakdown by area, sector or mission."""

    key: str
    label: str
    partners: int = 0
    commitments: int = 0
    lapsed: int = 0
    pledged_money: float = 0.0
    delivered_money: float = 0.0
    pledged_hours: float = 0.0
    delivered_hours: float = 0.0
    opportunities: int = 0
    people: int = 0
    volunteer_hours: float = 0.0
    #: For areas: the depth in the tree shown (0 at the top), the level and the parent.
    depth: int = 0
    level: str = ""
    parent: str = ""

    @property
    def empty(self) -> bool:
        return not (self.commitments or self.opportunities)


def _commitment_sums(today: dt.date) -> list[Any]:
    is_lapsed = status_condition(_LAPSED, today=today)
    return [
        func.count(func.distinct(Commitment.partner_id)).label("partners"),
        func.count(Commitment.id).label("commitments"),
        func.coalesce(func.sum(case((is_lapsed, 1), else_=0)), 0).label("lapsed"),
        func.coalesce(func.sum(Commitment.pledged_money), 0).label("pledged_money"),
        func.coalesce(func.sum(Commitment.delivered_money), 0).label("delivered_money"),
        func.coalesce(func.sum(Commitment.pledged_hours), 0).label("pledged_hours"),
        func.coalesce(func.sum(Commitment.delivered_hours), 0).label("delivered_hours"),
    ]


def _opportunity_sums() -> list[Any]:
    return [func.count(Opportunity.id).label("opportunities"),
            func.coalesce(func.sum(Opportunity.signed_up), 0).label("people"),
            func.coalesce(func.sum(Opportunity.hours_confirmed), 0.0).label("volunteer_hours")]


def _figures(commitments: Any, opportunities: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if commitments is not None:
        found.update(partners=int(commitments.partners),
                     commitments=int(commitments.commitments),
                     lapsed=int(commitments.lapsed),
                     pledged_money=float(commitments.pledged_money),
                     delivered_money=float(commitments.delivered_money),
                     pledged_hours=float(commitments.pledged_hours),
                     delivered_hours=float(commitments.delivered_hours))
    if opportunities is not None:
        found.update(opportunities=int(opportunities.opportunities),
                     people=int(opportunities.people),
                     volunteer_hours=float(opportunities.volunteer_hours))
    return found


@dataclass(frozen=True)
class AreaNode:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    depth: int
    parent_name: str


def area_tree(session: Session, *, within: Area | None = None) -> list[AreaNode]:
    """The areas in tree order (each followed by the areas within it, by name), from the
    top or from ``within``, with each one's depth below the first shown."""
    rows = session.execute(select(Area.id, Area.code, Area.name, Area.level, Area.parent_id)
                           ).all()
    children: dict[int | None, list[Any]] = {}
    ids = {r.id for r in rows}
    for r in rows:
        parent = r.parent_id if r.parent_id in ids else None
        children.setdefault(parent, []).append(r)
    names = {r.id: r.name for r in rows}
    tops = [r for r in rows if within is not None and r.id == within.id] if within else \
        children.get(None, [])
    found: list[AreaNode] = []
    seen: set[int] = set()

    def visit(r: Any, depth: int) -> None:
        if r.id in seen:
            return
        seen.add(r.id)
        found.append(AreaNode(id=r.id, code=r.code, name=r.name, level=r.level,
                              parent_id=r.parent_id, depth=depth,
                              parent_name=names.get(r.parent_id, "")))
        for c in sorted(children.get(r.id, []), key=lambda c: (c.name, c.code)):
            visit(c, depth + 1)

    for top in sorted(tops, key=lambda r: (r.name, r.code)):
        visit(top, 0)
    return found


NO_AREA = "Not tied to one area, or online"


def by_area(session: Session, scope: Scope, *, today: dt.date) -> list[Breakdown]:
    """Each area with something in it (the area in scope and those within it, or every
    area), in tree order; an area's figures include the areas within it. Without an area in
    scope, a last row holds what is tied to no area (and online opportunities)."""
    closure = _closure()
    commitments = {r.area_id: r for r in session.execute(_commitments(scope, select(
        closure.c.ancestor_id.label("area_id"), *_commitment_sums(today)).select_from(
        Commitment).join(closure, closure.c.descendant_id == Commitment.area_id))
        .group_by(closure.c.ancestor_id))}
    opportunities = {r.area_id: r for r in session.execute(_opportunities(scope, select(
        closure.c.ancestor_id.label("area_id"), *_opportunity_sums()).select_from(
        Opportunity).join(Area, Area.code == Opportunity.area_code)
        .join(closure, closure.c.descendant_id == Area.id)).group_by(closure.c.ancestor_id))}
    rows = []
    for node in area_tree(session, within=scope.area):
        row = Breakdown(key=node.code, label=node.name, depth=node.depth, level=node.level,
                        parent=node.parent_name, **_figures(commitments.get(node.id),
                                                            opportunities.get(node.id)))
        if not row.empty:
            rows.append(row)
    if scope.area is None:
        nowhere_c = session.execute(_commitments(scope, select(*_commitment_sums(today))
                                                 .select_from(Commitment))
                                    .where(Commitment.area_id.is_(None))).one()
        known = select(Area.code)
        nowhere_o = session.execute(_opportunities(scope, select(*_opportunity_sums())
                                                   .select_from(Opportunity))
                                    .where(Opportunity.area_code.not_in(known))).one()
        row = Breakdown(key="", label=NO_AREA, **_figures(nowhere_c, nowhere_o))
        if not row.empty:
            rows.append(row)
    return rows


PUBLIC_BODIES = "Public bodies (volunteering they run)"


def by_sector(session: Session, scope: Scope, *, today: dt.date,
              labels: dict[Sector, str]) -> list[Breakdown]:
    """Each of the partners' sectors with something in it, by the number of commitments;
    a last row for the volunteering that public bodies run."""
    commitments = {Sector(r.sector): r for r in session.execute(_commitments(scope, select(
        Partner.sector.label("sector"), *_commitment_sums(today)).select_from(Commitment))
        .group_by(Partner.sector))}
    opportunities = {None if r.sector is None else Sector(r.sector): r for r in session.execute(
        _opportunities(scope, select(Partner.sector.label("sector"), *_opportunity_sums())
                       .select_from(Opportunity)
                       .outerjoin(Partner, Partner.id == Opportunity.partner_id))
        .group_by(Partner.sector))}
    rows = [Breakdown(key=s.value, label=labels[s], **_figures(
        commitments.get(s), opportunities.get(s)))
        for s in sorted({*commitments, *(s for s in opportunities if s is not None)})]
    rows.sort(key=lambda r: (-r.commitments, -r.people, r.label))
    if None in opportunities:
        rows.append(Breakdown(key="", label=PUBLIC_BODIES,
                              **_figures(None, opportunities[None])))
    return rows


def by_mission(session: Session, scope: Scope, *, today: dt.date) -> list[Breakdown]:
    """Each published mission, in the missions' order (also those with nothing yet)."""
    commitments = {r.mission_id: r for r in session.execute(_commitments(scope, select(
        Commitment.mission_id.label("mission_id"), *_commitment_sums(today))
        .select_from(Commitment)).group_by(Commitment.mission_id))}
    opportunities = {r.mission_id: r for r in session.execute(_opportunities(scope, select(
        Opportunity.mission_id.label("mission_id"), *_opportunity_sums()))
        .group_by(Opportunity.mission_id))}
    missions = session.execute(select(Mission.id, Mission.slug, Mission.title).where(
        Mission.status == MissionStatus.PUBLISHED).order_by(Mission.position, Mission.slug))
    return [Breakdown(key=m.slug, label=m.title, **_figures(commitments.get(m.id),
                                                           opportunities.get(m.id)))
            for m in missions if scope.mission is None or m.id == scope.mission.id]


# Everything at once ------------------------------------------------------------------------

@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    today: dt.date
    headline: Headline
    lapsed: list[LapsedRow]
    over_time: OverTime
    by_area: list[Breakdown]
    by_sector: list[Breakdown]
    by_mission: list[Breakdown]


def dashboard(session: Session, scope: Scope, *, today: dt.date, sector_labels: dict[
        Sector, str], by: str = "month", count: int | None = None,
        lapsed_limit: int | None = LAPSED_SHOWN) -> Dashboard:
    """Every figure of the dashboard for ``scope`` on ``today``."""
    top = headline(session, scope, today=today)
    return Dashboard(
        scope=scope, today=today, headline=top,
        lapsed=lapsed(session, scope, today=today, limit=lapsed_limit),
        over_time=over_time(session, scope, today=today, by=by, count=count, totals=top),
        by_area=by_area(session, scope, today=today),
        by_sector=by_sector(session, scope, today=today, labels=sector_labels),
        by_mission=by_mission(session, scope, today=today) if scope.mission is None else [])
