"""The high-rate vote path: votes checked against short-lived caches, then group-committed.

A request hands its vote to :meth:`VoteWriter.cast` and waits. One flusher task per event
loop takes everything queued (up to ``batch_max`` votes), writes it in one transaction with
one multi-row ``INSERT … RETURNING id`` (SQLAlchemy Core's "insertmanyvalues", ids matched to
rows with ``sort_by_parameter_order=True``), commits, and only then answers each waiting
request with its vote's id. So an answer means the vote is durably stored; while one batch is
being written the next one gathers, so the rate grows with the load and a quiet server writes
each vote at once.

Nothing is looked up in the database per vote: each conversation (whether it is public and
open, and its accepted statements' numbers and ids) is cached for ``ttl`` seconds, and
participants are cached by who they are (browser, account or external id) in a bounded LRU.
An unknown participant joins through :func:`missionboard.deliberation.service.join` in a
normal unit of work, one at a time per conversation (participant numbers are "highest + 1"):
an ``asyncio.Lock`` in the process and, on PostgreSQL, an advisory lock between processes.

Consistency at the edges:

- the batch's transaction re-reads its conversations' status (``FOR SHARE`` on PostgreSQL,
  so a concurrent close waits for the batch or the batch sees it): a vote reaching a
  conversation closed since it was cached gets :class:`~missionboard.errors.Conflict`;
- a statement rejected by a moderator can still take votes for up to ``ttl`` seconds (the
  analysis reads only accepted statements);
- any database error fails every vote of the batch with :class:`VotesUnavailable` and
  nothing of the batch is stored (one transaction); the caches are dropped. As for any
  database client, a connection lost during the COMMIT itself leaves the outcome unknown:
  such votes are reported unavailable though they may have been stored, and a client that
  sends one again adds the same vote to the log a second time (the analysis counts the
  latest per participant and statement, so the result is the same).

Database work runs in threads (:func:`asyncio.to_thread`). The writes use their own
connection, kept for the writer's life (and replaced after an error). Given a session factory
bound to a single ``Connection`` (the tests), each batch is a SAVEPOINT in its transaction and
all the writer's database work is serialised, since one connection cannot serve two threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts.service import get_user
from missionboard.db.session import unit_of_work
from missionboard.deliberation import service
from missionboard.deliberation.models import (
    Conversation,
    ConversationStatus,
    Participation,
    Vote,
)
from missionboard.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")

#: The most votes one transaction writes.
BATCH_MAX = 5_000
#: How long a conversation's status and statements are trusted before they are re-read.
TTL_SECONDS = 1.0
#: Participants remembered per process (by browser, account or external id).
PARTICIPANTS_MAX = 100_000
#: Conversations remembered per process (including slugs that do not exist).
CONVERSATIONS_MAX = 1_000
#: The first key of the advisory lock taken while joining (the second: the conversation id).
JOIN_LOCK = 0x6D6A  # "mj"

_VOTES = cast(Table, Vote.__table__)
_RETURNING_IDS = insert(_VOTES).returning(_VOTES.c.id, sort_by_parameter_order=True)


class VotesUnavailable(DomainError):
    """The database could not store the votes: nothing of the batch was written."""

    status_code = 503
    title = "Votes cannot be stored just now"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is voting: a per-browser id, a signed-in account or a registered external id."""

    browser_id: str | None = None
    user_id: int | None = None
    xid: str | None = None


@dataclass(frozen=True, slots=True)
class CachedConversation:
    id: int
    slug: str
    status: ConversationStatus
    participation: Participation
    public: bool
    #: Accepted statements: number → id.
    statements: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class Cast:
    """A stored vote: its id, the statement's number and the participant's number."""

    vote: int
    statement: int
    participant: int


@dataclass(frozen=True, slots=True)
class _Row:
    conversation_id: int
    participant_id: int
    statement_id: int
    value: int
    cast_at: int


class _LRU(Generic[_K, _V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def remove_where(self, test: Callable[[_V], bool]) -> None:
        for key in [k for k, v in self._items.items() if test(v)]:
            del self._items[key]

    def clear(self) -> None:
        self._items.clear()


_Pending = tuple[_Row, "asyncio.Future[int]"]


class VoteWriter:
    """Validates votes from caches and group-commits them; one per application.

    ``session_factory`` is the application's; the writer's own connection comes from its
    bind (an ``Engine``, or in tests the ``Connection`` the sessions are joined to).
    """

    def __init__(self, session_factory: sessionmaker[Session], *, batch_max: int = BATCH_MAX,
                 ttl: float = TTL_SECONDS, participants_max: int = PARTICIPANTS_MAX) -> None:
        bind = session_factory.kw.get("bind")
        if not isinstance(bind, Engine | Connection):
            raise TypeError("the session factory must be bound to an Engine or a Connection")
        self._factory = session_factory
        self._bind = bind
        self._shared = isinstance(bind, Connection)
        # One connection cannot serve two threads: with a shared one, DB work takes turns.
        self._db_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self._shared else contextlib.nullcontext())
        self._connection: Connection | None = bind if isinstance(bind, Connection) else None
        self.batch_max = batch_max
        self.ttl = ttl
        #: Transactions tried so far (a figure for tests and benchmarks).
        self.batches = 0
        self._conversations: _LRU[str, tuple[CachedConversation | None, float]] = _LRU(
            CONVERSATIONS_MAX)
        self._participants: _LRU[tuple[Any, ...], tuple[int, int]] = _LRU(participants_max)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset_loop_state()

    def _reset_loop_state(self) -> None:
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._loading: dict[str, asyncio.Future[CachedConversation | None]] = {}
        self._joining: dict[tuple[Any, ...], asyncio.Future[tuple[int, int]]] = {}
        self._join_lock = asyncio.Lock()

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        """Queues, futures and the flusher belong to one event loop (tests start several)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._reset_loop_state()
        return loop

    # The one public operation --------------------------------------------------------------

    async def cast(self, slug: str, *, statement: int, value: int, identity: Identity) -> Cast:
        """Store one vote and return it once committed.

        Raises ``NotFound`` (no such public conversation, or no such accepted statement),
        ``Conflict`` (the conversation is not open), ``ValidationFailed`` (a bad value or no
        participant id), ``PermissionDenied`` (the conversation is for signed-in or invited
        participants) or :class:`VotesUnavailable` (the database failed; nothing stored).
        """
        loop = self._check_loop()
        if value not in (-1, 0, 1) or isinstance(value, bool):
            raise ValidationFailed([FieldError("vote", "Choose agree (1), disagree (-1) or "
                                                       "pass (0)")])
        conversation = await self.conversation(slug)
        if conversation is None or not conversation.public:
            raise NotFound(f"No conversation {slug!r}")
        if conversation.status != ConversationStatus.OPEN:
            raise Conflict("This conversation is not open")
        statement_id = conversation.statements.get(statement)
        if statement_id is None:
            raise NotFound(f"No statement {statement} to vote on")
        participant_id, number = await self.participant(conversation, identity)
        future: asyncio.Future[int] = loop.create_future()
        self._queue.append((_Row(conversation.id, participant_id, statement_id, value,
                                 time.time_ns() // 1_000_000), future))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return Cast(vote=await future, statement=statement, participant=number)

    # Caches ---------------------------------------------------------------------------------

    async def conversation(self, slug: str) -> CachedConversation | None:
        """The conversation as cached (at most ``ttl`` seconds old), None if there is none."""
        self._check_loop()
        cached = self._conversations.get(slug)
        if cached is not None and time.monotonic() - cached[1] < self.ttl:
            return cached[0]
        loading = self._loading.get(slug)
        if loading is None:  # one reload per slug at a time; the others wait for it
            loading = asyncio.ensure_future(self._reload(slug))
            self._loading[slug] = loading
            loading.add_done_callback(lambda _: self._loading.pop(slug, None))
        return await asyncio.shield(loading)

    async def _reload(self, slug: str) -> CachedConversation | None:
        found = await self.run(self._load_conversation, slug)
        self._conversations.put(slug, (found, time.monotonic()))
        return found

    def _load_conversation(self, slug: str) -> CachedConversation | None:
        with self._factory() as session:
            try:
                conversation = service.get_conversation(session, slug=slug, include_drafts=True)
            except NotFound:
                return None
            return CachedConversation(
                id=conversation.id, slug=conversation.slug, status=conversation.status,
                participation=conversation.participation, public=conversation.is_public,
                statements={s.number: s.id for s in
                            service.accepted_statements(session, conversation)})

    async def participant(self, conversation: CachedConversation, identity: Identity
                          ) -> tuple[int, int]:
        """The participant's (id, number), joining the conversation on first use."""
        key = _participant_key(conversation, identity)
        found = self._participants.get(key)
        if found is not None:
            return found
        joining = self._joining.get(key)
        if joining is None:  # the same person's other requests wait for this join
            joining = asyncio.ensure_future(self._join(key, conversation, identity))
            self._joining[key] = joining
            joining.add_done_callback(lambda _: self._joining.pop(key, None))
        return await asyncio.shield(joining)

    async def _join(self, key: tuple[Any, ...], conversation: CachedConversation,
                    identity: Identity) -> tuple[int, int]:
        async with self._join_lock:  # numbers are "highest + 1": one join at a time here
            joined = await self.run(self._join_now, conversation.id, identity)
        self._participants.put(key, joined)
        return joined

    def _join_now(self, conversation_id: int, identity: Identity) -> tuple[int, int]:
        with unit_of_work(self._factory, actor_id=identity.user_id) as session:
            if session.get_bind().dialect.name == "postgresql":
                # Other web workers join people too: one at a time per conversation, so that
                # two never claim the same participant number.
                session.execute(select(func.pg_advisory_xact_lock(JOIN_LOCK, conversation_id)))
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("No such conversation")
            user = get_user(session, user_id=identity.user_id) if identity.user_id else None
            participant = service.join(session, conversation, browser_id=identity.browser_id,
                                       user=user, xid=identity.xid)
            return participant.id, participant.number

    def load_user(self, user_id: int) -> bool:
        """Whether this account exists and is active (blocking: call through :meth:`run`)."""
        with self._factory() as session:
            return get_user(session, user_id=user_id) is not None

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run blocking database work in a thread (taking turns on a shared connection);
        a database failure becomes :class:`VotesUnavailable`."""
        def guarded() -> _T:
            with self._db_lock:
                return fn(*args)

        try:
            return await asyncio.to_thread(guarded)
        except (SQLAlchemyError, OSError) as exc:  # the database is down or failed
            raise VotesUnavailable("The database did not answer; try again") from exc

    # Group commit ---------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Write what is queued, batch after batch, until the queue is empty; then stop."""
        batch: list[_Pending] = []
        try:
            await asyncio.sleep(0)  # let the requests that arrived with this one queue too
            while self._queue:
                batch = self._queue[:self.batch_max]
                del self._queue[:self.batch_max]
                await self._write(batch)
                batch = []
        except asyncio.CancelledError:  # the event loop is closing: nothing will answer these
            for _, future in batch + self._queue:
                if not future.done():
                    future.set_exception(VotesUnavailable("The server is stopping"))
            self._queue.clear()
            raise
        finally:
            self._flusher = None

    async def _write(self, batch: list[_Pending]) -> None:
        self.batches += 1
        try:
            ids, closed = await asyncio.to_thread(self._write_now, [row for row, _ in batch])
        except Exception as exc:
            self._conversations.clear()
            error = VotesUnavailable("The votes could not be stored (none of them was): "
                                     "try again")
            error.__cause__ = exc
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        answers = iter(ids)
        for row, future in batch:
            if row.conversation_id in closed:
                if not future.done():
                    future.set_exception(Conflict("This conversation is not open"))
                continue
            vote_id = next(answers)
            if not future.done():  # a caller that went away still has its vote stored
                future.set_result(vote_id)
        if closed:
            self._conversations.remove_where(lambda entry: entry[0] is not None
                                             and entry[0].id in closed)

    def _write_now(self, rows: list[_Row]) -> tuple[list[int], set[int]]:
        """One transaction: which conversations are still open, then one INSERT of the rest.
        Returns the new ids in the rows' order, and the conversations found not open."""
        with self._db_lock, self._transaction() as conn:
            wanted = {r.conversation_id for r in rows}
            still_open = set(conn.scalars(
                select(Conversation.id)
                .where(Conversation.id.in_(wanted),
                       Conversation.status == ConversationStatus.OPEN)
                .with_for_update(read=True)))
            keep = [r for r in rows if r.conversation_id in still_open]
            ids: list[int] = []
            if keep:
                result = conn.execute(
                    _RETURNING_IDS.execution_options(
                        insertmanyvalues_page_size=max(len(keep), 1)),
                    [{"conversation_id": r.conversation_id, "participant_id": r.participant_id,
                      "statement_id": r.statement_id, "value": r.value, "cast_at": r.cast_at}
                     for r in keep])
                ids = list(result.scalars())
                if len(ids) != len(keep):  # cannot happen; refuse to answer wrongly if it does
                    raise RuntimeError(f"{len(keep)} votes written, {len(ids)} ids returned")
            return ids, wanted - still_open

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._shared:
            assert self._connection is not None
            with self._connection.begin_nested():
                yield self._connection
            return
        if self._connection is None or self._connection.invalidated:
            assert isinstance(self._bind, Engine)
            self._connection = self._bind.connect()
        conn = self._connection
        try:
            with conn.begin():
                yield conn
        except BaseException:
            # After any failure start again with a fresh connection.
            self._connection = None
            with contextlib.suppress(Exception):
                conn.close()
            raise


def _participant_key(conversation: CachedConversation, identity: Identity) -> tuple[Any, ...]:
    """What a participant is remembered by, as :func:`service.join` finds them; refuses at
    once (without the database) those that ``join`` would refuse for lack of an id."""
    mode = conversation.participation
    if mode == Participation.XID:
        if not identity.xid:
            raise PermissionDenied("This conversation is for invited participants: use the "
                                   "link you were sent")
        return (conversation.id, mode, "xid", identity.xid)
    if identity.user_id is not None:
        return (conversation.id, mode, "user", identity.user_id)
    if mode == Participation.SIGN_IN:
        raise PermissionDenied("Sign in to take part in this conversation")
    if not identity.browser_id:
        raise ValidationFailed([FieldError("participant", "No participant id was given")])
    return (conversation.id, mode, "browser", service.browser_key(identity.browser_id))
