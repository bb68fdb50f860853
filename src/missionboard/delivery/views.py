"""Delivery pages: a mission's interventions, and the signed-in forms that edit them.

Repeated rows (budgets, effects, delivery-chain links) are form fields named
``<list>.<i>.<field>``; blank rows are ignored and the rest are numbered again from 0, so an
error's field (``effects.2.low``, or ``effects.2`` for the whole row) matches the re-displayed
form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.delivery import service
from missionboard.delivery.models import (
    Distribution,
    EvidenceKind,
    EvidenceStrength,
    Intervention,
    InterventionOverlap,
    InterventionStatus,
    Persistence,
    PlanItem,
    PlanItemKind,
    PlanItemStatus,
    Ramp,
)
from missionboard.delivery.schemas import (
    ChainLinkIn,
    EffectIn,
    InterventionIn,
    OverlapIn,
    PlanItemIn,
)
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import Metric
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
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

_ROW_FIELD = re.compile(r"^(budgets|effects|chain)\.(\d{1,3})\.(\w+)$")
#: The fields that make a row count as filled in, and the fewest rows each form offers.
_SIGNIFICANT = {"budgets": ("year", "amount"),
                "effects": ("metric_slug", "area_code", "central", "low", "high"),
                "chain": ("organisation_slug", "role")}
_MIN_ROWS = {"budgets": 5, "effects": 3, "chain": 5}
_SPARE_ROWS = 2
_BLANK_ROW = {"effects": {"distribution": Distribution.NORMAL.value, "interval_level": "80"}}


@router.get("/missions/{slug}/interventions", response_class=HTMLResponse)
def interventions_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    today = utcnow().date()
    interventions = service.list_interventions(db, mission=mission)
    rows = [
        {"intervention": i, "optimism": service.optimism(i),
         "plan": [(item, service.plan_state(item, today=today)) for item in i.plan]}
        for i in interventions
    ]
    return render(request, "delivery/interventions.html", {
        "mission": mission, "rows": rows,
        "summary": service.plan_summary(interventions, today=today), "today": today,
        "defaults": sorted(service.DEFAULT_OPTIMISM.items(), key=lambda kv: -kv[1]),
        "changes": service.intervention_changes(db, mission=mission),
        "can_edit": access.can_edit_mission(user, mission.id),
    }, user=user)


# Reading forms ---------------------------------------------------------------------------

@dataclass
class _Submitted:
    """A form as typed: its single fields, the contributors ticked, and the filled rows."""

    values: dict[str, str]
    contributors: list[str] = field(default_factory=list)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def padded(self, name: str) -> list[dict[str, str]]:
        """The filled rows, then blank ones to add more."""
        filled = self.rows.get(name, [])
        blanks = max(_MIN_ROWS[name], len(filled) + _SPARE_ROWS) - len(filled)
        return filled + [dict(_BLANK_ROW.get(name, {})) for _ in range(blanks)]


def _filled_rows(values: Mapping[str, str], name: str) -> list[dict[str, str]]:
    by_index: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        match = _ROW_FIELD.match(key)
        if match and match[1] == name:
            by_index.setdefault(int(match[2]), {})[match[3]] = value.strip()
    return [row for _, row in sorted(by_index.items())
            if any(row.get(f) for f in _SIGNIFICANT[name])]


async def _submitted(request: Request) -> _Submitted:
    form = await request.form()
    values = await form_values(request)
    return _Submitted(
        values={k: v for k, v in values.items() if not _ROW_FIELD.match(k)},
        contributors=[v for v in form.getlist("contributor_slugs") if isinstance(v, str)],
        rows={name: _filled_rows(values, name) for name in _SIGNIFICANT},
    )


def _present(values: Mapping[str, str], *, without: Iterable[str] = ()) -> dict[str, str]:
    """The fields given, so that blank ones take their defaults or are reported missing."""
    skip = set(without)
    return {k: v for k, v in values.items() if v.strip() and k not in skip}


def _number(text: str | None, where: str, message: str, errors: list[FieldError], *,
            required: bool = False, valid: Callable[[float], bool] = math.isfinite
            ) -> float | None:
    """A number typed in a form (thousands separators, £ and % allowed), or None if blank."""
    cleaned = (text or "").strip().replace(",", "").removeprefix("£").removesuffix("%")
    if not cleaned and not required:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and valid(number)):
        errors.append(FieldError(where, message))
        return None
    return number


def _in_row(exc: ValidationFailed, where: str, label: str) -> list[FieldError]:
    return [FieldError(where if e.field == "form" else f"{where}.{e.field}",
                       f"{label}: {e.message[:1].lower()}{e.message[1:]}") for e in exc.errors]


def _in_page_order(errors: list[FieldError], order: Iterable[str]) -> list[FieldError]:
    position = {name: i for i, name in enumerate(order)}
    return sorted(errors, key=lambda e: position.get(e.field.split(".")[0], len(position)))


def _plain(number: float) -> str:
    """A number as an editor would type it: no exponent, no trailing zeros."""
    return f"{number:.10f}".rstrip("0").rstrip(".")


# Interventions ---------------------------------------------------------------------------

def _budgets(rows: list[dict[str, str]], errors: list[FieldError]) -> dict[int, float]:
    budgets: dict[int, float] = {}
    for i, row in enumerate(rows):
        label = f"Budget {i + 1}"
        year = _number(row.get("year"), f"budgets.{i}.year",
                       f"{label}: enter the first year of the financial year, like 2025",
                       errors, required=True,
                       valid=lambda y: y.is_integer() and 1900 <= y <= 2200)
        amount = _number(row.get("amount"), f"budgets.{i}.amount",
                         f"{label}: enter the amount in pounds, like 1,500,000", errors,
                         required=True, valid=lambda a: a >= 0)
        if year is not None and int(year) in budgets:
            errors.append(FieldError(f"budgets.{i}.year", f"{label}: {int(year)} is given "
                                                          "twice; give each year once"))
        elif year is not None and amount is not None:
            budgets[int(year)] = amount
    return budgets


def _effect(row: dict[str, str], i: int, metrics: set[str], areas: set[str],
            errors: list[FieldError]) -> EffectIn | None:
    where, label = f"effects.{i}", f"Effect {i + 1}"
    found: list[FieldError] = []
    if row.get("metric_slug") not in metrics:
        found.append(FieldError(f"{where}.metric_slug", f"{label}: choose a metric"))
    if row.get("area_code") not in areas:
        found.append(FieldError(f"{where}.area_code", f"{label}: choose an area"))
    if row.get("distribution") not in set(Distribution):
        found.append(FieldError(f"{where}.distribution", f"{label}: choose a distribution"))
    numbers = {key: _number(row.get(key), f"{where}.{key}",
                            f"{label}: enter the {name} as a number", found, required=True)
               for key, name in (("central", "central estimate"), ("low", "low end"),
                                 ("high", "high end"))}
    level = _number(row.get("interval_level"), f"{where}.interval_level",
                    f"{label}: enter the interval level as a percentage between 0 and 100",
                    found, valid=lambda p: 0 < p < 100)
    errors += found
    if found:
        return None
    data = {**row, **numbers, "interval_level": 0.8 if level is None else level / 100}
    try:
        return validate(EffectIn, data)
    except ValidationFailed as exc:
        errors += _in_row(exc, where, label)
        return None


def _effects(rows: list[dict[str, str]], metrics: set[str], areas: set[str],
             errors: list[FieldError]) -> list[EffectIn]:
    effects: list[EffectIn] = []
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(rows):
        effect = _effect(row, i, metrics, areas, errors)
        if effect is None:
            continue
        key = (effect.metric_slug, effect.area_code)
        if key in seen:
            errors.append(FieldError(f"effects.{i}.metric_slug",
                                     f"Effect {i + 1}: there is already an estimate for this "
                                     "metric and area"))
        seen.add(key)
        effects.append(effect)
    return effects


def _parse_intervention(sub: _Submitted, *, metrics: set[str], areas: set[str]
                        ) -> InterventionIn:
    errors: list[FieldError] = []
    data: dict[str, Any] = _present(sub.values, without={"optimism_override", "reason"})
    data["contributor_slugs"] = sub.contributors
    data["optimism_override"] = _number(
        sub.values.get("optimism_override"), "optimism_override",
        "Enter the share to count as a percentage above 0 and up to 200", errors,
        valid=lambda p: 0 < p <= 200)
    if data["optimism_override"] is not None:
        data["optimism_override"] /= 100
    data["budgets"] = _budgets(sub.rows.get("budgets", []), errors)
    data["effects"] = _effects(sub.rows.get("effects", []), metrics, areas, errors)
    try:
        parsed = validate(InterventionIn, data)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed(_in_page_order(errors, InterventionIn.model_fields))
    return parsed


def _submitted_of(intervention: Intervention) -> _Submitted:
    i = intervention
    override = i.optimism_override
    values = {
        "slug": i.slug, "title": i.title, "description": i.description,
        "owner_slug": i.owner.slug if i.owner else "", "status": i.status.value,
        "start": i.start.isoformat(), "lag_months": str(i.lag_months), "ramp": i.ramp.value,
        "ramp_months": str(i.ramp_months), "persistence": i.persistence.value,
        "half_life_months": "" if i.half_life_months is None else _plain(i.half_life_months),
        "evidence_kind": i.evidence_kind.value, "evidence_strength": i.evidence_strength.value,
        "evidence_reference": i.evidence_reference,
        "optimism_override": "" if override is None else _plain(override * 100),
        "optimism_override_reason": i.optimism_override_reason,
    }
    return _Submitted(values=values, contributors=[o.slug for o in i.contributors], rows={
        "budgets": [{"year": str(b.year), "amount": _plain(b.amount)} for b in i.budgets],
        "effects": [{"metric_slug": e.metric.slug, "area_code": e.area.code,
                     "distribution": e.distribution.value, "central": _plain(e.central),
                     "low": _plain(e.low), "high": _plain(e.high),
                     "interval_level": _plain(e.interval_level * 100)} for e in i.effects],
    })


def _editable_mission(db: DB, user: User | None, slug: str) -> tuple[User, Mission]:
    user = access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, mission.id), "edit this mission")
    return user, mission


@dataclass(frozen=True)
class _Editing:
    """A signed-in editor of the mission, and the intervention in the address."""

    user: User
    mission: Mission
    intervention: Intervention


def _editing(slug: str, intervention: str, db: DB, user: CurrentUser) -> _Editing:
    user, mission = _editable_mission(db, user, slug)
    return _Editing(user, mission, service.get_intervention(db, mission=mission,
                                                            slug=intervention))


Editing = Annotated[_Editing, Depends(_editing)]


def _metric_choices(mission: Mission, intervention: Intervention | None) -> list[Metric]:
    """The metrics an estimate can be for: the mission's, and any the intervention has."""
    metrics = {m.id: m for outcome in mission.outcomes for m in outcome.metrics}
    if intervention is not None:
        metrics.update({e.metric.id: e.metric for e in intervention.effects})
    return sorted(metrics.values(), key=lambda m: m.title)


def _intervention_form(request: Request, db: DB, user: User, *, mission: Mission,
                       intervention: Intervention | None, sub: _Submitted,
                       errors: list[FieldError] | None = None) -> Response:
    ctx: dict[str, Any] = {
        "mission": mission, "intervention": intervention, "values": sub.values,
        "contributors": sub.contributors, "budgets": sub.padded("budgets"),
        "effects": sub.padded("effects"),
        "organisations": missions_service.list_organisations(db),
        "metrics": _metric_choices(mission, intervention),
        "areas": metrics_service.list_areas(db),
        "statuses": list(InterventionStatus), "ramps": list(Ramp),
        "persistences": list(Persistence), "evidence_kinds": list(EvidenceKind),
        "strengths": list(EvidenceStrength), "distributions": list(Distribution),
        "defaults": service.DEFAULT_OPTIMISM,
    }
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "delivery/intervention_form.html", ctx,
                  status_code=422 if errors else 200, user=user)


def _save_intervention(db: DB, sub: _Submitted, *, user: User, mission: Mission,
                       intervention: Intervention | None) -> Intervention:
    data = _parse_intervention(
        sub, metrics={m.slug for m in _metric_choices(mission, intervention)},
        areas={a.code for a in metrics_service.list_areas(db)})
    return service.save_intervention(db, mission=mission, data=data, intervention=intervention,
                                     actor=user, reason=sub.values.get("reason"))


def _interventions_url(mission: Mission, intervention: Intervention) -> str:
    return f"/missions/{mission.slug}/interventions#intervention-{intervention.slug}"


_NEW_INTERVENTION = {"status": InterventionStatus.PLANNED.value, "lag_months": "0",
                     "ramp": Ramp.STEP.value, "ramp_months": "0",
                     "persistence": Persistence.PERMANENT.value}


@router.get("/manage/missions/{slug}/interventions/new", response_class=HTMLResponse)
def new_intervention_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    return _intervention_form(request, db, user, mission=mission, intervention=None,
                              sub=_Submitted(values=dict(_NEW_INTERVENTION)))


@router.post("/manage/missions/{slug}/interventions/new", response_class=HTMLResponse)
async def create_intervention(request: Request, slug: str, db: DB, user: CurrentUser
                              ) -> Response:
    user, mission = _editable_mission(db, user, slug)
    sub = await _submitted(request)
    try:
        intervention = _save_intervention(db, sub, user=user, mission=mission,
                                          intervention=None)
    except ValidationFailed as exc:
        return _intervention_form(request, db, user, mission=mission, intervention=None,
                                  sub=sub, errors=exc.errors)
    flash(request, f"Intervention ‘{intervention.title}’ added.")
    return RedirectResponse(_interventions_url(mission, intervention), status_code=303)


@router.get("/manage/missions/{slug}/interventions/{intervention}/edit",
            response_class=HTMLResponse)
def edit_intervention_form(request: Request, db: DB, e: Editing) -> Response:
    return _intervention_form(request, db, e.user, mission=e.mission,
                              intervention=e.intervention, sub=_submitted_of(e.intervention))


@router.post("/manage/missions/{slug}/interventions/{intervention}/edit",
             response_class=HTMLResponse)
async def edit_intervention(request: Request, db: DB, e: Editing) -> Response:
    sub = await _submitted(request)
    sub.values["slug"] = e.intervention.slug
    try:
        _save_intervention(db, sub, user=e.user, mission=e.mission,
                           intervention=e.intervention)
    except ValidationFailed as exc:
        return _intervention_form(request, db, e.user, mission=e.mission,
                                  intervention=e.intervention, sub=sub, errors=exc.errors)
    flash(request, f"Intervention ‘{e.intervention.title}’ updated.")
    return RedirectResponse(_interventions_url(e.mission, e.intervention), status_code=303)


# Delivery plans --------------------------------------------------------------------------

def _plan_form(request: Request, e: _Editing, *, item: PlanItem | None,
               values: dict[str, str], errors: list[FieldError] | None = None) -> Response:
    ctx: dict[str, Any] = {"mission": e.mission, "intervention": e.intervention, "item": item,
                           "values": values, "kinds": list(PlanItemKind),
                           "statuses": list(PlanItemStatus)}
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "delivery/plan_item_form.html", ctx,
                  status_code=422 if errors else 200, user=e.user)


def _plan_values_of(item: PlanItem) -> dict[str, str]:
    return {"kind": item.kind.value, "title": item.title, "owner": item.owner,
            "due": item.due.isoformat(), "status": item.status.value,
            "completed_on": item.completed_on.isoformat() if item.completed_on else ""}


@router.get("/manage/missions/{slug}/interventions/{intervention}/plan/new",
            response_class=HTMLResponse)
def new_plan_item_form(request: Request, e: Editing) -> Response:
    return _plan_form(request, e, item=None,
                      values={"kind": PlanItemKind.MILESTONE.value,
                              "status": PlanItemStatus.NOT_STARTED.value})


@router.post("/manage/missions/{slug}/interventions/{intervention}/plan/new",
             response_class=HTMLResponse)
async def add_plan_item(request: Request, db: DB, e: Editing) -> Response:
    values = await form_values(request)
    try:
        service.add_plan_item(db, intervention=e.intervention,
                              data=validate(PlanItemIn, _present(values)))
    except ValidationFailed as exc:
        return _plan_form(request, e, item=None, values=values, errors=exc.errors)
    flash(request, "Plan item added.")
    return RedirectResponse(_interventions_url(e.mission, e.intervention), status_code=303)


@router.get("/manage/missions/{slug}/interventions/{intervention}/plan/{item_id}/edit",
            response_class=HTMLResponse)
def edit_plan_item_form(request: Request, item_id: int, db: DB, e: Editing) -> Response:
    item = service.get_plan_item(db, intervention=e.intervention, item_id=item_id)
    return _plan_form(request, e, item=item, values=_plan_values_of(item))


@router.post("/manage/missions/{slug}/interventions/{intervention}/plan/{item_id}/edit",
             response_class=HTMLResponse)
async def edit_plan_item(request: Request, item_id: int, db: DB, e: Editing) -> Response:
    item = service.get_plan_item(db, intervention=e.intervention, item_id=item_id)
    values = await form_values(request)
    try:
        service.update_plan_item(db, item=item, data=validate(PlanItemIn, _present(values)))
    except ValidationFailed as exc:
        return _plan_form(request, e, item=item, values=values, errors=exc.errors)
    flash(request, "Plan item updated.")
    return RedirectResponse(_interventions_url(e.mission, e.intervention), status_code=303)


# Delivery chains -------------------------------------------------------------------------

def _chain_links(rows: list[dict[str, str]]) -> list[ChainLinkIn]:
    links, errors = [], []
    for i, row in enumerate(rows):
        try:
            links.append(validate(ChainLinkIn, {"organisation_slug": row.get("organisation_slug")
                                                or None, "role": row.get("role", "")}))
        except ValidationFailed as exc:
            errors += _in_row(exc, f"chain.{i}", f"Link {i + 1}")
    if errors:
        raise ValidationFailed(errors)
    return links


def _chain_form(request: Request, db: DB, e: _Editing, *, sub: _Submitted,
                errors: list[FieldError] | None = None) -> Response:
    ctx: dict[str, Any] = {"mission": e.mission, "intervention": e.intervention,
                           "links": sub.padded("chain"),
                           "organisations": missions_service.list_organisations(db)}
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "delivery/chain_form.html", ctx,
                  status_code=422 if errors else 200, user=e.user)


@router.get("/manage/missions/{slug}/interventions/{intervention}/chain",
            response_class=HTMLResponse)
def chain_form(request: Request, db: DB, e: Editing) -> Response:
    rows = [{"organisation_slug": link.organisation.slug if link.organisation else "",
             "role": link.role} for link in e.intervention.chain]
    return _chain_form(request, db, e, sub=_Submitted(values={}, rows={"chain": rows}))


@router.post("/manage/missions/{slug}/interventions/{intervention}/chain",
             response_class=HTMLResponse)
async def set_chain(request: Request, db: DB, e: Editing) -> Response:
    sub = await _submitted(request)
    try:
        service.set_chain(db, intervention=e.intervention,
                          links=_chain_links(sub.rows["chain"]))
    except ValidationFailed as exc:
        return _chain_form(request, db, e, sub=sub, errors=exc.errors)
    flash(request, "Delivery chain saved.")
    return RedirectResponse(_interventions_url(e.mission, e.intervention), status_code=303)


# Overlaps --------------------------------------------------------------------------------

def _parse_overlap(values: Mapping[str, str]) -> OverlapIn:
    errors: list[FieldError] = []
    data: dict[str, Any] = {"note": values.get("note", "").strip()}
    if values.get("kind") == "shared":
        share = _number(values.get("shared_fraction"), "shared_fraction",
                        "Enter the share as a percentage from 0 to 100", errors,
                        required=True, valid=lambda p: 0 <= p <= 100)
        data["shared_fraction"] = 0.0 if share is None else share / 100
    elif values.get("kind") == "interaction":
        data["interaction"] = _number(values.get("interaction"), "interaction",
                                      "Enter the interaction factor as a number from 0 to 1",
                                      errors, required=True, valid=lambda f: 0 <= f <= 1)
    else:
        errors.append(FieldError("kind", "Choose how the interventions overlap"))
    if errors:
        raise ValidationFailed(errors)
    return validate(OverlapIn, data)


def _overlap_values_of(other: Intervention, overlap: InterventionOverlap) -> dict[str, str]:
    interaction = overlap.interaction
    return {"second": other.slug, "note": overlap.note,
            "kind": "shared" if interaction is None else "interaction",
            "shared_fraction": _plain(overlap.shared_fraction * 100),
            "interaction": "" if interaction is None else _plain(interaction)}


def _overlaps_page(request: Request, db: DB, e: _Editing, *, values: dict[str, str],
                   errors: list[FieldError] | None = None) -> Response:
    others = [i for i in service.list_interventions(db, mission=e.mission)
              if i.id != e.intervention.id]
    ctx: dict[str, Any] = {"mission": e.mission, "intervention": e.intervention,
                           "overlaps": service.overlaps_of(db, intervention=e.intervention),
                           "others": others, "values": values}
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "delivery/overlaps.html", ctx, status_code=422 if errors else 200,
                  user=e.user)


def _overlap_form(request: Request, e: _Editing, *, other: Intervention,
                  values: dict[str, str], errors: list[FieldError] | None = None) -> Response:
    ctx: dict[str, Any] = {"mission": e.mission, "intervention": e.intervention,
                           "other": other, "values": values}
    if errors:
        ctx.update(form_errors(errors))
    return render(request, "delivery/overlap_form.html", ctx,
                  status_code=422 if errors else 200, user=e.user)


def _overlaps_url(e: _Editing) -> str:
    return f"/manage/missions/{e.mission.slug}/interventions/{e.intervention.slug}/overlaps"


def _partner(db: DB, mission: Mission, slug: str) -> Intervention:
    try:
        return service.get_intervention(db, mission=mission, slug=slug)
    except NotFound:
        raise ValidationFailed([FieldError("second", "Choose another intervention of this "
                                                     "mission")]) from None


@router.get("/manage/missions/{slug}/interventions/{intervention}/overlaps",
            response_class=HTMLResponse)
def overlaps_page(request: Request, db: DB, e: Editing) -> Response:
    return _overlaps_page(request, db, e, values={"kind": "shared"})


@router.post("/manage/missions/{slug}/interventions/{intervention}/overlaps",
             response_class=HTMLResponse)
async def declare_overlap(request: Request, db: DB, e: Editing) -> Response:
    values = await form_values(request)
    try:
        other = _partner(db, e.mission, values.get("second", ""))
        service.set_overlap(db, first=e.intervention, second=other, actor=e.user,
                            reason=values.get("reason"), **_parse_overlap(values).model_dump())
    except ValidationFailed as exc:
        return _overlaps_page(request, db, e, values=values, errors=exc.errors)
    flash(request, f"Overlap with ‘{other.title}’ saved.")
    return RedirectResponse(_overlaps_url(e), status_code=303)


@router.get("/manage/missions/{slug}/interventions/{intervention}/overlaps/{other}/edit",
            response_class=HTMLResponse)
def edit_overlap_form(request: Request, other: str, db: DB, e: Editing) -> Response:
    partner = service.get_intervention(db, mission=e.mission, slug=other)
    overlap = service.get_overlap(db, first=e.intervention, second=partner)
    return _overlap_form(request, e, other=partner, values=_overlap_values_of(partner, overlap))


@router.post("/manage/missions/{slug}/interventions/{intervention}/overlaps/{other}/edit",
             response_class=HTMLResponse)
async def edit_overlap(request: Request, other: str, db: DB, e: Editing) -> Response:
    partner = service.get_intervention(db, mission=e.mission, slug=other)
    service.get_overlap(db, first=e.intervention, second=partner)
    values = await form_values(request)
    try:
        service.set_overlap(db, first=e.intervention, second=partner, actor=e.user,
                            reason=values.get("reason"), **_parse_overlap(values).model_dump())
    except ValidationFailed as exc:
        return _overlap_form(request, e, other=partner, values=values, errors=exc.errors)
    flash(request, f"Overlap with ‘{partner.title}’ updated.")
    return RedirectResponse(_overlaps_url(e), status_code=303)


@router.post("/manage/missions/{slug}/interventions/{intervention}/overlaps/{other}/remove",
             response_class=HTMLResponse)
async def remove_overlap(request: Request, other: str, db: DB, e: Editing) -> Response:
    partner = service.get_intervention(db, mission=e.mission, slug=other)
    values = await form_values(request)
    try:
        service.remove_overlap(db, first=e.intervention, second=partner, actor=e.user,
                               reason=values.get("reason"))
    except ValidationFailed as exc:
        # The change form holds the removal's reason too, as ``remove_reason``.
        overlap = service.get_overlap(db, first=e.intervention, second=partner)
        return _overlap_form(
            request, e, other=partner,
            values={**_overlap_values_of(partner, overlap),
                    "remove_reason": values.get("reason", "")},
            errors=[FieldError("remove_reason", "Give a reason for removing the overlap: it "
                                                "is shown publicly with the change")
                    if err.field == "reason" else err for err in exc.errors])
    flash(request, f"Overlap with ‘{partner.title}’ removed.")
    return RedirectResponse(_overlaps_url(e), status_code=303)
