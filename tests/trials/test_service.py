"""The trials service on both backends: the register and its status rules, the analysis
plan's lock and amendments, the units import (all or nothing), the seed commitment and the
allocation, assignment as cases arrive with the sample-ratio check, outcome data (refused
before the plan is locked; all or nothing) and the classification of analyses."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.analytics import randomisation
from missionboard.delivery import service as delivery
from missionboard.delivery.schemas import InterventionIn
from missionboard.errors import Conflict, DomainError, ValidationFailed
from missionboard.missions.models import Mission
from missionboard.panels import published
from missionboard.panels.models import SeedSource
from missionboard.trials import service
from missionboard.trials.models import (
    AnalysisModel,
    AnalysisPlan,
    OutcomeLoad,
    OutcomeValue,
    Trial,
    TrialAllocation,
    TrialExposure,
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


# The allocation ----------------------------------------------------------------------------

def _committed(session: Session, mission: Mission, **options: object) -> Trial:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    builders.commit(session, trial, **options)
    return trial


def test_a_cluster_allocation_keeps_each_school_together(session: Session,
                                                         mission: Mission) -> None:
    trial = _committed(session, mission)
    found = service.allocate(session, trial=trial, seed_text=str(builders.SEED))
    assert found.seed == str(builders.SEED)
    assert found.allocated_at is not None
    assert found.method == "cluster"
    items = service.units(session, trial)
    by_school: dict[str, set[str | None]] = {}
    for unit in items:
        by_school.setdefault(unit.cluster, set()).add(unit.arm)
    assert all(len(arms) == 1 for arms in by_school.values())
    counts = service.arm_counts(session, trial)
    assert counts == {"control": {"units": 20, "clusters": 4, "exposures": 0},
                      "tutoring": {"units": 20, "clusters": 4, "exposures": 0}}
    assert [(r["covariate"], r["arm"]) for r in found.balance] == [("prior", "tutoring")]
    assert found.max_abs_smd == pytest.approx(abs(found.balance[0]["smd"]))
    with pytest.raises(Conflict, match="already allocated"):
        service.allocate(session, trial=trial, seed_text=str(builders.SEED))


def test_anyone_can_repeat_the_allocation_from_the_published_inputs(
        session: Session, mission: Mission) -> None:
    """The units in order of id, their schools and the revealed seed give the same arms."""
    trial = _committed(session, mission)
    service.allocate(session, trial=trial, seed_text=str(builders.SEED))
    items = service.units(session, trial)
    again = randomisation.randomise([u.unit_id for u in items], seed=builders.SEED,
                                    arms=["control", "tutoring"], ratio=[1, 1],
                                    clusters=[u.cluster for u in items])
    assert again.arms == {u.unit_id: u.arm for u in items}


def test_an_application_held_seed_allocates(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED,
                               unit_kind="individual", cluster_kind="", design="parallel")
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    committed = service.commit_allocation(session, trial=trial, data=AllocationIn(
        seed_source=SeedSource.APP, balance_threshold=0.3))
    held = committed.held_seed
    found = service.allocate(session, trial=trial)
    assert found.seed == held
    assert found.held_seed is None
    assert published.seed_commitment(int(held or "")) == found.commitment_sha256
    assert found.max_abs_smd is not None
    assert found.max_abs_smd < 0.3
    assert found.attempts is not None
    assert found.attempts >= 1


def test_options_the_randomisation_would_refuse_are_refused_at_the_commitment(
        session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    with pytest.raises(ValidationFailed) as caught:
        builders.commit(session, trial, stratify=True, block_size=3)
    assert [e.field for e in caught.value.errors] == ["block_size", "stratify"]
    assert "S00" in caught.value.errors[1].message  # pupils' FSM status varies in a school
    assert service.allocation(session, trial) is None


# Assignment as cases arrive ----------------------------------------------------------------

def _recruiting(session: Session, mission: Mission) -> Trial:
    return builders.new_trial(session, mission, slug="reminders", status=TrialStatus.RECRUITING,
                              unit_kind="individual", cluster_kind="", design="parallel")


def test_assignment_is_stable_and_logged_once(session: Session, mission: Mission) -> None:
    trial = _recruiting(session, mission)
    first, created = service.assign(session, trial=trial, unit_id="case-1")
    again, created_again = service.assign(session, trial=trial, unit_id="case-1")
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert first.arm == randomisation.assign_arm("case-1", trial_key="reminders",
                                                 arms=["control", "tutoring"], ratio=[1, 1])
    assert session.scalar(select(func.count()).select_from(TrialExposure)) == 1


def test_assignment_only_while_recruiting(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    with pytest.raises(Conflict, match="not recruiting"):
        service.assign(session, trial=trial, unit_id="case-1")


def test_the_sample_ratio_check(session: Session, mission: Mission) -> None:
    trial = _recruiting(session, mission)
    for i in range(service.SRM_MIN_UNITS - 1):
        service.assign(session, trial=trial, unit_id=f"case-{i}")
    assert service.ratio_check(session, trial) is None
    for i in range(service.SRM_MIN_UNITS - 1, 400):
        service.assign(session, trial=trial, unit_id=f"case-{i}")
    check = service.ratio_check(session, trial)
    assert check is not None
    assert sum(check.counts.values()) == 400
    assert check.expected == {"control": 200.0, "tutoring": 200.0}
    assert not check.mismatch  # SHA-256 keeps to the ratio
    # Cases of one arm stop being logged (say, a broken form): the check notices.
    session.add_all(TrialExposure(trial_id=trial.id, unit_id=f"extra-{i}", arm="control")
                    for i in range(100))
    session.flush()
    drifted = service.ratio_check(session, trial)
    assert drifted is not None
    assert drifted.mismatch
    assert drifted.p_value < 0.001


# Outcome data and the classification of analyses -------------------------------------------

def _allocated(session: Session, mission: Mission) -> Trial:
    trial = _committed(session, mission)
    service.allocate(session, trial=trial, seed_text=str(builders.SEED))
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    service.lock_plan(session, trial=trial)
    return trial


def test_outcome_data_is_loaded_all_or_nothing(session: Session, mission: Mission) -> None:
    trial = _allocated(session, mission)
    rows = [{"unit_id": "P0000", "outcome": "maths", "value": "104.5"},
            {"unit_id": "nobody", "outcome": "maths", "value": "99"},
            {"unit_id": "P0001", "outcome": "science", "value": "99"},
            {"unit_id": "P0002", "outcome": "maths", "value": "high"},
            {"unit_id": "P0000", "outcome": "maths", "value": "104"}]
    with pytest.raises(ValidationFailed) as caught:
        service.load_outcomes(session, trial=trial, rows=rows)
    assert [(e.row, e.field) for e in caught.value.errors] == [
        (3, "unit_id"), (4, "outcome"), (5, "value"), (6, "unit_id")]
    assert session.scalar(select(func.count()).select_from(OutcomeValue)) == 0
    with pytest.raises(ValidationFailed) as caught:
        service.load_outcomes(session, trial=trial, rows=[{"unit": "P0000", "value": "1"}])
    assert {e.field for e in caught.value.errors} == {"unit_id", "outcome"}
    load = service.load_outcomes(session, trial=trial, rows=rows[:1])
    assert (load.number, load.plan_version, load.outcomes, load.rows) == (1, 1, ["maths"], 1)
    with pytest.raises(ValidationFailed, match="already loaded"):
        service.load_outcomes(session, trial=trial, rows=rows[:1])


def test_analyses_are_classed_by_the_plan_in_force_when_their_data_was_loaded(
        session: Session, mission: Mission) -> None:
    trial = _allocated(session, mission)
    with pytest.raises(Conflict, match="No data"):
        service.classify_analysis(session, trial=trial, outcome="maths",
                                  model=AnalysisModel.CLUSTER_ROBUST)
    service.load_outcomes(session, trial=trial, rows=[
        {"unit_id": "P0000", "outcome": "maths", "value": "104"}])
    service.amend_plan(session, trial=trial, data=builders.plan_data(
        covariates=["prior", "attendance"]), reason="Attendance data became available")
    service.load_outcomes(session, trial=trial, rows=[
        {"unit_id": "P0000", "outcome": "reading", "value": "101"}])

    planned = service.classify_analysis(session, trial=trial, outcome="maths",
                                        model=AnalysisModel.CLUSTER_ROBUST,
                                        covariates=["prior"], subgroup="fsm")
    assert planned.pre_specified
    assert planned.label == "pre-specified"
    assert planned.plan_version == 1
    later = service.classify_analysis(session, trial=trial, outcome="maths",
                                      model=AnalysisModel.CLUSTER_ROBUST,
                                      covariates=["attendance"])
    assert later.label == "exploratory"
    assert later.reasons == ("covariates not in the plan: attendance",)
    reading = service.classify_analysis(session, trial=trial, outcome="reading",
                                        model=AnalysisModel.CLUSTER_ROBUST,
                                        covariates=["attendance"])
    assert reading.pre_specified
    assert reading.plan_version == 2
    other = service.classify_analysis(session, trial=trial, outcome="maths",
                                      model=AnalysisModel.ANCOVA, subgroup="region")
    assert other.reasons == ("the plan's model is cluster_robust, not ancova",
                             "the subgroup 'region' is not in the plan")
