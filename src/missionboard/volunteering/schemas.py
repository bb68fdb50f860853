"""Input and output shapes for volunteering: an opportunity as its organiser writes it, a
sign-up, logged hours, a message to volunteers, and the public API's opportunities and counts
(which never carry personal data)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, field_validator

from missionboard.missions.schemas import ShortText, Slug, Text
from missionboard.volunteering.geo import normalise_postcode
from missionboard.volunteering.models import (
    Audience,
    DbsCheck,
    Mode,
    OpportunityStatus,
    TimeKind,
)

#: An interest or skill: lower-case words joined by hyphens (``first-aid``).
Tag = Annotated[str, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
                StringConstraints(min_length=1, max_length=60,
                                  pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def tag_of(text: str) -> str:
    """A tag from words as typed (``"First aid"`` → ``"first-aid"``)."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


class OpportunityIn(BaseModel):
    slug: Slug
    title: ShortText
    description: Text
    #: The partner organising it, or None for a public body named in ``public_body``.
    partner_id: int | None = None
    public_body: str = Field(default="", max_length=300)
    mode: Mode = Mode.IN_PERSON
    address: str = Field(default="", max_length=2000)
    postcode: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    time_kind: TimeKind = TimeKind.REGULAR
    hours: float | None = Field(default=None, gt=0, le=1000)
    time_note: str = Field(default="", max_length=300)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    accessibility: str = Field(default="", max_length=5000)
    dbs_check: DbsCheck = DbsCheck.NONE
    minimum_age: int | None = Field(default=None, ge=10, le=100)
    capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    waitlist: bool = True
    retention_months: int = Field(default=12, ge=1, le=72)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        if not value.strip():
            return ""
        found = normalise_postcode(value)
        if found is None:
            raise ValueError("Enter a UK postcode, like SW1A 1AA")
        return found

    @field_validator("tags")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class SignupIn(BaseModel):
    """The sign-up form, checked; the rules that depend on the opportunity (DBS, age) are the
    service's."""

    name: ShortText
    email: str = Field(max_length=320)
    phone: str = Field(default="", max_length=40)
    postcode: str = ""
    note: str = Field(default="", max_length=2000)
    consent_store: bool = False
    consent_contact: bool = False
    dbs_acknowledged: bool = False
    age_confirmed: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if not _EMAIL.match(value):
            raise ValueError("Enter an email address like name@example.com")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = value.strip()
        digits = re.sub(r"\D", "", value)
        if value and not 10 <= len(digits) <= 15:
            raise ValueError("Enter a phone number like 01632 960 001")
        return value

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        if not value.strip():
            return ""
        found = normalise_postcode(value)
        if found is None:
            raise ValueError("Enter a UK postcode, like SW1A 1AA")
        return found


class HoursIn(BaseModel):
    worked_on: dt.date
    hours: float = Field(gt=0, le=24)
    note: str = Field(default="", max_length=1000)


class MessageIn(BaseModel):
    audience: Audience = Audience.SIGNED_UP
    subject: ShortText
    body: Text


# The public API ----------------------------------------------------------------------------

class OpportunityOut(BaseModel):
    """An opportunity as the public sees it: no personal data, only counts."""

    slug: str
    url: str
    title: str
    description: str
    mission: str
    mission_title: str
    organiser: str
    partner: str | None = Field(description="The organising partner's slug, if a partner runs it")
    status: OpportunityStatus
    mode: Mode
    address: str
    postcode: str
    latitude: float | None
    longitude: float | None
    area_code: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    time_kind: TimeKind
    hours: float | None
    time_note: str
    tags: list[str]
    accessibility: str
    dbs_check: DbsCheck
    minimum_age: int | None
    capacity: int | None
    places_left: int | None
    waitlist: bool
    signed_up: int
    hours_confirmed: float
    distance_km: float | None = Field(
        description="From the postcode searched for (great-circle), when one was given")
    distance_miles: float | None
    illustrative: bool


class OpportunityPage(BaseModel):
    items: list[OpportunityOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="The address of the next page, or null on the last")
    origin: str | None = Field(description="The postcode the distances are from (normalised; "
                                           "an outward code when only that is known)")


class CountOut(BaseModel):
    key: str
    name: str
    opportunities: int
    signed_up: int
    hours_confirmed: float


class SummaryOut(BaseModel):
    """People signed up and hours confirmed, by mission and by area (public opportunities
    only)."""

    opportunities: int
    signed_up: int
    hours_confirmed: float
    by_mission: list[CountOut]
    by_area: list[CountOut]
