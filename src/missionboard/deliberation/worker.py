"""The background analyser: conversations are re-analysed as votes arrive, and voting never
waits for an analysis.

:func:`due` lists the conversations (open, or closed in the last :data:`RECENTLY_CLOSED`)
whose vote log has grown since their latest run, or whose moderation or ``fixed_k`` changed
after it started. :class:`BackgroundAnalyser` checks every ``interval`` seconds and analyses
each due conversation in a separate process (a spawned one-process pool), so that the
analysis never holds the web process's GIL; :func:`analyse_conversation` is what that process
runs: its own engine, a read-and-compute transaction, then a short write transaction
(:func:`.analysis.prepare_analysis`, :func:`.analysis.store_analysis`). On PostgreSQL it
holds ``pg_try_advisory_lock`` on the conversation meanwhile, so that two web workers (or a
web worker and ``missionboard deliberation recompute --loop``) never analyse one conversation
at once; the one that does not get the lock skips it.

The web app starts one analyser in its lifespan when ``settings.deliberation_worker`` is true
(``MISSIONBOARD_DELIBERATION_WORKER``, default true; the interval is
``MISSIONBOARD_DELIBERATION_INTERVAL_SECONDS``, default 5). A vote committed with a lower id
after a higher one was analysed is counted by the next run, which the next vote triggers.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from missionboard.db import models as every_model
from missionboard.db.base import utcnow
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.deliberation.analysis import (
    fixed_k_changed_since,
    prepare_analysis,
    store_analysis,
)
from missionboard.deliberation.models import (
    AnalysisRun,
    Conversation,
    ConversationStatus,
    ModerationEvent,
    Statement,
    Vote,
)

log = logging.getLogger(__name__)
#: The child process imports this module alone: every mapper must be known there.
assert every_model.Base is not None

#: Closed conversations are still watched this long (late moderation, the last votes).
RECENTLY_CLOSED = dt.timedelta(days=7)
#: The first key of the advisory locks (the second is the conversation id).
LOCK_NAMESPACE = 0x6D62  # "mb"
#: The longest wait before a failed conversation is tried again (seconds).
MAX_BACKOFF = 300.0


def due(session: Session, *, now: dt.datetime | None = None) -> list[int]:
    """Ids of the conversations to analyse now (module docstring), in id order."""
    now = now or utcnow()
    runs = aliased(AnalysisRun)
    latest_run = (select(func.max(runs.id)).where(runs.conversation_id == Conversation.id)
                  .correlate(Conversation).scalar_subquery())
    last_vote = (select(func.max(Vote.id)).where(Vote.conversation_id == Conversation.id)
                 .correlate(Conversation).scalar_subquery())
    last_moderation = (select(func.max(ModerationEvent.at))
                       .join(Statement, Statement.id == ModerationEvent.statement_id)
                       .where(Statement.conversation_id == Conversation.id)
                       .correlate(Conversation).scalar_subquery())
    rows = session.execute(
        select(Conversation.id, last_vote.label("last_vote"),
               AnalysisRun.last_vote_id, AnalysisRun.started_at,
               last_moderation.label("last_moderation"))
        .outerjoin(AnalysisRun, AnalysisRun.id == latest_run)
        .where(or_(Conversation.status == ConversationStatus.OPEN,
                   and_(Conversation.status == ConversationStatus.CLOSED,
                        Conversation.closed_at >= now - RECENTLY_CLOSED)))
        .order_by(Conversation.id)).all()
    found = []
    for row in rows:
        if row.last_vote is None:
            continue  # nothing to analyse
        if (row.started_at is None or row.last_vote > row.last_vote_id
                or (row.last_moderation is not None and row.last_moderation >= row.started_at)
                or fixed_k_changed_since(session, row.id, row.started_at)):
            found.append(row.id)
    return found


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One analysis done by :func:`analyse_conversation`."""

    conversation_id: int
    run_id: int
    k: int
    n_votes: int
    n_grouped: int
    seconds: float
    warm: bool


def analyse_conversation(database_url: str, conversation_id: int, *, cold: bool = False
                         ) -> Outcome | None:
    """Analyse one conversation on a fresh engine and commit; None when another process
    holds its lock or it no longer exists. Runs in the analyser's child process (and in
    ``missionboard deliberation recompute``)."""
    engine = create_db_engine(database_url)
    try:
        with _conversation_lock(engine, conversation_id) as locked:
            if not locked:
                log.info("Conversation %s is being analysed elsewhere", conversation_id)
                return None
            factory = create_session_factory(engine)
            with unit_of_work(factory) as session:
                conversation = session.get(Conversation, conversation_id)
                if conversation is None:
                    return None
                prepared = prepare_analysis(session, conversation, cold=cold)
            with unit_of_work(factory) as session:
                run = store_analysis(session, prepared)
                return Outcome(conversation_id=conversation_id, run_id=run.id, k=run.k,
                               n_votes=run.n_votes, n_grouped=prepared.result["n_grouped"],
                               seconds=run.seconds, warm=prepared.warm)
    finally:
        engine.dispose()


@contextmanager
def _conversation_lock(engine: Engine, conversation_id: int) -> Iterator[bool]:
    """PostgreSQL's session advisory lock on the conversation, held on a connection of its
    own (idle, outside any transaction) while the analysis runs; elsewhere always granted."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = {"namespace": LOCK_NAMESPACE, "conversation": conversation_id}
    with engine.connect() as connection:
        locked = bool(connection.scalar(
            text("SELECT pg_try_advisory_lock(:namespace, :conversation)"), key))
        connection.commit()
        try:
            yield locked
        finally:
            if locked:
                connection.execute(text("SELECT pg_advisory_unlock(:namespace, :conversation)"),
                                   key)
                connection.commit()


def lock_for_transaction(session: Session, conversation_id: int) -> bool:
    """Take the conversation's analysis lock until ``session``'s transaction ends (an
    analysis run inside a request); False when the background analyser holds it. Always True
    off PostgreSQL."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:namespace, :conversation)"),
        {"namespace": LOCK_NAMESPACE, "conversation": conversation_id}))


class BackgroundAnalyser:
    """Every ``interval`` seconds, analyse each :func:`due` conversation in a child process.

    :meth:`start` runs the loop in a daemon thread (the web app's lifespan); :meth:`run_forever`
    runs it in the calling thread (``recompute --loop``); :meth:`run_once` is one pass. Errors
    are logged and never end the loop.
    """

    def __init__(self, database_url: str, *, interval: float = 5.0, cold: bool = False
                 ) -> None:
        self.database_url = database_url
        self.interval = interval
        self.cold = cold
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._engine: Engine | None = None
        self._failures: dict[int, tuple[int, float]] = {}

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="deliberation-analyser",
                                        daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the loop; an analysis under way is ended (its transaction rolls back)."""
        self._stop.set()
        if self._thread is None:
            self._close()  # run_once was called directly
            return
        self._thread.join(timeout)  # the loop closes its pool and engine on the way out
        self._thread = None

    def run_forever(self) -> None:
        try:
            while not self._stop.is_set():
                self.run_once()
                self._stop.wait(self.interval)
        finally:
            self._close()

    def run_once(self) -> list[Outcome]:
        """Analyse every due conversation, one at a time; the analyses that were done. A
        conversation whose analysis failed waits before the next try (doubling each time)."""
        outcomes: list[Outcome] = []
        try:
            if self._engine is None:
                self._engine = create_db_engine(self.database_url, pool_size=1)
            with Session(self._engine) as session:
                conversation_ids = due(session)
        except Exception:
            log.exception("Could not list the conversations due for analysis")
            return outcomes
        for conversation_id in conversation_ids:
            failures, retry_at = self._failures.get(conversation_id, (0, 0.0))
            if self._stop.is_set():
                break
            if time.monotonic() < retry_at:
                continue
            try:
                outcome = self._in_child(conversation_id)
            except Exception:
                wait_for = min(MAX_BACKOFF, max(self.interval, 1.0) * 2 ** failures)
                log.exception("Analysing conversation %s failed; the next try in %.0f s",
                              conversation_id, wait_for)
                self._failures[conversation_id] = (failures + 1, time.monotonic() + wait_for)
                continue
            self._failures.pop(conversation_id, None)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _in_child(self, conversation_id: int) -> Outcome | None:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1,
                                             mp_context=multiprocessing.get_context("spawn"))
        try:
            future: Future[Outcome | None] = self._pool.submit(
                analyse_conversation, self.database_url, conversation_id, cold=self.cold)
        except Exception:
            self._close_pool()  # the child could not start: a new pool next time
            raise
        while not self._stop.is_set():
            done, _ = wait([future], timeout=0.2, return_when=FIRST_COMPLETED)
            if done:
                try:
                    return future.result()
                except BrokenProcessPool:
                    self._close_pool()  # the child died (out of memory, say)
                    raise
        return None

    def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:  # an analysis under way: end it, do not wait for it
                process.terminate()
                process.join(5)

    def _close(self) -> None:
        self._close_pool()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()
