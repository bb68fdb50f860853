"""The adoption tracker: programmes to spread what works, their eligible units and each unit's
adoption; the uploads (all or nothing, every problem naming its row and column; a re-upload
updates units by their id); one adoption recorded by hand; and the summary: the diffusion
curve, coverage, time to adopt, fidelity, coverage by area, the units that have not adopted,
and the S-curve projection.

The counting and the curve fitting are :mod:`missionboard.analytics.diffusion`'s; this module
reads the records, dates the points and words the results.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from missionboard.analytics import diffusion
from missionboard.db.base import utcnow
from missionboard.errors import FieldError, NotFound, ValidationFailed
from missionboard.missions.models import Mission
from missionboard.panels.service import log_change
from missionboard.trials.adoption_models import (
    AdoptionProgramme,
    AdoptionRecord,
    AdoptionUnit,
    Fidelity,
)
from missionboard.trials.adoption_schemas import AdoptionIn, ProgrammeIn
from missionboard.trials.models import Trial

#: The columns of the units file (``area`` and ``group`` are optional).
UNIT_COLUMNS = ("unit_id", "name", "area", "group")
#: The columns of the adoption file: ``fidelity`` or ``fidelity_score`` (or both) is needed.
RECORD_COLUMNS = ("unit_id", "adopted_on", "fidelity", "fidelity_score", "stopped_on",
                  "source", "note")
#: The most rows one upload may carry.
MAX_ROWS = 200_000
#: A fidelity score gives the level where none is given: 80 and over full, 50 and over partial.
FULL_FROM = 80
PARTIAL_FROM = 50
#: The curve's time unit: months of 365.25 / 12 days.
DAYS_PER_MONTH = 365.25 / 12
#: The longest curve drawn (and the furthest a projection is reported): fifty years.
MAX_MONTHS = 600


# Programmes --------------------------------------------------------------------------------

def list_programmes(session: Session, *, mission: Mission | None = None,
                    trial: Trial | None = None) -> list[AdoptionProgramme]:
    """Programmes (of every mission: the caller decides who may see which), by title."""
    query = select(AdoptionProgramme).order_by(AdoptionProgramme.title, AdoptionProgramme.id)
    if mission is not None:
        query = query.where(AdoptionProgramme.mission_id == mission.id)
    if trial is not None:
        query = query.where(AdoptionProgramme.trial_id == trial.id)
    return list(session.scalars(query))


def get_programme(session: Session, *, slug: str) -> AdoptionProgramme:
    found = session.scalar(select(AdoptionProgramme).where(AdoptionProgramme.slug == slug))
    if found is None:
        raise NotFound(f"No adoption programme {slug!r}")
    return found


def create_programme(session: Session, *, mission: Mission, data: ProgrammeIn
                     ) -> AdoptionProgramme:
    if session.scalar(select(AdoptionProgramme.id).where(AdoptionProgramme.slug == data.slug)):
        raise ValidationFailed([FieldError("slug", f"The short name {data.slug!r} is taken")])
    programme = AdoptionProgramme(mission=mission, slug=data.slug)
    _apply(session, programme, data)
    session.add(programme)
    session.flush()
    return programme


def update_programme(session: Session, *, programme: AdoptionProgramme, data: ProgrammeIn
                     ) -> AdoptionProgramme:
    if data.slug != programme.slug:
        raise ValidationFailed([FieldError("slug", "The short name cannot change")])
    _apply(session, programme, data)
    session.flush()
    return programme


def _apply(session: Session, programme: AdoptionProgramme, data: ProgrammeIn) -> None:
    from missionboard.delivery.models import Intervention

    mission = programme.mission
    errors = []
    if data.intervention_id is not None:
        intervention = session.get(Intervention, data.intervention_id)
        if intervention is None or intervention.mission_id != mission.id:
            errors.append(FieldError("intervention_id", "Choose an intervention of this "
                                                        "mission"))
    if data.trial_id is not None:
        trial = session.get(Trial, data.trial_id)
        if trial is None or trial.mission_id != mission.id:
            errors.append(FieldError("trial_id", "Choose a trial of this mission"))
    if errors:
        raise ValidationFailed(errors)
    programme.title, programme.unit_kind = data.title, data.unit_kind
    programme.description = data.description.strip()
    programme.intervention_id, programme.trial_id = data.intervention_id, data.trial_id
    programme.offered_on, programme.target_on = data.offered_on, data.target_on
    programme.target_share = (None if data.target_percent is None
                              else data.target_percent / 100)


# Units -------------------------------------------------------------------------------------

def units(session: Session, programme: AdoptionProgramme) -> list[AdoptionUnit]:
    """The eligible units with their adoption records, by unit id."""
    return list(session.scalars(select(AdoptionUnit).where(
        AdoptionUnit.programme_id == programme.id).options(selectinload(AdoptionUnit.record))
        .order_by(AdoptionUnit.unit_id)))


def count_units(session: Session, programme: AdoptionProgramme) -> int:
    return int(session.scalar(select(func.count()).select_from(AdoptionUnit).where(
        AdoptionUnit.programme_id == programme.id)) or 0)


def get_unit(session: Session, *, programme: AdoptionProgramme, unit_id: str) -> AdoptionUnit:
    found = session.scalar(select(AdoptionUnit).where(
        AdoptionUnit.programme_id == programme.id, AdoptionUnit.unit_id == unit_id))
    if found is None:
        raise NotFound(f"No unit {unit_id!r} in this programme")
    return found


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


def _header_errors(columns: Sequence[str], *, required: Sequence[str],
                   allowed: Sequence[str]) -> list[FieldError]:
    errors = [FieldError(c, f"The file has no column {c!r}", row=1)
              for c in required if c not in columns]
    errors += [FieldError(c or "(blank)", "Unknown column: use " + ", ".join(allowed), row=1)
               for c in columns if c not in allowed]
    return errors


def _check_size(rows: Sequence[Mapping[str, str]]) -> None:
    if not rows:
        raise ValidationFailed([FieldError("file", "The file has no rows")])
    if len(rows) > MAX_ROWS:
        raise ValidationFailed([FieldError("file", f"The file has more than {MAX_ROWS:,} rows")])


def _columns(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """The file's columns (every row's, in order: a CSV file's rows all have its header's)."""
    return list(dict.fromkeys(column for row in rows for column in row))


def _text(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _unit_id_error(unit_id: str, row: int, seen: set[str]) -> FieldError | None:
    if not unit_id:
        return FieldError("unit_id", "Enter the unit's id", row=row)
    if len(unit_id) > 100 or any(ord(c) < 32 for c in unit_id):
        return FieldError("unit_id", "Use up to 100 characters, on one line", row=row)
    if unit_id in seen:
        return FieldError("unit_id", f"{unit_id!r} appears twice", row=row)
    return None


def import_units(session: Session, *, programme: AdoptionProgramme,
                 rows: Sequence[Mapping[str, str]]) -> Imported:
    """Add or update the eligible units, all or nothing: ``unit_id``, ``name`` and optionally
    ``area`` and ``group``. A unit already uploaded is updated (only the columns the file
    has); units missing from the file stay. Every problem names its row (the header is row
    1) and column."""
    _check_size(rows)
    columns = _columns(rows)
    errors = _header_errors(columns, required=("unit_id", "name"), allowed=UNIT_COLUMNS)
    if errors:
        raise ValidationFailed(errors)
    known = {row.unit_id: row.id for row in session.execute(
        select(AdoptionUnit.unit_id, AdoptionUnit.id).where(
            AdoptionUnit.programme_id == programme.id))}
    seen: set[str] = set()
    added: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for number, row in enumerate(rows, start=2):
        unit_id = _text(row, "unit_id")
        problem = _unit_id_error(unit_id, number, seen)
        if problem is not None:
            errors.append(problem)
        seen.add(unit_id)
        values: dict[str, object] = {"name": _text(row, "name")}
        if not values["name"] or len(_text(row, "name")) > 300:
            errors.append(FieldError("name", "Enter the unit's name (up to 300 characters)",
                                     row=number))
        for column, attribute in (("area", "area"), ("group", "group_name")):
            if column in columns:
                values[attribute] = _text(row, column)
                if len(_text(row, column)) > 100:
                    errors.append(FieldError(column, "Longer than 100 characters", row=number))
        if unit_id in known:
            changed.append({"id": known[unit_id], **values})
        else:
            added.append({"area": "", "group_name": "", **values,
                          "programme_id": programme.id, "unit_id": unit_id})
    if errors:
        raise ValidationFailed(errors)
    if added:
        session.execute(insert(AdoptionUnit), added)
    if changed:
        session.execute(update(AdoptionUnit), changed)
    log_change(session, action="import", table=AdoptionUnit.__tablename__, row_id=programme.id,
               changes={"added": len(added), "updated": len(changed)},
               summary=f"Uploaded {len(added)} new and {len(changed)} updated eligible units "
                       f"to adoption programme {programme.slug}")
    session.flush()
    return Imported(added=len(added), updated=len(changed))


# Adoption records --------------------------------------------------------------------------

def fidelity_level(level: Fidelity | None, score: int | None) -> Fidelity:
    """The level given, or the one a score implies (:data:`FULL_FROM`, :data:`PARTIAL_FROM`)."""
    if level is not None:
        return level
    if score is None:
        raise ValueError("a fidelity level or score is needed")
    if score >= FULL_FROM:
        return Fidelity.FULL
    return Fidelity.PARTIAL if score >= PARTIAL_FROM else Fidelity.MINIMAL


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else utcnow().date()


def _date(text: str, column: str, row: int, today: dt.date, errors: list[FieldError]
          ) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(column, f"{text!r} is not a date: use YYYY-MM-DD, for "
                                         "example 2026-03-31", row=row))
        return None
    if day > today:
        errors.append(FieldError(column, f"{text} is in the future", row=row))
        return None
    return day


def _fidelity(row: Mapping[str, str], number: int, errors: list[FieldError]
              ) -> tuple[Fidelity | None, int | None]:
    level_text = _text(row, "fidelity").lower()
    score_text = _text(row, "fidelity_score")
    level = score = None
    if level_text:
        try:
            level = Fidelity(level_text)
        except ValueError:
            errors.append(FieldError("fidelity", f"{level_text!r} is not a level: use full, "
                                                 "partial or minimal", row=number))
    if score_text:
        try:
            score = int(score_text)
        except ValueError:
            score = -1
        if not 0 <= score <= 100:
            errors.append(FieldError("fidelity_score", f"{score_text!r} is not a whole number "
                                                       "from 0 to 100", row=number))
            score = None
    if not level_text and not score_text:
        errors.append(FieldError("fidelity", "Give the fidelity: a level (full, partial or "
                                             "minimal) or a score from 0 to 100", row=number))
    return level, score


def _record_values(row: Mapping[str, str], number: int, *, columns: Sequence[str],
                   today: dt.date, errors: list[FieldError]) -> dict[str, object] | None:
    """One row of the adoption file as a record's values (the columns the file has), or
    None with its problems added to ``errors``."""
    found = len(errors)
    adopted = _date(_text(row, "adopted_on"), "adopted_on", number, today, errors)
    stopped = None
    if _text(row, "stopped_on"):
        stopped = _date(_text(row, "stopped_on"), "stopped_on", number, today, errors)
    if adopted and stopped and stopped < adopted:
        errors.append(FieldError("stopped_on", "A unit cannot stop before it adopted",
                                 row=number))
    level, score = _fidelity(row, number, errors)
    if len(_text(row, "source")) > 300:
        errors.append(FieldError("source", "Longer than 300 characters", row=number))
    if len(errors) > found:
        return None
    values: dict[str, object] = {"adopted_on": adopted,
                                 "fidelity": fidelity_level(level, score)}
    given: dict[str, object] = {"fidelity_score": score, "stopped_on": stopped,
                                "source": _text(row, "source"), "note": _text(row, "note")}
    values.update({column: value for column, value in given.items() if column in columns})
    return values


def import_adoptions(session: Session, *, programme: AdoptionProgramme,
                     rows: Sequence[Mapping[str, str]], today: dt.date | None = None
                     ) -> Imported:
    """Add or update adoption records, all or nothing: ``unit_id`` (an eligible unit),
    ``adopted_on`` and ``stopped_on`` (YYYY-MM-DD, not in the future; a unit cannot stop
    before it adopts), ``fidelity`` (full, partial or minimal) and/or ``fidelity_score`` (0 to
    100), ``source`` and ``note``. A unit's existing record is updated (the columns the file
    has); every problem names its row (the header is row 1) and column."""
    today = _today(today)
    _check_size(rows)
    columns = _columns(rows)
    errors = _header_errors(columns, required=("unit_id", "adopted_on"),
                            allowed=RECORD_COLUMNS)
    if "fidelity" not in columns and "fidelity_score" not in columns:
        errors.append(FieldError("fidelity", "The file needs a column 'fidelity' (full, "
                                             "partial or minimal) or 'fidelity_score'", row=1))
    if errors:
        raise ValidationFailed(errors)
    eligible = {unit_id: (pk, record) for unit_id, pk, record in session.execute(
        select(AdoptionUnit.unit_id, AdoptionUnit.id, AdoptionRecord.id)
        .outerjoin(AdoptionRecord, AdoptionRecord.unit_pk == AdoptionUnit.id)
        .where(AdoptionUnit.programme_id == programme.id))}
    seen: set[str] = set()
    added: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    now = utcnow()
    for number, row in enumerate(rows, start=2):
        unit_id = _text(row, "unit_id")
        problem = _unit_id_error(unit_id, number, seen)
        if problem is None and unit_id not in eligible:
            problem = FieldError("unit_id", f"{unit_id!r} is not an eligible unit of this "
                                            "programme: upload it with the units first",
                                 row=number)
        if problem is not None:
            errors.append(problem)
        seen.add(unit_id)
        values = _record_values(row, number, columns=columns, today=today, errors=errors)
        if values is None or errors:
            continue  # nothing will be written: keep checking the rest
        pk, record = eligible[unit_id]
        if record is not None:
            changed.append({"id": record, **values, "recorded_at": now})
        else:
            added.append({"fidelity_score": None, "stopped_on": None, "source": "",
                          "note": "", **values, "recorded_at": now, "unit_pk": pk})
    if errors:
        raise ValidationFailed(errors)
    if added:
        session.execute(insert(AdoptionRecord), added)
    if changed:
        session.execute(update(AdoptionRecord), changed)
    log_change(session, action="import", table=AdoptionRecord.__tablename__,
               row_id=programme.id, changes={"added": len(added), "updated": len(changed)},
               summary=f"Uploaded {len(added)} new and {len(changed)} updated adoption "
                       f"records to adoption programme {programme.slug}")
    session.flush()
    return Imported(added=len(added), updated=len(changed))


def record_adoption(session: Session, *, programme: AdoptionProgramme, data: AdoptionIn,
                    today: dt.date | None = None) -> AdoptionRecord:
    """Record (or correct) one unit's adoption, entered by hand."""
    today = _today(today)
    unit = session.scalar(select(AdoptionUnit).where(
        AdoptionUnit.programme_id == programme.id, AdoptionUnit.unit_id == data.unit_id))
    errors = []
    if unit is None:
        errors.append(FieldError("unit_id", f"{data.unit_id!r} is not an eligible unit of this "
                                            "programme"))
    for name, day in (("adopted_on", data.adopted_on), ("stopped_on", data.stopped_on)):
        if day is not None and day > today:
            errors.append(FieldError(name, "The date is in the future"))
    if errors:
        raise ValidationFailed(errors)
    assert unit is not None
    record = unit.record
    if record is None:
        record = AdoptionRecord(unit=unit)
        session.add(record)
    record.adopted_on, record.stopped_on = data.adopted_on, data.stopped_on
    record.fidelity = fidelity_level(data.fidelity, data.fidelity_score)
    record.fidelity_score = data.fidelity_score
    record.source, record.note = data.source.strip(), data.note.strip()
    record.recorded_at = utcnow()
    session.flush()
    return record


# The summary -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CurvePoint:
    """The units adopting on a day (a month's end, or the as-of day in its month)."""

    month: str
    on: dt.date
    adopting: int
    full_fidelity: int
    share: float | None
    full_fidelity_share: float | None


@dataclass(frozen=True)
class AreaCoverage:
    area: str
    eligible: int
    adopting: int
    full_fidelity: int

    @property
    def share(self) -> float | None:
        return self.adopting / self.eligible if self.eligible else None


@dataclass(frozen=True)
class NonAdopter:
    """A unit not adopting on the day: it never has, or it stopped."""

    unit: AdoptionUnit
    adopted_on: dt.date | None
    stopped_on: dt.date | None


@dataclass(frozen=True)
class Projection:
    """The S-curve fitted to the share adopting, and when it reaches the target share. A
    projection on the present trend: it assumes uptake keeps to the same S-shape."""

    fit: diffusion.LogisticFit | None
    reason: str | None
    start: dt.date | None
    target_share: float | None
    target_reached_on: dt.date | None
    note: str
    path: list[tuple[dt.date, float]] = field(default_factory=list)

    @property
    def fitted(self) -> bool:
        return self.fit is not None

    def share_on(self, day: dt.date) -> float | None:
        """The fitted curve's share on ``day``."""
        if self.fit is None or self.start is None:
            return None
        return float(self.fit.share_at((day - self.start).days / DAYS_PER_MONTH))

    @property
    def midpoint_on(self) -> dt.date | None:
        if self.fit is None or self.start is None:
            return None
        return _after(self.start, self.fit.midpoint)


@dataclass(frozen=True)
class AdoptionSummary:
    as_of: dt.date
    eligible: int
    adopting: int
    full_fidelity: int
    stopped: int
    never_adopted: int
    median_months_to_adopt: float | None
    fidelity: dict[Fidelity, int]
    curve: list[CurvePoint]
    areas: list[AreaCoverage]
    non_adopters: list[NonAdopter]
    projection: Projection

    @property
    def share(self) -> float | None:
        return self.adopting / self.eligible if self.eligible else None

    @property
    def full_fidelity_share(self) -> float | None:
        return self.full_fidelity / self.eligible if self.eligible else None


def _month_end(day: dt.date) -> dt.date:
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _after(start: dt.date, months: float) -> dt.date | None:
    """The day ``months`` (of :data:`DAYS_PER_MONTH` days) after ``start``, if a date."""
    try:
        return start + dt.timedelta(days=round(months * DAYS_PER_MONTH))
    except OverflowError:
        return None


def _curve_days(start: dt.date, as_of: dt.date) -> list[dt.date]:
    """Each month's end from ``start``'s month to ``as_of``'s, the last cut at ``as_of``."""
    days: list[dt.date] = []
    day = _month_end(start)
    while day < as_of and len(days) < MAX_MONTHS:
        days.append(day)
        day = _month_end(day + dt.timedelta(days=1))
    days.append(as_of)
    return days


def _active(records: Sequence[AdoptionRecord], days: Sequence[dt.date]) -> list[int]:
    never = math.inf
    counts = diffusion.active_counts(
        [r.adopted_on.toordinal() for r in records],
        [r.stopped_on.toordinal() if r.stopped_on else never for r in records],
        [d.toordinal() for d in days])
    return [int(n) for n in counts]


def summary(session: Session, programme: AdoptionProgramme, *, as_of: dt.date | None = None
            ) -> AdoptionSummary:
    """Coverage on ``as_of`` (today by default), the curve to it, and the projection."""
    as_of = _today(as_of)
    items = units(session, programme)
    eligible = len(items)
    records = [u.record for u in items if u.record is not None]
    full = [r for r in records if r.fidelity == Fidelity.FULL]
    firsts = [d for d in (programme.offered_on,
                          min((r.adopted_on for r in records), default=None)) if d]
    start = min(firsts) if firsts else None
    curve: list[CurvePoint] = []
    if start is not None and start <= as_of and eligible:
        days = _curve_days(start, as_of)
        for day, n, n_full in zip(days, _active(records, days), _active(full, days),
                                  strict=True):
            curve.append(CurvePoint(month=day.strftime("%Y-%m"), on=day, adopting=n,
                                    full_fidelity=n_full, share=n / eligible,
                                    full_fidelity_share=n_full / eligible))

    def adopting(r: AdoptionRecord) -> bool:
        return r.adopted_on <= as_of and (r.stopped_on is None or r.stopped_on > as_of)

    active = [r for r in records if adopting(r)]
    stopped = [r for r in records if r.stopped_on is not None and r.stopped_on <= as_of]
    areas: dict[str, list[AdoptionUnit]] = {}
    for unit in items:
        areas.setdefault(unit.area or "Not stated", []).append(unit)
    base = programme.offered_on or start
    waits = [max((r.adopted_on - base).days, 0) for r in records
             if base is not None and r.adopted_on <= as_of]
    return AdoptionSummary(
        as_of=as_of, eligible=eligible, adopting=len(active),
        full_fidelity=sum(r.fidelity == Fidelity.FULL for r in active), stopped=len(stopped),
        never_adopted=sum(u.record is None or u.record.adopted_on > as_of for u in items),
        median_months_to_adopt=(statistics.median(waits) / DAYS_PER_MONTH if waits else None),
        fidelity={level: sum(r.fidelity == level for r in active) for level in Fidelity},
        curve=curve,
        areas=[AreaCoverage(area=name, eligible=len(members),
                            adopting=sum(u.record is not None and adopting(u.record)
                                         for u in members),
                            full_fidelity=sum(u.record is not None and adopting(u.record)
                                              and u.record.fidelity == Fidelity.FULL
                                              for u in members))
               for name, members in sorted(areas.items())],
        non_adopters=sorted(
            (NonAdopter(unit=u, adopted_on=u.record.adopted_on if u.record else None,
                        stopped_on=u.record.stopped_on if u.record else None)
             for u in items if u.record is None or not adopting(u.record)),
            key=lambda n: (n.unit.area, n.unit.name, n.unit.unit_id)),
        projection=project(curve, target_share=programme.target_share,
                           target_on=programme.target_on, as_of=as_of))


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def project(curve: Sequence[CurvePoint], *, target_share: float | None,
            target_on: dt.date | None, as_of: dt.date) -> Projection:
    """Fit the S-curve to the share adopting each month, and say when it reaches the
    target share: a projection on the present trend, worded as one."""
    if not curve or curve[-1].share is None:
        return Projection(fit=None, reason="there are no units or no adoptions yet",
                          start=None, target_share=target_share, target_reached_on=None,
                          note="No projection: there are no units or no adoptions yet.")
    start = curve[0].on
    t = np.array([(p.on - start).days / DAYS_PER_MONTH for p in curve])
    shares = np.array([p.share or 0.0 for p in curve])
    fit = diffusion.fit_logistic(t, shares)
    if isinstance(fit, diffusion.NoFit):
        return Projection(fit=None, reason=fit.reason, start=start, target_share=target_share,
                          target_reached_on=None,
                          note=f"No projection: {fit.reason}.")
    reached = None
    words = (f"Projection, not a forecast: an S-curve fitted to {fit.points} monthly points "
             f"levels off at about {_percent(fit.ceiling)} of units. It assumes uptake keeps "
             "to the same S-shape.")
    current = curve[-1].share or 0.0
    if target_share is not None:
        when = fit.time_to_reach(target_share)
        if current >= target_share:
            words += f" The target of {_percent(target_share)} is already met."
        elif when is None:
            words += (f" On the present trend uptake levels off below the target of "
                      f"{_percent(target_share)}.")
        elif when > float(t[-1]) + MAX_MONTHS:
            words += (f" On the present trend the target of {_percent(target_share)} is not "
                      "reached within fifty years.")
        else:
            reached = _after(start, when)
            assert reached is not None
            words += (f" On the present trend {_percent(target_share)} of units would be "
                      f"adopting by {reached:%B %Y}")
            if target_on is not None:
                words += (", after the target date" if reached > target_on
                          else ", by the target date")
            words += "."
    end = max(d for d in (as_of + dt.timedelta(days=365), reached, target_on) if d)
    days = _curve_days(start, _month_end(end))
    shares = fit.share_at([(day - start).days / DAYS_PER_MONTH for day in days])
    return Projection(fit=fit, reason=None, start=start, target_share=target_share,
                      target_reached_on=reached, note=words,
                      path=[(day, float(share)) for day, share in zip(days, shares,
                                                                     strict=True)])


# The download ------------------------------------------------------------------------------

def adoption_rows(session: Session, programme: AdoptionProgramme, *,
                  as_of: dt.date | None = None) -> list[list[str]]:
    """Every eligible unit with its adoption (a header first), and its status on the day:
    adopting, stopped or not adopted."""
    as_of = _today(as_of)
    rows = [["unit_id", "name", "area", "group", "status", "adopted_on", "fidelity",
             "fidelity_score", "stopped_on", "source", "note"]]
    for unit in units(session, programme):
        r = unit.record
        if r is None or r.adopted_on > as_of:
            status = "not_adopted"
        elif r.stopped_on is not None and r.stopped_on <= as_of:
            status = "stopped"
        else:
            status = "adopting"
        rows.append([unit.unit_id, unit.name, unit.area, unit.group_name, status,
                     *(["", "", "", "", "", ""] if r is None else [
                         r.adopted_on.isoformat(), r.fidelity.value,
                         "" if r.fidelity_score is None else str(r.fidelity_score),
                         r.stopped_on.isoformat() if r.stopped_on else "", r.source,
                         r.note])])
    return rows
