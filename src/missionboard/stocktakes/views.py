"""Stocktake pages: the pack (web and PDF), the meeting's judgement, decisions and actions,
the judgement history, the risk register and external challenge."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.errors import NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.stocktakes import charts, pdf, service
from missionboard.stocktakes.framework import (
    CRITERIA,
    RATING_LABELS,
    RATING_MEANINGS,
    value_label,
)
from missionboard.stocktakes.models import ActionStatus, Rating, RiskStatus, Stocktake
from missionboard.stocktakes.schemas import (
    ActionIn,
    ActionUpdateIn,
    AnswerIn,
    ChallengeIn,
    DecisionIn,
    RiskIn,
    StocktakeIn,
)
from missionboard.web.deps import DB, CurrentUser, csrf_protect, flash, form_errors, form_values
from missionboard.web.deps import render as _render

router = APIRouter(dependencies=[Depends(csrf_protect)])

_LABELS = {"rating_labels": RATING_LABELS, "rating_meanings": RATING_MEANINGS,
           "criteria": CRITERIA, "value_label": value_label, "ratings": list(Rating)}


def render(request: Request, template: str, context: dict[str, Any], *, user: User | None,
           status_code: int = 200) -> HTMLResponse:
    return _render(request, template, {**_LABELS, **context}, user=user,
                   status_code=status_code)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _public_mission(db: DB, user: User | None, slug: str) -> Mission:
    return missions_service.get_mission(db, slug=slug,
                                        include_drafts=access.can_view_drafts(user))


def _editable(db: DB, user: User | None, slug: str) -> tuple[User, Mission]:
    user = access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, mission.id), "run this mission's stocktakes")
    return user, mission


def _visible_stocktake(db: DB, user: User | None, mission: Mission, stocktake_id: int
                       ) -> Stocktake:
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    if stocktake.pack_published_at is None and not service.can_see_board_papers(user, mission):
        raise NotFound(f"no stocktake {stocktake_id} for mission {mission.slug!r}")
    return stocktake


def _base(db: DB, user: User | None, mission: Mission) -> dict[str, Any]:
    board = service.can_see_board_papers(user, mission)
    return {"mission": mission, "board": board,
            "can_edit": access.can_edit_mission(user, mission.id),
            "show_judgements": board or mission.judgements_public}


# Stocktakes and the judgement history -----------------------------------------------------

@router.get("/missions/{slug}/stocktakes", response_class=HTMLResponse)
def stocktakes_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = _public_mission(db, user, slug)
    ctx = _base(db, user, mission)
    stocktakes = [s for s in service.list_stocktakes(db, mission=mission)
                  if ctx["board"] or s.pack_published_at is not None]
    history = (service.judgement_history(db, mission=mission)
               if ctx["show_judgements"] else [])
    timeline = charts.judgement_timeline(
        [{"date": h.stocktake.meeting_on.isoformat(), "rating": h.judgement.overall.value}
         for h in history]) if history else None
    return render(request, "stocktakes/stocktakes.html", {
        **ctx, "stocktakes": stocktakes, "history": history, "timeline": timeline,
        "risks": service.list_risks(db, mission=mission) if ctx["board"] else [],
        "today": utcnow().date(),
    }, user=user)


def _stocktake_context(db: DB, user: User | None, mission: Mission, stocktake: Stocktake
                       ) -> dict[str, Any]:
    pack = service.pack_of(db, stocktake)
    return {
        **_base(db, user, mission), "stocktake": stocktake, "pack": pack,
        "fans": {row["target_id"]: charts.pack_fan(row) for row in pack["headline"]},
        "today": utcnow().date(), "action_statuses": list(ActionStatus),
    }


@router.get("/missions/{slug}/stocktakes/{stocktake_id}", response_class=HTMLResponse)
def stocktake_page(request: Request, slug: str, stocktake_id: int, db: DB, user: CurrentUser
                   ) -> Response:
    mission = _public_mission(db, user, slug)
    stocktake = _visible_stocktake(db, user, mission, stocktake_id)
    return render(request, "stocktakes/stocktake.html",
                  _stocktake_context(db, user, mission, stocktake), user=user)


@router.get("/missions/{slug}/stocktakes/{stocktake_id}/pack.pdf")
def stocktake_pdf(slug: str, stocktake_id: int, db: DB, user: CurrentUser) -> Response:
    mission = _public_mission(db, user, slug)
    stocktake = _visible_stocktake(db, user, mission, stocktake_id)
    issued = None
    if stocktake.issued_at is not None:
        issued = {"at": stocktake.issued_at.isoformat(), "by": stocktake.issued_by,
                  "sha256": stocktake.pack_sha256}
    show = service.can_see_board_papers(user, mission) or mission.judgements_public
    meeting = service.meeting_record(stocktake, with_judgement=show)
    body = pdf.render_pack(service.pack_of(db, stocktake), issued=issued, meeting=meeting)
    name = f"{mission.slug}-stocktake-{stocktake.meeting_on.isoformat()}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def _stocktake_form(request: Request, user: User, mission: Mission, values: dict[str, Any],
                    *, stocktake: Stocktake | None = None, exc: ValidationFailed | None = None
                    ) -> Response:
    return render(request, "stocktakes/stocktake_form.html", {
        "mission": mission, "stocktake": stocktake, "values": values,
        **(form_errors(exc.errors) if exc else {}),
    }, user=user, status_code=422 if exc else 200)


@router.get("/manage/missions/{slug}/stocktakes/new", response_class=HTMLResponse)
def new_stocktake_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    chair = next((m.name for m in mission.board_members if m.is_chair), "")
    return _stocktake_form(request, user, mission, {"chair": chair})


@router.post("/manage/missions/{slug}/stocktakes/new", response_class=HTMLResponse)
async def create_stocktake(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    values = await form_values(request)
    try:
        stocktake = service.create_stocktake(db, mission=mission,
                                             data=validate(StocktakeIn, values))
    except ValidationFailed as exc:
        return _stocktake_form(request, user, mission, values, exc=exc)
    flash(request, "Stocktake scheduled. Its pack is a draft until you issue it.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{stocktake.id}")


@router.get("/manage/missions/{slug}/stocktakes/{stocktake_id}/edit",
            response_class=HTMLResponse)
def edit_stocktake_form(request: Request, slug: str, stocktake_id: int, db: DB,
                        user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    s = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    values = {"title": s.title, "meeting_on": s.meeting_on.isoformat(),
              "as_of": s.as_of.isoformat(), "chair": s.chair}
    return _stocktake_form(request, user, mission, values, stocktake=s)


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/edit",
             response_class=HTMLResponse)
async def edit_stocktake(request: Request, slug: str, stocktake_id: int, db: DB,
                         user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    values = await form_values(request)
    try:
        service.update_stocktake(db, stocktake=stocktake, data=validate(StocktakeIn, values))
    except ValidationFailed as exc:
        return _stocktake_form(request, user, mission, values, stocktake=stocktake, exc=exc)
    flash(request, "Stocktake updated.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{stocktake.id}")


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/issue",
             response_class=HTMLResponse)
def issue_pack(request: Request, slug: str, stocktake_id: int, db: DB, user: CurrentUser
               ) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    service.issue_pack(db, stocktake=stocktake, actor=user)
    flash(request, "Pack issued. It is frozen: later data will not change it.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{stocktake.id}")


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/cancel",
             response_class=HTMLResponse)
def cancel_stocktake(request: Request, slug: str, stocktake_id: int, db: DB,
                     user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    service.cancel_stocktake(db, stocktake=stocktake)
    flash(request, f"{stocktake.title} cancelled.")
    return _see_other(f"/missions/{mission.slug}/stocktakes")


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/publish",
             response_class=HTMLResponse)
def publish_pack(request: Request, slug: str, stocktake_id: int, db: DB, user: CurrentUser
                 ) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    service.publish_pack(db, stocktake=stocktake)
    flash(request, "Pack published: anyone can now read it.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{stocktake.id}")


# The meeting ------------------------------------------------------------------------------

def _judgement_form(request: Request, user: User, mission: Mission, stocktake: Stocktake,
                    values: dict[str, Any], *, exc: ValidationFailed | None = None
                    ) -> Response:
    return render(request, "stocktakes/judgement_form.html", {
        "mission": mission, "stocktake": stocktake, "values": values,
        **(form_errors(exc.errors) if exc else {}),
    }, user=user, status_code=422 if exc else 200)


@router.get("/manage/missions/{slug}/stocktakes/{stocktake_id}/judgement",
            response_class=HTMLResponse)
def judgement_form(request: Request, slug: str, stocktake_id: int, db: DB, user: CurrentUser
                   ) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    values: dict[str, Any] = {}
    if stocktake.judgement is not None:
        j = stocktake.judgement
        values = {"overall": j.overall.value, "overall_reason": j.overall_reason}
        for item in j.items:
            values[item.criterion], values[f"{item.criterion}_reason"] = item.value, item.reason
    return _judgement_form(request, user, mission, stocktake, values)


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/judgement",
             response_class=HTMLResponse)
async def record_judgement(request: Request, slug: str, stocktake_id: int, db: DB,
                           user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    values = await form_values(request)
    try:
        service.record_judgement(db, stocktake=stocktake,
                                 data=service.judgement_from_form(values), actor=user)
    except ValidationFailed as exc:
        return _judgement_form(request, user, mission, stocktake, values, exc=exc)
    flash(request, "Judgement recorded.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{stocktake.id}#judgement")


async def _add_to_meeting(request: Request, db: DB, user: User, mission: Mission, *,
                          stocktake: Stocktake, kind: str) -> Response:
    values = await form_values(request)
    try:
        if kind == "decision":
            service.add_decision(db, stocktake=stocktake, data=validate(DecisionIn, values))
        else:
            service.add_action(db, stocktake=stocktake, data=validate(ActionIn, values))
    except ValidationFailed as exc:
        ctx = _stocktake_context(db, user, mission, stocktake)
        return render(request, "stocktakes/stocktake.html",
                      {**ctx, f"{kind}_values": values, **form_errors(exc.errors)},
                      user=user, status_code=422)
    flash(request, f"{kind.capitalize()} added.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{stocktake.id}#{kind}s")


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/decisions",
             response_class=HTMLResponse)
async def add_decision(request: Request, slug: str, stocktake_id: int, db: DB,
                       user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    return await _add_to_meeting(request, db, user, mission, stocktake=stocktake,
                                 kind="decision")


@router.post("/manage/missions/{slug}/stocktakes/{stocktake_id}/actions",
             response_class=HTMLResponse)
async def add_action(request: Request, slug: str, stocktake_id: int, db: DB,
                     user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    stocktake = service.get_stocktake(db, mission=mission, stocktake_id=stocktake_id)
    return await _add_to_meeting(request, db, user, mission, stocktake=stocktake,
                                 kind="action")


@router.get("/manage/missions/{slug}/actions/{action_id}", response_class=HTMLResponse)
def action_form(request: Request, slug: str, action_id: int, db: DB, user: CurrentUser
                ) -> Response:
    user, mission = _editable(db, user, slug)
    action = service.get_action(db, mission=mission, action_id=action_id)
    values = {"status": action.status.value, "progress": action.progress,
              "completed_on": action.completed_on.isoformat() if action.completed_on else ""}
    return render(request, "stocktakes/action_form.html", {
        "mission": mission, "action": action, "values": values,
        "statuses": list(ActionStatus)}, user=user)


@router.post("/manage/missions/{slug}/actions/{action_id}", response_class=HTMLResponse)
async def update_action(request: Request, slug: str, action_id: int, db: DB,
                        user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    action = service.get_action(db, mission=mission, action_id=action_id)
    values = await form_values(request)
    cleaned = {k: v for k, v in values.items() if v != ""}
    try:
        service.update_action(db, action=action, data=validate(ActionUpdateIn, cleaned))
    except ValidationFailed as exc:
        return render(request, "stocktakes/action_form.html", {
            "mission": mission, "action": action, "values": values,
            "statuses": list(ActionStatus), **form_errors(exc.errors)},
            user=user, status_code=422)
    flash(request, "Action updated.")
    return _see_other(f"/missions/{mission.slug}/stocktakes/{action.stocktake_id}#actions")


# Risks ------------------------------------------------------------------------------------

def _risk_form(request: Request, user: User, mission: Mission, values: dict[str, Any],
               *, risk_id: int | None = None, exc: ValidationFailed | None = None) -> Response:
    return render(request, "stocktakes/risk_form.html", {
        "mission": mission, "risk_id": risk_id, "values": values,
        "statuses": list(RiskStatus), **(form_errors(exc.errors) if exc else {}),
    }, user=user, status_code=422 if exc else 200)


@router.get("/manage/missions/{slug}/risks/new", response_class=HTMLResponse)
def new_risk_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    return _risk_form(request, user, mission, {"raised_on": utcnow().date().isoformat(),
                                               "status": "open"})


@router.get("/manage/missions/{slug}/risks/{risk_id}/edit", response_class=HTMLResponse)
def edit_risk_form(request: Request, slug: str, risk_id: int, db: DB, user: CurrentUser
                   ) -> Response:
    user, mission = _editable(db, user, slug)
    risk = service.get_risk(db, mission=mission, risk_id=risk_id)
    values = {k: getattr(risk, k) for k in RiskIn.model_fields}
    values["raised_on"], values["status"] = risk.raised_on.isoformat(), risk.status.value
    return _risk_form(request, user, mission, values, risk_id=risk.id)


@router.post("/manage/missions/{slug}/risks/new", response_class=HTMLResponse)
@router.post("/manage/missions/{slug}/risks/{risk_id}/edit", response_class=HTMLResponse)
async def save_risk(request: Request, slug: str, db: DB, user: CurrentUser,
                    risk_id: int | None = None) -> Response:
    user, mission = _editable(db, user, slug)
    risk = service.get_risk(db, mission=mission, risk_id=risk_id) if risk_id else None
    values = await form_values(request)
    try:
        service.save_risk(db, mission=mission, data=validate(RiskIn, values), risk=risk)
    except ValidationFailed as exc:
        return _risk_form(request, user, mission, values, risk_id=risk_id, exc=exc)
    flash(request, "Risk saved.")
    return _see_other(f"/missions/{mission.slug}/stocktakes#risks")


# External challenge -----------------------------------------------------------------------

@router.get("/missions/{slug}/challenges", response_class=HTMLResponse)
def challenges_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = _public_mission(db, user, slug)
    board = service.can_see_board_papers(user, mission)
    return render(request, "stocktakes/challenges.html", {
        "mission": mission, "board": board,
        "challenges": service.list_challenges(db, mission=mission, published_only=not board),
        "can_raise": service.can_raise_challenge(user, mission),
        "can_answer": service.can_answer_challenge(user, mission),
        "can_edit": access.can_edit_mission(user, mission.id),
    }, user=user)


def _challenge_mission(db: DB, user: User | None, slug: str, *, answer: bool
                       ) -> tuple[User, Mission]:
    user = access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    allowed = (service.can_answer_challenge(user, mission) if answer
               else service.can_raise_challenge(user, mission))
    access.require(allowed, "answer challenges on this mission" if answer
                   else "raise challenges on this mission")
    return user, mission


@router.get("/manage/missions/{slug}/challenges/new", response_class=HTMLResponse)
def new_challenge_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _challenge_mission(db, user, slug, answer=False)
    return render(request, "stocktakes/challenge_form.html", {
        "mission": mission, "values": {"raised_on": utcnow().date().isoformat()}}, user=user)


@router.post("/manage/missions/{slug}/challenges/new", response_class=HTMLResponse)
async def raise_challenge(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = _challenge_mission(db, user, slug, answer=False)
    values = await form_values(request)
    try:
        service.raise_challenge(db, mission=mission, data=validate(ChallengeIn, values),
                                actor=user)
    except ValidationFailed as exc:
        return render(request, "stocktakes/challenge_form.html", {
            "mission": mission, "values": values, **form_errors(exc.errors)},
            user=user, status_code=422)
    flash(request, "Challenge recorded. The accountable lead will answer it.")
    return _see_other(f"/missions/{mission.slug}/challenges")


@router.get("/manage/missions/{slug}/challenges/{challenge_id}/answer",
            response_class=HTMLResponse)
def answer_form(request: Request, slug: str, challenge_id: int, db: DB, user: CurrentUser
                ) -> Response:
    user, mission = _challenge_mission(db, user, slug, answer=True)
    challenge = service.get_challenge(db, mission=mission, challenge_id=challenge_id)
    values = {"answer": challenge.answer or "",
              "answered_on": (challenge.answered_on or utcnow().date()).isoformat()}
    return render(request, "stocktakes/answer_form.html", {
        "mission": mission, "challenge": challenge, "values": values}, user=user)


@router.post("/manage/missions/{slug}/challenges/{challenge_id}/answer",
             response_class=HTMLResponse)
async def answer_challenge(request: Request, slug: str, challenge_id: int, db: DB,
                           user: CurrentUser) -> Response:
    user, mission = _challenge_mission(db, user, slug, answer=True)
    challenge = service.get_challenge(db, mission=mission, challenge_id=challenge_id)
    values = await form_values(request)
    try:
        service.answer_challenge(db, challenge=challenge, data=validate(AnswerIn, values),
                                 actor=user)
    except ValidationFailed as exc:
        return render(request, "stocktakes/answer_form.html", {
            "mission": mission, "challenge": challenge, "values": values,
            **form_errors(exc.errors)}, user=user, status_code=422)
    flash(request, "Answer saved.")
    return _see_other(f"/missions/{mission.slug}/challenges#challenge-{challenge.id}")


@router.post("/manage/missions/{slug}/challenges/{challenge_id}/publish",
             response_class=HTMLResponse)
def publish_challenge(request: Request, slug: str, challenge_id: int, db: DB,
                      user: CurrentUser) -> Response:
    user, mission = _editable(db, user, slug)
    challenge = service.get_challenge(db, mission=mission, challenge_id=challenge_id)
    service.publish_challenge(db, challenge=challenge)
    flash(request, "Challenge and answer published on the mission page.")
    return _see_other(f"/missions/{mission.slug}/challenges#challenge-{challenge.id}")
