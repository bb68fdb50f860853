"""Users, roles, API tokens and sign-in. Keyword-only functions; they flush, never commit."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from missionboard.accounts.models import ApiToken, LoginAttempt, Role, RoleAssignment, User
from missionboard.db.base import utcnow
from missionboard.errors import (
    Conflict,
    FieldError,
    NotFound,
    TooManyAttempts,
    ValidationFailed,
)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify against when the email is unknown: timing reveals no accounts."""
    return _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session, *, email: str, name: str, password: str,
    roles: Iterable[tuple[Role, int | None, int | None]] = (),
) -> User:
    """Create a user; ``roles`` are ``(role, mission_id, metric_id)`` triples."""
    email = email.strip().lower()
    errors = []
    if "@" not in email or len(email) > 254:
        errors.append(FieldError("email", "Enter an email address, like name@example.org"))
    if not name.strip():
        errors.append(FieldError("name", "Enter a name"))
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError(
            "password", f"The password must be at least {MIN_PASSWORD_LENGTH} characters"))
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with the email {email} already exists")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    session.add(user)
    for role, mission_id, metric_id in roles:
        user.roles.append(RoleAssignment(role=role, mission_id=mission_id, metric_id=metric_id))
    session.flush()
    return user


def grant_role(
    session: Session, *, user: User, role: Role,
    mission_id: int | None = None, metric_id: int | None = None,
) -> RoleAssignment:
    assignment = RoleAssignment(role=role, mission_id=mission_id, metric_id=metric_id)
    user.roles.append(assignment)
    session.flush()
    return assignment


def _recent_failures(
    session: Session, *, column: InstrumentedAttribute[str], value: str, since: dt.datetime
) -> int:
    return int(session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
        )
    ) or 0)


def authenticate(
    session: Session, *, email: str, password: str, ip: str,
    max_failures: int, window_seconds: int,
) -> User | None:
    """Check a password, with throttling per email address and per client address.

    Returns the user, or None for a wrong email or password. Raises :class:`TooManyAttempts`
    once ``max_failures`` failures (per email) or ``4 * max_failures`` (per address) fall in
    the window; the attempt is not even checked then.
    """
    email = email.strip().lower()
    since = utcnow() - dt.timedelta(seconds=window_seconds)
    if (
        _recent_failures(session, column=LoginAttempt.email, value=email, since=since)
        >= max_failures
        or _recent_failures(session, column=LoginAttempt.ip, value=ip, since=since)
        >= 4 * max_failures
    ):
        raise TooManyAttempts(
            f"Too many failed sign-in attempts. Try again in {window_seconds // 60} minutes."
        )
    user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    session.add(LoginAttempt(email=email, ip=ip, succeeded=ok))
    session.flush()
    if not ok or user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def create_api_token(session: Session, *, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a bearer token; the secret is returned once and only its hash is kept."""
    secret = "mb_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_sha256=_sha256(secret))
    session.add(token)
    session.flush()
    return token, secret


def user_for_token(session: Session, *, secret: str) -> User | None:
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == _sha256(secret), ApiToken.revoked_at.is_(None)
        )
    )
    if token is None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get_user(session: Session, *, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at)
    ))


def revoke_api_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound(f"no token {token_id}")
    token.revoked_at = utcnow()
    session.flush()
    return token


def set_password(session: Session, *, email: str, password: str) -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed([FieldError(
            "password", f"The password must be at least {MIN_PASSWORD_LENGTH} characters")])
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email}")
    user.password_hash = hash_password(password)
    session.flush()
    return user
