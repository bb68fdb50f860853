"""Partners (non-government organisations), their staff accounts, their public commitments to
missions and the progress reports on those commitments.

Rules kept here and in :mod:`missionboard.partners.service`:

- a partner and each of its commitments are public only once moderated (approved by an
  administrator, or by an editor of the commitment's mission), and a commitment only while its
  mission is published;
- a partner's staff (``PartnerMember``) act for it only once *verified*: by a one-time link sent
  to an address on the organisation's declared web domain, or by an administrator. Staff names
  and email addresses are never public;
- a commitment's status is derived by one pure function
  (:func:`missionboard.partners.status.derive_status`); the columns ``assessment`` and
  ``report_due_on`` keep what that function needs so that the register can filter by status
  in SQL (see :func:`missionboard.partners.service.status_expression`).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from missionboard.accounts.models import User
from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.delivery.models import Intervention
from missionboard.metrics.models import Area, Metric
from missionboard.missions.models import Mission, Outcome


class PartnerKind(enum.StrEnum):
    BUSINESS = "business"
    TRADE_UNION = "trade_union"
    CHARITY = "charity"
    SOCIAL_ENTERPRISE = "social_enterprise"
    COMMUNITY_GROUP = "community_group"
    UNIVERSITY = "university"
    FAITH_GROUP = "faith_group"
    PUBLIC_BODY = "public_body"


class PartnerSize(enum.StrEnum):
    """Size by staff, in the bands the Companies Act and the ONS use."""

    MICRO = "micro"  # fewer than 10
    SMALL = "small"  # 10 to 49
    MEDIUM = "medium"  # 50 to 249
    LARGE = "large"  # 250 or more


class Sector(enum.StrEnum):
    """The partner's main sector of activity (broad groups of the UK SIC 2007 sections)."""

    AGRICULTURE_FOOD = "agriculture_food"
    ARTS_CULTURE_SPORT = "arts_culture_sport"
    CONSTRUCTION_HOUSING = "construction_housing"
    EDUCATION = "education"
    ENERGY_UTILITIES = "energy_utilities"
    FINANCE = "finance"
    HEALTH_CARE = "health_care"
    HOSPITALITY = "hospitality"
    DIGITAL = "digital"
    MANUFACTURING = "manufacturing"
    PROFESSIONAL_SERVICES = "professional_services"
    PUBLIC_SERVICES = "public_services"
    RETAIL = "retail"
    TRANSPORT = "transport"
    COMMUNITY = "community"
    OTHER = "other"


class ModerationStatus(enum.StrEnum):
    """Submitted (not public), approved (public) or rejected (never public)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MemberVerification(enum.StrEnum):
    """How a member of staff was verified."""

    EMAIL_DOMAIN = "email_domain"
    ADMINISTRATOR = "administrator"


class CommitmentKind(enum.StrEnum):
    ACTION = "action"
    TARGET = "target"  # a measurable target: baseline → target by a deadline
    MONEY = "money"
    TIME = "time"  # people's time, in hours
    IN_KIND = "in_kind"


class ReportingSchedule(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SIX_MONTHLY = "six_monthly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "six_monthly": 6, "yearly": 12}[self.value]


class VerificationLevel(enum.StrEnum):
    SELF_REPORTED = "self_reported"
    EVIDENCED = "evidenced"
    INDEPENDENTLY_VERIFIED = "independently_verified"


class CommitmentStatus(enum.StrEnum):
    NOT_YET_DUE = "not_yet_due"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    ACHIEVED = "achieved"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


partner_areas = Table(
    "partner_areas",
    Base.metadata,
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Partner(Base):
    """A business, union, charity, social enterprise, community group, university, faith
    group or public body that makes commitments to missions."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind, name="partner_kind"),
                                              index=True)
    sector: Mapped[Sector] = mapped_column(str_enum(Sector, name="partner_sector"), index=True)
    size: Mapped[PartnerSize] = mapped_column(str_enum(PartnerSize, name="partner_size"))
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    #: The organisation's email domain (e.g. ``example.org``): staff whose address is on it are
    #: verified by the link sent to them; others by an administrator.
    web_domain: Mapped[str] = mapped_column(String(253), default="")
    #: Companies House number (8 characters, e.g. ``01234567`` or ``SC123456``).
    company_number: Mapped[str] = mapped_column(String(8), default="")
    #: Registered charity number (England and Wales, Scotland ``SC…`` or Northern Ireland).
    charity_number: Mapped[str] = mapped_column(String(12), default="")
    #: A trade union's reference on the Certification Officer's list.
    union_number: Mapped[str] = mapped_column(String(20), default="")
    moderation: Mapped[ModerationStatus] = mapped_column(
        str_enum(ModerationStatus, name="partner_moderation"),
        default=ModerationStatus.PENDING, index=True)
    #: Why it was rejected (shown to its staff, not in public).
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    moderated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    #: Made-up data for the demo, labelled as such wherever it is shown.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    areas: Mapped[list[Area]] = relationship(secondary=partner_areas, order_by="Area.code")
    members: Mapped[list[PartnerMember]] = relationship(
        back_populates="partner", cascade="all, delete-orphan", order_by="PartnerMember.id")

    @property
    def is_public(self) -> bool:
        return self.moderation == ModerationStatus.APPROVED


class PartnerMember(Base):
    """A user who acts for a partner. Only verified members may write for it."""

    __tablename__ = "partner_members"
    __table_args__ = (UniqueConstraint("partner_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    job_title: Mapped[str] = mapped_column(String(200), default="")
    #: When the member followed the link sent to their address (they own it).
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[MemberVerification | None] = mapped_column(
        str_enum(MemberVerification, name="partner_member_verification"))
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    #: SHA-256 of the one-time link's token; emptied once used.
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="members")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @hybrid_property
    def verified(self) -> bool:
        return self.verified_at is not None

    @verified.inplace.expression
    @classmethod
    def _verified_expression(cls) -> ColumnElement[bool]:
        return cls.verified_at.is_not(None)


class Commitment(Base):
    """A partner's public pledge to a mission (and optionally one of its outcomes, a metric
    and an area)."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_moderation_id", "moderation", "id"),
        # The public register (missionboard.partners.register) counts the listed
        # commitments, and finds a page's ids however deep, from this index alone; with a
        # filter, it counts the matches, and finds a page's ids newest first, from the
        # filter's index, each of which holds ``listed`` and the id too.
        Index("ix_commitments_listed_id_mission_id", "listed", "id", "mission_id"),
        Index("ix_commitments_mission_id_listed_id", "mission_id", "listed", "id"),
        Index("ix_commitments_partner_id_listed_id", "partner_id", "listed", "id"),
        Index("ix_commitments_area_id_listed_id", "area_id", "listed", "id"),
        Index("ix_commitments_kind_listed_id", "kind", "listed", "id"),
        Index("ix_commitments_verification_listed_id", "verification", "listed", "id"),
        Index("ix_commitments_assessment_listed_report_due_on_deadline", "assessment",
              "listed", "report_due_on", "deadline"),
        Index("ix_commitments_report_due_on_listed_assessment", "report_due_on", "listed",
              "assessment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id", ondelete="CASCADE"))
    outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcomes.id", ondelete="SET NULL"), index=True)
    metric_id: Mapped[int | None] = mapped_column(
        ForeignKey("metrics.id", ondelete="SET NULL"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[CommitmentKind] = mapped_column(
        str_enum(CommitmentKind, name="commitment_kind"))
    #: The measure's unit (for a target), e.g. "homes retrofitted" or "%".
    unit: Mapped[str] = mapped_column(String(100), default="")
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    #: When the commitment starts: the first report is due one reporting period later.
    start_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.date | None] = mapped_column(Date, index=True)
    #: Money pledged, in pounds sterling.
    pledged_money: Mapped[float | None] = mapped_column(Numeric(16, 2, asdecimal=False))
    #: People's time pledged, in hours.
    pledged_hours: Mapped[float | None] = mapped_column(Float)
    #: In-kind resources pledged, in words.
    in_kind: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[ReportingSchedule] = mapped_column(
        str_enum(ReportingSchedule, name="commitment_schedule"),
        default=ReportingSchedule.QUARTERLY)
    verification: Mapped[VerificationLevel] = mapped_column(
        str_enum(VerificationLevel, name="commitment_verification"),
        default=VerificationLevel.SELF_REPORTED)
    moderation: Mapped[ModerationStatus] = mapped_column(
        str_enum(ModerationStatus, name="commitment_moderation"),
        default=ModerationStatus.PENDING)
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    moderated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    #: Approved, and its partner approved: listed in the public register while its mission
    #: is published. Derived, and kept in step by the service whenever the commitment or its
    #: partner is moderated (:func:`missionboard.partners.service.refresh_listed`), so that
    #: the register counts and pages through one indexed column rather than joining every
    #: commitment to its partner.
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    #: The intervention this commitment was turned into, in the mission's trajectory.
    intervention_id: Mapped[int | None] = mapped_column(
        ForeignKey("interventions.id", ondelete="SET NULL"), unique=True)

    # Kept by service.refresh_progress from the reports (the register filters and sums them).
    #: The status as of the latest report, before lapsing and the deadline are considered.
    assessment: Mapped[CommitmentStatus] = mapped_column(
        str_enum(CommitmentStatus, name="commitment_assessment"),
        default=CommitmentStatus.NOT_YET_DUE)
    #: The next report is overdue (the commitment lapsed) after this day.
    report_due_on: Mapped[dt.date] = mapped_column(Date)
    last_report_on: Mapped[dt.date | None] = mapped_column(Date)
    latest_value: Mapped[float | None] = mapped_column(Float)
    delivered_money: Mapped[float] = mapped_column(Numeric(16, 2, asdecimal=False), default=0)
    delivered_hours: Mapped[float] = mapped_column(Float, default=0)
    reports_count: Mapped[int] = mapped_column(Integer, default=0)

    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    partner: Mapped[Partner] = relationship(lazy="joined")
    mission: Mapped[Mission] = relationship(lazy="joined")
    outcome: Mapped[Outcome | None] = relationship()
    metric: Mapped[Metric | None] = relationship()
    area: Mapped[Area | None] = relationship(lazy="joined")
    intervention: Mapped[Intervention | None] = relationship()
    reports: Mapped[list[ProgressReport]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan",
        order_by="(ProgressReport.period_end, ProgressReport.id)")

    @property
    def is_public(self) -> bool:
        return (self.moderation == ModerationStatus.APPROVED
                and self.partner.moderation == ModerationStatus.APPROVED
                and self.mission.is_published)

    @property
    def is_measurable(self) -> bool:
        return (self.kind == CommitmentKind.TARGET and self.baseline is not None
                and self.target is not None and self.deadline is not None)


class ProgressReport(Base):
    """One progress report on a commitment, covering the period up to ``period_end``.

    ``value`` is the measure's level at ``period_end`` (for a target); ``money_spent`` and
    ``hours_given`` are what was spent or given since the previous report.
    """

    __tablename__ = "commitment_reports"
    __table_args__ = (
        Index("ix_commitment_reports_commitment_id_period_end", "commitment_id", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"))
    period_end: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    money_spent: Mapped[float | None] = mapped_column(Numeric(16, 2, asdecimal=False))
    hours_given: Mapped[float | None] = mapped_column(Float)
    #: The partner says the commitment is done (an action, an in-kind pledge…).
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    narrative: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str] = mapped_column(String(500), default="")
    evidence_description: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[VerificationLevel] = mapped_column(
        str_enum(VerificationLevel, name="commitment_report_verification"),
        default=VerificationLevel.SELF_REPORTED)
    #: Who filed it (kept for the audit; never shown in public).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="reports")


class RegistrationAttempt(Base):
    """One submission of the public "register your organisation" or "join" form, for the
    rate limits: keyed hashes of the client's address and of the email address (never the
    values themselves), and when."""

    __tablename__ = "partner_registration_attempts"
    __table_args__ = (
        Index("ix_partner_registration_attempts_ip_hash_at", "ip_hash", "at"),
        Index("ix_partner_registration_attempts_email_hash_at", "email_hash", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_hash: Mapped[str] = mapped_column(String(64))
    email_hash: Mapped[str] = mapped_column(String(64), default="")
