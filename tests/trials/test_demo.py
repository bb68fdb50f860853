"""The demo trial: registered, its plan locked before the allocation, the seed checked, the
schools kept together and balanced, and labelled illustrative on its page."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from missionboard.analytics import randomisation
from missionboard.config import get_settings
from missionboard.panels import published
from missionboard.trials import demo, service
from missionboard.trials.models import TrialStatus
from missionboard.web.app import create_app
from tests import factories


def test_the_demo_trial(session: Session, session_factory: sessionmaker[Session]) -> None:
    mission = factories.mission(session, demo.MISSION)
    trial = demo.load_trial(session, missions_by_slug={demo.MISSION: mission})
    session.commit()
    assert trial.illustrative
    assert trial.status == TrialStatus.FINISHED  # its outcome data is loaded and analysed
    plan = service.locked_plan(session, trial)
    allocation = service.allocation(session, trial)
    assert plan is not None
    assert allocation is not None
    assert plan.locked_at is not None
    assert allocation.allocated_at is not None
    assert plan.locked_at < allocation.committed_at < allocation.allocated_at
    assert published.seed_commitment(int(allocation.seed or "")) == allocation.commitment_sha256
    assert allocation.method == "stratified_cluster"
    assert allocation.max_abs_smd is not None
    assert allocation.max_abs_smd < 0.1
    units = service.units(session, trial)
    assert len(units) == demo.SCHOOLS * demo.CHILDREN_PER_SCHOOL
    schools: dict[str, set[str | None]] = {}
    for unit in units:
        schools.setdefault(unit.cluster, set()).add(unit.arm)
    assert all(len(arms) == 1 for arms in schools.values())
    again = randomisation.randomise(
        [u.unit_id for u in units], seed=int(allocation.seed or ""),
        arms=["control", "programme"], ratio=[1, 1], clusters=[u.cluster for u in units],
        strata=[f"region={u.strata['region']}" for u in units],
        covariates={"baseline_language": [u.covariates["baseline_language"] for u in units]},
        balance_threshold=0.1)
    assert again.arms == {u.unit_id: u.arm for u in units}

    app = create_app(get_settings(cookie_secure=False, secret_key="test"),
                     session_factory=session_factory)
    with TestClient(app) as client:
        page = client.get(f"/trials/{demo.SLUG}")
    assert page.status_code == 200
    assert "Illustrative: this trial" in page.text
    assert plan.sha256 in page.text
    assert trial.start_on == dt.date(2026, 9, 1)


def test_the_demo_trial_has_results(session: Session,
                                    session_factory: sessionmaker[Session]) -> None:
    """Outcome data loaded after the plan was locked, analysed as the plan says: a modest
    positive effect on both outcomes, a security rating and the trial finished."""
    from missionboard.trials import results

    mission = factories.mission(session, demo.MISSION)
    trial = demo.load_trial(session, missions_by_slug={demo.MISSION: mission})
    session.commit()
    assert trial.status == TrialStatus.FINISHED
    plan = service.locked_plan(session, trial)
    (load,) = service.outcome_loads(session, trial)
    assert plan is not None
    assert plan.locked_at is not None
    assert load.plan_sha256 == plan.sha256
    assert plan.locked_at < load.loaded_at
    found = results.trial_results(session, trial)
    assert found.has_data
    assert found.education
    by_outcome = {a.outcome: a for a in found.analyses}
    assert set(by_outcome) == {"gld", "language"}
    assert all(a.classification.pre_specified for a in found.analyses)
    language, gld = by_outcome["language"], by_outcome["gld"]
    assert gld.kind == "binary"
    assert language.effect_size is not None
    assert language.estimate is not None
    assert gld.estimate is not None
    assert 0 < language.effect_size.g < 0.4  # about the 0.15 SD simulated
    assert 0 < gld.estimate.effect < 0.15
    assert language.estimate.n_clusters == demo.SCHOOLS
    assert found.flow is not None
    assert 0 < found.flow.overall_attrition < 0.1
    summary = results.evidence_summary(session, trial, results=found)
    assert summary.security is not None
    assert 0 <= summary.security.padlocks <= 5
    assert "percentage points higher" in summary.headline
    assert summary.cost_per_participant == 185.0
    app = create_app(get_settings(cookie_secure=False, secret_key="test"),
                     session_factory=session_factory)
    with TestClient(app) as client:
        page = client.get(f"/trials/{demo.SLUG}/results")
    assert page.status_code == 200
    assert summary.security.text in page.text
