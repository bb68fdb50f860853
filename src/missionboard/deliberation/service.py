"""Conversations, participants, statements, moderation and single votes.

The high-rate vote path (batched, group-committed) is :mod:`missionboard.deliberation.writer`;
the analysis runs are :mod:`missionboard.deliberation.analysis`.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from missionboard.accounts.models import AuditEntry, User
from missionboard.analytics.near_duplicates import nearest
from missionboard.db.base import utcnow
from missionboard.deliberation.models import (
    DEFAULT_POLICY,
    AnalysisRun,
    Conversation,
    ConversationStatus,
    ModerationEvent,
    Participant,
    Participation,
    Statement,
    StatementState,
    Vote,
)
from missionboard.deliberation.schemas import ConversationIn, StatementIn
from missionboard.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    validate,
)
from missionboard.missions.models import Mission

#: A new statement this like an existing one is refused, naming it (vote on that instead).
DUPLICATE = 0.85
#: A new statement this like another is flagged to the moderator as a possible repeat.
SIMILAR = 0.5
#: Retries when two participants or statements claim the same number at once.
_NUMBER_RETRIES = 5


# Conversations -----------------------------------------------------------------------------

def list_conversations(session: Session, *, mission: Mission | None = None,
                       include_drafts: bool = False) -> list[Conversation]:
    query = select(Conversation).order_by(Conversation.created_at.desc(), Conversation.id)
    if mission is not None:
        query = query.where(Conversation.mission_id == mission.id)
    found = list(session.scalars(query))
    return found if include_drafts else [c for c in found if c.is_public]


def get_conversation(session: Session, *, slug: str, include_drafts: bool = False
                     ) -> Conversation:
    conversation = session.scalar(select(Conversation).where(Conversation.slug == slug))
    if conversation is None or not (include_drafts or conversation.is_public):
        raise NotFound(f"No conversation {slug!r}")
    return conversation


def create_conversation(session: Session, *, mission: Mission, data: ConversationIn
                        ) -> Conversation:
    if session.scalar(select(Conversation.id).where(Conversation.slug == data.slug)):
        raise ValidationFailed([FieldError("slug", f"The slug {data.slug!r} is taken")])
    conversation = Conversation(mission=mission, slug=data.slug)
    _apply(session, conversation, data)
    session.add(conversation)
    session.flush()
    return conversation


def update_conversation(session: Session, conversation: Conversation, data: ConversationIn
                        ) -> Conversation:
    if data.slug != conversation.slug:
        raise ValidationFailed([FieldError("slug", "The slug cannot change")])
    _apply(session, conversation, data)
    session.flush()
    return conversation


def _apply(session: Session, conversation: Conversation, data: ConversationIn) -> None:
    if data.outcome_id is not None:
        outcome_ids = {o.id for o in conversation.mission.outcomes}
        if data.outcome_id not in outcome_ids:
            raise ValidationFailed([FieldError("outcome_id",
                                               "Choose an outcome of this mission")])
    conversation.title, conversation.question = data.title, data.question
    conversation.description = data.description.strip()
    conversation.outcome_id = data.outcome_id
    conversation.participation = data.participation
    conversation.accept_statements = data.accept_statements
    conversation.statement_cap = data.statement_cap
    conversation.premoderate = data.premoderate
    conversation.fixed_k = data.fixed_k
    policy = (data.moderation_policy or "").strip()
    conversation.moderation_policy = policy or DEFAULT_POLICY


def set_status(session: Session, conversation: Conversation, status: ConversationStatus
               ) -> None:
    """Open a conversation for voting, close it (results stay), or return it to draft
    (only before anyone has voted)."""
    if status == ConversationStatus.DRAFT and count_votes(session, conversation):
        raise Conflict("People have voted: close the conversation instead of withdrawing it")
    if status == ConversationStatus.OPEN and not accepted_statements(session, conversation):
        raise Conflict("Add and accept at least one statement before opening")
    conversation.status = status
    if status == ConversationStatus.OPEN:
        conversation.opened_at = conversation.opened_at or utcnow()
        conversation.closed_at = None
    elif status == ConversationStatus.CLOSED:
        conversation.closed_at = utcnow()
    session.flush()


# Participants ------------------------------------------------------------------------------

def browser_key(browser_id: str) -> str:
    """What is stored of a per-browser participant id: its SHA-256."""
    return hashlib.sha256(browser_id.encode()).hexdigest()


def find_participant(session: Session, conversation: Conversation, *,
                     browser_id: str | None = None, user: User | None = None,
                     xid: str | None = None) -> Participant | None:
    """The participant this browser, user or external id already is, if any."""
    query = select(Participant).where(Participant.conversation_id == conversation.id)
    mode = conversation.participation
    keys: list[ColumnElement[bool]] = []
    if mode == Participation.XID and xid:
        keys.append(Participant.xid == xid)
    if mode != Participation.XID and user is not None:
        keys.append(Participant.user_id == user.id)
    if mode == Participation.ANONYMOUS and browser_id:
        keys.append(Participant.browser_key == browser_key(browser_id))
    for key in keys:
        found = session.scalar(query.where(key))
        if found is not None:
            return found
    return None


def join(session: Session, conversation: Conversation, *, browser_id: str | None = None,
         user: User | None = None, xid: str | None = None) -> Participant:
    """The participant for this browser, user or external id, created on first use.

    Anonymous conversations key people by browser (and by account when signed in);
    sign-in conversations by account; xid conversations only admit external ids that the
    organisers registered beforehand (:func:`register_xids`).
    """
    if not conversation.is_open:
        raise Conflict("This conversation is not open")
    found = find_participant(session, conversation, browser_id=browser_id, user=user, xid=xid)
    if found is not None:
        return found
    if conversation.participation == Participation.XID:
        raise PermissionDenied("This conversation is for invited participants: use the link "
                               "you were sent")
    if conversation.participation == Participation.SIGN_IN and user is None:
        raise PermissionDenied("Sign in to take part in this conversation")
    if user is None and not browser_id:
        raise ValidationFailed([FieldError("participant", "No participant id was given")])
    return _new_participant(session, conversation, user=user,
                            key=browser_key(browser_id) if browser_id else None)


def register_xids(session: Session, conversation: Conversation, xids: Sequence[str]
                  ) -> int:
    """Admit these external ids (a verified process's list); returns how many were new."""
    known = set(session.scalars(select(Participant.xid).where(
        Participant.conversation_id == conversation.id, Participant.xid.is_not(None))))
    added = 0
    for xid in dict.fromkeys(x.strip() for x in xids if x.strip()):
        if xid not in known:
            _new_participant(session, conversation, xid=xid)
            added += 1
    # Participants are not audited row by row (see accounts.audit); the registration is.
    session.add(AuditEntry(actor_id=session.info.get("actor_id"), ip=session.info.get("ip"),
                           action="register", table_name=Participant.__tablename__,
                           row_id=str(conversation.id), changes={"added": added},
                           summary=f"Registered {added} invitation ids for conversation "
                                   f"{conversation.slug}"))
    session.flush()
    return added


def _new_participant(session: Session, conversation: Conversation, *,
                     user: User | None = None, key: str | None = None, xid: str | None = None
                     ) -> Participant:
    for _ in range(_NUMBER_RETRIES):
        number = _next_number(session, Participant.number, Participant.conversation_id,
                              conversation.id)
        participant = Participant(conversation_id=conversation.id, number=number,
                                  user_id=user.id if user else None, browser_key=key, xid=xid)
        try:
            with session.begin_nested():
                session.add(participant)
        except IntegrityError:
            found = find_participant(session, conversation, user=user, xid=xid) if (
                user or xid) else session.scalar(select(Participant).where(
                    Participant.conversation_id == conversation.id,
                    Participant.browser_key == key))
            if found is not None:
                return found
            time.sleep(random.random() / 100)  # noqa: S311 - jitter, not security
            continue
        return participant
    raise Conflict("Too many people joined at once: try again")


def _next_number(session: Session, column: InstrumentedAttribute[int],
                 owner: InstrumentedAttribute[int], owner_id: int) -> int:
    latest = session.scalar(select(func.max(column)).where(owner == owner_id))
    return 0 if latest is None else int(latest) + 1


# Statements --------------------------------------------------------------------------------

def accepted_statements(session: Session, conversation: Conversation) -> list[Statement]:
    return list(session.scalars(select(Statement).where(
        Statement.conversation_id == conversation.id,
        Statement.state == StatementState.ACCEPTED).order_by(Statement.number)))


def statements(session: Session, conversation: Conversation, *,
               state: StatementState | None = None) -> list[Statement]:
    query = select(Statement).where(Statement.conversation_id == conversation.id)
    if state is not None:
        query = query.where(Statement.state == state)
    return list(session.scalars(query.order_by(Statement.number)))


def get_statement(session: Session, conversation: Conversation, number: int) -> Statement:
    found = session.scalar(select(Statement).where(
        Statement.conversation_id == conversation.id, Statement.number == number))
    if found is None:
        raise NotFound(f"No statement {number} in this conversation")
    return found


def add_seed(session: Session, conversation: Conversation, text: str, *,
             is_meta: bool = False, moderator: User | None = None) -> Statement:
    """An organiser's seed statement: accepted at once, logged."""
    data = validate(StatementIn, {"text": text})
    _refuse_duplicate(session, conversation, data.text, field="text")
    statement = _new_statement(session, conversation, data.text, author=None)
    statement.is_seed, statement.is_meta = True, is_meta
    moderate(session, statement, StatementState.ACCEPTED, reason="Seed statement",
             moderator=moderator)
    return statement


def submit(session: Session, conversation: Conversation, participant: Participant,
           text: str) -> Statement:
    """A participant's statement: checked against the cap and for repeats, then queued for
    moderation (or accepted at once when the conversation is not premoderated)."""
    if not conversation.is_open:
        raise Conflict("This conversation is not open")
    if not conversation.accept_statements:
        raise ValidationFailed([FieldError("text", "This conversation does not take new "
                                                   "statements")])
    data = validate(StatementIn, {"text": text})
    written = session.scalar(select(func.count()).select_from(Statement).where(
        Statement.author_id == participant.id)) or 0
    if written >= conversation.statement_cap:
        raise ValidationFailed([FieldError(
            "text", f"You have written {written} statements, the most this conversation "
                    "takes from one person")])
    similar = _refuse_duplicate(session, conversation, data.text, field="text")
    statement = _new_statement(session, conversation, data.text, author=participant)
    if similar is not None:
        statement.duplicate_of_id = similar.id
    if not conversation.premoderate:
        statement.state = StatementState.ACCEPTED
        session.flush()
    return statement


def _refuse_duplicate(session: Session, conversation: Conversation, text: str, *, field: str
                      ) -> Statement | None:
    """Refuse a near-copy of a visible statement; return the most similar one above the
    flagging threshold (for the moderator), if any."""
    rows = session.execute(select(Statement.id, Statement.text, Statement.state, Statement.number)
                           .where(Statement.conversation_id == conversation.id)
                           .order_by(Statement.number)).all()
    live = [(r.id, r.text) for r in rows if r.state != StatementState.REJECTED]
    best = nearest(text, live, threshold=SIMILAR, limit=1)
    if not best:
        return None
    statement_id, score = best[0]
    number = next(r.number for r in rows if r.id == statement_id)
    if score >= DUPLICATE:
        raise ValidationFailed([FieldError(
            field, f"This is very like statement {number} already in the conversation: "
                   "vote on that one instead")])
    return session.get(Statement, statement_id)


def _new_statement(session: Session, conversation: Conversation, text: str, *,
                   author: Participant | None) -> Statement:
    for _ in range(_NUMBER_RETRIES):
        number = _next_number(session, Statement.number, Statement.conversation_id,
                              conversation.id)
        statement = Statement(conversation_id=conversation.id, number=number, text=text,
                              author_id=author.id if author else None)
        try:
            with session.begin_nested():
                session.add(statement)
        except IntegrityError:
            time.sleep(random.random() / 100)  # noqa: S311 - jitter, not security
            continue
        return statement
    raise Conflict("Too many statements arrived at once: try again")


def similar_statements(session: Session, statement: Statement, *, limit: int = 3
                       ) -> list[tuple[Statement, float]]:
    """Other statements in the conversation most like this one (for the moderator)."""
    others = session.execute(select(Statement.id, Statement.text).where(
        Statement.conversation_id == statement.conversation_id,
        Statement.id != statement.id)).all()
    found = nearest(statement.text, [(r.id, r.text) for r in others], threshold=SIMILAR,
                    limit=limit)
    return [(s, score) for sid, score in found if (s := session.get(Statement, sid))]


def moderate(session: Session, statement: Statement, state: StatementState, *,
             reason: str = "", moderator: User | None = None) -> ModerationEvent:
    """Accept or reject a statement (or return it to the queue); a rejection needs a public
    reason. Every decision goes on the public moderation log."""
    reason = reason.strip()
    if state == StatementState.REJECTED and not reason:
        raise ValidationFailed([FieldError("reason", "Give the reason for rejecting: it is "
                                                     "published in the moderation log")])
    statement.state, statement.reason = state, reason
    statement.moderated_at = utcnow()
    event = ModerationEvent(statement=statement, state=state, reason=reason,
                            moderator_id=moderator.id if moderator else None)
    session.add(event)
    session.flush()
    return event


def moderation_log(session: Session, conversation: Conversation, *, limit: int | None = None
                   ) -> list[ModerationEvent]:
    query = (select(ModerationEvent).join(Statement)
             .options(joinedload(ModerationEvent.statement))
             .where(Statement.conversation_id == conversation.id)
             .order_by(ModerationEvent.at.desc(), ModerationEvent.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def statements_by(session: Session, participant: Participant) -> list[Statement]:
    return list(session.scalars(select(Statement).where(Statement.author_id == participant.id)
                                .order_by(Statement.number)))


# Votes -------------------------------------------------------------------------------------

def cast(session: Session, conversation: Conversation, participant: Participant,
         statement_number: int, value: int) -> Vote:
    """One vote through the ORM session (the form path; the API uses the batched writer).
    A later vote on the same statement replaces the earlier one in the analysis."""
    if not conversation.is_open:
        raise Conflict("This conversation is not open")
    if value not in (-1, 0, 1):
        raise ValidationFailed([FieldError("vote", "Choose agree, disagree or pass")])
    statement = get_statement(session, conversation, statement_number)
    if statement.state != StatementState.ACCEPTED:
        raise NotFound(f"No statement {statement_number} to vote on")
    vote = Vote(conversation_id=conversation.id, participant_id=participant.id,
                statement_id=statement.id, value=value, cast_at=int(time.time() * 1000))
    session.add(vote)
    session.flush()
    return vote


def standing_votes(session: Session, participant: Participant) -> dict[int, int]:
    """This participant's standing vote per statement number (the last one cast)."""
    rows = session.execute(select(Statement.number, Vote.value).join(
        Statement, Statement.id == Vote.statement_id).where(
        Vote.participant_id == participant.id).order_by(Vote.id)).all()
    return {r.number: r.value for r in rows}


def count_votes(session: Session, conversation: Conversation) -> int:
    return int(session.scalar(select(func.count()).select_from(Vote).where(
        Vote.conversation_id == conversation.id)) or 0)


def count_participants(session: Session, conversation: Conversation) -> int:
    return int(session.scalar(select(func.count(func.distinct(Vote.participant_id))).where(
        Vote.conversation_id == conversation.id)) or 0)


def latest_run(session: Session, conversation: Conversation) -> AnalysisRun | None:
    return session.scalar(select(AnalysisRun).where(
        AnalysisRun.conversation_id == conversation.id).order_by(
        AnalysisRun.id.desc()).limit(1))


def next_statement(session: Session, conversation: Conversation,
                   participant: Participant | None, *, rng: random.Random | None = None,
                   voted: Collection[int] | None = None,
                   accepted: Sequence[Statement] | None = None,
                   priorities: Mapping[str, float] | None = None) -> Statement | None:
    """The next statement to show: one not yet voted on, drawn with probability proportional
    to its priority in the last analysis (1 for statements not yet scored), as Pol.is
    routes; None when every statement has a vote."""
    if voted is None:
        voted = set(standing_votes(session, participant)) if participant else set()
    if accepted is None:
        accepted = accepted_statements(session, conversation)
    waiting = [s for s in accepted if s.number not in voted]
    if not waiting:
        return None
    if priorities is None:
        run = latest_run(session, conversation)
        priorities = run.result.get("priorities") if run else None
    scores = priorities or {}
    weights = [max(float(scores.get(str(s.number), 1.0)), 1e-9) for s in waiting]
    chooser = rng or random.Random()  # noqa: S311 - routing, not security
    return chooser.choices(waiting, weights=weights, k=1)[0]
