"""The adoption tracker: which units (schools, GP practices, job centres, councils…) have
taken up an intervention that works, when, and how faithfully.

An :class:`AdoptionProgramme` belongs to a mission, and optionally to the intervention in
delivery and to the trial that showed it works. Its :class:`AdoptionUnit` rows are the units
eligible to adopt it (uploaded, updated by unit id); each unit has at most one
:class:`AdoptionRecord`: when it adopted, with what fidelity, and when it stopped, if it did.

A programme is public when its mission is published (there is no draft state); the units are
organisations, not people, so the whole record is public.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
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
from missionboard.delivery.models import Intervention
from missionboard.missions.models import Mission
from missionboard.trials.models import Trial


class Fidelity(enum.StrEnum):
    """How faithfully a unit delivers the intervention as it was tested."""

    FULL = "full"
    PARTIAL = "partial"
    MINIMAL = "minimal"


class AdoptionProgramme(Base):
    __tablename__ = "adoption_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True)
    #: The intervention being adopted, if it is one of the mission's.
    intervention_id: Mapped[int | None] = mapped_column(
        ForeignKey("interventions.id", ondelete="SET NULL"), index=True)
    #: The trial that showed it works, if it is one of the mission's.
    trial_id: Mapped[int | None] = mapped_column(
        ForeignKey("trials.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    #: What a unit is, in the singular: school, GP practice, job centre, council…
    unit_kind: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    #: When units could first adopt it (the curve and the time to adopt count from here).
    offered_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The share of eligible units (0 to 1) expected to have adopted by ``target_on``.
    target_share: Mapped[float | None] = mapped_column(Float)
    target_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Made-up data for the demo, labelled as such on every page.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    mission: Mapped[Mission] = relationship()
    intervention: Mapped[Intervention | None] = relationship()
    trial: Mapped[Trial | None] = relationship()

    @property
    def is_public(self) -> bool:
        return self.mission.is_published


class AdoptionUnit(Base):
    """A unit eligible to adopt the programme, with its area and an optional group."""

    __tablename__ = "adoption_units"
    __table_args__ = (UniqueConstraint("programme_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("adoption_programmes.id", ondelete="CASCADE"), index=True)
    #: The unit's own identifier (a URN, an ODS code…), as in the uploaded files.
    unit_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    #: The area or region the unit is in.
    area: Mapped[str] = mapped_column(String(100), default="")
    #: Any grouping the programme uses (a trust, a local authority, a phase…).
    group_name: Mapped[str] = mapped_column(String(100), default="")

    record: Mapped[AdoptionRecord | None] = relationship(back_populates="unit",
                                                         uselist=False)


class AdoptionRecord(Base):
    """A unit's adoption: when, with what fidelity, from what source, and when it stopped."""

    __tablename__ = "adoption_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_pk: Mapped[int] = mapped_column(
        ForeignKey("adoption_units.id", ondelete="CASCADE"), unique=True)
    adopted_on: Mapped[dt.date] = mapped_column(Date)
    fidelity: Mapped[Fidelity] = mapped_column(str_enum(Fidelity, name="adoption_fidelity"))
    #: A fidelity score from 0 to 100, where the programme measures one.
    fidelity_score: Mapped[int | None] = mapped_column(Integer)
    stopped_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Where the record comes from (a survey, a provider's return, a visit…).
    source: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[AdoptionUnit] = relationship(back_populates="record")
