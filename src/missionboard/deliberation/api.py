"""The deliberation part of the public JSON API (included in ``/api/v1``): a conversation's
summary, the next statement to vote on, and votes.

Votes are public writes by design: anyone may take part in an anonymous conversation, known
by a per-browser participant id. They go through the group-commit writer
(:mod:`missionboard.deliberation.writer`), so this route stays cheap: no ORM session and no
database query per vote.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import MutableHeaders

from missionboard.accounts import access
from missionboard.accounts.service import get_user
from missionboard.config import Settings
from missionboard.deliberation import service
from missionboard.deliberation.models import ConversationStatus, Participation
from missionboard.deliberation.schemas import VoteIn
from missionboard.deliberation.writer import Identity, VotesUnavailable, VoteWriter
from missionboard.errors import (
    Conflict,
    FieldError,
    NotFound,
    TooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from missionboard.web.api import DB, Caller, problem_responses
from missionboard.web.app import problem

#: The per-browser participant id's cookie (a random token; only its SHA-256 is stored).
PARTICIPANT_COOKIE = "missionboard_participant"
PARTICIPANT_HEADER = "x-participant-id"
XID_HEADER = "x-participant-xid"
#: Two years: a participant keeps their votes (and their place in the groups) across visits.
PARTICIPANT_COOKIE_MAX_AGE = 2 * 365 * 24 * 60 * 60
#: A vote's JSON is a few dozen bytes.
MAX_BODY = 1024
PARTICIPANT_ID = re.compile(r"[A-Za-z0-9_\-.~]{16,128}")
_XID = re.compile(r"[\x21-\x7e]{1,200}")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


# Schemas -----------------------------------------------------------------------------------

class VoteOut(BaseModel):
    vote: int = Field(description="The vote's id (votes are a log: the latest per statement "
                                  "stands)")
    statement: int = Field(description="The statement's number in the conversation")
    participant: int = Field(description="Your participant number in the conversation")


class NextStatementOut(BaseModel):
    statement: int
    text: str


class ConversationSummaryOut(BaseModel):
    slug: str
    title: str
    question: str
    description: str
    mission: str = Field(description="The mission's slug")
    status: ConversationStatus
    participation: Participation
    statements: int = Field(description="Accepted statements")
    participants: int = Field(description="People who have voted")
    votes: int = Field(description="Votes cast (every change of mind counts)")
    analysed_at: dt.datetime | None = Field(
        description="When the groups and common ground were last computed")


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses({
        403: "The conversation is for signed-in or invited participants",
        404: "No such public conversation, or no such accepted statement",
        409: "The conversation is not open",
        413: f"The body is larger than {MAX_BODY} bytes",
        415: "The body is not JSON",
        422: "The input has errors",
        503: "The database is unavailable: nothing was stored; try again",
    }, *codes)


class _DirectRoute(APIRoute):
    """A documented route whose endpoint is handed the request as it is: FastAPI's dependency
    solving and body validation are skipped (the endpoint validates the JSON itself with
    pydantic): 16 µs of CPU less per vote, a fifth of the framework's time on the busiest
    route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            response: Response = await endpoint(request=request, **request.path_params)
            return response

        return handler


router = APIRouter(tags=["deliberation"])


# Who is asking -----------------------------------------------------------------------------

def _writer(request: Request) -> VoteWriter:
    state = request.app.state
    writer: VoteWriter | None = getattr(state, "vote_writer", None)
    if writer is None:
        writer = state.vote_writer = VoteWriter(state.session_factory)
    return writer


async def _anonymous(writer: VoteWriter, slug: str) -> bool:
    """Whether anyone may take part (so a newcomer gets a per-browser id)."""
    conversation = await writer.conversation(slug)
    return conversation is not None and conversation.participation == Participation.ANONYMOUS


def _check_slug(slug: str) -> None:
    """Slugs are lower-case words and hyphens: anything else (NUL included) cannot exist."""
    if len(slug) > 100 or not _SLUG.fullmatch(slug):
        raise NotFound(f"No conversation {slug!r}")


def _session_user_id(request: Request) -> int | None:
    """The signed-in user's id from the page session, if the request carries one."""
    session = request.scope.get("session")
    user_id = session.get("user_id") if session else None
    return int(user_id) if user_id is not None else None


def _browser_id(request: Request) -> str | None:
    """The participant id from the header (checked) or the cookie (ignored when malformed:
    a new one is issued)."""
    sent = request.headers.get(PARTICIPANT_HEADER)
    if sent is not None:
        if not PARTICIPANT_ID.fullmatch(sent):
            raise ValidationFailed([FieldError(
                "X-Participant-Id", "The participant id must be 16 to 128 letters, digits "
                                    "or -._~")])
        return sent
    return participant_cookie(request)


def participant_cookie(request: Request) -> str | None:
    """The per-browser participant id from its cookie; None when absent or malformed (the
    pages then issue a new one)."""
    cookie = request.cookies.get(PARTICIPANT_COOKIE)
    return cookie if cookie is not None and PARTICIPANT_ID.fullmatch(cookie) else None


def remembered_xid(request: Request, slug: str) -> str | None:
    """The external id an invitation link left in the page session for this conversation."""
    session = request.scope.get("session")
    remembered = session.get(f"xid:{slug}") if session else None
    return remembered if isinstance(remembered, str) else None


def _xid(request: Request, slug: str) -> str | None:
    """The external id from the header, or the one the invitation link left in the page
    session (as the pages read it)."""
    xid = request.headers.get(XID_HEADER)
    if xid is None:
        return remembered_xid(request, slug)
    if not _XID.fullmatch(xid):
        raise ValidationFailed([FieldError("X-Participant-Xid",
                                           "The external id must be 1 to 200 visible "
                                           "characters")])
    return xid


def _set_participant_cookie(headers: MutableHeaders, value: str, settings: Settings) -> None:
    cookie = (f"{PARTICIPANT_COOKIE}={value}; Max-Age={PARTICIPANT_COOKIE_MAX_AGE}; Path=/; "
              "HttpOnly; SameSite=Lax")
    if settings.cookie_secure:
        cookie += "; Secure"
    headers.append("set-cookie", cookie)


async def _json_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/")
                                            and media.endswith("+json")):
        raise UnsupportedMediaType("Send the vote as JSON (Content-Type: application/json)")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        if int(length) > MAX_BODY:
            raise TooLarge(f"A vote is at most {MAX_BODY} bytes")
        return await request.body()
    body = b""
    async for chunk in request.stream():  # chunked: read no more than a vote can be
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge(f"A vote is at most {MAX_BODY} bytes")
    return body


def _invalid(exc: ValidationError) -> ValidationFailed:
    errors = [FieldError(".".join(["body", *(str(p) for p in e["loc"])]), e["msg"])
              for e in exc.errors()]
    return ValidationFailed(errors)


# Endpoints ---------------------------------------------------------------------------------

async def post_vote(slug: str, request: Request) -> Response:
    """Vote on a statement: ``{"statement": 3, "vote": 1}`` (1 agree, −1 disagree, 0 pass).

    The answer comes once the vote is committed. Voting again on a statement replaces the
    earlier vote in the results (every vote is kept in the log).

    You are known by the per-browser participant id in the ``missionboard_participant``
    cookie (set on your first vote) or, for other clients, the ``X-Participant-Id`` header
    (16–128 letters, digits or ``-._~``; keep it secret: it is your vote); when signed in to
    the site, by your account; in a conversation for invited participants, by the external
    id in ``X-Participant-Xid`` (or the one from the invitation link opened in this browser).

    CSRF: only JSON bodies are accepted (other types get 415). A cross-site page cannot send
    ``Content-Type: application/json`` without a CORS preflight, which this API never
    allows, and the participant and session cookies are ``SameSite=Lax``, so a cross-site
    form post carries neither. Together these stand in for the pages' CSRF token.
    """
    _check_slug(slug)
    body = await _json_body(request)
    try:
        vote = VoteIn.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    browser_id = _browser_id(request)
    user_id = _session_user_id(request)
    writer = _writer(request)
    new_cookie = None
    try:
        if user_id is not None and not await writer.run(writer.load_user, user_id):
            request.scope["session"].clear()  # as the pages do for a user who has gone
            user_id = None
        if browser_id is None and user_id is None and await _anonymous(writer, slug):
            browser_id = new_cookie = secrets.token_urlsafe(32)
        cast = await writer.cast(slug, statement=vote.statement, value=vote.vote,
                                 identity=Identity(browser_id=browser_id, user_id=user_id,
                                                   xid=_xid(request, slug)))
    except VotesUnavailable as exc:
        unavailable = problem(503, exc.title, exc.detail)
        unavailable.headers["Retry-After"] = "1"
        return unavailable
    response = Response(
        b'{"vote":%d,"statement":%d,"participant":%d}' % (
            cast.vote, cast.statement, cast.participant),
        status_code=201, media_type="application/json")
    if new_cookie is not None:
        _set_participant_cookie(response.headers, new_cookie, request.app.state.settings)
    return response


router.add_api_route(
    "/conversations/{slug}/votes", post_vote, methods=["POST"], status_code=201,
    route_class_override=_DirectRoute,
    responses={201: {"model": VoteOut, "description": "The vote, stored"},
               **_problems(403, 404, 409, 413, 415, 422, 503)},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": VoteIn.model_json_schema()}}}},
)


@router.get(
    "/conversations/{slug}/next",
    responses={200: {"model": NextStatementOut, "description": "The next statement"},
               204: {"description": "You have voted on every statement"},
               **_problems(404, 409)},
)
def next_statement(slug: str, request: Request, db: DB) -> Response:
    """The next statement for you to vote on (drawn by its priority in the last analysis),
    or 204 when you have voted on every one. You are known as for votes."""
    _check_slug(slug)
    conversation = service.get_conversation(db, slug=slug)
    if not conversation.is_open:
        raise Conflict("This conversation is not open")
    browser_id = _browser_id(request)
    user_id = _session_user_id(request)
    user = get_user(db, user_id=user_id) if user_id is not None else None
    participant = service.find_participant(db, conversation, browser_id=browser_id, user=user,
                                           xid=_xid(request, slug))
    statement = service.next_statement(db, conversation, participant)
    if statement is None:
        return Response(status_code=204)
    return Response(json.dumps({"statement": statement.number, "text": statement.text}),
                    media_type="application/json")


@router.get("/conversations/{slug}", response_model=ConversationSummaryOut,
            responses=_problems(404))
def get_conversation(slug: str, db: DB, caller: Caller) -> ConversationSummaryOut:
    """A conversation: its question, status, how many statements, participants and votes,
    and when it was last analysed. Drafts only for a token whose user may see drafts."""
    _check_slug(slug)
    conversation = service.get_conversation(db, slug=slug,
                                            include_drafts=access.can_view_drafts(caller))
    run = service.latest_run(db, conversation)
    return ConversationSummaryOut(
        slug=conversation.slug, title=conversation.title, question=conversation.question,
        description=conversation.description, mission=conversation.mission.slug,
        status=conversation.status, participation=conversation.participation,
        statements=len(service.accepted_statements(db, conversation)),
        participants=service.count_participants(db, conversation),
        votes=service.count_votes(db, conversation),
        analysed_at=run.finished_at if run else None,
    )
