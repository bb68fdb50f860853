"""Pages for volunteering: finding opportunities by postcode and interest, an opportunity's
page, the sign-up form, the volunteer's private page (log hours, withdraw), a new private
link, and the public counts; the organisers' pages (post and edit, submit for moderation,
sign-ups, hours to confirm, messages, the CSV export); and the volunteering part of the
public JSON API (``api_router``, included in ``/api/v1``).

Personal data is shown only on the organisers' pages and in their export (see
:mod:`missionboard.volunteering.access`); every public page, the API and the public export
carry counts only."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access as accounts_access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.volunteering import access, charts, geo, service, signups
from missionboard.volunteering.models import (
    Audience,
    HoursStatus,
    Mode,
    Opportunity,
    OpportunityStatus,
    TimeKind,
)
from missionboard.volunteering.schemas import (
    CountOut,
    MessageIn,
    OpportunityIn,
    OpportunityOut,
    OpportunityPage,
    SummaryOut,
    tag_of,
)
from missionboard.web import api as public_api
from missionboard.web.api import Caller, json_response, problem_responses
from missionboard.web.deps import (
    DB,
    CurrentUser,
    client_ip,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)
from missionboard.web.uploads import base_url, csv_bytes

router = APIRouter(dependencies=[Depends(csrf_protect)])

STATUS_LABELS = {
    OpportunityStatus.DRAFT: "Draft",
    OpportunityStatus.PENDING: "Waiting for moderation",
    OpportunityStatus.PUBLISHED: "Open",
    OpportunityStatus.CLOSED: "Closed",
}
STATUS_ACTIONS = {
    OpportunityStatus.DRAFT: "Return to draft",
    OpportunityStatus.PENDING: "Submit for moderation",
    OpportunityStatus.PUBLISHED: "Publish",
    OpportunityStatus.CLOSED: "Close to new sign-ups",
}
MODE_LABELS = {Mode.IN_PERSON: "In person", Mode.ONLINE: "Online",
               Mode.HYBRID: "In person or online"}
TIME_LABELS = {TimeKind.ONE_OFF: "One-off", TimeKind.REGULAR: "Regular"}
AUDIENCE_LABELS = {Audience.SIGNED_UP: "People with a place",
                   Audience.WAITLISTED: "People on the waiting list",
                   Audience.EVERYONE: "Everyone signed up or waiting"}
WHERE_LABELS = {"any": "In person or online", "in_person": "In person only",
                "online": "Online only"}
SIGNUPS_PAGE = 100
#: A number in a path (hours, a sign-up): a 32-bit integer.
Number = Annotated[int, Path(ge=0, lt=2**31)]
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


# Helpers -----------------------------------------------------------------------------------

def _labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "mode_labels": MODE_LABELS,
            "time_labels": TIME_LABELS, "dbs_labels": service.DBS_LABELS,
            "radii": service.RADII_MILES}


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


def _visible(db: DB, user: User | None, slug: str) -> Opportunity:
    opportunity = service.get_opportunity(db, slug=slug)
    if not access.can_see(db, user, opportunity):
        raise NotFound(f"No volunteering opportunity {slug!r}")
    return opportunity


def _organised(db: DB, user: User | None, slug: str) -> tuple[User, Opportunity]:
    """The signed-in organiser and their opportunity (personal data may be shown)."""
    user = accounts_access.require_user(user)
    opportunity = service.get_opportunity(db, slug=slug)
    accounts_access.require(access.can_organise(db, user, opportunity),
                            "run this opportunity")
    return user, opportunity


def _miles(km: float) -> float:
    return geo.km_to_miles(km)


def _page_links(request: Request, total: int, page: int, size: int) -> dict[str, Any]:
    pages = max(1, math.ceil(total / size))
    out: dict[str, Any] = {"pages": pages, "page": page}
    if page > 1:
        out["previous"] = str(request.url.include_query_params(page=page - 1))
    if page < pages:
        out["next"] = str(request.url.include_query_params(page=page + 1))
    return out


# Finding opportunities ---------------------------------------------------------------------

def _radius(text: str) -> int:
    try:
        miles = int(text)
    except ValueError:
        return service.DEFAULT_RADIUS_MILES
    return miles if miles in service.RADII_MILES else service.DEFAULT_RADIUS_MILES


@router.get("/volunteer", response_class=HTMLResponse)
def find(request: Request, db: DB, user: CurrentUser, *, postcode: str = "",
         radius: str = "", tag: str = "", mission: str = "", where: str = "any",
         page: int = 1) -> Response:
    """Find opportunities: by postcode and distance, interest, mission, in person or
    online; nearest first, a page at a time."""
    page = min(max(page, 1), 10_000)
    miles = _radius(radius)
    missions = service.mission_choices(db)
    chosen = next((m for m in missions if m.slug == mission), None)
    values = {"postcode": postcode[:20], "radius": str(miles), "tag": tag_of(tag)[:60],
              "mission": chosen.slug if chosen else "",
              "where": where if where in service.WHERE_OPTIONS else "any"}
    query = service.SearchQuery(
        postcode=values["postcode"], radius_km=geo.miles_to_km(miles), tag=values["tag"],
        mission_id=chosen.id if chosen else None, where=values["where"],
        limit=service.PAGE_SIZE, offset=(page - 1) * service.PAGE_SIZE)
    context: dict[str, Any] = {**_labels(), "values": values, "missions": missions,
                               "tags": service.all_tags(db), "where_labels": WHERE_LABELS,
                               "miles": miles, "km": geo.miles_to_km(miles)}
    try:
        result = service.search(db, query=query)
    except ValidationFailed as exc:
        return render(request, "volunteering/index.html",
                      {**context, "result": None, **form_errors(exc.errors)}, user=user,
                      status_code=422)
    return render(request, "volunteering/index.html", {
        **context, "result": result,
        "paging": _page_links(request, result.total, page, service.PAGE_SIZE),
    }, user=user)


@router.get("/volunteer/impact", response_class=HTMLResponse)
def impact(request: Request, db: DB, user: CurrentUser) -> Response:
    """People signed up and hours confirmed: in all, by mission and by area."""
    found = service.summary(db)
    return render(request, "volunteering/impact.html", {
        "summary": found, "hours_chart": charts.hours_by_mission(found.by_mission)}, user=user)


@router.get("/volunteer/opportunities.csv")
def opportunities_csv(db: DB) -> Response:
    """Every public opportunity with its counts: no personal data."""
    rows: list[list[Any]] = [["slug", "title", "mission", "organiser", "status", "mode",
                              "postcode", "area_code", "starts_on", "ends_on", "capacity",
                              "signed_up", "hours_confirmed", "illustrative"]]
    for o in service.public_opportunities(db):
        rows.append([o.slug, o.title, o.mission.slug, o.organiser_name, o.status.value,
                     o.mode.value, o.postcode, o.area_code, o.starts_on or "",
                     o.ends_on or "", "" if o.capacity is None else o.capacity, o.signed_up,
                     f"{o.hours_confirmed:g}", "yes" if o.illustrative else "no"])
    return Response(csv_bytes(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="missionboard-volunteering.csv"'})


@router.get("/volunteer/opportunities/{slug}", response_class=HTMLResponse)
def opportunity_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    opportunity = _visible(db, user, slug)
    organiser = access.can_organise(db, user, opportunity)
    moderator = access.can_moderate(user, opportunity)
    return render(request, "volunteering/opportunity.html", {
        **_labels(), "opportunity": opportunity, "can_organise": organiser,
        "can_moderate": moderator,
        "moves": [(s, STATUS_ACTIONS[s]) for s in service.allowed_moves(
            opportunity, organiser=False, moderator=moderator)] if moderator else [],
        "retention": service.retention_notice(opportunity),
    }, user=user)


# Signing up --------------------------------------------------------------------------------

def _signup_page(request: Request, user: User | None, opportunity: Opportunity,
                 values: dict[str, str], error: ValidationFailed | None = None) -> Response:
    context: dict[str, Any] = {
        **_labels(), "opportunity": opportunity, "values": values,
        "started": signups.form_stamp(_secret(request)),
        "retention": service.retention_notice(opportunity)}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "volunteering/signup.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/volunteer/opportunities/{slug}/sign-up", response_class=HTMLResponse)
def signup_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    opportunity = _visible(db, user, slug)
    return _signup_page(request, user, opportunity, {})


@router.post("/volunteer/opportunities/{slug}/sign-up", response_class=HTMLResponse)
async def signup(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    opportunity = _visible(db, user, slug)
    values = await form_values(request)
    try:
        outcome = signups.sign_up_from_form(
            db, opportunity=opportunity, values=values, secret=_secret(request),
            client=client_ip(request), site=base_url(request))
    except ValidationFailed as exc:
        return _signup_page(request, user, opportunity, values, exc)
    result = outcome.result if outcome.result in ("waitlisted",) else "signed_up"
    suffix = f"&position={outcome.position}" if outcome.position else ""
    return RedirectResponse(f"/volunteer/opportunities/{slug}/thank-you?result={result}"
                            f"{suffix}", status_code=303)


@router.get("/volunteer/opportunities/{slug}/thank-you", response_class=HTMLResponse)
def thank_you(request: Request, slug: str, db: DB, user: CurrentUser, *, result: str = "",
              position: int | None = None) -> Response:
    """What happens next. The same for a duplicate sign-up (told by email) as for a new one,
    so that the page never reveals who has signed up."""
    opportunity = _visible(db, user, slug)
    return render(request, "volunteering/signed_up.html", {
        "opportunity": opportunity, "waitlisted": result == "waitlisted",
        "position": position if position and 0 < position < 10**7 else None,
    }, user=user)


# The volunteer's private page --------------------------------------------------------------

def _own_page(request: Request, db: DB, user: User | None, token: str, *,
              values: dict[str, str] | None = None,
              error: ValidationFailed | None = None) -> Response:
    signup = signups.signup_for_token(db, token=token)
    opportunity = signup.opportunity
    context: dict[str, Any] = {
        **_labels(), "signup": signup, "opportunity": opportunity, "token": token,
        "hours": signups.hours_of(db, signup), "values": values or {},
        "position": signups.waitlist_position(db, opportunity,
                                              token_sha256=signup.token_sha256),
        "retention": service.retention_notice(opportunity), "today": service.utc_today(),
    }
    if error is not None:
        context.update(form_errors(error.errors))
    response = render(request, "volunteering/own.html", context, user=user,
                      status_code=422 if error else 200)
    response.headers.update(_PRIVATE)
    return response


@router.get("/volunteer/manage/{token}", response_class=HTMLResponse)
def own(request: Request, token: str, db: DB, user: CurrentUser) -> Response:
    """The volunteer's page, reached by the private link in their email."""
    return _own_page(request, db, user, token[:100])


@router.post("/volunteer/manage/{token}/hours", response_class=HTMLResponse)
async def log_hours(request: Request, token: str, db: DB, user: CurrentUser) -> Response:
    signup = signups.signup_for_token(db, token=token[:100])
    values = await form_values(request)
    try:
        signups.log_hours(db, signup=signup, data=signups.parse_hours(values))
    except ValidationFailed as exc:
        return _own_page(request, db, user, token, values=values, error=exc)
    flash(request, "Hours logged. The organiser will confirm them.")
    return RedirectResponse(f"/volunteer/manage/{token}#your-hours", status_code=303)


@router.post("/volunteer/manage/{token}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, token: str, db: DB, user: CurrentUser) -> Response:
    signup = signups.signup_for_token(db, token=token[:100])
    values = await form_values(request)
    if values.get("confirm") != "yes":
        return _own_page(request, db, user, token, values=values, error=ValidationFailed([
            FieldError("confirm", "Tick the box to confirm that you want to withdraw")]))
    title = signup.opportunity.title
    signups.withdraw(db, signup=signup, site=base_url(request))
    flash(request, f"You have withdrawn from {title}. Your details have been deleted.")
    return RedirectResponse("/volunteer/withdrawn", status_code=303)


@router.get("/volunteer/withdrawn", response_class=HTMLResponse)
def withdrawn(request: Request, user: CurrentUser) -> Response:
    return render(request, "volunteering/withdrawn.html", {}, user=user)


def _new_link_page(request: Request, user: User | None, values: dict[str, str], *,
                   sent: bool = False, error: ValidationFailed | None = None) -> Response:
    context: dict[str, Any] = {"values": values, "sent": sent,
                               "started": signups.form_stamp(_secret(request))}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "volunteering/new_link.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/volunteer/new-link", response_class=HTMLResponse)
def new_link_form(request: Request, user: CurrentUser) -> Response:
    return _new_link_page(request, user, {})


@router.post("/volunteer/new-link", response_class=HTMLResponse)
async def new_link(request: Request, db: DB, user: CurrentUser) -> Response:
    values = await form_values(request)
    try:
        signups.request_new_links(db, values=values, secret=_secret(request),
                                  client=client_ip(request), site=base_url(request))
    except ValidationFailed as exc:
        return _new_link_page(request, user, values, error=exc)
    return _new_link_page(request, user, {}, sent=True)


# Organisers: posting -----------------------------------------------------------------------

def _organiser_options(db: DB, user: User, mission: Mission) -> list[dict[str, Any]]:
    options = [{"value": str(p.id), "text": p.name}
               for p in access.posting_partners(db, user, mission)]
    if access.can_post(db, user, mission, None):
        options.append({"value": "public", "text": "A public body (named below)"})
    return options


def _opportunity_data(values: dict[str, str]) -> dict[str, Any]:
    organiser = values.get("organiser", "")
    optional = ("starts_on", "ends_on", "hours", "minimum_age", "capacity")
    return {**values, **{k: values.get(k) or None for k in optional},
            "partner_id": int(organiser) if organiser.isdigit() else None,
            "tags": [tag_of(t) for t in values.get("tags", "").split(",") if tag_of(t)],
            "waitlist": values.get("waitlist") == "yes",
            "retention_months": values.get("retention_months") or "12"}


def _opportunity_values(o: Opportunity) -> dict[str, str]:
    def text(value: object) -> str:
        return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return {"slug": o.slug, "title": o.title, "description": o.description,
            "organiser": str(o.partner_id) if o.partner_id else "public",
            "public_body": o.public_body, "mode": o.mode.value, "address": o.address,
            "postcode": o.postcode, "starts_on": text(o.starts_on), "ends_on": text(o.ends_on),
            "time_kind": o.time_kind.value, "hours": text(o.hours), "time_note": o.time_note,
            "tags": ", ".join(o.tag_names), "accessibility": o.accessibility,
            "dbs_check": o.dbs_check.value, "minimum_age": text(o.minimum_age),
            "capacity": text(o.capacity), "waitlist": "yes" if o.waitlist else "",
            "retention_months": str(o.retention_months)}


def _opportunity_form(request: Request, db: DB, user: User, mission: Mission,
                      values: dict[str, Any], *, opportunity: Opportunity | None = None,
                      error: ValidationFailed | None = None) -> Response:
    context: dict[str, Any] = {
        **_labels(), "mission": mission, "opportunity": opportunity, "values": values,
        "organisers": _organiser_options(db, user, mission)}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "volunteering/opportunity_form.html", context, user=user,
                  status_code=422 if error else 200)


def _poster(db: DB, user: User | None, slug: str) -> tuple[User, Mission]:
    """The signed-in user and the mission they may post opportunities on."""
    user = accounts_access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    if not mission.is_published and not accounts_access.can_edit_mission(user, mission.id):
        raise NotFound(f"No mission {slug!r}")
    accounts_access.require(access.can_post_on(db, user, mission),
                            "post volunteering opportunities on this mission")
    return user, mission


@router.get("/missions/{slug}/volunteering/new", response_class=HTMLResponse)
def new_opportunity(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _poster(db, user, slug)
    return _opportunity_form(request, db, user, mission, {
        "mode": "in_person", "time_kind": "regular", "dbs_check": "none", "waitlist": "yes",
        "retention_months": "12"})


@router.post("/missions/{slug}/volunteering/new", response_class=HTMLResponse)
async def create_opportunity(request: Request, slug: str, db: DB, user: CurrentUser
                             ) -> Response:
    user, mission = _poster(db, user, slug)
    values = await form_values(request)
    try:
        data = validate(OpportunityIn, _opportunity_data(values))
        accounts_access.require(access.can_post(db, user, mission, data.partner_id),
                                "post for this organiser")
        opportunity = service.create_opportunity(db, mission=mission, data=data, author=user)
    except ValidationFailed as exc:  # the organiser is chosen in the "organiser" list
        errors = [FieldError("organiser" if e.field == "partner_id" else e.field, e.message)
                  for e in exc.errors]
        return _opportunity_form(request, db, user, mission, values,
                                 error=ValidationFailed(errors))
    flash(request, "Opportunity saved as a draft. Submit it for moderation when it is ready.")
    return RedirectResponse(f"/volunteer/opportunities/{opportunity.slug}/manage",
                            status_code=303)


@router.get("/volunteer/opportunities/{slug}/edit", response_class=HTMLResponse)
def edit_opportunity(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, opportunity = _organised(db, user, slug)
    return _opportunity_form(request, db, user, opportunity.mission,
                             _opportunity_values(opportunity), opportunity=opportunity)


@router.post("/volunteer/opportunities/{slug}/edit", response_class=HTMLResponse)
async def save_opportunity(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, opportunity = _organised(db, user, slug)
    values = {**await form_values(request), "slug": slug,
              "organiser": str(opportunity.partner_id) if opportunity.partner_id else "public"}
    try:
        service.update_opportunity(db, opportunity=opportunity,
                                   data=validate(OpportunityIn, _opportunity_data(values)))
    except ValidationFailed as exc:
        return _opportunity_form(request, db, user, opportunity.mission, values,
                                 opportunity=opportunity, error=exc)
    flash(request, "Opportunity saved.")
    return RedirectResponse(f"/volunteer/opportunities/{slug}/manage", status_code=303)


@router.get("/volunteer/organise", response_class=HTMLResponse)
def organise(request: Request, db: DB, user: CurrentUser) -> Response:
    """The opportunities the user runs, those waiting for their moderation, and the
    missions they may post on."""
    user = accounts_access.require_user(user)
    mission_ids = access.edited_mission_ids(user)
    mine = service.organised_by(db, partner_ids=access.partner_ids(db, user),
                                mission_ids=mission_ids, admin=accounts_access.is_admin(user))
    missions = [m for m in missions_service.list_missions(
        db, include_drafts=accounts_access.can_view_drafts(user))
        if access.can_post_on(db, user, m)]
    return render(request, "volunteering/organise.html", {
        **_labels(), "opportunities": mine, "missions": missions,
        "queue": service.moderation_queue(db, mission_ids=mission_ids)
        if mission_ids is None or mission_ids else [],
    }, user=user)


# Organisers: running an opportunity --------------------------------------------------------

def _manage_page(request: Request, db: DB, user: User, opportunity: Opportunity, *,
                 page: int = 1, values: dict[str, str] | None = None,
                 error: ValidationFailed | None = None) -> Response:
    people = signups.signups(db, opportunity, limit=SIGNUPS_PAGE,
                             offset=(page - 1) * SIGNUPS_PAGE)
    moderator = access.can_moderate(user, opportunity)
    context: dict[str, Any] = {
        **_labels(), "opportunity": opportunity, "signups": people,
        "hours_by_signup": signups.hours_by_signup(db, opportunity, [s.id for s in people]),
        "pending": signups.pending_hours(db, opportunity),
        "messages": signups.messages(db, opportunity), "audience_labels": AUDIENCE_LABELS,
        "moves": [(s, STATUS_ACTIONS[s]) for s in service.allowed_moves(
            opportunity, organiser=True, moderator=moderator)],
        "can_moderate": moderator, "values": values or {},
        "paging": _page_links(request, opportunity.signed_up + opportunity.waitlisted, page,
                              SIGNUPS_PAGE),
        "retention": service.retention_notice(opportunity),
    }
    if error is not None:
        context.update(form_errors(error.errors))
    response = render(request, "volunteering/manage.html", context, user=user,
                      status_code=422 if error else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/volunteer/opportunities/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser, page: int = 1) -> Response:
    user, opportunity = _organised(db, user, slug)
    return _manage_page(request, db, user, opportunity, page=min(max(page, 1), 100_000))


def _back(request: Request, slug: str, message: str, anchor: str = "") -> Response:
    flash(request, message)
    return RedirectResponse(f"/volunteer/opportunities/{slug}/manage{anchor}",
                            status_code=303)


@router.post("/volunteer/opportunities/{slug}/status", response_class=HTMLResponse)
async def change_status(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    """Submit, publish, return, take down, close or reopen: organisers and moderators each
    make their own moves (a moderator who is not an organiser works from the public page)."""
    user = accounts_access.require_user(user)
    opportunity = _visible(db, user, slug)
    organiser = access.can_organise(db, user, opportunity)
    moderator = access.can_moderate(user, opportunity)
    accounts_access.require(organiser or moderator, "change this opportunity")
    values = await form_values(request)
    try:
        status = OpportunityStatus(values.get("status", ""))
    except ValueError:
        raise ValidationFailed([FieldError("status", "Choose what to do")]) from None
    try:
        service.set_status(db, opportunity=opportunity, status=status, organiser=organiser,
                           moderator=moderator, note=values.get("note", ""))
    except ValidationFailed as exc:
        if organiser:
            return _manage_page(request, db, user, opportunity, error=exc, values=values)
        raise
    flash(request, f"The opportunity is now: {STATUS_LABELS[status].lower()}.")
    target = "manage" if organiser else ""
    return RedirectResponse(f"/volunteer/opportunities/{slug}/{target}".rstrip("/"),
                            status_code=303)


@router.post("/volunteer/opportunities/{slug}/hours/{hours_id}", response_class=HTMLResponse)
async def decide_hours(request: Request, slug: str, hours_id: Number, db: DB,
                       user: CurrentUser) -> Response:
    user, opportunity = _organised(db, user, slug)
    values = await form_values(request)
    decision = values.get("decision", "")
    if decision not in ("confirm", "reject"):
        raise ValidationFailed([FieldError("decision", "Confirm or reject the hours")])
    found = signups.decide_hours(db, opportunity=opportunity, hours_id=hours_id,
                                 confirm=decision == "confirm", user=user)
    verb = "confirmed" if found.status == HoursStatus.CONFIRMED else "rejected"
    return _back(request, slug, f"{found.hours:g} hours {verb}.", "#hours")


@router.post("/volunteer/opportunities/{slug}/signups/{signup_id}/remove",
             response_class=HTMLResponse)
async def remove_signup(request: Request, slug: str, signup_id: Number, db: DB,
                        user: CurrentUser) -> Response:
    user, opportunity = _organised(db, user, slug)
    signups.remove_signup(db, opportunity=opportunity, signup_id=signup_id)
    return _back(request, slug, "The volunteer was removed and their details deleted.",
                 "#signups")


@router.post("/volunteer/opportunities/{slug}/messages", response_class=HTMLResponse)
async def send_message(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, opportunity = _organised(db, user, slug)
    values = await form_values(request)
    try:
        data = validate(MessageIn, {"audience": values.get("audience") or "signed_up",
                                    "subject": values.get("subject", ""),
                                    "body": values.get("body", "")})
        message = signups.send_message(db, opportunity=opportunity, data=data, author=user)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, opportunity, error=exc, values=values)
    return _back(request, slug, f"Message queued for {message.recipients} "
                                f"{'person' if message.recipients == 1 else 'people'}.",
                 "#messages")


@router.get("/volunteer/opportunities/{slug}/signups.csv")
def signups_csv(slug: str, db: DB, user: CurrentUser) -> Response:
    """The sign-ups with their contact details: organisers only; audit-logged."""
    user, opportunity = _organised(db, user, slug)
    return Response(csv_bytes(signups.export_rows(db, opportunity=opportunity)),
                    media_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition": f'attachment; filename="{slug}-signups.csv"',
                        "Cache-Control": "no-store"})


# The public API (included in /api/v1) ------------------------------------------------------

def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses({
        404: "No such opportunity (or not public)",
        422: "The input has errors (for example a postcode that is not a UK postcode, or "
             "one whose place is not known)",
    }, *codes)


api_router = APIRouter(tags=["volunteering"])


def opportunity_out(o: Opportunity, *, site: str, distance_km: float | None = None
                    ) -> OpportunityOut:
    return OpportunityOut(
        slug=o.slug, url=f"{site}/volunteer/opportunities/{o.slug}", title=o.title,
        description=o.description, mission=o.mission.slug, mission_title=o.mission.title,
        organiser=o.organiser_name, partner=o.partner.slug if o.partner else None,
        status=o.status, mode=o.mode, address=o.address, postcode=o.postcode,
        latitude=o.latitude, longitude=o.longitude, area_code=o.area_code,
        starts_on=o.starts_on, ends_on=o.ends_on, time_kind=o.time_kind, hours=o.hours,
        time_note=o.time_note, tags=o.tag_names, accessibility=o.accessibility,
        dbs_check=o.dbs_check, minimum_age=o.minimum_age, capacity=o.capacity,
        places_left=o.places_left, waitlist=o.waitlist, signed_up=o.signed_up,
        hours_confirmed=o.hours_confirmed,
        distance_km=None if distance_km is None else round(distance_km, 3),
        distance_miles=None if distance_km is None else round(_miles(distance_km), 3),
        illustrative=o.illustrative)


@api_router.get("/volunteering/opportunities", response_model=OpportunityPage,
                responses=_problems(404, 422))
def api_opportunities(
    request: Request, db: public_api.DB, caller: Caller, *,
    postcode: Annotated[str, Query(max_length=20, description=(
        "A UK postcode or outward code: only opportunities in person within the radius "
        "(nearest first), then online ones"))] = "",
    radius_miles: Annotated[float, Query(gt=0, le=200)] = service.DEFAULT_RADIUS_MILES,
    tag: Annotated[str, Query(max_length=60, description="An interest or skill")] = "",
    mission: Annotated[str | None, Query(description="A mission's slug")] = None,
    where: Annotated[str, Query(pattern="^(any|in_person|online)$")] = "any",
    limit: Annotated[int, Query(ge=1, le=100)] = service.PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=public_api.MAX_OFFSET)] = 0,
) -> Response:
    """Open volunteering opportunities, with places left and the public counts (never
    anyone's personal data). With a postcode, each in-person one has its great-circle
    distance in kilometres and miles."""
    found = None
    if mission is not None:
        found = missions_service.get_mission(db, slug=mission, include_drafts=False)
    result = service.search(db, query=service.SearchQuery(
        postcode=postcode, radius_km=geo.miles_to_km(radius_miles), tag=tag_of(tag),
        mission_id=found.id if found else None, where=where, limit=limit, offset=offset))
    site = base_url(request).removesuffix("/api/v1")
    following = offset + limit
    return json_response(OpportunityPage(
        items=[opportunity_out(f.opportunity, site=site, distance_km=f.distance_km)
               for f in result.items],
        total=result.total, limit=limit, offset=offset,
        next=(str(request.url.include_query_params(limit=limit, offset=following))
              if following < result.total else None),
        origin=result.origin.postcode if result.origin else None))


@api_router.get("/volunteering/opportunities/{slug}", response_model=OpportunityOut,
                responses=_problems(404))
def api_opportunity(request: Request, slug: str, db: public_api.DB, caller: Caller
                    ) -> Response:
    """One opportunity (published or closed), with its counts."""
    opportunity = service.get_opportunity(db, slug=slug)
    if not opportunity.is_public:
        raise NotFound(f"No volunteering opportunity {slug!r}")
    return json_response(opportunity_out(opportunity,
                                         site=base_url(request).removesuffix("/api/v1")))


@api_router.get("/volunteering/summary", response_model=SummaryOut)
def api_summary(db: public_api.DB, caller: Caller) -> Response:
    """People signed up and hours confirmed, in all, by mission and by area."""
    found = service.summary(db)

    def rows(items: list[service.CountRow]) -> list[CountOut]:
        return [CountOut(key=r.key, name=r.name, opportunities=r.opportunities,
                         signed_up=r.signed_up, hours_confirmed=r.hours_confirmed)
                for r in items]

    return json_response(SummaryOut(
        opportunities=found.opportunities, signed_up=found.signed_up,
        hours_confirmed=found.hours_confirmed, by_mission=rows(found.by_mission),
        by_area=rows(found.by_area)))

