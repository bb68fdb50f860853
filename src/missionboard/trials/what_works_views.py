"""The "what works" library: every mission's finished trials that found something to report,
the most secure findings first, with filters and a download (:mod:`.what_works`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, ValidationFailed
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.trials import adoption, service, what_works
from missionboard.trials.views import STATUS_LABELS
from missionboard.web.deps import DB, CurrentUser, render
from missionboard.web.mission_access import can_see
from missionboard.web.uploads import base_url, csv_bytes

router = APIRouter()

DIRECTIONS = {"": "Any finding", "positive": "Improved the outcome",
              "negative": "Worsened the outcome", "unclear": "No clear effect"}




def _filters(min_padlocks: str, direction: str) -> tuple[int, str]:
    errors = []
    try:
        padlocks = int(min_padlocks or 0)
    except ValueError:
        padlocks = -1
    if not 0 <= padlocks <= 5:
        errors.append(FieldError("min_padlocks", "Choose from 0 to 5 padlocks"))
    if direction not in DIRECTIONS:
        errors.append(FieldError("direction", "Choose a finding from the list"))
    if errors:
        raise ValidationFailed(errors)
    return padlocks, direction


def _library(db: DB, user: User | None, mission: Mission | None, min_padlocks: str,
             direction: str) -> tuple[list[what_works.Entry], int, str]:
    padlocks, wanted = _filters(min_padlocks, direction)
    trials = [t for t in service.list_trials(db, mission=mission) if can_see(user, t)]
    programmes = [p for p in adoption.list_programmes(db, mission=mission) if can_see(user, p)]
    found = what_works.entries(db, trials, min_padlocks=padlocks, direction=wanted,
                               programmes=programmes)
    return found, padlocks, wanted


def _page(request: Request, user: User | None, mission: Mission | None, *,
          found: list[what_works.Entry], padlocks: int, direction: str) -> Response:
    context: dict[str, Any] = {
        "mission": mission, "entries": found, "min_padlocks": padlocks,
        "direction": direction, "directions": DIRECTIONS, "status_labels": STATUS_LABELS,
        "query": ("?" + str(request.query_params)) if request.query_params else "",
    }
    return render(request, "trials/what_works.html", context, user=user)


@router.get("/what-works", response_class=HTMLResponse)
def library(request: Request, db: DB, user: CurrentUser, *, min_padlocks: str = "0",
            direction: str = "") -> Response:
    found, padlocks, wanted = _library(db, user, None, min_padlocks, direction)
    return _page(request, user, None, found=found, padlocks=padlocks, direction=wanted)


@router.get("/missions/{slug}/what-works", response_class=HTMLResponse)
def mission_library(request: Request, slug: str, db: DB, user: CurrentUser, *,
                    min_padlocks: str = "0", direction: str = "") -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    found, padlocks, wanted = _library(db, user, mission, min_padlocks, direction)
    return _page(request, user, mission, found=found, padlocks=padlocks, direction=wanted)


@router.get("/what-works.csv")
def library_csv(request: Request, db: DB, mission: str | None = None,
                min_padlocks: str = "0", direction: str = "") -> Response:
    """The public library (never drafts, whoever asks), one trial a row."""
    found_mission = None
    if mission is not None:
        found_mission = missions_service.get_mission(db, slug=mission, include_drafts=False)
    found, _, _ = _library(db, None, found_mission, min_padlocks, direction)
    body = csv_bytes(what_works.csv_rows(found, base_url=base_url(request)))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="missionboard-what-works.csv"'})
