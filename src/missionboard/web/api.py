"""The public, versioned JSON API, mounted at ``/api/v1`` (apart from the page endpoints).

Anyone may read what is published. A bearer token (``Authorization: Bearer <token>``) whose
user may see drafts sees drafts too (each mission and metric carries its ``status``); a token
is needed to load observations. Every failure is an ``application/problem+json`` response.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from missionboard.accounts import access
from missionboard.accounts import service as accounts_service
from missionboard.accounts.models import User
from missionboard.config import Settings
from missionboard.db.session import unit_of_work
from missionboard.delivery import service as delivery_service
from missionboard.delivery.schemas import TrajectoryOut
from missionboard.errors import (
    DomainError,
    FieldError,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from missionboard.metrics import service as metrics_service
from missionboard.metrics.importer import import_records
from missionboard.metrics.models import Metric, Observation
from missionboard.metrics.schemas import (
    AreaOut,
    MetricOut,
    ObservationOut,
    Page,
    PathPointOut,
    RevisionOut,
    TargetOut,
)
from missionboard.missions import service as missions_service
from missionboard.missions.models import ChangeRecord, Mission, MissionStatus, Outcome
from missionboard.missions.schemas import (
    BoardMemberOut,
    ChangeOut,
    ContributionOut,
    MissionOut,
    OutcomeOut,
)
from missionboard.stocktakes import service as stocktakes_service
from missionboard.stocktakes.schemas import (
    ChallengeList,
    ChallengeOut,
    JudgementOut,
    PackOut,
    StocktakeList,
    StocktakeOut,
)
from missionboard.web.app import problem
from missionboard.web.deps import client_ip

#: The most observation records one ``POST /observations`` may carry.
MAX_RECORDS = 100_000
#: Offsets beyond this are refused (the databases' integer limits are not far off).
MAX_OFFSET = 2**31 - 1


class TooManyRecords(DomainError):
    status_code = 413
    title = "Too many records"


# Schemas -----------------------------------------------------------------------------------

class Problem(BaseModel):
    """An error (RFC 9457 problem details); ``errors`` lists what was wrong with the input."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str | int]] | None = Field(
        default=None, description="For invalid input: each problem's field, message and, "
                                  "for observation records, the record's row (from 1)")


class MissionSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    ambition: str
    horizon_year: int
    status: MissionStatus
    published_at: dt.datetime | None


class MissionList(BaseModel):
    items: list[MissionSummaryOut]


class OutcomeList(BaseModel):
    items: list[OutcomeOut]


class MetricDetailOut(MetricOut):
    """A metric. ``outcomes`` are ``mission-slug/outcome-slug``; ``missions`` are slugs."""

    missions: list[str] = []


class MetricList(BaseModel):
    items: list[MetricDetailOut]


class ObservationPage(Page):
    items: list[ObservationOut]
    next: str | None = Field(description="The address of the next page, or null on the last")


class ObservationParams(BaseModel):
    """The filters and page of ``GET /metrics/{slug}/observations``."""

    area: str | None = Field(default=None, description="Only this area (its code)")
    period_from: dt.date | None = Field(
        default=None, description="Only periods ending on or after this day")
    period_to: dt.date | None = Field(
        default=None, description="Only periods starting on or before this day")
    limit: int | None = Field(
        default=None, ge=1, description="Page size, at most the server's page_size_max "
                                         "(1000 unless configured); by default its "
                                         "page_size_default (100 unless configured)")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class TargetList(BaseModel):
    items: list[TargetOut]


class ChangeItemOut(ChangeOut):
    """A change to something published: what, when, who (``author_name``) and why."""

    mission: str | None = Field(description="The mission's slug, for a change to a mission")
    metric: str | None = Field(description="The metric's slug, for a change to a metric "
                                           "or one of its targets")


class ChangeList(BaseModel):
    items: list[ChangeItemOut]


class AreaList(BaseModel):
    items: list[AreaOut]


class ObservationsIn(BaseModel):
    observations: list[dict[str, Any]] = Field(
        description=(
            f"At most {MAX_RECORDS:,} records. Keys: metric (slug), area_code, period "
            "(2024, 2024-Q3, 2024-07, 2025-03-31, 2024-25, AY2023-24 or "
            "2024-01-01/2024-06-30), value; optionally numerator, denominator, lower, upper "
            "and status (provisional, final or revised)."),
        examples=[[{"metric": "infant-mortality", "area_code": "E92000001",
                    "period": "2024-Q3", "value": 3.9, "lower": 3.6, "upper": 4.2,
                    "status": "provisional"}]],
    )


class ImportOut(BaseModel):
    """What the load did: ``rows == inserted + revised + unchanged``."""

    batch_id: int
    rows: int
    inserted: int
    revised: int
    unchanged: int


# Dependencies ------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False, scheme_name="APIToken",
    description="An API token, made on the ‘API tokens’ page when signed in. Optional for "
                "reading; needed to load data.",
)


def _reject_nul(request: Request) -> None:
    """The databases cannot hold NUL characters: refuse them in the address, not with a 500."""
    if "\x00" in request.url.path or any("\x00" in v for v in request.query_params.values()):
        raise DomainError("The address contains a NUL character")


def _db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed before the response, rolled back on error."""
    with unit_of_work(request.app.state.session_factory, ip=client_ip(request)) as session:
        yield session


DB = Annotated[Session, Depends(_db, scope="function")]


def _caller(
    request: Request, db: DB,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The token's user, or None for an anonymous caller; a bad token is refused."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise NotAuthenticated("Send the API token as ‘Authorization: Bearer <token>’")
        return None
    user = accounts_service.user_for_token(db, secret=credentials.credentials)
    if user is None:
        raise NotAuthenticated("The API token is not valid: it is unknown or was revoked")
    db.info["actor_id"] = user.id
    return user


Caller = Annotated[User | None, Depends(_caller)]


def _token_user(caller: Caller) -> User:
    if caller is None:
        raise NotAuthenticated("Send an API token as ‘Authorization: Bearer <token>’")
    return caller


TokenUser = Annotated[User, Depends(_token_user)]


def problem_responses(descriptions: Mapping[int, str], *codes: int
                      ) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes``: each a problem+json body with its description."""
    schema = Problem.model_json_schema()
    return {code: {"description": descriptions[code],
                   "content": {"application/problem+json": {"schema": schema}}}
            for code in codes}


def json_response(body: BaseModel, *, status_code: int = 200) -> Response:
    """``body`` as the JSON response of a synchronous endpoint, serialised here (the route's
    ``response_model`` still documents it).

    Given the model itself, FastAPI validates it once more against the response model in a
    worker thread of its own while the request's session still holds its pooled connection:
    under load, requests holding every pooled connection then wait for worker threads held
    by requests waiting for a connection, and the worker stops (``docs/benchmarks.md``,
    "Mobilisation register at scale"). Serialising here also skips that second validation.
    """
    return Response(body.model_dump_json(), status_code=status_code,
                    media_type="application/json")


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses({
        401: "The API token is missing, unknown or revoked",
        403: "The token's user may not do this",
        404: "Not found (or not published)",
        413: f"More than {MAX_RECORDS:,} records",
        422: "The input has errors",
    }, *codes)


router = APIRouter(dependencies=[Depends(_reject_nul)], responses=_problems(401, 422))


# Shaping -----------------------------------------------------------------------------------

def _visible_missions(db: Session, *, drafts: bool) -> dict[int, Mission]:
    return {m.id: m for m in missions_service.list_missions(db, include_drafts=drafts)}


def _metric_out(metric: Metric, missions: Mapping[int, Mission]) -> MetricDetailOut:
    outcomes = [o for o in metric.outcomes if o.mission_id in missions]
    fields = {name: getattr(metric, name) for name in MetricOut.model_fields
              if name != "outcomes"}
    mission_slugs = sorted({missions[o.mission_id].slug for o in outcomes})
    return MetricDetailOut(
        **fields,
        outcomes=[f"{missions[o.mission_id].slug}/{o.slug}" for o in outcomes],
        missions=mission_slugs,
    )


def _outcome_out(outcome: Outcome, *, drafts: bool) -> OutcomeOut:
    return OutcomeOut(
        slug=outcome.slug, title=outcome.title, description=outcome.description,
        metrics=[m.slug for m in outcome.metrics if drafts or m.is_published],
    )


def _observation_out(o: Observation, metric: Metric) -> ObservationOut:
    return ObservationOut(
        metric=metric.slug, area_code=o.area.code, area_name=o.area.name,
        period=o.period_label, period_start=o.period_start, period_end=o.period_end,
        value=o.value, numerator=o.numerator, denominator=o.denominator, lower=o.lower,
        upper=o.upper, status=o.status, release_date=o.release_date,
        illustrative=o.illustrative,
        revisions=[RevisionOut.model_validate(r) for r in o.revisions],
    )


def _target_out(view: metrics_service.TargetView, metric: Metric) -> TargetOut:
    target, assessment, latest = view.target, view.assessment, view.latest
    return TargetOut(
        id=target.id, metric=metric.slug, area_code=target.area.code, title=target.title,
        baseline_value=target.baseline_value, baseline_period=target.baseline_label,
        target_value=target.target_value, deadline=target.deadline, horizon=target.horizon,
        shape=target.shape, rationale=target.rationale,
        milestones=[PathPointOut(date=m.due, value=m.value) for m in target.milestones],
        required_path=[PathPointOut(date=d, value=v)
                       for d, v in zip(view.path.dates, view.path.values, strict=True)],
        status=assessment.status, status_reason=assessment.reason,
        latest_value=latest.value if latest else None,
        latest_period=latest.period_label if latest else None,
        required_at_latest=assessment.required_value,
    )


def _change_out(
    record: ChangeRecord, missions: Mapping[int, Mission], metrics: Mapping[int, Metric]
) -> ChangeItemOut | None:
    """The record as shown, or None when it concerns something the caller may not see."""
    if record.mission_id is not None and record.mission_id not in missions:
        return None
    if record.metric_id is not None and record.metric_id not in metrics:
        return None
    return ChangeItemOut(
        at=record.at, entity_type=record.entity_type, entity_id=record.entity_id,
        author_name=record.author_name, reason=record.reason, fields=record.fields,
        mission=missions[record.mission_id].slug if record.mission_id is not None else None,
        metric=metrics[record.metric_id].slug if record.metric_id is not None else None,
    )


def _limit(settings: Settings, limit: int | None) -> int:
    if limit is None:
        return min(settings.page_size_default, settings.page_size_max)
    if limit > settings.page_size_max:
        raise RequestValidationError([{
            "type": "less_than_equal", "loc": ("query", "limit"),
            "msg": f"Input should be less than or equal to {settings.page_size_max}",
            "input": limit, "ctx": {"le": settings.page_size_max},
        }])
    return limit


def _refuse_nul(records: Iterable[Mapping[str, object]]) -> None:
    """PostgreSQL cannot store NUL characters: report them as input errors, by row."""
    errors = [
        FieldError(key, "The text contains a NUL character", row=row)
        for row, rec in enumerate(records, start=1)
        for key, value in rec.items()
        if "\x00" in key or (isinstance(value, str) and "\x00" in value)
    ]
    if errors:
        raise ValidationFailed(errors)


def _publishable(db: Session, user: User) -> set[int]:
    """The ids of the metrics (drafts too) whose data ``user`` may load."""
    return {
        metric.id for metric in metrics_service.list_metrics(db, include_drafts=True)
        if access.can_publish_data(user, metric.id, metrics_service.metric_mission_ids(metric))
    }


# Missions ----------------------------------------------------------------------------------

@router.get("/missions", response_model=MissionList, tags=["missions"])
def list_missions(db: DB, caller: Caller) -> MissionList:
    """The missions, in their set order (drafts only for a token that may see them)."""
    missions = missions_service.list_missions(db, include_drafts=access.can_view_drafts(caller))
    return MissionList(items=[MissionSummaryOut.model_validate(m) for m in missions])


@router.get("/missions/{slug}", response_model=MissionOut, tags=["missions"],
            responses=_problems(404))
def get_mission(slug: str, db: DB, caller: Caller) -> MissionOut:
    """A mission with its outcomes (and their metrics), board and organisations."""
    drafts = access.can_view_drafts(caller)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=drafts)
    return MissionOut(
        slug=mission.slug, title=mission.title, ambition=mission.ambition,
        horizon_year=mission.horizon_year, status=mission.status,
        published_at=mission.published_at,
        outcomes=[_outcome_out(o, drafts=drafts) for o in mission.outcomes],
        board=[BoardMemberOut.model_validate(m) for m in mission.board_members],
        organisations=[ContributionOut.model_validate(c) for c in mission.organisations],
    )


@router.get("/missions/{slug}/outcomes", response_model=OutcomeList, tags=["missions"],
            responses=_problems(404))
def list_outcomes(slug: str, db: DB, caller: Caller) -> OutcomeList:
    drafts = access.can_view_drafts(caller)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=drafts)
    return OutcomeList(items=[_outcome_out(o, drafts=drafts) for o in mission.outcomes])


# Metrics -----------------------------------------------------------------------------------

@router.get("/metrics", response_model=MetricList, tags=["metrics"], responses=_problems(404))
def list_metrics(
    db: DB, caller: Caller,
    mission: Annotated[str | None, Query(description="Only this mission's metrics (slug)")]
    = None,
) -> MetricList:
    drafts = access.can_view_drafts(caller)
    missions = _visible_missions(db, drafts=drafts)
    metrics: Iterable[Metric] = metrics_service.list_metrics(db, include_drafts=drafts)
    if mission is not None:
        wanted = missions_service.get_mission(db, slug=mission, include_drafts=drafts)
        metrics = [m for m in metrics if any(o.mission_id == wanted.id for o in m.outcomes)]
    return MetricList(items=[_metric_out(m, missions) for m in metrics])


@router.get("/metrics/{slug}", response_model=MetricDetailOut, tags=["metrics"],
            responses=_problems(404))
def get_metric(slug: str, db: DB, caller: Caller) -> MetricDetailOut:
    drafts = access.can_view_drafts(caller)
    metric = metrics_service.get_metric(db, slug=slug, include_drafts=drafts)
    return _metric_out(metric, _visible_missions(db, drafts=drafts))


@router.get("/metrics/{slug}/observations", response_model=ObservationPage, tags=["metrics"],
            responses=_problems(404))
def list_observations(
    request: Request, slug: str, db: DB, caller: Caller,
    params: Annotated[ObservationParams, Query()],
) -> ObservationPage:
    """A metric's observations, oldest period first, each with its kept earlier values."""
    size = _limit(request.app.state.settings, params.limit)
    drafts = access.can_view_drafts(caller)
    metric = metrics_service.get_metric(db, slug=slug, include_drafts=drafts)
    query = metrics_service.ObservationQuery(
        area_code=params.area, period_from=params.period_from, period_to=params.period_to,
        limit=size, offset=params.offset)
    rows, total = metrics_service.query_observations(db, metric=metric, query=query)
    following = params.offset + size
    return ObservationPage(
        items=[_observation_out(o, metric) for o in rows], total=total, limit=size,
        offset=params.offset,
        next=(str(request.url.include_query_params(limit=size, offset=following))
              if following < total else None),
    )


@router.get("/metrics/{slug}/targets", response_model=TargetList, tags=["metrics"],
            responses=_problems(404))
def list_targets(slug: str, db: DB, caller: Caller) -> TargetList:
    """Each target with its required path, the latest actual and whether it is on track."""
    drafts = access.can_view_drafts(caller)
    metric = metrics_service.get_metric(db, slug=slug, include_drafts=drafts)
    views = [metrics_service.target_view(db, target=t) for t in metric.targets]
    return TargetList(items=[_target_out(v, metric) for v in views])


@router.get("/metrics/{slug}/trajectories", response_model=list[TrajectoryOut],
            tags=["metrics"], responses=_problems(404))
def list_trajectories(
    slug: str, db: DB, caller: Caller,
    draws: Annotated[int, Query(ge=100, le=100_000, description="Monte Carlo draws")] = 10_000,
    seed: Annotated[int | None, Query(ge=0, description="Default: the target's id")] = None,
) -> list[TrajectoryOut]:
    """Each target's projection: fan chart (10/25/50/75/90%), the chance of meeting it, the
    expected gap, the additional effect needed for an 80% chance, and each intervention's
    contribution and sensitivity."""
    drafts = access.can_view_drafts(caller)
    metric = metrics_service.get_metric(db, slug=slug, include_drafts=drafts)
    return [delivery_service.trajectory_out(
        delivery_service.trajectory(db, target=t, draws=draws, seed=seed))
        for t in metric.targets]


# Stocktakes and challenges -----------------------------------------------------------------

def _board_mission(db: Session, caller: User | None, slug: str) -> tuple[Mission, bool]:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(caller))
    return mission, stocktakes_service.can_see_board_papers(caller, mission)


@router.get("/missions/{slug}/stocktakes", response_model=StocktakeList, tags=["stocktakes"],
            responses=_problems(404))
def list_stocktakes(slug: str, db: DB, caller: Caller) -> StocktakeList:
    """The mission's stocktakes, latest first: those with a published pack, or every one for
    a token of the board. Judgements are included where the mission publishes them."""
    mission, board = _board_mission(db, caller, slug)
    judged = board or mission.judgements_public
    return StocktakeList(items=[
        StocktakeOut(id=s.id, title=s.title, meeting_on=s.meeting_on, as_of=s.as_of,
                     issued_at=s.issued_at, pack_sha256=s.pack_sha256,
                     pack_published=s.pack_published_at is not None,
                     judgement=JudgementOut.model_validate(s.judgement)
                     if judged and s.judgement else None)
        for s in stocktakes_service.list_stocktakes(db, mission=mission)
        if board or s.pack_published_at is not None])


@router.get("/missions/{slug}/stocktakes/{stocktake_id}/pack", response_model=PackOut,
            tags=["stocktakes"], responses=_problems(404))
def get_pack(slug: str, stocktake_id: int, db: DB, caller: Caller) -> PackOut:
    """The pack as issued (frozen; check it against ``sha256``), or a draft for the board."""
    mission, board = _board_mission(db, caller, slug)
    stocktake = stocktakes_service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    if not board and stocktake.pack_published_at is None:
        raise NotFound(f"no stocktake {stocktake_id} for mission {slug!r}")
    return PackOut(stocktake_id=stocktake.id, issued=stocktake.is_issued,
                   sha256=stocktake.pack_sha256,
                   pack=stocktakes_service.pack_of(db, stocktake))


@router.get("/missions/{slug}/challenges", response_model=ChallengeList, tags=["stocktakes"],
            responses=_problems(404))
def list_challenges(slug: str, db: DB, caller: Caller) -> ChallengeList:
    """External challenges and their answers: published ones, or every one for the board."""
    mission, board = _board_mission(db, caller, slug)
    return ChallengeList(items=[ChallengeOut.model_validate(c) for c in
                                stocktakes_service.list_challenges(
                                    db, mission=mission, published_only=not board)])


# The change record, areas ------------------------------------------------------------------

@router.get("/changes", response_model=ChangeList, tags=["changes"], responses=_problems(404))
def list_changes(
    db: DB, caller: Caller,
    mission: Annotated[str | None, Query(description="Only changes to this mission (slug)")]
    = None,
    metric: Annotated[str | None, Query(
        description="Only changes to this metric and its targets (slug)")] = None,
) -> ChangeList:
    """Changes to published missions, metrics and targets, newest first (the latest 500)."""
    drafts = access.can_view_drafts(caller)
    mission_id = (missions_service.get_mission(db, slug=mission, include_drafts=drafts).id
                  if mission is not None else None)
    metric_id = (metrics_service.get_metric(db, slug=metric, include_drafts=drafts).id
                 if metric is not None else None)
    records = missions_service.list_changes(db, mission_id=mission_id, metric_id=metric_id)
    missions = _visible_missions(db, drafts=drafts)
    metrics = {m.id: m for m in metrics_service.list_metrics(db, include_drafts=drafts)}
    shown = (_change_out(r, missions, metrics) for r in records)
    return ChangeList(items=[c for c in shown if c is not None])


@router.get("/areas", response_model=AreaList, tags=["areas"])
def list_areas(db: DB, caller: Caller) -> AreaList:
    return AreaList(items=[AreaOut.model_validate(a) for a in metrics_service.list_areas(db)])


# Loading data ------------------------------------------------------------------------------

@router.post("/observations", response_model=ImportOut, tags=["metrics"],
             responses=_problems(403, 413))
def post_observations(body: ObservationsIn, db: DB, user: TokenUser) -> ImportOut:
    """Load observations, all or nothing.

    New (metric, area, period) keys are inserted; a changed value revises the observation and
    keeps the old one; an identical one is left alone. Any invalid record, or one for a metric
    the token's user may not publish, fails the whole load with a 422 listing every problem
    by row (from 1) and field. A user who may publish no metric at all gets a 403.
    """
    if len(body.observations) > MAX_RECORDS:
        raise TooManyRecords(f"Send at most {MAX_RECORDS:,} records at a time; this request "
                             f"has {len(body.observations):,}")
    allowed = _publishable(db, user)
    access.require(bool(allowed), "load data for any metric")
    _refuse_nul(body.observations)
    result = import_records(db, records=body.observations, source="api", user_id=user.id,
                            allowed_metric_ids=allowed)
    return ImportOut(**dataclasses.asdict(result))


# The application ---------------------------------------------------------------------------

def _validation_errors(exc: RequestValidationError) -> list[dict[str, str | int]]:
    """Each error's field (its location, joined by dots) and message; records get a row."""
    errors: list[dict[str, str | int]] = []
    for error in exc.errors():
        loc = list(error["loc"])
        out: dict[str, str | int] = {}
        if loc[:2] == ["body", "observations"] and len(loc) > 2 and isinstance(loc[2], int):
            out["row"] = loc[2] + 1
        out["field"] = ".".join(str(part) for part in loc)
        out["message"] = error["msg"]
        errors.append(out)
    return errors


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationFailed):
            extra["errors"] = [e.as_dict() for e in exc.errors]
        response = problem(exc.status_code, exc.title, exc.detail, **extra)
        if isinstance(exc, NotAuthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        return problem(422, "The request is not valid", f"{len(errors)} error(s)",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"),
                           str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        return problem(500, "Internal server error", "Try again later.")


def create_api(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    """The public API as its own application, to be mounted at ``/api/v1``."""
    from missionboard.councils.views import api_router as councils_router
    from missionboard.deliberation.api import router as deliberation_router
    from missionboard.partners.api import api_router as partners_router
    from missionboard.partners.dashboard_views import api_router as mobilisation_router
    from missionboard.trials.adoption_views import api_router as adoption_router
    from missionboard.trials.views import api_router as trials_router
    from missionboard.volunteering.views import api_router as volunteering_router

    app = FastAPI(
        title="Missionboard API", version="1", openapi_url="/openapi.json", docs_url="/docs",
        redoc_url=None,
        description="Missions, metrics, observations, targets, trajectories, the public "
                    "change record, stocktakes (packs and judgements), external challenge "
                    "and citizen conversations (anyone may vote in an open one). "
                    "Reading needs no token; drafts and board papers need a token whose user "
                    "may see them; loading data needs a token whose user may publish it. "
                    "Errors are application/problem+json.",
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    _install_problem_handlers(app)
    app.include_router(deliberation_router)  # first: votes are the busiest route
    app.include_router(router)
    app.include_router(trials_router)
    app.include_router(adoption_router)
    app.include_router(councils_router)
    app.include_router(volunteering_router)
    app.include_router(partners_router)
    app.include_router(mobilisation_router)
    return app
