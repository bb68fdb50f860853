"""The mobilisation dashboard in the public API: the same figures as the page, as JSON. Counts
and sums only, and the lapsed commitments (which are public): never anyone's personal data."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from missionboard.partners.dashboard import (
    LAPSED_SHOWN,
    Breakdown,
    Dashboard,
    LapsedRow,
    Series,
)
from missionboard.partners.models import CommitmentStatus

PeriodKind = Literal["month", "quarter"]


class ScopeOut(BaseModel):
    mission: str | None = Field(description="The mission's slug; null for every mission")
    mission_title: str | None
    area_code: str | None = Field(description="The area (with every area within it); null "
                                              "for everywhere")
    area_name: str | None
    status_on: dt.date = Field(description="The day the statuses are worked out for")


class HeadlineOut(BaseModel):
    partners: int = Field(description="Partners with a public commitment (not withdrawn)")
    partners_active: int = Field(description="Partners with a public commitment that is "
                                             "neither withdrawn nor lapsed")
    commitments: int = Field(description="Public commitments, withdrawn ones left out")
    by_status: dict[CommitmentStatus, int] = Field(
        description="Every public commitment by its status today (withdrawn included)")
    pledged_money_gbp: float
    delivered_money_gbp: float
    pledged_hours: float
    delivered_hours: float = Field(description="Hours given, as partners report them")
    opportunities: int = Field(description="Public volunteering opportunities")
    people_volunteering: int = Field(description="People with a place to volunteer")
    volunteer_hours_confirmed: float = Field(description="Volunteers' hours confirmed by "
                                                         "their organisers")
    illustrative: bool = Field(description="Some of it is made-up demonstration data")


class LapsedOut(BaseModel):
    id: int
    url: str
    title: str
    partner: str
    partner_name: str
    mission: str
    mission_title: str
    area_code: str | None
    area_name: str | None
    start_on: dt.date
    last_report_on: dt.date | None
    report_due_on: dt.date = Field(description="When the missing report was due")
    lapsed_after: dt.date = Field(description="The last day of the grace period")
    days_overdue: int = Field(description="Days since the missing report was due")
    illustrative: bool


class LapsedList(BaseModel):
    total: int
    items: list[LapsedOut] = Field(description=f"The most overdue first, at most "
                                               f"{LAPSED_SHOWN}; the CSV has every one")
    csv: str = Field(description="The address of the CSV of every one")


class PointOut(BaseModel):
    period: str
    start: dt.date
    end: dt.date = Field(description="The period's last day, or today for the current one")
    partial: bool
    added: float
    total: float = Field(description="The running total at the period's end")


class TrendOut(BaseModel):
    latest: float
    previous: float
    change: float | None = Field(description="The relative change from the previous "
                                             "complete period (0.12: up 12%)")
    words: str


class SeriesOut(BaseModel):
    key: str
    title: str
    unit: str
    points: list[PointOut]
    trend: TrendOut | None
    undated: float = Field(description="In the totals but without a date (volunteers' "
                                       "details since deleted)")


class BreakdownOut(BaseModel):
    key: str
    label: str
    partners: int
    commitments: int
    lapsed: int
    pledged_money_gbp: float
    delivered_money_gbp: float
    pledged_hours: float
    delivered_hours: float
    opportunities: int
    people_volunteering: int
    volunteer_hours_confirmed: float
    depth: int | None = Field(default=None, description="Areas: the depth in the tree")
    level: str | None = None
    parent: str | None = None


class MobilisationOut(BaseModel):
    scope: ScopeOut
    headline: HeadlineOut
    lapsed: LapsedList
    by: PeriodKind
    series: list[SeriesOut]
    by_area: list[BreakdownOut] = Field(description="An area's figures include the areas "
                                                    "within it")
    by_sector: list[BreakdownOut]
    by_mission: list[BreakdownOut]


def lapsed_out(row: LapsedRow, *, base: str) -> LapsedOut:
    return LapsedOut(
        id=row.id, url=f"{base}/commitments/{row.id}", title=row.title,
        partner=row.partner_slug, partner_name=row.partner_name, mission=row.mission_slug,
        mission_title=row.mission_title, area_code=row.area_code, area_name=row.area_name,
        start_on=row.start_on, last_report_on=row.last_report_on, report_due_on=row.due_on,
        lapsed_after=row.lapsed_after, days_overdue=row.days_overdue,
        illustrative=row.illustrative)


def series_out(series: Series) -> SeriesOut:
    trend = series.trend
    return SeriesOut(
        key=series.key, title=series.title, unit=series.unit,
        points=[PointOut(period=p.period.label, start=p.period.start, end=p.period.to,
                         partial=p.period.partial, added=round(p.added, 2),
                         total=round(p.total, 2)) for p in series.points],
        trend=None if trend is None else TrendOut(
            latest=trend.latest, previous=trend.previous,
            change=None if trend.change is None else round(trend.change, 4),
            words=trend.words),
        undated=round(series.undated, 2))


def breakdown_out(row: Breakdown, *, area: bool = False) -> BreakdownOut:
    return BreakdownOut(
        key=row.key, label=row.label, partners=row.partners, commitments=row.commitments,
        lapsed=row.lapsed, pledged_money_gbp=row.pledged_money,
        delivered_money_gbp=row.delivered_money, pledged_hours=row.pledged_hours,
        delivered_hours=row.delivered_hours, opportunities=row.opportunities,
        people_volunteering=row.people, volunteer_hours_confirmed=row.volunteer_hours,
        depth=row.depth if area else None, level=row.level if area else None,
        parent=row.parent if area else None)


def mobilisation_out(found: Dashboard, *, base: str, csv: str) -> MobilisationOut:
    scope, top = found.scope, found.headline
    return MobilisationOut(
        scope=ScopeOut(mission=scope.mission.slug if scope.mission else None,
                       mission_title=scope.mission.title if scope.mission else None,
                       area_code=scope.area.code if scope.area else None,
                       area_name=scope.area.name if scope.area else None,
                       status_on=found.today),
        headline=HeadlineOut(
            partners=top.partners, partners_active=top.partners_active,
            commitments=top.commitments, by_status=top.by_status,
            pledged_money_gbp=top.pledged_money, delivered_money_gbp=top.delivered_money,
            pledged_hours=top.pledged_hours, delivered_hours=top.delivered_hours,
            opportunities=top.opportunities, people_volunteering=top.people,
            volunteer_hours_confirmed=top.volunteer_hours, illustrative=top.illustrative),
        lapsed=LapsedList(total=top.lapsed,
                          items=[lapsed_out(r, base=base) for r in found.lapsed], csv=csv),
        by=found.over_time.by,
        series=[series_out(s) for s in found.over_time.all],
        by_area=[breakdown_out(r, area=True) for r in found.by_area],
        by_sector=[breakdown_out(r) for r in found.by_sector],
        by_mission=[breakdown_out(r) for r in found.by_mission])
