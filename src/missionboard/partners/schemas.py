"""Input and output shapes for partners, their staff, commitments and progress reports, the
public register's filters and the API."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from missionboard.missions.schemas import ShortText
from missionboard.partners.models import (
    CommitmentKind,
    CommitmentStatus,
    PartnerKind,
    PartnerSize,
    ReportingSchedule,
    Sector,
    VerificationLevel,
)

KIND_LABELS = {
    PartnerKind.BUSINESS: "Business",
    PartnerKind.TRADE_UNION: "Trade union",
    PartnerKind.CHARITY: "Charity",
    PartnerKind.SOCIAL_ENTERPRISE: "Social enterprise",
    PartnerKind.COMMUNITY_GROUP: "Community group",
    PartnerKind.UNIVERSITY: "University",
    PartnerKind.FAITH_GROUP: "Faith group",
    PartnerKind.PUBLIC_BODY: "Public body",
}
SIZE_LABELS = {
    PartnerSize.MICRO: "Micro (fewer than 10 staff)",
    PartnerSize.SMALL: "Small (10 to 49 staff)",
    PartnerSize.MEDIUM: "Medium (50 to 249 staff)",
    PartnerSize.LARGE: "Large (250 staff or more)",
}
SECTOR_LABELS = {
    Sector.AGRICULTURE_FOOD: "Agriculture, food and drink",
    Sector.ARTS_CULTURE_SPORT: "Arts, culture and sport",
    Sector.CONSTRUCTION_HOUSING: "Construction and housing",
    Sector.EDUCATION: "Education and skills",
    Sector.ENERGY_UTILITIES: "Energy and utilities",
    Sector.FINANCE: "Finance and insurance",
    Sector.HEALTH_CARE: "Health and social care",
    Sector.HOSPITALITY: "Hospitality and tourism",
    Sector.DIGITAL: "Information and digital",
    Sector.MANUFACTURING: "Manufacturing",
    Sector.PROFESSIONAL_SERVICES: "Professional services",
    Sector.PUBLIC_SERVICES: "Public services",
    Sector.RETAIL: "Retail and wholesale",
    Sector.TRANSPORT: "Transport and logistics",
    Sector.COMMUNITY: "Community and voluntary",
    Sector.OTHER: "Other",
}
COMMITMENT_KIND_LABELS = {
    CommitmentKind.ACTION: "Action",
    CommitmentKind.TARGET: "Measurable target",
    CommitmentKind.MONEY: "Money",
    CommitmentKind.TIME: "People’s time",
    CommitmentKind.IN_KIND: "In-kind resources",
}
SCHEDULE_LABELS = {
    ReportingSchedule.MONTHLY: "Monthly",
    ReportingSchedule.QUARTERLY: "Every three months",
    ReportingSchedule.SIX_MONTHLY: "Every six months",
    ReportingSchedule.YEARLY: "Every year",
}
VERIFICATION_LABELS = {
    VerificationLevel.SELF_REPORTED: "Self-reported",
    VerificationLevel.EVIDENCED: "Evidenced",
    VerificationLevel.INDEPENDENTLY_VERIFIED: "Independently verified",
}
STATUS_LABELS = {
    CommitmentStatus.NOT_YET_DUE: "Not yet due",
    CommitmentStatus.ON_TRACK: "On track",
    CommitmentStatus.BEHIND: "Behind",
    CommitmentStatus.ACHIEVED: "Achieved",
    CommitmentStatus.LAPSED: "Lapsed",
    CommitmentStatus.WITHDRAWN: "Withdrawn",
}

#: A web domain: labels of letters, digits and hyphens, with a dot between them.
Domain = Annotated[str, StringConstraints(
    strip_whitespace=True, to_lower=True, max_length=253,
    pattern=r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")]
#: Companies House: eight characters, digits or two letters then six digits.
CompanyNumber = Annotated[str, StringConstraints(
    strip_whitespace=True, to_upper=True, pattern=r"^$|^([0-9]{8}|[A-Z]{2}[0-9]{6})$")]
#: England and Wales (6 or 7 digits), Scotland (SC and 6 digits), Northern Ireland (NIC or
#: 100 and 6 digits).
CharityNumber = Annotated[str, StringConstraints(
    strip_whitespace=True, to_upper=True,
    pattern=r"^$|^([0-9]{6,7}|SC[0-9]{6}|NIC[0-9]{6}|1[0-9]{5})$")]
UnionNumber = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500,
                                       pattern=r"^$|^https?://[^\s<>\"]+$")]
Money = Annotated[float, Field(ge=0, le=1e13)]
Hours = Annotated[float, Field(ge=0, le=1e10)]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("enter a number")
    return value


class PartnerIn(BaseModel):
    """An organisation's public details."""

    name: ShortText
    kind: PartnerKind
    sector: Sector
    size: PartnerSize
    description: str = Field(default="", max_length=5000)
    website: Url = ""
    web_domain: Domain = ""
    company_number: CompanyNumber = ""
    charity_number: CharityNumber = ""
    union_number: UnionNumber = ""
    area_codes: list[str] = Field(default_factory=list, max_length=50)


class PersonIn(BaseModel):
    """The member of staff registering (never shown in public)."""

    person_name: ShortText
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                            max_length=254,
                                            pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    job_title: str = Field(default="", max_length=200)
    password: str = Field(default="", max_length=1000)


class CommitmentIn(BaseModel):
    """A commitment's terms; which of them are needed depends on the kind (checked by
    :func:`missionboard.partners.service.check_terms`)."""

    mission_slug: ShortText
    outcome_slug: str = ""
    metric_slug: str = ""
    area_code: str = ""
    title: ShortText
    description: str = Field(default="", max_length=10000)
    kind: CommitmentKind
    unit: str = Field(default="", max_length=100)
    baseline: float | None = None
    target: float | None = None
    start_on: dt.date
    deadline: dt.date | None = None
    pledged_money: Money | None = None
    pledged_hours: Hours | None = None
    in_kind: str = Field(default="", max_length=5000)
    schedule: ReportingSchedule = ReportingSchedule.QUARTERLY

    @field_validator("baseline", "target", "pledged_money", "pledged_hours")
    @classmethod
    def _numbers(cls, value: float | None) -> float | None:
        return _finite(value)


class ReportIn(BaseModel):
    """A progress report: the period it covers ends on ``period_end``."""

    period_end: dt.date
    value: float | None = None
    money_spent: Money | None = None
    hours_given: Hours | None = None
    completed: bool = False
    narrative: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=10000)]
    evidence_url: Url = ""
    evidence_description: str = Field(default="", max_length=5000)

    @field_validator("value", "money_spent", "hours_given")
    @classmethod
    def _numbers(cls, value: float | None) -> float | None:
        return _finite(value)


# The register's filters --------------------------------------------------------------------

class RegisterQuery(BaseModel):
    """The public register's filters (each optional) and page."""

    model_config = ConfigDict(extra="ignore")

    mission: str | None = Field(default=None, max_length=100,
                                description="Only this mission's commitments (its slug)")
    kind: CommitmentKind | None = Field(default=None, description="Only this kind")
    status: CommitmentStatus | None = Field(default=None,
                                            description="Only commitments with this status "
                                                        "today")
    sector: Sector | None = Field(default=None, description="Only partners in this sector")
    area: str | None = Field(default=None, max_length=32,
                             description="Only this area (its code) and the areas within it")
    partner: str | None = Field(default=None, max_length=100,
                                description="Only this partner's commitments (its slug)")
    verification: VerificationLevel | None = Field(default=None,
                                                   description="Only this verification level")

    @field_validator("mission", "area", "partner", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("kind", "status", "sector", "verification", mode="before")
    @classmethod
    def _blank_choice_is_none(cls, value: object) -> object:
        return None if value == "" else value


# Output ------------------------------------------------------------------------------------

class PartnerSummaryOut(BaseModel):
    slug: str
    name: str
    kind: PartnerKind
    sector: Sector
    size: PartnerSize
    url: str


class PartnerOut(PartnerSummaryOut):
    """A partner's public details (never its staff)."""

    description: str
    website: str
    company_number: str
    charity_number: str
    union_number: str
    areas: list[str] = Field(description="The codes of the areas it works in")
    illustrative: bool


class PartnerList(BaseModel):
    items: list[PartnerOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="The address of the next page, or null on the last")


class CommitmentOut(BaseModel):
    """A public commitment with its derived status and what has been delivered."""

    id: int
    url: str
    title: str
    description: str
    kind: CommitmentKind
    status: CommitmentStatus = Field(description="Derived today: not_yet_due, on_track, "
                                                 "behind, achieved, lapsed or withdrawn")
    partner: PartnerSummaryOut
    mission: str = Field(description="The mission's slug")
    outcome: str | None = Field(description="The outcome's slug, if any")
    metric: str | None = Field(description="The metric's slug, if any")
    area_code: str | None
    area_name: str | None
    unit: str
    baseline: float | None
    target: float | None
    start_on: dt.date
    deadline: dt.date | None
    pledged_money_gbp: float | None
    pledged_hours: float | None
    in_kind: str
    schedule: ReportingSchedule
    verification: VerificationLevel
    optimism_discount: float = Field(description="The share taken off a measurable pledge "
                                                 "when it is counted in the trajectory, for "
                                                 "its verification level")
    latest_value: float | None
    delivered_money_gbp: float
    delivered_hours: float
    progress: float | None = Field(description="The share of the pledge delivered (1 = all), "
                                               "for a target, money or time pledge")
    reports: int
    last_report_on: dt.date | None
    next_report_due_on: dt.date = Field(description="It lapses if no report comes by this day")
    intervention: str | None = Field(description="The address of the intervention it was "
                                                 "counted as in the mission's trajectory")
    withdrawn_reason: str
    illustrative: bool


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    period_end: dt.date
    value: float | None
    money_spent: float | None
    hours_given: float | None
    completed: bool
    narrative: str
    evidence_url: str
    evidence_description: str
    verification: VerificationLevel
    created_at: dt.datetime


class CommitmentDetailOut(CommitmentOut):
    progress_reports: list[ReportOut]


class CommitmentPage(BaseModel):
    items: list[CommitmentOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="The address of the next page, or null on the last")


class ReportCreatedOut(BaseModel):
    report: ReportOut
    status: CommitmentStatus
