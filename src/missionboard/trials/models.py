"""Trials attached to a mission: the public register (question, population, unit of
randomisation, arms, outcomes, design, planned sample, dates, owner, ethics), the analysis plan
with its locked and amended versions, the units and their committed randomisation, the
exposures logged by services that assign arms as cases arrive, and outcome data loads.

Trust rules kept here and in :mod:`missionboard.trials.service`:

- every version of the analysis plan is stored as the exact canonical JSON that was hashed,
  with its SHA-256 and the time it was locked; nothing rewrites a locked version;
- outcome data can be loaded only once a plan is locked, and each load records the plan
  version in force, so that an analysis can later be classed as pre-specified or exploratory;
- the allocation's seed is committed (its SHA-256 published) before the units are allocated;
  an application-held seed is in ``held_seed`` (kept out of the audit log) until then.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

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

from missionboard.db.base import Base, UTCDateTime, utcnow
from missionboard.db.types import str_enum
from missionboard.delivery.models import Intervention
from missionboard.missions.models import Mission
from missionboard.panels.models import SeedSource


class TrialStatus(enum.StrEnum):
    """Draft (being set up, not public), registered (public, not yet recruiting), recruiting,
    analysing, finished, and stopped early."""

    DRAFT = "draft"
    REGISTERED = "registered"
    RECRUITING = "recruiting"
    ANALYSING = "analysing"
    FINISHED = "finished"
    STOPPED = "stopped"


class TrialDesign(enum.StrEnum):
    PARALLEL = "parallel"
    STRATIFIED = "stratified"
    CLUSTER = "cluster"
    STEPPED_WEDGE = "stepped_wedge"
    FACTORIAL = "factorial"


class UnitKind(enum.StrEnum):
    """Who is randomised: individuals, or clusters of them (schools, GP practices…)."""

    INDIVIDUAL = "individual"
    CLUSTER = "cluster"


class OutcomeRole(enum.StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class AnalysisModel(enum.StrEnum):
    DIFFERENCE_IN_MEANS = "difference_in_means"
    ANCOVA = "ancova"
    CUPED = "cuped"
    CLUSTER_ROBUST = "cluster_robust"


class MultipleTesting(enum.StrEnum):
    NONE = "none"
    HOLM = "holm"
    BH = "bh"


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    #: The intervention the trial tests, if it is one of the mission's.
    intervention_id: Mapped[int | None] = mapped_column(
        ForeignKey("interventions.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    #: The scientific question.
    question: Mapped[str] = mapped_column(Text)
    #: Who takes part (the registries' "condition or population").
    population: Mapped[str] = mapped_column(Text)
    #: What the trial's arms are compared with, in words (e.g. "usual teaching").
    comparator: Mapped[str] = mapped_column(Text, default="")
    unit_kind: Mapped[UnitKind] = mapped_column(
        str_enum(UnitKind, name="trial_unit_kind"), default=UnitKind.INDIVIDUAL
    )
    #: For a cluster trial: what a cluster is (school, GP practice, police force…).
    cluster_kind: Mapped[str] = mapped_column(String(100), default="")
    design: Mapped[TrialDesign] = mapped_column(
        str_enum(TrialDesign, name="trial_design"), default=TrialDesign.PARALLEL
    )
    planned_units: Mapped[int | None] = mapped_column(Integer)
    planned_clusters: Mapped[int | None] = mapped_column(Integer)
    start_on: Mapped[dt.date | None] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    analysis_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The sponsor or owner (an organisation or team).
    owner: Mapped[str] = mapped_column(String(300))
    ethics: Mapped[str] = mapped_column(Text, default="")
    data_sharing: Mapped[str] = mapped_column(Text, default="")
    cost_per_participant: Mapped[float | None] = mapped_column(Float)
    status: Mapped[TrialStatus] = mapped_column(
        str_enum(TrialStatus, name="trial_status"), default=TrialStatus.DRAFT
    )
    #: Why the trial stopped early (public).
    status_reason: Mapped[str] = mapped_column(Text, default="")
    #: Made-up data for the demo, labelled as such on every page.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    mission: Mapped[Mission] = relationship()
    intervention: Mapped[Intervention | None] = relationship()
    arms: Mapped[list[TrialArm]] = relationship(
        back_populates="trial", order_by="TrialArm.position", cascade="all, delete-orphan")
    outcomes: Mapped[list[TrialOutcome]] = relationship(
        back_populates="trial", order_by="TrialOutcome.position", cascade="all, delete-orphan")

    @property
    def is_public(self) -> bool:
        return self.status != TrialStatus.DRAFT and self.mission.is_published

    @property
    def ratio(self) -> dict[str, int]:
        """The planned allocation ratio, by arm key."""
        return {a.key: a.ratio for a in self.arms}


class TrialArm(Base):
    """An arm with its share of the allocation ratio (e.g. 1 : 1, or 2 : 1 : 1)."""

    __tablename__ = "trial_arms"
    __table_args__ = (UniqueConstraint("trial_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(300))
    ratio: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)

    trial: Mapped[Trial] = relationship(back_populates="arms")


class TrialOutcome(Base):
    """A registered outcome measure, primary or secondary."""

    __tablename__ = "trial_outcomes"
    __table_args__ = (UniqueConstraint("trial_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    role: Mapped[OutcomeRole] = mapped_column(str_enum(OutcomeRole, name="trial_outcome_role"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    trial: Mapped[Trial] = relationship(back_populates="outcomes")


class AnalysisPlan(Base):
    """One version of a trial's analysis plan. Version 1 is a draft (``locked_at`` empty)
    until it is locked; every amendment after that is a new version, locked when made, with
    its reason. ``canonical`` is exactly the text that was hashed into ``sha256``."""

    __tablename__ = "trial_analysis_plans"
    __table_args__ = (UniqueConstraint("trial_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    canonical: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Why the plan was amended (empty for the first version).
    reason: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class TrialUnit(Base):
    """A unit to randomise (a pupil, a school…), from the uploaded list, with its cluster,
    strata and covariates; ``arm`` is set by the allocation."""

    __tablename__ = "trial_units"
    __table_args__ = (UniqueConstraint("trial_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    unit_id: Mapped[str] = mapped_column(String(100))
    cluster: Mapped[str] = mapped_column(String(100), default="")
    strata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    covariates: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    arm: Mapped[str | None] = mapped_column(String(60))


class TrialAllocation(Base):
    """The randomisation of the uploaded units: committed (the seed's SHA-256 and the units'
    hash published), then allocated (the seed revealed and checked, the arms stored)."""

    __tablename__ = "trial_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          unique=True)
    seed_source: Mapped[SeedSource] = mapped_column(
        str_enum(SeedSource, name="trial_seed_source"))
    seed_description: Mapped[str] = mapped_column(Text, default="")
    commitment_sha256: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The SHA-256 of the units (ids, clusters, strata, covariates) frozen at the commitment.
    units_sha256: Mapped[str] = mapped_column(String(64))
    units: Mapped[int] = mapped_column(Integer)
    #: Options of the randomisation: strata, block size, balance threshold.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The application's secret seed until the allocation (never shown before it).
    held_seed: Mapped[str | None] = mapped_column(String(40))
    seed: Mapped[str | None] = mapped_column(String(40))
    allocated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int | None] = mapped_column(Integer)
    max_abs_smd: Mapped[float | None] = mapped_column(Float)
    #: The balance table: one row per covariate (and arm), as the library reports it.
    balance: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    @property
    def is_allocated(self) -> bool:
        return self.allocated_at is not None


class TrialExposure(Base):
    """A unit assigned an arm as it arrived (``POST /api/v1/trials/{slug}/assign``): one row
    per unit; repeated requests return the same arm."""

    __tablename__ = "trial_exposures"
    __table_args__ = (UniqueConstraint("trial_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    unit_id: Mapped[str] = mapped_column(String(100))
    arm: Mapped[str] = mapped_column(String(60))
    exposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutcomeLoad(Base):
    """One load of outcome data, with the locked plan in force when it was loaded."""

    __tablename__ = "trial_outcome_loads"
    __table_args__ = (UniqueConstraint("trial_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    number: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    plan_id: Mapped[int] = mapped_column(ForeignKey("trial_analysis_plans.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    plan_sha256: Mapped[str] = mapped_column(String(64))
    outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(Integer)


class OutcomeValue(Base):
    """One unit's value of one outcome."""

    __tablename__ = "trial_outcome_values"
    __table_args__ = (UniqueConstraint("trial_id", "unit_id", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"),
                                          index=True)
    load_id: Mapped[int] = mapped_column(
        ForeignKey("trial_outcome_loads.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)
