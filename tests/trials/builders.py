"""Build trials through the services, as a trial team would."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from missionboard.missions.models import Mission
from missionboard.panels import published
from missionboard.panels.models import SeedSource
from missionboard.trials import service
from missionboard.trials.models import Trial, TrialStatus
from missionboard.trials.schemas import AllocationIn, PlanIn, TrialIn

SEED = 20260314


def trial_data(slug: str = "tutoring", **changes: Any) -> TrialIn:
    data: dict[str, Any] = {
        "slug": slug, "title": "Small-group tutoring in Year 6",
        "question": "Does small-group tutoring raise Year 6 maths attainment?",
        "population": "Year 6 pupils in state primary schools in England",
        "comparator": "Usual teaching", "unit_kind": "cluster", "cluster_kind": "school",
        "design": "cluster", "planned_units": 2400, "planned_clusters": 80,
        "start_on": dt.date(2026, 9, 1), "end_on": dt.date(2027, 7, 20),
        "analysis_on": dt.date(2027, 10, 1), "owner": "Department for Education",
        "ethics": "Approved by the university's ethics committee (ref. 2026-041)",
        "data_sharing": "Pupil-level data stays with the department; results are published",
        "cost_per_participant": 310.0,
        "arms": [{"key": "control", "label": "Usual teaching", "ratio": 1},
                 {"key": "tutoring", "label": "Small-group tutoring", "ratio": 1}],
        "outcomes": [{"key": "maths", "title": "KS2 maths scaled score", "role": "primary"},
                     {"key": "reading", "title": "KS2 reading scaled score",
                      "role": "secondary"}],
    }
    data.update(changes)
    return TrialIn.model_validate(data)


def plan_data(**changes: Any) -> PlanIn:
    data: dict[str, Any] = {
        "outcomes": [{"key": "maths", "role": "primary"}, {"key": "reading", "role": "secondary"}],
        "model": "cluster_robust", "covariates": ["prior"], "subgroups": ["fsm"],
        "multiple_testing": "holm", "alpha": 0.05, "notes": "Two-sided tests."}
    data.update(changes)
    return PlanIn.model_validate(data)


def new_trial(session: Session, mission: Mission, *, slug: str = "tutoring",
              status: TrialStatus = TrialStatus.DRAFT, **changes: Any) -> Trial:
    trial = service.create_trial(session, mission=mission, data=trial_data(slug, **changes))
    moves = [TrialStatus.REGISTERED, TrialStatus.RECRUITING]
    for step in moves[:moves.index(status) + 1] if status in moves else []:
        service.set_status(session, trial=trial, status=step)
    return trial


def unit_rows(schools: int = 8, pupils: int = 5) -> list[dict[str, str]]:
    """Pupils in schools, with a free-school-meals stratum and a prior attainment score."""
    return [{"unit_id": f"P{s:02d}{p:02d}", "cluster": f"S{s:02d}",
             "stratum_fsm": ("yes", "no")[(s + p) % 2],
             "covariate_prior": str(95 + (s * 7 + p * 3) % 20)}
            for s in range(schools) for p in range(pupils)]


def commit(session: Session, trial: Trial, seed: int = SEED, **options: Any) -> None:
    service.commit_allocation(session, trial=trial, data=AllocationIn(
        seed_source=SeedSource.ORGANISER, commitment=published.seed_commitment(seed),
        **options))
