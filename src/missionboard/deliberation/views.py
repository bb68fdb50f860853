"""Pages for citizen deliberation: taking part (one statement at a time, plain forms that
work without JavaScript), the report, the public moderation policy and log, and the
organisers' pages (settings, seed statements, the moderation queue)."""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.deliberation import charts, service
from missionboard.deliberation.api import (
    PARTICIPANT_COOKIE,
    PARTICIPANT_COOKIE_MAX_AGE,
    participant_cookie,
    remembered_xid,
)
from missionboard.deliberation.models import (
    Conversation,
    ConversationStatus,
    Participant,
    Participation,
    StatementState,
)
from missionboard.deliberation.schemas import STATEMENT_MAX, ConversationIn
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
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

VOTES = {"agree": 1, "disagree": -1, "pass": 0}


# Helpers -----------------------------------------------------------------------------------

def _conversation(db: DB, user: User | None, slug: str) -> Conversation:
    return service.get_conversation(db, slug=slug,
                                    include_drafts=access.can_view_drafts(user))


def _editable(db: DB, user: User | None, slug: str) -> tuple[User, Conversation]:
    user = access.require_user(user)
    conversation = service.get_conversation(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, conversation.mission_id),
                   "run this mission's conversations")
    return user, conversation


def _me(request: Request, db: DB, user: User | None, conversation: Conversation
        ) -> Participant | None:
    return service.find_participant(db, conversation, browser_id=participant_cookie(request),
                                    user=user, xid=remembered_xid(request, conversation.slug))


def _join(request: Request, db: DB, user: User | None, conversation: Conversation
          ) -> tuple[Participant, str | None]:
    """The participant, created on first use; and a new browser id to set, if one was made."""
    browser_id, new_id = participant_cookie(request), None
    if browser_id is None and conversation.participation == Participation.ANONYMOUS:
        browser_id = new_id = secrets.token_urlsafe(32)
    participant = service.join(db, conversation, browser_id=browser_id, user=user,
                               xid=remembered_xid(request, conversation.slug))
    return participant, new_id


def _set_browser_id(request: Request, response: Response, new_id: str | None) -> Response:
    if new_id is not None:
        response.set_cookie(PARTICIPANT_COOKIE, new_id, max_age=PARTICIPANT_COOKIE_MAX_AGE,
                            httponly=True, samesite="lax",
                            secure=request.app.state.settings.cookie_secure)
    return response


def _group_of(result: dict[str, Any], participant: Participant | None) -> int | None:
    if participant is None or participant.group_number is None:
        return None
    known = {int(g["id"]) for g in result.get("groups", [])}
    return participant.group_number if participant.group_number in known else None


def _texts(db: DB, conversation: Conversation) -> dict[int, str]:
    """Accepted statements' text by number: what the public pages may show."""
    return {s.number: s.text for s in service.accepted_statements(db, conversation)}


# Taking part -------------------------------------------------------------------------------

@router.get("/conversations", response_class=HTMLResponse)
def index(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "deliberation/index.html", {
        "conversations": service.list_conversations(
            db, include_drafts=access.can_view_drafts(user)),
    }, user=user)


def _conversation_page(request: Request, db: DB, user: User | None,
                       conversation: Conversation, *, status_code: int = 200,
                       statement_errors: ValidationFailed | None = None,
                       values: dict[str, str] | None = None) -> Response:
    me = _me(request, db, user, conversation)
    run = service.latest_run(db, conversation)
    result = run.result if run else {}
    accepted = service.accepted_statements(db, conversation)
    voted = service.standing_votes(db, me) if me else {}
    current = service.next_statement(
        db, conversation, me, voted=voted, accepted=accepted,
        priorities=result.get("priorities")) if conversation.is_open else None
    group = _group_of(result, me)
    written = service.statements_by(db, me) if me else []
    context: dict[str, Any] = {
        "conversation": conversation, "run": run, "result": result, "me": me,
        "current": current, "n_voted": sum(1 for n in voted if n in {s.number for s in accepted}),
        "n_statements": len(accepted), "group": group,
        "group_label": charts.group_label, "texts": {s.number: s.text for s in accepted},
        "written": written, "can_write": bool(
            conversation.is_open and conversation.accept_statements
            and len(written) < conversation.statement_cap),
        "statement_max": STATEMENT_MAX, "values": values or {},
        "can_edit": access.can_edit_mission(user, conversation.mission_id),
        "needs_sign_in": conversation.participation == Participation.SIGN_IN and user is None,
        "needs_invite": (conversation.participation == Participation.XID and me is None),
        "map": charts.opinion_map(result) if result.get("map") else None,
    }
    if statement_errors is not None:
        context.update(form_errors(statement_errors.errors))
    return render(request, "deliberation/conversation.html", context, user=user,
                  status_code=status_code)


@router.get("/conversations/{slug}", response_class=HTMLResponse)
def conversation_page(request: Request, slug: str, db: DB, user: CurrentUser,
                      xid: str | None = None) -> Response:
    conversation = _conversation(db, user, slug)
    if xid and conversation.participation == Participation.XID:
        if service.find_participant(db, conversation, xid=xid) is None:
            raise NotFound("This invitation link is not valid for this conversation")
        request.session[f"xid:{slug}"] = xid
        return RedirectResponse(f"/conversations/{slug}", status_code=303)
    return _conversation_page(request, db, user, conversation)


@router.post("/conversations/{slug}/vote", response_class=HTMLResponse)
async def vote(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    conversation = _conversation(db, user, slug)
    values = await form_values(request)
    choice = VOTES.get(values.get("vote", ""))
    try:
        number = int(values.get("statement", ""))
    except ValueError:
        number = -1
    if choice is None or not 0 <= number < 2**31:
        raise ValidationFailed([FieldError("vote", "Choose agree, disagree or pass")])
    # The database work in a worker thread: the event loop also runs the API's vote writer.
    participant, new_id = await run_in_threadpool(_join, request, db, user, conversation)
    await run_in_threadpool(service.cast, db, conversation, participant, number, choice)
    response = RedirectResponse(f"/conversations/{slug}#vote", status_code=303)
    return _set_browser_id(request, response, new_id)


@router.post("/conversations/{slug}/statements", response_class=HTMLResponse)
async def write_statement(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    conversation = _conversation(db, user, slug)
    values = await form_values(request)
    participant, new_id = _join(request, db, user, conversation)
    try:
        statement = service.submit(db, conversation, participant, values.get("text", ""))
    except ValidationFailed as exc:
        response = _conversation_page(request, db, user, conversation, status_code=422,
                                      statement_errors=exc, values=values)
        return _set_browser_id(request, response, new_id)
    flash(request, "Thank you: your statement is with the moderators."
          if statement.state == StatementState.PENDING else
          "Thank you: your statement is now in the conversation.")
    response = RedirectResponse(f"/conversations/{slug}#write", status_code=303)
    return _set_browser_id(request, response, new_id)


@router.get("/conversations/{slug}/moderation", response_class=HTMLResponse)
def moderation_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    conversation = _conversation(db, user, slug)
    return render(request, "deliberation/moderation.html", {
        "conversation": conversation,
        "log": service.moderation_log(db, conversation, limit=500),
        "counts": {state.value: len(service.statements(db, conversation, state=state))
                   for state in StatementState},
    }, user=user)


# Report ------------------------------------------------------------------------------------

@router.get("/conversations/{slug}/report", response_class=HTMLResponse)
def report(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    from missionboard.deliberation.analysis import participation_over_time

    conversation = _conversation(db, user, slug)
    run = service.latest_run(db, conversation)
    result = run.result if run else {}
    days = participation_over_time(db, conversation, run=run)
    gic = sorted(((int(n), v) for n, v in (result.get("gic") or {}).items()
                  if v is not None), key=lambda p: -p[1])[:10]
    return render(request, "deliberation/report.html", {
        "conversation": conversation, "run": run, "result": result,
        "texts": _texts(db, conversation), "group_label": charts.group_label,
        "gic": gic, "days": days,
        "n_votes": service.count_votes(db, conversation),
        "n_participants": service.count_participants(db, conversation),
        "map": charts.opinion_map(result) if result.get("map") else None,
        "participation": charts.participation(days) if days else None,
    }, user=user)


@router.get("/conversations/{slug}/export.zip")
def export_zip(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    """The conversation in Pol.is's export format (votes, comments, participants-votes with
    group ids, summary), zipped."""
    import tempfile

    from missionboard.deliberation.polis import export_conversation

    conversation = _conversation(db, user, slug)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        export_conversation(db, conversation, FilePath(tmp), public=True)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(FilePath(tmp).iterdir()):
                archive.write(path, f"{slug}/{path.name}")
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{slug}-polis-export.zip"'})


# Organisers --------------------------------------------------------------------------------

def _form(request: Request, user: User, mission_slug: str, db: DB,  # noqa: PLR0917
          values: dict[str, Any], conversation: Conversation | None = None,
          error: ValidationFailed | None = None) -> Response:
    mission = conversation.mission if conversation else missions_service.get_mission(
        db, slug=mission_slug, include_drafts=True)
    context: dict[str, Any] = {"mission": mission, "conversation": conversation,
                               "values": values, "participations": list(Participation)}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "deliberation/conversation_form.html", context, user=user,
                  status_code=422 if error else 200)


def _form_data(values: dict[str, str]) -> dict[str, Any]:
    return {**values, "outcome_id": values.get("outcome_id") or None,
            "fixed_k": values.get("fixed_k") or None,
            "accept_statements": values.get("accept_statements") == "yes",
            "premoderate": values.get("premoderate") == "yes"}


@router.get("/missions/{slug}/conversations/new", response_class=HTMLResponse)
def new_conversation(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, mission.id), "run this mission's conversations")
    return _form(request, user, slug, db, {"statement_cap": "5", "accept_statements": "yes",
                                           "premoderate": "yes", "participation": "anonymous"})


@router.post("/missions/{slug}/conversations/new", response_class=HTMLResponse)
async def create_conversation(request: Request, slug: str, db: DB, user: CurrentUser
                              ) -> Response:
    user = access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, mission.id), "run this mission's conversations")
    values = await form_values(request)
    try:
        conversation = service.create_conversation(
            db, mission=mission, data=validate(ConversationIn, _form_data(values)))
    except ValidationFailed as exc:
        return _form(request, user, slug, db, values, error=exc)
    flash(request, "Conversation created. Add seed statements, then open it.")
    return RedirectResponse(f"/conversations/{conversation.slug}/manage", status_code=303)


@router.get("/conversations/{slug}/edit", response_class=HTMLResponse)
def edit_conversation(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, conversation = _editable(db, user, slug)
    values = {"slug": conversation.slug, "title": conversation.title,
              "question": conversation.question, "description": conversation.description,
              "outcome_id": str(conversation.outcome_id or ""),
              "participation": conversation.participation.value,
              "accept_statements": "yes" if conversation.accept_statements else "no",
              "statement_cap": str(conversation.statement_cap),
              "premoderate": "yes" if conversation.premoderate else "no",
              "fixed_k": str(conversation.fixed_k or ""),
              "moderation_policy": conversation.moderation_policy}
    return _form(request, user, conversation.mission.slug, db, values, conversation)


@router.post("/conversations/{slug}/edit", response_class=HTMLResponse)
async def save_conversation(request: Request, slug: str, db: DB, user: CurrentUser
                            ) -> Response:
    user, conversation = _editable(db, user, slug)
    values = {**await form_values(request), "slug": slug}
    try:
        service.update_conversation(db, conversation,
                                    validate(ConversationIn, _form_data(values)))
    except ValidationFailed as exc:
        return _form(request, user, conversation.mission.slug, db, values, conversation, exc)
    flash(request, "Conversation saved.")
    return RedirectResponse(f"/conversations/{slug}/manage", status_code=303)


def _manage_page(request: Request, db: DB, user: User, conversation: Conversation, *,
                 error: ValidationFailed | None = None, values: dict[str, str] | None = None
                 ) -> Response:
    pending = service.statements(db, conversation, state=StatementState.PENDING)
    context: dict[str, Any] = {
        "conversation": conversation, "values": values or {},
        "pending": [(s, service.similar_statements(db, s)) for s in pending],
        "accepted": service.statements(db, conversation, state=StatementState.ACCEPTED),
        "rejected": service.statements(db, conversation, state=StatementState.REJECTED),
        "run": service.latest_run(db, conversation),
        "n_votes": service.count_votes(db, conversation),
        "statuses": ConversationStatus, "statement_max": STATEMENT_MAX,
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "deliberation/manage.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/conversations/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, conversation = _editable(db, user, slug)
    return _manage_page(request, db, user, conversation)


@router.post("/conversations/{slug}/seeds", response_class=HTMLResponse)
async def add_seed(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, conversation = _editable(db, user, slug)
    values = await form_values(request)
    try:
        service.add_seed(db, conversation, values.get("text", ""),
                         is_meta=values.get("is_meta") == "yes", moderator=user)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, conversation, error=exc, values=values)
    flash(request, "Seed statement added.")
    return RedirectResponse(f"/conversations/{slug}/manage#seeds", status_code=303)


@router.post("/conversations/{slug}/statements/{number}/moderate", response_class=HTMLResponse)
async def moderate(request: Request, slug: str, number: Annotated[int, Path(ge=0, lt=2**31)],
                   db: DB, user: CurrentUser
                   ) -> Response:
    user, conversation = _editable(db, user, slug)
    values = await form_values(request)
    statement = service.get_statement(db, conversation, number)
    try:
        state = StatementState(values.get("state", ""))
    except ValueError:
        state = None
    try:
        if state is None:
            raise ValidationFailed([FieldError(f"state-{number}", "Choose accept or reject")])
        service.moderate(db, statement, state, reason=values.get("reason", ""), moderator=user)
    except ValidationFailed as exc:
        errors = [FieldError(f"reason-{number}", e.message) if e.field == "reason" else e
                  for e in exc.errors]
        return _manage_page(request, db, user, conversation, error=ValidationFailed(errors),
                            values={f"reason-{number}": values.get("reason", "")})
    flash(request, f"Statement {number} {state.value}.")
    return RedirectResponse(f"/conversations/{slug}/manage#queue", status_code=303)


@router.post("/conversations/{slug}/status", response_class=HTMLResponse)
async def change_status(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, conversation = _editable(db, user, slug)
    values = await form_values(request)
    try:
        status = ConversationStatus(values.get("status", ""))
    except ValueError:
        raise ValidationFailed([FieldError("status", "Choose open, closed or draft")]) from None
    service.set_status(db, conversation, status)
    flash(request, f"The conversation is now {status.value}.")
    return RedirectResponse(f"/conversations/{slug}/manage", status_code=303)


@router.post("/conversations/{slug}/xids", response_class=HTMLResponse)
async def register_xids(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, conversation = _editable(db, user, slug)
    values = await form_values(request)
    added = service.register_xids(db, conversation, values.get("xids", "").split())
    flash(request, f"{added} invitation ids registered. Each person's link is "
                   f"/conversations/{slug}?xid=THEIR-ID")
    return RedirectResponse(f"/conversations/{slug}/manage#invitations", status_code=303)


@router.post("/conversations/{slug}/analyse", response_class=HTMLResponse)
async def analyse_now(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    from missionboard.deliberation.analysis import run_analysis
    from missionboard.deliberation.worker import lock_for_transaction

    user, conversation = _editable(db, user, slug)
    values = await form_values(request)
    if not lock_for_transaction(db, conversation.id):
        flash(request, "The analysis is running in the background now: its result will show "
                       "in a moment.")
        return RedirectResponse(f"/conversations/{slug}/manage", status_code=303)
    # In a worker thread: the analysis must not hold up other requests on the event loop.
    run = await run_in_threadpool(run_analysis, db, conversation,
                                  cold=values.get("cold") == "yes")
    flash(request, f"Analysed {run.n_votes:,} votes: {run.k} groups.")
    return RedirectResponse(f"/conversations/{slug}/manage", status_code=303)
