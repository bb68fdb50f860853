"""Interventions: owners, budgets, estimated effects on metrics, evidence and overlaps."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.metrics.models import Area, Metric
from missionboard.missions.models import Mission, Organisation


class InterventionStatus(enum.StrEnum):
    PROPOSED = "proposed"
    PLANNED = "planned"
    IN_DELIVERY = "in_delivery"
    DELIVERED = "delivered"
    STOPPED = "stopped"


class Distribution(enum.StrEnum):
    NORMAL = "normal"
    LOGNORMAL = "lognormal"
    TRIANGULAR = "triangular"
    UNIFORM = "uniform"


class Ramp(enum.StrEnum):
    STEP = "step"
    LINEAR = "linear"
    S_CURVE = "s_curve"


class Persistence(enum.StrEnum):
    PERMANENT = "permanent"
    DECAY = "decay"


class EvidenceKind(enum.StrEnum):
    """Where an effect estimate comes from, from the most to the least reliable at scale."""

    AT_SCALE_EVALUATION = "at_scale_evaluation"
    PILOT_TRIAL = "pilot_trial"
    ACADEMIC_TRIAL = "academic_trial"
    EXPERT_JUDGEMENT = "expert_judgement"


class EvidenceStrength(enum.StrEnum):
    STRONG = "strong"
    MODERATE = "moderate"
    LIMITED = "limited"
    VERY_LIMITED = "very_limited"


class PlanItemKind(enum.StrEnum):
    MILESTONE = "milestone"
    ACTION = "action"


class PlanItemStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class Intervention(Base):
    """A policy, programme or project expected to move a mission's metrics."""

    __tablename__ = "interventions"
    __table_args__ = (UniqueConstraint("mission_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    status: Mapped[InterventionStatus] = mapped_column(
        str_enum(InterventionStatus, name="intervention_status"),
        default=InterventionStatus.PLANNED,
    )
    start: Mapped[dt.date] = mapped_column(Date)
    lag_months: Mapped[int] = mapped_column(Integer, default=0)
    ramp: Mapped[Ramp] = mapped_column(str_enum(Ramp, name="ramp"), default=Ramp.STEP)
    ramp_months: Mapped[int] = mapped_column(Integer, default=0)
    persistence: Mapped[Persistence] = mapped_column(
        str_enum(Persistence, name="persistence"), default=Persistence.PERMANENT
    )
    half_life_months: Mapped[float | None] = mapped_column(Float)
    evidence_kind: Mapped[EvidenceKind] = mapped_column(
        str_enum(EvidenceKind, name="evidence_kind")
    )
    evidence_strength: Mapped[EvidenceStrength] = mapped_column(
        str_enum(EvidenceStrength, name="evidence_strength")
    )
    evidence_reference: Mapped[str] = mapped_column(Text, default="")
    #: Replaces the default optimism adjustment for the evidence kind; needs a reason.
    optimism_override: Mapped[float | None] = mapped_column(Float)
    optimism_override_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mission: Mapped[Mission] = relationship()
    owner: Mapped[Organisation | None] = relationship(lazy="joined")
    contributors: Mapped[list[Organisation]] = relationship(
        secondary="intervention_contributors", order_by="Organisation.name"
    )
    effects: Mapped[list[InterventionEffect]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan",
        order_by="InterventionEffect.id",
    )
    budgets: Mapped[list[InterventionBudget]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan",
        order_by="InterventionBudget.year",
    )
    plan: Mapped[list[PlanItem]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan",
        order_by="(PlanItem.due, PlanItem.id)",
    )
    chain: Mapped[list[ChainLink]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan",
        order_by="ChainLink.position",
    )


class InterventionContributor(Base):
    __tablename__ = "intervention_contributors"

    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )


class InterventionBudget(Base):
    __tablename__ = "intervention_budgets"
    __table_args__ = (UniqueConstraint("intervention_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    #: The financial year by its first calendar year (2025 is 2025-26).
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[float] = mapped_column(Numeric(16, 2, asdecimal=False))

    intervention: Mapped[Intervention] = relationship(back_populates="budgets")


class InterventionEffect(Base):
    """The estimated full effect of an intervention on one metric in one area.

    Normal: ``central`` with the interval [``low``, ``high``] at ``interval_level``.
    Lognormal: the same, on the log scale (``low`` > 0). Triangular: minimum ``low``, mode
    ``central``, maximum ``high``. Uniform: from ``low`` to ``high``.
    """

    __tablename__ = "intervention_effects"
    __table_args__ = (
        UniqueConstraint("intervention_id", "metric_id", "area_id"),
        CheckConstraint("low <= central AND central <= high", name="ordered"),
        CheckConstraint("interval_level > 0 AND interval_level < 1", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    metric_id: Mapped[int] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), index=True
    )
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"))
    distribution: Mapped[Distribution] = mapped_column(
        str_enum(Distribution, name="distribution"), default=Distribution.NORMAL
    )
    central: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    interval_level: Mapped[float] = mapped_column(Float, default=0.8)

    intervention: Mapped[Intervention] = relationship(back_populates="effects")
    metric: Mapped[Metric] = relationship()
    area: Mapped[Area] = relationship(lazy="joined")


class InterventionOverlap(Base):
    """Two interventions reaching the same people do not add fully.

    ``shared_fraction`` of the smaller effect is discounted (a shared-population overlap), or
    ``interaction`` multiplies the pair's joint effect (an explicit interaction factor).
    """

    __tablename__ = "intervention_overlaps"
    __table_args__ = (
        UniqueConstraint("first_id", "second_id"),
        CheckConstraint("first_id < second_id", name="pair_order"),
        CheckConstraint("shared_fraction >= 0 AND shared_fraction <= 1", name="fraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    second_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    shared_fraction: Mapped[float] = mapped_column(Float, default=0.0)
    interaction: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")


class PlanItem(Base):
    """A milestone or action in an intervention's delivery plan, with its owner and date."""

    __tablename__ = "plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[PlanItemKind] = mapped_column(str_enum(PlanItemKind, name="plan_item_kind"))
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200))
    due: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[PlanItemStatus] = mapped_column(
        str_enum(PlanItemStatus, name="plan_item_status"), default=PlanItemStatus.NOT_STARTED
    )
    completed_on: Mapped[dt.date | None] = mapped_column(Date)

    intervention: Mapped[Intervention] = relationship(back_populates="plan")


class ChainLink(Base):
    """One link of the delivery chain, from the accountable lead (position 0) to the front
    line."""

    __tablename__ = "chain_links"
    __table_args__ = (UniqueConstraint("intervention_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    role: Mapped[str] = mapped_column(String(300))

    intervention: Mapped[Intervention] = relationship(back_populates="chain")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
