"""The adoption tracker's service on both backends: programmes, the units and adoption
uploads (all or nothing, naming row and column, the database unchanged after a refusal;
re-uploads update by unit id), one adoption entered by hand, and the summary: the curve,
coverage, time to adopt, fidelity, areas and non-adopters recomputed here from the records,
and the projection."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.analytics.diffusion import LogisticFit, logistic
from missionboard.delivery import service as delivery
from missionboard.delivery.schemas import InterventionIn
from missionboard.errors import NotFound, ValidationFailed
from missionboard.missions.models import Mission
from missionboard.trials import adoption
from missionboard.trials.adoption_models import AdoptionProgramme, AdoptionRecord, Fidelity
from missionboard.trials.adoption_schemas import AdoptionIn
from tests import factories
from tests.trials import builders
from tests.trials.adoption_builders import (
    OFFERED,
    TODAY,
    new_programme,
    programme_data,
    record_rows,
    unit_rows,
)


@pytest.fixture
def mission(session: Session) -> Mission:
    return factories.mission(session, "opportunity")


def _records(session: Session, programme: AdoptionProgramme) -> list[AdoptionRecord]:
    session.expire_all()
    return [u.record for u in adoption.units(session, programme) if u.record is not None]


def _count_records(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AdoptionRecord)) or 0)


def _month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Independently of the service: the last day of each month, the last cut at ``end``."""
    days = []
    year, month = start.year, start.month
    while True:
        first_of_next = dt.date(year + (month == 12), month % 12 + 1, 1)
        last = first_of_next - dt.timedelta(days=1)
        if last >= end:
            days.append(end)
            return days
        days.append(last)
        year, month = first_of_next.year, first_of_next.month


# Programmes --------------------------------------------------------------------------------

def test_a_programme_belongs_to_its_mission(session: Session, mission: Mission) -> None:
    other = factories.mission(session, "elsewhere")
    foreign = delivery.save_intervention(session, mission=other, data=InterventionIn(
        slug="foreign", title="Foreign", start=dt.date(2025, 1, 1),
        evidence_kind="pilot_trial", evidence_strength="moderate"))
    foreign_trial = builders.new_trial(session, other, slug="foreign-trial")
    with pytest.raises(ValidationFailed) as caught:
        new_programme(session, mission, intervention_id=foreign.id,
                      trial_id=foreign_trial.id)
    assert {e.field for e in caught.value.errors} == {"intervention_id", "trial_id"}
    trial = builders.new_trial(session, mission)
    programme = new_programme(session, mission, trial_id=trial.id)
    assert programme.trial is trial
    assert programme.target_share == pytest.approx(0.8)
    assert adoption.list_programmes(session, trial=trial) == [programme]
    assert adoption.get_programme(session, slug=programme.slug) is programme
    with pytest.raises(ValidationFailed) as taken:
        new_programme(session, mission)
    assert taken.value.errors[0].field == "slug"
    with pytest.raises(NotFound):
        adoption.get_programme(session, slug="nowhere")


def test_a_target_date_needs_a_share_and_comes_after_the_offer() -> None:
    with pytest.raises(ValueError, match="target share"):
        programme_data(target_percent=None)
    with pytest.raises(ValueError, match="after the programme was offered"):
        programme_data(target_on=OFFERED)
    assert programme_data(target_percent=None, target_on=None).target_percent is None


def test_a_programme_is_public_with_its_mission(session: Session) -> None:
    draft = factories.mission(session, "draft", published=False)
    assert not new_programme(session, draft).is_public


# Units -------------------------------------------------------------------------------------

def test_units_upload_and_update_by_unit_id(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission)
    before = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    done = adoption.import_units(session, programme=programme, rows=unit_rows(5))
    assert (done.added, done.updated) == (5, 0)
    after = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    assert after > before
    again = adoption.import_units(session, programme=programme, rows=[
        {"unit_id": "U001", "name": "Renamed school", "area": "Wales"},
        {"unit_id": "U099", "name": "New school", "area": "London"}])
    assert (again.added, again.updated) == (1, 1)
    session.expire_all()
    by_id = {u.unit_id: u for u in adoption.units(session, programme)}
    assert len(by_id) == 6
    assert (by_id["U001"].name, by_id["U001"].area) == ("Renamed school", "Wales")
    assert by_id["U001"].group_name == "Trust 1"  # the file had no group column: kept
    assert by_id["U099"].group_name == ""


def test_units_upload_is_all_or_nothing(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=3)
    rows = [*unit_rows(3), {"unit_id": "U003", "name": "", "area": "London", "group": ""},
            {"unit_id": "U001", "name": "Twice", "area": "", "group": ""}]
    rows[0] = {**rows[0], "name": "Should not be saved"}
    with pytest.raises(ValidationFailed) as caught:
        adoption.import_units(session, programme=programme, rows=rows)
    assert {(e.row, e.field) for e in caught.value.errors} == {(5, "name"), (6, "unit_id")}
    session.expire_all()
    assert adoption.count_units(session, programme) == 3
    assert adoption.units(session, programme)[0].name == "School 000"
    with pytest.raises(ValidationFailed) as header:
        adoption.import_units(session, programme=programme,
                              rows=[{"unit_id": "X", "colour": "red"}])
    assert {(e.row, e.field) for e in header.value.errors} == {(1, "name"), (1, "colour")}
    with pytest.raises(ValidationFailed):
        adoption.import_units(session, programme=programme, rows=[])


# Adoption records --------------------------------------------------------------------------

def test_adoption_upload_is_all_or_nothing_naming_row_and_column(
        session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=6)
    good = {"unit_id": "U000", "adopted_on": "2025-01-10", "fidelity": "full",
            "fidelity_score": "", "stopped_on": "", "source": "Survey", "note": ""}
    rows = [
        good,
        {**good, "unit_id": "NOPE"},
        {**good, "unit_id": "U002", "adopted_on": "2025-02-30"},
        {**good, "unit_id": "U003", "adopted_on": "2030-01-01"},
        {**good, "unit_id": "U004", "stopped_on": "2024-12-31"},
        {**good, "unit_id": "U005", "fidelity": "", "fidelity_score": ""},
        {**good, "unit_id": "U000"},
        {**good, "unit_id": "U001", "fidelity": "lots", "fidelity_score": "120"},
    ]
    with pytest.raises(ValidationFailed) as caught:
        adoption.import_adoptions(session, programme=programme, rows=rows, today=TODAY)
    assert {(e.row, e.field) for e in caught.value.errors} == {
        (3, "unit_id"), (4, "adopted_on"), (5, "adopted_on"), (6, "stopped_on"),
        (7, "fidelity"), (8, "unit_id"), (9, "fidelity"), (9, "fidelity_score")}
    messages = " ".join(e.message for e in caught.value.errors)
    assert "'NOPE' is not an eligible unit" in messages
    assert "in the future" in messages
    assert _count_records(session) == 0
    with pytest.raises(ValidationFailed) as header:
        adoption.import_adoptions(session, programme=programme,
                                  rows=[{"unit_id": "U000", "adopted_on": "2025-01-01"}],
                                  today=TODAY)
    assert [(e.row, e.field) for e in header.value.errors] == [(1, "fidelity")]


def test_adoption_reupload_updates_by_unit_id(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=3)
    first = adoption.import_adoptions(session, programme=programme, today=TODAY, rows=[
        {"unit_id": "U000", "adopted_on": "2025-01-10", "fidelity_score": "85"},
        {"unit_id": "U001", "adopted_on": "2025-03-01", "fidelity_score": "60"},
        {"unit_id": "U002", "adopted_on": "2025-04-01", "fidelity_score": "10"}])
    assert (first.added, first.updated) == (3, 0)
    levels = {r.unit.unit_id: r.fidelity for r in _records(session, programme)}
    assert levels == {"U000": Fidelity.FULL, "U001": Fidelity.PARTIAL,
                      "U002": Fidelity.MINIMAL}
    second = adoption.import_adoptions(session, programme=programme, today=TODAY, rows=[
        {"unit_id": "U001", "adopted_on": "2025-02-01", "fidelity": "full",
         "stopped_on": "2026-01-31"}])
    assert (second.added, second.updated) == (0, 1)
    record = {r.unit.unit_id: r for r in _records(session, programme)}["U001"]
    assert (record.adopted_on, record.fidelity, record.stopped_on) == (
        dt.date(2025, 2, 1), Fidelity.FULL, dt.date(2026, 1, 31))
    assert record.fidelity_score == 60  # the file had no fidelity_score column: kept
    assert _count_records(session) == 3


def test_one_adoption_by_hand(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=2)
    record = adoption.record_adoption(session, programme=programme, today=TODAY, data=AdoptionIn(
        unit_id="U001", adopted_on=dt.date(2025, 5, 1), fidelity_score=55, source="Visit"))
    assert record.fidelity == Fidelity.PARTIAL
    again = adoption.record_adoption(session, programme=programme, today=TODAY, data=AdoptionIn(
        unit_id="U001", adopted_on=dt.date(2025, 5, 1), fidelity=Fidelity.FULL,
        stopped_on=dt.date(2026, 1, 1)))
    assert again.id == record.id
    assert again.stopped_on == dt.date(2026, 1, 1)
    with pytest.raises(ValidationFailed) as caught:
        adoption.record_adoption(session, programme=programme, today=TODAY, data=AdoptionIn(
            unit_id="U404", adopted_on=dt.date(2027, 1, 1), fidelity=Fidelity.FULL))
    assert {e.field for e in caught.value.errors} == {"unit_id", "adopted_on"}
    with pytest.raises(ValueError, match="cannot stop before"):
        AdoptionIn(unit_id="U001", adopted_on=dt.date(2025, 5, 1), fidelity=Fidelity.FULL,
                   stopped_on=dt.date(2025, 4, 1))
    with pytest.raises(ValueError, match="Give the fidelity"):
        AdoptionIn(unit_id="U001", adopted_on=dt.date(2025, 5, 1))


@pytest.mark.parametrize(("score", "level"), [(100, Fidelity.FULL), (80, Fidelity.FULL),
                                              (79, Fidelity.PARTIAL), (50, Fidelity.PARTIAL),
                                              (49, Fidelity.MINIMAL), (0, Fidelity.MINIMAL)])
def test_a_score_gives_the_level(score: int, level: Fidelity) -> None:
    assert adoption.fidelity_level(None, score) == level
    assert adoption.fidelity_level(Fidelity.MINIMAL, score) == Fidelity.MINIMAL


# The summary -------------------------------------------------------------------------------

def test_the_summary_recomputed_from_the_records(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=60)
    adoption.import_adoptions(session, programme=programme, rows=record_rows(60),
                              today=TODAY)
    records = _records(session, programme)
    assert any(r.stopped_on for r in records)
    s = adoption.summary(session, programme, as_of=TODAY)

    def adopting(r: AdoptionRecord, day: dt.date) -> bool:
        return r.adopted_on <= day and (r.stopped_on is None or r.stopped_on > day)

    start = min([OFFERED, *(r.adopted_on for r in records)])
    assert [p.on for p in s.curve] == _month_ends(start, TODAY)
    for p in s.curve:
        expected = sum(adopting(r, p.on) for r in records)
        full = sum(adopting(r, p.on) and r.fidelity == Fidelity.FULL for r in records)
        assert (p.adopting, p.full_fidelity) == (expected, full), p.month
        assert p.share == pytest.approx(expected / 60)
        assert p.full_fidelity_share == pytest.approx(full / 60)
        assert p.month == p.on.strftime("%Y-%m")
    active = [r for r in records if adopting(r, TODAY)]
    assert s.eligible == 60
    assert s.adopting == len(active) == s.curve[-1].adopting
    assert s.share == pytest.approx(len(active) / 60)
    assert s.stopped == sum(r.stopped_on is not None and r.stopped_on <= TODAY for r in records)
    assert s.never_adopted == 60 - len(records)
    assert s.fidelity == {level: sum(r.fidelity == level for r in active) for level in Fidelity}
    waits = [(r.adopted_on - OFFERED).days for r in records]
    assert s.median_months_to_adopt == pytest.approx(statistics.median(waits) / (365.25 / 12))
    by_area = {a.area: a for a in s.areas}
    for area in {u.area for u in adoption.units(session, programme)}:
        members = [u for u in adoption.units(session, programme) if u.area == area]
        assert by_area[area].eligible == len(members)
        assert by_area[area].adopting == sum(
            u.record is not None and adopting(u.record, TODAY) for u in members)
    assert sum(a.eligible for a in s.areas) == 60
    non = {n.unit.unit_id for n in s.non_adopters}
    assert non == {u.unit_id for u in adoption.units(session, programme)
                   if u.record is None or not adopting(u.record, TODAY)}
    assert len(non) == 60 - s.adopting


def test_no_units_or_no_adoptions_give_an_empty_curve(session: Session,
                                                      mission: Mission) -> None:
    empty = adoption.summary(session, new_programme(session, mission, slug="empty"),
                             as_of=TODAY)
    assert (empty.curve, empty.share, empty.median_months_to_adopt) == ([], None, None)
    assert not empty.projection.fitted
    assert "No projection" in empty.projection.note
    quiet = adoption.summary(session, new_programme(session, mission, slug="quiet", units=4),
                             as_of=TODAY)
    assert all(p.adopting == 0 for p in quiet.curve)
    assert len(quiet.non_adopters) == 4
    assert not quiet.projection.fitted


def _logistic_records(n: int, *, ceiling: float, rate: float, midpoint: float,
                      months: int) -> list[dict[str, str]]:
    """Units adopting so that the share at each month's end follows the logistic curve."""
    rows = []
    adopted = 0
    day = OFFERED
    for k in range(months):
        month_end = _month_ends(day, dt.date(2100, 1, 1))[0]
        target = round(n * float(logistic(k, ceiling, rate, midpoint)))
        while adopted < target:
            rows.append({"unit_id": f"U{adopted:03d}", "adopted_on": month_end.isoformat(),
                         "fidelity": "full"})
            adopted += 1
        day = month_end + dt.timedelta(days=1)
    return rows


def test_the_projection_on_an_s_shaped_uptake(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=400, target_percent=85,
                              target_on=dt.date(2026, 1, 1))
    adoption.import_adoptions(session, programme=programme, today=TODAY,
                              rows=_logistic_records(400, ceiling=0.9, rate=0.3,
                                                     midpoint=16, months=23))
    s = adoption.summary(session, programme, as_of=TODAY)
    fit = s.projection.fit
    assert isinstance(fit, LogisticFit)
    assert fit.ceiling == pytest.approx(0.9, abs=0.02)
    assert fit.rate == pytest.approx(0.3, rel=0.1)
    start = s.curve[0].on
    when = fit.time_to_reach(0.85)
    assert when is not None
    assert s.projection.target_reached_on == start + dt.timedelta(
        days=round(when * 365.25 / 12))
    assert s.share is not None
    assert s.share < 0.85 < fit.ceiling
    assert s.projection.note.startswith("Projection, not a forecast")
    assert "after the target date" in s.projection.note
    assert s.projection.path[0][0] == start
    assert all(0 <= share <= 1 for _, share in s.projection.path)
    assert s.projection.path[-1][0] >= s.projection.target_reached_on


def test_the_projection_says_when_it_is_too_early(session: Session, mission: Mission) -> None:
    programme = new_programme(session, mission, units=20, offered_on=dt.date(2026, 3, 1),
                              target_on=None)
    adoption.import_adoptions(session, programme=programme, today=TODAY, rows=[
        {"unit_id": "U000", "adopted_on": "2026-04-01", "fidelity": "full"},
        {"unit_id": "U001", "adopted_on": "2026-05-01", "fidelity": "full"}])
    s = adoption.summary(session, programme, as_of=TODAY)
    assert len(s.curve) == 4
    assert not s.projection.fitted
    assert s.projection.reason == "there are 4 points; a curve needs at least 6"


def test_the_download_has_every_unit_with_its_status(session: Session,
                                                     mission: Mission) -> None:
    programme = new_programme(session, mission, units=3)
    adoption.import_adoptions(session, programme=programme, today=TODAY, rows=[
        {"unit_id": "U000", "adopted_on": "2025-01-10", "fidelity": "full"},
        {"unit_id": "U001", "adopted_on": "2025-01-10", "fidelity": "partial",
         "stopped_on": "2025-06-01", "fidelity_score": "55"}])
    session.expire_all()
    rows = adoption.adoption_rows(session, programme, as_of=TODAY)
    assert rows[0][:5] == ["unit_id", "name", "area", "group", "status"]
    assert [(r[0], r[4]) for r in rows[1:]] == [("U000", "adopting"), ("U001", "stopped"),
                                                ("U002", "not_adopted")]
    assert rows[2][6:9] == ["partial", "55", "2025-06-01"]
    assert len(rows) == 4
