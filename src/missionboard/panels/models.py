"""Citizens' panels attached to a mission: the features asked and their census targets, the
address list and the invitation lottery (stage one), the volunteers who register (stage two),
the selection runs with their published inputs, and the panel's recommendations with the
government's response to each.

Personal data (addresses, names, email addresses, phone numbers) lives only in
``panel_addresses`` and ``panel_volunteers``: the audit hook skips those tables (changes to them
are logged as summaries without personal values) and the purge blanks the values when the
panel's retention date has passed. Everything published refers to volunteers by pseudonym.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.missions.models import Mission, Outcome


class PanelStage(enum.StrEnum):
    """Where the panel is: being set up, recruiting (registration open), registration closed
    (the pool can be frozen and the draw committed), selected (the panel is drawn), and
    reported (its recommendations are published)."""

    DRAFT = "draft"
    RECRUITING = "recruiting"
    CLOSED = "closed"
    SELECTED = "selected"
    REPORTED = "reported"


class VolunteerStatus(enum.StrEnum):
    REGISTERED = "registered"
    SELECTED = "selected"
    RESERVE = "reserve"
    WITHDRAWN = "withdrawn"
    REPLACEMENT = "replacement"


class RunKind(enum.StrEnum):
    INITIAL = "initial"
    REPLACEMENT = "replacement"


class SeedSource(enum.StrEnum):
    """Who holds the seed until the draw: the application (a random seed it keeps secret), or
    the organisers (only its SHA-256 is entered; the seed is typed in at the draw)."""

    APP = "app"
    ORGANISER = "organiser"


class ResponseStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_IN_PART = "accepted_in_part"
    NOT_ACCEPTED = "not_accepted"
    UNDER_CONSIDERATION = "under_consideration"


class Panel(Base):
    __tablename__ = "panels"

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
    purpose: Mapped[str] = mapped_column(Text, default="")
    #: The number of members (k).
    size: Mapped[int] = mapped_column(Integer)
    stage: Mapped[PanelStage] = mapped_column(
        str_enum(PanelStage, name="panel_stage"), default=PanelStage.DRAFT
    )
    #: At most one member per household (and one registration per invitation).
    household_rule: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Personal data is deleted after this date.
    retention_until: Mapped[dt.date] = mapped_column(Date)
    #: When the panel meets (shown on the public timeline and the registration form).
    meets_from: Mapped[dt.date | None] = mapped_column(Date)
    meets_until: Mapped[dt.date | None] = mapped_column(Date)
    personal_data_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)
    registration_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    registration_closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    mission: Mapped[Mission] = relationship()
    outcome: Mapped[Outcome | None] = relationship()
    features: Mapped[list[PanelFeature]] = relationship(
        back_populates="panel", order_by="PanelFeature.position",
        cascade="all, delete-orphan")

    @property
    def is_public(self) -> bool:
        return self.stage != PanelStage.DRAFT and self.mission.is_published


class PanelFeature(Base):
    """A feature the quotas are on (age band, gender, region…), with the question the
    registration form asks."""

    __tablename__ = "panel_features"
    __table_args__ = (UniqueConstraint("panel_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    name: Mapped[str] = mapped_column(String(60))
    question: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: Where the census shares come from (published beside the targets).
    source: Mapped[str] = mapped_column(Text, default="")

    panel: Mapped[Panel] = relationship(back_populates="features")
    values: Mapped[list[FeatureValue]] = relationship(
        back_populates="feature", order_by="FeatureValue.position",
        cascade="all, delete-orphan")


class FeatureValue(Base):
    """One answer to a feature's question, with its census share and the quota on it."""

    __tablename__ = "panel_feature_values"
    __table_args__ = (UniqueConstraint("feature_id", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feature_id: Mapped[int] = mapped_column(
        ForeignKey("panel_features.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: The share of the population with this value (0 to 1), from the census.
    share: Mapped[float | None] = mapped_column(Float)
    min: Mapped[int] = mapped_column(Integer, default=0)
    max: Mapped[int] = mapped_column(Integer, default=0)

    feature: Mapped[PanelFeature] = relationship(back_populates="values")


class PanelAddress(Base):
    """One address on the list the invitations are drawn from. Personal data."""

    __tablename__ = "panel_addresses"
    __table_args__ = (UniqueConstraint("panel_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    reference: Mapped[str] = mapped_column(String(60))
    line1: Mapped[str] = mapped_column(String(200), default="")
    line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(12), default="")
    #: A group to draw proportionally from (e.g. the region or a deprivation band).
    stratum: Mapped[str] = mapped_column(String(100), default="")


class InvitationRound(Base):
    """One draw of addresses to invite: how many, from how many, and the recorded seed."""

    __tablename__ = "panel_invitation_rounds"
    __table_args__ = (UniqueConstraint("panel_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    requested: Mapped[int] = mapped_column(Integer)
    from_addresses: Mapped[int] = mapped_column(Integer)
    by_stratum: Mapped[bool] = mapped_column(Boolean, default=False)
    drawn_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(Base):
    """A letter to one address: the code that lets its household register, and the
    household's pseudonym (published in the selection's inputs, never the address)."""

    __tablename__ = "panel_invitations"
    __table_args__ = (UniqueConstraint("panel_id", "address_id"),
                      UniqueConstraint("panel_id", "household"))

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("panel_invitation_rounds.id", ondelete="CASCADE"), index=True)
    address_id: Mapped[int] = mapped_column(
        ForeignKey("panel_addresses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    household: Mapped[str] = mapped_column(String(20))

    address: Mapped[PanelAddress] = relationship()
    round: Mapped[InvitationRound] = relationship()


class Volunteer(Base):
    """A person who registered with an invitation code. ``pseudonym`` is their public
    identifier in the published selection; name, email and phone are personal data."""

    __tablename__ = "panel_volunteers"
    __table_args__ = (UniqueConstraint("panel_id", "pseudonym"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("panel_invitations.id", ondelete="CASCADE"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    consented_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The value of each feature, by feature name.
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[VolunteerStatus] = mapped_column(
        str_enum(VolunteerStatus, name="volunteer_status"), default=VolunteerStatus.REGISTERED
    )
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The run that put them on the panel.
    selected_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("panel_selection_runs.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    invitation: Mapped[Invitation] = relationship()


class SelectionRun(Base):
    """One verifiable draw: committed (the seed's SHA-256 and the frozen inputs published),
    then drawn (the seed revealed, LEXIMIN run on the published files, the panel drawn).

    ``people_csv`` and ``features_csv`` are exactly the published files; the draw is computed
    from these bytes, so ``missionboard panel select`` on them gives the same panel.
    """

    __tablename__ = "panel_selection_runs"
    __table_args__ = (UniqueConstraint("panel_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[RunKind] = mapped_column(str_enum(RunKind, name="selection_run_kind"))
    seed_source: Mapped[SeedSource] = mapped_column(str_enum(SeedSource, name="seed_source"))
    #: How the seed is made, in words (e.g. "Dice rolled at the public meeting on 3 March").
    seed_description: Mapped[str] = mapped_column(Text, default="")
    commitment_sha256: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The application's secret seed until the draw (never shown before ``drawn_at``).
    held_seed: Mapped[str | None] = mapped_column(String(40))
    seed: Mapped[str | None] = mapped_column(String(40))
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    abandoned_reason: Mapped[str] = mapped_column(Text, default="")
    people_csv: Mapped[str] = mapped_column(Text)
    features_csv: Mapped[str] = mapped_column(Text)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(40), default="leximin")
    version: Mapped[str] = mapped_column(String(40))
    k: Mapped[int] = mapped_column(Integer)
    household_rule: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The quotas used: a list of {feature, value, min, max}.
    quotas: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: For a replacement: the members who continue and those being replaced (pseudonyms).
    kept: Mapped[list[str]] = mapped_column(JSON, default=list)
    replaced: Mapped[list[str]] = mapped_column(JSON, default=list)
    pool_size: Mapped[int] = mapped_column(Integer, default=0)
    min_probability: Mapped[float | None] = mapped_column(Float)
    legacy_min_probability: Mapped[float | None] = mapped_column(Float)
    legacy_runs: Mapped[int] = mapped_column(Integer, default=0)
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    selected: Mapped[list[str]] = mapped_column(JSON, default=list)
    seconds: Mapped[float | None] = mapped_column(Float)

    @property
    def is_drawn(self) -> bool:
        return self.drawn_at is not None

    @property
    def is_pending(self) -> bool:
        return self.drawn_at is None and self.abandoned_at is None

    @property
    def address_columns(self) -> list[str]:
        return ["household"] if self.household_rule else []


class Recommendation(Base):
    __tablename__ = "panel_recommendations"
    __table_args__ = (UniqueConstraint("panel_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                          index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    #: How much of the panel supported it (e.g. "22 of 26 members"), as the panel reported.
    support: Mapped[str] = mapped_column(String(200), default="")
    made_on: Mapped[dt.date] = mapped_column(Date)
    #: When the government's response is due.
    response_due: Mapped[dt.date | None] = mapped_column(Date)

    response: Mapped[GovernmentResponse | None] = relationship(
        back_populates="recommendation", uselist=False, cascade="all, delete-orphan")

    def is_overdue(self, today: dt.date) -> bool:
        """The response was due before ``today`` and no response has been published, or only
        one saying that the recommendation is still under consideration."""
        answered = (self.response is not None and self.response.published_on is not None
                    and self.response.status != ResponseStatus.UNDER_CONSIDERATION)
        return self.response_due is not None and self.response_due < today and not answered


class GovernmentResponse(Base):
    __tablename__ = "panel_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("panel_recommendations.id", ondelete="CASCADE"), unique=True)
    status: Mapped[ResponseStatus] = mapped_column(
        str_enum(ResponseStatus, name="response_status"))
    text: Mapped[str] = mapped_column(Text)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    recommendation: Mapped[Recommendation] = relationship(back_populates="response")
