"""The partners' page routers as one, in the order their paths must be matched: the
moderators' fixed paths (``/partners/moderation``) before the public ``/partners/{slug}``."""

from __future__ import annotations

from fastapi import APIRouter

from missionboard.partners.moderation_views import router as moderation_router
from missionboard.partners.staff_views import router as staff_router
from missionboard.partners.views import router as public_router

router = APIRouter()
router.include_router(moderation_router)
router.include_router(staff_router)
router.include_router(public_router)
