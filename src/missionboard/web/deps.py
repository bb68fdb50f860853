"""Request dependencies: the unit of work, the signed-in user, CSRF and page rendering."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.accounts.service import get_user
from missionboard.config import Settings
from missionboard.db.session import unit_of_work
from missionboard.errors import FieldError, PermissionDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the view returns, rolled back on error."""
    with unit_of_work(request.app.state.session_factory,
                      actor_id=request.session.get("user_id"), ip=client_ip(request)) as session:
        yield session


DB = Annotated[Session, Depends(db_session, scope="function")]


def current_user(request: Request, db: DB) -> User | None:
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    user = get_user(db, user_id=int(user_id))
    if user is None:
        request.session.clear()
    return user


CurrentUser = Annotated[User | None, Depends(current_user)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def csrf_protect(request: Request) -> AsyncIterator[None]:
    """Every unsafe request to a page endpoint must carry the session's CSRF token.

    Also closes the parsed form (and any uploaded files' temporary files) afterwards.
    """
    if request.method in SAFE_METHODS:
        yield
        return
    form = await request.form()
    try:
        expected = request.session.get("csrf")
        sent = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
            raise PermissionDenied("The form has expired or did not come from this site. "
                                   "Go back, reload the page and try again.")
        yield
    finally:
        await form.close()


async def form_values(request: Request) -> dict[str, Any]:
    """The submitted form's text fields, without the CSRF token."""
    form = await request.form()
    return {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, *,
    status_code: int = 200, user: User | None = None,
) -> HTMLResponse:
    env = request.app.state.templates
    ctx: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token(request),
        "current_user": user,
        "can_view_drafts": access.can_view_drafts(user),
        "is_admin": access.is_admin(user),
        "flash": request.session.pop("flash", None),
    }
    if context:
        ctx.update(context)
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message


def form_errors(errors: list[FieldError]) -> dict[str, Any]:
    """The context a form template needs to show a GOV.UK error summary and inline errors."""
    return {
        "errors": errors,
        "error_list": [{"text": e.message, "href": f"#{e.field}"} for e in errors],
        "field_errors": {e.field: e.message for e in errors},
    }
