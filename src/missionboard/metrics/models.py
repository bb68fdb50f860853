"""Areas, metrics, observations (with kept revisions), targets, milestones and import batches."""

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
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.analytics.paths import PathShape
from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.missions.models import Outcome


class MetricKind(enum.StrEnum):
    COUNT = "count"
    PROPORTION = "proportion"
    RATE = "rate"
    RATIO = "ratio"
    MONEY = "money"
    INDEX = "index"


class Polarity(enum.StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NEITHER = "neither"


class Frequency(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"
    FINANCIAL_YEAR = "financial_year"
    ACADEMIC_YEAR = "academic_year"
    IRREGULAR = "irregular"


class PublicationStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ObservationStatus(enum.StrEnum):
    PROVISIONAL = "provisional"
    FINAL = "final"
    REVISED = "revised"


class CounterfactualKind(enum.StrEnum):
    """What the metric would do with no new action (the base of a trajectory)."""

    FLAT = "flat"
    LINEAR = "linear"
    FITTED = "fitted"


class Horizon(enum.StrEnum):
    SHORT = "short"
    LONG = "long"


metric_outcomes = Table(
    "metric_outcomes",
    Base.metadata,
    Column("metric_id", ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True),
    Column("outcome_id", ForeignKey("outcomes.id", ondelete="CASCADE"), primary_key=True),
)


class Area(Base):
    """A place in the geography hierarchy, keyed by its official code (e.g. ONS GSS)."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("areas.id", ondelete="SET NULL"), index=True
    )

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Metric(Base):
    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    definition: Mapped[str] = mapped_column(Text)
    methodology: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[MetricKind] = mapped_column(str_enum(MetricKind, name="metric_kind"))
    rate_per: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(100))
    polarity: Mapped[Polarity] = mapped_column(str_enum(Polarity, name="polarity"))
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency, name="frequency"))
    geography_level: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str | None] = mapped_column(String(500))
    licence: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[PublicationStatus] = mapped_column(
        str_enum(PublicationStatus, name="publication_status"), default=PublicationStatus.DRAFT
    )
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    outcomes: Mapped[list[Outcome]] = relationship(
        secondary=metric_outcomes, back_populates="metrics"
    )
    targets: Mapped[list[Target]] = relationship(
        back_populates="metric", cascade="all, delete-orphan", order_by="Target.deadline"
    )

    @property
    def is_published(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    revised: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)


class Observation(Base):
    """The current value of a metric for an area and period; earlier values are revisions."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("metric_id", "area_id", "period_start", "period_end"),
        Index("ix_observations_metric_period", "metric_id", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    period_label: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    status: Mapped[ObservationStatus] = mapped_column(
        str_enum(ObservationStatus, name="observation_status"), default=ObservationStatus.FINAL
    )
    release_date: Mapped[dt.date | None] = mapped_column(Date)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    metric: Mapped[Metric] = relationship()
    area: Mapped[Area] = relationship(lazy="joined")
    revisions: Mapped[list[ObservationRevision]] = relationship(
        back_populates="observation",
        cascade="all, delete-orphan",
        order_by="ObservationRevision.superseded_at",
    )


class ObservationRevision(Base):
    """A value that was published and later replaced: kept and shown, never overwritten."""

    __tablename__ = "observation_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observations.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[float] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    status: Mapped[ObservationStatus] = mapped_column(
        str_enum(ObservationStatus, name="observation_status")
    )
    release_date: Mapped[dt.date | None] = mapped_column(Date)
    #: Whether the replaced value was synthetic demonstration data.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superseded_by_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL")
    )

    observation: Mapped[Observation] = relationship(back_populates="revisions")


class Target(Base):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), index=True
    )
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(300))
    baseline_value: Mapped[float] = mapped_column(Float)
    baseline_period_start: Mapped[dt.date] = mapped_column(Date)
    baseline_period_end: Mapped[dt.date] = mapped_column(Date)
    baseline_label: Mapped[str] = mapped_column(String(40))
    target_value: Mapped[float] = mapped_column(Float)
    deadline: Mapped[dt.date] = mapped_column(Date)
    horizon: Mapped[Horizon] = mapped_column(str_enum(Horizon, name="horizon"))
    shape: Mapped[PathShape] = mapped_column(
        str_enum(PathShape, name="path_shape"), default=PathShape.LINEAR
    )
    rationale: Mapped[str] = mapped_column(Text, default="")
    baseline_illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    counterfactual: Mapped[CounterfactualKind] = mapped_column(
        str_enum(CounterfactualKind, name="counterfactual_kind"),
        default=CounterfactualKind.FLAT, server_default=CounterfactualKind.FLAT.value,
    )
    #: For a linear counterfactual: the change per year with no new action.
    counterfactual_slope_per_year: Mapped[float | None] = mapped_column(Float)

    metric: Mapped[Metric] = relationship(back_populates="targets")
    area: Mapped[Area] = relationship(lazy="joined")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="target", cascade="all, delete-orphan", order_by="Milestone.due"
    )


class Milestone(Base):
    """An interim point on a target's required path."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(
        ForeignKey("targets.id", ondelete="CASCADE"), index=True
    )
    due: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)

    target: Mapped[Target] = relationship(back_populates="milestones")
