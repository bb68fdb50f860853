"""Stocktakes: schedule, build and freeze the pack, record the judgement, decisions and
actions; the mission's risk register; challenges from non-executives and mission councils."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.councils import service as councils_service
from missionboard.db.base import utcnow
from missionboard.delivery import service as delivery_service
from missionboard.delivery.service import PlanState
from missionboard.errors import Conflict, FieldError, NotFound, ValidationFailed, validate
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import Metric, Observation
from missionboard.missions import service as missions_service
from missionboard.missions.models import BoardRole, Mission
from missionboard.stocktakes.framework import CRITERIA
from missionboard.stocktakes.models import (
    Action,
    ActionStatus,
    Challenge,
    Decision,
    Judgement,
    JudgementItem,
    Rating,
    Risk,
    RiskStatus,
    Stocktake,
)
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

PACK_VERSION = 1
#: How far ahead of the data date the pack lists milestones as "due".
DUE_WITHIN = dt.timedelta(days=120)
#: Below this projected chance a target is flagged as a risk in the pack.
LOW_CHANCE = 0.5
PACK_DRAWS = 10_000

# Who may do what --------------------------------------------------------------------------

CHALLENGER_ROLES = (BoardRole.NON_EXECUTIVE, BoardRole.PARTNER_REPRESENTATIVE)


def board_user_ids(mission: Mission) -> set[int]:
    return {m.user_id for m in mission.board_members if m.user_id is not None}


def can_see_board_papers(user: User | None, mission: Mission) -> bool:
    """Unpublished packs, judgements and challenges: the board and the mission's editors."""
    return user is not None and (access.can_edit_mission(user, mission.id)
                                 or user.id in board_user_ids(mission))


def can_raise_challenge(user: User | None, mission: Mission) -> bool:
    if user is None:
        return False
    return access.can_edit_mission(user, mission.id) or any(
        m.user_id == user.id and m.role in CHALLENGER_ROLES for m in mission.board_members)


def can_answer_challenge(user: User | None, mission: Mission) -> bool:
    if user is None:
        return False
    return access.can_edit_mission(user, mission.id) or any(
        m.user_id == user.id and m.is_accountable_lead for m in mission.board_members)


_CHALLENGER_LABELS = {BoardRole.NON_EXECUTIVE: "Non-executive member",
                      BoardRole.PARTNER_REPRESENTATIVE: "Partner representative"}


def challenger_role(user: User, mission: Mission) -> str:
    for member in mission.board_members:
        if member.user_id == user.id and member.role in _CHALLENGER_LABELS:
            return _CHALLENGER_LABELS[member.role]
    return "Recorded by the mission team"


# Stocktakes -------------------------------------------------------------------------------

def list_stocktakes(session: Session, *, mission: Mission) -> list[Stocktake]:
    """The mission's stocktakes, most recent meeting first."""
    return list(session.scalars(
        select(Stocktake).where(Stocktake.mission_id == mission.id)
        .order_by(Stocktake.meeting_on.desc(), Stocktake.id.desc())))


def get_stocktake(session: Session, *, mission: Mission, stocktake_id: int) -> Stocktake:
    found = session.get(Stocktake, stocktake_id)
    if found is None or found.mission_id != mission.id:
        raise NotFound(f"no stocktake {stocktake_id} for mission {mission.slug!r}")
    return found


def previous_stocktake(session: Session, stocktake: Stocktake) -> Stocktake | None:
    """The stocktake on the same mission that met last before this one."""
    earlier = (Stocktake.meeting_on < stocktake.meeting_on) | (
        (Stocktake.meeting_on == stocktake.meeting_on) & (Stocktake.id < stocktake.id))
    return session.scalar(
        select(Stocktake).where(Stocktake.mission_id == stocktake.mission_id, earlier,
                                Stocktake.id != stocktake.id)
        .order_by(Stocktake.meeting_on.desc(), Stocktake.id.desc()).limit(1))


def create_stocktake(session: Session, *, mission: Mission, data: StocktakeIn) -> Stocktake:
    stocktake = Stocktake(mission_id=mission.id, **data.model_dump())
    session.add(stocktake)
    session.flush()
    return stocktake


def update_stocktake(session: Session, *, stocktake: Stocktake, data: StocktakeIn) -> Stocktake:
    if stocktake.is_issued and data.as_of != stocktake.as_of:
        raise ValidationFailed([FieldError(
            "as_of", "The pack has been issued: its data date cannot change")])
    for key, value in data.model_dump().items():
        setattr(stocktake, key, value)
    session.flush()
    return stocktake


def cancel_stocktake(session: Session, *, stocktake: Stocktake) -> None:
    """Remove a stocktake whose pack has not been issued; an issued one is on the record."""
    if stocktake.is_issued:
        raise Conflict("This stocktake's pack has been issued: it stays on the record")
    session.delete(stocktake)
    session.flush()


def pack_digest(pack: Mapping[str, Any]) -> str:
    """SHA-256 of the pack's canonical JSON: anyone holding a copy can check it is the one
    issued."""
    canonical = json.dumps(pack, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def issue_pack(session: Session, *, stocktake: Stocktake, actor: User) -> Stocktake:
    """Freeze the pack as it stands now; it never changes again."""
    if stocktake.is_issued:
        raise Conflict("This pack has already been issued and cannot change")
    pack = build_pack(session, stocktake=stocktake)
    stocktake.pack = pack
    stocktake.pack_sha256 = pack_digest(pack)
    stocktake.issued_at = utcnow()
    stocktake.issued_by = actor.name
    session.flush()
    return stocktake


def publish_pack(session: Session, *, stocktake: Stocktake) -> Stocktake:
    if not stocktake.is_issued:
        raise Conflict("Issue the pack before publishing it")
    stocktake.pack_published_at = stocktake.pack_published_at or utcnow()
    session.flush()
    return stocktake


def pack_of(session: Session, stocktake: Stocktake) -> dict[str, Any]:
    """The issued pack, or (before issue) a draft built now from the live data."""
    return stocktake.pack if stocktake.pack is not None else build_pack(session,
                                                                          stocktake=stocktake)


# The pack ---------------------------------------------------------------------------------

def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _mission_metrics(mission: Mission) -> list[Metric]:
    seen: dict[int, Metric] = {}
    for outcome in mission.outcomes:
        for metric in outcome.metrics:
            seen.setdefault(metric.id, metric)
    return list(seen.values())


def _headline(session: Session, metrics: Sequence[Metric], as_of: dt.date
              ) -> list[dict[str, Any]]:
    rows = []
    for metric in metrics:
        for target in metric.targets:
            view = metrics_service.target_view(session, target=target, as_of=as_of)
            out = delivery_service.trajectory_out(
                delivery_service.trajectory(session, target=target, draws=PACK_DRAWS))
            a = view.assessment
            rows.append({
                "metric": metric.slug, "metric_title": metric.title, "unit": metric.unit,
                "draft": not metric.is_published, "target_id": target.id,
                "target": target.title, "area": target.area.name,
                "baseline_value": target.baseline_value, "baseline_label": target.baseline_label,
                "target_value": target.target_value, "deadline": _iso(target.deadline),
                "latest_value": a.actual_value,
                "latest_period": view.latest.period_label if view.latest else None,
                "required_value": a.required_value, "status": a.status.value,
                "status_label": a.status.label, "status_reason": a.reason,
                "probability": out.probability, "expected_gap": out.expected_gap,
                "additional_effect_needed": out.additional_effect_needed,
                "required_probability": out.required_probability,
                "counterfactual": out.counterfactual,
                "fan": [{"month": _iso(p.month), "p10": p.p10, "p25": p.p25, "p50": p.p50,
                         "p75": p.p75, "p90": p.p90} for p in out.fan],
                "path": [{"date": _iso(d), "value": v}
                         for d, v in zip(view.path.dates, view.path.values, strict=True)],
            })
    return rows


def _since(previous: Stocktake | None) -> dt.datetime | None:
    if previous is None:
        return None
    return previous.issued_at or dt.datetime.combine(previous.as_of, dt.time.max, tzinfo=dt.UTC)


def _changes(session: Session, mission: Mission, metrics: Sequence[Metric],
             previous: Stocktake | None, as_of: dt.date) -> dict[str, Any]:
    since = _since(previous)
    until = dt.datetime.combine(as_of, dt.time.max, tzinfo=dt.UTC)
    records = [c for c in missions_service.list_changes(
        session, mission_id=mission.id, also_metric_ids=[m.id for m in metrics])
        if c.at <= until and (since is None or c.at > since)]
    new_data = []
    for metric in metrics:
        query = select(func.count(), func.max(Observation.period_end)).where(
            Observation.metric_id == metric.id, Observation.period_end <= as_of)
        if since is not None:
            query = query.where(Observation.updated_at > since)
        count, latest = session.execute(query).one()
        if count:
            new_data.append({"metric_title": metric.title, "observations": count,
                             "latest_period_end": _iso(latest)})
    return {
        "since": _iso(since),
        "records": [{"at": _iso(c.at), "what": c.entity_type, "author": c.author_name,
                     "reason": c.reason, "fields": sorted(c.fields)} for c in records],
        "new_data": new_data,
    }


def _milestones(session: Session, mission: Mission, metrics: Sequence[Metric],
                as_of: dt.date) -> dict[str, list[dict[str, Any]]]:
    overdue, due = [], []
    horizon = as_of + DUE_WITHIN
    for intervention in delivery_service.list_interventions(session, mission=mission):
        for item in intervention.plan:
            state = delivery_service.plan_state(item, today=as_of)
            row = {"intervention": intervention.title, "kind": item.kind.value,
                   "title": item.title, "owner": item.owner, "due": _iso(item.due),
                   "state": state.value, "state_label": state.label}
            if state == PlanState.OVERDUE:
                overdue.append(row)
            elif state in (PlanState.AT_RISK, PlanState.ON_TRACK) and item.due <= horizon:
                due.append(row)
    for metric in metrics:
        for target in metric.targets:
            for m in target.milestones:
                if as_of < m.due <= horizon:
                    due.append({"intervention": f"Target: {target.title}", "kind": "target",
                                "title": f"{metric.title} to reach {m.value:,g}",
                                "owner": "", "due": _iso(m.due), "state": "due",
                                "state_label": "Target milestone"})
    return {"overdue": sorted(overdue, key=lambda r: r["due"]),
            "due": sorted(due, key=lambda r: r["due"])}


def _risks(session: Session, mission: Mission, headline: Sequence[Mapping[str, Any]]
           ) -> dict[str, Any]:
    register = [{"title": r.title, "owner": r.owner, "likelihood": r.likelihood,
                 "impact": r.impact, "score": r.score, "mitigation": r.mitigation}
                for r in list_risks(session, mission=mission, open_only=True)]
    flags = [f"{row['target']}: {row['probability']:.0%} projected chance of meeting it"
             for row in headline if row["probability"] < LOW_CHANCE]
    flags += [f"{row['target']}: off track at the latest data ({row['status_reason']})"
              for row in headline if row["status"] == "off_track"]
    return {"register": register, "flags": flags}


def _last_actions(previous: Stocktake | None, as_of: dt.date) -> list[dict[str, Any]]:
    if previous is None:
        return []
    return [{"id": a.id, "title": a.title, "owner": a.owner, "due": _iso(a.due),
             "status": a.status.value, "completed_on": _iso(a.completed_on),
             "progress": a.progress,
             "overdue": a.status == ActionStatus.OPEN and a.due < as_of}
            for a in previous.actions]


def _judgement_summary(judgement: Judgement | None) -> dict[str, Any] | None:
    if judgement is None:
        return None
    return {"overall": judgement.overall.value, "reason": judgement.overall_reason,
            "recorded_at": _iso(judgement.recorded_at)}


def build_pack(session: Session, *, stocktake: Stocktake) -> dict[str, Any]:
    """Everything the board reads before the meeting, as plain data as of ``as_of``."""
    mission = stocktake.mission
    as_of = stocktake.as_of
    previous = previous_stocktake(session, stocktake)
    metrics = _mission_metrics(mission)
    headline = _headline(session, metrics, as_of)
    open_challenges = [c for c in list_challenges(session, mission=mission, published_only=False)
                       if c.raised_on <= as_of
                       and (c.answered_on is None or c.answered_on > as_of)]
    return {
        "version": PACK_VERSION,
        "built_at": _iso(utcnow()),
        "mission": {"slug": mission.slug, "title": mission.title, "ambition": mission.ambition},
        "stocktake": {"id": stocktake.id, "title": stocktake.title,
                      "meeting_on": _iso(stocktake.meeting_on), "as_of": _iso(as_of),
                      "chair": stocktake.chair},
        "previous": None if previous is None else {
            "id": previous.id, "title": previous.title,
            "meeting_on": _iso(previous.meeting_on), "as_of": _iso(previous.as_of),
            "judgement": _judgement_summary(previous.judgement),
            "decisions": [d.text for d in previous.decisions]},
        "headline": headline,
        "changes": _changes(session, mission, metrics, previous, as_of),
        "milestones": _milestones(session, mission, metrics, as_of),
        "risks": _risks(session, mission, headline),
        "last_actions": _last_actions(previous, as_of),
        "open_challenges": [{"raised_by": c.raised_by, "raised_on": _iso(c.raised_on),
                             "question": c.question} for c in open_challenges],
        # The mission council's recommendations awaiting a response or overdue, and the
        # responses since the last stocktake's data date.
        "council": councils_service.stocktake_section(
            session, mission=mission, as_of=as_of,
            since=previous.as_of if previous is not None else None),
    }


# The meeting ------------------------------------------------------------------------------

def judgement_from_form(values: Mapping[str, Any]) -> JudgementIn:
    """Read the judgement form, naming each field that is missing."""
    errors = []
    if values.get("overall") not in {r.value for r in Rating}:
        errors.append(FieldError("overall", "Choose the overall likelihood of delivery"))
    if not str(values.get("overall_reason") or "").strip():
        errors.append(FieldError("overall_reason", "Give the reason for the overall judgement"))
    items = {}
    for c in CRITERIA:
        value, reason = values.get(c.key), str(values.get(f"{c.key}_reason") or "").strip()
        if value not in c.choices:
            errors.append(FieldError(c.key, f"Choose a value for {c.title.lower()}"))
        if not reason:
            errors.append(FieldError(f"{c.key}_reason",
                                     f"Give the reason for {c.title.lower()}"))
        items[c.key] = {"value": value, "reason": reason}
    if errors:
        raise ValidationFailed(errors)
    return validate(JudgementIn, {"overall": values["overall"],
                                  "overall_reason": values["overall_reason"], "items": items})


def record_judgement(session: Session, *, stocktake: Stocktake, data: JudgementIn,
                     actor: User) -> Judgement:
    """Record (or correct) the meeting's judgement; every change is in the audit log."""
    if not stocktake.is_issued:
        raise Conflict("Issue the pack before recording the judgement")
    judgement = stocktake.judgement
    if judgement is None:
        judgement = Judgement(mission_id=stocktake.mission_id, recorded_by=actor.name)
        stocktake.judgement = judgement
    judgement.overall, judgement.overall_reason = data.overall, data.overall_reason
    existing = {item.criterion: item for item in judgement.items}
    for key, given in data.items.items():
        item = existing.get(key)
        if item is None:
            item = JudgementItem(criterion=key)
            judgement.items.append(item)
        item.value, item.reason = given.value, given.reason
    session.flush()
    return judgement


def add_decision(session: Session, *, stocktake: Stocktake, data: DecisionIn) -> Decision:
    decision = Decision(text=data.text, position=len(stocktake.decisions))
    stocktake.decisions.append(decision)
    session.flush()
    return decision


def add_action(session: Session, *, stocktake: Stocktake, data: ActionIn) -> Action:
    action = Action(**data.model_dump())
    stocktake.actions.append(action)
    session.flush()
    return action


def get_action(session: Session, *, mission: Mission, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None or action.stocktake.mission_id != mission.id:
        raise NotFound(f"no action {action_id} for mission {mission.slug!r}")
    return action


def update_action(session: Session, *, action: Action, data: ActionUpdateIn) -> Action:
    action.status, action.progress = data.status, data.progress
    action.completed_on = data.completed_on
    session.flush()
    return action


@dataclass(frozen=True)
class HistoryEntry:
    stocktake: Stocktake
    judgement: Judgement


def judgement_history(session: Session, *, mission: Mission) -> list[HistoryEntry]:
    """Every recorded judgement on the mission, oldest meeting first."""
    rows = session.execute(
        select(Stocktake, Judgement).join(Judgement, Judgement.stocktake_id == Stocktake.id)
        .where(Stocktake.mission_id == mission.id)
        .order_by(Stocktake.meeting_on, Stocktake.id)).all()
    return [HistoryEntry(stocktake=s, judgement=j) for s, j in rows]


# Risks ------------------------------------------------------------------------------------

def list_risks(session: Session, *, mission: Mission, open_only: bool = False) -> list[Risk]:
    query = select(Risk).where(Risk.mission_id == mission.id)
    if open_only:
        query = query.where(Risk.status == RiskStatus.OPEN)
    risks = list(session.scalars(query.order_by(Risk.id)))
    return sorted(risks, key=lambda r: (r.status != RiskStatus.OPEN, -r.score, r.id))


def get_risk(session: Session, *, mission: Mission, risk_id: int) -> Risk:
    risk = session.get(Risk, risk_id)
    if risk is None or risk.mission_id != mission.id:
        raise NotFound(f"no risk {risk_id} for mission {mission.slug!r}")
    return risk


def save_risk(session: Session, *, mission: Mission, data: RiskIn, risk: Risk | None = None
              ) -> Risk:
    if risk is None:
        risk = Risk(mission_id=mission.id)
        session.add(risk)
    for key, value in data.model_dump().items():
        setattr(risk, key, value)
    session.flush()
    return risk


# External challenge -----------------------------------------------------------------------

def list_challenges(session: Session, *, mission: Mission, published_only: bool
                    ) -> list[Challenge]:
    query = select(Challenge).where(Challenge.mission_id == mission.id)
    if published_only:
        query = query.where(Challenge.published_at.is_not(None))
    return list(session.scalars(query.order_by(Challenge.raised_on.desc(), Challenge.id.desc())))


def get_challenge(session: Session, *, mission: Mission, challenge_id: int) -> Challenge:
    challenge = session.get(Challenge, challenge_id)
    if challenge is None or challenge.mission_id != mission.id:
        raise NotFound(f"no challenge {challenge_id} for mission {mission.slug!r}")
    return challenge


def raise_challenge(session: Session, *, mission: Mission, data: ChallengeIn, actor: User
                    ) -> Challenge:
    challenge = Challenge(mission_id=mission.id, raised_by=actor.name,
                          raised_by_role=challenger_role(actor, mission), **data.model_dump())
    session.add(challenge)
    session.flush()
    return challenge


def answer_challenge(session: Session, *, challenge: Challenge, data: AnswerIn, actor: User
                     ) -> Challenge:
    if data.answered_on < challenge.raised_on:
        raise ValidationFailed([FieldError("answered_on",
                                           "The answer cannot be dated before the challenge")])
    challenge.answer, challenge.answered_on = data.answer, data.answered_on
    challenge.answered_by = actor.name
    session.flush()
    return challenge


def publish_challenge(session: Session, *, challenge: Challenge) -> Challenge:
    """Publish a challenge with its answer: a challenge is published answered, not before."""
    if challenge.answer is None:
        raise Conflict("A challenge is published with its answer: answer it first")
    challenge.published_at = challenge.published_at or utcnow()
    session.flush()
    return challenge


def meeting_record(stocktake: Stocktake, *, with_judgement: bool) -> dict[str, Any]:
    """What the meeting decided, as plain data (for the PDF)."""
    judgement = stocktake.judgement if with_judgement else None
    titles = {c.key: c.title for c in CRITERIA}
    return {
        "judgement": None if judgement is None else {
            "overall": judgement.overall.value, "overall_reason": judgement.overall_reason,
            "items": [{"criterion": i.criterion, "title": titles.get(i.criterion, i.criterion),
                       "value": i.value, "reason": i.reason} for i in judgement.items]},
        "decisions": [d.text for d in stocktake.decisions],
        "actions": [{"title": a.title, "owner": a.owner, "due": _iso(a.due),
                     "status": a.status.value} for a in stocktake.actions],
    }
