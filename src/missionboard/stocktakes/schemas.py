"""Input shapes for stocktakes, judgements, actions, risks and challenges."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from missionboard.missions.schemas import ShortText, Text
from missionboard.stocktakes.framework import CRITERIA
from missionboard.stocktakes.models import ActionStatus, Rating, RiskStatus


class StocktakeIn(BaseModel):
    title: ShortText
    meeting_on: dt.date
    as_of: dt.date
    chair: str = ""

    @model_validator(mode="after")
    def _dates(self) -> StocktakeIn:
        if self.as_of > self.meeting_on:
            raise ValueError("the pack's data date cannot be after the meeting")
        return self


class CriterionIn(BaseModel):
    value: str
    reason: Text


class JudgementIn(BaseModel):
    overall: Rating
    overall_reason: Text
    items: dict[str, CriterionIn]

    @model_validator(mode="after")
    def _complete(self) -> JudgementIn:
        for criterion in CRITERIA:
            given = self.items.get(criterion.key)
            if given is None:
                raise ValueError(f"judge {criterion.title.lower()}")
            if given.value not in criterion.choices:
                raise ValueError(f"choose a value for {criterion.title.lower()}")
        unknown = set(self.items) - {c.key for c in CRITERIA}
        if unknown:
            raise ValueError(f"unknown criteria: {', '.join(sorted(unknown))}")
        return self


class DecisionIn(BaseModel):
    text: Text


class ActionIn(BaseModel):
    title: ShortText
    owner: ShortText
    due: dt.date


class ActionUpdateIn(BaseModel):
    status: ActionStatus
    progress: str = ""
    completed_on: dt.date | None = None

    @model_validator(mode="after")
    def _completion(self) -> ActionUpdateIn:
        if self.status == ActionStatus.DONE and self.completed_on is None:
            raise ValueError("give the date the action was completed")
        if self.status != ActionStatus.DONE:
            self.completed_on = None
        return self


class RiskIn(BaseModel):
    title: ShortText
    description: str = ""
    owner: ShortText
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    mitigation: str = ""
    status: RiskStatus = RiskStatus.OPEN
    raised_on: dt.date


class ChallengeIn(BaseModel):
    question: Text
    evidence: str = ""
    raised_on: dt.date


class AnswerIn(BaseModel):
    answer: Text
    answered_on: dt.date


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class JudgementItemOut(_Out):
    criterion: str
    value: str
    reason: str


class JudgementOut(_Out):
    overall: Rating
    overall_reason: str
    recorded_at: dt.datetime
    items: list[JudgementItemOut]


class StocktakeOut(BaseModel):
    id: int
    title: str
    meeting_on: dt.date
    as_of: dt.date
    issued_at: dt.datetime | None
    pack_sha256: str | None
    pack_published: bool
    judgement: JudgementOut | None = Field(
        description="Present where the mission publishes its judgements, or for the board")


class StocktakeList(BaseModel):
    items: list[StocktakeOut]


class PackOut(BaseModel):
    stocktake_id: int
    issued: bool = Field(description="False: a draft built from the live data just now")
    sha256: str | None = Field(description="SHA-256 of the issued pack's canonical JSON")
    pack: dict[str, Any]


class ChallengeOut(_Out):
    id: int
    raised_by: str
    raised_by_role: str
    raised_on: dt.date
    question: str
    evidence: str
    answer: str | None
    answered_by: str | None
    answered_on: dt.date | None
    published_at: dt.datetime | None


class ChallengeList(BaseModel):
    items: list[ChallengeOut]
