"""Input and output shapes for missions, outcomes, boards and organisations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from missionboard.missions.models import (
    BoardRole,
    ContributionRole,
    MissionStatus,
    OrganisationKind,
)

Slug = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
                                         min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class MissionIn(BaseModel):
    slug: Slug
    title: ShortText
    ambition: Text
    horizon_year: int = Field(ge=2000, le=2200)
    judgements_public: bool = False


class OutcomeIn(BaseModel):
    slug: Slug
    title: ShortText
    description: str = ""


class OrganisationIn(BaseModel):
    slug: Slug
    name: ShortText
    kind: OrganisationKind
    parent_slug: str | None = None
    website: str | None = None


class BoardMemberIn(BaseModel):
    name: ShortText
    title: str = ""
    role: BoardRole
    organisation_slug: str | None = None
    is_chair: bool = False
    is_accountable_lead: bool = False
    account_email: str | None = None


class ContributionIn(BaseModel):
    organisation_slug: Slug
    role: ContributionRole


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganisationOut(_Out):
    slug: str
    name: str
    kind: OrganisationKind


class BoardMemberOut(_Out):
    name: str
    title: str
    role: BoardRole
    is_chair: bool
    is_accountable_lead: bool
    organisation: OrganisationOut | None


class ContributionOut(_Out):
    role: ContributionRole
    organisation: OrganisationOut


class OutcomeOut(_Out):
    slug: str
    title: str
    description: str
    metrics: list[str] = []


class MissionOut(_Out):
    slug: str
    title: str
    ambition: str
    horizon_year: int
    status: MissionStatus
    published_at: dt.datetime | None
    outcomes: list[OutcomeOut] = []
    board: list[BoardMemberOut] = []
    organisations: list[ContributionOut] = []


class ChangeOut(_Out):
    at: dt.datetime
    entity_type: str
    entity_id: int
    author_name: str
    reason: str
    fields: dict[str, Any]
