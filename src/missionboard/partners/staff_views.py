"""Pages for a partner's staff: the organisation's own page (its commitments, whatever their
moderation, and its staff), changing its details, making and changing commitments, progress
reports and withdrawing a commitment.

Every write goes through :func:`acting`: the signed-in user must be a verified member of the
partner's staff (or an administrator); another partner's staff are refused before anything
is read from the form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access as accounts_access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.partners import access, service
from missionboard.partners.models import Commitment, Partner
from missionboard.partners.schemas import CommitmentIn, PartnerIn, ReportIn
from missionboard.partners.views import (
    LABELS,
    commitment_context,
    partner_form_context,
    partner_values,
    staff_of,
    today,
)
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


def acting(db: DB, user: User | None, partner: Partner) -> User:
    """The signed-in user, who must act for the partner (verified staff or an admin)."""
    user = accounts_access.require_user(user)
    accounts_access.require(access.can_act_for(user, partner, staff_of(db, user)),
                            f"act for {partner.name}")
    return user


def _commitment_for_staff(db: DB, user: User | None, commitment_id: int
                          ) -> tuple[User, Commitment]:
    commitment = service.get_commitment(db, commitment_id=commitment_id)
    return acting(db, user, commitment.partner), commitment


# The organisation's own page ---------------------------------------------------------------

@router.get("/partners/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    """For its staff (verified or not yet) and administrators."""
    user = accounts_access.require_user(user)
    partner = service.get_partner(db, slug=slug)
    membership = next((m for m in partner.members if m.user_id == user.id), None)
    can_act = access.can_act_for(user, partner, staff_of(db, user))
    if membership is None and not can_act:
        accounts_access.require(False, f"see {partner.name}’s own page")
    commitments = service.partner_commitments(db, partner=partner, public_only=False)
    return render(request, "partners/manage.html", {
        **LABELS, "partner": partner, "membership": membership, "can_act": can_act,
        "is_admin": accounts_access.is_admin(user), "commitments": commitments,
        "statuses": {c.id: service.current_status(c, today=today()) for c in commitments},
        "members": service.staff_members(partner) if can_act else [],
    }, user=user)


@router.get("/partners/{slug}/edit", response_class=HTMLResponse)
def edit_partner_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    partner = service.get_partner(db, slug=slug)
    user = acting(db, user, partner)
    values: dict[str, Any] = {
        k: getattr(partner, k) for k in ("name", "description", "website", "web_domain",
                                         "company_number", "charity_number", "union_number")}
    values.update(kind=partner.kind.value, sector=partner.sector.value,
                  size=partner.size.value, area_codes=[a.code for a in partner.areas])
    return render(request, "partners/partner_form.html",
                  {**partner_form_context(db, values), "partner": partner}, user=user)


@router.post("/partners/{slug}/edit", response_class=HTMLResponse)
async def edit_partner(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    partner = service.get_partner(db, slug=slug)
    user = acting(db, user, partner)
    values = await partner_values(request)
    try:
        service.update_partner(db, partner=partner, data=validate(PartnerIn, values))
    except ValidationFailed as exc:
        return render(request, "partners/partner_form.html", {
            **partner_form_context(db, values), "partner": partner,
            **form_errors(exc.errors)}, user=user, status_code=422)
    flash(request, "Your organisation’s details are saved.")
    return RedirectResponse(f"/partners/{slug}/manage", status_code=303)


@router.post("/partners/{slug}/members/{member_id}/remove", response_class=HTMLResponse)
def remove_member(request: Request, slug: str, member_id: int, db: DB, user: CurrentUser
                  ) -> Response:
    """A member leaves, or an administrator removes one."""
    user = accounts_access.require_user(user)
    partner = service.get_partner(db, slug=slug)
    member = service.get_member(db, partner=partner, member_id=member_id)
    accounts_access.require(accounts_access.is_admin(user) or member.user_id == user.id,
                            "remove this member of staff")
    leaving = member.user_id == user.id
    service.remove_member(db, member=member)
    flash(request, f"You no longer act for {partner.name}." if leaving
          else "The member of staff was removed.")
    return RedirectResponse("/partners/mine" if leaving else f"/partners/{slug}/manage",
                            status_code=303)


# Commitments -------------------------------------------------------------------------------

def _number(text: object) -> str | None:
    """A number as typed, without pound signs, commas or spaces; None when blank."""
    if not isinstance(text, str):
        return None
    cleaned = text.replace("£", "").replace(",", "").replace(" ", "").strip()
    return cleaned or None


def commitment_data(values: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = dict(values)
    for key in ("baseline", "target", "pledged_money", "pledged_hours"):
        data[key] = _number(values.get(key))
    data["deadline"] = values.get("deadline") or None
    data["start_on"] = values.get("start_on") or None
    data.setdefault("kind", "")
    return data


def _commitment_values(c: Commitment) -> dict[str, str]:
    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return {
        "mission_slug": c.mission.slug, "outcome_slug": c.outcome.slug if c.outcome else "",
        "metric_slug": c.metric.slug if c.metric else "",
        "area_code": c.area.code if c.area else "", "title": c.title,
        "description": c.description, "kind": c.kind.value, "unit": c.unit,
        "baseline": text(c.baseline), "target": text(c.target), "start_on": text(c.start_on),
        "deadline": text(c.deadline), "pledged_money": text(c.pledged_money),
        "pledged_hours": text(c.pledged_hours), "in_kind": c.in_kind,
        "schedule": c.schedule.value,
    }


def _commitment_form(request: Request, db: DB, user: User, partner: Partner, *,
                     mission: Mission | None, values: dict[str, Any],
                     commitment: Commitment | None = None,
                     error: ValidationFailed | None = None) -> Response:
    from missionboard.metrics import service as metrics_service

    metrics = {m.id: m for o in (mission.outcomes if mission else []) for m in o.metrics
               if m.is_published}
    context: dict[str, Any] = {
        **LABELS, "partner": partner, "mission": mission, "commitment": commitment,
        "values": values, "metrics": sorted(metrics.values(), key=lambda m: m.title),
        "missions": missions_service.list_missions(db, include_drafts=False),
        "areas": metrics_service.list_areas(db),
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "partners/commitment_form.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/partners/{slug}/commitments/new", response_class=HTMLResponse)
def new_commitment(request: Request, slug: str, db: DB, user: CurrentUser,
                   mission: str | None = None) -> Response:
    """Choose the mission first (its outcomes and metrics then fill the form)."""
    partner = service.get_partner(db, slug=slug)
    user = acting(db, user, partner)
    chosen = None
    if mission:
        try:
            chosen = missions_service.get_mission(db, slug=mission, include_drafts=False)
        except NotFound:
            chosen = None
    return _commitment_form(request, db, user, partner, mission=chosen, values={
        "mission_slug": chosen.slug if chosen else "", "schedule": "quarterly",
        "start_on": today().isoformat()})


@router.post("/partners/{slug}/commitments/new", response_class=HTMLResponse)
async def create_commitment(request: Request, slug: str, db: DB, user: CurrentUser
                            ) -> Response:
    partner = service.get_partner(db, slug=slug)
    user = acting(db, user, partner)
    values = await form_values(request)
    mission = None
    try:
        mission = missions_service.get_mission(db, slug=values.get("mission_slug", ""),
                                               include_drafts=False)
        commitment = service.create_commitment(
            db, partner=partner, data=validate(CommitmentIn, commitment_data(values)))
    except (ValidationFailed, NotFound) as exc:
        error = exc if isinstance(exc, ValidationFailed) else ValidationFailed(
            [FieldError("mission_slug", "Choose a mission from the list")])
        return _commitment_form(request, db, user, partner, mission=mission, values=values,
                                error=error)
    flash(request, "Your commitment is saved. It will be public once a moderator has "
                   "approved it.")
    return RedirectResponse(f"/commitments/{commitment.id}", status_code=303)


@router.get("/commitments/{commitment_id}/edit", response_class=HTMLResponse)
def edit_commitment_form(request: Request, commitment_id: int, db: DB, user: CurrentUser
                         ) -> Response:
    user, commitment = _commitment_for_staff(db, user, commitment_id)
    return _commitment_form(request, db, user, commitment.partner, mission=commitment.mission,
                            values=_commitment_values(commitment), commitment=commitment)


@router.post("/commitments/{commitment_id}/edit", response_class=HTMLResponse)
async def edit_commitment(request: Request, commitment_id: int, db: DB, user: CurrentUser
                          ) -> Response:
    user, commitment = _commitment_for_staff(db, user, commitment_id)
    values = {**await form_values(request), "mission_slug": commitment.mission.slug}
    try:
        service.update_commitment(db, commitment=commitment,
                                  data=validate(CommitmentIn, commitment_data(values)),
                                  actor=user, staff_of=staff_of(db, user),
                                  reason=values.get("reason"))
    except ValidationFailed as exc:
        return _commitment_form(request, db, user, commitment.partner,
                                mission=commitment.mission, values=values,
                                commitment=commitment, error=exc)
    flash(request, "The commitment is saved.")
    return RedirectResponse(f"/commitments/{commitment_id}", status_code=303)


@router.post("/commitments/{commitment_id}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, commitment_id: int, db: DB, user: CurrentUser
                   ) -> Response:
    user, commitment = _commitment_for_staff(db, user, commitment_id)
    values = await form_values(request)
    try:
        service.withdraw_commitment(db, commitment=commitment,
                                    reason=values.get("withdrawn_reason", ""))
    except ValidationFailed as exc:
        return render(request, "partners/commitment.html", {
            **commitment_context(db, user, commitment), "values": values,
            **form_errors(exc.errors)}, user=user, status_code=422)
    flash(request, "The commitment is withdrawn. It stays in the register, marked withdrawn.")
    return RedirectResponse(f"/commitments/{commitment_id}", status_code=303)


# Progress reports --------------------------------------------------------------------------

def report_data(values: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = dict(values)
    for key in ("value", "money_spent", "hours_given"):
        data[key] = _number(values.get(key))
    data["period_end"] = values.get("period_end") or None
    data["completed"] = values.get("completed") == "yes"
    return data


def _report_form(request: Request, user: User, commitment: Commitment,
                 values: dict[str, Any], error: ValidationFailed | None = None) -> Response:
    context: dict[str, Any] = {**LABELS, "c": commitment, "values": values,
                               "measured_kind": commitment.kind}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "partners/report_form.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/commitments/{commitment_id}/report", response_class=HTMLResponse)
def report_form(request: Request, commitment_id: int, db: DB, user: CurrentUser) -> Response:
    user, commitment = _commitment_for_staff(db, user, commitment_id)
    return _report_form(request, user, commitment, {"period_end": today().isoformat()})


@router.post("/commitments/{commitment_id}/report", response_class=HTMLResponse)
async def add_report(request: Request, commitment_id: int, db: DB, user: CurrentUser
                     ) -> Response:
    user, commitment = _commitment_for_staff(db, user, commitment_id)
    values = await form_values(request)
    data = report_data(values)
    try:
        service.add_report(db, commitment=commitment, data=validate(ReportIn, data),
                           author=user, today=today())
    except ValidationFailed as exc:
        # Every problem at once: the figures this kind needs, with the form's own errors.
        fields = {e.field for e in exc.errors}
        missing = [e for e in service.missing_measures(
            commitment, value=data["value"], money_spent=data["money_spent"],
            hours_given=data["hours_given"]) if e.field not in fields]
        return _report_form(request, user, commitment, values,
                            ValidationFailed(exc.errors + missing))
    status = service.current_status(commitment, today=today())
    flash(request, f"Your progress report is published. The commitment is now: "
                   f"{LABELS['status_labels'][status].lower()}.")
    return RedirectResponse(f"/commitments/{commitment_id}#reports", status_code=303)

