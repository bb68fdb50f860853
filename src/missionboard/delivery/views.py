"""Delivery pages: a mission's interventions and their estimated effects."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from missionboard.accounts import access
from missionboard.db.base import utcnow
from missionboard.delivery import service
from missionboard.missions import service as missions_service
from missionboard.web.deps import DB, CurrentUser, csrf_protect, render

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/missions/{slug}/interventions", response_class=HTMLResponse)
def interventions_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    today = utcnow().date()
    interventions = service.list_interventions(db, mission=mission)
    rows = [
        {"intervention": i, "optimism": service.optimism(i),
         "plan": [(item, service.plan_state(item, today=today)) for item in i.plan]}
        for i in interventions
    ]
    return render(request, "delivery/interventions.html", {
        "mission": mission, "rows": rows,
        "summary": service.plan_summary(interventions, today=today), "today": today,
        "defaults": sorted(service.DEFAULT_OPTIMISM.items(), key=lambda kv: -kv[1]),
    }, user=user)
