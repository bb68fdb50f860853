"""The demo conversation: seed statements from ``demo_data/conversation.toml``, a few
participants' statements in each moderation state, and generated votes from three planted
opinion groups spread over the last fortnight, then a first analysis."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.deliberation import service
from missionboard.deliberation.models import (
    Conversation,
    ConversationStatus,
    StatementState,
    Vote,
)
from missionboard.deliberation.schemas import ConversationIn
from missionboard.missions.models import Mission

_DATA = Path(__file__).resolve().parent.parent / "demo_data" / "conversation.toml"


def load_conversation(session: Session, *, missions_by_slug: dict[str, Mission],
                      moderator: User | None = None) -> Conversation:
    """Create, fill and open the demo conversation and analyse it. Flushes; never commits."""
    from missionboard.deliberation.analysis import run_analysis

    data = tomllib.loads(_DATA.read_text(encoding="utf-8"))
    mission = missions_by_slug[data["mission"]]
    conversation = service.create_conversation(session, mission=mission, data=ConversationIn(
        slug=data["slug"], title=data["title"], question=data["question"],
        description=data["description"],
        outcome_id=mission.outcomes[0].id if mission.outcomes else None))
    seeds = [service.add_seed(session, conversation, s["text"], moderator=moderator)
             for s in data["statements"]]
    service.set_status(session, conversation, ConversationStatus.OPEN)
    sim = data["simulation"]
    start = utcnow() - dt.timedelta(days=int(sim["days"]))
    conversation.opened_at = start
    rng = np.random.default_rng(int(sim["seed"]))
    n = int(sim["participants"])
    planted = rng.choice(len(sim["shares"]), size=n, p=np.array(sim["shares"]))
    # Arrivals spread over the fortnight, busier at the start (as after a launch).
    arrival = np.sort(rng.beta(1.0, 2.5, size=n)) * int(sim["days"]) * 86_400_000
    people = []
    for i in range(n):
        browser = f"demo-participant-{i}"
        people.append(service.join(session, conversation, browser_id=browser))
    session.flush()
    profiles = np.array([s["groups"] for s in data["statements"]], dtype=float)  # C × G × 2
    low, high = sim["votes_per_participant"]
    rows = []
    base_ms = int(start.timestamp() * 1000)
    for i, person in enumerate(people):
        count = int(rng.integers(low, high + 1))
        chosen = rng.choice(len(seeds), size=min(count, len(seeds)), replace=False)
        for j, c in enumerate(chosen):
            agree, disagree = profiles[c, planted[i]]
            draw = rng.random()
            value = 1 if draw < agree else -1 if draw < agree + disagree else 0
            rows.append({"conversation_id": conversation.id, "participant_id": person.id,
                         "statement_id": seeds[c].id, "value": value,
                         "cast_at": base_ms + int(arrival[i]) + 20_000 * j})
    session.execute(insert(Vote), rows)
    for i, item in enumerate(data.get("submitted", [])):
        statement = service.submit(session, conversation, people[i], item["text"])
        state = StatementState(item["state"])
        if state != StatementState.PENDING:
            service.moderate(session, statement, state, reason=item.get("reason", ""),
                             moderator=moderator)
    session.flush()
    run_analysis(session, conversation, cold=True)
    return conversation

