"""Build adoption programmes through the service, as a mission team would."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy.orm import Session

from missionboard.missions.models import Mission
from missionboard.trials import adoption
from missionboard.trials.adoption_models import AdoptionProgramme
from missionboard.trials.adoption_schemas import ProgrammeIn

#: The day the tests take as today.
TODAY = dt.date(2026, 6, 15)
OFFERED = dt.date(2024, 7, 1)
AREAS = ("North East", "London", "South West")


def programme_data(slug: str = "tutoring-adoption", **changes: Any) -> ProgrammeIn:
    data: dict[str, Any] = {
        "slug": slug, "title": "Small-group tutoring in primary schools",
        "unit_kind": "school", "description": "Full fidelity: three sessions a week.",
        "offered_on": OFFERED, "target_percent": 80, "target_on": dt.date(2027, 9, 1)}
    data.update(changes)
    return ProgrammeIn.model_validate(data)


def new_programme(session: Session, mission: Mission, *, slug: str = "tutoring-adoption",
                  units: int = 0, **changes: Any) -> AdoptionProgramme:
    programme = adoption.create_programme(session, mission=mission,
                                          data=programme_data(slug, **changes))
    if units:
        adoption.import_units(session, programme=programme, rows=unit_rows(units))
    return programme


def unit_rows(n: int) -> list[dict[str, str]]:
    return [{"unit_id": f"U{i:03d}", "name": f"School {i:03d}", "area": AREAS[i % 3],
             "group": f"Trust {i % 4}"} for i in range(n)]


def record_rows(n: int, *, seed: int = 7, stops: bool = True) -> list[dict[str, str]]:
    """Adoptions of some of units U000… over two years, mixed fidelity, some stopping."""
    rng = random.Random(seed)
    rows = []
    span = (TODAY - OFFERED).days
    for i in range(n):
        if rng.random() < 0.3:
            continue
        adopted = OFFERED + dt.timedelta(days=rng.randint(0, span - 1))
        stopped = ""
        if stops and rng.random() < 0.2 and (TODAY - adopted).days > 2:
            stopped = (adopted + dt.timedelta(
                days=rng.randint(0, (TODAY - adopted).days))).isoformat()
        level = rng.choice(["full", "partial", "minimal", ""])
        rows.append({"unit_id": f"U{i:03d}", "adopted_on": adopted.isoformat(),
                     "fidelity": level,
                     "fidelity_score": str(rng.randint(0, 100)) if not level else "",
                     "stopped_on": stopped, "source": "Provider return", "note": ""})
    return rows
