"""Pages for comparing frontline units: the funnel plot with who is doing better than
expected, a unit's page (spine chart, SPC charts, practice notes) and the notes' search."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.benchmarking import charts, compare, service
from missionboard.benchmarking.models import PeerGroup, PeerKind, Unit, UnitKind, UnitMetric
from missionboard.benchmarking.schemas import PeerGroupIn, PracticeNoteIn
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.metrics import service as metrics_service
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


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _unit_metric(db: DB, user: CurrentUser, slug: str) -> UnitMetric:
    metric = metrics_service.get_metric(db, slug=slug,
                                        include_drafts=access.can_view_drafts(user))
    return service.get_unit_metric(db, metric=metric)


@router.get("/units", response_class=HTMLResponse)
def index(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "benchmarking/index.html", {
        "unit_metrics": service.list_unit_metrics(
            db, include_drafts=access.can_view_drafts(user)),
        "notes": service.search_practice_notes(db, limit=5),
    }, user=user)


@dataclass(frozen=True)
class _Chosen:
    """A comparison as the query string chose it: metric, peer group, period."""

    unit_metric: UnitMetric
    groups: list[PeerGroup]
    group: PeerGroup | None
    reference: Unit | None
    comparison: compare.Comparison
    names: dict[str, str]


def _chosen(request: Request, db: DB, user: CurrentUser, slug: str, *, peers: str,
            period: str, around: str) -> _Chosen:
    unit_metric = _unit_metric(db, user, slug)
    groups = service.list_peer_groups(db)
    group = next((g for g in groups if g.slug == peers), None)
    reference = service.get_unit(db, code=around) if around else None
    codes = service.peers(db, group=group, unit=reference) if group else None
    try:
        found = compare.compare(unit_metric, data_dir=_data_dir(request),
                                period=period or None, peers=codes)
    except ValueError:
        raise NotFound(f"no period {period!r} for {slug!r}") from None
    return _Chosen(unit_metric=unit_metric, groups=groups, group=group, reference=reference,
                   comparison=found, names=_names(db, [r.code for r in found.rows]))


@router.get("/metrics/{slug}/units", response_class=HTMLResponse)
def comparison_page(request: Request, slug: str, db: DB, user: CurrentUser, *,
                    peers: str = "", period: str = "", around: str = "") -> Response:
    c = _chosen(request, db, user, slug, peers=peers, period=period, around=around)
    return render(request, "benchmarking/comparison.html", {
        "unit_metric": c.unit_metric, "metric": c.unit_metric.metric,
        "comparison": c.comparison, "names": c.names, "groups": c.groups, "group": c.group,
        "reference": c.reference,
        "funnel": charts.funnel_chart(c.comparison, c.names,
                                      multiplier=c.unit_metric.multiplier),
        "bands": charts.BANDS, "sustained_periods": compare.SUSTAINED_PERIODS,
    }, user=user)


@router.get("/metrics/{slug}/units.csv")
def comparison_csv(request: Request, slug: str, db: DB, user: CurrentUser, *,
                   peers: str = "", period: str = "", around: str = "") -> Response:
    """The comparison's table: every unit with its value, z, band, streak and shrunken
    estimate."""
    import csv
    import io

    c = _chosen(request, db, user, slug, peers=peers, period=period, around=around)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["unit", "name", "period", "numerator", "denominator", "value", "z",
                     "significance", "periods_beyond_99.8", "shrunken", "shrunken_lower_95",
                     "shrunken_upper_95", "recent_trend", "illustrative"])
    for r in c.comparison.rows:
        writer.writerow([r.code, c.names.get(r.code, ""), c.comparison.period, r.numerator,
                         r.denominator, r.value, r.z, r.significance, r.periods_beyond,
                         r.shrunken, r.shrunken_lower, r.shrunken_upper, r.trend,
                         c.unit_metric.illustrative])
    name = f"{slug}-units-{c.comparison.period}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _names(db: DB, codes: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    rows = db.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all()
    return {row[0]: row[1] for row in rows}


def _standing(request: Request, db: DB, unit: Unit, unit_metric: UnitMetric
              ) -> dict[str, Any] | None:
    data_dir = _data_dir(request)
    found = compare.compare(unit_metric, data_dir=data_dir)
    row = next((r for r in found.rows if r.code == unit.code), None)
    if row is None:
        return None
    values = [r.value for r in found.rows]
    position = compare.percentile(values, row.value) * 100
    if not found.higher_is_better:
        position = 100 - position
    history = compare.unit_history(unit_metric, data_dir=data_dir, code=unit.code)
    spc = (charts.spc_chart(history.periods, history.chart, multiplier=unit_metric.multiplier,
                            unit=unit_metric.metric.unit) if history.chart else None)
    return {"unit_metric": unit_metric, "row": row, "comparison": found,
            "position": position, "history": history, "spc": spc,
            "band": charts.BANDS[row.better]}


@router.get("/units/{code}", response_class=HTMLResponse)
def unit_page(request: Request, code: str, db: DB, user: CurrentUser) -> Response:
    return _unit_page(request, db, user, code=code)


def _unit_page(request: Request, db: DB, user: CurrentUser, *, code: str,
               values: dict[str, Any] | None = None, exc: ValidationFailed | None = None
               ) -> Response:
    unit = service.get_unit(db, code=code)
    standings = [s for m in service.list_unit_metrics(
        db, include_drafts=access.can_view_drafts(user))
        if (s := _standing(request, db, unit, m)) is not None]
    spine = charts.spine_chart([
        {"metric": s["unit_metric"].metric.title, "position": round(s["position"], 1),
         "band": s["band"], "value_text": f"{s['row'].value * s['unit_metric'].multiplier:,.1f}"}
        for s in standings]) if standings else None
    return render(request, "benchmarking/unit.html", {
        "unit": unit, "standings": standings, "spine": spine,
        "notes": service.search_practice_notes(db, unit=unit),
        "can_note": access.can_view_drafts(user), "values": values or {},
        "metrics": [s["unit_metric"].metric for s in standings], "isfinite": math.isfinite,
        **(form_errors(exc.errors) if exc else {}),
    }, user=user, status_code=422 if exc else 200)


@router.post("/units/{code}/notes", response_class=HTMLResponse)
async def add_note(request: Request, code: str, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    access.require(access.can_view_drafts(user), "write practice notes")
    unit = service.get_unit(db, code=code)
    values = await form_values(request)
    try:
        data = validate(PracticeNoteIn, values)
        metric = (metrics_service.get_metric(db, slug=data.metric_slug, include_drafts=True)
                  if data.metric_slug else None)
        service.add_practice_note(db, unit=unit, data=data, author=user, metric=metric)
    except ValidationFailed as exc:
        return _unit_page(request, db, user, code=code, values=values, exc=exc)
    flash(request, "Practice note added.")
    return RedirectResponse(f"/units/{unit.code}#notes", status_code=303)


@router.get("/practice", response_class=HTMLResponse)
def practice(request: Request, db: DB, user: CurrentUser, q: str = "") -> Response:
    return render(request, "benchmarking/practice.html", {
        "q": q, "notes": service.search_practice_notes(db, text=q),
    }, user=user)


# Peer groups ------------------------------------------------------------------------------

def _peer_form(request: Request, db: DB, user: CurrentUser, values: dict[str, Any],
               exc: ValidationFailed | None = None) -> Response:
    return render(request, "benchmarking/peer_groups.html", {
        "groups": service.list_peer_groups(db), "values": values,
        "kinds": list(PeerKind), "unit_kinds": list(UnitKind),
        **(form_errors(exc.errors) if exc else {}),
    }, user=user, status_code=422 if exc else 200)


@router.get("/manage/peer-groups", response_class=HTMLResponse)
def peer_groups(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    access.require(access.can_manage_peer_groups(user), "define peer groups")
    return _peer_form(request, db, user, {"kind": "list", "neighbours": "15"})


@router.post("/manage/peer-groups", response_class=HTMLResponse)
async def save_peer_group(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    access.require(access.can_manage_peer_groups(user), "define peer groups")
    values = await form_values(request)
    data = {**values, "unit_kind": values.get("unit_kind") or None,
            "attributes": [a.strip() for a in values.get("attributes", "").split(",")
                           if a.strip()],
            "members": values.get("members", "").split()}
    try:
        group = service.save_peer_group(db, data=validate(PeerGroupIn, data))
    except ValidationFailed as exc:
        errors = [FieldError("kind", e.message) if e.field == "form" else e for e in exc.errors]
        return _peer_form(request, db, user, values, ValidationFailed(errors))
    flash(request, f"Peer group ‘{group.name}’ saved.")
    return RedirectResponse("/manage/peer-groups", status_code=303)
