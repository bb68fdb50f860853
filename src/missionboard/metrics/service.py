"""Areas, metrics, observations and targets. Keyword-only; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from missionboard.accounts.models import User
from missionboard.analytics.paths import Assessment, RequiredPath, assess, required_path
from missionboard.analytics.periods import parse_period
from missionboard.db.base import utcnow
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.metrics.models import (
    Area,
    Metric,
    Milestone,
    Observation,
    Polarity,
    PublicationStatus,
    Target,
)
from missionboard.metrics.schemas import AreaIn, MetricIn, TargetIn
from missionboard.missions.models import Mission, MissionStatus, Outcome
from missionboard.missions.service import diff, record_change

#: Changes to these fields of a published metric need a public reason.
METRIC_GUARDED = ("title", "definition", "methodology", "kind", "rate_per", "unit", "polarity",
                  "status")
#: Changes to these fields of a published metric's target need a public reason.
TARGET_GUARDED = ("baseline_value", "baseline_label", "target_value", "deadline", "area_id",
                  "shape", "milestones")


# Areas -------------------------------------------------------------------------------------

def create_area(session: Session, *, data: AreaIn) -> Area:
    if session.scalar(select(Area.id).where(Area.code == data.code)):
        raise ValidationFailed([FieldError("code", f"The area code {data.code!r} is used")])
    parent = get_area(session, code=data.parent_code) if data.parent_code else None
    area = Area(code=data.code, name=data.name, level=data.level, parent=parent)
    session.add(area)
    session.flush()
    return area


def import_areas(session: Session, *, rows: Sequence[Mapping[str, object]]) -> tuple[int, int]:
    """Add new areas and update the names, levels and parents of known ones, by code.

    ``rows`` are CSV-like mappings (code, name, level, parent_code). Parents may come earlier
    in the same list or already exist. All or nothing: every problem is reported with its row
    (a header counts as row 1) before anything is written. Returns (added, updated).
    """
    errors: list[FieldError] = []
    parsed: list[tuple[int, AreaIn]] = []
    for number, raw in enumerate(rows, start=2):
        try:
            parsed.append((number, validate(AreaIn, {k: v for k, v in raw.items() if v})))
        except ValidationFailed as exc:
            errors += [FieldError(e.field, e.message, row=number) for e in exc.errors]
    existing = {a.code: a for a in session.scalars(select(Area))}
    first_row: dict[str, int] = {}
    for number, row in parsed:
        if row.code in first_row:
            errors.append(FieldError("code", f"{row.code} is also on row {first_row[row.code]}",
                                     row=number))
        first_row.setdefault(row.code, number)
        if row.parent_code and row.parent_code not in existing and \
                first_row.get(row.parent_code, number) >= number:
            errors.append(FieldError("parent_code", f"unknown parent area {row.parent_code} "
                                                    "(list parents before their children)",
                                     row=number))
    if errors:
        raise ValidationFailed(sorted(errors, key=lambda e: e.row or 0))
    added = updated = 0
    for _, row in parsed:
        area = existing.get(row.code)
        if area is None:
            area = Area(code=row.code)
            session.add(area)
            existing[row.code] = area
            added += 1
        elif (area.name, area.level) != (row.name, row.level) or (
                (area.parent.code if area.parent else None) != row.parent_code):
            updated += 1
        area.name, area.level = row.name, row.level
        area.parent = existing[row.parent_code] if row.parent_code else None
    session.flush()
    return added, updated


def get_area(session: Session, *, code: str) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise NotFound(f"no area with the code {code!r}")
    return area


def list_areas(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).order_by(Area.level, Area.name)))


# Metrics -----------------------------------------------------------------------------------

def list_metrics(session: Session, *, include_drafts: bool) -> list[Metric]:
    query = select(Metric).order_by(Metric.title).options(selectinload(Metric.outcomes))
    if not include_drafts:
        query = query.where(Metric.status == PublicationStatus.PUBLISHED)
    return list(session.scalars(query))


def get_metric(session: Session, *, slug: str, include_drafts: bool) -> Metric:
    metric = session.scalar(
        select(Metric).where(Metric.slug == slug).options(
            selectinload(Metric.outcomes).selectinload(Outcome.mission),
            selectinload(Metric.targets).selectinload(Target.milestones),
        )
    )
    if metric is None or (not include_drafts and not metric.is_published):
        raise NotFound(f"no metric {slug!r}")
    return metric


def metric_mission_ids(metric: Metric) -> set[int]:
    return {outcome.mission_id for outcome in metric.outcomes}


def public_missions(metric: Metric, *, include_drafts: bool) -> list[Mission]:
    seen: dict[int, Mission] = {}
    for outcome in metric.outcomes:
        if include_drafts or outcome.mission.status == MissionStatus.PUBLISHED:
            seen[outcome.mission_id] = outcome.mission
    return sorted(seen.values(), key=lambda m: (m.position, m.title))


def create_metric(
    session: Session, *, data: MetricIn, outcomes: Sequence[Outcome] = ()
) -> Metric:
    if session.scalar(select(Metric.id).where(Metric.slug == data.slug)):
        raise ValidationFailed([FieldError("slug", f"The slug {data.slug!r} is already used")])
    metric = Metric(**data.model_dump(), status=PublicationStatus.DRAFT)
    metric.outcomes.extend(outcomes)
    session.add(metric)
    session.flush()
    return metric


def update_metric(
    session: Session, *, metric: Metric, data: MetricIn, actor: User | None, reason: str | None
) -> Metric:
    if data.slug != metric.slug:
        raise ValidationFailed([FieldError("slug", "A metric's slug cannot change: its "
                                                   "address is public")])
    new = data.model_dump(exclude={"slug"})
    changes = diff(metric, new)
    record_change(session, entity_type="metric", entity_id=metric.id, fields=changes,
                  actor=actor, reason=reason, guarded=METRIC_GUARDED,
                  published=metric.is_published, metric_id=metric.id)
    for key in changes:
        setattr(metric, key, new[key])
    session.flush()
    return metric


def set_metric_status(
    session: Session, *, metric: Metric, status: PublicationStatus, actor: User | None,
    reason: str | None,
) -> Metric:
    if status == metric.status:
        return metric
    if status == PublicationStatus.DRAFT:
        record_change(session, entity_type="metric", entity_id=metric.id,
                      fields=diff(metric, {"status": status}), actor=actor, reason=reason,
                      guarded=METRIC_GUARDED, published=True, metric_id=metric.id)
    else:
        metric.published_at = metric.published_at or utcnow()
    metric.status = status
    session.flush()
    return metric


def set_metric_outcomes(session: Session, *, metric: Metric, outcomes: Sequence[Outcome]) -> None:
    metric.outcomes[:] = list(outcomes)
    session.flush()


# Observations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObservationQuery:
    area_code: str | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    limit: int = 100
    offset: int = 0


def query_observations(
    session: Session, *, metric: Metric, query: ObservationQuery
) -> tuple[list[Observation], int]:
    """A page of observations (oldest period first) and the total that match."""
    stmt = select(Observation).where(Observation.metric_id == metric.id)
    if query.area_code is not None:
        stmt = stmt.join(Area, Observation.area_id == Area.id).where(Area.code == query.area_code)
    if query.period_from is not None:
        stmt = stmt.where(Observation.period_end >= query.period_from)
    if query.period_to is not None:
        stmt = stmt.where(Observation.period_start <= query.period_to)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.options(selectinload(Observation.revisions))
        .order_by(Observation.period_end, Observation.area_id, Observation.id)
        .limit(query.limit).offset(query.offset)
    )
    return list(rows), total


def series(session: Session, *, metric_id: int, area_id: int) -> list[Observation]:
    return list(session.scalars(
        select(Observation)
        .where(Observation.metric_id == metric_id, Observation.area_id == area_id)
        .options(selectinload(Observation.revisions))
        .order_by(Observation.period_end)
    ))


def latest_by_area(session: Session, *, metric_id: int) -> list[Observation]:
    """The most recent observation for each area (for the breakdown table)."""
    latest = (
        select(Observation.area_id, func.max(Observation.period_end).label("end"))
        .where(Observation.metric_id == metric_id)
        .group_by(Observation.area_id)
        .subquery()
    )
    rows = session.scalars(
        select(Observation)
        .join(latest, (Observation.area_id == latest.c.area_id)
              & (Observation.period_end == latest.c.end))
        .where(Observation.metric_id == metric_id)
        .join(Area, Observation.area_id == Area.id)
        .order_by(Area.level, Area.name)
    )
    return list(rows)


def metric_areas(session: Session, *, metric_id: int) -> list[Area]:
    return list(session.scalars(
        select(Area).where(Area.id.in_(
            select(Observation.area_id).where(Observation.metric_id == metric_id)
        )).order_by(Area.level, Area.name)
    ))


# Targets -----------------------------------------------------------------------------------

def _target_fields(session: Session, data: TargetIn) -> dict[str, object]:
    area = get_area(session, code=data.area_code)
    period = parse_period(data.baseline_period)
    return {
        "area_id": area.id, "title": data.title, "baseline_value": data.baseline_value,
        "baseline_period_start": period.start, "baseline_period_end": period.end,
        "baseline_label": period.label, "target_value": data.target_value,
        "deadline": data.deadline, "horizon": data.horizon, "shape": data.shape,
        "rationale": data.rationale, "baseline_illustrative": data.baseline_illustrative,
        "counterfactual": data.counterfactual,
        "counterfactual_slope_per_year": data.counterfactual_slope_per_year,
    }


def _milestone_text(milestones: Sequence[tuple[dt.date, float]]) -> str:
    return "; ".join(f"{due.isoformat()}: {value:g}" for due, value in sorted(milestones))


def create_target(session: Session, *, metric: Metric, data: TargetIn) -> Target:
    target = Target(**_target_fields(session, data))
    target.milestones = [Milestone(due=m.due, value=m.value) for m in data.milestones]
    metric.targets.append(target)
    session.flush()
    return target


def get_target(session: Session, *, metric: Metric, target_id: int) -> Target:
    for target in metric.targets:
        if target.id == target_id:
            return target
    raise NotFound(f"no target {target_id} for metric {metric.slug!r}")


def update_target(
    session: Session, *, target: Target, data: TargetIn, actor: User | None, reason: str | None
) -> Target:
    new = _target_fields(session, data)
    changes = diff(target, new)
    old_ms = [(m.due, m.value) for m in target.milestones]
    new_ms = [(m.due, m.value) for m in data.milestones]
    if sorted(old_ms) != sorted(new_ms):
        changes["milestones"] = {"old": _milestone_text(old_ms), "new": _milestone_text(new_ms)}
    if "area_id" in changes:
        changes["area_id"] = {"old": target.area.code, "new": data.area_code}
    metric = target.metric
    record_change(session, entity_type="target", entity_id=target.id, fields=changes,
                  actor=actor, reason=reason, guarded=TARGET_GUARDED,
                  published=metric.is_published, metric_id=metric.id)
    for key, value in new.items():
        setattr(target, key, value)
    if "milestones" in changes:
        target.milestones = [Milestone(due=m.due, value=m.value) for m in data.milestones]
    session.flush()
    session.expire(target, ["area"])
    return target


def target_path(target: Target) -> RequiredPath:
    return required_path(
        baseline_date=target.baseline_period_end, baseline_value=target.baseline_value,
        target_date=target.deadline, target_value=target.target_value,
        milestones=[(m.due, m.value) for m in target.milestones], shape=target.shape,
    )


@dataclass(frozen=True)
class TargetView:
    target: Target
    path: RequiredPath
    assessment: Assessment
    latest: Observation | None


def target_view(session: Session, *, target: Target, as_of: dt.date | None = None
                ) -> TargetView:
    """The target with its required path, latest actual (up to ``as_of``) and status."""
    query = select(Observation).where(Observation.metric_id == target.metric_id,
                                      Observation.area_id == target.area_id)
    if as_of is not None:
        query = query.where(Observation.period_end <= as_of)
    latest = session.scalar(query.order_by(Observation.period_end.desc()).limit(1))
    path = target_path(target)
    sign = {Polarity.HIGHER_IS_BETTER: 1, Polarity.LOWER_IS_BETTER: -1}.get(
        target.metric.polarity, 1)
    assessment = assess(
        path,
        actual_date=latest.period_end if latest else None,
        actual_value=latest.value if latest else None,
        lower=latest.lower if latest else None,
        upper=latest.upper if latest else None,
        polarity_sign=sign,
    )
    return TargetView(target=target, path=path, assessment=assessment, latest=latest)
