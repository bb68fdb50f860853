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
    assert trial.status == TrialStatus.RECRUITING
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
