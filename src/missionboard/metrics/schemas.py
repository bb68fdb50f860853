"""Input and output shapes for areas, metrics, observations and targets."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from missionboard.analytics.paths import PathShape, TrackStatus
from missionboard.analytics.periods import parse_period
from missionboard.metrics.models import (
    CounterfactualKind,
    Frequency,
    Horizon,
    MetricKind,
    ObservationStatus,
    Polarity,
    PublicationStatus,
)
from missionboard.missions.schemas import ShortText, Slug, Text


class AreaIn(BaseModel):
    code: ShortText
    name: ShortText
    level: ShortText
    parent_code: str | None = None


class MetricIn(BaseModel):
    slug: Slug
    title: ShortText
    definition: Text
    methodology: str = ""
    kind: MetricKind
    rate_per: int | None = Field(default=None, gt=0)
    unit: ShortText
    polarity: Polarity
    frequency: Frequency
    geography_level: str = ""
    source: str = ""
    source_url: str | None = None
    licence: str = ""
    contact: str = ""

    @model_validator(mode="after")
    def _rate_needs_per(self) -> MetricIn:
        if self.kind == MetricKind.RATE and self.rate_per is None:
            raise ValueError("a rate needs 'rate per' (for example 100000)")
        return self


class MilestoneIn(BaseModel):
    due: dt.date
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


class TargetIn(BaseModel):
    area_code: ShortText
    title: ShortText
    baseline_value: float
    baseline_period: ShortText
    target_value: float
    deadline: dt.date
    horizon: Horizon
    shape: PathShape = PathShape.LINEAR
    rationale: str = ""
    milestones: list[MilestoneIn] = []
    baseline_illustrative: bool = False
    counterfactual: CounterfactualKind = CounterfactualKind.FLAT
    counterfactual_slope_per_year: float | None = None

    @field_validator("baseline_period")
    @classmethod
    def _period(cls, v: str) -> str:
        parse_period(v)  # raises a ValueError with the accepted forms
        return v

    @field_validator("baseline_value", "target_value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _dates(self) -> TargetIn:
        end = parse_period(self.baseline_period).end
        if self.deadline <= end:
            raise ValueError("the deadline must come after the baseline period")
        for m in self.milestones:
            if not end < m.due < self.deadline:
                raise ValueError(f"milestone {m.due} must fall between the baseline and "
                                 "the deadline")
        if len({m.due for m in self.milestones}) != len(self.milestones):
            raise ValueError("two milestones fall on the same date")
        if (self.counterfactual == CounterfactualKind.LINEAR) != (
                self.counterfactual_slope_per_year is not None):
            raise ValueError("give the change per year exactly when the counterfactual is a "
                             "linear trend")
        return self


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AreaOut(_Out):
    code: str
    name: str
    level: str


class MetricOut(_Out):
    slug: str
    title: str
    definition: str
    methodology: str
    kind: MetricKind
    rate_per: int | None
    unit: str
    polarity: Polarity
    frequency: Frequency
    geography_level: str
    source: str
    source_url: str | None
    licence: str
    contact: str
    status: PublicationStatus
    outcomes: list[str] = []


class RevisionOut(_Out):
    value: float
    numerator: float | None
    denominator: float | None
    lower: float | None
    upper: float | None
    status: ObservationStatus
    illustrative: bool
    published_at: dt.datetime
    superseded_at: dt.datetime


class ObservationOut(BaseModel):
    metric: str
    area_code: str
    area_name: str
    period: str
    period_start: dt.date
    period_end: dt.date
    value: float
    numerator: float | None
    denominator: float | None
    lower: float | None
    upper: float | None
    status: ObservationStatus
    release_date: dt.date | None
    illustrative: bool
    revisions: list[RevisionOut] = []


class PathPointOut(BaseModel):
    date: dt.date
    value: float


class TargetOut(BaseModel):
    id: int
    metric: str
    area_code: str
    title: str
    baseline_value: float
    baseline_period: str
    target_value: float
    deadline: dt.date
    horizon: Horizon
    shape: PathShape
    rationale: str
    milestones: list[PathPointOut]
    required_path: list[PathPointOut]
    status: TrackStatus
    status_reason: str
    latest_value: float | None
    latest_period: str | None
    required_at_latest: float | None


class Page(BaseModel):
    items: list[Any]
    total: int
    limit: int
    offset: int
