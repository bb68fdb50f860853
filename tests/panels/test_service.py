"""The panels service on both backends: imports all or nothing, the invitation lottery,
registration rules, the committed draw, replacements that restore the quotas, recommendations
and the deletion of personal data."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from missionboard.db.base import Base
from missionboard.errors import Conflict, ValidationFailed
from missionboard.missions.models import Mission
from missionboard.panels import published, selection, service
from missionboard.panels.models import (
    Invitation,
    InvitationRound,
    Panel,
    PanelAddress,
    PanelStage,
    RunKind,
    SeedSource,
    SelectionRun,
    Volunteer,
    VolunteerStatus,
)
from missionboard.panels.schemas import CommitIn, RecommendationIn, ResponseIn
from tests import factories
from tests.panels import builders


@pytest.fixture
def mission(session: Session) -> Mission:
    return factories.mission(session, "health")


def _meets(panel_quotas: list[tuple[str, str, int, int]], people: list[Volunteer]) -> bool:
    counts = Counter((f, p.answers[f]) for p in people for f in p.answers)
    return all(lo <= counts[(f, v)] <= hi for f, v, lo, hi in panel_quotas)


def _commit(session: Session, panel: Panel, seed: int) -> SelectionRun:
    """Commit to a known seed (the organisers hold it), so that the test's draws are fixed."""
    return selection.commit(session, panel=panel, data=CommitIn(
        seed_source=SeedSource.ORGANISER, commitment=published.seed_commitment(seed)))


def _draw(session: Session, panel: Panel, seed: int) -> SelectionRun:
    return selection.draw(session, panel=panel, seed_text=str(seed), legacy_runs=0)


def _with_twins(people: list[Volunteer], selected: list[str], n: int) -> list[str]:
    """``n`` of the selected whose answers someone not selected shares (a different one each):
    their replacement is then always possible, whatever the draw."""
    spare = [p for p in people if p.pseudonym not in selected]
    chosen = []
    for person in sorted((p for p in people if p.pseudonym in selected),
                         key=lambda p: p.pseudonym):
        twin = next((t for t in spare if t.answers == person.answers), None)
        if twin is not None and len(chosen) < n:
            chosen.append(person.pseudonym)
            spare.remove(twin)
    assert len(chosen) == n
    return chosen


def _quotas(panel: object) -> list[tuple[str, str, int, int]]:
    return [(f.name, v.value, v.min, v.max) for f in panel.features  # type: ignore[attr-defined]
            for v in f.values]


# Targets -----------------------------------------------------------------------------------

def test_targets_are_the_floor_and_ceiling_of_share_times_size() -> None:
    assert service.default_bounds(0.3, 8) == (2, 3)
    assert service.default_bounds(0.25, 40) == (10, 10)
    assert service.default_bounds(0.0, 30) == (0, 0)


def test_census_import_sets_features_and_targets(session: Session, mission: Mission) -> None:
    panel = builders.new_panel(session, mission, size=8)
    service.import_shares(session, panel=panel, rows=[
        *builders.share_rows(), {"feature": "tenure", "value": "own", "share": "64%"},
        {"feature": "tenure", "value": "rent", "share": "36%"}])
    assert [f.name for f in panel.features] == ["age", "gender", "region", "tenure"]
    tenure = panel.features[3]
    assert [(v.value, v.share, v.min, v.max) for v in tenure.values] == [
        ("own", pytest.approx(0.64), 5, 6), ("rent", pytest.approx(0.36), 2, 3)]


def test_census_import_is_all_or_nothing_naming_rows_and_columns(
        session: Session, mission: Mission) -> None:
    panel = builders.new_panel(session, mission)
    rows = builders.share_rows()
    rows[2] = {**rows[2], "share": "lots"}
    rows.append({"feature": "gender", "value": "woman", "share": "0.1"})
    with pytest.raises(ValidationFailed) as caught:
        service.import_shares(session, panel=panel, rows=rows)
    assert [(e.row, e.field) for e in caught.value.errors] == [(4, "share")]
    rows[2] = {**rows[2], "share": "0.3"}
    with pytest.raises(ValidationFailed) as caught:
        service.import_shares(session, panel=panel, rows=rows)
    found = {(e.row, e.field) for e in caught.value.errors}
    assert (len(rows) + 1, "value") in found  # the repeated gender=woman, on its own row
    assert any("add up to" in e.message for e in caught.value.errors)
    assert panel.features == []


def test_quotas_are_checked_before_anything_changes(session: Session, mission: Mission) -> None:
    panel = builders.new_panel(session, mission, size=8)
    service.import_shares(session, panel=panel, rows=builders.share_rows())
    age = panel.features[0]
    before = [(v.min, v.max) for v in age.values]
    too_many = {v.id: ("4", "5") for v in age.values}
    with pytest.raises(ValidationFailed) as caught:
        service.set_quotas(session, panel=panel, bounds=too_many)
    assert "add up to 12" in caught.value.errors[0].message
    assert [(v.min, v.max) for v in age.values] == before
    with pytest.raises(ValidationFailed) as caught:
        service.set_quotas(session, panel=panel, bounds={age.values[0].id: ("3", "x")})
    assert caught.value.errors[0].field == f"max-{age.values[0].id}"
    service.set_quotas(session, panel=panel, bounds={age.values[0].id: ("1", "4")})
    assert (age.values[0].min, age.values[0].max) == (1, 4)


# Addresses and invitations -----------------------------------------------------------------

def test_address_import_is_all_or_nothing_naming_rows_and_columns(
        session: Session, mission: Mission) -> None:
    panel = builders.new_panel(session, mission)
    rows = builders.address_rows(5)
    rows[2] = {**rows[2], "postcode": "NOT A CODE"}
    rows[4] = {**rows[4], "reference": rows[0]["reference"], "line1": ""}
    with pytest.raises(ValidationFailed) as caught:
        service.import_addresses(session, panel=panel, rows=rows)
    assert {(e.row, e.field) for e in caught.value.errors} == {
        (4, "postcode"), (6, "line1"), (6, "reference")}
    assert service.count_addresses(session, panel)["addresses"] == 0
    with pytest.raises(ValidationFailed) as caught:
        service.import_addresses(session, panel=panel, rows=[{"reference": "x", "line1": "y"}])
    assert [(e.row, e.field) for e in caught.value.errors] == [(1, "postcode")]
    assert service.import_addresses(session, panel=panel, rows=builders.address_rows(5)) == 5


def test_invitations_are_a_seeded_lottery_with_unique_codes(
        session: Session, mission: Mission) -> None:
    picks = []
    for slug in ("first", "second"):
        panel = builders.new_panel(session, mission, slug=slug)
        service.import_addresses(session, panel=panel, rows=builders.address_rows(50))
        round_ = service.draw_invitations(session, panel=panel, count=20, seed=99)
        assert (round_.number, round_.seed, round_.from_addresses) == (1, 99, 50)
        chosen = session.scalars(select(PanelAddress.reference).join(
            Invitation, Invitation.address_id == PanelAddress.id).where(
            Invitation.panel_id == panel.id)).all()
        picks.append(sorted(chosen))
    assert picks[0] == picks[1]  # the same list and seed draw the same addresses
    codes = session.scalars(select(Invitation.code)).all()
    assert len(codes) == len(set(codes)) == 40
    with pytest.raises(ValidationFailed):
        service.draw_invitations(session, panel=panel, count=31)
    again = service.draw_invitations(session, panel=panel, count=30)
    assert again.number == 2
    assert service.count_addresses(session, panel) == {"addresses": 50, "invited": 50}


def test_invitations_by_stratum_are_proportional(session: Session, mission: Mission) -> None:
    panel = builders.new_panel(session, mission)
    rows = [{**r, "stratum": "north" if i < 75 else "south"}
            for i, r in enumerate(builders.address_rows(100))]
    service.import_addresses(session, panel=panel, rows=rows)
    service.draw_invitations(session, panel=panel, count=20, by_stratum=True, seed=5)
    strata = Counter(session.scalars(select(PanelAddress.stratum).join(
        Invitation, Invitation.address_id == PanelAddress.id)).all())
    assert strata == {"north": 15, "south": 5}
    assert service.allocate({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}


# Registration ------------------------------------------------------------------------------

def test_registration_rules(session: Session, mission: Mission) -> None:
    panel = builders.recruiting(session, mission)
    code = builders.codes(session, panel)[0]
    rng = random.Random(0)
    with pytest.raises(ValidationFailed) as caught:
        service.register(session, panel=panel, values={"code": "NOPE1234"})
    fields = {e.field for e in caught.value.errors}
    assert fields == {"code", "name", "email", "consent", "answer-age", "answer-gender",
                      "answer-region"}
    with pytest.raises(ValidationFailed) as caught:
        service.register(session, panel=panel, values=builders.registration(
            code, rng, email="not-an-email", phone="12", **{"answer-age": "99+"}))
    assert {e.field for e in caught.value.errors} == {"email", "phone", "answer-age"}
    volunteer = service.register(session, panel=panel, values=builders.registration(
        f" {code.lower()[:4]}-{code.lower()[4:]} ", rng))
    assert volunteer.pseudonym.startswith("V")
    assert volunteer.status == VolunteerStatus.REGISTERED
    assert set(volunteer.answers) == {"age", "gender", "region"}
    with pytest.raises(ValidationFailed) as caught:  # one per household
        service.register(session, panel=panel, values=builders.registration(code, rng))
    assert "already registered" in caught.value.errors[0].message
    service.set_stage(session, panel=panel, stage=PanelStage.CLOSED)
    with pytest.raises(Conflict):
        service.register(session, panel=panel,
                         values=builders.registration(builders.codes(session, panel)[1], rng))


def test_without_the_household_rule_several_people_share_an_invitation(
        session: Session, mission: Mission) -> None:
    panel = builders.recruiting(session, mission, household_rule=False)
    code = builders.codes(session, panel)[0]
    rng = random.Random(1)
    for _ in range(service.MAX_PER_INVITATION):
        service.register(session, panel=panel, values=builders.registration(code, rng))
    with pytest.raises(ValidationFailed):
        service.register(session, panel=panel, values=builders.registration(code, rng))


def test_features_are_fixed_once_registration_opens(session: Session, mission: Mission) -> None:
    panel = builders.recruiting(session, mission)
    with pytest.raises(Conflict):
        service.import_shares(session, panel=panel, rows=builders.share_rows())
    with pytest.raises(Conflict):  # a draft panel needs features before it opens
        service.set_stage(session, panel=builders.new_panel(session, mission, slug="other"),
                          stage=PanelStage.RECRUITING)


# The committed draw ------------------------------------------------------------------------

def test_the_draw_needs_registration_closed(session: Session, mission: Mission) -> None:
    panel = builders.recruiting(session, mission)
    with pytest.raises(Conflict, match="Close registration"):
        selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))


def test_an_app_held_seed_is_committed_then_revealed(session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission)
    run = selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    assert run.seed is None
    assert run.held_seed is not None
    assert run.commitment_sha256 == published.seed_commitment(int(run.held_seed))
    assert "Ada" not in run.people_csv
    assert "ada@example.org" not in run.people_csv
    assert run.people_csv.splitlines()[0] == "id,age,gender,region,household"
    assert len(run.people_csv.splitlines()) == 41
    with pytest.raises(Conflict):  # one commitment at a time
        selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    drawn = selection.draw(session, panel=panel, legacy_runs=50)
    assert drawn.seed is not None
    assert drawn.held_seed is None
    assert published.seed_commitment(int(drawn.seed)) == drawn.commitment_sha256
    assert len(drawn.selected) == panel.size
    members = service.members(session, panel)
    assert sorted(m.pseudonym for m in members) == drawn.selected
    assert _meets(_quotas(panel), members)
    assert drawn.min_probability is not None
    assert drawn.min_probability > 0
    assert drawn.legacy_min_probability is not None
    assert sum(drawn.probabilities.values()) == pytest.approx(panel.size, abs=1e-6)
    assert panel.stage == PanelStage.SELECTED
    statuses = Counter(v.status for v in builders.pool(session, panel))
    assert statuses == {VolunteerStatus.SELECTED: 8, VolunteerStatus.RESERVE: 32}


def test_an_organisers_seed_must_match_its_commitment(session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission)
    seed = 271828182845
    selection.commit(session, panel=panel, data=CommitIn(
        seed_source=SeedSource.ORGANISER, commitment=published.seed_commitment(seed).upper(),
        seed_description="Dice at the town hall"))
    for wrong in ("271828182846", "e", ""):
        with pytest.raises(ValidationFailed) as caught:
            selection.draw(session, panel=panel, seed_text=wrong, legacy_runs=0)
        assert caught.value.errors[0].field == "seed"
    assert service.members(session, panel) == []
    run = selection.draw(session, panel=panel, seed_text=f" {seed} ", legacy_runs=0)
    assert run.seed == str(seed)
    assert run.seed_description == "Dice at the town hall"
    expected = selection.select_from_published(
        run.people_csv.encode(), run.features_csv.encode(), k=8, household_rule=True,
        seed=seed, legacy_runs=0)
    assert list(expected.selected) == run.selected
    assert expected.inputs_sha256 == run.inputs_sha256


def test_an_abandoned_commitment_is_kept_with_its_reason(
        session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission)
    first = selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    with pytest.raises(ValidationFailed):
        selection.abandon(session, panel=panel, reason=" ")
    selection.abandon(session, panel=panel, reason="The ceremony was postponed")
    assert first.abandoned_reason == "The ceremony was postponed"
    assert first.seed is not None  # revealed: anyone can see what it would have drawn
    second = selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    assert (second.number, second.kind) == (2, RunKind.INITIAL)


# Replacements ------------------------------------------------------------------------------

def test_replacements_restore_the_quotas(session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission, volunteers=50, size=10, seed=8)
    _commit(session, panel, 101)
    initial = _draw(session, panel, 101)
    leaving = _with_twins(builders.pool(session, panel), initial.selected, 3)
    for pseudonym in leaving:
        service.withdraw(session, panel=panel, pseudonym=pseudonym)
    with pytest.raises(Conflict):
        service.withdraw(session, panel=panel, pseudonym=leaving[0])
    run = _commit(session, panel, 102)
    assert run.kind == RunKind.REPLACEMENT
    assert run.k == 3
    assert run.replaced == sorted(leaving)
    assert len(run.kept) == 7
    kept = [v for v in builders.pool(session, panel) if v.pseudonym in run.kept]
    counts = Counter((f, v.answers[f]) for v in kept for f in v.answers)
    for q in run.quotas:  # every quota shifted by the continuing members, floored at 0
        original = next(v for f in panel.features if f.name == q["feature"]
                        for v in f.values if v.value == q["value"])
        assert q["min"] == max(0, original.min - counts[(q["feature"], q["value"])])
        assert q["max"] == max(0, original.max - counts[(q["feature"], q["value"])])
    pool_ids = {line.split(",")[0] for line in run.people_csv.splitlines()[1:]}
    assert not pool_ids & (set(initial.selected) | set(leaving))
    drawn = _draw(session, panel, 102)
    members = service.members(session, panel)
    assert len(members) == 10
    assert _meets(_quotas(panel), members)
    replacements = [m for m in members if m.status == VolunteerStatus.REPLACEMENT]
    assert sorted(m.pseudonym for m in replacements) == drawn.selected
    with pytest.raises(Conflict, match="full"):
        selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))


def test_quotas_that_cannot_be_restored_are_named(session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission, volunteers=40, seed=4)
    selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    selection.draw(session, panel=panel, legacy_runs=0)
    age = panel.features[0].values[2]
    assert (age.value, age.min) == ("60+", 2)
    for v in builders.pool(session, panel):  # every older member leaves, and no one older
        if v.answers["age"] == "60+":        # is left in the reserve to replace them
            service.withdraw(session, panel=panel, pseudonym=v.pseudonym)
    with pytest.raises(ValidationFailed) as caught:
        selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    assert caught.value.errors[0].field == "quotas"
    assert "age=60+" in caught.value.errors[0].message
    assert selection.pending_run(session, panel) is None


# Recommendations ---------------------------------------------------------------------------

def test_recommendations_responses_and_overdue(session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission)
    with pytest.raises(Conflict):
        service.add_recommendation(session, panel=panel, data=RecommendationIn(
            title="Too early", text="Not selected yet", made_on=dt.date(2026, 1, 1)))
    selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    selection.draw(session, panel=panel, legacy_runs=0)
    first, second, third = (service.add_recommendation(session, panel=panel, data=RecommendationIn(
        title=f"Recommendation {i}", text="Do it", made_on=dt.date(2026, 3, 1),
        response_due=dt.date(2026, 6, 1))) for i in range(3))
    assert [r.number for r in (first, second, third)] == [1, 2, 3]
    service.respond(session, recommendation=first, data=ResponseIn(
        status="accepted", text="We will", published_on=dt.date(2026, 5, 1)))
    service.respond(session, recommendation=second, data=ResponseIn(
        status="not_accepted", text="Draft: not yet published"))
    with pytest.raises(ValidationFailed):
        service.respond(session, recommendation=third, data=ResponseIn(
            status="accepted", text="Too soon", published_on=dt.date(2026, 2, 1)))
    items = service.recommendations(session, panel)
    assert service.response_counts(items, today=dt.date(2026, 5, 15))["overdue"] == 0
    counts = service.response_counts(items, today=dt.date(2026, 7, 1))
    assert (counts["accepted"], counts["awaiting"], counts["overdue"]) == (1, 2, 2)
    service.respond(session, recommendation=third, data=ResponseIn(
        status="under_consideration", text="Still thinking", published_on=dt.date(2026, 5, 2)))
    assert not third.is_overdue(dt.date(2026, 5, 15))
    assert third.is_overdue(dt.date(2026, 7, 1))  # "under consideration" is not an answer
    service.set_stage(session, panel=panel, stage=PanelStage.REPORTED)
    assert panel.stage == PanelStage.REPORTED


# Personal data -----------------------------------------------------------------------------

PERSONAL = ("Ada Volunteer", "ada@example.org", "01632 960001", "Station Road", "LS1 1AB")


def _everything(session: Session) -> str:
    """Every value in every table, as text."""
    session.flush()
    out = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


def test_purge_leaves_no_personal_value_anywhere(session: Session, mission: Mission) -> None:
    session.info["actor_id"], session.info["ip"] = None, "192.0.2.1"
    panel = builders.with_pool(session, mission, volunteers=20)
    selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    run = selection.draw(session, panel=panel, legacy_runs=0)
    service.withdraw(session, panel=panel, pseudonym=run.selected[0])
    before = _everything(session)
    assert all(p in before for p in PERSONAL)
    other = builders.with_pool(session, mission, volunteers=5, slug="later", size=4)
    other.retention_until = dt.date(2030, 1, 1)
    assert service.purge_due(session, today=dt.date(2027, 6, 30)) == []
    done = service.purge_due(session, today=dt.date(2027, 7, 1))
    assert [(d.panel, d.volunteers, d.addresses) for d in done] == [("health-panel", 20, 80)]
    assert panel.personal_data_deleted_at is not None
    rows = session.execute(select(Volunteer.name, Volunteer.email, Volunteer.phone).where(
        Volunteer.panel_id == panel.id)).all()
    assert rows
    assert all(r == ("", "", "") for r in rows)
    lines = session.execute(select(PanelAddress.line1, PanelAddress.postcode).where(
        PanelAddress.panel_id == panel.id)).all()
    assert lines
    assert all(r == ("", "") for r in lines)
    kept = session.scalar(select(func.count()).select_from(Volunteer).where(
        Volunteer.panel_id == other.id, Volunteer.name == "Ada Volunteer"))
    assert kept == 5  # the other panel keeps its data until its own date
    service.purge_personal_data(session, panel=other)
    after = _everything(session)
    for value in PERSONAL:
        assert value not in after, value
    assert run.people_csv in after  # the published draw is still checkable
    assert session.scalar(select(func.count()).select_from(InvitationRound)) == 2
    assert session.execute(text("select 1")).scalar() == 1


def test_a_volunteer_who_leaves_after_the_commitment_stays_out(
        session: Session, mission: Mission) -> None:
    panel = builders.with_pool(session, mission, volunteers=40, size=4)
    run = _commit(session, panel, 201)
    expected = selection.select_from_published(
        run.people_csv.encode(), run.features_csv.encode(), k=4, household_rule=True,
        seed=201, legacy_runs=0)
    (leaving,) = _with_twins(builders.pool(session, panel), list(expected.selected), 1)
    service.withdraw(session, panel=panel, pseudonym=leaving)
    drawn = _draw(session, panel, 201)
    assert leaving in drawn.selected  # the draw is what the published inputs give
    assert len(service.members(session, panel)) == 3
    assert selection.to_replace(session, panel) == [leaving]
    replacement = _commit(session, panel, 202)
    assert (replacement.k, replacement.replaced) == (1, [leaving])
    _draw(session, panel, 202)
    assert len(service.members(session, panel)) == 4
    assert selection.to_replace(session, panel) == []
