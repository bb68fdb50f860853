"""Input shapes for conversations, statements, votes and moderation decisions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from missionboard.deliberation.models import Participation, StatementState
from missionboard.missions.schemas import ShortText, Slug, Text

#: Pol.is keeps statements to 140 characters; a little more room for plain English.
STATEMENT_MAX = 280

StatementText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                                 max_length=STATEMENT_MAX)]


class ConversationIn(BaseModel):
    slug: Slug
    title: ShortText
    question: Text
    description: str = ""
    outcome_id: int | None = None
    participation: Participation = Participation.ANONYMOUS
    accept_statements: bool = True
    statement_cap: int = Field(default=5, ge=0, le=100)
    premoderate: bool = True
    fixed_k: int | None = Field(default=None, ge=2, le=5)
    moderation_policy: str | None = None


class StatementIn(BaseModel):
    text: StatementText


class VoteIn(BaseModel):
    statement: int = Field(ge=0)
    vote: Literal[-1, 0, 1]


class ModerationIn(BaseModel):
    state: StatementState
    reason: str = ""
