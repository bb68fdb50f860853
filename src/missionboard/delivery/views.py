"""Delivery pages: a mission's interventions and their estimated effects."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from missionboard.accounts import access
from missionboard.delivery import service
from missionboard.missions import service as missions_service
from missionboard.web.deps import DB, CurrentUser, csrf_protect, render

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/missions/{slug}/interventions", response_class=HTMLResponse)
def interventions_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    rows = [
        {"intervention": i, "optimism": service.optimism(i)}
        for i in service.list_interventions(db, mission=mission)
    ]
    return render(request, "delivery/interventions.html", {
        "mission": mission, "rows": rows,
        "defaults": sorted(service.DEFAULT_OPTIMISM.items(), key=lambda kv: -kv[1]),
    }, user=user)
