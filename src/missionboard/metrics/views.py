"""Metric pages: the public metric page with chart, tables and downloads; editing; upload."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.delivery import charts as delivery_charts
from missionboard.delivery import service as delivery_service
from missionboard.errors import FieldError, ValidationFailed, validate
from missionboard.metrics import charts, service
from missionboard.metrics.importer import import_observations
from missionboard.metrics.models import (
    Frequency,
    Horizon,
    Metric,
    MetricKind,
    Observation,
    Polarity,
    PublicationStatus,
    Target,
)
from missionboard.metrics.schemas import MetricIn, TargetIn
from missionboard.missions import service as missions_service
from missionboard.missions.models import Outcome
from missionboard.web.deps import (
    DB,
    CurrentUser,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)

router = APIRouter(dependencies=[Depends(csrf_protect)])

DOWNLOAD_COLUMNS = ("metric", "area_code", "area_name", "period", "period_start", "period_end",
                    "value", "numerator", "denominator", "lower", "upper", "status",
                    "release_date", "illustrative")


def _row(o: Observation, metric: Metric) -> dict[str, Any]:
    return {
        "metric": metric.slug, "area_code": o.area.code, "area_name": o.area.name,
        "period": o.period_label, "period_start": o.period_start.isoformat(),
        "period_end": o.period_end.isoformat(), "value": o.value, "numerator": o.numerator,
        "denominator": o.denominator, "lower": o.lower, "upper": o.upper,
        "status": o.status.value,
        "release_date": o.release_date.isoformat() if o.release_date else None,
        "illustrative": o.illustrative,
    }


# Public pages ------------------------------------------------------------------------------

@router.get("/metrics", response_class=HTMLResponse)
def metric_list(request: Request, db: DB, user: CurrentUser) -> Response:
    metrics = service.list_metrics(db, include_drafts=access.can_view_drafts(user))
    return render(request, "metrics/list.html", {"metrics": metrics}, user=user)


@router.get("/metrics/{slug}", response_class=HTMLResponse)
def metric_page(
    request: Request, slug: str, db: DB, user: CurrentUser, area: str | None = None
) -> Response:
    drafts = access.can_view_drafts(user)
    metric = service.get_metric(db, slug=slug, include_drafts=drafts)
    areas = service.metric_areas(db, metric_id=metric.id)
    targets = [service.target_view(db, target=t) for t in metric.targets]
    if area is None:
        area = targets[0].target.area.code if targets else (areas[0].code if areas else None)
    selected = next((a for a in areas if a.code == area), None)
    if selected is None and area is not None:
        selected = next((t.target.area for t in targets if t.target.area.code == area), None)
    observations = (service.series(db, metric_id=metric.id, area_id=selected.id)
                    if selected else [])
    area_target = next((t for t in targets if selected and t.target.area_id == selected.id),
                       None)
    mission_ids = service.metric_mission_ids(metric)
    trajectories = {}
    for view in targets:
        projected = delivery_service.trajectory(db, target=view.target)
        actuals = (observations if selected and selected.id == view.target.area_id
                   else service.series(db, metric_id=metric.id, area_id=view.target.area_id))
        trajectories[view.target.id] = {
            "view": projected,
            "fan": delivery_charts.fan_chart(projected, required=view, actuals=actuals),
            "waterfall": delivery_charts.waterfall(projected),
            "rows": _trajectory_rows(projected, view),
        }
    return render(request, "metrics/metric.html", {
        "trajectories": trajectories,
        "metric": metric,
        "missions": service.public_missions(metric, include_drafts=drafts),
        "areas": areas, "area": selected, "observations": observations,
        "targets": targets, "area_target": area_target,
        "breakdown": service.latest_by_area(db, metric_id=metric.id),
        "illustrative": any(o.illustrative for o in observations),
        "chart_spec": charts.actuals_and_path(metric=metric, observations=observations,
                                         target=area_target),
        "changes": missions_service.list_changes(db, metric_id=metric.id),
        "change_titles": delivery_service.change_titles(db, metric_id=metric.id),
        "can_edit": access.can_edit_metric(user, mission_ids),
        "can_publish_data": access.can_publish_data(user, metric.id, mission_ids),
    }, user=user)


def _trajectory_rows(projected: delivery_service.TrajectoryView,
                     required: service.TargetView) -> list[dict[str, Any]]:
    """The fan chart's table: every sixth month and the deadline."""
    p = projected.projection
    last = len(projected.months) - 1
    rows = []
    for t, month in enumerate(projected.months):
        if t % 6 and t != last:
            continue
        rows.append({"month": month, "required": required.path.value_at(month),
                     **{f"p{round(q * 100)}": float(p.quantile(q)[t])
                        for q in (0.1, 0.25, 0.5, 0.75, 0.9)}})
    return rows


def _download_rows(db: DB, metric: Metric, area: str | None) -> list[dict[str, Any]]:
    query = service.ObservationQuery(area_code=area, limit=10_000_000)
    observations, _ = service.query_observations(db, metric=metric, query=query)
    return [_row(o, metric) for o in observations]


@router.get("/metrics/{slug}/data.csv")
def download_csv(
    slug: str, db: DB, user: CurrentUser, area: str | None = None
) -> Response:
    metric = service.get_metric(db, slug=slug, include_drafts=access.can_view_drafts(user))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DOWNLOAD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _download_rows(db, metric, area):
        writer.writerow(row)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{metric.slug}.csv"'})


@router.get("/metrics/{slug}/data.json")
def download_json(
    slug: str, db: DB, user: CurrentUser, area: str | None = None
) -> Response:
    metric = service.get_metric(db, slug=slug, include_drafts=access.can_view_drafts(user))
    body = {
        "metric": {"slug": metric.slug, "title": metric.title, "unit": metric.unit,
                   "definition": metric.definition, "source": metric.source,
                   "licence": metric.licence},
        "observations": _download_rows(db, metric, area),
    }
    return Response(json.dumps(body, indent=1), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{metric.slug}.json"'})


# Editing -----------------------------------------------------------------------------------

def _all_outcomes(db: DB, user: User) -> list[Outcome]:
    missions = missions_service.list_missions(db, include_drafts=True)
    return [o for m in missions if access.can_edit_mission(user, m.id) for o in m.outcomes]


def _metric_form(request: Request, db: DB, user: User, *, metric: Metric | None,
                 values: dict[str, Any], outcome_ids: set[int],
                 errors: list[FieldError] | None = None) -> Response:
    ctx: dict[str, Any] = {
        "metric": metric, "values": values, "outcomes": _all_outcomes(db, user),
        "outcome_ids": outcome_ids, "kinds": list(MetricKind), "polarities": list(Polarity),
        "frequencies": list(Frequency),
    }
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "metrics/metric_form.html", ctx, status_code=422 if errors else 200,
                  user=user)


async def _metric_values(request: Request) -> tuple[dict[str, Any], set[int]]:
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items()
                              if k not in {"csrf_token", "outcomes"} and isinstance(v, str)}
    for key in ("rate_per", "source_url"):
        if not values.get(key):
            values[key] = None
    ids = {int(v) for v in form.getlist("outcomes") if isinstance(v, str) and v.isdigit()}
    return values, ids


@router.get("/manage/metrics/new", response_class=HTMLResponse)
def new_metric_form(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    outcomes = _all_outcomes(db, user)
    access.require(bool(outcomes), "create metrics (you edit no mission)")
    return _metric_form(request, db, user, metric=None, values={}, outcome_ids=set())


@router.post("/manage/metrics/new", response_class=HTMLResponse)
async def create_metric(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    values, ids = await _metric_values(request)
    allowed = {o.id: o for o in _all_outcomes(db, user)}
    access.require(bool(allowed), "create metrics (you edit no mission)")
    errors: list[FieldError] = []
    if not ids:
        errors.append(FieldError("outcomes", "Choose at least one outcome the metric measures"))
    elif not ids <= allowed.keys():
        errors.append(FieldError("outcomes", "You can link a metric only to your missions"))
    try:
        data = validate(MetricIn, values)
    except ValidationFailed as exc:
        errors = exc.errors + errors
    if errors:
        return _metric_form(request, db, user, metric=None, values=values, outcome_ids=ids,
                            errors=errors)
    try:
        metric = service.create_metric(db, data=data, outcomes=[allowed[i] for i in ids])
    except ValidationFailed as exc:
        return _metric_form(request, db, user, metric=None, values=values, outcome_ids=ids,
                            errors=exc.errors)
    flash(request, f"Metric ‘{metric.title}’ created as a draft.")
    return RedirectResponse(f"/metrics/{metric.slug}", status_code=303)


def _editable_metric(db: DB, user: User | None, slug: str) -> tuple[User, Metric]:
    user = access.require_user(user)
    metric = service.get_metric(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_metric(user, service.metric_mission_ids(metric)),
                   "edit this metric")
    return user, metric


def _metric_values_of(metric: Metric) -> dict[str, Any]:
    keys = MetricIn.model_fields.keys()
    return {k: getattr(getattr(metric, k), "value", getattr(metric, k)) for k in keys}


@router.get("/manage/metrics/{slug}/edit", response_class=HTMLResponse)
def edit_metric_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, metric = _editable_metric(db, user, slug)
    return _metric_form(request, db, user, metric=metric, values=_metric_values_of(metric),
                        outcome_ids={o.id for o in metric.outcomes})


@router.post("/manage/metrics/{slug}/edit", response_class=HTMLResponse)
async def edit_metric(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, metric = _editable_metric(db, user, slug)
    values, ids = await _metric_values(request)
    values["slug"] = metric.slug
    allowed = {o.id: o for o in _all_outcomes(db, user)}
    # Links to outcomes of missions this user does not edit are kept as they are.
    outcomes = [o for o in metric.outcomes if o.id not in allowed]
    outcomes += [allowed[i] for i in sorted(ids) if i in allowed]
    try:
        if not outcomes:
            raise ValidationFailed([FieldError("outcomes", "Choose at least one outcome the "
                                                           "metric measures")])
        service.update_metric(db, metric=metric, data=validate(MetricIn, values), actor=user,
                              reason=values.get("reason"))
    except ValidationFailed as exc:
        return _metric_form(request, db, user, metric=metric, values=values,
                            outcome_ids=ids, errors=exc.errors)
    service.set_metric_outcomes(db, metric=metric, outcomes=outcomes)
    flash(request, "Metric updated.")
    return RedirectResponse(f"/metrics/{metric.slug}", status_code=303)


@router.post("/manage/metrics/{slug}/status", response_class=HTMLResponse)
async def metric_status(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, metric = _editable_metric(db, user, slug)
    values = await form_values(request)
    try:
        status = PublicationStatus(values.get("status", ""))
    except ValueError:
        raise ValidationFailed([FieldError("status", "Choose draft or published")]) from None
    try:
        service.set_metric_status(db, metric=metric, status=status, actor=user,
                                  reason=values.get("reason"))
    except ValidationFailed as exc:
        return _metric_form(request, db, user, metric=metric, values=_metric_values_of(metric),
                            outcome_ids={o.id for o in metric.outcomes}, errors=exc.errors)
    flash(request, f"Metric {status.value}.")
    return RedirectResponse(f"/metrics/{metric.slug}", status_code=303)


def _target_values_of(target: Target) -> dict[str, Any]:
    values: dict[str, Any] = {
        "area_code": target.area.code, "title": target.title,
        "baseline_value": f"{target.baseline_value:g}", "baseline_period": target.baseline_label,
        "target_value": f"{target.target_value:g}", "deadline": target.deadline.isoformat(),
        "horizon": target.horizon.value, "shape": target.shape.value,
        "rationale": target.rationale,
        "milestones": "\n".join(f"{m.due.isoformat()}, {m.value:g}" for m in target.milestones),
        "counterfactual": target.counterfactual.value,
        "counterfactual_slope_per_year": (
            "" if target.counterfactual_slope_per_year is None
            else f"{target.counterfactual_slope_per_year:g}"),
    }
    return values


def _parse_target(values: dict[str, Any]) -> TargetIn:
    """The milestones box holds one ``YYYY-MM-DD, value`` pair per line."""
    milestones = []
    errors = []
    for number, line in enumerate(str(values.get("milestones", "")).splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            due = dt.date.fromisoformat(parts[0])
            value = float(parts[1])
        except (ValueError, IndexError):
            errors.append(FieldError("milestones", f"Milestone line {number} must be a date "
                                                   "and a value, like 2027-03-31, 75"))
            continue
        milestones.append({"due": due, "value": value})
    data = {k: v for k, v in values.items() if k != "milestones"}
    data["milestones"] = milestones
    if not data.get("counterfactual_slope_per_year"):
        data["counterfactual_slope_per_year"] = None
    try:
        parsed = validate(TargetIn, data)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.errors + errors) from None
    if errors:
        raise ValidationFailed(errors)
    return parsed


def _target_form(request: Request, db: DB, user: User, *, metric: Metric,
                 target: Target | None, values: dict[str, Any],
                 errors: list[FieldError] | None = None) -> Response:
    ctx: dict[str, Any] = {"metric": metric, "target": target, "values": values,
                           "areas": service.list_areas(db), "horizons": list(Horizon)}
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "metrics/target_form.html", ctx, status_code=422 if errors else 200,
                  user=user)


@router.get("/manage/metrics/{slug}/targets/new", response_class=HTMLResponse)
def new_target_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, metric = _editable_metric(db, user, slug)
    return _target_form(request, db, user, metric=metric, target=None,
                        values={"horizon": "short", "shape": "linear",
                                "counterfactual": "flat"})


@router.post("/manage/metrics/{slug}/targets/new", response_class=HTMLResponse)
async def create_target(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, metric = _editable_metric(db, user, slug)
    values = await form_values(request)
    try:
        service.create_target(db, metric=metric, data=_parse_target(values))
    except ValidationFailed as exc:
        return _target_form(request, db, user, metric=metric, target=None, values=values,
                            errors=exc.errors)
    flash(request, "Target added.")
    return RedirectResponse(f"/metrics/{metric.slug}", status_code=303)


@router.get("/manage/metrics/{slug}/targets/{target_id}/edit", response_class=HTMLResponse)
def edit_target_form(
    request: Request, slug: str, target_id: int, db: DB, user: CurrentUser
) -> Response:
    user, metric = _editable_metric(db, user, slug)
    target = service.get_target(db, metric=metric, target_id=target_id)
    return _target_form(request, db, user, metric=metric, target=target,
                        values=_target_values_of(target))


@router.post("/manage/metrics/{slug}/targets/{target_id}/edit", response_class=HTMLResponse)
async def edit_target(
    request: Request, slug: str, target_id: int, db: DB, user: CurrentUser
) -> Response:
    user, metric = _editable_metric(db, user, slug)
    target = service.get_target(db, metric=metric, target_id=target_id)
    values = await form_values(request)
    try:
        service.update_target(db, target=target, data=_parse_target(values), actor=user,
                              reason=values.get("reason"))
    except ValidationFailed as exc:
        return _target_form(request, db, user, metric=metric, target=target, values=values,
                            errors=exc.errors)
    flash(request, "Target updated.")
    return RedirectResponse(f"/metrics/{metric.slug}#targets", status_code=303)


# Upload ------------------------------------------------------------------------------------

def publishable_metric_ids(db: DB, user: User) -> set[int]:
    return {
        m.id for m in service.list_metrics(db, include_drafts=True)
        if access.can_publish_data(user, m.id, service.metric_mission_ids(m))
    }


@router.get("/manage/upload", response_class=HTMLResponse)
def upload_form(request: Request, user: CurrentUser) -> Response:
    user = access.require_user(user)
    return render(request, "metrics/upload.html", {}, user=user)


@router.post("/manage/upload", response_class=HTMLResponse)
async def upload(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    form = await request.form()
    upload_file = form.get("file")
    errors: list[FieldError] = []
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        errors.append(FieldError("file", "Select a CSV or Parquet file"))
    else:
        suffix = Path(upload_file.filename).suffix.lower()
        if suffix not in {".csv", ".parquet"}:
            errors.append(FieldError("file", "The file must be a CSV or Parquet file"))
    if errors or not isinstance(upload_file, UploadFile):
        return render(request, "metrics/upload.html", form_errors(errors), status_code=422,
                      user=user)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(await upload_file.read())
        try:
            result = import_observations(
                db, path=path, source="upload", user_id=user.id,
                filename=upload_file.filename, allowed_metric_ids=publishable_metric_ids(db, user),
            )
        except ValidationFailed as exc:
            db.rollback()
            shown = [FieldError("file", _describe(e)) for e in exc.errors]
            return render(request, "metrics/upload.html",
                          {**form_errors(shown), "error_count": len(exc.errors)},
                          status_code=422, user=user)
    flash(request, f"Imported {result.rows:,} rows: {result.inserted:,} new, "
                   f"{result.revised:,} revised, {result.unchanged:,} unchanged.")
    return RedirectResponse("/manage/upload", status_code=303)


def _describe(error: FieldError) -> str:
    where = f"Row {error.row}, column ‘{error.field}’" if error.row else f"‘{error.field}’"
    return f"{where}: {error.message}"
