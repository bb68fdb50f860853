"""The deliberation API through HTTP, on both databases: votes (201, 404, 409, 413, 415, 422,
503, all problem+json), the participant cookie, the next statement and the summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from missionboard.deliberation import service
from missionboard.deliberation.api import PARTICIPANT_COOKIE
from missionboard.deliberation.models import (
    AnalysisRun,
    Conversation,
    ConversationStatus,
    Participant,
    Participation,
    Vote,
)
from missionboard.deliberation.writer import VoteWriter
from tests.deliberation.test_writer import open_conversation
from tests.factories import World
from tests.web.conftest import sign_in
from tests.web.test_api import bearer

HEADER = {"X-Participant-Id": "load-script-participant-0001"}


@pytest.fixture
def talk(session: Session, world: World) -> Conversation:
    conversation = open_conversation(session, world.mission, "talk", statements=3)
    open_conversation(session, world.mission, "draft-talk", statements=1,
                      status=ConversationStatus.DRAFT)
    open_conversation(session, world.mission, "closed-talk", statements=1,
                      status=ConversationStatus.CLOSED)
    open_conversation(session, world.mission, "members", statements=1,
                      participation=Participation.SIGN_IN)
    open_conversation(session, world.draft_mission, "unpublished", statements=1)
    session.commit()
    return conversation


def _vote(client: TestClient, slug: str = "talk", body: Any = None,
          headers: dict[str, str] | None = None) -> Any:
    return client.post(f"/api/v1/conversations/{slug}/votes",
                       json={"statement": 0, "vote": 1} if body is None else body,
                       headers=headers)


def _votes(session: Session) -> list[tuple[int, int, int]]:
    """(participant number, statement id, value) of every stored vote, in order."""
    session.expire_all()
    return [(p, s, v) for p, s, v in session.execute(
        select(Participant.number, Vote.statement_id, Vote.value)
        .join(Participant, Participant.id == Vote.participant_id).order_by(Vote.id)).all()]


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def test_a_first_vote_sets_the_participant_cookie_and_later_votes_keep_it(
        client: TestClient, talk: Conversation, session: Session) -> None:
    first = _vote(client)
    assert first.status_code == 201, first.text
    assert first.headers["content-type"] == "application/json"
    assert first.json() == {"vote": first.json()["vote"], "statement": 0, "participant": 0}
    set_cookie = first.headers["set-cookie"]
    assert set_cookie.startswith(f"{PARTICIPANT_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age="):
        assert attribute in set_cookie
    cookie = client.cookies.get(PARTICIPANT_COOKIE)
    assert cookie
    second = _vote(client, body={"statement": 1, "vote": -1})
    assert second.status_code == 201
    assert second.json()["participant"] == 0
    assert "set-cookie" not in second.headers
    assert second.json()["vote"] > first.json()["vote"]
    joined = session.scalars(select(Participant)).one()
    assert joined.browser_key == service.browser_key(cookie)
    assert [(p, v) for p, _, v in _votes(session)] == [(0, 1), (0, -1)]


def test_a_header_names_the_participant_for_other_clients(
        client: TestClient, talk: Conversation, session: Session) -> None:
    assert _vote(client).json()["participant"] == 0  # a browser: participant 0
    client.cookies.clear()
    for statement in range(3):
        response = _vote(client, body={"statement": statement, "vote": 0}, headers=HEADER)
        assert response.status_code == 201
        assert response.json()["participant"] == 1
        assert "set-cookie" not in response.headers
    assert len(_votes(session)) == 4


def test_a_signed_in_user_votes_as_their_account(
        client: TestClient, talk: Conversation, world: World, session: Session) -> None:
    sign_in(client, world.viewer)
    response = _vote(client, "members")
    assert response.status_code == 201, response.text
    assert PARTICIPANT_COOKIE not in response.headers.get("set-cookie", "")
    joined = session.scalars(select(Participant)).one()
    assert joined.user_id == world.viewer.id
    assert _vote(client).json()["participant"] == 0  # their own number in another conversation


def test_invited_participants_vote_with_their_external_id(
        client: TestClient, talk: Conversation, world: World, session: Session) -> None:
    invited = open_conversation(session, world.mission, "invited", statements=2,
                                participation=Participation.XID)
    service.register_xids(session, invited, ["person-1"])
    session.commit()
    _is_problem(_vote(client, "invited"), 403)
    _is_problem(_vote(client, "invited", headers={"X-Participant-Xid": "person-2"}), 403)
    ok = _vote(client, "invited", headers={"X-Participant-Xid": "person-1"})
    assert ok.status_code == 201, ok.text
    # The invitation link leaves the id in the page session; votes then need no header.
    assert client.get("/conversations/invited?xid=person-1").status_code == 303
    again = _vote(client, "invited", body={"statement": 1, "vote": -1})
    assert again.status_code == 201, again.text
    assert again.json()["participant"] == ok.json()["participant"]
    assert PARTICIPANT_COOKIE not in client.cookies


@pytest.mark.parametrize(("slug", "status"), [
    ("nowhere", 404), ("draft-talk", 404), ("unpublished", 404), ("Bad%20Slug", 404),
    ("closed-talk", 409), ("members", 403)])
def test_votes_where_none_can_be_cast_are_refused(
        client: TestClient, talk: Conversation, session: Session, slug: str,
        status: int) -> None:
    _is_problem(_vote(client, slug), status)
    assert _votes(session) == []


@pytest.mark.parametrize("body", [
    {"statement": 0, "vote": 2}, {"statement": 0, "vote": "agree"}, {"statement": 0},
    {"statement": -1, "vote": 1}, {"statement": "zero", "vote": 1}, [1, 2], "null"])
def test_bad_votes_are_422(
        client: TestClient, talk: Conversation, session: Session, body: Any) -> None:
    problem = _is_problem(_vote(client, body=body), 422)
    assert problem["errors"]
    assert all(e["field"].startswith("body") for e in problem["errors"])
    assert _votes(session) == []


def test_a_statement_not_in_the_conversation_is_404(
        client: TestClient, talk: Conversation, session: Session) -> None:
    _is_problem(_vote(client, body={"statement": 3, "vote": 1}), 404)
    assert _votes(session) == []


def test_only_json_is_accepted(client: TestClient, talk: Conversation, session: Session
                               ) -> None:
    form = client.post("/api/v1/conversations/talk/votes",
                       data={"statement": "0", "vote": "1"})
    _is_problem(form, 415)
    text = client.post("/api/v1/conversations/talk/votes", content=b'{"statement":0,"vote":1}',
                       headers={"content-type": "text/plain"})
    _is_problem(text, 415)
    broken = client.post("/api/v1/conversations/talk/votes", content=b'{"statement":',
                         headers={"content-type": "application/json"})
    _is_problem(broken, 422)
    huge = client.post("/api/v1/conversations/talk/votes", json={"statement": 0, "vote": 1,
                                                                  "x": "y" * 2000})
    _is_problem(huge, 413)
    assert _votes(session) == []


def test_a_malformed_participant_header_is_422(client: TestClient, talk: Conversation) -> None:
    problem = _is_problem(_vote(client, headers={"X-Participant-Id": "short"}), 422)
    assert problem["errors"][0]["field"] == "X-Participant-Id"


def test_a_database_failure_is_503_and_stores_nothing(
        client: TestClient, talk: Conversation, session: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _vote(client).status_code == 201

    def broken(self: VoteWriter, rows: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("the server went away"))

    monkeypatch.setattr(VoteWriter, "_write_now", broken)
    response = _vote(client, body={"statement": 1, "vote": 1})
    _is_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert len(_votes(session)) == 1


def test_next_gives_each_statement_once_then_204(
        client: TestClient, talk: Conversation, session: Session) -> None:
    seen = []
    for _ in range(3):
        response = client.get("/api/v1/conversations/talk/next", headers=HEADER)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"statement", "text"}
        assert body["statement"] not in seen
        seen.append(body["statement"])
        assert _vote(client, body={"statement": body["statement"], "vote": 1},
                     headers=HEADER).status_code == 201
    assert sorted(seen) == [0, 1, 2]
    done = client.get("/api/v1/conversations/talk/next", headers=HEADER)
    assert done.status_code == 204
    assert done.content == b""
    # A newcomer (no id yet) is offered a statement too.
    assert client.get("/api/v1/conversations/talk/next").status_code == 200
    _is_problem(client.get("/api/v1/conversations/draft-talk/next"), 404)
    _is_problem(client.get("/api/v1/conversations/closed-talk/next"), 409)


def test_the_summary_counts_and_says_when_it_was_analysed(
        client: TestClient, talk: Conversation, session: Session) -> None:
    _vote(client)
    _vote(client, body={"statement": 1, "vote": 0})
    _vote(client, headers=HEADER)
    summary = client.get("/api/v1/conversations/talk")
    assert summary.status_code == 200
    body = summary.json()
    assert {k: body[k] for k in ("slug", "status", "participation", "statements",
                                 "participants", "votes", "analysed_at", "mission")} == {
        "slug": "talk", "status": "open", "participation": "anonymous", "statements": 3,
        "participants": 2, "votes": 3, "analysed_at": None, "mission": talk.mission.slug}
    finished = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    session.add_all([AnalysisRun(conversation_id=talk.id, finished_at=finished),
                     AnalysisRun(conversation_id=talk.id,
                                 finished_at=finished + dt.timedelta(hours=1))])
    session.commit()
    analysed = client.get("/api/v1/conversations/talk").json()["analysed_at"]
    assert dt.datetime.fromisoformat(analysed) == finished + dt.timedelta(hours=1)


def test_a_draft_conversation_is_hidden_but_from_those_who_may_see_drafts(
        client: TestClient, talk: Conversation, world: World, session: Session) -> None:
    _is_problem(client.get("/api/v1/conversations/draft-talk"), 404)
    _is_problem(client.get("/api/v1/conversations/unpublished"), 404)
    token = bearer(session, world.viewer)
    assert client.get("/api/v1/conversations/draft-talk",
                      headers=token).json()["status"] == "draft"
    # Votes are never taken in a draft, whoever asks.
    _is_problem(_vote(client, "draft-talk", headers=token), 404)
    sign_in(client, world.viewer)
    _is_problem(_vote(client, "draft-talk"), 404)


def test_the_endpoints_are_documented(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    votes = paths["/conversations/{slug}/votes"]["post"]
    assert "application/json" in votes["requestBody"]["content"]
    assert {"201", "404", "409", "415", "422", "503"} <= set(votes["responses"])
    assert "/conversations/{slug}/next" in paths
    assert "/conversations/{slug}" in paths
