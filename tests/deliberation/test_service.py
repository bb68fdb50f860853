"""Conversations, joining, statements (cap, near-duplicates, moderation) and votes, on both
databases."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from missionboard.analytics.near_duplicates import nearest, normalise, similarity
from missionboard.deliberation import service
from missionboard.deliberation.models import (
    Conversation,
    ConversationStatus,
    Participation,
    StatementState,
)
from missionboard.deliberation.schemas import ConversationIn
from missionboard.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests import factories


def _conversation(session: Session, w: factories.World, *, slug: str = "talk",
                  participation: Participation = Participation.ANONYMOUS, cap: int = 2,
                  open_it: bool = True) -> Conversation:
    conversation = service.create_conversation(session, mission=w.mission, data=ConversationIn(
        slug=slug, title="Talk", question="What should we do?", participation=participation,
        statement_cap=cap, outcome_id=w.outcome.id))
    service.add_seed(session, conversation, "Buses should run every ten minutes.",
                     moderator=w.editor)
    service.add_seed(session, conversation, "Parking should be free in town centres.",
                     moderator=w.editor)
    if open_it:
        service.set_status(session, conversation, ConversationStatus.OPEN)
    return conversation


def test_a_conversation_is_public_only_when_open_or_closed_on_a_published_mission(
        session: Session) -> None:
    w = factories.world(session)
    draft = _conversation(session, w, slug="draft", open_it=False)
    live = _conversation(session, w, slug="live")
    assert [c.slug for c in service.list_conversations(session)] == ["live"]
    with pytest.raises(NotFound):
        service.get_conversation(session, slug=draft.slug)
    assert service.get_conversation(session, slug=draft.slug, include_drafts=True) is draft
    assert live.outcome is w.outcome


def test_an_outcome_of_another_mission_is_refused(session: Session) -> None:
    w = factories.world(session)
    with pytest.raises(ValidationFailed) as caught:
        service.create_conversation(session, mission=w.mission, data=ConversationIn(
            slug="x", title="X", question="Q?", outcome_id=w.draft_outcome.id))
    assert caught.value.errors[0].field == "outcome_id"


def test_opening_needs_a_statement_and_withdrawal_needs_no_votes(session: Session) -> None:
    w = factories.world(session)
    empty = service.create_conversation(session, mission=w.mission, data=ConversationIn(
        slug="empty", title="E", question="Q?"))
    with pytest.raises(Conflict):
        service.set_status(session, empty, ConversationStatus.OPEN)
    conversation = _conversation(session, w)
    person = service.join(session, conversation, browser_id="b1")
    service.cast(session, conversation, person, 0, 1)
    with pytest.raises(Conflict):
        service.set_status(session, conversation, ConversationStatus.DRAFT)
    service.set_status(session, conversation, ConversationStatus.CLOSED)
    with pytest.raises(Conflict):
        service.cast(session, conversation, person, 1, 1)


def test_a_browser_is_one_participant_and_numbers_count_from_zero(session: Session) -> None:
    w = factories.world(session)
    conversation = _conversation(session, w)
    first = service.join(session, conversation, browser_id="browser-a")
    again = service.join(session, conversation, browser_id="browser-a")
    second = service.join(session, conversation, browser_id="browser-b")
    signed_in = service.join(session, conversation, user=w.viewer)
    assert first is again
    assert [first.number, second.number, signed_in.number] == [0, 1, 2]
    assert first.browser_key == service.browser_key("browser-a") != "browser-a"
    assert service.join(session, conversation, browser_id="other", user=w.viewer) is signed_in


def test_sign_in_and_xid_conversations_admit_only_their_people(session: Session) -> None:
    w = factories.world(session)
    members = _conversation(session, w, slug="members", participation=Participation.SIGN_IN)
    with pytest.raises(PermissionDenied):
        service.join(session, members, browser_id="anon")
    assert service.join(session, members, user=w.viewer).user_id == w.viewer.id
    invited = _conversation(session, w, slug="invited", participation=Participation.XID)
    assert service.register_xids(session, invited, ["id-1", "id-2", "id-1", " "]) == 2
    assert service.register_xids(session, invited, ["id-2", "id-3"]) == 1
    with pytest.raises(PermissionDenied):
        service.join(session, invited, xid="stranger")
    with pytest.raises(PermissionDenied):
        service.join(session, invited, browser_id="anon")
    assert service.join(session, invited, xid="id-3").xid == "id-3"


def test_statements_are_capped_checked_for_repeats_and_queued(session: Session) -> None:
    w = factories.world(session)
    conversation = _conversation(session, w, cap=2)
    person = service.join(session, conversation, browser_id="writer")
    with pytest.raises(ValidationFailed, match="statement 0"):
        service.submit(session, conversation, person, "buses should run every ten minutes!")
    flagged = service.submit(session, conversation, person,
                             "Buses should run every ten minutes at night too.")
    assert flagged.state == StatementState.PENDING
    assert flagged.duplicate_of is not None
    assert flagged.duplicate_of.number == 0
    fresh = service.submit(session, conversation, person, "Cycle lanes need kerbs.")
    assert fresh.duplicate_of_id is None
    with pytest.raises(ValidationFailed, match="most this conversation takes"):
        service.submit(session, conversation, person, "Trams are better than buses.")
    assert [s.number for s in service.statements_by(session, person)] == [2, 3]
    with pytest.raises(ValidationFailed):
        service.submit(session, conversation, service.join(session, conversation,
                                                           browser_id="short"), "no")


def test_moderation_needs_a_reason_to_reject_and_is_logged(session: Session) -> None:
    w = factories.world(session)
    conversation = _conversation(session, w)
    person = service.join(session, conversation, browser_id="writer")
    statement = service.submit(session, conversation, person, "Ring my number 0123 456789.")
    with pytest.raises(ValidationFailed) as caught:
        service.moderate(session, statement, StatementState.REJECTED, moderator=w.editor)
    assert caught.value.errors[0].field == "reason"
    service.moderate(session, statement, StatementState.REJECTED, reason="Personal details",
                     moderator=w.editor)
    log = service.moderation_log(session, conversation)
    assert (log[0].statement.number, log[0].state, log[0].reason) == (
        2, StatementState.REJECTED, "Personal details")
    assert statement.moderated == -1
    with pytest.raises(NotFound):
        service.cast(session, conversation, person, statement.number, 1)
    # A rejected statement no longer blocks a similar one.
    again = service.submit(session, conversation, person, "Ring my number 0123 456789.")
    assert again.state == StatementState.PENDING


def test_a_conversation_without_premoderation_accepts_at_once(session: Session) -> None:
    w = factories.world(session)
    conversation = _conversation(session, w)
    conversation.premoderate = False
    person = service.join(session, conversation, browser_id="p")
    assert service.submit(session, conversation, person, "Open the library on Sundays."
                          ).state == StatementState.ACCEPTED


def test_the_last_vote_stands_and_routing_skips_what_was_voted(session: Session) -> None:
    w = factories.world(session)
    conversation = _conversation(session, w)
    person = service.join(session, conversation, browser_id="voter")
    service.cast(session, conversation, person, 0, 1)
    service.cast(session, conversation, person, 0, -1)
    assert service.standing_votes(session, person) == {0: -1}
    assert service.count_votes(session, conversation) == 2
    assert service.count_participants(session, conversation) == 1
    for seed in range(5):
        chosen = service.next_statement(session, conversation, person,
                                        rng=random.Random(seed))
        assert chosen is not None
        assert chosen.number == 1
    service.cast(session, conversation, person, 1, 0)
    assert service.next_statement(session, conversation, person) is None
    with pytest.raises(ValidationFailed):
        service.cast(session, conversation, person, 1, 2)


def test_near_duplicate_scores() -> None:
    assert normalise("  We need MORE buses!!") == "we need more buses"
    assert similarity("We need more buses!", "we need more  buses") == 1.0
    assert similarity("abc", "xyz") == 0.0
    assert nearest("more buses please", {1: "More buses, please.", 2: "Fewer cars"},
                   threshold=0.5) == [(1, 1.0)]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    s = similarity(a, b)
    assert s == similarity(b, a)
    assert 0.0 <= s <= 1.0
    if normalise(a) and normalise(a) == normalise(b):
        assert s == 1.0
