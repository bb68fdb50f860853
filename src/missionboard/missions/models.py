"""Organisations, missions, outcomes, mission boards and the public change record."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum

if TYPE_CHECKING:
    from missionboard.metrics.models import Metric


class OrganisationKind(enum.StrEnum):
    CENTRAL_DEPARTMENT = "central_department"
    DEVOLVED_GOVERNMENT = "devolved_government"
    REGIONAL_GOVERNMENT = "regional_government"
    LOCAL_GOVERNMENT = "local_government"
    PUBLIC_BODY = "public_body"
    FRONTLINE_PROVIDER = "frontline_provider"
    BUSINESS = "business"
    TRADE_UNION = "trade_union"
    CHARITY = "charity"
    COMMUNITY_GROUP = "community_group"
    OTHER = "other"


class MissionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class BoardRole(enum.StrEnum):
    MINISTER = "minister"
    OFFICIAL = "official"
    NON_EXECUTIVE = "non_executive"
    PARTNER_REPRESENTATIVE = "partner_representative"
    LOCAL_GOVERNMENT = "local_government"


class ContributionRole(enum.StrEnum):
    LEAD = "lead"
    CONTRIBUTOR = "contributor"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[OrganisationKind] = mapped_column(
        str_enum(OrganisationKind, name="organisation_kind")
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    website: Mapped[str | None] = mapped_column(String(500))

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])


class Mission(Base):
    __tablename__ = "missions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    ambition: Mapped[str] = mapped_column(Text)
    horizon_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[MissionStatus] = mapped_column(
        str_enum(MissionStatus, name="mission_status"), default=MissionStatus.DRAFT
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    judgements_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    outcomes: Mapped[list[Outcome]] = relationship(
        back_populates="mission", cascade="all, delete-orphan", order_by="Outcome.position"
    )
    board_members: Mapped[list[BoardMember]] = relationship(
        back_populates="mission", cascade="all, delete-orphan", order_by="BoardMember.position"
    )
    organisations: Mapped[list[MissionOrganisation]] = relationship(
        back_populates="mission", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.status == MissionStatus.PUBLISHED


class Outcome(Base):
    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("mission_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    mission: Mapped[Mission] = relationship(back_populates="outcomes")
    metrics: Mapped[list[Metric]] = relationship(
        secondary="metric_outcomes", back_populates="outcomes", order_by="Metric.title"
    )


class BoardMember(Base):
    """A member of a mission board: the chair and the accountable lead are flagged."""

    __tablename__ = "board_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[BoardRole] = mapped_column(str_enum(BoardRole, name="board_role"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    is_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    is_accountable_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    mission: Mapped[Mission] = relationship(back_populates="board_members")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class MissionOrganisation(Base):
    __tablename__ = "mission_organisations"
    __table_args__ = (UniqueConstraint("mission_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    role: Mapped[ContributionRole] = mapped_column(
        str_enum(ContributionRole, name="contribution_role")
    )

    mission: Mapped[Mission] = relationship(back_populates="organisations")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ChangeRecord(Base):
    """A public record of a change to something published: what, when, who and why."""

    __tablename__ = "change_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    mission_id: Mapped[int | None] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    metric_id: Mapped[int | None] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
