"""A trial's results through the pages: the results page (evidence summary, the forest plot
with its table, CONSORT, balance, subgroups), its downloads, drafts hidden from the public,
and the editors' form that uses a result as an intervention's evidence."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.delivery import service as delivery
from missionboard.delivery.models import Intervention, InterventionEffect
from missionboard.delivery.schemas import InterventionIn
from missionboard.trials import results, service
from missionboard.trials.models import Trial
from tests.factories import World
from tests.trials import builders
from tests.trials.results_builders import Built, with_results
from tests.web.conftest import check_page, csrf_from, sign_in


@pytest.fixture
def built(session: Session, world: World) -> Built:
    made = with_results(session, world.mission, effect=8.0, schools=16)
    session.commit()
    return made


@pytest.fixture
def intervention(session: Session, world: World) -> Intervention:
    found = delivery.save_intervention(session, mission=world.mission, data=InterventionIn(
        slug="national-tutoring", title="National tutoring", start=dt.date(2025, 1, 1),
        evidence_kind="expert_judgement", evidence_strength="limited"))
    session.commit()
    return found


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**data, "csrf_token": token})


def test_the_results_page(client: TestClient, session: Session, built: Built) -> None:
    html = check_page(client.get("/trials/tutoring/results"))
    found = results.trial_results(session, built.trial)
    summary = results.evidence_summary(session, built.trial, results=found)
    assert summary.security is not None
    assert 'id="estimates-table"' in html
    assert "KS2 maths scaled score" in html
    assert summary.security.text in html
    assert "Participant flow (CONSORT)" in html
    assert "Balance at baseline" in html
    assert "fsm = yes" in html
    spec = re.search(r'<script type="application/json" id="forest-spec">(.*?)</script>', html,
                     flags=re.S)
    assert spec is not None
    chart = json.loads(spec.group(1))
    primary = found.primary
    assert primary is not None
    assert primary.estimate is not None
    assert chart["data"]["values"][0]["effect"] == pytest.approx(primary.estimate.effect)
    assert chart["spec"]["layer"][0]["encoding"]["x"] == {"datum": 0}  # the line at no effect
    assert "Pre-specified" in html
    assert "/trials/tutoring/results" in check_page(client.get("/trials/tutoring"))


def test_no_outcome_data_yet(client: TestClient, session: Session, world: World) -> None:
    trial = builders.new_trial(session, world.mission, status=builders.TrialStatus.REGISTERED)
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    service.lock_plan(session, trial=trial)
    session.commit()
    html = check_page(client.get("/trials/tutoring/results"))
    assert "No outcome data has been loaded yet" in html
    assert "forest-spec" not in html


def test_the_downloads(client: TestClient, session: Session, built: Built) -> None:
    found = results.trial_results(session, built.trial)
    body = client.get("/trials/tutoring/results.json")
    assert body.status_code == 200
    data = body.json()
    assert [a["outcome"] for a in data["analyses"]] == ["maths", "reading"]
    assert data["analyses"][0]["estimate"]["effect"] == pytest.approx(
        found.analyses[0].estimate.effect if found.analyses[0].estimate else None)
    assert data["summary"]["padlocks"] is not None
    table = list(csv.reader(io.StringIO(client.get("/trials/tutoring/results.csv").text)))
    assert table[0] == list(results.CSV_HEADER)
    assert len(table) == 3


def test_draft_results_are_for_the_editors(client: TestClient, session: Session,
                                           world: World) -> None:
    builders.new_trial(session, world.mission, slug="draft-trial")
    session.commit()
    for path in ("/trials/draft-trial/results", "/trials/draft-trial/results.json",
                 "/trials/draft-trial/results.csv"):
        assert client.get(path).status_code == 404
    sign_in(client, world.editor)
    check_page(client.get("/trials/draft-trial/results"))


def _audit(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _form(world: World, intervention: Intervention, **changes: str) -> dict[str, str]:
    return {"intervention_id": str(intervention.id), "analysis": "maths/tutoring",
            "metric_slug": world.metric.slug, "area_code": "E92000001", "factor": "0.25",
            "factor_explanation": "A quarter of pupils would be tutored at scale",
            "interval_level": "80", "reason": "The trial reported", **changes}


@pytest.mark.parametrize(("changes", "message"), [
    ({"factor": "a lot"}, "Enter the conversion factor as a number"),
    ({"factor": "0"}, "other than 0"),
    ({"interval_level": "120"}, "Enter the interval as a percentage"),
    ({"factor_explanation": ""}, "Say in words how the factor converts"),
    ({"metric_slug": ""}, "Choose a metric"),
    ({"intervention_id": ""}, "Choose an intervention of this mission"),
    ({"reason": ""}, "Give a reason for this change"),
])
def test_bad_input_to_the_link_form_is_shown_and_writes_nothing(
        client: TestClient, session: Session, world: World, built: Built, *,
        intervention: Intervention, changes: dict[str, str], message: str) -> None:
    sign_in(client, world.editor)
    check_page(client.get("/trials/tutoring/results/evidence"))
    before = _audit(session)
    html = check_page(_post(client, "/trials/tutoring/results/evidence",
                            _form(world, intervention, **changes)), status=422)
    assert "There is a problem" in html
    assert message in html
    assert _audit(session) == before
    assert session.scalar(select(func.count()).select_from(InterventionEffect)) == 0


def test_the_link_form_writes_the_effect_and_shows_the_discount(
        client: TestClient, session: Session, world: World, built: Built,
        intervention: Intervention) -> None:
    sign_in(client, world.editor)
    before = _audit(session)
    done = _post(client, "/trials/tutoring/results/evidence", _form(world, intervention))
    assert done.status_code == 303
    assert done.headers["location"] == "/trials/tutoring/results#mission"
    assert _audit(session) > before
    html = check_page(client.get("/trials/tutoring/results"))
    assert "As evidence from a pilot trial, the trajectory counts 50% of it" in html
    effect = session.scalars(select(InterventionEffect)).one()
    session.refresh(intervention)
    assert intervention.evidence_kind.value == "pilot_trial"
    assert f"{effect.central * 0.5:.3g}" in html


def test_the_link_form_is_for_the_missions_editors(client: TestClient, world: World,
                                                   built: Built) -> None:
    assert client.get("/trials/tutoring/results/evidence").status_code == 303
    sign_in(client, world.other_editor)
    assert client.get("/trials/tutoring/results/evidence").status_code == 403


def test_a_trial_without_results_offers_no_form(client: TestClient, session: Session,
                                                world: World) -> None:
    trial: Trial = builders.new_trial(session, world.mission,
                                      status=builders.TrialStatus.REGISTERED)
    assert trial.slug == "tutoring"
    session.commit()
    sign_in(client, world.editor)
    html = check_page(client.get("/trials/tutoring/results/evidence"))
    assert "The trial has no estimate yet" in html
    assert "<form method=\"post\" action=\"/trials/tutoring/results/evidence\"" not in html
