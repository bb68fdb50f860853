"""The background analyser: which conversations are due, the analysis in a child process
(on a database it opens by URL), the web app's lifespan hook and PostgreSQL's lock."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from missionboard.config import get_settings
from missionboard.db import migrate
from missionboard.db.base import utcnow
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.deliberation import service
from missionboard.deliberation.analysis import run_analysis
from missionboard.deliberation.models import (
    AnalysisRun,
    Conversation,
    ConversationStatus,
    Participant,
    Statement,
    StatementState,
    Vote,
)
from missionboard.deliberation.worker import (
    LOCK_NAMESPACE,
    BackgroundAnalyser,
    analyse_conversation,
    due,
)
from missionboard.web.app import create_app
from tests.analytics.test_deliberation import FIXTURES
from tests.conftest import fresh_database_url
from tests.deliberation.test_analysis import imported

LONDON = FIXTURES / "london.youth.policing"


def _open(session: Session, conversation: Conversation) -> Conversation:
    conversation.status = ConversationStatus.OPEN
    session.flush()
    return conversation


def _vote(session: Session, conversation: Conversation) -> int:
    """One more vote, as the vote writer adds it; its id."""
    participant = session.scalar(select(Participant.id).where(
        Participant.conversation_id == conversation.id).order_by(Participant.number).limit(1))
    statement = session.scalar(select(Statement.id).where(
        Statement.conversation_id == conversation.id).order_by(Statement.number).limit(1))
    return int(session.execute(insert(Vote).values(
        conversation_id=conversation.id, participant_id=participant, statement_id=statement,
        value=1, cast_at=int(time.time() * 1000)).returning(Vote.id)).scalar_one())


def test_due_picks_conversations_with_new_votes_and_not_others(session: Session) -> None:
    quiet = _open(session, imported(session, LONDON, slug="quiet"))
    busy = _open(session, imported(session, LONDON, slug="busy"))
    never = _open(session, imported(session, LONDON, slug="never"))
    assert due(session) == [quiet.id, busy.id, never.id]  # votes, no analysis yet
    for conversation in (quiet, busy, never):
        run_analysis(session, conversation)
    assert due(session) == []
    _vote(session, busy)
    assert due(session) == [busy.id]
    run_analysis(session, busy)
    assert due(session) == []


def test_due_follows_moderation_and_fixed_k(session: Session) -> None:
    moderated = _open(session, imported(session, LONDON, slug="moderated"))
    regrouped = _open(session, imported(session, LONDON, slug="regrouped"))
    run_analysis(session, moderated)
    run_analysis(session, regrouped)
    assert due(session) == []
    service.moderate(session, service.get_statement(session, moderated, 4),
                     StatementState.REJECTED, reason="Off topic")
    regrouped.fixed_k = 2
    session.flush()
    assert due(session) == [moderated.id, regrouped.id]
    run_analysis(session, moderated)
    run_analysis(session, regrouped)
    assert due(session) == []


def test_due_watches_closed_conversations_for_a_while(session: Session) -> None:
    conversation = imported(session, LONDON)  # closed in 2022
    run_analysis(session, conversation)
    _vote(session, conversation)
    assert due(session) == []
    conversation.closed_at = utcnow() - dt.timedelta(days=1)
    session.flush()
    assert due(session) == [conversation.id]
    assert due(session, now=utcnow() + dt.timedelta(days=30)) == []


# --------------------------------------------------------------------------------------------
# In a child process, on a database it opens by URL
# --------------------------------------------------------------------------------------------

@pytest.fixture
def file_db(backend: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A database of its own (a file for SQLite) holding london.youth.policing, open and
    analysed once."""
    url = fresh_database_url(backend, tmp_path, "missionboard_worker")
    migrate.upgrade(url=url)
    engine = create_db_engine(url)
    with unit_of_work(create_session_factory(engine)) as session:
        run_analysis(session, _open(session, imported(session, LONDON)))
    yield url, engine
    engine.dispose()


def _add_vote(engine: Engine) -> int:
    with unit_of_work(create_session_factory(engine)) as session:
        conversation = session.scalars(select(Conversation)).one()
        return _vote(session, conversation)


def _wait_for_run(engine: Engine, vote_id: int, *, timeout: float = 60.0) -> AnalysisRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            run = session.scalar(select(AnalysisRun).where(AnalysisRun.last_vote_id >= vote_id))
            if run is not None:
                return run
        time.sleep(0.05)
    pytest.fail("no analysis of the new vote")


def test_background_analyser_analyses_new_votes_in_a_child(file_db: tuple[str, Engine]
                                                           ) -> None:
    url, engine = file_db
    vote_id = _add_vote(engine)
    analyser = BackgroundAnalyser(url, interval=0.1)
    analyser.start()
    try:
        run = _wait_for_run(engine, vote_id)
    finally:
        analyser.stop()
    assert run.n_votes == 641
    assert run.k >= 1
    with Session(engine) as session:
        assert due(session) == []


def test_the_web_app_runs_the_analyser_in_its_lifespan(file_db: tuple[str, Engine]) -> None:
    url, engine = file_db
    vote_id = _add_vote(engine)
    settings = get_settings(database_url=url, secret_key="test-secret",
                            deliberation_interval_seconds=0.1)
    with TestClient(create_app(settings)):
        _wait_for_run(engine, vote_id)


def test_one_pass_in_process_and_a_vanished_conversation(file_db: tuple[str, Engine]) -> None:
    url, engine = file_db
    vote_id = _add_vote(engine)
    with Session(engine) as session:
        (conversation_id,) = due(session)
    outcome = analyse_conversation(url, conversation_id, cold=True)
    assert outcome is not None
    assert (outcome.warm, outcome.n_votes, outcome.conversation_id) == (False, 641,
                                                                         conversation_id)
    with Session(engine) as session:
        run = session.get(AnalysisRun, outcome.run_id)
        assert run is not None
        assert run.last_vote_id == vote_id
    assert analyse_conversation(url, conversation_id + 1000) is None


def test_a_conversation_locked_elsewhere_is_skipped_on_postgresql(tmp_path: Path) -> None:
    url = fresh_database_url("postgresql", tmp_path, "missionboard_worker_lock")
    migrate.upgrade(url=url)
    engine = create_db_engine(url)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            conversation_id = imported(session, LONDON).id
        with engine.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(:a, :b)"),
                          {"a": LOCK_NAMESPACE, "b": conversation_id})
            assert analyse_conversation(url, conversation_id) is None
            other.execute(text("SELECT pg_advisory_unlock(:a, :b)"),
                          {"a": LOCK_NAMESPACE, "b": conversation_id})
        assert analyse_conversation(url, conversation_id) is not None
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(AnalysisRun)) == 1
    finally:
        engine.dispose()
