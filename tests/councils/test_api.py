"""The councils part of the public API: the council and its tracker, public once the
mission is published, never with members' contact details or draft minutes; problem+json
for what is not there or not visible."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts import service as accounts
from missionboard.accounts.models import User
from missionboard.config import get_settings
from missionboard.councils import service
from missionboard.web.app import create_app
from tests import factories
from tests.councils import builders
from tests.councils.builders import member

API = "/api/v1/councils"


@pytest.fixture
def api(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(get_settings(cookie_secure=False, secret_key="test"),
                     session_factory=session_factory)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(session: Session) -> factories.World:
    w = factories.world(session)
    council = builders.new_council(session, w.mission)
    chair = member(council, "Chair Person")
    first = builders.meeting(session, council, present=[chair.id])
    service.save_minutes(session, meeting=first, text="Published minutes.")
    service.publish_minutes(session, meeting=first, today=builders.TODAY)
    second = builders.meeting(session, council, held_on=dt.date(2026, 5, 5),
                              title="Second meeting")
    service.save_minutes(session, meeting=second, text="Secret draft minutes.")
    r = builders.recommendation(session, council, meeting_id=first.id)
    service.respond(session, recommendation=r, today=builders.TODAY, data=builders.response(
        "rejected", dt.date(2026, 5, 20), reason="Too costly"))
    builders.recommendation(session, council, title="Unanswered")
    builders.new_council(session, w.draft_mission, slug="draft-council")
    session.commit()
    return w


def _bearer(session: Session, user: User) -> dict[str, str]:
    _, secret = accounts.create_api_token(session, user=user, name="reader")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


@pytest.mark.usefixtures("world")
def test_the_council(api: TestClient) -> None:
    response = api.get(f"{API}/health-council")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Health Mission Council"
    assert body["mission"] == "published-mission"
    assert body["chair"] == ["Chair Person"]
    assert body["url"].endswith("/councils/health-council")
    assert body["members"][0]["name"] == "Chair Person"
    assert all(set(m) == {"name", "organisation", "sector", "role", "term_start", "term_end",
                          "interests", "current"} for m in body["members"])
    assert "example.org" not in response.text  # no contact details
    assert body["balance"]["members"] == 5
    assert body["balance"]["over_limit"] == []
    minutes = {m["title"]: m["minutes"] for m in body["meetings"]}
    assert minutes == {"First meeting": "Published minutes.", "Second meeting": None}
    assert "Secret draft" not in response.text
    assert body["counts"]["rejected"] == 1


@pytest.mark.usefixtures("world")
def test_the_tracker(api: TestClient) -> None:
    response = api.get(f"{API}/health-council/recommendations")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["council"] == "health-council"
    first, second = body["items"]
    assert first["status"] == "rejected"
    assert first["response"]["reason"] == "Too costly"
    assert first["response"]["days_late"] == 15
    assert first["meeting"] is not None
    assert second["status"] in ("awaiting", "overdue")
    assert second["response"] is None
    assert sum(body["counts"].values()) == 2


def test_a_draft_missions_council_is_seen_only_by_those_running_it(
        api: TestClient, world: factories.World, session: Session) -> None:
    for path in (f"{API}/draft-council", f"{API}/draft-council/recommendations"):
        problem(api.get(path), 404)
        problem(api.get(path, headers=_bearer(session, world.viewer)), 404)
        assert api.get(path, headers=_bearer(session, world.editor)).status_code == 200


@pytest.mark.usefixtures("world")
def test_problems(api: TestClient) -> None:
    body = problem(api.get(f"{API}/no-such-council"), 404)
    assert "no-such-council" in body["detail"]
    problem(api.get(f"{API}/no-such-council/recommendations"), 404)
    problem(api.post(f"{API}/health-council"), 405)
    problem(api.get(f"{API}/health-council", headers={"Authorization": "Bearer wrong"}), 401)


def test_the_openapi_document_describes_the_problems(api: TestClient) -> None:
    doc = api.get("/api/v1/openapi.json").json()
    for path in ("/councils/{slug}", "/councils/{slug}/recommendations"):
        responses = doc["paths"][path]["get"]["responses"]
        assert "application/problem+json" in responses["404"]["content"]
        assert doc["paths"][path]["get"]["tags"] == ["councils"]
