"""The trials part of the public API: assignment as cases arrive (stable, logged once, only
with a token of the trial's mission's editors, problem+json on every bad request) and the
register."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts import service as accounts
from missionboard.accounts.models import User
from missionboard.analytics import randomisation
from missionboard.config import get_settings
from missionboard.trials.models import TrialExposure, TrialStatus
from missionboard.web.app import create_app
from tests import factories
from tests.factories import World
from tests.trials import builders

ASSIGN = "/api/v1/trials/reminders/assign"


@pytest.fixture
def api(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(get_settings(cookie_secure=False, secret_key="test"),
                     session_factory=session_factory)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(session: Session) -> World:
    w = factories.world(session)
    session.commit()
    return w


@pytest.fixture
def recruiting(session: Session, world: World) -> None:
    builders.new_trial(session, world.mission, slug="reminders", status=TrialStatus.RECRUITING,
                       unit_kind="individual", cluster_kind="", design="parallel")
    builders.new_trial(session, world.mission, slug="draft-trial")
    session.commit()


def bearer(session: Session, user: User) -> dict[str, str]:
    _, secret = accounts.create_api_token(session, user=user, name="service")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def _exposures(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(TrialExposure)) or 0)


@pytest.mark.usefixtures("recruiting")
def test_the_arm_is_stable_and_the_exposure_logged_once(api: TestClient, world: World,
                                                        session: Session) -> None:
    headers = bearer(session, world.editor)
    first = api.post(ASSIGN, json={"unit_id": "case-0042"}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["trial"] == "reminders"
    assert body["unit_id"] == "case-0042"
    assert body["first_exposure"] is True
    assert body["arm"] == randomisation.assign_arm("case-0042", trial_key="reminders",
                                                   arms=["control", "tutoring"], ratio=[1, 1])
    again = api.post(ASSIGN, json={"unit_id": "case-0042"}, headers=headers).json()
    assert again["arm"] == body["arm"]
    assert again["first_exposure"] is False
    assert again["exposed_at"] == body["exposed_at"]
    assert _exposures(session) == 1
    arms = {api.post(ASSIGN, json={"unit_id": f"case-{i}"}, headers=headers).json()["arm"]
            for i in range(30)}
    assert arms == {"control", "tutoring"}
    assert _exposures(session) == 31


@pytest.mark.usefixtures("recruiting")
def test_assigning_needs_a_token_of_the_missions_editors(api: TestClient, world: World,
                                                         session: Session) -> None:
    missing = problem(api.post(ASSIGN, json={"unit_id": "case-1"}), 401)
    assert "API token" in missing["detail"]
    assert api.post(ASSIGN, json={"unit_id": "case-1"}).headers["www-authenticate"] == "Bearer"
    problem(api.post(ASSIGN, json={"unit_id": "case-1"},
                     headers={"Authorization": "Bearer mb_not-a-token"}), 401)
    problem(api.post(ASSIGN, json={"unit_id": "case-1"},
                     headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    problem(api.post(ASSIGN, json={"unit_id": "case-1"},
                     headers=bearer(session, world.other_editor)), 403)
    problem(api.post(ASSIGN, json={"unit_id": "case-1"}, headers=bearer(session, world.viewer)),
            403)
    assert _exposures(session) == 0
    assert api.post(ASSIGN, json={"unit_id": "case-1"},
                    headers=bearer(session, world.admin)).status_code == 200


@pytest.mark.usefixtures("recruiting")
def test_unknown_draft_and_closed_trials(api: TestClient, world: World,
                                         session: Session) -> None:
    other = bearer(session, world.other_editor)
    editor = bearer(session, world.editor)
    problem(api.post("/api/v1/trials/nowhere/assign", json={"unit_id": "a"}, headers=editor),
            404)
    problem(api.post("/api/v1/trials/draft-trial/assign", json={"unit_id": "a"},
                     headers=other), 404)
    closed = problem(api.post("/api/v1/trials/draft-trial/assign", json={"unit_id": "a"},
                              headers=editor), 409)
    assert "not recruiting" in closed["detail"]
    assert _exposures(session) == 0


@pytest.mark.usefixtures("recruiting")
@pytest.mark.parametrize("body", [
    {}, {"unit_id": ""}, {"unit_id": "   "}, {"unit_id": 42}, {"unit_id": None},
    {"unit_id": "x" * 101}, {"unit_id": "case\x00one"}, {"unit_id": "case\none"},
    {"unit_id": ["case"]}, [], "case-1",
], ids=lambda b: repr(b)[:30])
def test_bad_bodies_are_422_problems(api: TestClient, world: World, session: Session,
                                     body: Any) -> None:
    body_problem = problem(api.post(ASSIGN, json=body, headers=bearer(session, world.editor)),
                           422)
    assert body_problem["errors"]
    assert _exposures(session) == 0


@pytest.mark.usefixtures("recruiting")
def test_a_body_that_is_not_json_is_a_422_problem(api: TestClient, world: World,
                                                  session: Session) -> None:
    headers = {**bearer(session, world.editor), "Content-Type": "application/json"}
    problem(api.post(ASSIGN, content=b"unit_id=case-1", headers=headers), 422)
    problem(api.post(ASSIGN, content=b"\xff\xfe", headers=headers), 422)


@pytest.mark.usefixtures("recruiting")
def test_the_register(api: TestClient, world: World, session: Session) -> None:
    public = api.get("/api/v1/trials").json()["items"]
    assert [t["trial_id"] for t in public] == ["reminders"]
    assert public[0]["url"] == "http://testserver/trials/reminders"
    assert public[0]["recruitment_status"] == "recruiting"
    editor = api.get("/api/v1/trials", headers=bearer(session, world.editor)).json()["items"]
    assert {t["trial_id"] for t in editor} == {"reminders", "draft-trial"}
    assert api.get("/api/v1/trials/reminders").json()["sponsor"] == "Department for Education"
    problem(api.get("/api/v1/trials/draft-trial"), 404)
    problem(api.get("/api/v1/trials?mission=nowhere"), 404)
    spec = api.get("/api/v1/openapi.json").json()
    assert "/trials/{slug}/assign" in spec["paths"]
