"""The trials service on both backends: the register and its status rules, the analysis
plan's lock and amendments, the units import (all or nothing), the seed commitment, and
outcome data refused before the plan is locked."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.delivery import service as delivery
from missionboard.delivery.schemas import InterventionIn
from missionboard.errors import Conflict, DomainError, ValidationFailed
from missionboard.missions.models import Mission
from missionboard.panels import published
from missionboard.panels.models import SeedSource
from missionboard.trials import service
from missionboard.trials.models import (
    AnalysisPlan,
    OutcomeLoad,
    TrialAllocation,
    TrialStatus,
    TrialUnit,
    UnitKind,
)
from missionboard.trials.schemas import AllocationIn, TrialIn
from tests import factories
from tests.trials import builders


@pytest.fixture
def mission(session: Session) -> Mission:
    return factories.mission(session, "opportunity")


# The register ------------------------------------------------------------------------------

def test_a_draft_is_not_public_until_registered(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    assert trial.status == TrialStatus.DRAFT
    assert not trial.is_public
    assert [a.key for a in trial.arms] == ["control", "tutoring"]
    assert trial.ratio == {"control": 1, "tutoring": 1}
    service.set_status(session, trial=trial, status=TrialStatus.REGISTERED)
    assert trial.is_public
    assert trial.registered_at is not None


def test_a_trial_of_a_draft_mission_is_not_public(session: Session) -> None:
    draft = factories.mission(session, "draft", published=False)
    trial = builders.new_trial(session, draft, status=TrialStatus.REGISTERED)
    assert not trial.is_public


def test_short_names_are_unique(session: Session, mission: Mission) -> None:
    builders.new_trial(session, mission)
    with pytest.raises(ValidationFailed) as caught:
        builders.new_trial(session, mission)
    assert caught.value.errors[0].field == "slug"


def test_a_cluster_trial_says_what_a_cluster_is() -> None:
    with pytest.raises(ValueError, match="what a cluster is"):
        builders.trial_data(cluster_kind=" ")
    individual = builders.trial_data(unit_kind="individual", cluster_kind="")
    assert individual.unit_kind == UnitKind.INDIVIDUAL


def test_a_trial_needs_a_primary_outcome_and_distinct_arms() -> None:
    with pytest.raises(ValueError, match="primary outcome"):
        builders.trial_data(outcomes=[{"key": "maths", "title": "Maths", "role": "secondary"}])
    with pytest.raises(ValueError, match="own key"):
        builders.trial_data(arms=[{"key": "a", "label": "A"}, {"key": "a", "label": "B"}])


def test_the_intervention_must_be_the_missions(session: Session, mission: Mission) -> None:
    other = factories.mission(session, "other")
    elsewhere = delivery.save_intervention(session, mission=other, data=InterventionIn(
        slug="elsewhere", title="Elsewhere", start=dt.date(2025, 1, 1),
        evidence_kind="pilot_trial", evidence_strength="moderate"))
    with pytest.raises(ValidationFailed) as caught:
        builders.new_trial(session, mission, intervention_id=elsewhere.id)
    assert caught.value.errors[0].field == "intervention_id"
    own = delivery.save_intervention(session, mission=mission, data=InterventionIn(
        slug="tutoring", title="National tutoring", start=dt.date(2025, 1, 1),
        evidence_kind="pilot_trial", evidence_strength="moderate"))
    trial = builders.new_trial(session, mission, slug="attached", intervention_id=own.id)
    assert trial.intervention is own


def test_a_draft_can_change_its_arms(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    service.update_trial(session, trial=trial, data=builders.trial_data(arms=[
        {"key": "control", "label": "Usual teaching", "ratio": 2},
        {"key": "tutoring", "label": "Tutoring", "ratio": 1},
        {"key": "online", "label": "Online tutoring", "ratio": 1}]))
    assert trial.ratio == {"control": 2, "tutoring": 1, "online": 1}


def test_a_registered_trial_keeps_its_arms_outcomes_and_design(session: Session,
                                                               mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    changed = builders.trial_data(
        arms=[{"key": "control", "label": "Usual teaching", "ratio": 2},
              {"key": "tutoring", "label": "Small-group tutoring", "ratio": 1}],
        outcomes=[{"key": "maths", "title": "Maths", "role": "primary"}],
        design="stepped_wedge")
    with pytest.raises(ValidationFailed) as caught:
        service.update_trial(session, trial=trial, data=changed)
    assert {e.field for e in caught.value.errors} == {"arms", "outcomes", "design"}
    service.update_trial(session, trial=trial, data=builders.trial_data(
        end_on=dt.date(2027, 7, 22), ethics="Re-approved"))
    assert trial.end_on == dt.date(2027, 7, 22)
    assert trial.ratio == {"control": 1, "tutoring": 1}


def test_status_moves(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    with pytest.raises(Conflict):
        service.set_status(session, trial=trial, status=TrialStatus.RECRUITING)
    service.set_status(session, trial=trial, status=TrialStatus.REGISTERED)
    with pytest.raises(Conflict):
        service.set_status(session, trial=trial, status=TrialStatus.DRAFT)
    with pytest.raises(ValidationFailed) as caught:
        service.set_status(session, trial=trial, status=TrialStatus.STOPPED, reason=" ")
    assert caught.value.errors[0].field == "reason"
    service.set_status(session, trial=trial, status=TrialStatus.STOPPED,
                       reason="Funding withdrawn")
    assert trial.status_reason == "Funding withdrawn"
    with pytest.raises(Conflict):
        service.set_status(session, trial=trial, status=TrialStatus.RECRUITING)


def test_the_registration_record(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    record = service.registration_record(session, trial, base_url="https://example.org")
    assert record.url == "https://example.org/trials/tutoring"
    assert record.public_title == trial.title
    assert record.sponsor == "Department for Education"
    assert record.unit_of_randomisation == "cluster (school)"
    assert record.allocation_ratio == "1 : 1"
    assert record.primary_outcomes == ["KS2 maths scaled score"]
    assert record.secondary_outcomes == ["KS2 reading scaled score"]
    assert record.target_sample_size == 2400
    assert record.recruitment_status == TrialStatus.REGISTERED
    assert record.analysis_plan_sha256 is None
    header, row = service.registration_rows([record])
    assert row[header.index("primary_outcomes")] == "KS2 maths scaled score"
    assert row[header.index("analysis_plan_sha256")] == ""


# The analysis plan -------------------------------------------------------------------------

def test_the_plan_is_drafted_then_locked_with_its_hash(session: Session,
                                                       mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    first = service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    again = service.save_plan_draft(session, trial=trial,
                                    data=builders.plan_data(multiple_testing="bh"))
    assert again.id == first.id
    assert again.version == 1
    assert again.locked_at is None
    assert service.locked_plan(session, trial) is None
    locked = service.lock_plan(session, trial=trial)
    assert locked.locked_at is not None
    assert locked.canonical == json.dumps(locked.content, sort_keys=True, separators=(",", ":"))
    assert locked.sha256 == hashlib.sha256(locked.canonical.encode()).hexdigest()
    assert json.loads(locked.canonical)["multiple_testing"] == "bh"
    assert service.locked_plan(session, trial) is locked


def test_a_locked_plan_is_changed_only_by_an_amendment_with_a_reason(
        session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    with pytest.raises(Conflict):
        service.lock_plan(session, trial=trial)
    with pytest.raises(Conflict):
        service.amend_plan(session, trial=trial, data=builders.plan_data(), reason="Early")
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    first = service.lock_plan(session, trial=trial)
    with pytest.raises(Conflict):
        service.lock_plan(session, trial=trial)
    with pytest.raises(Conflict):
        service.save_plan_draft(session, trial=trial, data=builders.plan_data(alpha=0.01))
    with pytest.raises(ValidationFailed) as caught:
        service.amend_plan(session, trial=trial, data=builders.plan_data(alpha=0.01),
                           reason="  ")
    assert [e.field for e in caught.value.errors] == ["reason"]
    with pytest.raises(ValidationFailed) as caught:
        service.amend_plan(session, trial=trial, data=builders.plan_data(), reason="Nothing")
    assert [e.field for e in caught.value.errors] == ["plan"]
    amended = service.amend_plan(session, trial=trial, data=builders.plan_data(
        covariates=["prior", "attendance"]), reason="Attendance data became available")
    assert amended.version == 2
    assert amended.locked_at is not None
    assert amended.sha256 != first.sha256
    assert amended.reason == "Attendance data became available"
    assert [p.version for p in service.plans(session, trial)] == [1, 2]
    assert service.plan_changes(first.content, amended.content) == ["covariates"]
    assert first.content["covariates"] == ["prior"]  # the earlier version is kept as it was


def test_the_plan_names_only_registered_outcomes(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    with pytest.raises(ValidationFailed, match="Not an outcome"):
        service.save_plan_draft(session, trial=trial, data=builders.plan_data(
            outcomes=[{"key": "science", "role": "primary"}]))
    with pytest.raises(ValueError, match="ANCOVA needs at least one covariate"):
        builders.plan_data(model="ancova", covariates=[])


def test_outcome_data_waits_for_the_locked_plan(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.RECRUITING)
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    rows = [{"unit_id": "P0000", "outcome": "maths", "value": "104"}]
    with pytest.raises(DomainError, match="Lock the analysis plan"):
        service.load_outcomes(session, trial=trial, rows=rows)
    assert session.scalar(select(func.count()).select_from(OutcomeLoad)) == 0


# Units -------------------------------------------------------------------------------------

def test_units_are_imported_with_their_clusters_strata_and_covariates(
        session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    assert service.import_units(session, trial=trial, rows=builders.unit_rows(2, 2)) == 4
    first = service.units(session, trial)[0]
    assert (first.unit_id, first.cluster) == ("P0000", "S00")
    assert first.strata == {"fsm": "yes"}
    assert first.covariates == {"prior": 95.0}
    assert first.arm is None


def test_the_units_import_is_all_or_nothing(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    rows = builders.unit_rows(2, 2)
    rows[1] = {**rows[1], "covariate_prior": "high"}
    rows[2] = {**rows[2], "unit_id": rows[0]["unit_id"]}
    rows[3] = {**rows[3], "cluster": ""}
    with pytest.raises(ValidationFailed) as caught:
        service.import_units(session, trial=trial, rows=rows)
    assert [(e.row, e.field) for e in caught.value.errors] == [
        (3, "covariate_prior"), (4, "unit_id"), (5, "cluster")]
    assert service.count_units(session, trial) == 0


def test_the_units_file_names_its_columns(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    with pytest.raises(ValidationFailed) as caught:
        service.import_units(session, trial=trial, rows=[{"id": "P1", "school": "S1",
                                                          "stratum_Region": "north"}])
    assert [(e.row, e.field) for e in caught.value.errors] == [
        (1, "unit_id"), (1, "cluster"), (1, "id"), (1, "school"), (1, "stratum_Region")]
    with pytest.raises(ValidationFailed, match="no rows"):
        service.import_units(session, trial=trial, rows=[])


def test_units_already_uploaded_are_refused(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    service.import_units(session, trial=trial, rows=builders.unit_rows(1, 2))
    with pytest.raises(ValidationFailed) as caught:
        service.import_units(session, trial=trial, rows=builders.unit_rows(1, 3))
    assert [(e.row, e.field) for e in caught.value.errors] == [(2, "unit_id"), (3, "unit_id")]
    assert service.count_units(session, trial) == 2


# The seed commitment -----------------------------------------------------------------------

def test_the_commitment_waits_for_registration(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    with pytest.raises(Conflict, match="Register the trial"):
        builders.commit(session, trial)


def test_the_commitment_freezes_the_units(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    with pytest.raises(Conflict, match="Upload at least 2 units"):
        builders.commit(session, trial)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    builders.commit(session, trial, block_size=4)
    found = service.allocation(session, trial)
    assert found is not None
    assert found.commitment_sha256 == published.seed_commitment(builders.SEED)
    assert found.held_seed is None
    assert found.units == 40
    assert found.units_sha256 == service.units_sha256(service.units(session, trial))
    assert found.options["block_size"] == 4
    with pytest.raises(Conflict, match="units are fixed"):
        service.import_units(session, trial=trial, rows=builders.unit_rows(9, 1)[-1:])
    with pytest.raises(Conflict, match="already committed"):
        builders.commit(session, trial)


def test_an_application_held_seed_matches_its_commitment(session: Session,
                                                         mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    found = service.commit_allocation(session, trial=trial,
                                      data=AllocationIn(seed_source=SeedSource.APP))
    assert found.held_seed is not None
    assert published.seed_commitment(int(found.held_seed)) == found.commitment_sha256
    assert found.seed is None


def test_a_seed_that_does_not_match_the_commitment_is_refused(session: Session,
                                                             mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    builders.commit(session, trial)
    with pytest.raises(ValidationFailed) as caught:
        service.allocate(session, trial=trial, seed_text=str(builders.SEED + 1))
    assert caught.value.errors[0].field == "seed"
    assert "does not match the published commitment" in caught.value.errors[0].message
    with pytest.raises(ValidationFailed):
        service.allocate(session, trial=trial, seed_text="not a number")
    found = session.scalars(select(TrialAllocation)).one()
    assert found.allocated_at is None
    assert found.seed is None


def test_units_altered_after_the_commitment_are_caught(session: Session,
                                                       mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    builders.commit(session, trial)
    unit = session.scalars(select(TrialUnit).where(TrialUnit.unit_id == "P0000")).one()
    unit.cluster = "S07"
    session.flush()
    with pytest.raises(Conflict, match="no longer match"):
        service.allocate(session, trial=trial, seed_text=str(builders.SEED))


def test_allocating_needs_a_commitment(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    with pytest.raises(Conflict, match="Commit to a seed first"):
        service.allocate(session, trial=trial, seed_text=str(builders.SEED))


def test_organiser_commitment_needs_a_hash() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        AllocationIn(seed_source=SeedSource.ORGANISER)
    with pytest.raises(ValueError, match="pattern"):
        AllocationIn(seed_source=SeedSource.ORGANISER, commitment="abc")


def test_every_plan_row_is_kept(session: Session, mission: Mission) -> None:
    """Versions are rows of their own: nothing rewrites a locked one."""
    trial = builders.new_trial(session, mission)
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    service.lock_plan(session, trial=trial)
    service.amend_plan(session, trial=trial, data=builders.plan_data(alpha=0.01),
                       reason="Stricter")
    rows = session.scalars(select(AnalysisPlan).order_by(AnalysisPlan.version)).all()
    assert [(p.version, p.content["alpha"]) for p in rows] == [(1, 0.05), (2, 0.01)]


def test_trial_in_rejects_dates_out_of_order() -> None:
    with pytest.raises(ValueError, match="end before it starts"):
        TrialIn.model_validate({**builders.trial_data().model_dump(),
                                "end_on": dt.date(2026, 1, 1)})
