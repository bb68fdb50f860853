"""Pol.is conversations in and out of the database, through :mod:`missionboard.analytics.polis_io`.

**Import** (:func:`import_conversation`): a Pol.is export folder becomes a closed conversation
of a mission — its question and description from summary.csv, the statements with their
Pol.is numbers, text, authors, moderation state (a decision logged as imported), meta and seed
flags and times; the participants with their Pol.is numbers and xids; and every vote event
with its timestamp, in time order. It is all or nothing: the caller's transaction holds it
and any problem raises :class:`ValidationFailed` naming the file, the row and the column
before anything is written. Votes go in through ``COPY`` on PostgreSQL and Core
``executemany`` in chunks elsewhere; one summary entry goes to the audit log.

Pol.is exports do not say whether strict moderation was on: votes on unmoderated comments
mean it was off (they were shown), so the conversation is then not premoderated, and its
unmoderated statements are analysed as Pol.is analysed them (:mod:`.analysis`).

**Export** (:func:`export_conversation`): the four files of Pol.is's export, with each
participant's group from the latest analysis (``Participant.group_number``) and the latest
run's group-informed consensus.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, aliased

from missionboard.accounts.models import AuditEntry
from missionboard.analytics.deliberation import VoteTable
from missionboard.analytics.polis_io import (
    PolisExport,
    PolisStatement,
    read_polis_export,
    write_polis_export,
)
from missionboard.db.base import utcnow
from missionboard.deliberation import service
from missionboard.deliberation.analysis import load_votes
from missionboard.deliberation.models import (
    Conversation,
    ConversationStatus,
    ModerationEvent,
    Participant,
    Participation,
    Statement,
    StatementState,
    Vote,
)
from missionboard.deliberation.schemas import ConversationIn
from missionboard.errors import FieldError, ValidationFailed, validate
from missionboard.missions.models import Mission

#: Vote rows written at a time (and between progress reports).
CHUNK_ROWS = 200_000
#: Problems listed before the rest are summarised.
MAX_ERRORS = 20
_STATES = {1: StatementState.ACCEPTED, 0: StatementState.PENDING, -1: StatementState.REJECTED}
_NUMBER_MAX = 2**31 - 1
_TITLE_MAX = 300
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class ImportSummary:
    """What :func:`import_conversation` wrote."""

    conversation: Conversation
    statements: int
    accepted: int
    rejected: int
    pending: int
    participants: int
    votes: int


def import_conversation(session: Session, folder: Path, *, mission: Mission,
                        slug: str | None = None, title: str | None = None,
                        progress: Progress | None = None) -> ImportSummary:
    """Create a conversation of ``mission`` from the Pol.is export in ``folder`` (module
    docstring). Flushes; the caller commits, or rolls back on :class:`ValidationFailed`."""
    folder = Path(folder)
    try:
        export = read_polis_export(folder)
    except FileNotFoundError as exc:
        raise ValidationFailed([FieldError(Path(str(exc.filename)).name,
                                           "the export has no such file")]) from None
    except (ValueError, OSError) as exc:
        raise ValidationFailed([FieldError(folder.name, str(exc))]) from None
    _check(export)
    now = utcnow()
    votes = export.votes
    topic = export.summary.get("topic", "").strip()
    name = title or topic or folder.name
    statements = export.statements
    pending_voted = {c for c, s in statements.items() if s.moderated == 0} & set(
        np.unique(votes.statement).tolist())
    data = validate(ConversationIn, {
        "slug": slug or _slug(folder.name), "title": _shorten(name), "question": topic or name,
        "description": export.summary.get("conversation-description", ""),
        "participation": Participation.XID if export.xids else Participation.ANONYMOUS,
        "accept_statements": False, "premoderate": not pending_voted,
    })
    conversation = service.create_conversation(session, mission=mission, data=data)
    conversation.status = ConversationStatus.CLOSED
    if len(votes):
        conversation.opened_at = _moment(int(votes.timestamp.min()))
        conversation.closed_at = _moment(int(votes.timestamp.max()))
    else:
        conversation.opened_at = conversation.closed_at = now
    session.flush()

    participant_ids = _insert_participants(session, conversation, export, now)
    statement_ids = _insert_statements(session, conversation, export, participant_ids, now)
    _insert_votes(session, conversation, votes, participant_ids, statement_ids,
                  progress=progress)
    counts = {state: sum(_STATES[s.moderated] == state for s in statements.values())
              for state in StatementState}
    summary = ImportSummary(
        conversation=conversation, statements=len(statements),
        accepted=counts[StatementState.ACCEPTED], rejected=counts[StatementState.REJECTED],
        pending=counts[StatementState.PENDING], participants=len(participant_ids),
        votes=len(votes))
    session.execute(insert(AuditEntry).values(
        at=now, actor_id=session.info.get("actor_id"), ip=session.info.get("ip"),
        action="import", table_name=Conversation.__tablename__, row_id=str(conversation.id),
        changes={"source": "polis", "folder": folder.name, "statements": summary.statements,
                 "participants": summary.participants, "votes": summary.votes},
        summary=(f"Imported the Pol.is export {folder.name} as conversation "
                 f"{conversation.slug}: {summary.statements:,} statements, "
                 f"{summary.participants:,} participants, {summary.votes:,} votes"),
    ))
    return summary


def _check(export: PolisExport) -> None:
    """Problems no single file shows: votes on comments that comments.csv lacks, numbers
    out of the database's range, one xid for two participants."""
    errors: list[FieldError] = []
    votes = export.votes
    known = np.array(sorted(export.statements), dtype=np.int64)
    for column, ids in (("voter-id", votes.voter), ("comment-id", votes.statement)):
        bad = np.flatnonzero((ids < 0) | (ids > _NUMBER_MAX))
        errors += [FieldError(f"votes.csv, column {column!r}", f"{ids[i]} is not a number "
                              f"from 0 to {_NUMBER_MAX:,}", row=int(i) + 2)
                   for i in bad[:MAX_ERRORS]]
    unknown = np.flatnonzero(~np.isin(votes.statement, known))
    errors += [FieldError("votes.csv, column 'comment-id'",
                          f"comment {votes.statement[i]} is not in comments.csv", row=int(i) + 2)
               for i in unknown[:MAX_ERRORS]]
    for comment, statement in export.statements.items():
        for what, value in (("comment-id", comment), ("author-id", statement.author)):
            if value is not None and not 0 <= value <= _NUMBER_MAX:
                errors.append(FieldError(f"comments.csv, column {what!r}",
                                         f"{value} is not a number from 0 to {_NUMBER_MAX:,}"))
    owners: dict[str, int] = {}
    for participant, xid in sorted(export.xids.items()):
        if xid in owners:
            errors.append(FieldError("participants-votes.csv, column 'xid'",
                                     f"xid {xid!r} belongs to participants {owners[xid]} and "
                                     f"{participant}"))
        owners[xid] = participant
    if errors:
        raise ValidationFailed(errors[:MAX_ERRORS])


def _insert_participants(session: Session, conversation: Conversation, export: PolisExport,
                         now: dt.datetime) -> dict[int, int]:
    """Every voter, author and xid holder, first seen at their first vote or comment; the
    database id of each Pol.is number."""
    votes = export.votes
    first: dict[int, int | None] = {}
    if len(votes):
        order = np.lexsort((votes.timestamp, votes.voter))
        voters = votes.voter[order]
        starts = np.flatnonzero(np.r_[True, voters[1:] != voters[:-1]])
        first = dict(zip(voters[starts].tolist(), votes.timestamp[order][starts].tolist(),
                         strict=True))
    for statement in export.statements.values():
        if statement.author is None:
            continue
        times = [t for t in (first.get(statement.author), statement.timestamp) if t is not None]
        first[statement.author] = min(times) if times else None
    for number in export.xids:
        first.setdefault(number, None)
    rows = [{"conversation_id": conversation.id, "number": number,
             "xid": export.xids.get(number), "created_at": now if ms is None else _moment(ms)}
            for number, ms in sorted(first.items())]
    for start in range(0, len(rows), CHUNK_ROWS):
        session.execute(insert(Participant), rows[start:start + CHUNK_ROWS])
    return dict(session.execute(select(Participant.number, Participant.id).where(
        Participant.conversation_id == conversation.id)).all())


def _insert_statements(session: Session, conversation: Conversation, export: PolisExport,
                       participant_ids: dict[int, int], now: dt.datetime) -> dict[int, int]:
    rows = [{"conversation_id": conversation.id, "number": number, "text": s.text,
             "author_id": None if s.author is None else participant_ids[s.author],
             "is_seed": s.is_seed, "is_meta": s.is_meta, "state": _STATES[s.moderated],
             "reason": "Moderated out on Pol.is" if s.moderated < 0 else "",
             "created_at": now if s.timestamp is None else _moment(s.timestamp),
             "moderated_at": None if s.moderated == 0 else now}
            for number, s in sorted(export.statements.items())]
    if rows:
        session.execute(insert(Statement), rows)
    ids = dict(session.execute(select(Statement.number, Statement.id).where(
        Statement.conversation_id == conversation.id)).all())
    events = [{"statement_id": ids[number], "state": _STATES[s.moderated],
               "reason": "Moderated on Pol.is before the import", "at": now}
              for number, s in sorted(export.statements.items()) if s.moderated != 0]
    if events:
        session.execute(insert(ModerationEvent), events)
    return ids


def _insert_votes(session: Session, conversation: Conversation, votes: VoteTable,
                  participant_ids: dict[int, int], statement_ids: dict[int, int], *,
                  progress: Progress | None) -> None:
    """Every vote event, in time order (so that vote ids follow time)."""
    order = np.argsort(votes.timestamp, kind="stable")
    columns: dict[str, npt.NDArray[Any]] = {
        "conversation_id": np.full(order.size, conversation.id, dtype=np.int64),
        "participant_id": _ids(votes.voter[order], participant_ids),
        "statement_id": _ids(votes.statement[order], statement_ids),
        "value": votes.vote[order].astype(np.int16),
        "cast_at": votes.timestamp[order].astype(np.int64),
    }
    total = int(order.size)
    if progress is not None:
        progress(0, total)
    if total == 0:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_votes(session, columns, progress)
        return
    for start in range(0, total, CHUNK_ROWS):
        chunk = {name: values[start:start + CHUNK_ROWS].tolist()
                 for name, values in columns.items()}
        session.execute(insert(Vote), [dict(zip(chunk, row, strict=True))
                                       for row in zip(*chunk.values(), strict=True)])
        if progress is not None:
            progress(min(start + CHUNK_ROWS, total), total)


def _copy_votes(session: Session, columns: dict[str, npt.NDArray[Any]],
                progress: Progress | None) -> None:
    driver = session.connection().connection.driver_connection
    assert driver is not None
    table = pa.table(columns)
    options = pa_csv.WriteOptions(include_header=False)
    statement = (f"COPY {Vote.__tablename__} ({', '.join(columns)}) FROM STDIN (FORMAT csv)")
    done = 0
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
            done += batch.num_rows
            if progress is not None:
                progress(done, table.num_rows)


def _ids(numbers: npt.NDArray[Any], ids: dict[int, int]) -> npt.NDArray[np.int64]:
    known = np.array(sorted(ids), dtype=np.int64)
    values = np.array([ids[n] for n in known.tolist()], dtype=np.int64)
    result: npt.NDArray[np.int64] = values[np.searchsorted(known, numbers)]
    return result


def _moment(ms: int) -> dt.datetime:
    return _EPOCH + ms * _MILLISECOND


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "polis"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _TITLE_MAX:
        return text
    return text[:_TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"


# Export ------------------------------------------------------------------------------------

def export_conversation(session: Session, conversation: Conversation, folder: Path, *,
                        public: bool = False) -> None:
    """Write votes.csv, comments.csv, participants-votes.csv and summary.csv into
    ``folder`` in Pol.is's format (module docstring). A ``public`` export (the report's
    download) leaves out the text of statements not accepted (rejected, or waiting for a
    moderator) and participants' external ids."""
    votes, _ = load_votes(session, conversation)
    author = aliased(Participant)
    statements = {
        row.number: PolisStatement(
            text=REMOVED if public and row.state != StatementState.ACCEPTED else row.text,
            moderated=_MODERATED[row.state], is_meta=row.is_meta,
            author=row.author, timestamp=(row.created_at - _EPOCH) // _MILLISECOND,
            is_seed=row.is_seed)
        for row in session.execute(
            select(Statement.number, Statement.text, Statement.state, Statement.is_meta,
                   Statement.is_seed, Statement.created_at, author.number.label("author"))
            .outerjoin(author, author.id == Statement.author_id)
            .where(Statement.conversation_id == conversation.id))
    }
    people = session.execute(select(Participant.number, Participant.group_number,
                                    Participant.xid).where(
        Participant.conversation_id == conversation.id)).all()
    run = service.latest_run(session, conversation)
    gic = {int(s): float(v) for s, v in ((run.result if run else {}).get("gic") or {}).items()
           if v is not None}
    summary = {"topic": conversation.question,
               "conversation-description": conversation.description}
    write_polis_export(
        folder, votes=votes, statements=statements,
        groups={p.number: p.group_number for p in people if p.group_number is not None},
        xids={} if public else {p.number: p.xid for p in people if p.xid},
        group_informed_consensus=gic, summary=summary)


#: What a public export shows in place of the text of a statement not accepted.
REMOVED = "(removed by moderation)"

_MODERATED = {state: code for code, state in _STATES.items()}
