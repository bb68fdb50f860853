"""Volunteering: postcode centroids, the opportunities partners and public bodies post against
a mission, the people who sign up, the hours they log and their organiser confirms, the
organisers' messages, and the sign-up attempts kept for rate limiting.

Personal data (names, email addresses, phone numbers, postcodes, notes) lives only in
``volunteer_signups`` and ``volunteer_hours``. Those tables are written with Core statements by
:mod:`missionboard.volunteering.service` (never through the ORM's unit of work), so that the
audit hook never copies a volunteer's details into the audit log; the service logs a summary of
each change without them. Rows are deleted when the volunteer withdraws and when the
opportunity's retention date passes; the opportunity keeps anonymous counters (people signed
up, on the waiting list, hours confirmed), which are all that public pages and the API show.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.missions.models import Mission
from missionboard.partners.models import Partner


class OpportunityStatus(enum.StrEnum):
    """Draft (being written), pending (waiting for a moderator), published (open to sign-ups),
    closed (no more sign-ups; personal data is deleted at the retention date)."""

    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    CLOSED = "closed"


class Mode(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    #: In person or online, as the volunteer prefers.
    HYBRID = "hybrid"


class TimeKind(enum.StrEnum):
    """A one-off (``hours`` in all) or regular commitment (``hours`` a week)."""

    ONE_OFF = "one_off"
    REGULAR = "regular"


class DbsCheck(enum.StrEnum):
    """The criminal-records (Disclosure and Barring Service) check the role needs."""

    NONE = "none"
    BASIC = "basic"
    STANDARD = "standard"
    ENHANCED = "enhanced"


class SignupStatus(enum.StrEnum):
    SIGNED_UP = "signed_up"
    WAITLISTED = "waitlisted"


class HoursStatus(enum.StrEnum):
    LOGGED = "logged"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Audience(enum.StrEnum):
    """Whom an organiser's message goes to."""

    SIGNED_UP = "signed_up"
    WAITLISTED = "waitlisted"
    EVERYONE = "everyone"


class PostcodeCentroid(Base):
    """Where a unit postcode (``SW1A 1AA``) or an outward code (``SW1A``) is: the centroid's
    latitude and longitude (WGS84), and optionally the code of the area it lies in (an ONS
    GSS code such as a region's), for public counts by area."""

    __tablename__ = "postcode_centroids"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    outward: Mapped[str] = mapped_column(String(4), index=True)
    is_unit: Mapped[bool] = mapped_column(Boolean)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    area_code: Mapped[str] = mapped_column(String(20), default="")


class Opportunity(Base):
    __tablename__ = "volunteer_opportunities"
    __table_args__ = (
        # The search: published opportunities in a latitude range, then a longitude range.
        Index("ix_volunteer_opportunities_status_latitude_longitude", "status", "latitude",
              "longitude"),
        Index("ix_volunteer_opportunities_status_published_at", "status", "published_at"),
        # The search's online opportunities (they have no place).
        Index("ix_volunteer_opportunities_status_mode", "status", "mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True)
    #: The partner organising it; None when a public body runs it (named in ``public_body``,
    #: organised by the mission's editors).
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    public_body: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode, name="volunteer_mode"),
                                       default=Mode.IN_PERSON)
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str] = mapped_column(String(8), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    #: The area of the postcode (from the centroids), for public counts by area.
    area_code: Mapped[str] = mapped_column(String(20), default="", index=True)
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    #: None for an ongoing opportunity.
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    time_kind: Mapped[TimeKind] = mapped_column(str_enum(TimeKind, name="volunteer_time_kind"),
                                                default=TimeKind.REGULAR)
    hours: Mapped[float | None] = mapped_column(Float)
    #: When, in words (for example "Saturday mornings").
    time_note: Mapped[str] = mapped_column(String(300), default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    dbs_check: Mapped[DbsCheck] = mapped_column(str_enum(DbsCheck, name="volunteer_dbs_check"),
                                                default=DbsCheck.NONE)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    #: Places; None for no limit.
    capacity: Mapped[int | None] = mapped_column(Integer)
    #: Whether people may join a waiting list when it is full.
    waitlist: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[OpportunityStatus] = mapped_column(
        str_enum(OpportunityStatus, name="volunteer_opportunity_status"),
        default=OpportunityStatus.DRAFT)
    #: A moderator's note when returning it to draft or taking it down (seen by organisers).
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Personal data is kept this many months after it closes.
    retention_months: Mapped[int] = mapped_column(Integer, default=12)
    #: Set when it closes; the purge deletes the personal data after this day.
    retain_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    personal_data_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Anonymous counters, kept as sign-ups come and go (and kept after the purge).
    signed_up: Mapped[int] = mapped_column(Integer, default=0)
    waitlisted: Mapped[int] = mapped_column(Integer, default=0)
    hours_confirmed: Mapped[float] = mapped_column(Float, default=0.0)
    #: Made-up data for the demo, labelled as such on every page.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    mission: Mapped[Mission] = relationship()
    partner: Mapped[Partner | None] = relationship()
    tags: Mapped[list[OpportunityTag]] = relationship(
        back_populates="opportunity", order_by="OpportunityTag.tag",
        cascade="all, delete-orphan")

    @property
    def is_public(self) -> bool:
        """Published or closed, on a published mission, by a public body or an approved
        partner."""
        return (self.status in (OpportunityStatus.PUBLISHED, OpportunityStatus.CLOSED)
                and self.mission.is_published
                and (self.partner is None or self.partner.is_public))

    @property
    def is_open(self) -> bool:
        """Public and taking sign-ups: published, and not past its end date."""
        return (self.status == OpportunityStatus.PUBLISHED and self.is_public
                and (self.ends_on is None or self.ends_on >= utcnow().date()))

    @property
    def organiser_name(self) -> str:
        return self.partner.name if self.partner is not None else self.public_body

    @property
    def places_left(self) -> int | None:
        """Places not yet taken; None when there is no limit."""
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.signed_up)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.signed_up >= self.capacity

    @property
    def in_person(self) -> bool:
        return self.mode in (Mode.IN_PERSON, Mode.HYBRID)

    @property
    def online(self) -> bool:
        return self.mode in (Mode.ONLINE, Mode.HYBRID)

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class OpportunityTag(Base):
    """An interest or skill the opportunity is found by (``gardening``, ``first-aid``)."""

    __tablename__ = "volunteer_opportunity_tags"
    __table_args__ = (UniqueConstraint("opportunity_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_opportunities.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(60), index=True)

    opportunity: Mapped[Opportunity] = relationship(back_populates="tags")


class Signup(Base):
    """A person signed up (or on the waiting list). Personal data: written only with Core
    statements (see the module's docstring). ``token_sha256`` is the SHA-256 of the secret in
    their private link; the secret itself is never stored."""

    __tablename__ = "volunteer_signups"
    __table_args__ = (
        UniqueConstraint("opportunity_id", "email"),
        Index("ix_volunteer_signups_opportunity_id_status_created_at", "opportunity_id",
              "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_opportunities.id", ondelete="CASCADE"))
    status: Mapped[SignupStatus] = mapped_column(
        str_enum(SignupStatus, name="volunteer_signup_status"))
    name: Mapped[str] = mapped_column(String(200))
    #: Lower case, so that one address signs up once.
    email: Mapped[str] = mapped_column(String(320), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    postcode: Mapped[str] = mapped_column(String(8), default="")
    #: Anything the volunteer wants the organiser to know (access needs, availability).
    note: Mapped[str] = mapped_column(Text, default="")
    dbs_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    age_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When they agreed to their data being stored and to being contacted.
    consented_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When they moved from the waiting list to a place.
    promoted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    opportunity: Mapped[Opportunity] = relationship()


class HoursLog(Base):
    """Hours a volunteer logged, confirmed or rejected by the organiser."""

    __tablename__ = "volunteer_hours"
    __table_args__ = (
        Index("ix_volunteer_hours_opportunity_id_status", "opportunity_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    signup_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_signups.id", ondelete="CASCADE"), index=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_opportunities.id", ondelete="CASCADE"))
    worked_on: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[HoursStatus] = mapped_column(
        str_enum(HoursStatus, name="volunteer_hours_status"), default=HoursStatus.LOGGED)
    logged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class OpportunityMessage(Base):
    """A message an organiser sent to the opportunity's volunteers (queued in the outbox,
    one email each); the text is kept here."""

    __tablename__ = "volunteer_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_opportunities.id", ondelete="CASCADE"), index=True)
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, name="volunteer_audience"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SignupAttempt(Base):
    """One submission of a public volunteering form, for the rate limits: keyed hashes of the
    client's address and of the email address (never the values), and when."""

    __tablename__ = "volunteer_signup_attempts"
    __table_args__ = (
        Index("ix_volunteer_signup_attempts_ip_hash_at", "ip_hash", "at"),
        Index("ix_volunteer_signup_attempts_email_hash_at", "email_hash", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ip_hash: Mapped[str] = mapped_column(String(64))
    email_hash: Mapped[str] = mapped_column(String(64), default="")
