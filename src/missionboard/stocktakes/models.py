"""Stocktakes: the board's regular meeting on a mission, its frozen pack, the delivery
judgement, decisions and actions; the mission's risk register and external challenges."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.missions.models import Mission


class Rating(enum.StrEnum):
    """The Delivery Unit's four ratings, best first."""

    GREEN = "green"
    AMBER_GREEN = "amber_green"
    AMBER_RED = "amber_red"
    RED = "red"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class RiskStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Stocktake(Base):
    """One meeting of the board on a mission.

    Until its pack is issued the pack is built afresh from the live data as of ``as_of``;
    issuing stores it in ``pack`` and it never changes again.
    """

    __tablename__ = "stocktakes"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    meeting_on: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    chair: Mapped[str] = mapped_column(String(200), default="")
    pack: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pack_sha256: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    issued_by: Mapped[str | None] = mapped_column(String(200))
    pack_published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    minutes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mission: Mapped[Mission] = relationship()
    judgement: Mapped[Judgement | None] = relationship(
        back_populates="stocktake", cascade="all, delete-orphan", uselist=False
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="stocktake", cascade="all, delete-orphan", order_by="Decision.position"
    )
    actions: Mapped[list[Action]] = relationship(
        back_populates="stocktake", cascade="all, delete-orphan", order_by="Action.id"
    )

    @property
    def is_issued(self) -> bool:
        return self.pack is not None


class Judgement(Base):
    """The delivery judgement recorded at a stocktake: overall, and on each criterion."""

    __tablename__ = "judgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(
        ForeignKey("stocktakes.id", ondelete="CASCADE"), unique=True
    )
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    overall: Mapped[Rating] = mapped_column(str_enum(Rating, name="rating"))
    overall_reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))

    stocktake: Mapped[Stocktake] = relationship(back_populates="judgement")
    items: Mapped[list[JudgementItem]] = relationship(
        back_populates="judgement", cascade="all, delete-orphan", order_by="JudgementItem.id",
        lazy="selectin",
    )


class JudgementItem(Base):
    """One criterion of the assessment framework: its value (a rating, a degree of challenge
    or a stage) and the reason for it."""

    __tablename__ = "judgement_items"
    __table_args__ = (UniqueConstraint("judgement_id", "criterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    judgement_id: Mapped[int] = mapped_column(
        ForeignKey("judgements.id", ondelete="CASCADE"), index=True
    )
    criterion: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)

    judgement: Mapped[Judgement] = relationship(back_populates="items")


class Decision(Base):
    __tablename__ = "stocktake_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(
        ForeignKey("stocktakes.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    stocktake: Mapped[Stocktake] = relationship(back_populates="decisions")


class Action(Base):
    """An action agreed at a stocktake, with its owner and date, followed up at the next."""

    __tablename__ = "stocktake_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(
        ForeignKey("stocktakes.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(200))
    due: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus, name="action_status"), default=ActionStatus.OPEN
    )
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    progress: Mapped[str] = mapped_column(Text, default="")

    stocktake: Mapped[Stocktake] = relationship(back_populates="actions")


class Risk(Base):
    """An entry in the mission's risk register (likelihood and impact on 1–5 scales)."""

    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    mitigation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RiskStatus] = mapped_column(
        str_enum(RiskStatus, name="risk_status"), default=RiskStatus.OPEN
    )
    raised_on: Mapped[dt.date] = mapped_column(Date)

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class Challenge(Base):
    """A question put to the mission by a non-executive member or a mission council, with
    the responsible lead's answer. Published challenges appear on the public mission page."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_by_role: Mapped[str] = mapped_column(String(200))
    raised_on: Mapped[dt.date] = mapped_column(Date)
    question: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    mission: Mapped[Mission] = relationship()
