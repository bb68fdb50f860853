"""Input shapes for panels, their features, registrations, commitments and recommendations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from missionboard.missions.schemas import ShortText, Slug, Text
from missionboard.panels.models import ResponseStatus, SeedSource

#: A feature's or a value's machine name: the column and the cell in the published CSV files.
Name = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_+-]*$",
                                         min_length=1, max_length=60)]
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                           pattern=r"^[0-9a-fA-F]{64}$")]


class PanelIn(BaseModel):
    slug: Slug
    title: ShortText
    question: Text
    purpose: str = ""
    outcome_id: int | None = None
    size: int = Field(ge=2, le=1000)
    household_rule: bool = True
    retention_until: dt.date
    meets_from: dt.date | None = None
    meets_until: dt.date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> PanelIn:
        if self.meets_from and self.meets_until and self.meets_until < self.meets_from:
            raise ValueError("The panel's last meeting must not be before its first")
        return self


class ValueIn(BaseModel):
    value: Name
    label: ShortText
    share: float | None = Field(default=None, ge=0, le=1)


class FeatureIn(BaseModel):
    name: Name
    question: Text
    source: str = ""
    values: list[ValueIn] = Field(min_length=2)

    @model_validator(mode="after")
    def _distinct_values(self) -> FeatureIn:
        if self.name in {"id", "household"}:
            raise ValueError(f"{self.name!r} is a column of the published people file: "
                             "choose another name")
        names = [v.value for v in self.values]
        if len(set(names)) != len(names):
            raise ValueError("Each value must appear once")
        return self


class FeatureShareRow(BaseModel):
    """One row of the census figures import: ``feature, value, share`` (and optionally
    ``label`` and ``question``). A share may be a fraction (0.49) or a percentage (49%)."""

    feature: Name
    value: Name
    share: float = Field(ge=0, le=1)
    label: str | None = None
    question: str | None = None


class RecommendationIn(BaseModel):
    title: ShortText
    text: Text
    support: str = ""
    made_on: dt.date
    response_due: dt.date | None = None


class ResponseIn(BaseModel):
    status: ResponseStatus
    text: Text
    published_on: dt.date | None = None


class CommitIn(BaseModel):
    seed_source: SeedSource
    commitment: Sha256 | None = None
    seed_description: str = ""

    @model_validator(mode="after")
    def _commitment_when_organiser_holds_the_seed(self) -> CommitIn:
        if self.seed_source == SeedSource.ORGANISER and self.commitment is None:
            raise ValueError("Enter the SHA-256 of your seed")
        return self
