"""Authorisation choke points: every protected object is reached through these helpers.

A role assignment with neither ``mission_id`` nor ``metric_id`` applies everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from missionboard.accounts.models import Role, User
from missionboard.errors import NotAuthenticated, PermissionDenied


def _has(user: User, role: Role, *, mission_ids: Iterable[int] = (), metric_id: int | None = None
         ) -> bool:
    wanted_missions = set(mission_ids)
    for assignment in user.roles:
        if assignment.role != role:
            continue
        if assignment.mission_id is None and assignment.metric_id is None:
            return True
        if assignment.mission_id is not None and assignment.mission_id in wanted_missions:
            return True
        if metric_id is not None and assignment.metric_id == metric_id:
            return True
    return False


def is_admin(user: User | None) -> bool:
    return user is not None and _has(user, Role.ADMIN)


def can_view_drafts(user: User | None) -> bool:
    return user is not None and user.is_active and len(user.roles) > 0


def can_create_mission(user: User | None) -> bool:
    if user is None:
        return False
    if is_admin(user):
        return True
    return _has(user, Role.MISSION_EDITOR)


def can_manage_peer_groups(user: User | None) -> bool:
    """Define whom frontline units are compared with: an admin or an editor of any mission."""
    if user is None:
        return False
    return is_admin(user) or any(a.role == Role.MISSION_EDITOR for a in user.roles)


def can_edit_mission(user: User | None, mission_id: int) -> bool:
    if user is None:
        return False
    if is_admin(user):
        return True
    return _has(user, Role.MISSION_EDITOR, mission_ids=[mission_id])


def can_edit_metric(user: User | None, metric_mission_ids: Iterable[int]) -> bool:
    """Edit a metric's definition and targets: an editor of any mission it serves."""
    if user is None:
        return False
    if is_admin(user):
        return True
    return _has(user, Role.MISSION_EDITOR, mission_ids=metric_mission_ids)


def can_publish_data(user: User | None, metric_id: int, metric_mission_ids: Iterable[int]) -> bool:
    """Load observations for a metric: its data publisher, or an editor of its missions."""
    if user is None:
        return False
    if is_admin(user):
        return True
    if _has(user, Role.DATA_PUBLISHER, metric_id=metric_id):
        return True
    return _has(user, Role.MISSION_EDITOR, mission_ids=metric_mission_ids)


def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthenticated("Sign in to do this")
    return user


def require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(f"You do not have permission to {what}")
