"""Who may see and change what belongs to a mission — trials, adoption programmes, panels: the
checks their pages share. The public sees what is public (registered, on a published mission);
the mission's editors and admins see everything of the mission and may change it."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission


class MissionOwned(Protocol):
    @property
    def mission_id(self) -> int: ...

    @property
    def is_public(self) -> bool: ...


def can_see(user: User | None, item: MissionOwned) -> bool:
    """The public sees public items; the rest only the mission's editors (and admins)."""
    return item.is_public or access.can_edit_mission(user, item.mission_id)


def mission_for_new(db: Session, user: User | None, slug: str, what: str
                    ) -> tuple[User, Mission]:
    """The signed-in editor and the mission (drafts included) they are adding ``what`` to."""
    user = access.require_user(user)
    mission = missions_service.get_mission(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, mission.id), what)
    return user, mission
