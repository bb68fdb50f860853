"""Public pages for partners and their commitments: the register of commitments with its
filters and downloads (CSV, JSON), a commitment's page, the partners' index and pages, the
"register your organisation" and "join an organisation" journeys with the one-time email link,
and the section of the mission page on what partners have pledged and delivered.

The staff's pages are in :mod:`missionboard.partners.staff_views`, the moderators' in
:mod:`missionboard.partners.moderation_views`, the public API in
:mod:`missionboard.partners.api`. No page shows a member of staff's name or email address to
anyone but that partner's staff and administrators."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from missionboard.accounts.models import User
from missionboard.config import Settings
from missionboard.db.base import utcnow
from missionboard.errors import FieldError, NotFound, TooManyAttempts, ValidationFailed, validate
from missionboard.metrics import service as metrics_service
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.partners import access, charts, register, service
from missionboard.partners import status as rules
from missionboard.partners.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    Partner,
    PartnerKind,
    Sector,
)
from missionboard.partners.schemas import (
    COMMITMENT_KIND_LABELS,
    KIND_LABELS,
    SCHEDULE_LABELS,
    SECTOR_LABELS,
    SIZE_LABELS,
    STATUS_LABELS,
    VERIFICATION_LABELS,
    PartnerIn,
    PersonIn,
    RegisterQuery,
)
from missionboard.partners.trajectory import OPTIMISM_DISCOUNT
from missionboard.web.deps import (
    DB,
    CurrentUser,
    client_ip,
    csrf_protect,
    flash,
    form_errors,
    render,
)
from missionboard.web.uploads import base_url, csv_bytes

router = APIRouter(dependencies=[Depends(csrf_protect)])

#: Every label the templates use.
LABELS: dict[str, Any] = {
    "kind_labels": KIND_LABELS, "size_labels": SIZE_LABELS, "sector_labels": SECTOR_LABELS,
    "commitment_kind_labels": COMMITMENT_KIND_LABELS, "schedule_labels": SCHEDULE_LABELS,
    "verification_labels": VERIFICATION_LABELS, "status_labels": STATUS_LABELS,
    "discounts": OPTIMISM_DISCOUNT, "grace_days": rules.GRACE_DAYS,
    "tolerance": rules.TOLERANCE,
}
#: The choices of the register's fixed filters: (value, label), "any" first.
FILTER_OPTIONS: dict[str, list[tuple[str, str]]] = {
    name: [("", every), *((key.value, label) for key, label in labels.items())]
    for name, every, labels in (
        ("kind", "Every kind", COMMITMENT_KIND_LABELS),
        ("status", "Every status", STATUS_LABELS),
        ("sector", "Every sector", SECTOR_LABELS),
        ("verification", "Any verification", VERIFICATION_LABELS))}
#: Pages of the register beyond this are refused (use the downloads or the API).
MAX_PAGE = 100_000
#: The honeypot: a field people never see; a bot's submission is discarded.
HONEYPOT = "contact_fax"
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def today() -> dt.date:
    return utcnow().date()


def staff_of(db: DB, user: User | None) -> set[int]:
    return service.member_partner_ids(db, user)


# The register ------------------------------------------------------------------------------

def _query_string(q: RegisterQuery, **changes: Any) -> str:
    params = {k: (v.value if hasattr(v, "value") else v)
              for k, v in {**q.model_dump(), **changes}.items() if v not in (None, "")}
    return urlencode(params)


def _paging(q: RegisterQuery, found: register.Page, page: int, path: str) -> dict[str, Any]:
    pages = max(1, -(-found.total // found.limit))
    return {
        "page": page, "pages": pages,
        "previous": f"{path}?{_query_string(q, page=page - 1)}" if page > 1 else None,
        "next": f"{path}?{_query_string(q, page=page + 1)}" if found.has_next else None,
    }


@router.get("/commitments", response_class=HTMLResponse)
def commitments(request: Request, db: DB, user: CurrentUser, *,
                q: Annotated[RegisterQuery, Query()], page: Page = 1) -> Response:
    """The public register, filtered, 50 to a page."""
    found = register.page(db, q, today=today(), base=base_url(request),
                          limit=register.PAGE_SIZE, offset=(page - 1) * register.PAGE_SIZE)
    partner = None
    if q.partner:
        try:
            partner = _public_partner(db, user, q.partner)
        except NotFound:
            partner = None
    return render(request, "partners/commitments.html", {
        **LABELS, "q": q, "found": found, "paging": _paging(q, found, page, "/commitments"),
        "options": FILTER_OPTIONS,
        "query": _query_string(q), "missions": register.mission_choices(db),
        "areas": register.area_choices(db), "partner": partner,
        "filtered": any(v is not None for v in q.model_dump().values()),
    }, user=user)


def _download_name(q: RegisterQuery, suffix: str) -> str:
    return f"missionboard-commitments{'-' + q.mission if q.mission else ''}.{suffix}"


@router.get("/commitments.csv")
def commitments_csv(request: Request, q: Annotated[RegisterQuery, Query()]) -> Response:
    """Every matching public commitment, one a row, streamed."""
    items = register.stream(request.app.state.session_factory, q, today=today(),
                            base=base_url(request))
    return StreamingResponse(register.csv_chunks(items), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="'
                                      + _download_name(q, "csv") + '"'})


@router.get("/commitments.json")
def commitments_json(request: Request, q: Annotated[RegisterQuery, Query()]) -> Response:
    items = register.stream(request.app.state.session_factory, q, today=today(),
                            base=base_url(request))
    meta = {"generated_at": utcnow().isoformat(), "status_on": today().isoformat(),
            "filters": q.model_dump(mode="json", exclude_none=True),
            "optimism_discount": {k.value: v for k, v in OPTIMISM_DISCOUNT.items()},
            "grace_days": rules.GRACE_DAYS}
    return StreamingResponse(register.json_chunks(items, meta=meta),
                             media_type="application/json",
                             headers={"Content-Disposition": 'attachment; filename="'
                                      + _download_name(q, "json") + '"'})


def visible_commitment(db: DB, user: User | None, commitment_id: int) -> Commitment:
    commitment = service.get_commitment(db, commitment_id=commitment_id)
    if not access.can_see_commitment(user, commitment, staff_of(db, user)):
        raise NotFound(f"No commitment {commitment_id}")
    return commitment


def progress_points(commitment: Commitment) -> list[dict[str, Any]]:
    """The chart's points: a target's reported level, or the running total of money or
    hours, at each report."""
    points, money, hours = [], 0.0, 0.0
    for r in commitment.reports:
        money += r.money_spent or 0.0
        hours += r.hours_given or 0.0
        value = {CommitmentKind.MONEY: money, CommitmentKind.TIME: hours}.get(
            commitment.kind, r.value)
        if value is not None:
            points.append({"date": r.period_end.isoformat(), "value": value})
    return points


def _pledge(commitment: Commitment) -> float | None:
    return {CommitmentKind.TARGET: commitment.target,
            CommitmentKind.MONEY: commitment.pledged_money,
            CommitmentKind.TIME: commitment.pledged_hours}.get(commitment.kind)


def commitment_context(db: DB, user: User | None, commitment: Commitment) -> dict[str, Any]:
    """What the commitment's page shows (the public part, and who may do what)."""
    mine = staff_of(db, user)
    assessment = rules.assess(service.terms_of(commitment), service.reports_of(commitment))
    status = rules.status_on(assessment, deadline=commitment.deadline, today=today())
    points = progress_points(commitment)
    spec = None
    if commitment.kind in rules.MEASURED and points:
        spec = charts.progress_spec(
            kind=commitment.kind, unit=commitment.unit, start_on=commitment.start_on,
            deadline=commitment.deadline,
            baseline=commitment.baseline if commitment.kind == CommitmentKind.TARGET else 0.0,
            pledge=_pledge(commitment), points=points)
    from missionboard.partners.trajectory import countable_problems, discount_reason

    return {
        **LABELS, "c": commitment, "status": status, "assessment": assessment,
        "spec": spec, "points": points, "discount": OPTIMISM_DISCOUNT[commitment.verification],
        "discount_reason": discount_reason(commitment),
        "changes": service.commitment_changes(db, commitment=commitment),
        "can_act": access.can_act_for(user, commitment.partner, mine),
        "can_moderate": access.can_moderate(user, commitment),
        "countable": countable_problems(commitment), "today": today(),
    }


@router.get("/commitments/{commitment_id}", response_class=HTMLResponse)
def commitment_page(request: Request, commitment_id: int, db: DB, user: CurrentUser
                    ) -> Response:
    commitment = visible_commitment(db, user, commitment_id)
    return render(request, "partners/commitment.html",
                  commitment_context(db, user, commitment), user=user)


# Partners ----------------------------------------------------------------------------------

@router.get("/partners", response_class=HTMLResponse)
def partners_index(request: Request, db: DB, user: CurrentUser, *,
                   kind: PartnerKind | None = None, sector: Sector | None = None,
                   page: Page = 1) -> Response:
    size = register.PAGE_SIZE
    partners, total = service.list_partners(db, limit=size, offset=(page - 1) * size,
                                            kind=kind, sector=sector)
    filters = {k: v.value for k, v in (("kind", kind), ("sector", sector)) if v is not None}
    pages = max(1, -(-total // size))
    return render(request, "partners/index.html", {
        **LABELS, "partners": partners, "total": total, "kind": kind, "sector": sector,
        "paging": {"page": page, "pages": pages,
                   "previous": (f"/partners?{urlencode({**filters, 'page': page - 1})}"
                                if page > 1 else None),
                   "next": (f"/partners?{urlencode({**filters, 'page': page + 1})}"
                            if page < pages else None)},
        "memberships": service.memberships(db, user=user) if user else [],
    }, user=user)


@router.get("/partners/mine", response_class=HTMLResponse)
def my_partners(request: Request, db: DB, user: CurrentUser) -> Response:
    """Where a member of staff lands: their organisation (or a list when there are several)."""
    from missionboard.accounts import access as accounts_access

    user = accounts_access.require_user(user)
    mine = service.memberships(db, user=user)
    if len(mine) == 1:
        return RedirectResponse(f"/partners/{mine[0].partner.slug}/manage", status_code=303)
    return render(request, "partners/mine.html", {**LABELS, "memberships": mine}, user=user)


# Registering an organisation, joining one, confirming the email address --------------------

def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _person(values: dict[str, str], user: User | None) -> tuple[PersonIn | None,
                                                                list[FieldError]]:
    if user is not None:
        return PersonIn(person_name=user.name, email=user.email,
                        job_title=values.get("job_title", "")), []
    try:
        return validate(PersonIn, values), []
    except ValidationFailed as exc:
        renamed = {"email": "Enter an email address, like name@example.org"}
        return None, [FieldError(e.field, renamed.get(e.field, e.message))
                      for e in exc.errors]


def _partner_data(values: dict[str, Any]) -> tuple[PartnerIn | None, list[FieldError]]:
    try:
        return validate(PartnerIn, values), []
    except ValidationFailed as exc:
        return None, exc.errors


async def partner_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items()
                              if k not in ("csrf_token", "area_codes") and isinstance(v, str)}
    values["area_codes"] = [c for c in form.getlist("area_codes") if isinstance(c, str)]
    return values


def partner_form_context(db: DB, values: dict[str, Any]) -> dict[str, Any]:
    areas = [a for a in metrics_service.list_areas(db) if a.level in ("country", "region",
                                                                      "uk", "nation")]
    return {**LABELS, "values": values, "areas": areas}


def _register_form(request: Request, db: DB, user: User | None, values: dict[str, Any], *,
                   errors: list[FieldError] | None = None, status: int = 200,
                   partner: Partner | None = None) -> Response:
    context = {**partner_form_context(db, values), "partner": partner,
               "honeypot": HONEYPOT}
    if errors:
        context.update(form_errors(errors))
    template = "partners/join.html" if partner else "partners/register.html"
    return render(request, template, context, user=user,
                  status_code=status if not errors or status != 200 else 422)


@router.get("/partners/register", response_class=HTMLResponse)
def register_form(request: Request, db: DB, user: CurrentUser) -> Response:
    return _register_form(request, db, user, {"area_codes": []})


def _sign_in_new(request: Request, user: User, was_signed_in: bool) -> None:
    if not was_signed_in:
        request.session.clear()  # a new session for the new account (no fixation)
        request.session["user_id"] = user.id


def _guard(request: Request, db: DB, values: dict[str, Any]) -> bool:
    """The honeypot and the rate limits; True when the submission is a bot's."""
    secret = _settings(request).secret_key
    if values.get(HONEYPOT, "").strip():
        service.record_attempt(db, secret=secret, client=client_ip(request))
        return True
    service.record_attempt(db, secret=secret, client=client_ip(request),
                           email=values.get("email", ""))
    return False


@router.post("/partners/register", response_class=HTMLResponse)
async def register_submit(request: Request, db: DB, user: CurrentUser) -> Response:
    values = await partner_values(request)
    try:
        if _guard(request, db, values):
            return RedirectResponse("/partners/registered", status_code=303)
    except TooManyAttempts as exc:
        return _register_form(request, db, user, values,
                              errors=[FieldError("name", exc.detail)], status=429)
    person, person_errors = _person(values, user)
    data, partner_errors = _partner_data(values)
    if person is None or data is None:
        return _register_form(request, db, user, values, errors=partner_errors + person_errors)
    try:
        done = service.register_partner(db, data=data, person=person, user=user,
                                        site=base_url(request))
    except ValidationFailed as exc:
        return _register_form(request, db, user, values, errors=exc.errors)
    account = done.member.user
    db.info["actor_id"] = account.id
    _sign_in_new(request, account, user is not None)
    flash(request, f"{data.name} is registered. We have sent a link to {account.email}: "
                   "follow it to confirm your email address.")
    return RedirectResponse(f"/partners/{done.partner.slug}/manage", status_code=303)


@router.get("/partners/registered", response_class=HTMLResponse)
def registered(request: Request, user: CurrentUser) -> Response:
    """What a submission discarded as a bot's is told (a person never lands here)."""
    return render(request, "partners/registered.html", {}, user=user)


@router.get("/partners/verify/{token}", response_class=HTMLResponse)
def verify_form(request: Request, token: str, user: CurrentUser) -> Response:
    """The link in the email: a button, so that mail scanners following links do not use
    it up."""
    return render(request, "partners/verify.html", {"token": token}, user=user)


@router.post("/partners/verify/{token}", response_class=HTMLResponse)
def verify(request: Request, token: str, db: DB, user: CurrentUser) -> Response:
    member = service.confirm_email(db, token=token)
    if member.verified:
        message = (f"Your email address is confirmed, and you are verified as staff of "
                   f"{member.partner.name}.")
    else:
        message = (f"Your email address is confirmed. An administrator will check that you "
                   f"work for {member.partner.name}; until then you cannot act for it.")
    flash(request, message)
    target = f"/partners/{member.partner.slug}/manage"
    if user is None or user.id != member.user_id:
        return RedirectResponse(f"/sign-in?next={target}", status_code=303)
    return RedirectResponse(target, status_code=303)


def _public_partner(db: DB, user: User | None, slug: str) -> Partner:
    partner = service.get_partner(db, slug=slug)
    if not access.can_see_partner(user, partner, staff_of(db, user)):
        raise NotFound(f"No partner {slug!r}")
    return partner


@router.get("/partners/{slug}/join", response_class=HTMLResponse)
def join_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    partner = _public_partner(db, user, slug)
    return _register_form(request, db, user, {}, partner=partner)


@router.post("/partners/{slug}/join", response_class=HTMLResponse)
async def join_submit(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    partner = _public_partner(db, user, slug)
    values = await partner_values(request)
    try:
        if _guard(request, db, values):
            return RedirectResponse("/partners/registered", status_code=303)
    except TooManyAttempts as exc:
        return _register_form(request, db, user, values, partner=partner,
                              errors=[FieldError("email" if user is None else "job_title",
                                                 exc.detail)], status=429)
    person, errors = _person(values, user)
    if person is None:
        return _register_form(request, db, user, values, partner=partner, errors=errors)
    try:
        done = service.join_partner(db, partner=partner, person=person, user=user,
                                    site=base_url(request))
    except ValidationFailed as exc:
        return _register_form(request, db, user, values, partner=partner, errors=exc.errors)
    account = done.member.user
    db.info["actor_id"] = account.id
    _sign_in_new(request, account, user is not None)
    flash(request, f"We have sent a link to {account.email}: follow it to confirm your email "
                   "address.")
    return RedirectResponse(f"/partners/{partner.slug}/manage", status_code=303)


@router.get("/partners/{slug}", response_class=HTMLResponse)
def partner_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    partner = _public_partner(db, user, slug)
    mine = staff_of(db, user)
    shown = service.partner_commitments(db, partner=partner, public_only=True)
    return render(request, "partners/partner.html", {
        **LABELS, "partner": partner, "commitments": shown,
        "statuses": {c.id: service.current_status(c, today=today()) for c in shown},
        "can_act": access.can_act_for(user, partner, mine),
        "is_member": user is not None and any(m.user_id == user.id for m in partner.members),
    }, user=user)


# The mission page's section ----------------------------------------------------------------

def mission_section(db: DB, mission: Mission) -> dict[str, Any]:
    """The context of ``partners/_mission_section.html`` on the mission's page."""
    totals = register.mission_totals(db, mission=mission, today=today(),
                                     sector_labels=SECTOR_LABELS)
    return {"partner_totals": totals, "partner_map": charts.tile_map(totals.by_area),
            "partner_tiles": charts.tile_values(totals.by_area),
            "partner_labels": LABELS, "partner_statuses": [
                (s, STATUS_LABELS[s], totals.by_status.get(s, 0)) for s in CommitmentStatus]}


def _published_totals(db: DB, slug: str) -> register.MissionTotals:
    mission = missions_service.get_mission(db, slug=slug, include_drafts=False)
    return register.mission_totals(db, mission=mission, today=today(),
                                   sector_labels=SECTOR_LABELS)


@router.get("/missions/{slug}/partners.csv")
def mission_totals_csv(slug: str, db: DB) -> Response:
    """The mission's totals overall, by sector and by area (the tables beside the map)."""
    totals = _published_totals(db, slug)
    rows = register.totals_rows([totals.overall])
    rows += [["sector: " + r[0], *r[1:]] for r in register.totals_rows(totals.by_sector)[1:]]
    rows += [["area: " + r[0], *r[1:]] for r in register.totals_rows(totals.by_area)[1:]]
    return Response(csv_bytes(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{slug}-partners.csv"'})


@router.get("/missions/{slug}/partners.json")
def mission_totals_json(slug: str, db: DB) -> Response:
    totals = _published_totals(db, slug)
    body = {"mission": slug, "status_on": today().isoformat(),
            "overall": dataclasses.asdict(totals.overall),
            "by_sector": [dataclasses.asdict(t) for t in totals.by_sector],
            "by_area": [dataclasses.asdict(t) for t in totals.by_area],
            "by_status": {k.value: v for k, v in totals.by_status.items()},
            "effects": [dataclasses.asdict(e) for e in totals.effects]}
    return Response(json.dumps(body, indent=1, ensure_ascii=False),
                    media_type="application/json", headers={
                        "Content-Disposition": f'attachment; filename="{slug}-partners.json"'})
