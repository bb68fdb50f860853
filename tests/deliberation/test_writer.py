"""The group-commit vote writer, on both databases: many concurrent votes stored exactly once,
a failing batch stores none and fails every vote in it, the checks made from the caches."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, delete, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from missionboard.deliberation import service
from missionboard.deliberation.models import (
    Conversation,
    ConversationStatus,
    Participant,
    Participation,
    Statement,
    Vote,
)
from missionboard.deliberation.schemas import ConversationIn
from missionboard.deliberation.writer import Cast, Identity, VotesUnavailable, VoteWriter
from missionboard.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests import factories

STATEMENTS = 40


def statement_text(number: int) -> str:
    """Seed statements that are not near-duplicates of each other."""
    return f"Proposal {hashlib.sha256(str(number).encode()).hexdigest()[:24]}"


def open_conversation(session: Session, mission: Any, slug: str, *, statements: int = STATEMENTS,
                      participation: Participation = Participation.ANONYMOUS,
                      status: ConversationStatus = ConversationStatus.OPEN) -> Conversation:
    conversation = service.create_conversation(session, mission=mission, data=ConversationIn(
        slug=slug, title=f"Talk {slug}", question="What should we do?",
        participation=participation))
    for number in range(statements):
        service.add_seed(session, conversation, statement_text(number))
    if status != ConversationStatus.DRAFT:
        service.set_status(session, conversation, status)
    return conversation


@pytest.fixture
def mission(session: Session) -> Any:
    return factories.mission(session, "votes")


@pytest.fixture
def talk(session: Session, mission: Any) -> Conversation:
    conversation = open_conversation(session, mission, "talk")
    session.commit()
    return conversation


@pytest.fixture
def writer(session_factory: sessionmaker[Session]) -> VoteWriter:
    return VoteWriter(session_factory)


def run(coroutine: Callable[[], Awaitable[Any]]) -> Any:
    """Run on a fresh event loop in a thread of its own: a test process that has run the
    browser tests already has a loop running in its main thread (Playwright's)."""
    async def main() -> Any:
        return await coroutine()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def person(n: int) -> Identity:
    return Identity(browser_id=f"browser-{n:04d}-{'x' * 20}")


def stored(session: Session, conversation: Conversation) -> dict[int, tuple[int, int, int]]:
    """Each stored vote: id → (participant number, statement number, value)."""
    session.expire_all()
    rows = session.execute(
        select(Vote.id, Participant.number, Statement.number, Vote.value)
        .join(Participant, Participant.id == Vote.participant_id)
        .join(Statement, Statement.id == Vote.statement_id)
        .where(Vote.conversation_id == conversation.id)).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


@pytest.fixture
def statements_run(connection: Connection) -> Iterator[list[str]]:
    """The SQL statements run on the test's connection while the fixture is active."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection, "before_cursor_execute", record)


def test_concurrent_votes_are_each_stored_once_with_their_ids(
        session: Session, talk: Conversation, writer: VoteWriter) -> None:
    rng = random.Random(7)
    sent = [(p, s, rng.choice((-1, 0, 1))) for p in range(50) for s in range(STATEMENTS)]
    rng.shuffle(sent)

    async def vote_all() -> list[Cast]:
        return await asyncio.gather(*(
            writer.cast("talk", statement=s, value=v, identity=person(p)) for p, s, v in sent))

    casts: list[Cast] = run(vote_all)
    assert len(casts) == 2_000
    rows = stored(session, talk)
    assert len(rows) == 2_000
    assert sorted(rows) == sorted(c.vote for c in casts)  # every id answered is a row
    numbers: dict[int, int] = {}  # person → participant number, one each
    for (p, s, v), cast in zip(sent, casts, strict=True):
        participant, statement, value = rows[cast.vote]
        assert (statement, value) == (s, v) == (cast.statement, v)
        assert participant == cast.participant
        assert numbers.setdefault(p, participant) == participant
    assert sorted(numbers.values()) == list(range(50))
    assert session.scalar(select(func.count()).select_from(Participant)) == 50
    assert writer.batches < 2_000 / 10  # group commit: many votes per transaction


def test_cached_votes_cost_one_check_and_one_insert_per_batch(
        session: Session, talk: Conversation, writer: VoteWriter,
        statements_run: list[str]) -> None:
    async def two_waves() -> int:
        await writer.cast("talk", statement=0, value=1, identity=person(1))  # warms the caches
        statements_run.clear()
        before = writer.batches
        await asyncio.gather(*(writer.cast("talk", statement=s, value=-1, identity=person(1))
                               for s in range(1, STATEMENTS)))
        return writer.batches - before

    batches = run(two_waves)
    selects = [s for s in statements_run if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == batches == 1  # the status check; no lookup per vote
    assert "FOR SHARE" in selects[0] or session.get_bind().dialect.name == "sqlite"
    assert len(stored(session, talk)) == STATEMENTS


def test_a_failing_batch_fails_every_vote_in_it_and_stores_none(
        session: Session, talk: Conversation, writer: VoteWriter) -> None:
    async def warm() -> None:
        await asyncio.gather(*(writer.cast("talk", statement=0, value=1, identity=person(p))
                               for p in range(5)))

    run(warm)
    # A statement disappears while the writer still has it cached: its vote breaks the batch.
    session.execute(delete(Statement).where(Statement.conversation_id == talk.id,
                                            Statement.number == 1))
    session.commit()
    before = len(stored(session, talk))
    assert before == 5

    async def batch() -> tuple[list[Any], int]:
        start = writer.batches
        results = await asyncio.gather(
            *(writer.cast("talk", statement=s, value=-1, identity=person(p))
              for p in range(5) for s in (2, 1, 3)),
            return_exceptions=True)
        return results, writer.batches - start

    results, batches = run(batch)
    assert batches == 1
    assert all(isinstance(r, VotesUnavailable) for r in results), results
    assert len(stored(session, talk)) == before

    # The caches were dropped: the deleted statement is now unknown, the others still work.
    async def after() -> tuple[Cast, BaseException | Cast]:
        ok = await writer.cast("talk", statement=2, value=0, identity=person(0))
        gone = await asyncio.gather(
            writer.cast("talk", statement=1, value=0, identity=person(0)),
            return_exceptions=True)
        return ok, gone[0]

    ok, gone = run(after)
    assert isinstance(gone, NotFound)
    assert stored(session, talk)[ok.vote] == (0, 2, 0)


def test_a_database_error_fails_the_batch(
        session: Session, talk: Conversation, writer: VoteWriter,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(rows: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("the server went away"))

    run(lambda: writer.cast("talk", statement=0, value=1, identity=person(1)))
    monkeypatch.setattr(writer, "_write_now", broken)

    async def votes() -> list[Any]:
        return await asyncio.gather(
            *(writer.cast("talk", statement=s, value=1, identity=person(1)) for s in range(5)),
            return_exceptions=True)

    results = run(votes)
    assert all(isinstance(r, VotesUnavailable) for r in results)
    assert len(stored(session, talk)) == 1


def test_a_conversation_closed_since_it_was_cached_takes_no_more_votes(
        session: Session, mission: Any, talk: Conversation, writer: VoteWriter) -> None:
    other = open_conversation(session, mission, "other", statements=2)
    session.commit()

    async def warm() -> None:
        await writer.cast("talk", statement=0, value=1, identity=person(1))
        await writer.cast("other", statement=0, value=1, identity=person(1))

    run(warm)
    service.set_status(session, talk, ConversationStatus.CLOSED)
    session.commit()

    async def mixed() -> list[Any]:
        return list(await asyncio.gather(
            writer.cast("talk", statement=1, value=1, identity=person(1)),
            writer.cast("other", statement=1, value=-1, identity=person(1)),
            return_exceptions=True))

    closed, fine = run(mixed)
    assert isinstance(closed, Conflict)
    assert isinstance(fine, Cast)
    assert len(stored(session, talk)) == 1
    assert stored(session, other)[fine.vote] == (0, 1, -1)
    # The next vote is refused from the refreshed cache, before any batch.
    with pytest.raises(Conflict):
        run(lambda: writer.cast("talk", statement=2, value=1, identity=person(1)))


def test_votes_are_checked_before_they_are_queued(
        session: Session, mission: Any, talk: Conversation, writer: VoteWriter) -> None:
    open_conversation(session, mission, "draft", statements=1,
                      status=ConversationStatus.DRAFT)
    open_conversation(session, mission, "members", statements=1,
                      participation=Participation.SIGN_IN)
    hidden = factories.mission(session, "hidden", published=False)
    open_conversation(session, hidden, "hidden", statements=1)
    session.commit()
    cases: list[tuple[str, int, int, Identity, type[Exception]]] = [
        ("nowhere", 0, 1, person(1), NotFound),
        ("draft", 0, 1, person(1), NotFound),
        ("hidden", 0, 1, person(1), NotFound),
        ("talk", STATEMENTS, 1, person(1), NotFound),
        ("talk", 0, 2, person(1), ValidationFailed),
        ("talk", 0, 1, Identity(), ValidationFailed),
        ("members", 0, 1, person(1), PermissionDenied),
    ]
    for slug, statement, value, identity, error in cases:
        with pytest.raises(error):
            run(lambda slug=slug, statement=statement, value=value, identity=identity:  # type: ignore[misc]
                writer.cast(slug, statement=statement, value=value, identity=identity))
    assert stored(session, talk) == {}
    assert session.scalar(select(func.count()).select_from(Participant)) == 0


def test_a_signed_in_user_is_one_participant_whatever_the_browser(
        session: Session, talk: Conversation, writer: VoteWriter) -> None:
    user = factories.user(session, "voter@example.org")
    session.commit()

    async def votes() -> list[Cast]:
        return [await writer.cast("talk", statement=s, value=1, identity=Identity(
            browser_id=f"browser-{s}-{'y' * 20}", user_id=user.id)) for s in range(3)]

    casts = run(votes)
    assert {c.participant for c in casts} == {0}
    joined = session.scalars(select(Participant)).one()
    assert joined.user_id == user.id


def test_a_batch_is_at_most_batch_max_votes(
        session: Session, talk: Conversation, session_factory: sessionmaker[Session]) -> None:
    writer = VoteWriter(session_factory, batch_max=7)

    async def votes() -> list[Cast]:
        await writer.cast("talk", statement=0, value=1, identity=person(1))
        return await asyncio.gather(*(writer.cast("talk", statement=s, value=0,
                                                  identity=person(1))
                                      for s in range(1, 22)))

    casts = run(votes)
    assert writer.batches == 1 + 3
    assert len({c.vote for c in casts}) == 21
    assert len(stored(session, talk)) == 22
