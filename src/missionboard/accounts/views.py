"""Sign in, sign out and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access, service
from missionboard.config import Settings
from missionboard.errors import FieldError, TooManyAttempts
from missionboard.web.deps import (
    DB,
    CurrentUser,
    client_ip,
    csrf_protect,
    flash,
    form_errors,
    render,
)

router = APIRouter(dependencies=[Depends(csrf_protect)])


def _safe_next(target: str | None) -> str:
    # Only local paths: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/manage"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, user: CurrentUser, next: str | None = None) -> Response:
    return render(request, "accounts/sign_in.html", {"next": _safe_next(next), "email": ""},
                  user=user)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request, db: DB,
    email: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/manage",
) -> Response:
    settings: Settings = request.app.state.settings
    errors: list[FieldError] = []
    if not email.strip():
        errors.append(FieldError("email", "Enter your email address"))
    if not password:
        errors.append(FieldError("password", "Enter your password"))
    user = None
    if not errors:
        try:
            user = service.authenticate(
                db, email=email, password=password, ip=client_ip(request),
                max_failures=settings.login_max_failures,
                window_seconds=settings.login_window_seconds,
            )
        except TooManyAttempts as exc:
            errors.append(FieldError("email", exc.detail))
        else:
            if user is None:
                errors.append(FieldError("email", "The email address or password is wrong"))
    if errors or user is None:
        status = 429 if any("Too many" in e.message for e in errors) else 422
        return render(request, "accounts/sign_in.html",
                      {"next": _safe_next(next), "email": email, **form_errors(errors)},
                      status_code=status)
    request.session.clear()  # a new session on sign-in (no fixation)
    request.session["user_id"] = user.id
    db.info["actor_id"] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/sign-out", response_class=HTMLResponse)
def sign_out_form(request: Request, user: CurrentUser) -> Response:
    return render(request, "accounts/sign_out.html", user=user)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@router.get("/manage/tokens", response_class=HTMLResponse)
def tokens(request: Request, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    return render(request, "accounts/tokens.html",
                  {"tokens": service.list_tokens(db, user=user)}, user=user)


@router.post("/manage/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, db: DB, user: CurrentUser, name: Annotated[str, Form()] = ""
) -> Response:
    user = access.require_user(user)
    if not name.strip():
        return render(request, "accounts/tokens.html",
                      {"tokens": service.list_tokens(db, user=user),
                       **form_errors([FieldError("name", "Enter a name for the token")])},
                      status_code=422, user=user)
    _, secret = service.create_api_token(db, user=user, name=name.strip())
    flash(request, "Token created. Copy it now: it will not be shown again.")
    return render(request, "accounts/tokens.html",
                  {"tokens": service.list_tokens(db, user=user), "new_secret": secret}, user=user)



@router.post("/manage/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, token_id: int, db: DB, user: CurrentUser) -> Response:
    user = access.require_user(user)
    token = service.revoke_api_token(db, user=user, token_id=token_id)
    flash(request, f"Token ‘{token.name}’ revoked.")
    return RedirectResponse("/manage/tokens", status_code=303)
