"""The demo's stocktakes, risks and challenges (``demo_data/stocktakes.toml``).

Loaded through the services after the missions, interventions and users: each held meeting's
pack is issued (a real snapshot of the demo data), its judgement, decisions and actions are
recorded, and the actions' outcomes are filled in before the next meeting's pack is issued,
so that pack reports them. Flushes; never commits.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import Role, User
from missionboard.missions.models import BoardRole, Mission
from missionboard.stocktakes import service
from missionboard.stocktakes.models import Stocktake
from missionboard.stocktakes.schemas import (
    ActionIn,
    ActionUpdateIn,
    AnswerIn,
    ChallengeIn,
    DecisionIn,
    JudgementIn,
    RiskIn,
    StocktakeIn,
)

_FILE = files("missionboard") / "demo_data" / "stocktakes.toml"


def _morning(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)


def _link_account(session: Session, mission: Mission, *, email: str, password: str,
                  name: str, member_is: Any) -> User:
    user = accounts.create_user(session, email=email, name=name, password=password,
                                roles=[(Role.VIEWER, None, None)])
    member = next(m for m in mission.board_members if member_is(m))
    member.user_id = user.id
    return user


def _hold(session: Session, stocktake: Stocktake, spec: Mapping[str, Any], actor: User
          ) -> None:
    judgement = dict(spec["judgement"])
    items = {k: {"value": v[0], "reason": v[1]} for k, v in judgement.items()
             if isinstance(v, list)}
    data = JudgementIn.model_validate({"overall": judgement["overall"],
                                       "overall_reason": judgement["overall_reason"],
                                       "items": items})
    recorded = service.record_judgement(session, stocktake=stocktake, data=data, actor=actor)
    recorded.recorded_at = _morning(stocktake.meeting_on)
    for text in spec.get("decisions", []):
        service.add_decision(session, stocktake=stocktake, data=DecisionIn(text=text))
    for action in spec.get("actions", []):
        service.add_action(session, stocktake=stocktake,
                           data=ActionIn.model_validate(action))


def _follow_up(session: Session, stocktake: Stocktake, spec: Mapping[str, Any]) -> None:
    """Record what became of the meeting's actions (before the next pack is issued)."""
    for action, given in zip(stocktake.actions, spec.get("actions", []), strict=True):
        service.update_action(session, action=action, data=ActionUpdateIn.model_validate(
            {k: given[k] for k in ("status", "progress", "completed_on") if k in given}))


def load_stocktakes(session: Session, *, missions_by_slug: Mapping[str, Mission],
                    editor: User, email_domain: str, password: str) -> int:
    """Load the demo stocktakes; return how many were created."""
    data = tomllib.loads(_FILE.read_text(encoding="utf-8"))
    mission = missions_by_slug[data["mission"]]
    mission.judgements_public = data["judgements_public"]
    non_executive = _link_account(
        session, mission, email=f"{data['non_executive_account']}@{email_domain}",
        password=password, name="Demo non-executive member",
        member_is=lambda m: m.role == BoardRole.NON_EXECUTIVE)
    lead = _link_account(session, mission, email=f"lead@{email_domain}", password=password,
                         name="Demo accountable lead", member_is=lambda m: m.is_accountable_lead)
    for risk in data["risks"]:
        service.save_risk(session, mission=mission, data=RiskIn.model_validate(risk))
    for challenge in data["challenges"]:
        _challenge(session, mission, challenge, raised_by=non_executive, lead=lead)
    previous: tuple[Stocktake, Mapping[str, Any]] | None = None
    for spec in data["stocktakes"]:
        stocktake = service.create_stocktake(session, mission=mission, data=StocktakeIn(
            title=spec["title"], meeting_on=spec["meeting_on"], as_of=spec["as_of"],
            chair=spec.get("chair", "")))
        if previous is not None:
            _follow_up(session, *previous)
        if not spec.get("held", True):
            continue
        service.issue_pack(session, stocktake=stocktake, actor=editor)
        stocktake.issued_at = _morning(stocktake.meeting_on - dt.timedelta(days=5))
        _hold(session, stocktake, spec, editor)
        if spec.get("publish"):
            service.publish_pack(session, stocktake=stocktake)
            stocktake.pack_published_at = stocktake.issued_at
        previous = (stocktake, spec)
    session.flush()
    return len(data["stocktakes"])


def _challenge(session: Session, mission: Mission, spec: Mapping[str, Any], *,
               raised_by: User, lead: User) -> None:
    challenge = service.raise_challenge(session, mission=mission, actor=raised_by,
                                        data=ChallengeIn.model_validate(spec))
    if "answer" in spec:
        service.answer_challenge(session, challenge=challenge, actor=lead,
                                 data=AnswerIn.model_validate(spec))
    if spec.get("publish"):
        service.publish_challenge(session, challenge=challenge)


def editor_for(session: Session, *, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(f"no demo user {email}")
    return user
