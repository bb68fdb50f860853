"""Mission pages: the public overview and mission pages, and the signed-in editing forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.councils import service as councils_service
from missionboard.deliberation import service as deliberation_service
from missionboard.delivery import service as delivery_service
from missionboard.errors import FieldError, ValidationFailed, validate
from missionboard.metrics import service as metrics_service
from missionboard.missions import service
from missionboard.missions.models import (
    BoardRole,
    ContributionRole,
    Mission,
    MissionStatus,
    OrganisationKind,
)
from missionboard.missions.schemas import BoardMemberIn, ContributionIn, MissionIn, OutcomeIn
from missionboard.panels import service as panels_service
from missionboard.partners import views as partners_views
from missionboard.stocktakes import service as stocktakes_service
from missionboard.stocktakes.framework import RATING_LABELS
from missionboard.trials import adoption as adoption_service
from missionboard.trials import service as trials_service
from missionboard.volunteering import service as volunteering_service
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


def _headline(db: DB, mission: Mission, *, include_drafts: bool,
              with_chances: bool = False) -> list[dict[str, Any]]:
    """Each outcome's metrics with their targets' status (and, on the mission page, the
    projected chance of meeting each target)."""
    rows = []
    seen: set[int] = set()
    for outcome in mission.outcomes:
        for metric in outcome.metrics:
            if metric.id in seen or not (include_drafts or metric.is_published):
                continue
            seen.add(metric.id)
            views = [metrics_service.target_view(db, target=t) for t in metric.targets]
            chances = ({t.id: delivery_service.trajectory(db, target=t).projection.probability
                        for t in metric.targets} if with_chances else {})
            rows.append({"outcome": outcome, "metric": metric, "targets": views,
                         "chances": chances})
    return rows


# Public pages ------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: DB, user: CurrentUser) -> Response:
    drafts = access.can_view_drafts(user)
    missions = service.list_missions(db, include_drafts=drafts)
    cards = []
    for mission in missions:
        full = service.get_mission(db, slug=mission.slug, include_drafts=True)
        headline = _headline(db, full, include_drafts=drafts)
        statuses = [v.assessment.status for row in headline for v in row["targets"]]
        cards.append({"mission": full, "headline": headline, "statuses": statuses})
    return render(request, "missions/overview.html", {"cards": cards}, user=user)


@router.get("/missions/{slug}", response_class=HTMLResponse)
def mission_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    drafts = access.can_view_drafts(user)
    mission = service.get_mission(db, slug=slug, include_drafts=drafts)
    headline = _headline(db, mission, include_drafts=drafts, with_chances=True)
    metric_titles = {row["metric"].id: row["metric"].title for row in headline}
    return render(request, "missions/mission.html", {
        "mission": mission,
        "headline": headline,
        "changes": service.list_changes(db, mission_id=mission.id,
                                        also_metric_ids=metric_titles.keys()),
        "metric_titles": metric_titles,
        "change_titles": delivery_service.change_titles(db, mission_id=mission.id),
        "can_edit": access.can_edit_mission(user, mission.id),
        "conversations": deliberation_service.list_conversations(
            db, mission=mission, include_drafts=access.can_edit_mission(user, mission.id)),
        "panels": panels_service.list_panels(
            db, mission=mission, include_drafts=access.can_edit_mission(user, mission.id)),
        "trials": [t for t in trials_service.list_trials(db, mission=mission)
                   if t.is_public or access.can_edit_mission(user, mission.id)],
        "adoption_programmes": [
            p for p in adoption_service.list_programmes(db, mission=mission)
            if p.is_public or access.can_edit_mission(user, mission.id)],
        "council_summary": councils_service.mission_summary(db, mission=mission, user=user),
        **partners_views.mission_section(db, mission),
        "volunteering": volunteering_service.mission_section(db, mission=mission),
        **_delivery_record(db, user, mission),
    }, user=user)


def _delivery_record(db: DB, user: User | None, mission: Mission) -> dict[str, Any]:
    """The latest judgement (where it may be seen) and the published challenges."""
    shown = mission.judgements_public or stocktakes_service.can_see_board_papers(user, mission)
    history = stocktakes_service.judgement_history(db, mission=mission) if shown else []
    return {"judgements_shown": shown, "latest_judgement": history[-1] if history else None,
            "rating_labels": RATING_LABELS,
            "challenges": stocktakes_service.list_challenges(db, mission=mission,
                                                             published_only=True)}


# Signed-in pages ---------------------------------------------------------------------------

@router.get("/manage", response_class=HTMLResponse)
def manage(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    missions = service.list_missions(db, include_drafts=access.can_view_drafts(user))
    metrics = metrics_service.list_metrics(db, include_drafts=access.can_view_drafts(user))
    board = [m for m in missions if stocktakes_service.can_see_board_papers(user, m)]
    to_answer = [c for m in missions if stocktakes_service.can_answer_challenge(user, m)
                 for c in stocktakes_service.list_challenges(db, mission=m, published_only=False)
                 if c.answer is None]
    return render(request, "missions/manage.html", {
        "missions": missions, "metrics": metrics,
        "can_create_mission": access.can_create_mission(user),
        "can_manage_peer_groups": access.can_manage_peer_groups(user),
        "editable": {m.id for m in missions if access.can_edit_mission(user, m.id)},
        "board": {m.id for m in board}, "to_answer": to_answer,
    }, user=user)


def _mission_form(request: Request, user: User, *, mission: Mission | None,
                  values: dict[str, Any], errors: ValidationFailed | None = None) -> Response:
    ctx: dict[str, Any] = {"mission": mission, "values": values}
    if errors is not None:
        ctx.update(form_errors(errors.errors))
    return render(request, "missions/mission_form.html", ctx,
                  status_code=422 if errors else 200, user=user)


@router.get("/manage/missions/new", response_class=HTMLResponse)
def new_mission_form(request: Request, user: CurrentUser) -> Response:
    user = access.require_user(user)
    access.require(access.can_create_mission(user), "create missions")
    return _mission_form(request, user, mission=None, values={})


@router.post("/manage/missions/new", response_class=HTMLResponse)
async def create_mission(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    access.require(access.can_create_mission(user), "create missions")
    values = await form_values(request)
    try:
        mission = service.create_mission(db, data=validate(MissionIn, values))
    except ValidationFailed as exc:
        return _mission_form(request, user, mission=None, values=values, errors=exc)
    flash(request, f"Mission ‘{mission.title}’ created as a draft.")
    return RedirectResponse(f"/missions/{mission.slug}", status_code=303)


def _editable_mission(db: DB, user: User | None, slug: str) -> tuple[User, Mission]:
    user = access.require_user(user)
    mission = service.get_mission(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, mission.id), "edit this mission")
    return user, mission


def _mission_values(mission: Mission) -> dict[str, Any]:
    return {"slug": mission.slug, "title": mission.title, "ambition": mission.ambition,
            "horizon_year": mission.horizon_year,
            "judgements_public": "yes" if mission.judgements_public else ""}


@router.get("/manage/missions/{slug}/edit", response_class=HTMLResponse)
def edit_mission_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    return _mission_form(request, user, mission=mission, values=_mission_values(mission))


@router.post("/manage/missions/{slug}/edit", response_class=HTMLResponse)
async def edit_mission(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    values = await form_values(request)
    values["slug"] = mission.slug
    try:
        service.update_mission(db, mission=mission, data=validate(MissionIn, values),
                               actor=user, reason=values.get("reason"))
    except ValidationFailed as exc:
        return _mission_form(request, user, mission=mission, values=values, errors=exc)
    flash(request, "Mission updated.")
    return RedirectResponse(f"/missions/{mission.slug}", status_code=303)


@router.post("/manage/missions/{slug}/status", response_class=HTMLResponse)
async def mission_status(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    values = await form_values(request)
    try:
        status = MissionStatus(values.get("status", ""))
    except ValueError:
        raise ValidationFailed([FieldError("status", "Choose draft or published")]) from None
    try:
        service.set_mission_status(db, mission=mission, status=status, actor=user,
                                   reason=values.get("reason"))
    except ValidationFailed as exc:
        return _mission_form(request, user, mission=mission, values=_mission_values(mission),
                             errors=exc)
    flash(request, f"Mission {status.value}.")
    return RedirectResponse(f"/missions/{mission.slug}", status_code=303)


@router.get("/manage/missions/{slug}/outcomes/new", response_class=HTMLResponse)
def new_outcome_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    return render(request, "missions/outcome_form.html", {"mission": mission, "values": {}},
                  user=user)


@router.post("/manage/missions/{slug}/outcomes/new", response_class=HTMLResponse)
async def create_outcome(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    values = await form_values(request)
    try:
        service.add_outcome(db, mission=mission, data=validate(OutcomeIn, values))
    except ValidationFailed as exc:
        return render(request, "missions/outcome_form.html",
                      {"mission": mission, "values": values, **form_errors(exc.errors)},
                      status_code=422, user=user)
    flash(request, "Outcome added.")
    return RedirectResponse(f"/missions/{mission.slug}", status_code=303)


@router.get("/manage/missions/{slug}/outcomes/{outcome_slug}/edit", response_class=HTMLResponse)
def edit_outcome_form(
    request: Request, slug: str, outcome_slug: str, db: DB, user: CurrentUser
) -> Response:
    user, mission = _editable_mission(db, user, slug)
    outcome = service.get_outcome(db, mission=mission, slug=outcome_slug)
    values = {"slug": outcome.slug, "title": outcome.title, "description": outcome.description}
    return render(request, "missions/outcome_form.html",
                  {"mission": mission, "outcome": outcome, "values": values}, user=user)


@router.post("/manage/missions/{slug}/outcomes/{outcome_slug}/edit",
             response_class=HTMLResponse)
async def edit_outcome(
    request: Request, slug: str, outcome_slug: str, db: DB, user: CurrentUser
) -> Response:
    user, mission = _editable_mission(db, user, slug)
    outcome = service.get_outcome(db, mission=mission, slug=outcome_slug)
    values = await form_values(request)
    values["slug"] = outcome.slug
    try:
        service.update_outcome(db, outcome=outcome, data=validate(OutcomeIn, values))
    except ValidationFailed as exc:
        return render(request, "missions/outcome_form.html",
                      {"mission": mission, "outcome": outcome, "values": values,
                       **form_errors(exc.errors)}, status_code=422, user=user)
    flash(request, "Outcome updated.")
    return RedirectResponse(f"/missions/{mission.slug}", status_code=303)


def _board_context(db: DB, mission: Mission, values: dict[str, Any]) -> dict[str, Any]:
    return {"mission": mission, "values": values, "roles": list(BoardRole),
            "organisations": service.list_organisations(db),
            "contribution_roles": list(ContributionRole), "kinds": list(OrganisationKind)}


@router.get("/manage/missions/{slug}/board", response_class=HTMLResponse)
def board_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    return render(request, "missions/board_form.html", _board_context(db, mission, {}),
                  user=user)


@router.post("/manage/missions/{slug}/board", response_class=HTMLResponse)
async def add_board_member(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    values = await form_values(request)
    try:
        service.add_board_member(db, mission=mission,
                                 data=validate(BoardMemberIn, _member_values(values)))
    except ValidationFailed as exc:
        return render(request, "missions/board_form.html",
                      {**_board_context(db, mission, values), **form_errors(exc.errors)},
                      status_code=422, user=user)
    flash(request, "Board member added.")
    return RedirectResponse(f"/manage/missions/{mission.slug}/board", status_code=303)


def _member_values(values: dict[str, Any]) -> dict[str, Any]:
    data = dict(values)
    data["is_chair"] = values.get("position") == "chair"
    data["is_accountable_lead"] = values.get("position") == "lead"
    data["organisation_slug"] = values.get("organisation_slug") or None
    data["account_email"] = values.get("account_email") or None
    return data


@router.get("/manage/missions/{slug}/board/{member_id}/edit", response_class=HTMLResponse)
def edit_board_member_form(
    request: Request, slug: str, member_id: int, db: DB, user: CurrentUser
) -> Response:
    user, mission = _editable_mission(db, user, slug)
    member = service.get_board_member(db, mission=mission, member_id=member_id)
    position = "chair" if member.is_chair else "lead" if member.is_accountable_lead else "member"
    values = {"name": member.name, "title": member.title, "role": member.role.value,
              "position": position,
              "organisation_slug": member.organisation.slug if member.organisation else "",
              "account_email": account.email if (account := db.get(User, member.user_id or 0))
              else ""}
    return render(request, "missions/member_form.html",
                  {**_board_context(db, mission, values), "member": member}, user=user)


@router.post("/manage/missions/{slug}/board/{member_id}/edit", response_class=HTMLResponse)
async def edit_board_member(
    request: Request, slug: str, member_id: int, db: DB, user: CurrentUser
) -> Response:
    user, mission = _editable_mission(db, user, slug)
    member = service.get_board_member(db, mission=mission, member_id=member_id)
    values = await form_values(request)
    try:
        service.update_board_member(db, mission=mission, member=member,
                                    data=validate(BoardMemberIn, _member_values(values)))
    except ValidationFailed as exc:
        return render(request, "missions/member_form.html",
                      {**_board_context(db, mission, values), "member": member,
                       **form_errors(exc.errors)}, status_code=422, user=user)
    flash(request, "Board member updated.")
    return RedirectResponse(f"/manage/missions/{mission.slug}/board", status_code=303)


@router.post("/manage/missions/{slug}/board/{member_id}/remove", response_class=HTMLResponse)
def remove_board_member(
    request: Request, slug: str, member_id: int, db: DB, user: CurrentUser
) -> Response:
    user, mission = _editable_mission(db, user, slug)
    service.remove_board_member(db, mission=mission, member_id=member_id)
    flash(request, "Board member removed.")
    return RedirectResponse(f"/manage/missions/{mission.slug}/board", status_code=303)


@router.post("/manage/missions/{slug}/organisations", response_class=HTMLResponse)
async def add_contribution(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable_mission(db, user, slug)
    values = await form_values(request)
    try:
        service.add_contribution(db, mission=mission, data=validate(ContributionIn, values))
    except ValidationFailed as exc:
        return render(request, "missions/board_form.html",
                      {**_board_context(db, mission, values), **form_errors(exc.errors)},
                      status_code=422, user=user)
    flash(request, "Contributing organisation added.")
    return RedirectResponse(f"/manage/missions/{mission.slug}/board", status_code=303)
