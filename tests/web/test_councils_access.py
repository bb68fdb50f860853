"""Every council write endpoint and form, tried anonymously, with the wrong role and with the
right one: anonymous callers are sent to sign in; wrong roles are refused and write nothing
(not even an audit entry); right roles succeed and are audited. The government's editors set
the council up and respond; the council's secretariat records its meetings, minutes and
recommendations. A draft mission's council, draft minutes and members' contact details are
seen only by those who run the council."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry, User
from missionboard.councils.models import CouncilRecommendation
from tests.councils import builders
from tests.councils.builders import Setting
from tests.factories import World
from tests.web.conftest import csrf_from, sign_in

C = "/councils/health-council"


@pytest.fixture
def setting(session: Session, world: World) -> Setting:
    found = builders.setting(session, world.mission, world.draft_mission)
    session.commit()
    return found


def _user(world: World, setting: Setting, who: str) -> User:
    if who == "secretary":
        return setting.secretary
    found: User = getattr(world, who)
    return found


@dataclass(frozen=True)
class Write:
    name: str
    path: Callable[[Setting], str]
    form: dict[str, Any]
    right: str
    wrong: str


_MEMBER = {"name": "New Member", "organisation": "Org", "sector": "community",
           "role": "member", "term_start": "2026-01-01"}
_MEETING = {"held_on": "2026-04-20", "title": "Another meeting", "agenda": "1. Items"}
_RECOMMENDATION = {"title": "Recommend", "text": "Do it.", "made_on": "2026-04-20"}

WRITES = [
    Write("set up a council", lambda s: "/missions/other-mission/council/new",
          {"slug": "other-council", "name": "Other council", "remit": "Challenge",
           "max_sector_percent": "40", "response_weeks": "8"}, "other_editor", "editor"),
    Write("change the council", lambda s: f"{C}/edit",
          {"name": "Renamed", "remit": "New remit", "max_sector_percent": "30",
           "response_weeks": "6"}, "editor", "secretary"),
    Write("add to the secretariat", lambda s: f"{C}/staff", {"email": "viewer@example.org"},
          "editor", "secretary"),
    Write("remove from the secretariat",
          lambda s: f"{C}/staff/{s.council.staff[0].id}/remove", {}, "admin", "secretary"),
    Write("add a member", lambda s: f"{C}/members/new", _MEMBER, "secretary", "other_editor"),
    Write("change a member", lambda s: f"{C}/members/{s.council.members[-1].id}/edit",
          _MEMBER, "editor", "viewer"),
    Write("remove a member", lambda s: f"{C}/members/{s.council.members[-1].id}/remove", {},
          "secretary", "viewer"),
    Write("record a meeting", lambda s: f"{C}/meetings/new", _MEETING, "secretary", "editor"),
    Write("change a meeting", lambda s: f"{C}/meetings/{s.meeting.id}/edit", _MEETING,
          "admin", "editor"),
    Write("save the minutes", lambda s: f"{C}/meetings/{s.meeting.id}/minutes",
          {"minutes": "Rewritten"}, "secretary", "editor"),
    Write("publish the minutes", lambda s: f"{C}/meetings/{s.meeting.id}/minutes/publish",
          {"minutes": "Final"}, "secretary", "other_editor"),
    Write("record a recommendation", lambda s: f"{C}/recommendations/new", _RECOMMENDATION,
          "secretary", "editor"),
    Write("change a recommendation", lambda s: f"{C}/recommendations/{s.open.number}/edit",
          _RECOMMENDATION, "secretary", "editor"),
    Write("respond", lambda s: f"{C}/recommendations/{s.open.number}/respond",
          {"kind": "rejected", "text": "No.", "reason": "Costs", "responded_on": "2026-05-01"},
          "editor", "secretary"),
    Write("update the implementation",
          lambda s: f"{C}/recommendations/{s.answered.number}/implementation",
          {"implementation": "in_progress", "updated_on": "2026-06-01"}, "admin", "secretary"),
]

FORMS = [
    ("/missions/other-mission/council/new", "other_editor", "editor"),
    (f"{C}/edit", "editor", "secretary"),
    (f"{C}/manage", "secretary", "viewer"),
    (f"{C}/members/new", "secretary", "other_editor"),
    (f"{C}/meetings/new", "secretary", "editor"),
    (f"{C}/recommendations/new", "secretary", "editor"),
    (f"{C}/recommendations/1/respond", "editor", "secretary"),
]


def _audit_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _post(client: TestClient, write: Write, setting: Setting) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(write.path(setting), data={**write.form, "csrf_token": token})


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_anonymous_is_sent_to_sign_in(client: TestClient, setting: Setting, session: Session,
                                      write: Write) -> None:
    before = _audit_count(session)
    response = _post(client, write, setting)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
    assert _audit_count(session) == before


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_wrong_role_is_refused(client: TestClient, world: World, setting: Setting,
                               session: Session, write: Write) -> None:
    sign_in(client, _user(world, setting, write.wrong))
    before = _audit_count(session)
    response = _post(client, write, setting)
    assert response.status_code == 403, response.text[:500]
    assert _audit_count(session) == before


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_right_role_succeeds(client: TestClient, world: World, setting: Setting,
                             session: Session, write: Write) -> None:
    sign_in(client, _user(world, setting, write.right))
    before = _audit_count(session)
    response = _post(client, write, setting)
    assert response.status_code == 303, response.text[:2000]
    assert _audit_count(session) > before


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f[0])
def test_forms_are_for_the_right_role(client: TestClient, world: World, setting: Setting,
                                      form: tuple[str, str, str]) -> None:
    path, right, wrong = form
    assert client.get(path).headers["location"].startswith("/sign-in")
    sign_in(client, _user(world, setting, wrong))
    assert client.get(path).status_code == 403
    token = csrf_from(client.get("/sign-in").text)
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, _user(world, setting, right))
    assert client.get(path).status_code == 200


def test_a_write_without_the_csrf_token_is_refused(client: TestClient, world: World,
                                                   setting: Setting, session: Session) -> None:
    sign_in(client, setting.secretary)
    before = _audit_count(session)
    response = client.post(f"{C}/recommendations/new", data=_RECOMMENDATION)
    assert response.status_code == 403
    assert _audit_count(session) == before


DRAFT_PAGES: list[Callable[[Setting], str]] = [
    lambda s: "/councils/draft-council",
    lambda s: "/councils/draft-council/recommendations.csv",
    lambda s: "/councils/draft-council/recommendations.json",
    lambda s: "/councils/draft-council/recommendations/1",
    lambda s: f"/councils/draft-council/meetings/{s.draft_meeting.id}",
]


@pytest.mark.parametrize("page", range(len(DRAFT_PAGES)))
@pytest.mark.parametrize("who", [None, "nobody", "viewer", "other_editor", "secretary",
                                 "editor", "admin"])
def test_a_draft_missions_council(client: TestClient, world: World, setting: Setting,
                                  page: int, who: str | None) -> None:
    status = 200 if who in ("secretary", "editor", "admin") else 404
    if who is not None:
        sign_in(client, _user(world, setting, who))
    assert client.get(DRAFT_PAGES[page](setting)).status_code == status


@pytest.mark.parametrize(("who", "sees"), [(None, False), ("viewer", False),
                                            ("other_editor", False), ("secretary", True),
                                            ("editor", True), ("admin", True)])
def test_draft_minutes_are_hidden(client: TestClient, world: World, setting: Setting,
                                  who: str | None, sees: bool) -> None:
    if who is not None:
        sign_in(client, _user(world, setting, who))
    html = client.get(f"{C}/meetings/{setting.meeting.id}").text
    assert ("Draft minutes: not public yet." in html) is sees
    assert ("The minutes have not been published yet." in html) is not sees


@pytest.mark.parametrize("who", [None, "viewer", "other_editor", "secretary", "editor"])
def test_contact_details_are_never_public(client: TestClient, world: World, setting: Setting,
                                          who: str | None) -> None:
    if who is not None:
        sign_in(client, _user(world, setting, who))
    for path in (C, f"{C}/recommendations.csv", f"{C}/recommendations.json",
                 "/api/v1/councils/health-council"):
        text = client.get(path).text
        assert "bea@example.org" not in text
        assert "020 7946 0000" not in text
    manage = client.get(f"{C}/manage")
    if who in ("secretary", "editor"):
        assert "bea@example.org" in manage.text
    else:
        assert manage.status_code in (303, 403)


def test_a_secretary_cannot_answer_for_the_government_nor_an_editor_write_the_councils_record(
        client: TestClient, world: World, setting: Setting, session: Session) -> None:
    """The split of roles, end to end: nothing changes when each tries the other's work."""
    sign_in(client, setting.secretary)
    token = csrf_from(client.get("/sign-in").text)
    refused = client.post(f"{C}/recommendations/{setting.open.number}/respond", data={
        "csrf_token": token, "kind": "accepted", "text": "Yes", "responded_on": "2026-05-01"})
    assert refused.status_code == 403
    session.expire_all()
    still = session.get(CouncilRecommendation, setting.open.id)
    assert still is not None
    assert still.response is None
    assert "Respond for the government" not in client.get(
        f"{C}/recommendations/{setting.open.number}").text
