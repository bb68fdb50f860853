"""The demo trial, on the opportunity mission: an illustrative cluster-randomised trial of the
early language programme across 60 schools, registered, with a locked analysis plan, a seed
committed before the allocation and the allocation itself (stratified by region, with a
balance threshold on the children's baseline language scores), then its outcome data loaded
under the locked plan (a modest effect of about 0.15 SD, with school-level noise and a few
children lost to follow-up), so that its results and evidence summary show computed numbers.
When the demo has the early language programme among the mission's interventions, the
trial's primary result becomes the evidence for the programme's effect on the school
readiness metric.

Everything is made up and labelled as such on every page (``Trial.illustrative``); the
children, schools and scores come from one seed, so the demo is the same every time.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.db.base import utcnow
from missionboard.delivery.models import Intervention
from missionboard.missions.models import Mission
from missionboard.panels import published
from missionboard.panels.models import SeedSource
from missionboard.trials import evidence_link, results, service
from missionboard.trials.models import Trial, TrialStatus, TrialUnit
from missionboard.trials.results_schemas import EvidenceLinkIn
from missionboard.trials.schemas import AllocationIn, PlanIn, TrialIn

MISSION = "opportunity"
INTERVENTION = "early-language-programme"
SLUG = "early-language-trial"
SEED = 20260901
ALLOCATION_SEED = 4_815_162_342
SCHOOLS = 60
CHILDREN_PER_SCHOOL = 20
REGIONS = ("north", "midlands", "south")
OUTCOME_SEED = 20270716
#: The programme's effect on the children's latent language ability, in SD.
EFFECT_SD = 0.15
#: The spread of the schools' own effects (SD of the latent ability) and of the children's.
SCHOOL_SD = 0.3
CHILD_SD = 0.8
#: The share of children with no outcome (moved school, absent at the assessment).
LOST = 0.05
#: The latent ability above which a child reaches a good level of development (about 68%).
GLD_THRESHOLD = -0.47
#: The school readiness metric the programme's estimate is for, and the share of England's
#: reception children the programme would reach at scale.
METRIC = "children-achieving-a-good-level-of-development-at-the-end-of-reception-eyfs-profile"
AREA = "E92000001"
REACH = 0.4


def _units(rng: random.Random) -> list[dict[str, str]]:
    """Reception children in schools: the school's region, and each child's baseline language
    score (a school effect plus the child's own variation)."""
    rows = []
    for school in range(1, SCHOOLS + 1):
        region = REGIONS[school % len(REGIONS)]
        school_mean = rng.gauss(100, 6)
        for child in range(1, CHILDREN_PER_SCHOOL + 1):
            rows.append({"unit_id": f"C{school:02d}{child:02d}", "cluster": f"SCH{school:02d}",
                         "stratum_region": region,
                         "covariate_baseline_language": f"{rng.gauss(school_mean, 12):.1f}"})
    return rows


def load_trial(session: Session, *, missions_by_slug: dict[str, Mission]) -> Trial:
    """Register the demo trial, lock its plan, upload its units, commit and allocate.
    Flushes; never commits."""
    mission = missions_by_slug[MISSION]
    intervention = session.scalar(select(Intervention).where(
        Intervention.mission_id == mission.id, Intervention.slug == INTERVENTION))
    trial = service.create_trial(session, mission=mission, data=TrialIn(
        slug=SLUG, title="Early language programme in reception classes (illustrative)",
        question="Does twenty weeks of small-group oral language teaching in reception raise "
                 "the share of children reaching a good level of development?",
        population="Children in reception classes in state primary schools in England",
        comparator="Usual reception teaching (the programme is offered a year later)",
        intervention_id=intervention.id if intervention else None, unit_kind="cluster",
        cluster_kind="school", design="cluster",
        planned_units=SCHOOLS * CHILDREN_PER_SCHOOL, planned_clusters=SCHOOLS,
        start_on=dt.date(2026, 9, 1), end_on=dt.date(2027, 7, 16),
        analysis_on=dt.date(2027, 11, 1), owner="Department for Education (illustrative)",
        ethics="Illustrative: a real trial would name its ethics committee, reference and "
               "approval date here.",
        data_sharing="Illustrative: pupil-level data would stay with the department; "
                     "school-level results and the analysis code would be published.",
        cost_per_participant=185.0,
        arms=[{"key": "control", "label": "Usual teaching", "ratio": 1},
              {"key": "programme", "label": "Early language programme", "ratio": 1}],
        outcomes=[{"key": "gld", "title": "Good level of development at the end of reception "
                                          "(EYFS profile)", "role": "primary"},
                  {"key": "language", "title": "Language score at the end of reception",
                   "role": "secondary"}]))
    trial.illustrative = True
    service.save_plan_draft(session, trial=trial, data=PlanIn.model_validate({
        "outcomes": [{"key": "gld", "role": "primary"}, {"key": "language",
                                                        "role": "secondary"}],
        "model": "cluster_robust", "covariates": ["baseline_language"],
        "subgroups": ["region"], "multiple_testing": "holm", "alpha": 0.05,
        "education": True,
        "notes": "Illustrative. Linear probability model for the primary outcome with "
                 "CR2 standard errors by school; children missing the outcome are reported "
                 "in the CONSORT flow and not imputed."}))
    service.lock_plan(session, trial=trial)
    service.set_status(session, trial=trial, status=TrialStatus.REGISTERED)
    service.import_units(session, trial=trial, rows=_units(random.Random(SEED)))  # noqa: S311
    service.commit_allocation(session, trial=trial, data=AllocationIn(
        seed_source=SeedSource.ORGANISER, commitment=published.seed_commitment(ALLOCATION_SEED),
        seed_description="Illustrative: ten dice rolled at the trial board's meeting",
        stratify=True, balance_threshold=0.1))
    service.allocate(session, trial=trial, seed_text=str(ALLOCATION_SEED))
    service.set_status(session, trial=trial, status=TrialStatus.RECRUITING)
    service.set_status(session, trial=trial, status=TrialStatus.ANALYSING)
    service.load_outcomes(session, trial=trial, rows=_outcomes(
        service.units(session, trial), random.Random(OUTCOME_SEED)))  # noqa: S311
    service.set_status(session, trial=trial, status=TrialStatus.FINISHED)
    _backdate(session, trial)
    session.flush()
    if intervention is not None:
        _use_as_evidence(session, trial)
    return trial


def _outcomes(units: list[TrialUnit], rng: random.Random) -> list[dict[str, str]]:
    """Each child's outcomes at the end of reception, from a latent language ability: the
    baseline score, the school's own effect, the child's, and the programme's effect; the
    language score is that ability on a 100 ± 15 scale, and a good level of development is
    the ability above a threshold (with some noise of its own)."""
    schools: dict[str, float] = {}
    rows = []
    for unit in units:
        school = schools.setdefault(unit.cluster, rng.gauss(0, SCHOOL_SD))
        baseline = (unit.covariates["baseline_language"] - 100) / math.hypot(6, 12)
        ability = (0.5 * baseline + school + rng.gauss(0, CHILD_SD)
                   + (EFFECT_SD if unit.arm == "programme" else 0.0))
        if rng.random() < LOST:
            continue
        gld = ability + rng.gauss(0, 0.5) > GLD_THRESHOLD
        rows.append({"unit_id": unit.unit_id, "outcome": "language",
                     "value": f"{100 + 15 * ability:.1f}"})
        rows.append({"unit_id": unit.unit_id, "outcome": "gld", "value": "1" if gld else "0"})
    return rows


def _use_as_evidence(session: Session, trial: Trial) -> None:
    """The primary result as the evidence for the programme's effect on school readiness in
    England, when the metric is one of the mission's."""
    found = results.trial_results(session, trial)
    primary = found.primary
    metric = next((m for m in evidence_link.candidate_metrics(trial) if m.slug == METRIC),
                  None)
    if primary is None or primary.estimate is None or metric is None or \
            trial.intervention_id is None:
        return
    evidence_link.link_evidence(session, trial=trial, results=found, data=EvidenceLinkIn(
        intervention_id=trial.intervention_id, outcome=primary.outcome, arm=primary.arm,
        metric_slug=METRIC, area_code=AREA, factor=100 * REACH,
        factor_explanation=f"Illustrative: at scale the programme would reach about "
                           f"{REACH:.0%} of reception children in England; the trial's "
                           f"difference in the share reaching a good level of development, "
                           f"in percentage points, is counted for them.",
        reason="Illustrative: the demo trial's result is now the evidence for this estimate."))


def _backdate(session: Session, trial: Trial) -> None:
    """Registration, the plan's lock, the commitment and the allocation over the last weeks,
    in that order, as a real trial's would be."""
    now = utcnow()
    plan = service.locked_plan(session, trial)
    allocation = service.allocation(session, trial)
    assert plan is not None
    assert allocation is not None
    plan.created_at = now - dt.timedelta(days=45)
    plan.locked_at = now - dt.timedelta(days=40)
    trial.registered_at = now - dt.timedelta(days=38)
    allocation.committed_at = now - dt.timedelta(days=30)
    allocation.allocated_at = now - dt.timedelta(days=21)
    for load in service.outcome_loads(session, trial):
        load.loaded_at = now - dt.timedelta(days=3)
