"""Build citizens' panels through the services, as organisers and volunteers would."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.missions.models import Mission
from missionboard.panels import service
from missionboard.panels.models import Invitation, Panel, PanelStage, Volunteer
from missionboard.panels.schemas import PanelIn

SHARES = {
    "age": {"16-34": 0.3, "35-59": 0.4, "60+": 0.3},
    "gender": {"woman": 0.51, "man": 0.49},
    "region": {"north": 0.3, "midlands": 0.3, "south": 0.4},
}


def share_rows(shares: dict[str, dict[str, float]] = SHARES) -> list[dict[str, str]]:
    return [{"feature": f, "value": v, "share": str(s)}
            for f, values in shares.items() for v, s in values.items()]


def address_rows(n: int, *, start: int = 0) -> list[dict[str, str]]:
    return [{"reference": f"A{i:04d}", "line1": f"{i} Station Road", "line2": "",
             "town": "Leeds", "postcode": f"LS{1 + i % 9} {1 + i % 9}AB",
             "stratum": ("north", "south")[i % 2]} for i in range(start, start + n)]


def new_panel(session: Session, mission: Mission, *, slug: str = "health-panel", size: int = 8,
              household_rule: bool = True) -> Panel:
    return service.create_panel(session, mission=mission, data=PanelIn(
        slug=slug, title="Health panel", question="How should the NHS cut waiting lists?",
        size=size, household_rule=household_rule, retention_until=dt.date(2027, 6, 30)))


def answers(rng: random.Random, shares: dict[str, dict[str, float]] = SHARES
            ) -> dict[str, str]:
    return {f"answer-{f}": rng.choices(list(v), weights=list(v.values()))[0]
            for f, v in shares.items()}


def registration(code: str, rng: random.Random, **extra: str) -> dict[str, str]:
    return {"code": code, "name": "Ada Volunteer", "email": "ada@example.org",
            "phone": "01632 960001", "consent": "yes", **answers(rng), **extra}


def recruiting(session: Session, mission: Mission, *, size: int = 8, addresses: int = 80,
               invited: int = 60, household_rule: bool = True, slug: str = "health-panel"
               ) -> Panel:
    """A panel with census targets, an address list and invitations, open to register."""
    panel = new_panel(session, mission, size=size, household_rule=household_rule, slug=slug)
    service.import_shares(session, panel=panel, rows=share_rows())
    service.import_addresses(session, panel=panel, rows=address_rows(addresses))
    service.draw_invitations(session, panel=panel, count=invited, seed=11,
                             rng=random.Random(slug))
    service.set_stage(session, panel=panel, stage=PanelStage.RECRUITING)
    return panel


def codes(session: Session, panel: Panel) -> list[str]:
    return list(session.scalars(select(Invitation.code).where(
        Invitation.panel_id == panel.id).order_by(Invitation.id)))


def with_pool(session: Session, mission: Mission, *, volunteers: int = 40, size: int = 8,
              household_rule: bool = True, seed: int = 3, slug: str = "health-panel",
              addresses: int = 80) -> Panel:
    """A panel with ``volunteers`` registered and registration closed."""
    panel = recruiting(session, mission, size=size, household_rule=household_rule,
                       invited=min(addresses, max(60, volunteers)),
                       addresses=max(addresses, volunteers), slug=slug)
    rng = random.Random(seed)  # answers, and pseudonyms, so that the tests' draws are fixed
    for code in codes(session, panel)[:volunteers]:
        service.register(session, panel=panel, values=registration(code, rng), rng=rng)
    service.set_stage(session, panel=panel, stage=PanelStage.CLOSED)
    return panel


def pool(session: Session, panel: Panel) -> list[Volunteer]:
    return service.volunteers(session, panel)
