"""Mission councils: an external council attached to a mission (one per mission), its members
by sector, the staff of its secretariat, its meetings with their attendance and minutes, and
its recommendations to the government with the government's response to each.

What is public and what is not:

- the council, its members' names, organisations, sectors, roles, terms and declared
  interests (they are public appointees), its meetings (date, agenda, attendance), its
  recommendations and the government's responses are public once the mission is published;
- members' contact details (``email``, ``phone``) are seen only by the council's secretariat
  and the mission's editors (and admins);
- minutes are drafted, then published: only published minutes are public.

A recommendation's status (awaiting a response, overdue, accepted, partly accepted, rejected)
is never stored: :func:`missionboard.councils.service.recommendation_status` derives it from the
due date, the response and the day it is asked about.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.accounts.models import User
from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.missions.models import Mission


class Sector(enum.StrEnum):
    """Where a member comes from: the sectors whose balance the council's page shows."""

    BUSINESS = "business"
    TRADE_UNION = "trade_union"
    CHARITY = "charity"
    COMMUNITY = "community"
    ACADEMIA = "academia"
    PUBLIC_SECTOR = "public_sector"
    CITIZEN = "citizen"
    OTHER = "other"


SECTOR_LABELS: dict[Sector, str] = {
    Sector.BUSINESS: "Business",
    Sector.TRADE_UNION: "Trade union",
    Sector.CHARITY: "Charity or voluntary sector",
    Sector.COMMUNITY: "Community group",
    Sector.ACADEMIA: "Academia or research",
    Sector.PUBLIC_SECTOR: "Public sector",
    Sector.CITIZEN: "Citizen or lived experience",
    Sector.OTHER: "Other",
}


class MemberRole(enum.StrEnum):
    CHAIR = "chair"
    MEMBER = "member"


class Attendance(enum.StrEnum):
    """A member at a meeting: present, or sent apologies (a member not listed was absent)."""

    PRESENT = "present"
    APOLOGIES = "apologies"


class ResponseKind(enum.StrEnum):
    """The government's answer to a recommendation."""

    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    REJECTED = "rejected"


class RecommendationStatus(enum.StrEnum):
    """Where a recommendation stands on a given day (derived, never stored)."""

    AWAITING = "awaiting"
    OVERDUE = "overdue"
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    REJECTED = "rejected"


STATUS_LABELS: dict[RecommendationStatus, str] = {
    RecommendationStatus.OVERDUE: "Overdue",
    RecommendationStatus.AWAITING: "Awaiting a response",
    RecommendationStatus.ACCEPTED: "Accepted",
    RecommendationStatus.PARTLY_ACCEPTED: "Partly accepted",
    RecommendationStatus.REJECTED: "Rejected",
}


class Implementation(enum.StrEnum):
    """How far the government has got with an accepted (or partly accepted) recommendation."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"


IMPLEMENTATION_LABELS: dict[Implementation, str] = {
    Implementation.NOT_STARTED: "Not started",
    Implementation.IN_PROGRESS: "In progress",
    Implementation.IMPLEMENTED: "Implemented",
}


class Council(Base):
    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    #: One council per mission.
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    #: What the council is for, in a sentence or two.
    remit: Mapped[str] = mapped_column(Text)
    terms_of_reference: Mapped[str] = mapped_column(Text, default="")
    #: The balance is flagged when one sector holds more than this share (0 to 1) of the
    #: current members.
    max_sector_share: Mapped[float] = mapped_column(Float, default=0.4)
    #: The sectors the remit needs (their values): flagged when none of the members is from one.
    required_sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: A recommendation's response is due this many weeks after it is made, unless its own
    #: due date says otherwise.
    response_weeks: Mapped[int] = mapped_column(Integer, default=8)
    #: Made-up data for the demo, labelled as such on every page.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    mission: Mapped[Mission] = relationship()
    members: Mapped[list[CouncilMember]] = relationship(
        back_populates="council", cascade="all, delete-orphan",
        order_by=lambda: [CouncilMember.role, CouncilMember.name, CouncilMember.id])
    staff: Mapped[list[CouncilStaff]] = relationship(
        back_populates="council", cascade="all, delete-orphan", lazy="selectin",
        order_by="CouncilStaff.id")

    @property
    def is_public(self) -> bool:
        return self.mission.is_published

    @property
    def sectors_needed(self) -> list[Sector]:
        return [s for s in Sector if s.value in self.required_sectors]


class CouncilMember(Base):
    """A member (or the chair) for a term. The name, organisation, sector, role, term and
    declared interests are public; the contact details are not."""

    __tablename__ = "council_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    sector: Mapped[Sector] = mapped_column(str_enum(Sector, name="council_sector"))
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, name="council_member_role"),
                                             default=MemberRole.MEMBER)
    term_start: Mapped[dt.date] = mapped_column(Date)
    term_end: Mapped[dt.date | None] = mapped_column(Date)
    #: Declared interests, as the member declared them (empty: none declared).
    interests: Mapped[str] = mapped_column(Text, default="")
    #: Contact details: never public.
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    council: Mapped[Council] = relationship(back_populates="members")

    def serves_on(self, day: dt.date) -> bool:
        """A member on ``day``: their term has started and not ended."""
        return self.term_start <= day and (self.term_end is None or day <= self.term_end)


class CouncilStaff(Base):
    """A user of the council's secretariat: records its meetings, minutes and
    recommendations, and keeps its register of members."""

    __tablename__ = "council_staff"
    __table_args__ = (UniqueConstraint("council_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    council: Mapped[Council] = relationship(back_populates="staff")
    user: Mapped[User] = relationship(lazy="joined")


class CouncilMeeting(Base):
    """A meeting: date, agenda, attendance, and the minutes, drafted then published."""

    __tablename__ = "council_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"),
                                            index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str] = mapped_column(Text, default="")
    #: Officials, guests and observers present, in words.
    others_present: Mapped[str] = mapped_column(Text, default="")
    #: The minutes: a draft until ``minutes_published_at``; fixed once published.
    minutes: Mapped[str] = mapped_column(Text, default="")
    minutes_published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    attendance: Mapped[list[CouncilAttendance]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", lazy="selectin",
        order_by="CouncilAttendance.id")

    @property
    def minutes_published(self) -> bool:
        return self.minutes_published_at is not None

    def attended(self, status: Attendance) -> list[CouncilMember]:
        return sorted((a.member for a in self.attendance if a.status == status),
                      key=lambda m: (m.role != MemberRole.CHAIR, m.name))


class CouncilAttendance(Base):
    __tablename__ = "council_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("council_meetings.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("council_members.id", ondelete="CASCADE"), index=True)
    status: Mapped[Attendance] = mapped_column(str_enum(Attendance,
                                                        name="council_attendance_status"))

    meeting: Mapped[CouncilMeeting] = relationship(back_populates="attendance")
    member: Mapped[CouncilMember] = relationship(lazy="joined")


class CouncilRecommendation(Base):
    """A recommendation to the government, made at a meeting or on a date, with the day its
    response is due."""

    __tablename__ = "council_recommendations"
    __table_args__ = (UniqueConstraint("council_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"),
                                            index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    #: The meeting it was made at, if any.
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("council_meetings.id", ondelete="SET NULL"), index=True)
    made_on: Mapped[dt.date] = mapped_column(Date)
    response_due: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    meeting: Mapped[CouncilMeeting | None] = relationship()
    response: Mapped[CouncilResponse | None] = relationship(
        back_populates="recommendation", uselist=False, cascade="all, delete-orphan",
        lazy="selectin")


class CouncilResponse(Base):
    """The government's response: accepted, partly accepted or rejected (with the reason),
    its text and date; and, for what it accepted, how far implementation has got."""

    __tablename__ = "council_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("council_recommendations.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[ResponseKind] = mapped_column(str_enum(ResponseKind,
                                                        name="council_response_kind"))
    text: Mapped[str] = mapped_column(Text)
    #: Why the recommendation (or the part not accepted) was rejected.
    reason: Mapped[str] = mapped_column(Text, default="")
    responded_on: Mapped[dt.date] = mapped_column(Date)
    implementation: Mapped[Implementation | None] = mapped_column(
        str_enum(Implementation, name="council_implementation"))
    implementation_note: Mapped[str] = mapped_column(Text, default="")
    implementation_updated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    recommendation: Mapped[CouncilRecommendation] = relationship(back_populates="response")
