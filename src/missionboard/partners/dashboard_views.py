"""The mobilisation dashboard's pages (``router``, included among the page routers) and its part
of the public API (``api_router``, included in ``/api/v1``): for every mission
(``/mobilisation``) or one (``/missions/{slug}/mobilisation``), optionally in one area and the
areas within it (``?area=CODE``), by month or by quarter (``?by=quarter``); the lapsed
commitments and the series as CSV. Public data only, for everyone alike: a draft mission has
no dashboard (404), and an unknown area is a 404 too (problem+json in the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from missionboard.missions import service as missions_service
from missionboard.partners import dashboard
from missionboard.partners.dashboard_charts import running_total_spec
from missionboard.partners.dashboard_schemas import MobilisationOut, mobilisation_out
from missionboard.partners.schemas import SECTOR_LABELS, STATUS_LABELS
from missionboard.partners.status import GRACE_DAYS
from missionboard.partners.views import today
from missionboard.web import api as public_api
from missionboard.web.api import problem_responses
from missionboard.web.deps import DB, CurrentUser, csrf_protect, render
from missionboard.web.uploads import base_url, csv_bytes

router = APIRouter(dependencies=[Depends(csrf_protect)])

AreaCode = Annotated[str | None, Query(max_length=32, description=(
    "Only this area and the areas within it (its code, for example E12000001)"))]
By = Annotated[Literal["month", "quarter"], Query(description="Months or quarters")]
Periods = Annotated[int | None, Query(ge=1, le=dashboard.MAX_PERIODS, description=(
    "How many months or quarters the series span, the current one last (by default 12 "
    "months or 8 quarters)"))]
MissionSlug = Annotated[str | None, Query(max_length=100, description="A mission's slug")]


@dataclass(frozen=True)
class Options:
    """The dashboard's query: where, and by what period."""

    area: str | None = None
    by: str = "month"
    periods: int | None = None

    def query(self, **changes: Any) -> str:
        values = {"area": self.area, "by": self.by, "periods": self.periods, **changes}
        if values["by"] == "month":
            values.pop("by")
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def scope_of(db: Session, *, mission: str | None, area: str | None) -> dashboard.Scope:
    """The scope asked for: a published mission (404 otherwise) and a known area."""
    found = (missions_service.get_mission(db, slug=mission, include_drafts=False)
             if mission else None)
    return dashboard.Scope(mission=found,
                           area=dashboard.find_area(db, area) if area else None)


def _page(request: Request, db: DB, user: CurrentUser, *, mission: str | None,
          options: Options) -> Response:
    scope = scope_of(db, mission=mission, area=options.area)
    found = dashboard.dashboard(db, scope, today=today(), sector_labels=SECTOR_LABELS,
                                by=options.by, count=options.periods)
    over = found.over_time
    where = f" in {scope.area.name} and the areas within it" if scope.area else ""
    charts = {
        "money": running_total_spec([over.money], by=over.by, description=(
            f"Money partners have delivered{where}: the running total in pounds at the end "
            f"of each {over.by}")),
        "hours": running_total_spec([over.partner_hours, over.volunteer_hours], by=over.by,
                                    description=(
            f"Hours given by partners and volunteers' confirmed hours{where}: the running "
            f"totals at the end of each {over.by}")),
        "people": running_total_spec([over.people], by=over.by, description=(
            f"People with a place to volunteer{where}: the running total at the end of each "
            f"{over.by}")),
        "commitments": running_total_spec([over.commitments], by=over.by, description=(
            f"Partners' commitments made{where}, by the day each starts: the running total "
            f"at the end of each {over.by}")),
    }
    areas = [(n.code, "\u00a0\u00a0" * n.depth + n.name)
             for n in dashboard.area_tree(db)]
    path = f"/missions/{scope.mission.slug}/mobilisation" if scope.mission else "/mobilisation"
    downloads = urlencode({k: v for k, v in (
        ("mission", scope.mission.slug if scope.mission else None),
        ("area", options.area)) if v})
    return render(request, "partners/dashboard.html", {
        "d": found, "scope": scope, "options": options, "charts": charts, "areas": areas,
        "path": path, "downloads": downloads, "status_labels": STATUS_LABELS,
        "grace_days": GRACE_DAYS, "lapsed_shown": dashboard.LAPSED_SHOWN,
        "no_area": dashboard.NO_AREA,
    }, user=user)


def _options(area: str | None, by: str, periods: int | None) -> Options:
    return Options(area=(area or "").strip() or None, by=by, periods=periods)


@router.get("/mobilisation", response_class=HTMLResponse)
def mobilisation(request: Request, db: DB, user: CurrentUser, *, area: AreaCode = None,
                 by: By = "month", periods: Periods = None) -> Response:
    """Every mission's mobilisation: partners, commitments, volunteering, over time."""
    return _page(request, db, user, mission=None, options=_options(area, by, periods))


@router.get("/missions/{slug}/mobilisation", response_class=HTMLResponse)
def mission_mobilisation(request: Request, slug: str, db: DB, user: CurrentUser, *,
                         area: AreaCode = None, by: By = "month",
                         periods: Periods = None) -> Response:
    return _page(request, db, user, mission=slug, options=_options(area, by, periods))


def _filename(scope: dashboard.Scope, what: str) -> str:
    parts = ["missionboard", what]
    if scope.mission:
        parts.append(scope.mission.slug)
    if scope.area:
        parts.append(scope.area.code)
    return "-".join(parts) + ".csv"


@router.get("/mobilisation/lapsed.csv")
def lapsed_csv(request: Request, db: DB, *, mission: MissionSlug = None,
               area: AreaCode = None) -> Response:
    """Every lapsed public commitment (of one mission, in one area), most overdue first."""
    scope = scope_of(db, mission=mission, area=(area or "").strip() or None)
    rows = dashboard.stream_lapsed(request.app.state.session_factory, scope, today=today())
    base = base_url(request)

    def chunks() -> Any:
        yield csv_bytes([list(dashboard.LAPSED_CSV_COLUMNS)])
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(dashboard.lapsed_record(row, base=base))
            if len(batch) == dashboard.BATCH_SIZE:
                yield csv_bytes(batch)
                batch = []
        yield csv_bytes(batch)

    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(scope, "lapsed")}"'})


@router.get("/mobilisation/series.csv")
def series_csv(db: DB, *, mission: MissionSlug = None, area: AreaCode = None,
               by: By = "month", periods: Periods = None) -> Response:
    """The series by month or quarter: each one's amount added and running total."""
    scope = scope_of(db, mission=mission, area=(area or "").strip() or None)
    found = dashboard.over_time(db, scope, today=today(), by=by, count=periods)
    return Response(csv_bytes(dashboard.series_rows(found)),
                    media_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition":
                            f'attachment; filename="{_filename(scope, "mobilisation")}"'})


# The public API ----------------------------------------------------------------------------

api_router = APIRouter(tags=["mobilisation"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses({
        404: "No such published mission, or no such area",
        422: "The input has errors",
    }, *codes)


def _api(request: Request, db: Session, *, mission: str | None, area: str | None, by: str,
         periods: int | None) -> MobilisationOut:
    scope = scope_of(db, mission=mission, area=(area or "").strip() or None)
    found = dashboard.dashboard(db, scope, today=today(), sector_labels=SECTOR_LABELS,
                                by=by, count=periods)
    base = base_url(request).removesuffix("/api/v1")
    query = urlencode({k: v for k, v in (("mission", mission), ("area", area)) if v})
    return mobilisation_out(found, base=base, csv=f"{base}/mobilisation/lapsed.csv"
                                                  + (f"?{query}" if query else ""))


@api_router.get("/mobilisation", response_model=MobilisationOut, responses=_problems(404, 422))
def api_mobilisation(request: Request, db: public_api.DB, *, area: AreaCode = None,
                     by: By = "month", periods: Periods = None) -> MobilisationOut:
    """Every published mission's mobilisation, as on ``/mobilisation``: partners, commitments
    by status, money and hours pledged and delivered, volunteering, the lapsed commitments,
    running totals by month or quarter with the change on the previous period, and the
    breakdowns by area, sector and mission. Public data only; counts, never personal data."""
    return _api(request, db, mission=None, area=area, by=by, periods=periods)


@api_router.get("/missions/{slug}/mobilisation", response_model=MobilisationOut,
                responses=_problems(404, 422))
def api_mission_mobilisation(request: Request, slug: str, db: public_api.DB, *,
                             area: AreaCode = None, by: By = "month",
                             periods: Periods = None) -> MobilisationOut:
    """One published mission's mobilisation (as ``GET /mobilisation``)."""
    return _api(request, db, mission=slug, area=area, by=by, periods=periods)
