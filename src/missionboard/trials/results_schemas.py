"""Input shapes for a trial's results: using a result as the evidence for an intervention's
effect on a metric."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field, field_validator

from missionboard.missions.schemas import ShortText, Slug, Text
from missionboard.trials.schemas import Key


class EvidenceLinkIn(BaseModel):
    """The trial's estimate of ``outcome`` (``arm`` against control), times ``factor``,
    becomes the intervention's effect on the metric in the area, at ``interval_level``."""

    intervention_id: int
    outcome: Key
    arm: Key
    metric_slug: Slug
    area_code: ShortText
    factor: float
    #: How the factor turns the trial's effect into the metric's units, in words (public).
    factor_explanation: Text
    interval_level: float = Field(default=0.8, gt=0, lt=1)
    at_scale: bool = False
    reason: str = ""

    @field_validator("factor")
    @classmethod
    def _factor(cls, value: float) -> float:
        if not math.isfinite(value) or value == 0 or abs(value) > 1e12:
            raise ValueError("enter a number other than 0 (for example 0.45)")
        return value
