"""Conversation pages through HTTP, on both databases: taking part with plain forms (no
JavaScript), adding statements with errors shown, the organisers' queue, the public log."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from missionboard.deliberation import service
from missionboard.deliberation.models import (
    ConversationStatus,
    ModerationEvent,
    Participant,
    Participation,
    Statement,
    StatementState,
    Vote,
)
from missionboard.deliberation.schemas import ConversationIn
from tests.factories import World
from tests.web.conftest import check_page, csrf_from, sign_in

SEEDS = ["Buses should run every ten minutes.", "Parking should be free in town centres.",
         "Cycle lanes need proper kerbs."]


@pytest.fixture
def talk(session: Session, world: World) -> World:
    conversation = service.create_conversation(session, mission=world.mission, data=ConversationIn(
        slug="talk", title="Getting around", question="How should we get around town?",
        statement_cap=2, outcome_id=world.outcome.id))
    for seed in SEEDS:
        service.add_seed(session, conversation, seed, moderator=world.editor)
    service.set_status(session, conversation, ConversationStatus.OPEN)
    session.commit()
    return world


def _vote(client: TestClient, page: str, choice: str) -> tuple[int, str]:
    number = int(re.search(r'name="statement" value="(\d+)"', page).group(1))  # type: ignore[union-attr]
    response = client.post("/conversations/talk/vote", data={
        "csrf_token": csrf_from(page), "statement": str(number), "vote": choice})
    assert response.status_code == 303, response.text[:500]
    return number, check_page(client.get("/conversations/talk"))


def test_a_visitor_votes_on_every_statement_with_plain_forms(
        client: TestClient, talk: World, session: Session) -> None:
    page = check_page(client.get("/conversations/talk"))
    assert "How should we get around town?" in page
    assert "You have voted on 0 of 3 statements." in page
    seen = []
    for choice in ("agree", "disagree", "pass"):
        number, page = _vote(client, page, choice)
        seen.append(number)
    assert sorted(seen) == [0, 1, 2]  # one statement at a time, none twice
    assert "You have voted on every statement" in page
    cookie = client.cookies.get("missionboard_participant")
    assert cookie
    people = session.scalars(select(Participant)).all()
    assert len(people) == 1
    assert people[0].browser_key == service.browser_key(cookie)
    votes = session.scalars(select(Vote).order_by(Vote.id)).all()
    assert [v.value for v in votes] == [1, -1, 0]
    # Another browser is another participant.
    other = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    _vote(other, check_page(other.get("/conversations/talk")), "agree")
    session.expire_all()
    assert len(session.scalars(select(Participant)).all()) == 2


def test_a_bad_vote_is_refused_and_stores_nothing(
        client: TestClient, talk: World, session: Session) -> None:
    page = check_page(client.get("/conversations/talk"))
    for data in ({"statement": "0", "vote": "maybe"}, {"statement": "x", "vote": "agree"},
                 {"statement": "99", "vote": "agree"}):
        response = client.post("/conversations/talk/vote",
                               data={"csrf_token": csrf_from(page), **data})
        assert response.status_code in {400, 404, 422}
    assert session.scalars(select(Vote)).all() == []
    response = client.post("/conversations/talk/vote", data={"statement": "0", "vote": "agree"})
    assert response.status_code == 403  # no CSRF token


def test_statements_show_errors_then_wait_for_moderation(
        client: TestClient, talk: World, session: Session) -> None:
    page = check_page(client.get("/conversations/talk"))
    response = client.post("/conversations/talk/statements", data={
        "csrf_token": csrf_from(page), "text": "buses should run every ten minutes"})
    html = check_page(response, status=422)
    assert "There is a problem" in html
    assert "very like statement 0" in html
    assert 'href="#text"' in html
    response = client.post("/conversations/talk/statements", data={
        "csrf_token": csrf_from(page), "text": "Trams would serve the ring road better."})
    assert response.status_code == 303
    page = check_page(client.get("/conversations/talk"))
    assert "your statement is with the moderators" in page
    assert "Waiting for moderation" in page
    statement = session.scalars(select(Statement).where(Statement.number == 3)).one()
    assert statement.state == StatementState.PENDING
    assert statement.author is not None


def test_organisers_moderate_from_the_queue_and_the_log_is_public(
        client: TestClient, talk: World, session: Session) -> None:
    conversation = service.get_conversation(session, slug="talk")
    person = service.join(session, conversation, browser_id="someone")
    service.submit(session, conversation, person,
                   "Buses should run every ten minutes, even at night.")
    service.submit(session, conversation, person, "Call me on 07700 900123 about buses.")
    session.commit()
    sign_in(client, talk.editor)
    page = check_page(client.get("/conversations/talk/manage"))
    assert "Moderation queue (2)" in page
    assert "Possible repeat of" in page
    response = client.post("/conversations/talk/statements/4/moderate", data={
        "csrf_token": csrf_from(page), "state": "rejected", "reason": ""})
    html = check_page(response, status=422)
    assert "Give the reason for rejecting" in html
    for number, state, reason in ((4, "rejected", "Personal details"), (3, "accepted", "")):
        response = client.post(f"/conversations/talk/statements/{number}/moderate", data={
            "csrf_token": csrf_from(page), "state": state, "reason": reason})
        assert response.status_code == 303
    assert len(session.scalars(select(ModerationEvent)).all()) == 3 + 2  # seeds + decisions
    client.post("/sign-out", data={"csrf_token": csrf_from(page)})
    log = check_page(client.get("/conversations/talk/moderation"))
    assert "Personal details" in log
    assert "07700" not in log  # rejected text is not republished
    assert "even at night" in log
    report = check_page(client.get("/conversations/talk/report"))
    assert "07700" not in report
    assert "even at night" in report
    assert '<span class="govuk-heading-l govuk-!-margin-bottom-0">4</span>statements' in report


def test_closed_conversations_take_no_votes_and_drafts_are_hidden(
        client: TestClient, talk: World, session: Session) -> None:
    conversation = service.get_conversation(session, slug="talk")
    service.set_status(session, conversation, ConversationStatus.CLOSED)
    session.commit()
    page = check_page(client.get("/conversations/talk"))
    assert "This conversation is closed" in page
    response = client.post("/conversations/talk/vote", data={
        "csrf_token": csrf_from(client.get("/sign-in").text), "statement": "0",
        "vote": "agree"})
    assert response.status_code == 409
    assert session.scalars(select(Vote)).all() == []
    assert "Getting around" in check_page(client.get("/conversations"))
    assert "Getting around" in check_page(client.get(f"/missions/{talk.mission.slug}"))


def test_an_organiser_starts_a_conversation_with_errors_shown(
        client: TestClient, talk: World, session: Session) -> None:
    sign_in(client, talk.editor)
    page = check_page(client.get(f"/missions/{talk.mission.slug}/conversations/new"))
    response = client.post(f"/missions/{talk.mission.slug}/conversations/new", data={
        "csrf_token": csrf_from(page), "slug": "Bad Slug", "title": "", "question": "Q?",
        "participation": "anonymous", "statement_cap": "3"})
    html = check_page(response, status=422)
    assert "There is a problem" in html
    response = client.post(f"/missions/{talk.mission.slug}/conversations/new", data={
        "csrf_token": csrf_from(page), "slug": "parks", "title": "Parks", "question": "Q?",
        "participation": "xid", "statement_cap": "3", "fixed_k": "2"})
    assert response.headers["location"] == "/conversations/parks/manage"
    created = service.get_conversation(session, slug="parks", include_drafts=True)
    assert (created.fixed_k, created.participation.value, created.premoderate) == (2, "xid", False)


def test_invited_people_join_with_their_link_only(
        client: TestClient, talk: World, session: Session) -> None:
    conversation = service.get_conversation(session, slug="talk")
    conversation.participation = Participation.XID
    service.register_xids(session, conversation, ["abc-123"])
    session.commit()
    page = check_page(client.get("/conversations/talk"))
    assert "for invited participants" in page
    assert client.get("/conversations/talk?xid=wrong").status_code == 404
    response = client.get("/conversations/talk?xid=abc-123")
    assert response.status_code == 303
    page = check_page(client.get("/conversations/talk"))
    _vote(client, page, "agree")
    vote = session.scalars(select(Vote)).one()
    assert session.get(Participant, vote.participant_id).xid == "abc-123"  # type: ignore[union-attr]


def test_the_public_download_leaves_out_rejected_text_and_external_ids(
        client: TestClient, talk: World, session: Session) -> None:
    conversation = service.get_conversation(session, slug="talk")
    conversation.participation = Participation.XID
    service.register_xids(session, conversation, ["secret-id-1"])
    person = service.join(session, conversation, xid="secret-id-1")
    service.cast(session, conversation, person, 0, 1)
    bad = service.submit(session, conversation, person, "Call me on 07700 900123 about it.")
    service.moderate(session, bad, StatementState.REJECTED, reason="Personal details")
    session.commit()
    response = client.get("/conversations/talk/export.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        files = {name.rsplit("/", 1)[-1]: archive.read(name).decode() for name in
                 archive.namelist()}
    assert sorted(files) == ["comments.csv", "participants-votes.csv", "summary.csv",
                             "votes.csv"]
    assert "07700" not in files["comments.csv"]
    assert "(removed by moderation)" in files["comments.csv"]
    assert "secret-id-1" not in files["participants-votes.csv"]
    assert SEEDS[0] in files["comments.csv"]
    assert files["votes.csv"].count("\n") == 2  # header and the one vote


def test_the_report_shows_groups_and_when_the_analysis_last_ran(
        client: TestClient, talk: World, session: Session) -> None:
    from missionboard.deliberation.analysis import run_analysis

    conversation = service.get_conversation(session, slug="talk")
    assert "have not been worked out yet" in check_page(client.get("/conversations/talk/report"))
    for i in range(40):
        person = service.join(session, conversation, browser_id=f"b{i}")
        for number in range(3):
            service.cast(session, conversation, person, number, 1 if (i + number) % 2 else -1)
    run = run_analysis(session, conversation, cold=True)
    session.commit()
    page = check_page(client.get("/conversations/talk/report"))
    assert "Groups last worked out" in page
    assert f"from {run.n_votes} votes by 40 people" in page
    assert "Group A" in page
    assert "Participation over time" in page
    assert 'id="opinion-map-spec"' in page


def test_only_accepted_text_is_public_whatever_the_history(
        client: TestClient, talk: World, session: Session) -> None:
    conversation = service.get_conversation(session, slug="talk")
    conversation.statement_cap = 5
    person = service.join(session, conversation, browser_id="writer-browser-id-0001")
    waiting = service.submit(session, conversation, person, "Waiting text 07700 900111.")
    flipped = service.submit(session, conversation, person, "Flipped text 07700 900222.")
    service.moderate(session, flipped, StatementState.ACCEPTED, moderator=talk.editor)
    service.moderate(session, flipped, StatementState.REJECTED, reason="Phone number",
                     moderator=talk.editor)
    requeued = service.submit(session, conversation, person, "Requeued text 07700 900333.")
    service.moderate(session, requeued, StatementState.ACCEPTED, moderator=talk.editor)
    service.moderate(session, requeued, StatementState.PENDING, moderator=talk.editor)
    session.commit()
    assert waiting.state == StatementState.PENDING
    log = check_page(client.get("/conversations/talk/moderation"))
    report = check_page(client.get("/conversations/talk/report"))
    with zipfile.ZipFile(io.BytesIO(client.get("/conversations/talk/export.zip").content)) as z:
        comments = next(z.read(n).decode() for n in z.namelist() if n.endswith("comments.csv"))
    for public in (log, report, comments):
        assert "07700" not in public
    assert SEEDS[1] in comments


def test_votes_and_participants_are_not_copied_into_the_audit_log(
        client: TestClient, talk: World, session: Session) -> None:
    from missionboard.accounts.models import AuditEntry

    before = len(session.scalars(select(AuditEntry)).all())
    page = check_page(client.get("/conversations/talk"))
    _vote(client, page, "agree")
    assert len(session.scalars(select(Vote)).all()) == 1
    tables = {e.table_name for e in session.scalars(select(AuditEntry)).all()[before:]}
    assert not tables & {"deliberation_votes", "deliberation_participants"}


def test_out_of_range_numbers_are_refused_not_crashes(
        client: TestClient, talk: World) -> None:
    page = check_page(client.get("/conversations/talk"))
    token = csrf_from(page)
    response = client.post("/conversations/talk/vote", data={
        "csrf_token": token, "statement": str(2**70), "vote": "agree"})
    assert response.status_code == 422
    sign_in(client, talk.editor)
    response = client.post(f"/conversations/talk/statements/{2**70}/moderate", data={
        "csrf_token": token, "state": "accepted"})
    assert 400 <= response.status_code < 500


def test_recompute_waits_for_the_background_analyser_on_postgresql(
        client: TestClient, talk: World, session: Session, engine: Engine,
        backend: str) -> None:
    from missionboard.deliberation.models import AnalysisRun
    from missionboard.deliberation.worker import LOCK_NAMESPACE

    conversation = service.get_conversation(session, slug="talk")
    sign_in(client, talk.editor)
    token = csrf_from(client.get("/conversations/talk/manage").text)
    key = {"namespace": LOCK_NAMESPACE, "conversation": conversation.id}
    with engine.connect() as other:
        if backend == "postgresql":  # the background analyser holds the lock
            assert other.scalar(text("SELECT pg_try_advisory_lock(:namespace, :conversation)"),
                                key)
            other.commit()
        response = client.post("/conversations/talk/analyse", data={"csrf_token": token})
        assert response.status_code == 303
        page = check_page(client.get("/conversations/talk/manage"))
        runs = session.scalars(select(AnalysisRun)).all()
        if backend == "postgresql":
            assert "running in the background now" in page
            assert runs == []
            other.execute(text("SELECT pg_advisory_unlock(:namespace, :conversation)"), key)
            other.commit()
        else:
            assert "Analysed 0 votes" in page
            assert len(runs) == 1
