"""Input shapes for interventions and their effect estimates."""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from missionboard.delivery.models import (
    Distribution,
    EvidenceKind,
    EvidenceStrength,
    InterventionStatus,
    Persistence,
    PlanItemKind,
    PlanItemStatus,
    Ramp,
)
from missionboard.missions.schemas import ShortText, Slug


class EffectIn(BaseModel):
    """An estimated full effect on one metric in one area (see InterventionEffect)."""

    metric_slug: Slug
    area_code: ShortText
    distribution: Distribution = Distribution.NORMAL
    central: float
    low: float
    high: float
    interval_level: float = Field(default=0.8, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> EffectIn:
        if not all(math.isfinite(v) for v in (self.central, self.low, self.high)):
            raise ValueError("the estimate must be finite numbers")
        if not self.low <= self.central <= self.high:
            raise ValueError("the estimate must have low ≤ central ≤ high")
        if self.distribution == Distribution.LOGNORMAL and self.low <= 0:
            raise ValueError("a lognormal estimate needs a low value above 0")
        if self.distribution != Distribution.NORMAL and self.low == self.high:
            raise ValueError("a spread-out distribution needs low < high")
        return self


class InterventionIn(BaseModel):
    slug: Slug
    title: ShortText
    description: str = ""
    owner_slug: str | None = None
    contributor_slugs: list[str] = []
    status: InterventionStatus = InterventionStatus.PLANNED
    start: dt.date
    lag_months: int = Field(default=0, ge=0, le=600)
    ramp: Ramp = Ramp.STEP
    ramp_months: int = Field(default=0, ge=0, le=600, validate_default=True)
    persistence: Persistence = Persistence.PERMANENT
    half_life_months: float | None = Field(default=None, gt=0, validate_default=True)
    evidence_kind: EvidenceKind
    evidence_strength: EvidenceStrength
    evidence_reference: str = ""
    optimism_override: float | None = Field(default=None, gt=0, le=2)
    optimism_override_reason: str = Field(default="", validate_default=True)
    budgets: dict[int, float] = {}
    effects: list[EffectIn] = []

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: dict[int, float]) -> dict[int, float]:
        for year, amount in v.items():
            if not 1900 <= year <= 2200 or not math.isfinite(amount) or amount < 0:
                raise ValueError(f"budget for {year} must be a year and an amount ≥ 0")
        return v

    @field_validator("ramp_months")
    @classmethod
    def _ramp_length(cls, v: int, info: ValidationInfo) -> int:
        if info.data.get("ramp", Ramp.STEP) != Ramp.STEP and v == 0:
            raise ValueError("a gradual ramp-up needs its length in months")
        return v

    @field_validator("half_life_months")
    @classmethod
    def _half_life(cls, v: float | None, info: ValidationInfo) -> float | None:
        if info.data.get("persistence") == Persistence.DECAY and v is None:
            raise ValueError("a decaying effect needs a half-life in months")
        return v

    @field_validator("optimism_override_reason")
    @classmethod
    def _override_reason(cls, v: str, info: ValidationInfo) -> str:
        if info.data.get("optimism_override") is not None and not v.strip():
            raise ValueError("overriding the optimism adjustment needs a reason")
        return v

    @field_validator("effects")
    @classmethod
    def _one_per_metric_and_area(cls, v: list[EffectIn]) -> list[EffectIn]:
        keys = [(e.metric_slug, e.area_code) for e in v]
        if len(set(keys)) != len(keys):
            raise ValueError("give one estimate per metric and area")
        return v


class FanPointOut(BaseModel):
    month: dt.date
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    mean: float


class ContributionOut(BaseModel):
    intervention: str
    title: str
    mean_effect_at_deadline: float
    optimism_factor: float
    sensitivity: float


class TrajectoryOut(BaseModel):
    """A target's projection: fan chart, chance, gap, effect needed, waterfall, sensitivity."""

    target_id: int
    metric: str
    area_code: str
    target_value: float
    deadline: dt.date
    counterfactual: str
    draws: int
    probability: float
    expected_gap: float
    required_probability: float
    additional_effect_needed: float
    fan: list[FanPointOut]
    contributions: list[ContributionOut]


class PlanItemIn(BaseModel):
    kind: PlanItemKind
    title: ShortText
    owner: ShortText
    due: dt.date
    status: PlanItemStatus = PlanItemStatus.NOT_STARTED
    completed_on: dt.date | None = Field(default=None, validate_default=True)

    @field_validator("completed_on")
    @classmethod
    def _completion(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        status = info.data.get("status")
        if status is not None and (status == PlanItemStatus.DONE) != (v is not None):
            raise ValueError("give the completion date exactly when the item is done")
        return v


class ChainLinkIn(BaseModel):
    organisation_slug: str | None = None
    role: ShortText


class OverlapIn(BaseModel):
    """How two interventions overlap: a shared fraction discounts the smaller effect, or an
    interaction factor scales both (the projection caps each effect's share at 1)."""

    shared_fraction: float = Field(default=0.0, ge=0, le=1)
    interaction: float | None = Field(default=None, ge=0, le=1)
    note: str = ""
