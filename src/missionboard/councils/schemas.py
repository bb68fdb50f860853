"""Input and output shapes for mission councils: the council, its members, meetings and
minutes, recommendations and responses; and the public tracker's export and API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from missionboard.councils.models import (
    Implementation,
    MemberRole,
    RecommendationStatus,
    ResponseKind,
    Sector,
)
from missionboard.missions.schemas import ShortText, Slug, Text

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254,
                                          pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50,
                                          pattern=r"^[0-9+() -]*$")]


class CouncilIn(BaseModel):
    slug: Slug
    name: ShortText
    remit: Text
    terms_of_reference: str = ""
    #: The share (in per cent) above which one sector's hold on the membership is flagged.
    max_sector_percent: float = Field(default=40, gt=0, le=100)
    required_sectors: list[Sector] = Field(default_factory=list)
    response_weeks: int = Field(default=8, ge=1, le=52)


class MemberIn(BaseModel):
    name: Name
    organisation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    sector: Sector
    role: MemberRole = MemberRole.MEMBER
    term_start: dt.date
    term_end: dt.date | None = None
    interests: str = ""
    email: Email = ""
    phone: Phone = ""

    @field_validator("term_end")
    @classmethod
    def _term(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("term_start")
        if value is not None and start is not None and value < start:
            raise ValueError("The term cannot end before it starts")
        return value


class MeetingIn(BaseModel):
    held_on: dt.date
    title: ShortText
    agenda: str = ""
    others_present: str = ""
    #: The ids of the members present and of those who sent apologies.
    present: list[int] = Field(default_factory=list)
    apologies: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _once(self) -> MeetingIn:
        if set(self.present) & set(self.apologies):
            raise ValueError("A member cannot be both present and sending apologies")
        return self


class RecommendationIn(BaseModel):
    title: ShortText
    text: Text
    meeting_id: int | None = None
    #: The day it was made; by default the meeting's date.
    made_on: dt.date | None = Field(default=None, validate_default=True)
    #: By default the council's response period after ``made_on``.
    response_due: dt.date | None = None

    @field_validator("made_on")
    @classmethod
    def _made(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is None and info.data.get("meeting_id") is None:
            raise ValueError("Give the date it was made, or the meeting it was made at")
        return value


class ResponseIn(BaseModel):
    kind: ResponseKind
    text: Text
    reason: str = Field(default="", validate_default=True)
    responded_on: dt.date

    @field_validator("reason")
    @classmethod
    def _reasoned(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind in (ResponseKind.REJECTED, ResponseKind.PARTLY_ACCEPTED) and not value.strip():
            raise ValueError("Give the reason: say why it was rejected" if kind ==
                             ResponseKind.REJECTED else "Give the reason: say which part is "
                             "not accepted and why")
        return value


class ImplementationIn(BaseModel):
    implementation: Implementation
    note: str = ""
    updated_on: dt.date


# Out ---------------------------------------------------------------------------------------

class MemberOut(BaseModel):
    """A member as the public sees them: no contact details."""

    name: str
    organisation: str
    sector: Sector
    role: MemberRole
    term_start: dt.date
    term_end: dt.date | None
    interests: str = Field(description="Declared interests; empty when none are declared")
    current: bool


class SectorShareOut(BaseModel):
    sector: Sector
    label: str
    members: int
    share: float | None
    needed: bool = Field(description="The remit needs this sector")


class BalanceOut(BaseModel):
    as_of: dt.date
    members: int
    max_sector_share: float
    sectors: list[SectorShareOut]
    over_limit: list[Sector] = Field(description="Sectors holding more than the limit")
    missing: list[Sector] = Field(description="Sectors the remit needs with no member")


class MeetingOut(BaseModel):
    id: int
    held_on: dt.date
    title: str
    agenda: str
    present: list[str]
    apologies: list[str]
    others_present: str
    minutes: str | None = Field(description="The published minutes; null until published")
    minutes_published_at: dt.datetime | None
    url: str


class ResponseOut(BaseModel):
    kind: ResponseKind
    text: str
    reason: str
    responded_on: dt.date
    days_late: int = Field(description="Days after the due date it came (0 when on time)")
    implementation: Implementation | None
    implementation_note: str
    implementation_updated_on: dt.date | None


class RecommendationOut(BaseModel):
    number: int
    title: str
    text: str
    made_on: dt.date
    meeting: int | None = Field(description="The id of the meeting it was made at")
    response_due: dt.date
    status: RecommendationStatus
    status_label: str
    response: ResponseOut | None
    url: str


class RecommendationList(BaseModel):
    council: str
    as_of: dt.date
    counts: dict[RecommendationStatus, int]
    items: list[RecommendationOut]


class CouncilOut(BaseModel):
    slug: str
    url: str
    name: str
    mission: str = Field(description="The mission's slug")
    remit: str
    terms_of_reference: str
    chair: list[str] = Field(description="The current chair (or co-chairs)")
    response_weeks: int
    illustrative: bool
    members: list[MemberOut]
    balance: BalanceOut
    meetings: list[MeetingOut]
    counts: dict[RecommendationStatus, int]
