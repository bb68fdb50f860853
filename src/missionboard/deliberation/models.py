"""Citizen deliberation: conversations attached to a mission, their participants,
statements and votes, the moderation log and the analysis runs.

Votes are an append-only event log (the last vote per participant and statement stands, as in
Pol.is); they are written by the vote writer in batches through SQLAlchemy Core, so they do
not pass through the ORM audit hook: the log itself is the record.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.missions.models import Mission, Outcome

#: An auto-incrementing 64-bit key (SQLite's rowid alias must be INTEGER).
BigKey = BigInteger().with_variant(Integer(), "sqlite")

DEFAULT_POLICY = """\
Statements should be about the question, short (one idea each) and in plain words.

We accept statements that people may disagree with: disagreement is the point.

We reject statements that:

- attack or name a private individual, or are abusive, discriminatory or threatening
- include personal information, such as addresses or phone numbers
- advertise, or link to other sites
- repeat a statement already in the conversation (we say which one)
- are not about the question

Every decision is logged publicly below with its reason. Votes are never moderated.
"""


class ConversationStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Participation(enum.StrEnum):
    """Who may take part: anyone (a per-browser participant id), signed-in users only, or
    holders of an external identifier issued by a verified process."""

    ANONYMOUS = "anonymous"
    SIGN_IN = "sign_in"
    XID = "xid"


class StatementState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcomes.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    question: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ConversationStatus] = mapped_column(
        str_enum(ConversationStatus, name="conversation_status"),
        default=ConversationStatus.DRAFT,
    )
    participation: Mapped[Participation] = mapped_column(
        str_enum(Participation, name="participation"), default=Participation.ANONYMOUS
    )
    accept_statements: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Statements one participant may submit.
    statement_cap: Mapped[int] = mapped_column(Integer, default=5)
    #: Participants' statements wait for a moderator before anyone votes on them.
    premoderate: Mapped[bool] = mapped_column(Boolean, default=True)
    #: A moderator's fixed number of groups; None lets the silhouette choose.
    fixed_k: Mapped[int | None] = mapped_column(Integer)
    moderation_policy: Mapped[str] = mapped_column(Text, default=DEFAULT_POLICY)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    mission: Mapped[Mission] = relationship()
    outcome: Mapped[Outcome | None] = relationship()

    @property
    def is_public(self) -> bool:
        return self.status != ConversationStatus.DRAFT and self.mission.is_published

    @property
    def is_open(self) -> bool:
        return self.status == ConversationStatus.OPEN


class Participant(Base):
    """One person in one conversation. ``number`` is the conversation's own participant
    number (Pol.is's voter id); ``browser_key`` is the SHA-256 of the per-browser id."""

    __tablename__ = "deliberation_participants"
    __table_args__ = (
        UniqueConstraint("conversation_id", "number"),
        UniqueConstraint("conversation_id", "browser_key"),
        UniqueConstraint("conversation_id", "user_id"),
        UniqueConstraint("conversation_id", "xid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    browser_key: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    xid: Mapped[str | None] = mapped_column(String(200))
    #: The opinion group the last analysis placed them in (None: not grouped).
    group_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Statement(Base):
    """A statement to vote on. ``number`` is the conversation's own (Pol.is's comment id)."""

    __tablename__ = "deliberation_statements"
    __table_args__ = (UniqueConstraint("conversation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliberation_participants.id", ondelete="SET NULL"), index=True
    )
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_meta: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[StatementState] = mapped_column(
        str_enum(StatementState, name="statement_state"), default=StatementState.PENDING
    )
    #: The public reason for the last moderation decision.
    reason: Mapped[str] = mapped_column(Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliberation_statements.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    author: Mapped[Participant | None] = relationship()
    duplicate_of: Mapped[Statement | None] = relationship(remote_side=[id])

    @property
    def moderated(self) -> int:
        """Pol.is's moderation code: 1 accepted, 0 not yet moderated, −1 rejected."""
        return {StatementState.ACCEPTED: 1, StatementState.PENDING: 0,
                StatementState.REJECTED: -1}[self.state]


class Vote(Base):
    """One vote event: +1 agree, −1 disagree, 0 pass. The last per participant and
    statement stands."""

    __tablename__ = "deliberation_votes"
    __table_args__ = (
        Index("ix_deliberation_votes_conversation_id_id", "conversation_id", "id"),
        Index("ix_deliberation_votes_participant_id_statement_id", "participant_id",
              "statement_id"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("deliberation_participants.id", ondelete="CASCADE"))
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("deliberation_statements.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(SmallInteger)
    #: Milliseconds since the Unix epoch (the export's timestamp).
    cast_at: Mapped[int] = mapped_column(BigInteger)


class ModerationEvent(Base):
    """The public moderation log: every decision on a statement, with its reason."""

    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("deliberation_statements.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[StatementState] = mapped_column(
        str_enum(StatementState, name="statement_state"))
    reason: Mapped[str] = mapped_column(Text, default="")
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statement: Mapped[Statement] = relationship()


class AnalysisRun(Base):
    """One analysis of a conversation: when it ran, on how many votes, and what it found.

    ``result`` is the JSON the pages read (groups, consensus, priorities, the opinion map);
    ``state`` is what the next incremental update warm-starts from (a pickled
    :class:`missionboard.analytics.deliberation.DeliberationState` written by the worker).
    """

    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_vote_id: Mapped[int] = mapped_column(BigInteger, default=0)
    n_votes: Mapped[int] = mapped_column(Integer, default=0)
    n_participants: Mapped[int] = mapped_column(Integer, default=0)
    k: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(default=0.0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
