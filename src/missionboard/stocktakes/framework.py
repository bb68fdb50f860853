"""The assessment framework for the delivery judgement (after the Delivery Unit's).

Each criterion is judged at every stocktake with a value and a reason. Rated criteria take
one of the four ratings; the degree of challenge is context (low to very high), and the stage
of delivery is a number from 1 to 4. The overall judgement is the likelihood of delivery.
"""

from __future__ import annotations

from dataclasses import dataclass

from missionboard.stocktakes.models import Rating

RATING_LABELS = {
    Rating.GREEN: "Green",
    Rating.AMBER_GREEN: "Amber-green",
    Rating.AMBER_RED: "Amber-red",
    Rating.RED: "Red",
}
RATING_MEANINGS = {
    Rating.GREEN: "Good, few problems",
    Rating.AMBER_GREEN: "Problems, but they are being dealt with",
    Rating.AMBER_RED: "Serious problems, action needed now",
    Rating.RED: "Highly problematic, urgent and decisive action needed",
}
CHALLENGE_LEVELS = {"low": "Low", "medium": "Medium", "high": "High", "very_high": "Very high"}
STAGES = {
    "1": "1 – Policy development",
    "2": "2 – Implementation planning",
    "3": "3 – Implementation",
    "4": "4 – Embedding (hard to reverse)",
}


@dataclass(frozen=True)
class Criterion:
    key: str
    area: str
    title: str
    choices: dict[str, str]

    @property
    def is_rating(self) -> bool:
        return self.choices is _RATINGS


_RATINGS = {r.value: label for r, label in RATING_LABELS.items()}
_PLANNING = "Quality of planning, implementation and performance management"
_CAPACITY = "Capacity to drive progress"

CRITERIA: tuple[Criterion, ...] = (
    Criterion("degree_of_challenge", "Degree of challenge", "Degree of challenge",
              CHALLENGE_LEVELS),
    Criterion("understanding", _PLANNING, "Understanding the delivery challenge", _RATINGS),
    Criterion("governance", _PLANNING, "Governance, programme and project management",
              _RATINGS),
    Criterion("performance_management", _PLANNING,
              "Managing performance: trajectories, milestones and data", _RATINGS),
    Criterion("leadership", _CAPACITY, "Leadership and accountability", _RATINGS),
    Criterion("delivery_chain", _CAPACITY, "Capacity along the delivery chain", _RATINGS),
    Criterion("engagement", _CAPACITY, "Engagement of partners and the front line", _RATINGS),
    Criterion("stage_of_delivery", "Stage of delivery", "Stage of delivery", STAGES),
)
BY_KEY = {c.key: c for c in CRITERIA}


def value_label(criterion_key: str, value: str) -> str:
    criterion = BY_KEY.get(criterion_key)
    return criterion.choices.get(value, value) if criterion else value
