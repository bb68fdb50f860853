"""Frontline units (schools, trusts, forces, councils …), peer groups, the metrics that have
unit-level data, and practice notes: what a unit does differently.

Unit-level observations are not rows here: they live in one Parquet file per metric (see
:mod:`missionboard.benchmarking.store`), scanned with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.metrics.models import Area, Metric


class UnitKind(enum.StrEnum):
    SCHOOL = "school"
    TRUST = "trust"
    GP_PRACTICE = "gp_practice"
    POLICE_FORCE = "police_force"
    COUNCIL = "council"
    JOBCENTRE = "jobcentre"
    PRISON = "prison"
    OTHER = "other"


class Statistic(enum.StrEnum):
    """How a unit's numerator and denominator make its value."""

    PROPORTION = "proportion"  # numerator / denominator, e.g. pupils meeting a standard
    RATE = "rate"  # events / person-time or population
    RATIO = "ratio"  # observed / expected (an indirectly standardised ratio)


class PeerKind(enum.StrEnum):
    ALL = "all"
    SAME_KIND = "same_kind"
    NEAREST = "nearest"
    LIST = "list"


class Unit(Base):
    """A frontline unit, keyed by its official code (URN, ODS code, force code …)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, name="unit_kind"), index=True)
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("areas.id", ondelete="SET NULL"), index=True
    )
    #: Declared numeric attributes (deprivation, size, rurality …) for nearest neighbours.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)

    area: Mapped[Area | None] = relationship(lazy="joined")


class UnitMetric(Base):
    """A metric that has unit-level data, and how each unit's value is made."""

    __tablename__ = "unit_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), unique=True
    )
    statistic: Mapped[Statistic] = mapped_column(str_enum(Statistic, name="unit_statistic"))
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    numerator_label: Mapped[str] = mapped_column(String(200))
    denominator_label: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    loaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)

    metric: Mapped[Metric] = relationship(lazy="joined")


peer_group_members = Table(
    "peer_group_members",
    Base.metadata,
    Column("peer_group_id", ForeignKey("peer_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class PeerGroup(Base):
    """Whom a unit is compared with: all units, its own kind, its nearest neighbours on
    declared attributes, or a chosen list."""

    __tablename__ = "peer_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[PeerKind] = mapped_column(str_enum(PeerKind, name="peer_kind"))
    unit_kind: Mapped[UnitKind | None] = mapped_column(str_enum(UnitKind, name="unit_kind"))
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    neighbours: Mapped[int] = mapped_column(Integer, default=15)
    description: Mapped[str] = mapped_column(Text, default="")

    members: Mapped[list[Unit]] = relationship(secondary=peer_group_members,
                                               order_by="Unit.code")


class PracticeNote(Base):
    """What a unit does differently, written by its staff or an analyst; searchable."""

    __tablename__ = "practice_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[int | None] = mapped_column(
        ForeignKey("metrics.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit] = relationship(lazy="joined")
    metric: Mapped[Metric | None] = relationship()
