"""Analysis runs: the deliberation engine on a conversation's vote log, stored for the pages.

:func:`run_analysis` reads the vote log (:func:`load_votes`), runs
:func:`missionboard.analytics.deliberation.analyse` and stores an :class:`AnalysisRun`: the
``result`` JSON the pages read (shape in :func:`result_json`), the engine's state for the next
update, and each participant's group on :attr:`Participant.group_number`. The background
worker (:mod:`.worker`) calls it in a process of its own; it splits into
:func:`prepare_analysis` (read and compute, no writes) and :func:`store_analysis` (write), so
that the worker can keep its write transaction short.

**What is analysed.** Every vote event; the last vote per participant and statement stands
(the engine's rule). Statements a moderator rejected are *moderated out* (zeroed, never
reported). Statements still waiting for a moderator are moderated out too when the
conversation is premoderated — Pol.is's strict moderation, where nobody is shown an
unmoderated statement, so votes on one (an import, a statement returned to the queue) must not
shape the map — and count as accepted when it is not (Pol.is's default: unmoderated statements
are shown and analysed). Meta statements are zeroed and get the meta priority. The number of
groups is the moderator's ``fixed_k`` when set.

**Warm or cold.** As Pol.is's worker does between its ticks, a run warm-starts from the newest
run's state (the sticky in-conversation set, warm-started clusterings, the k-smoother), also
across moderation decisions and new statements. It runs cold — afresh, as on an export — when
asked (``cold=True``), when there is no earlier run or its state is gone or unreadable, and
when the moderator changed ``fixed_k`` after the newest run started (the audit log says when):
the k-smoother's memory belongs to the old setting, and after a fixed k is removed a warm
start would go on showing it until another k had been best on four updates in a row.

**Storage.** Runs are written through Core (they are the analysis's output, not edits, so the
audit log does not copy their JSON); the newest :data:`RUNS_KEPT` runs of a conversation are
kept and only the newest :data:`STATES_KEPT` keep their state (only the newest is ever read).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import pickle
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    Select,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.analytics.deliberation import (
    Analysis,
    DeliberationState,
    VoteTable,
    analyse,
)
from missionboard.analytics.deliberation_matrix import standing_votes
from missionboard.db.base import utcnow
from missionboard.deliberation.models import (
    AnalysisRun,
    Conversation,
    Participant,
    Statement,
    StatementState,
    Vote,
)

log = logging.getLogger(__name__)
AnySelect = Select[*tuple[Any, ...]]

#: Runs kept per conversation; older ones are deleted.
RUNS_KEPT = 20
#: Runs that keep their state (the newest is the one a warm start reads).
STATES_KEPT = 3
#: Grouped participants drawn for the opinion map.
MAP_SAMPLE = 2_000
#: Rows read from the database at a time.
CHUNK_ROWS = 500_000
#: Participants updated by one UPDATE statement.
UPDATE_CHUNK = 5_000
_DAY_MS = 86_400_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: PostgreSQL's binary COPY: the signature, flags and header-extension length.
_COPY_HEADER = 19
_COPY_TRAILER = b"\xff\xff"


# Reading the vote log ----------------------------------------------------------------------

def load_votes(session: Session, conversation: Conversation, *, upto: int | None = None
               ) -> tuple[VoteTable, int]:
    """The conversation's vote events (those with id ≤ ``upto``, if given) as a
    :class:`VoteTable` keyed by participant and statement number, timestamped by ``cast_at``
    (ms), and the largest vote id read (0 when none).

    The log is streamed in chunks of :data:`CHUNK_ROWS` into numpy arrays, never a Python
    object per row on PostgreSQL (a binary ``COPY``); other databases go through a cursor
    with ``yield_per``. Participants and statements are read after the votes, so that every
    vote read finds its participant even while people keep joining.
    """
    query = select(Vote.participant_id, Vote.statement_id, Vote.value, Vote.cast_at, Vote.id
                   ).where(Vote.conversation_id == conversation.id)
    if upto is not None:
        query = query.where(Vote.id <= upto)
    participant_ids, statement_ids, values, cast_at, ids = _int_columns(
        session, query, (np.int32, np.int32, np.int8, np.int64, np.int64))
    last_vote_id = int(ids.max()) if ids.size else 0
    del ids
    pairs = (np.int32, np.int32)
    participants = _int_columns(session, select(Participant.id, Participant.number).where(
        Participant.conversation_id == conversation.id), pairs)
    statements = _int_columns(session, select(Statement.id, Statement.number).where(
        Statement.conversation_id == conversation.id), pairs)
    votes = VoteTable(voter=_mapped(participant_ids, *participants),
                      statement=_mapped(statement_ids, *statements),
                      vote=values, timestamp=cast_at)
    return votes, last_vote_id


def _int_columns(session: Session, query: AnySelect, dtypes: Sequence[type[np.integer[Any]]]
                 ) -> list[npt.NDArray[Any]]:
    """The query's columns (integers, never NULL) as arrays of ``dtypes``, read in chunks
    and narrowed chunk by chunk (a vote costs 25 bytes here, not 40)."""
    parts: list[list[npt.NDArray[Any]]] = [[] for _ in dtypes]
    chunks = (_copy_chunks(session, query) if session.get_bind().dialect.name == "postgresql"
              else _cursor_chunks(session, query))
    for chunk in chunks:
        for part, dtype, column in zip(parts, dtypes, chunk.T, strict=True):
            part.append(column.astype(dtype))
    columns = []
    for part, dtype in zip(parts, dtypes, strict=True):
        columns.append(np.concatenate(part) if part else np.zeros(0, dtype=dtype))
        part.clear()
    return columns


def _cursor_chunks(session: Session, query: AnySelect) -> Iterator[npt.NDArray[np.int64]]:
    result = session.execute(query.execution_options(yield_per=CHUNK_ROWS))
    for rows in result.partitions():
        yield np.array(rows, dtype=np.int64).reshape(len(rows), -1)


def _copy_chunks(session: Session, query: AnySelect) -> Iterator[npt.NDArray[np.int64]]:
    """PostgreSQL: ``COPY (query) TO STDOUT`` in binary, every column cast to bigint, so each
    row is a fixed 2 + 12·width bytes that numpy reads in place."""
    width = len(query.selected_columns)
    as_bigint = query.with_only_columns(*(cast(c, BigInteger) for c in query.selected_columns))
    sql = str(as_bigint.compile(dialect=session.get_bind().dialect,
                                compile_kwargs={"literal_binds": True}))  # integers only
    record = np.dtype([("fields", ">i2"), *((f"{kind}{i}", code) for i in range(width)
                                            for kind, code in (("l", ">i4"), ("v", ">i8")))])
    driver = session.connection().connection.driver_connection
    assert driver is not None
    pending = bytearray()
    header_left = _COPY_HEADER
    with driver.cursor() as cursor, cursor.copy(
            f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy:
        for block in copy:
            pending += block
            if header_left:
                skipped = min(header_left, len(pending))
                del pending[:skipped]
                header_left -= skipped
            if len(pending) >= CHUNK_ROWS * record.itemsize:
                # Only the stream's last two bytes are the trailer, never a whole record.
                whole = len(pending) // record.itemsize * record.itemsize
                yield _records(bytes(pending[:whole]), record, width)
                del pending[:whole]
    if not pending.endswith(_COPY_TRAILER) or (len(pending) - 2) % record.itemsize:
        raise RuntimeError("unexpected end of PostgreSQL's binary COPY")
    if len(pending) > 2:
        yield _records(bytes(pending[:-2]), record, width)


def _records(data: bytes, record: np.dtype[Any], width: int) -> npt.NDArray[np.int64]:
    rows = np.frombuffer(data, dtype=record)
    if rows.size and (not (rows["fields"] == width).all()
                      or any((rows[f"l{i}"] != 8).any() for i in range(width))):
        raise RuntimeError("a NULL or a wider value in PostgreSQL's binary COPY")
    return np.stack([rows[f"v{i}"].astype(np.int64) for i in range(width)], axis=1)


def _mapped(keys: npt.NDArray[Any], known: npt.NDArray[Any], values: npt.NDArray[Any]
            ) -> npt.NDArray[Any]:
    """Each key's value, from the pairs (known[i], values[i])."""
    if keys.size == 0:
        return np.zeros(0, dtype=values.dtype)
    if known.size == 0:
        raise RuntimeError("votes without their participants or statements")
    order = np.argsort(known, kind="stable")
    known, values = known[order], values[order]
    at = np.minimum(np.searchsorted(known, keys), known.size - 1)
    if not (known[at] == keys).all():
        raise RuntimeError("a vote refers to a participant or statement of another "
                           "conversation")
    result: npt.NDArray[Any] = values[at]
    return result


# Running and storing -----------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class PreparedRun:
    """What :func:`prepare_analysis` computed, for :func:`store_analysis` to write."""

    conversation_id: int
    started_at: dt.datetime
    warm: bool
    analysis: Analysis
    result: dict[str, Any]
    last_vote_id: int
    n_votes: int


def run_analysis(session: Session, conversation: Conversation, *, cold: bool = False,
                 seed: int = 0) -> AnalysisRun:
    """Analyse the conversation's votes and store the run (module docstring). Flushes."""
    return store_analysis(session, prepare_analysis(session, conversation, cold=cold,
                                                    seed=seed))


def prepare_analysis(session: Session, conversation: Conversation, *, cold: bool = False,
                     seed: int = 0) -> PreparedRun:
    """Read the votes, moderation and the previous state, and run the engine; writes nothing."""
    started_at = utcnow()
    votes, last_vote_id = load_votes(session, conversation)
    moderated_out, meta = excluded_statements(session, conversation)
    previous = None if cold else previous_state(session, conversation)
    analysis = analyse(votes, k=conversation.fixed_k, seed=seed, moderated_out=moderated_out,
                       meta=meta, previous=previous)
    result = result_json(analysis, votes, moderated_out=moderated_out, meta=meta)
    return PreparedRun(conversation_id=conversation.id, started_at=started_at,
                       warm=previous is not None, analysis=analysis, result=result,
                       last_vote_id=last_vote_id, n_votes=len(votes))


def store_analysis(session: Session, prepared: PreparedRun) -> AnalysisRun:
    """Write the run, the participants' changed groups, and prune old runs. Flushes."""
    analysis = prepared.analysis
    state = None if analysis.state is None else pickle.dumps(
        analysis.state, protocol=pickle.HIGHEST_PROTOCOL)
    session.flush()
    finished_at = utcnow()
    run_id = session.execute(insert(AnalysisRun).values(
        conversation_id=prepared.conversation_id, started_at=prepared.started_at,
        finished_at=finished_at, last_vote_id=prepared.last_vote_id,
        n_votes=prepared.n_votes, n_participants=int(analysis.voters.size), k=analysis.k,
        seconds=(finished_at - prepared.started_at).total_seconds(), result=prepared.result,
        state=state,
    ).returning(AnalysisRun.id)).scalar_one()
    _update_groups(session, prepared.conversation_id, analysis)
    _prune(session, prepared.conversation_id)
    if session.info.get("actor_id") is not None:  # asked for by someone, not the worker
        session.execute(insert(AuditEntry).values(
            at=finished_at, actor_id=session.info["actor_id"], ip=session.info.get("ip"),
            action="analyse", table_name=AnalysisRun.__tablename__, row_id=str(run_id),
            changes={"votes": prepared.n_votes, "k": analysis.k, "warm": prepared.warm},
            summary=f"Recomputed the analysis of conversation {prepared.conversation_id}"))
    log.info("Analysed conversation %s (%s): %s votes, %s groups, %.2f s",
             prepared.conversation_id, "warm" if prepared.warm else "cold", prepared.n_votes,
             analysis.k, (finished_at - prepared.started_at).total_seconds())
    run = session.get(AnalysisRun, run_id)
    assert run is not None
    return run


def excluded_statements(session: Session, conversation: Conversation
                        ) -> tuple[frozenset[int], frozenset[int]]:
    """The statement numbers moderated out (rejected; pending too when the conversation is
    premoderated) and the meta ones."""
    rows = session.execute(select(Statement.number, Statement.state, Statement.is_meta).where(
        Statement.conversation_id == conversation.id)).all()
    out_states = {StatementState.REJECTED}
    if conversation.premoderate:
        out_states.add(StatementState.PENDING)
    return (frozenset(r.number for r in rows if r.state in out_states),
            frozenset(r.number for r in rows if r.is_meta))


def previous_state(session: Session, conversation: Conversation) -> DeliberationState | None:
    """The state a warm start would use, or None when the next run must be cold (module
    docstring)."""
    latest = session.execute(select(AnalysisRun.id, AnalysisRun.started_at, AnalysisRun.state)
                             .where(AnalysisRun.conversation_id == conversation.id)
                             .order_by(AnalysisRun.id.desc()).limit(1)).first()
    if latest is None or latest.state is None:
        return None
    if fixed_k_changed_since(session, conversation.id, latest.started_at):
        return None
    try:
        state = pickle.loads(latest.state)  # noqa: S301 - written by store_analysis only
    except Exception:  # an older version's state: start afresh
        log.warning("Analysis run %s has an unreadable state: running cold", latest.id)
        return None
    return state if isinstance(state, DeliberationState) else None


def fixed_k_changed_since(session: Session, conversation_id: int, since: dt.datetime) -> bool:
    """Whether the audit log has a change to the conversation's ``fixed_k`` after ``since``."""
    changes = session.scalars(select(AuditEntry.changes).where(
        AuditEntry.at >= since, AuditEntry.table_name == Conversation.__tablename__,
        AuditEntry.action == "update", AuditEntry.row_id == str(conversation_id)))
    return any("fixed_k" in (c or {}) for c in changes)


def _update_groups(session: Session, conversation_id: int, analysis: Analysis) -> None:
    """Set ``group_number`` where it changed: one UPDATE per group and chunk of numbers."""
    numbers, old = _int_columns(session, select(
        Participant.number, func.coalesce(Participant.group_number, -1)).where(
        Participant.conversation_id == conversation_id), (np.int64, np.int64))
    new = np.full(numbers.size, -1, dtype=np.int64)
    if analysis.voters.size and numbers.size:
        at = np.minimum(np.searchsorted(analysis.voters, numbers), analysis.voters.size - 1)
        found = analysis.voters[at] == numbers
        new[found] = analysis.membership[at[found]]
    changed = new != old
    for group in np.unique(new[changed]).tolist():
        chosen = numbers[changed & (new == group)].tolist()
        for start in range(0, len(chosen), UPDATE_CHUNK):
            session.execute(
                update(Participant).where(
                    Participant.conversation_id == conversation_id,
                    Participant.number.in_(chosen[start:start + UPDATE_CHUNK]))
                .values(group_number=None if group < 0 else group)
                .execution_options(synchronize_session="evaluate"))


def _prune(session: Session, conversation_id: int) -> None:
    newest = select(AnalysisRun.id).where(AnalysisRun.conversation_id == conversation_id
                                          ).order_by(AnalysisRun.id.desc())
    oldest_kept = session.scalar(newest.offset(RUNS_KEPT - 1).limit(1))
    if oldest_kept is not None:
        session.execute(delete(AnalysisRun).where(
            AnalysisRun.conversation_id == conversation_id, AnalysisRun.id < oldest_kept
        ).execution_options(synchronize_session=False))
    oldest_state = session.scalar(newest.offset(STATES_KEPT - 1).limit(1))
    if oldest_state is not None:
        session.execute(update(AnalysisRun).where(
            AnalysisRun.conversation_id == conversation_id, AnalysisRun.id < oldest_state,
            AnalysisRun.state.is_not(None)).values(state=None)
            .execution_options(synchronize_session=False))


# The result JSON ---------------------------------------------------------------------------

def result_json(analysis: Analysis, votes: VoteTable, *, moderated_out: frozenset[int],
                meta: frozenset[int]) -> dict[str, Any]:
    """The run's ``result``, the object the pages read::

        {"k", "n_grouped", "silhouettes": {"<k>": s},
         "groups": [{"id", "size", "representative": [{"statement", "direction", "repness",
                     "repness_test", "p_success", "p_test", "n_success", "n_trials"}]}],
         "consensus": {"agree": [{"statement", "p_success", "p_test", "n_success",
                                  "n_trials"}], "disagree": [...]},
         "gic": {"<statement>": x}, "priorities": {"<statement>": x},
         "group_votes": {"<statement>": {"<group>": {"agree", "disagree", "pass"}}},
         "map": {"statements": [{"statement", "x", "y"}],
                 "groups": [{"id", "x", "y", "size"}],
                 "participants": [{"x", "y", "group"}]},
         "daily": {"<days since 1970-01-01>": {"votes", "participants"}}}

    ``group_votes`` counts the standing votes of grouped participants on every statement not
    moderated out; the map leaves out zeroed statements (they sit at the origin) and shows
    the group centroids and at most :data:`MAP_SAMPLE` grouped participants, drawn by a hash
    of their numbers (the same people from run to run). Every non-finite number is null.
    """
    grouped = analysis.membership >= 0
    return {
        "k": analysis.k,
        "n_grouped": int(grouped.sum()),
        "silhouettes": {str(k): _finite(s) for k, s in sorted(analysis.silhouettes.items())},
        "groups": [{"id": g.id, "size": g.size, "representative": [
            {"statement": _number(r.statement), "direction": r.direction,
             "repness": _finite(r.repness), "repness_test": _finite(r.repness_test),
             "p_success": _finite(r.p_success), "p_test": _finite(r.p_test),
             "n_success": r.n_success, "n_trials": r.n_trials}
            for r in g.representative]} for g in analysis.groups],
        "consensus": {side: [
            {"statement": _number(c.statement), "p_success": _finite(c.p_success),
             "p_test": _finite(c.p_test), "n_success": c.n_success, "n_trials": c.n_trials}
            for c in picks] for side, picks in (("agree", analysis.consensus.agree),
                                                ("disagree", analysis.consensus.disagree))},
        "gic": _by_statement(analysis.group_informed_consensus),
        "priorities": _by_statement(analysis.priorities),
        "group_votes": _group_votes(analysis, votes, moderated_out),
        "map": _map(analysis, moderated_out | meta),
        "daily": _daily(votes),
    }


def _daily(votes: VoteTable) -> dict[str, dict[str, int]]:
    """Votes cast and participants who cast their first vote, per UTC day (days since the
    epoch, as strings), from the votes analysed: the report reads these instead of counting
    the whole vote log on every view."""
    if len(votes) == 0:
        return {}
    days = np.asarray(votes.timestamp, dtype=np.int64) // _DAY_MS
    day, cast = np.unique(days, return_counts=True)
    order = np.lexsort((days, votes.voter))
    voters = np.asarray(votes.voter)[order]
    starts = np.flatnonzero(np.r_[True, voters[1:] != voters[:-1]])
    first_day, joined = np.unique(days[order][starts], return_counts=True)
    out: dict[str, dict[str, int]] = {str(d): {"votes": int(n), "participants": 0}
                                      for d, n in zip(day.tolist(), cast.tolist(), strict=True)}
    for d, n in zip(first_day.tolist(), joined.tolist(), strict=True):
        out[str(d)]["participants"] = int(n)
    return out


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _number(statement: Hashable) -> int:
    assert isinstance(statement, int | np.integer)
    return int(statement)


def _by_statement(values: Mapping[Any, float]) -> dict[str, float | None]:
    return {str(int(s)): _finite(v) for s, v in sorted(values.items())}


def _group_votes(analysis: Analysis, votes: VoteTable, moderated_out: frozenset[int]
                 ) -> dict[str, dict[str, dict[str, int]]]:
    if analysis.k == 0 or len(votes) == 0:
        return {}
    matrix = standing_votes(votes.voter, votes.statement, votes.vote, votes.timestamp)
    at = np.searchsorted(analysis.voters, matrix.voters)
    group = analysis.membership[at][matrix.rows]
    kept = group >= 0
    cell = (matrix.indices[kept].astype(np.int64) * analysis.k + group[kept]) * 3
    cell += matrix.votes[kept].astype(np.int64) + 1
    counts = np.bincount(cell, minlength=matrix.n_statements * analysis.k * 3).reshape(
        matrix.n_statements, analysis.k, 3).tolist()
    return {
        str(number): {str(g): {"agree": c[2], "disagree": c[0], "pass": c[1]}
                      for g, c in enumerate(by_group)}
        for number, by_group in zip(matrix.statements.tolist(), counts, strict=True)
        if number not in moderated_out
    }


def _map(analysis: Analysis, zeroed: frozenset[int]) -> dict[str, list[dict[str, Any]]]:
    statements = [
        {"statement": int(s), "x": _finite(x), "y": _finite(y)}
        for s, (x, y) in zip(analysis.statements.tolist(),
                             analysis.statement_projection.tolist(), strict=True)
        if s not in zeroed]
    grouped = np.flatnonzero(analysis.membership >= 0)
    groups = []
    for g in range(analysis.k):
        members = grouped[analysis.membership[grouped] == g]
        x, y = analysis.projection[members].mean(axis=0) if members.size else (np.nan, np.nan)
        groups.append({"id": g, "x": _finite(x), "y": _finite(y), "size": int(members.size)})
    if grouped.size > MAP_SAMPLE:
        grouped = np.sort(grouped[np.argsort(_hash(analysis.voters[grouped]),
                                             kind="stable")[:MAP_SAMPLE]])
    participants = [{"x": _finite(x), "y": _finite(y), "group": int(g)}
                    for (x, y), g in zip(analysis.projection[grouped].tolist(),
                                         analysis.membership[grouped].tolist(), strict=True)]
    return {"statements": statements, "groups": groups, "participants": participants}


def _hash(numbers: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser of each number: a fixed pseudo-random order of participants."""
    with np.errstate(over="ignore"):
        z = numbers.astype(np.int64).view(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


# The report's participation chart ----------------------------------------------------------

def participation_over_time(session: Session, conversation: Conversation, *,
                            run: AnalysisRun | None = None) -> list[dict[str, Any]]:
    """Per day (UTC) from the first to the last with any activity: ``votes`` cast,
    ``participants`` who cast their first vote, ``statements`` written. Each row:
    ``{"date": date, "votes": int, "participants": int, "statements": int}``. Given a
    ``run`` that stored its daily counts, votes and participants are that run's (up to its
    last vote); otherwise they are counted from the vote log."""
    daily = run.result.get("daily") if run is not None else None
    if daily is not None:
        votes = {int(d): c["votes"] for d, c in daily.items()}
        joined = {int(d): c["participants"] for d, c in daily.items()}
    else:
        votes, joined = _daily_from_log(session, conversation)
    written: dict[int, int] = {}
    for created in session.scalars(select(Statement.created_at).where(
            Statement.conversation_id == conversation.id)):
        key = (created - _EPOCH).days
        written[key] = written.get(key, 0) + 1
    days = {int(d) for d in (*votes, *joined, *written)}
    if not days:
        return []
    return [{"date": _EPOCH.date() + dt.timedelta(days=d), "votes": int(votes.get(d, 0)),
             "participants": int(joined.get(d, 0)), "statements": written.get(d, 0)}
            for d in range(min(days), max(days) + 1)]


def _daily_from_log(session: Session, conversation: Conversation
                    ) -> tuple[dict[int, int], dict[int, int]]:
    """Votes and first votes per day, counted in the database."""
    day_ms = literal_column(str(_DAY_MS), BigInteger)  # one expression in SELECT and GROUP BY
    day = Vote.cast_at // day_ms
    votes: dict[int, int] = dict(session.execute(select(day, func.count()).where(
        Vote.conversation_id == conversation.id).group_by(day)).all())
    first = (select(func.min(Vote.cast_at).label("first"))
             .where(Vote.conversation_id == conversation.id)
             .group_by(Vote.participant_id).subquery())
    first_day = first.c.first // day_ms
    joined: dict[int, int] = dict(session.execute(
        select(first_day, func.count()).group_by(first_day)).all())
    return votes, joined
