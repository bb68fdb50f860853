"""Input and output shapes for the adoption tracker: a programme, one adoption entered by
hand, and the API's coverage and diffusion curve."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from missionboard.missions.schemas import ShortText, Slug
from missionboard.trials.adoption_models import Fidelity

UnitKindText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=100)]
UnitId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                           pattern=r"^[^\x00-\x1f]+$")]


class ProgrammeIn(BaseModel):
    slug: Slug
    title: ShortText
    unit_kind: UnitKindText
    description: str = ""
    intervention_id: int | None = None
    trial_id: int | None = None
    offered_on: dt.date | None = None
    #: The target share of eligible units, in per cent.
    target_percent: float | None = Field(default=None, gt=0, le=100)
    target_on: dt.date | None = None

    @field_validator("target_on")
    @classmethod
    def _target_consistent(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is None:
            return value
        if "target_percent" in info.data and info.data["target_percent"] is None:
            raise ValueError("Give the target share for the target date")
        offered = info.data.get("offered_on")
        if offered is not None and value <= offered:
            raise ValueError("The target date must be after the programme was offered")
        return value


class AdoptionIn(BaseModel):
    """One unit's adoption. The fidelity is a level, or a score from 0 to 100 (from which the
    level follows when none is given), or both."""

    unit_id: UnitId
    adopted_on: dt.date
    fidelity: Fidelity | None = None
    fidelity_score: int | None = Field(default=None, ge=0, le=100,
                                       validate_default=True)
    stopped_on: dt.date | None = None
    source: str = Field(default="", max_length=300)
    note: str = ""

    @field_validator("fidelity_score")
    @classmethod
    def _some_fidelity(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and "fidelity" in info.data and info.data["fidelity"] is None:
            raise ValueError("Give the fidelity: a level, or a score from 0 to 100")
        return value

    @field_validator("stopped_on")
    @classmethod
    def _stops_after_adopting(cls, value: dt.date | None, info: ValidationInfo
                              ) -> dt.date | None:
        adopted = info.data.get("adopted_on")
        if value is not None and adopted is not None and value < adopted:
            raise ValueError("A unit cannot stop before it adopted")
        return value


class CoverageOut(BaseModel):
    as_of: dt.date
    eligible: int = Field(description="Units eligible to adopt")
    adopting: int = Field(description="Units adopting on the day (adopted, not stopped)")
    share: float | None = Field(description="adopting / eligible (null with no units)")
    full_fidelity: int = Field(description="Units adopting at full fidelity")
    full_fidelity_share: float | None
    stopped: int = Field(description="Units that adopted and have stopped")
    never_adopted: int
    median_months_to_adopt: float | None = Field(
        description="Among the units that have adopted, from when the programme was offered; "
                    "units yet to adopt are not counted, so this understates the wait")


class CurvePointOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    on: dt.date = Field(description="The day counted: the month's end, or the as-of day")
    adopting: int
    share: float | None
    full_fidelity: int
    full_fidelity_share: float | None


class ProjectionOut(BaseModel):
    """A logistic S-curve fitted to the share adopting: a projection on the present trend,
    not a forecast."""

    fitted: bool
    reason: str | None = Field(description="Why no curve was fitted, when none was")
    ceiling: float | None = Field(description="The share at which the curve levels off")
    rate_per_month: float | None
    midpoint_on: dt.date | None = Field(description="When the curve reaches half its ceiling")
    target_share: float | None
    target_reached_on: dt.date | None = Field(
        description="When the fitted curve reaches the target share (null if it never does "
                    "or there is no target)")
    note: str


class AdoptionOut(BaseModel):
    slug: str
    url: str
    title: str
    mission: str
    unit_kind: str
    intervention: str | None
    trial: str | None = Field(description="The slug of the trial that showed it works")
    offered_on: dt.date | None
    target_share: float | None
    target_on: dt.date | None
    illustrative: bool
    coverage: CoverageOut
    curve: list[CurvePointOut]
    projection: ProjectionOut
