"""Input shapes for units, unit-level data, peer groups and practice notes."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from missionboard.benchmarking.models import PeerKind, Statistic, UnitKind
from missionboard.missions.schemas import ShortText, Slug, Text

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class UnitIn(BaseModel):
    code: Code
    name: ShortText
    kind: UnitKind
    area_code: str | None = None
    attributes: dict[str, float] = {}

    @field_validator("attributes")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not math.isfinite(x)]
        if bad:
            raise ValueError(f"attributes must be finite numbers: {', '.join(bad)}")
        return v


class UnitMetricIn(BaseModel):
    statistic: Statistic
    multiplier: float = Field(default=1.0, gt=0)
    numerator_label: ShortText
    denominator_label: ShortText


class PeerGroupIn(BaseModel):
    slug: Slug
    name: ShortText
    kind: PeerKind
    unit_kind: UnitKind | None = None
    attributes: list[str] = []
    neighbours: int = Field(default=15, ge=1, le=1000)
    members: list[str] = []
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> PeerGroupIn:
        if self.kind == PeerKind.NEAREST and not self.attributes:
            raise ValueError("nearest neighbours need the attributes to compare on")
        if self.kind == PeerKind.LIST and not self.members:
            raise ValueError("a list of peers needs its members")
        if self.kind == PeerKind.SAME_KIND and self.unit_kind is None:
            raise ValueError("say which kind of unit")
        return self


class PracticeNoteIn(BaseModel):
    title: ShortText
    body: Text
    metric_slug: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        if self.metric_slug == "":
            self.metric_slug = None
