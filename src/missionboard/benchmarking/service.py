"""Units, the metrics with unit-level data, peer groups and practice notes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.benchmarking import store
from missionboard.benchmarking.models import (
    PeerGroup,
    PeerKind,
    PracticeNote,
    Statistic,
    Unit,
    UnitMetric,
)
from missionboard.benchmarking.schemas import PeerGroupIn, PracticeNoteIn, UnitIn, UnitMetricIn
from missionboard.db.base import utcnow
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate_rows
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import Metric

# Units ------------------------------------------------------------------------------------

def import_units(session: Session, *, rows: Sequence[Mapping[str, object]],
                 illustrative: bool = False) -> tuple[int, int]:
    """Add or update units from CSV rows (``code, name, kind, area_code`` and any numeric
    attribute columns), all or nothing. Returns (added, updated)."""
    fixed = {"code", "name", "kind", "area_code"}
    parsed = validate_rows(UnitIn, [
        {**{k: v for k, v in row.items() if k in fixed},
         "attributes": {k: v for k, v in row.items() if k not in fixed and v not in ("", None)}}
        for row in rows])
    areas = {a.code: a.id for a in metrics_service.list_areas(session)}
    errors = [FieldError("area_code", f"No area has the code {u.area_code!r}", row=i)
              for i, u in enumerate(parsed, start=2) if u.area_code and u.area_code not in areas]
    if errors:
        raise ValidationFailed(errors)
    existing = {u.code: u for u in session.scalars(select(Unit))}
    added = updated = 0
    for data in parsed:
        unit = existing.get(data.code)
        if unit is None:
            unit = Unit(code=data.code)
            session.add(unit)
            existing[data.code] = unit
            added += 1
        else:
            updated += 1
        unit.name, unit.kind, unit.attributes = data.name, data.kind, data.attributes
        unit.area_id = areas.get(data.area_code) if data.area_code else None
        unit.illustrative = illustrative
    session.flush()
    return added, updated


def get_unit(session: Session, *, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"no unit {code!r}")
    return unit


def unit_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Unit.code)))


# Metrics with unit-level data -------------------------------------------------------------

def get_unit_metric(session: Session, *, metric: Metric) -> UnitMetric:
    found = session.scalar(select(UnitMetric).where(UnitMetric.metric_id == metric.id))
    if found is None:
        raise NotFound(f"the metric {metric.slug!r} has no unit-level data")
    return found


def list_unit_metrics(session: Session, *, include_drafts: bool) -> list[UnitMetric]:
    found = session.scalars(select(UnitMetric).join(Metric).order_by(Metric.title))
    return [m for m in found if include_drafts or m.metric.is_published]


def load_unit_data(session: Session, *, metric: Metric, data: UnitMetricIn, source: Path,
                   data_dir: Path, illustrative: bool = False) -> UnitMetric:
    """Declare how the metric's unit values are made, and load its unit-level data (replacing
    what was there), all or nothing."""
    result = store.load_unit_observations(
        source=source, target=store.dataset_path(data_dir, metric.slug),
        known_units=unit_codes(session), proportion=data.statistic == Statistic.PROPORTION)
    found = session.scalar(select(UnitMetric).where(UnitMetric.metric_id == metric.id))
    if found is None:
        found = UnitMetric(metric_id=metric.id)
        session.add(found)
    for key, value in data.model_dump().items():
        setattr(found, key, value)
    found.rows, found.loaded_at, found.illustrative = result.rows, utcnow(), illustrative
    session.flush()
    return found


# Peer groups ------------------------------------------------------------------------------

def save_peer_group(session: Session, *, data: PeerGroupIn) -> PeerGroup:
    members = []
    if data.kind == PeerKind.LIST:
        found = {u.code: u for u in session.scalars(select(Unit).where(
            Unit.code.in_(data.members)))}
        missing = [c for c in data.members if c not in found]
        if missing:
            raise ValidationFailed([FieldError("members", "No unit has the code "
                                               + ", ".join(missing[:10]))])
        members = [found[c] for c in data.members]
    group = session.scalar(select(PeerGroup).where(PeerGroup.slug == data.slug))
    if group is None:
        group = PeerGroup(slug=data.slug)
        session.add(group)
    group.name, group.kind, group.unit_kind = data.name, data.kind, data.unit_kind
    group.attributes, group.neighbours = data.attributes, data.neighbours
    group.description, group.members = data.description, members
    session.flush()
    return group


def list_peer_groups(session: Session) -> list[PeerGroup]:
    return list(session.scalars(select(PeerGroup).order_by(PeerGroup.name)))


def get_peer_group(session: Session, *, slug: str) -> PeerGroup:
    group = session.scalar(select(PeerGroup).where(PeerGroup.slug == slug))
    if group is None:
        raise NotFound(f"no peer group {slug!r}")
    return group


def peers(session: Session, *, group: PeerGroup, unit: Unit | None = None) -> list[str]:
    """The codes of the units in the group; for nearest neighbours, ``unit``'s nearest (itself
    included) on the group's attributes, each standardised to mean 0 and variance 1."""
    if group.kind == PeerKind.LIST:
        return sorted(u.code for u in group.members)
    query = select(Unit)
    if group.kind != PeerKind.ALL and group.unit_kind is not None:
        query = query.where(Unit.kind == group.unit_kind)
    candidates = list(session.scalars(query.order_by(Unit.code)))
    if group.kind != PeerKind.NEAREST or unit is None:
        return [u.code for u in candidates]
    return nearest(candidates, unit, attributes=group.attributes, k=group.neighbours)


def nearest(candidates: Sequence[Unit], unit: Unit, *, attributes: Sequence[str], k: int
            ) -> list[str]:
    usable = [u for u in candidates
              if all(_number(u.attributes.get(a)) is not None for a in attributes)]
    if unit not in usable or not attributes:
        return [u.code for u in usable]
    matrix = np.array([[float(u.attributes[a]) for a in attributes] for u in usable])
    spread = matrix.std(axis=0)
    scaled = (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    here = scaled[usable.index(unit)]
    # Rounded, so that units equally far apart tie exactly and their codes decide.
    distance = np.round(np.sqrt(((scaled - here) ** 2).sum(axis=1)), 9)
    order = np.lexsort(([u.code for u in usable], distance))
    return [usable[i].code for i in order[:k + 1]]


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# Practice notes ---------------------------------------------------------------------------

def add_practice_note(session: Session, *, unit: Unit, data: PracticeNoteIn, author: User,
                      metric: Metric | None = None) -> PracticeNote:
    note = PracticeNote(unit_id=unit.id, metric_id=metric.id if metric else None,
                        title=data.title, body=data.body, author_id=author.id,
                        author_name=author.name)
    session.add(note)
    session.flush()
    return note


def search_practice_notes(session: Session, *, text: str = "", metric: Metric | None = None,
                          unit: Unit | None = None, limit: int = 100) -> list[PracticeNote]:
    """Published notes, newest first, whose title or text contains every word of ``text``."""
    query = select(PracticeNote).where(PracticeNote.published.is_(True))
    for word in text.split()[:10]:
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        query = query.where(or_(PracticeNote.title.ilike(pattern),
                                PracticeNote.body.ilike(pattern)))
    if metric is not None:
        query = query.where(PracticeNote.metric_id == metric.id)
    if unit is not None:
        query = query.where(PracticeNote.unit_id == unit.id)
    return list(session.scalars(query.order_by(PracticeNote.created_at.desc(),
                                               PracticeNote.id.desc()).limit(limit)))
