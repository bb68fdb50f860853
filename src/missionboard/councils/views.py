"""Pages for mission councils: the public tracker (``/councils/{slug}``, also reached from
``/missions/{slug}/council``) with the recommendations and the government's responses, the
members and their balance by sector, and the meetings; a meeting's page with its published
minutes; a recommendation's page; the tracker's CSV and JSON downloads. The pages of those
who run the council: its set-up (editors), its register of members (editors and the
secretariat), meetings, minutes and recommendations (the secretariat), and the government's
responses (editors). And the councils part of the public JSON API (``api_router``, included
in ``/api/v1``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.councils import service
from missionboard.councils.charts import balance_spec
from missionboard.councils.models import (
    IMPLEMENTATION_LABELS,
    SECTOR_LABELS,
    STATUS_LABELS,
    Attendance,
    Council,
    CouncilMeeting,
    CouncilMember,
    CouncilRecommendation,
    Implementation,
    MemberRole,
    RecommendationStatus,
    ResponseKind,
    Sector,
)
from missionboard.councils.schemas import (
    CouncilIn,
    CouncilOut,
    ImplementationIn,
    MeetingIn,
    MemberIn,
    RecommendationIn,
    RecommendationList,
    ResponseIn,
)
from missionboard.db.base import utcnow
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.web import api as public_api
from missionboard.web.api import Caller, problem_responses
from missionboard.web.deps import (
    DB,
    CurrentUser,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)
from missionboard.web.mission_access import mission_for_new
from missionboard.web.uploads import base_url, csv_bytes

router = APIRouter(dependencies=[Depends(csrf_protect)])

RESPONSE_LABELS = {
    ResponseKind.ACCEPTED: "Accepted",
    ResponseKind.PARTLY_ACCEPTED: "Partly accepted",
    ResponseKind.REJECTED: "Rejected",
}
ATTENDANCE_LABELS = {"present": "Present", "apologies": "Sent apologies", "absent": "Absent"}
ROLE_LABELS = {MemberRole.CHAIR: "Chair", MemberRole.MEMBER: "Member"}
#: A meeting's id or a recommendation's number in a path: a 32-bit integer.
Number = Annotated[int, Path(ge=0, lt=2**31)]

_SET_UP = "set up this mission's council"
_RESPOND = "respond to this council's recommendations"
_RECORD = "record this council's meetings and recommendations"
_REGISTER = "keep this council's register of members"


def _today() -> dt.date:
    return utcnow().date()


# Helpers -----------------------------------------------------------------------------------

def _council(db: DB, user: User | None, slug: str) -> Council:
    council = service.get_council(db, slug=slug)
    if not service.can_see(user, council):
        raise NotFound(f"No council {slug!r}")
    return council


def _allowed(db: DB, user: User | None, slug: str,
             check: Callable[[User | None, Council], bool], what: str) -> tuple[User, Council]:
    user = access.require_user(user)
    council = service.get_council(db, slug=slug)
    access.require(check(user, council), what)
    return user, council


def _renamed(exc: ValidationFailed, names: Mapping[str, str]) -> ValidationFailed:
    """Errors of the form as a whole shown against the field they concern."""
    return ValidationFailed([FieldError(names.get(e.field, e.field), e.message, e.row)
                             for e in exc.errors])


def _text(value: object) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def _done(request: Request, path: str, message: str) -> Response:
    flash(request, message)
    return RedirectResponse(path, status_code=303)


def _form(request: Request, user: User, template: str, context: dict[str, Any],
          error: ValidationFailed | None) -> Response:
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, template, context, user=user, status_code=422 if error else 200)


def _rows(recommendations: list[CouncilRecommendation], today: dt.date
          ) -> list[dict[str, Any]]:
    """Each recommendation with its status today, how late its response came and how long
    past its due date it is."""
    return [{"r": r, "status": service.status_of(r, today=today),
             "late": service.lateness(r),
             "days_overdue": max(0, (today - r.response_due).days)} for r in recommendations]


def _labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "response_labels": RESPONSE_LABELS,
            "sector_labels": SECTOR_LABELS, "role_labels": ROLE_LABELS,
            "implementation_labels": IMPLEMENTATION_LABELS, "statuses": service.STATUS_ORDER}


# The public tracker ------------------------------------------------------------------------

@router.get("/councils", response_class=HTMLResponse)
def index(request: Request, db: DB, user: CurrentUser) -> Response:
    today = _today()
    councils = [c for c in service.list_councils(db) if service.can_see(user, c)]
    return render(request, "councils/index.html", {
        **_labels(), "councils": councils,
        "counts": {c.id: service.status_counts(service.list_recommendations(db, council=c),
                                               today=today) for c in councils},
    }, user=user)


@router.get("/councils/{slug}", response_class=HTMLResponse)
def council_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    council = _council(db, user, slug)
    today = _today()
    recommendations = service.list_recommendations(db, council=council)
    rows = _rows(recommendations, today)
    found = service.balance(council, today=today)
    return render(request, "councils/council.html", {
        **_labels(), "council": council, "today": today, "rows": rows,
        "overdue": [row for row in rows if row["status"] == RecommendationStatus.OVERDUE],
        "counts": service.status_counts(recommendations, today=today),
        "chair": service.chair(council, today=today),
        "current": service.current_members(council, today=today),
        "former": service.former_members(council, today=today),
        "appointed": [m for m in council.members if m.term_start > today],
        "balance": found, "spec": balance_spec(found),
        "meetings": service.list_meetings(db, council=council),
        "can_manage": service.can_manage(user, council),
        "can_see_drafts": service.can_see_drafts(user, council),
    }, user=user)


@router.get("/missions/{slug}/council", response_class=HTMLResponse)
def mission_council(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    council = service.council_for_mission(db, mission=mission)
    if council is not None and service.can_see(user, council):
        return RedirectResponse(f"/councils/{council.slug}", status_code=302)
    return render(request, "councils/none.html", {
        "mission": mission, "can_edit": access.can_edit_mission(user, mission.id)}, user=user)


def _tracker(request: Request, db: DB, council: Council) -> RecommendationList:
    today = _today()
    base = base_url(request).removesuffix("/api/v1")
    recommendations = service.list_recommendations(db, council=council)
    return RecommendationList(
        council=council.slug, as_of=today,
        counts=service.status_counts(recommendations, today=today),
        items=[service.recommendation_out(council, r, today=today, base_url=base)
               for r in recommendations])


@router.get("/councils/{slug}/recommendations.csv")
def recommendations_csv(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    """Every recommendation with its status today and the government's response."""
    council = _council(db, user, slug)
    body = csv_bytes(service.recommendation_rows(_tracker(request, db, council).items))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{slug}-recommendations.csv"'})


@router.get("/councils/{slug}/recommendations.json")
def recommendations_json(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    council = _council(db, user, slug)
    tracker = _tracker(request, db, council)
    return Response(json.dumps(tracker.model_dump(mode="json"), indent=1, ensure_ascii=False),
                    media_type="application/json", headers={
                        "Content-Disposition":
                            f'attachment; filename="{slug}-recommendations.json"'})


# Set-up: the council, its secretariat ------------------------------------------------------

def _council_values(council: Council) -> dict[str, Any]:
    return {"slug": council.slug, "name": council.name, "remit": council.remit,
            "terms_of_reference": council.terms_of_reference,
            "max_sector_percent": f"{council.max_sector_share * 100:g}",
            "required_sectors": list(council.required_sectors),
            "response_weeks": str(council.response_weeks)}


async def _council_data(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's values (to show again) and the data to validate."""
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in (await form_values(request)).items()
                              if k != "required_sectors"}
    values["required_sectors"] = [v for v in form.getlist("required_sectors")
                                  if isinstance(v, str)]
    data = {**values, "max_sector_percent": values.get("max_sector_percent") or 40,
            "response_weeks": values.get("response_weeks") or 8}
    return values, data


def _council_form(request: Request, user: User, mission: Mission, values: dict[str, Any], *,
                  council: Council | None = None, error: ValidationFailed | None = None
                  ) -> Response:
    return _form(request, user, "councils/council_form.html", {
        **_labels(), "mission": mission, "council": council, "values": values,
        "sectors": list(Sector)}, error)


@router.get("/missions/{slug}/council/new", response_class=HTMLResponse)
def new_council(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _SET_UP)
    return _council_form(request, user, mission, {
        "slug": f"{mission.slug}-council", "max_sector_percent": "40", "response_weeks": "8",
        "required_sectors": []})


@router.post("/missions/{slug}/council/new", response_class=HTMLResponse)
async def create_council(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _SET_UP)
    values, data = await _council_data(request)
    try:
        council = service.create_council(db, mission=mission, data=validate(CouncilIn, data))
    except ValidationFailed as exc:
        return _council_form(request, user, mission, values, error=exc)
    return _done(request, f"/councils/{council.slug}/manage",
                 "Council set up. Add its members and its secretariat.")


@router.get("/councils/{slug}/edit", response_class=HTMLResponse)
def edit_council(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_set_up, _SET_UP)
    return _council_form(request, user, council.mission, _council_values(council),
                         council=council)


@router.post("/councils/{slug}/edit", response_class=HTMLResponse)
async def save_council(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_set_up, _SET_UP)
    values, data = await _council_data(request)
    values["slug"] = data["slug"] = slug
    try:
        service.update_council(db, council=council, data=validate(CouncilIn, data))
    except ValidationFailed as exc:
        return _council_form(request, user, council.mission, values, council=council,
                             error=exc)
    return _done(request, f"/councils/{slug}/manage", "Council details saved.")


# The management page -----------------------------------------------------------------------

def _manage_page(request: Request, db: DB, user: User, council: Council, *,
                 error: ValidationFailed | None = None,
                 values: dict[str, Any] | None = None) -> Response:
    today = _today()
    return _form(request, user, "councils/manage.html", {
        **_labels(), "council": council, "today": today, "values": values or {},
        "rows": _rows(service.list_recommendations(db, council=council), today),
        "meetings": service.list_meetings(db, council=council),
        "balance": service.balance(council, today=today),
        "on_record": service.members_on_record(db, council=council),
        "can_set_up": service.can_set_up(user, council),
        "can_keep_register": service.can_keep_register(user, council),
        "can_record": service.can_record(user, council),
        "can_respond": service.can_respond(user, council),
    }, error)


@router.get("/councils/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_manage, "manage this council")
    return _manage_page(request, db, user, council)


@router.post("/councils/{slug}/staff", response_class=HTMLResponse)
async def add_secretary(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_set_up, _SET_UP)
    values = await form_values(request)
    try:
        staff = service.add_secretary(db, council=council, email=values.get("email", ""))
    except ValidationFailed as exc:
        return _manage_page(request, db, user, council, error=exc, values=values)
    return _done(request, f"/councils/{slug}/manage#secretariat",
                 f"{staff.user.name} is now on the council's secretariat.")


@router.post("/councils/{slug}/staff/{staff_id}/remove", response_class=HTMLResponse)
async def remove_secretary(request: Request, slug: str, staff_id: Number, db: DB,
                           user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_set_up, _SET_UP)
    service.remove_secretary(db, council=council, staff_id=staff_id)
    return _done(request, f"/councils/{slug}/manage#secretariat",
                 "Removed from the secretariat.")


# The register of members -------------------------------------------------------------------

def _member_values(member: CouncilMember) -> dict[str, str]:
    return {"name": member.name, "organisation": member.organisation,
            "sector": member.sector.value, "role": member.role.value,
            "term_start": _text(member.term_start), "term_end": _text(member.term_end),
            "interests": member.interests, "email": member.email, "phone": member.phone}


def _member_form(request: Request, user: User, council: Council, values: dict[str, Any], *,
                 member: CouncilMember | None = None, error: ValidationFailed | None = None
                 ) -> Response:
    return _form(request, user, "councils/member_form.html", {
        **_labels(), "council": council, "member": member, "values": values,
        "sectors": list(Sector), "roles": list(MemberRole)}, error)


def _member_data(values: dict[str, str]) -> MemberIn:
    return validate(MemberIn, {**values, "term_end": values.get("term_end") or None})


@router.get("/councils/{slug}/members/new", response_class=HTMLResponse)
def new_member(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_keep_register, _REGISTER)
    return _member_form(request, user, council, {"role": "member",
                                                 "term_start": _today().isoformat()})


@router.post("/councils/{slug}/members/new", response_class=HTMLResponse)
async def create_member(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_keep_register, _REGISTER)
    values = await form_values(request)
    try:
        member = service.add_member(db, council=council, data=_member_data(values))
    except ValidationFailed as exc:
        return _member_form(request, user, council, values, error=exc)
    return _done(request, f"/councils/{slug}/manage#members", f"{member.name} added.")


@router.get("/councils/{slug}/members/{member_id}/edit", response_class=HTMLResponse)
def edit_member(request: Request, slug: str, member_id: Number, db: DB, user: CurrentUser
                ) -> Response:
    user, council = _allowed(db, user, slug, service.can_keep_register, _REGISTER)
    member = service.get_member(db, council=council, member_id=member_id)
    return _member_form(request, user, council, _member_values(member), member=member)


@router.post("/councils/{slug}/members/{member_id}/edit", response_class=HTMLResponse)
async def save_member(request: Request, slug: str, member_id: Number, db: DB,
                      user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_keep_register, _REGISTER)
    member = service.get_member(db, council=council, member_id=member_id)
    values = await form_values(request)
    try:
        service.update_member(db, member=member, data=_member_data(values))
    except ValidationFailed as exc:
        return _member_form(request, user, council, values, member=member, error=exc)
    return _done(request, f"/councils/{slug}/manage#members", f"{member.name} saved.")


@router.post("/councils/{slug}/members/{member_id}/remove", response_class=HTMLResponse)
async def remove_member(request: Request, slug: str, member_id: Number, db: DB,
                        user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_keep_register, _REGISTER)
    member = service.get_member(db, council=council, member_id=member_id)
    name = member.name
    service.remove_member(db, member=member)
    return _done(request, f"/councils/{slug}/manage#members", f"{name} removed.")


# Meetings and minutes ----------------------------------------------------------------------

def _meeting_values(meeting: CouncilMeeting) -> dict[str, Any]:
    return {"held_on": _text(meeting.held_on), "title": meeting.title,
            "agenda": meeting.agenda, "others_present": meeting.others_present,
            **{f"attendance-{a.member_id}": a.status.value for a in meeting.attendance}}


def _meeting_form(request: Request, user: User, council: Council, values: dict[str, Any], *,
                  meeting: CouncilMeeting | None = None, error: ValidationFailed | None = None
                  ) -> Response:
    day = meeting.held_on if meeting is not None else _today()
    recorded = {a.member_id for a in meeting.attendance} if meeting is not None else set()
    members = [m for m in council.members if m.serves_on(day) or m.id in recorded]
    return _form(request, user, "councils/meeting_form.html", {
        **_labels(), "council": council, "meeting": meeting, "values": values,
        "members": members, "attendance_labels": ATTENDANCE_LABELS}, error)


def _meeting_data(values: dict[str, str]) -> MeetingIn:
    present: list[int] = []
    apologies: list[int] = []
    errors = []
    for key, value in values.items():
        if not key.startswith("attendance-") or value == "absent":
            continue
        member_id = key.removeprefix("attendance-")
        if not member_id.isdigit() or value not in (a.value for a in Attendance):
            errors.append(FieldError("attendance", "Choose present, sent apologies or absent "
                                                   "for each member"))
            continue
        (present if value == Attendance.PRESENT else apologies).append(int(member_id))
    try:
        data = validate(MeetingIn, {k: v for k, v in values.items()
                                    if not k.startswith("attendance-")}
                        | {"present": present, "apologies": apologies})
    except ValidationFailed as exc:
        raise ValidationFailed(_renamed(exc, {"form": "attendance"}).errors + errors) from None
    if errors:
        raise ValidationFailed(errors)
    return data


def _meeting_errors(exc: ValidationFailed) -> ValidationFailed:
    return _renamed(exc, {"present": "attendance", "apologies": "attendance"})


@router.get("/councils/{slug}/meetings/new", response_class=HTMLResponse)
def new_meeting(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    return _meeting_form(request, user, council, {})


@router.post("/councils/{slug}/meetings/new", response_class=HTMLResponse)
async def create_meeting(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    values = await form_values(request)
    try:
        meeting = service.save_meeting(db, council=council, data=_meeting_data(values),
                                       today=_today())
    except ValidationFailed as exc:
        return _meeting_form(request, user, council, values, error=_meeting_errors(exc))
    return _done(request, f"/councils/{slug}/meetings/{meeting.id}",
                 "Meeting recorded. Write its minutes when it has been held.")


@router.get("/councils/{slug}/meetings/{meeting_id}/edit", response_class=HTMLResponse)
def edit_meeting(request: Request, slug: str, meeting_id: Number, db: DB, user: CurrentUser
                 ) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    meeting = service.get_meeting(db, council=council, meeting_id=meeting_id)
    return _meeting_form(request, user, council, _meeting_values(meeting), meeting=meeting)


@router.post("/councils/{slug}/meetings/{meeting_id}/edit", response_class=HTMLResponse)
async def save_meeting(request: Request, slug: str, meeting_id: Number, db: DB,
                       user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    meeting = service.get_meeting(db, council=council, meeting_id=meeting_id)
    values = await form_values(request)
    try:
        service.save_meeting(db, council=council, data=_meeting_data(values), today=_today(),
                             meeting=meeting)
    except ValidationFailed as exc:
        return _meeting_form(request, user, council, values, meeting=meeting,
                             error=_meeting_errors(exc))
    return _done(request, f"/councils/{slug}/meetings/{meeting_id}", "Meeting saved.")


@router.get("/councils/{slug}/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(request: Request, slug: str, meeting_id: Number, db: DB, user: CurrentUser
                 ) -> Response:
    council = _council(db, user, slug)
    meeting = service.get_meeting(db, council=council, meeting_id=meeting_id)
    today = _today()
    made = [r for r in service.list_recommendations(db, council=council)
            if r.meeting_id == meeting.id]
    listed = {a.member_id for a in meeting.attendance}
    return render(request, "councils/meeting.html", {
        **_labels(), "council": council, "meeting": meeting, "today": today,
        "present": meeting.attended(Attendance.PRESENT),
        "apologies": meeting.attended(Attendance.APOLOGIES),
        "absent": [m for m in council.members
                   if m.serves_on(meeting.held_on) and m.id not in listed],
        "rows": _rows(made, today),
        "can_see_drafts": service.can_see_drafts(user, council),
        "can_record": service.can_record(user, council),
    }, user=user)


def _minutes_page(request: Request, user: User, council: Council, meeting: CouncilMeeting,
                  values: dict[str, Any], *, error: ValidationFailed | None = None
                  ) -> Response:
    return _form(request, user, "councils/minutes_form.html", {
        "council": council, "meeting": meeting, "values": values, "today": _today()}, error)


@router.get("/councils/{slug}/meetings/{meeting_id}/minutes", response_class=HTMLResponse)
def edit_minutes(request: Request, slug: str, meeting_id: Number, db: DB, user: CurrentUser
                 ) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    meeting = service.get_meeting(db, council=council, meeting_id=meeting_id)
    return _minutes_page(request, user, council, meeting, {"minutes": meeting.minutes})


@router.post("/councils/{slug}/meetings/{meeting_id}/minutes", response_class=HTMLResponse)
async def save_minutes(request: Request, slug: str, meeting_id: Number, db: DB,
                       user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    meeting = service.get_meeting(db, council=council, meeting_id=meeting_id)
    values = await form_values(request)
    service.save_minutes(db, meeting=meeting, text=values.get("minutes", ""))
    return _done(request, f"/councils/{slug}/meetings/{meeting_id}/minutes",
                 "Draft minutes saved. They are not public until you publish them.")


@router.post("/councils/{slug}/meetings/{meeting_id}/minutes/publish",
             response_class=HTMLResponse)
async def publish_minutes(request: Request, slug: str, meeting_id: Number, db: DB,
                          user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    meeting = service.get_meeting(db, council=council, meeting_id=meeting_id)
    values = await form_values(request)
    try:
        if "minutes" in values:  # the text in the box is what is published
            service.save_minutes(db, meeting=meeting, text=values["minutes"])
        service.publish_minutes(db, meeting=meeting, today=_today())
    except ValidationFailed as exc:
        return _minutes_page(request, user, council, meeting, values, error=exc)
    return _done(request, f"/councils/{slug}/meetings/{meeting_id}", "Minutes published.")


# Recommendations ---------------------------------------------------------------------------

def _recommendation_values(r: CouncilRecommendation) -> dict[str, str]:
    return {"title": r.title, "text": r.text, "meeting_id": _text(r.meeting_id),
            "made_on": _text(r.made_on), "response_due": _text(r.response_due)}


def _recommendation_form(request: Request, db: DB, user: User, council: Council,
                         values: dict[str, Any], *,
                         recommendation: CouncilRecommendation | None = None,
                         error: ValidationFailed | None = None) -> Response:
    return _form(request, user, "councils/recommendation_form.html", {
        "council": council, "recommendation": recommendation, "values": values,
        "meetings": service.list_meetings(db, council=council)}, error)


def _recommendation_data(values: dict[str, str]) -> RecommendationIn:
    optional = ("meeting_id", "made_on", "response_due")
    return validate(RecommendationIn, {**values, **{k: values.get(k) or None
                                                    for k in optional}})


@router.get("/councils/{slug}/recommendations/new", response_class=HTMLResponse)
def new_recommendation(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    return _recommendation_form(request, db, user, council, {})


@router.post("/councils/{slug}/recommendations/new", response_class=HTMLResponse)
async def create_recommendation(request: Request, slug: str, db: DB, user: CurrentUser
                                ) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    values = await form_values(request)
    try:
        r = service.add_recommendation(db, council=council, data=_recommendation_data(values),
                                       today=_today())
    except ValidationFailed as exc:
        return _recommendation_form(request, db, user, council, values, error=exc)
    return _done(request, f"/councils/{slug}/recommendations/{r.number}",
                 f"Recommendation {r.number} recorded; the government's response is due "
                 f"by {r.response_due:%-d %B %Y}.")


@router.get("/councils/{slug}/recommendations/{number}/edit", response_class=HTMLResponse)
def edit_recommendation(request: Request, slug: str, number: Number, db: DB,
                        user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    r = service.get_recommendation(db, council=council, number=number)
    return _recommendation_form(request, db, user, council, _recommendation_values(r),
                                recommendation=r)


@router.post("/councils/{slug}/recommendations/{number}/edit", response_class=HTMLResponse)
async def save_recommendation(request: Request, slug: str, number: Number, db: DB,
                              user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_record, _RECORD)
    r = service.get_recommendation(db, council=council, number=number)
    values = await form_values(request)
    try:
        service.update_recommendation(db, recommendation=r, data=_recommendation_data(values),
                                      today=_today())
    except ValidationFailed as exc:
        return _recommendation_form(request, db, user, council, values, recommendation=r,
                                    error=exc)
    return _done(request, f"/councils/{slug}/recommendations/{number}",
                 f"Recommendation {number} saved.")


@router.get("/councils/{slug}/recommendations/{number}", response_class=HTMLResponse)
def recommendation_page(request: Request, slug: str, number: Number, db: DB,
                        user: CurrentUser) -> Response:
    council = _council(db, user, slug)
    r = service.get_recommendation(db, council=council, number=number)
    today = _today()
    return render(request, "councils/recommendation.html", {
        **_labels(), "council": council, "r": r, "today": today,
        "status": service.status_of(r, today=today), "late": service.lateness(r),
        "can_record": service.can_record(user, council),
        "can_respond": service.can_respond(user, council),
    }, user=user)


# The government's responses ----------------------------------------------------------------

def _response_page(request: Request, user: User, council: Council, r: CouncilRecommendation,
                   values: dict[str, Any], *, error: ValidationFailed | None = None
                   ) -> Response:
    today = _today()
    return _form(request, user, "councils/response_form.html", {
        **_labels(), "council": council, "r": r, "values": values, "today": today,
        "status": service.status_of(r, today=today), "kinds": list(ResponseKind),
        "implementations": list(Implementation)}, error)


def _response_values(r: CouncilRecommendation) -> dict[str, str]:
    response = r.response
    if response is None:
        return {"responded_on": _today().isoformat(), "updated_on": _today().isoformat()}
    return {"kind": response.kind.value, "text": response.text, "reason": response.reason,
            "responded_on": _text(response.responded_on),
            "implementation": _text(response.implementation),
            "note": response.implementation_note,
            "updated_on": _text(response.implementation_updated_on) or _today().isoformat()}


@router.get("/councils/{slug}/recommendations/{number}/respond", response_class=HTMLResponse)
def edit_response(request: Request, slug: str, number: Number, db: DB, user: CurrentUser
                  ) -> Response:
    user, council = _allowed(db, user, slug, service.can_respond, _RESPOND)
    r = service.get_recommendation(db, council=council, number=number)
    return _response_page(request, user, council, r, _response_values(r))


@router.post("/councils/{slug}/recommendations/{number}/respond", response_class=HTMLResponse)
async def save_response(request: Request, slug: str, number: Number, db: DB,
                        user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_respond, _RESPOND)
    r = service.get_recommendation(db, council=council, number=number)
    values = await form_values(request)
    try:
        data = validate(ResponseIn, values)
        response = service.respond(db, recommendation=r, data=data, today=_today())
    except ValidationFailed as exc:
        return _response_page(request, user, council, r, {**_response_values(r), **values},
                              error=exc)
    return _done(request, f"/councils/{slug}/recommendations/{number}",
                 f"Response recorded: {RESPONSE_LABELS[response.kind].lower()}.")


@router.post("/councils/{slug}/recommendations/{number}/implementation",
             response_class=HTMLResponse)
async def save_implementation(request: Request, slug: str, number: Number, db: DB,
                              user: CurrentUser) -> Response:
    user, council = _allowed(db, user, slug, service.can_respond, _RESPOND)
    r = service.get_recommendation(db, council=council, number=number)
    values = await form_values(request)
    try:
        data = validate(ImplementationIn, values)
        service.update_implementation(db, recommendation=r, data=data, today=_today())
    except ValidationFailed as exc:
        return _response_page(request, user, council, r, {**_response_values(r), **values},
                              error=exc)
    return _done(request, f"/councils/{slug}/recommendations/{number}",
                 "Implementation updated.")


# The public API (included in /api/v1) ------------------------------------------------------

api_router = APIRouter(tags=["councils"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(
        {404: "No such council (or its mission is not published)"}, *codes)


def _api_council(db: public_api.DB, caller: User | None, slug: str) -> Council:
    council = service.get_council(db, slug=slug)
    if not service.can_see(caller, council):
        raise NotFound(f"No council {slug!r}")
    return council


@api_router.get("/councils/{slug}", response_model=CouncilOut, responses=_problems(404))
def api_council(request: Request, slug: str, db: public_api.DB, caller: Caller) -> CouncilOut:
    """A mission council: its remit, members (names, organisations, sectors, terms and
    declared interests; never contact details), the balance of the current membership by
    sector, its meetings (minutes once published) and its recommendations counted by status
    today."""
    council = _api_council(db, caller, slug)
    return service.council_out(db, council, today=_today(),
                               base_url=base_url(request).removesuffix("/api/v1"))


@api_router.get("/councils/{slug}/recommendations", response_model=RecommendationList,
                responses=_problems(404))
def api_recommendations(request: Request, slug: str, db: public_api.DB, caller: Caller
                        ) -> RecommendationList:
    """The council's recommendations with their status today (awaiting a response, overdue,
    accepted, partly accepted or rejected) and the government's response to each, with how
    many days late it came and, for what was accepted, how far implementation has got."""
    return _tracker(request, db, _api_council(db, caller, slug))
