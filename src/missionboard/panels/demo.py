"""The demo citizens' panel, from ``demo_data/panel.toml``: generated addresses, invitations
drawn by region, volunteers (who are not like the population: see the TOML's bias), a draw
committed and revealed, one member's withdrawal and a replacement draw, and three
recommendations with the government's responses. Everything is generated from one seed, so
the demo is the same every time."""

from __future__ import annotations

import datetime as dt
import random
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.db.base import utcnow
from missionboard.missions.models import Mission
from missionboard.panels import published, selection, service
from missionboard.panels.models import (
    Invitation,
    Panel,
    PanelAddress,
    PanelStage,
    SeedSource,
    Volunteer,
    VolunteerStatus,
)
from missionboard.panels.schemas import CommitIn, PanelIn, RecommendationIn, ResponseIn

_DATA = Path(__file__).resolve().parent.parent / "demo_data" / "panel.toml"
#: Invented names and places for the generated people and addresses.
_FIRST = ("Amara", "Ben", "Chloe", "Dev", "Ewa", "Farid", "Grace", "Hamza", "Isla", "Jon",
          "Kemi", "Liam", "Maya", "Niall", "Olu", "Priya", "Rhys", "Sana", "Tom", "Zoe")
_LAST = ("Ahmed", "Baker", "Clarke", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal",
         "Jones", "Khan", "Lewis", "Morgan", "Nowak", "Okafor", "Patel", "Roberts", "Smith")
_STREETS = ("Station Road", "Church Lane", "Mill Street", "Park Avenue", "Victoria Road",
            "Chapel Row", "Elm Grove", "Orchard Close")
_TOWNS = {"north": ("Leeds", "LS"), "midlands": ("Derby", "DE"), "london": ("London", "SE"),
          "south": ("Reading", "RG"), "wales": ("Cardiff", "CF")}


def _addresses(rng: random.Random, n: int, shares: dict[str, float]) -> list[dict[str, str]]:
    regions = list(shares)
    rows = []
    for i in range(n):
        region = rng.choices(regions, weights=[shares[r] for r in regions])[0]
        town, area = _TOWNS[region]
        district = rng.randint(1, 19)
        rows.append({"reference": f"DEMO{i + 1:04d}",
                     "line1": f"{rng.randint(1, 180)} {rng.choice(_STREETS)}", "line2": "",
                     "town": town, "postcode": f"{area}{district} {rng.randint(1, 9)}"
                     f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
                     "stratum": region})
    return rows


def _answers(rng: random.Random, features: list[dict[str, Any]], bias: dict[str, float],
             region: str) -> dict[str, str]:
    out = {}
    for f in features:
        if f["name"] == "region":
            out["answer-region"] = region
            continue
        values = [v[0] for v in f["values"]]
        weights = [v[2] * bias.get(f"{f['name']}:{v[0]}", 1.0) for v in f["values"]]
        out[f"answer-{f['name']}"] = rng.choices(values, weights=weights)[0]
    return out


def load_panel(session: Session, *, missions_by_slug: dict[str, Mission]) -> Panel:
    """Create, recruit, select, replace and answer the demo panel. Flushes; never commits."""
    data = tomllib.loads(_DATA.read_text(encoding="utf-8"))
    sim = data["simulation"]
    rng = random.Random(int(sim["seed"]))  # noqa: S311 - demo data, not security
    now = utcnow()
    today = now.date()
    mission = missions_by_slug[data["mission"]]
    panel = service.create_panel(session, mission=mission, data=PanelIn(
        slug=data["slug"], title=data["title"], question=data["question"],
        purpose=data["purpose"], size=int(data["size"]),
        outcome_id=mission.outcomes[0].id if mission.outcomes else None,
        household_rule=bool(data["household_rule"]),
        retention_until=today + dt.timedelta(days=365),
        meets_from=today - dt.timedelta(days=70), meets_until=today - dt.timedelta(days=35)))
    service.import_shares(session, panel=panel, rows=[
        {"feature": f["name"], "value": v[0], "label": v[1], "share": str(v[2]),
         "question": f["question"]} for f in data["features"] for v in f["values"]])
    for feature, spec in zip(panel.features, data["features"], strict=True):
        feature.source = spec["source"]
    regions = {v[0]: v[2] for f in data["features"] if f["name"] == "region"
               for v in f["values"]}
    service.import_addresses(session, panel=panel,
                             rows=_addresses(rng, int(sim["addresses"]), regions))
    service.draw_invitations(session, panel=panel, count=int(sim["invitations"]),
                             by_stratum=True, seed=int(sim["seed"]), rng=rng)
    service.set_stage(session, panel=panel, stage=PanelStage.RECRUITING)
    invitations = session.execute(select(Invitation.code, Invitation.address_id).where(
        Invitation.panel_id == panel.id).order_by(Invitation.id)).all()
    strata = dict(session.execute(select(PanelAddress.id, PanelAddress.stratum).where(
        PanelAddress.panel_id == panel.id)).all())
    responding = rng.sample(invitations, int(sim["volunteers"]))
    for code, address_id in responding:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        values = {"code": code, "name": f"{first} {last}", "consent": "yes",
                  "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.com",
                  "phone": f"01632 960{rng.randint(0, 999):03d}",
                  **_answers(rng, data["features"], sim["bias"], strata[address_id])}
        service.register(session, panel=panel, values=values, rng=rng)
    service.set_stage(session, panel=panel, stage=PanelStage.CLOSED)
    ceremony = data["ceremony"]
    legacy_runs = int(data["legacy_runs"])
    first_run = _draw(session, panel, seed=int(ceremony["initial_seed"]),
                      description=ceremony["initial_description"], legacy_runs=legacy_runs)
    # A member drops out: the first (by pseudonym) whom someone in the reserve can replace.
    members = service.members(session, panel)
    reserve = service.volunteers(session, panel, status=VolunteerStatus.RESERVE)
    leaving = next(m for m in members if _replaceable(panel, m, members, reserve))
    service.withdraw(session, panel=panel, pseudonym=leaving.pseudonym)
    second_run = _draw(session, panel, seed=int(ceremony["replacement_seed"]),
                       description=ceremony["replacement_description"],
                       legacy_runs=legacy_runs)
    _backdate(panel, first_run, second_run, leaving, now)
    for i, item in enumerate(data["recommendations"]):
        recommendation = service.add_recommendation(session, panel=panel, data=RecommendationIn(
            title=item["title"], text=item["text"], support=item["support"],
            made_on=today - dt.timedelta(days=30), response_due=today + dt.timedelta(days=60)))
        service.respond(session, recommendation=recommendation, data=ResponseIn(
            status=item["status"], text=item["response"],
            published_on=today - dt.timedelta(days=7 - i)))
    service.set_stage(session, panel=panel, stage=PanelStage.REPORTED)
    session.flush()
    return panel


def _replaceable(panel: Panel, leaving: Volunteer, members: list[Volunteer],
                 reserve: list[Volunteer]) -> bool:
    """Whether one volunteer in the reserve meets every quota shifted by the other members."""
    kept = [m for m in members if m is not leaving]
    for person in reserve:
        if all(v.min <= sum(m.answers[f.name] == v.value for m in kept)
               + (person.answers[f.name] == v.value) <= v.max
               for f in panel.features for v in f.values):
            return True
    return False


def _draw(session: Session, panel: Panel, *, seed: int, description: str,
          legacy_runs: int) -> Any:
    selection.commit(session, panel=panel, check=False, data=CommitIn(
        seed_source=SeedSource.ORGANISER, commitment=published.seed_commitment(seed),
        seed_description=description))
    return selection.draw(session, panel=panel, seed_text=str(seed), legacy_runs=legacy_runs)


def _backdate(panel: Panel, first: Any, second: Any, leaving: Any, now: dt.datetime) -> None:
    """Spread the demo over the last four months, as a real panel's would be."""
    days = dt.timedelta(days=1)
    panel.registration_opened_at = now - 120 * days
    panel.registration_closed_at = now - 90 * days
    first.committed_at, first.drawn_at = now - 89 * days, now - 86 * days
    leaving.withdrawn_at = now - 80 * days
    second.committed_at, second.drawn_at = now - 79 * days, now - 77 * days
