"""The public register of commitments: filters, pages, counts and downloads done in SQL, and a
mission's totals of what partners have pledged and delivered.

Designed for 100,000 commitments and more (``benchmarks/mobilisation_load.py``): every filter
is a condition on the commitments table alone (on an indexed column, or ``IN`` a small
subquery), the status is computed in SQL from stored columns (:func:`status_condition`, the
twin of :func:`missionboard.partners.status.status_on`), and the downloads are streamed in
keyset batches (:func:`stream`), so no request loads every row into Python.

Public means approved, of an approved partner, on a published mission. The first two are
kept together in ``Commitment.listed`` by the service; the missions not published are few
(usually none) and are excluded by id (:func:`unpublished_missions`). So counting the
matches, and finding a page's ids however deep, read the commitments table alone (for the
whole register, the index ``ix_commitments_listed_id_mission_id`` alone); only a page's rows
are then joined to their partner, mission, outcome, metric and area.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from missionboard.delivery.models import Intervention
from missionboard.metrics.models import Area, Metric
from missionboard.missions.models import Mission, MissionStatus, Outcome
from missionboard.partners import lookups
from missionboard.partners import status as rules
from missionboard.partners.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    ModerationStatus,
    Partner,
    Sector,
)
from missionboard.partners.schemas import CommitmentOut, PartnerSummaryOut, RegisterQuery
from missionboard.partners.trajectory import OPTIMISM_DISCOUNT

#: The register's page size, and the size of a download's batches.
PAGE_SIZE = 50
BATCH_SIZE = 1000
_FINAL = (CommitmentStatus.WITHDRAWN, CommitmentStatus.ACHIEVED)
AnySelect = Select[*tuple[Any, ...]]


# Visibility and status in SQL --------------------------------------------------------------

def public_condition() -> ColumnElement[bool]:
    """Approved commitments of approved partners on published missions (needs the joins of
    :func:`_joined`)."""
    return and_(Commitment.moderation == ModerationStatus.APPROVED,
                Partner.moderation == ModerationStatus.APPROVED,
                Mission.status == MissionStatus.PUBLISHED)


def status_condition(status: CommitmentStatus, *, today: dt.date) -> ColumnElement[bool]:
    """The commitments whose status on ``today`` is ``status`` (as status_on derives it)."""
    open_ = Commitment.assessment.not_in(_FINAL)
    overdue = Commitment.report_due_on < today
    past_deadline = and_(Commitment.deadline.is_not(None), Commitment.deadline < today)
    if status in _FINAL:
        return Commitment.assessment == status
    if status == CommitmentStatus.LAPSED:
        return and_(open_, overdue)
    if status == CommitmentStatus.BEHIND:
        return and_(open_, not_(overdue),
                    or_(past_deadline, Commitment.assessment == CommitmentStatus.BEHIND))
    return and_(Commitment.assessment == status, not_(overdue), not_(past_deadline))


def status_expression(*, today: dt.date) -> ColumnElement[str]:
    """The status on ``today`` as a column (the same rules as :func:`status_condition`)."""
    return case(
        (Commitment.assessment.in_(_FINAL), Commitment.assessment),
        (Commitment.report_due_on < today, literal(CommitmentStatus.LAPSED.value)),
        (and_(Commitment.deadline.is_not(None), Commitment.deadline < today),
         literal(CommitmentStatus.BEHIND.value)),
        else_=Commitment.assessment)


def _joined(query: AnySelect) -> AnySelect:
    return (query.join(Partner, Partner.id == Commitment.partner_id)
            .join(Mission, Mission.id == Commitment.mission_id))


def _area_ids(code: str) -> Select[int]:
    """The area with this code and the areas directly within it."""
    parent = aliased(Area)
    return (select(Area.id).outerjoin(parent, parent.id == Area.parent_id)
            .where(or_(Area.code == code, parent.code == code)))


def mission_choices(session: Session) -> list[Row[tuple[str, str]]]:
    """The published missions' slugs and titles, in order: the register's mission filter
    (remembered for a few seconds in a server process: :mod:`missionboard.partners.lookups`)."""
    return list(lookups.remembered(session, "register.missions", lambda: tuple(session.execute(
        select(Mission.slug, Mission.title).where(Mission.status == MissionStatus.PUBLISHED)
        .order_by(Mission.position, Mission.title)))))


def area_choices(session: Session) -> list[Row[tuple[str, str]]]:
    """Every area's code and name (as ``metrics.service.list_areas`` orders them): the
    register's area filter."""
    return list(lookups.remembered(session, "register.areas", lambda: tuple(session.execute(
        select(Area.code, Area.name).order_by(Area.level, Area.name)))))


def unpublished_missions(session: Session) -> tuple[int, ...]:
    """The missions not published (their commitments are not public): usually none."""
    return lookups.remembered(session, "register.unpublished", lambda: tuple(session.scalars(
        select(Mission.id).where(Mission.status != MissionStatus.PUBLISHED))))


def conditions(q: RegisterQuery, *, today: dt.date, unpublished: tuple[int, ...]
               ) -> list[ColumnElement[bool]]:
    """The public commitments matching the filters, as conditions on ``commitments`` alone
    (``unpublished`` from :func:`unpublished_missions`; the rows :func:`public_condition`
    gives with the joins)."""
    where: list[ColumnElement[bool]] = [Commitment.listed.is_(True)]
    if unpublished:
        where.append(Commitment.mission_id.not_in(unpublished))
    if q.mission:
        where.append(Commitment.mission_id.in_(select(Mission.id).where(
            Mission.slug == q.mission)))
    if q.kind:
        where.append(Commitment.kind == q.kind)
    if q.verification:
        where.append(Commitment.verification == q.verification)
    if q.sector:
        where.append(Commitment.partner_id.in_(select(Partner.id).where(
            Partner.sector == q.sector)))
    if q.partner:
        where.append(Commitment.partner_id.in_(select(Partner.id).where(
            Partner.slug == q.partner)))
    if q.area:
        where.append(Commitment.area_id.in_(_area_ids(q.area)))
    if q.status:
        where.append(status_condition(q.status, today=today))
    return where


# Rows --------------------------------------------------------------------------------------

_area = aliased(Area)


def _lookup(column: Any, key: Any, label: str) -> Any:
    """One column of the row ``key`` refers to (None when it refers to none), as a scalar
    subquery: PostgreSQL plans these far faster than four more outer joins."""
    return (select(column).where(column.table.c.id == key).scalar_subquery().label(label))


def _columns(today: dt.date) -> list[Any]:
    return [
        Commitment.id, Commitment.title, Commitment.description, Commitment.kind,
        status_expression(today=today).label("status"), Commitment.unit, Commitment.baseline,
        Commitment.target, Commitment.start_on, Commitment.deadline, Commitment.pledged_money,
        Commitment.pledged_hours, Commitment.in_kind, Commitment.schedule,
        Commitment.verification, Commitment.latest_value, Commitment.delivered_money,
        Commitment.delivered_hours, Commitment.reports_count, Commitment.last_report_on,
        Commitment.report_due_on, Commitment.withdrawn_reason, Commitment.illustrative,
        Partner.slug.label("partner_slug"), Partner.name.label("partner_name"),
        Partner.kind.label("partner_kind"), Partner.sector.label("partner_sector"),
        Partner.size.label("partner_size"), Mission.slug.label("mission_slug"),
        _lookup(Outcome.slug, Commitment.outcome_id, "outcome_slug"),
        _lookup(Metric.slug, Commitment.metric_id, "metric_slug"),
        _lookup(_area.code, Commitment.area_id, "area_code"),
        _lookup(_area.name, Commitment.area_id, "area_name"),
        _lookup(Intervention.slug, Commitment.intervention_id, "intervention_slug"),
    ]


@functools.lru_cache(maxsize=4)
def _select(today: dt.date) -> AnySelect:
    """Every column of a register row (the partner's and the mission's included). Built once
    a day (statements are immutable): building it took as long as running it."""
    return (select(*_columns(today)).select_from(Commitment)
            .join(Partner, Partner.id == Commitment.partner_id)
            .join(Mission, Mission.id == Commitment.mission_id))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def row_out(row: Row[Any], *, base: str) -> CommitmentOut:
    """One register row as the API, the pages and the downloads show it.

    Built without pydantic's validation (``model_construct``), which took a third of a
    register page's time: every field is given here with the type validation would give it
    (the database's types, floats made floats), as ``tests/partners`` check against
    :class:`CommitmentOut` validated."""
    terms = rules.Terms(kind=row.kind, start_on=row.start_on, schedule=row.schedule,
                        baseline=row.baseline, target=row.target, deadline=row.deadline,
                        pledged_money=row.pledged_money, pledged_hours=row.pledged_hours)
    progress = rules.progress_of(terms, latest_value=row.latest_value,
                                 money=row.delivered_money, hours=row.delivered_hours)
    partner = PartnerSummaryOut.model_construct(
        slug=row.partner_slug, name=row.partner_name, kind=row.partner_kind,
        sector=row.partner_sector, size=row.partner_size,
        url=f"{base}/partners/{row.partner_slug}")
    return CommitmentOut.model_construct(
        id=row.id, url=f"{base}/commitments/{row.id}", title=row.title,
        description=row.description, kind=row.kind, status=CommitmentStatus(row.status),
        partner=partner, mission=row.mission_slug, outcome=row.outcome_slug,
        metric=row.metric_slug, area_code=row.area_code, area_name=row.area_name,
        unit=row.unit, baseline=_float(row.baseline), target=_float(row.target),
        start_on=row.start_on, deadline=row.deadline,
        pledged_money_gbp=_float(row.pledged_money),
        pledged_hours=_float(row.pledged_hours), in_kind=row.in_kind, schedule=row.schedule,
        verification=row.verification,
        optimism_discount=float(OPTIMISM_DISCOUNT[row.verification]),
        latest_value=_float(row.latest_value), delivered_money_gbp=float(row.delivered_money),
        delivered_hours=float(row.delivered_hours),
        progress=None if progress is None else round(float(progress), 4),
        reports=int(row.reports_count), last_report_on=row.last_report_on,
        next_report_due_on=row.report_due_on,
        intervention=(f"{base}/missions/{row.mission_slug}/interventions"
                      f"#intervention-{row.intervention_slug}"
                      if row.intervention_slug else None),
        withdrawn_reason=row.withdrawn_reason, illustrative=bool(row.illustrative))


@dataclass(frozen=True)
class Page:
    items: list[CommitmentOut]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total


def count(session: Session, q: RegisterQuery, *, today: dt.date,
          unpublished: tuple[int, ...] | None = None) -> int:
    """The number of public commitments matching the filters. Remembered for a few seconds
    in a server process (:mod:`missionboard.partners.lookups`): counting the whole register
    (90,000 rows) costs some milliseconds of the database's time on every page of it."""
    if unpublished is None:
        unpublished = unpublished_missions(session)
    where = conditions(q, today=today, unpublished=unpublished)
    return lookups.remembered(
        session, "register.count",
        lambda: int(session.scalar(select(func.count()).select_from(Commitment).where(*where))
                    or 0),
        q.model_dump_json(), today, unpublished)


def page(session: Session, q: RegisterQuery, *, today: dt.date, base: str,
         limit: int = PAGE_SIZE, offset: int = 0) -> Page:
    """A page of the register, newest first, and the number of matches (counted in SQL).

    The page's ids are found first (on the commitments table alone, however deep the page);
    only those rows are joined to the partner, mission, outcome, metric and area."""
    unpublished = unpublished_missions(session)
    ids = (select(Commitment.id).where(*conditions(q, today=today, unpublished=unpublished))
           .order_by(Commitment.id.desc()).limit(limit).offset(offset))
    query = _select(today).where(Commitment.id.in_(ids)).order_by(Commitment.id.desc())
    items = [row_out(r, base=base) for r in session.execute(query)]
    return Page(items=items, total=count(session, q, today=today, unpublished=unpublished),
                limit=limit, offset=offset)


def one(session: Session, commitment_id: int, *, today: dt.date, base: str
        ) -> CommitmentOut:
    """One commitment as a register row (the caller checks that it may be seen)."""
    query = _select(today).where(Commitment.id == commitment_id)
    return row_out(session.execute(query).one(), base=base)


def stream(session_factory: Callable[[], Session], q: RegisterQuery, *, today: dt.date,
           base: str, batch: int = BATCH_SIZE) -> Iterator[CommitmentOut]:
    """Every matching commitment, newest first, fetched in keyset batches by id (a session
    of its own: the download outlives the request's unit of work)."""
    with session_factory() as session:
        where = conditions(q, today=today, unpublished=unpublished_missions(session))
        after: int | None = None
        while True:
            query = _select(today).where(*where)
            if after is not None:
                query = query.where(Commitment.id < after)
            rows = list(session.execute(query.order_by(Commitment.id.desc()).limit(batch)))
            for row in rows:
                yield row_out(row, base=base)
            if len(rows) < batch:
                return
            after = rows[-1].id


CSV_COLUMNS = (
    "id", "url", "title", "kind", "status", "partner", "partner_name", "partner_kind",
    "partner_sector", "partner_size", "mission", "outcome", "metric", "area_code", "area_name",
    "unit", "baseline", "target", "start_on", "deadline", "pledged_money_gbp", "pledged_hours",
    "in_kind", "schedule", "verification", "optimism_discount", "latest_value",
    "delivered_money_gbp", "delivered_hours", "progress", "reports", "last_report_on",
    "next_report_due_on", "intervention", "withdrawn_reason", "illustrative", "description",
)


def csv_record(item: CommitmentOut) -> list[Any]:
    data = item.model_dump(mode="json")
    partner = data.pop("partner")
    data.update(partner=partner["slug"], partner_name=partner["name"],
                partner_kind=partner["kind"], partner_sector=partner["sector"],
                partner_size=partner["size"])
    return ["" if data[c] is None else data[c] for c in CSV_COLUMNS]


def csv_chunks(items: Iterator[CommitmentOut], *, every: int = 200) -> Iterator[bytes]:
    """The register as UTF-8 CSV, a chunk of rows at a time."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for n, item in enumerate(items, start=1):
        writer.writerow(csv_record(item))
        if n % every == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def json_chunks(items: Iterator[CommitmentOut], *, meta: dict[str, Any]) -> Iterator[bytes]:
    """The register as one JSON document, ``{"meta": …, "commitments": […]}``, streamed."""
    yield (json.dumps({"meta": meta}, ensure_ascii=False)[:-1] + ', "commitments": [').encode()
    for n, item in enumerate(items):
        yield (("," if n else "") + "\n" + item.model_dump_json()).encode("utf-8")
    yield b"\n]}\n"


# A mission's totals ------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """What partners have pledged and delivered, over a group of public commitments."""

    label: str
    code: str
    commitments: int
    partners: int
    pledged_money: float
    delivered_money: float
    pledged_hours: float
    delivered_hours: float
    actions: int
    actions_done: int
    achieved: int


@dataclass(frozen=True)
class Effect:
    """The measured effect of the targets on one metric: the change pledged (sum of
    target − baseline) and the change so far (sum of latest − baseline)."""

    metric_slug: str
    metric_title: str
    unit: str
    commitments: int
    pledged_change: float
    delivered_change: float


@dataclass(frozen=True)
class MissionTotals:
    overall: Totals
    by_sector: list[Totals]
    by_area: list[Totals]
    by_status: dict[CommitmentStatus, int]
    effects: list[Effect]


def _aggregates() -> list[Any]:
    achieved = Commitment.assessment == CommitmentStatus.ACHIEVED
    action = Commitment.kind == CommitmentKind.ACTION
    return [
        func.count(Commitment.id).label("commitments"),
        func.count(func.distinct(Commitment.partner_id)).label("partners"),
        func.coalesce(func.sum(Commitment.pledged_money), 0).label("pledged_money"),
        func.coalesce(func.sum(Commitment.delivered_money), 0).label("delivered_money"),
        func.coalesce(func.sum(Commitment.pledged_hours), 0).label("pledged_hours"),
        func.coalesce(func.sum(Commitment.delivered_hours), 0).label("delivered_hours"),
        func.coalesce(func.sum(case((action, 1), else_=0)), 0).label("actions"),
        func.coalesce(func.sum(case((and_(action, achieved), 1), else_=0)), 0)
        .label("actions_done"),
        func.coalesce(func.sum(case((achieved, 1), else_=0)), 0).label("achieved"),
    ]


def _totals(row: Row[Any], label: str, code: str) -> Totals:
    return Totals(label=label, code=code, commitments=int(row.commitments),
                  partners=int(row.partners), pledged_money=float(row.pledged_money),
                  delivered_money=float(row.delivered_money),
                  pledged_hours=float(row.pledged_hours),
                  delivered_hours=float(row.delivered_hours), actions=int(row.actions),
                  actions_done=int(row.actions_done), achieved=int(row.achieved))


def mission_totals(session: Session, *, mission: Mission, today: dt.date,
                   sector_labels: dict[Sector, str]) -> MissionTotals:
    """Totals over the mission's public commitments (withdrawn ones left out), overall, by
    the partner's sector and by area, the count by status, and the measured effect on each
    metric — every sum done in SQL."""
    def base(*columns: Any) -> AnySelect:
        return _joined(select(*columns).select_from(Commitment)).where(
            public_condition(), Commitment.mission_id == mission.id,
            Commitment.withdrawn_at.is_(None))

    overall = _totals(session.execute(base(*_aggregates())).one(), "All partners", "")
    by_sector = [_totals(r, sector_labels[Sector(r.sector)], r.sector) for r in session.execute(
        base(Partner.sector.label("sector"), *_aggregates()).group_by(Partner.sector)
        .order_by(func.count(Commitment.id).desc(), Partner.sector))]
    by_area = [_totals(r, r.name or "Not tied to one area", r.code or "")
               for r in session.execute(
                   base(_area.code.label("code"), _area.name.label("name"), *_aggregates())
                   .outerjoin(_area, _area.id == Commitment.area_id)
                   .group_by(_area.code, _area.name).order_by(_area.code))]
    statuses = status_expression(today=today)
    all_statuses = _joined(select(statuses, func.count(Commitment.id)).select_from(Commitment)
                           ).where(public_condition(), Commitment.mission_id == mission.id
                                   ).group_by(statuses)
    by_status = {CommitmentStatus(s): int(n) for s, n in session.execute(all_statuses)}
    effects = [Effect(metric_slug=r.slug, metric_title=r.title, unit=r.unit,
                      commitments=int(r.n), pledged_change=float(r.pledged),
                      delivered_change=float(r.delivered))
               for r in session.execute(
                   base(Metric.slug, Metric.title, Metric.unit,
                        func.count(Commitment.id).label("n"),
                        func.sum(Commitment.target - Commitment.baseline).label("pledged"),
                        func.sum(func.coalesce(Commitment.latest_value, Commitment.baseline)
                                 - Commitment.baseline).label("delivered"))
                   .join(Metric, Metric.id == Commitment.metric_id)
                   .where(Commitment.kind == CommitmentKind.TARGET,
                          Commitment.baseline.is_not(None), Commitment.target.is_not(None))
                   .group_by(Metric.slug, Metric.title, Metric.unit).order_by(Metric.title))]
    return MissionTotals(overall=overall, by_sector=by_sector, by_area=by_area,
                         by_status=by_status, effects=effects)


def totals_rows(totals: Sequence[Totals]) -> list[list[Any]]:
    """Totals as rows for a download, with a header."""
    rows: list[list[Any]] = [["group", "code", "commitments", "partners", "pledged_money_gbp",
                              "delivered_money_gbp", "pledged_hours", "delivered_hours",
                              "actions", "actions_done", "achieved"]]
    rows += [[t.label, t.code, t.commitments, t.partners, t.pledged_money, t.delivered_money,
              t.pledged_hours, t.delivered_hours, t.actions, t.actions_done, t.achieved]
             for t in totals]
    return rows
