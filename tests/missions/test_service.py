"""Missions, boards and the public change record."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from missionboard.errors import NotFound, ReasonRequired, ValidationFailed
from missionboard.missions import service
from missionboard.missions.models import MissionStatus
from missionboard.missions.schemas import BoardMemberIn, MissionIn
from tests import factories


def test_drafts_are_hidden_unless_asked_for(session: Session) -> None:
    factories.mission(session, "shown")
    factories.mission(session, "hidden", published=False)
    assert [m.slug for m in service.list_missions(session, include_drafts=False)] == ["shown"]
    assert len(service.list_missions(session, include_drafts=True)) == 2
    with pytest.raises(NotFound):
        service.get_mission(session, slug="hidden", include_drafts=False)


def test_draft_edits_need_no_reason_but_published_ones_do(session: Session) -> None:
    draft = factories.mission(session, "draft", published=False)
    data = MissionIn(slug="draft", title="New title", ambition="A", horizon_year=2030)
    service.update_mission(session, mission=draft, data=data, actor=None, reason=None)
    assert service.list_changes(session, mission_id=draft.id) == []

    live = factories.mission(session, "live")
    data = MissionIn(slug="live", title="New title", ambition="A", horizon_year=2031)
    with pytest.raises(ReasonRequired):
        service.update_mission(session, mission=live, data=data, actor=None, reason="  ")
    assert live.title == "Mission live"  # nothing changed
    service.update_mission(session, mission=live, data=data, actor=None, reason="Clearer")
    (change,) = service.list_changes(session, mission_id=live.id)
    assert change.reason == "Clearer"
    assert change.fields["horizon_year"] == {"old": 2035, "new": 2031}
    assert change.fields["title"]["new"] == "New title"


def test_withdrawing_a_published_mission_is_a_public_change(session: Session) -> None:
    live = factories.mission(session, "live")
    with pytest.raises(ReasonRequired):
        service.set_mission_status(session, mission=live, status=MissionStatus.DRAFT,
                                   actor=None, reason=None)
    service.set_mission_status(session, mission=live, status=MissionStatus.DRAFT, actor=None,
                               reason="Merged into another mission")
    assert [c.fields for c in service.list_changes(session, mission_id=live.id)] == [
        {"status": {"old": "published", "new": "draft"}}]


def test_slug_cannot_change(session: Session) -> None:
    live = factories.mission(session, "live")
    with pytest.raises(ValidationFailed):
        service.update_mission(session, mission=live, data=MissionIn(
            slug="moved", title="T", ambition="A", horizon_year=2030), actor=None, reason="x")


def test_board_has_one_chair_and_one_accountable_lead(session: Session) -> None:
    m = factories.mission(session, "board")
    service.add_board_member(session, mission=m, data=BoardMemberIn(
        name="Prime Minister", role="minister", is_chair=True))
    service.add_board_member(session, mission=m, data=BoardMemberIn(
        name="Secretary of State", role="minister", is_accountable_lead=True))
    with pytest.raises(ValidationFailed) as exc:
        service.add_board_member(session, mission=m, data=BoardMemberIn(
            name="Another", role="official", is_chair=True, is_accountable_lead=True))
    assert {e.field for e in exc.value.errors} == {"is_chair", "is_accountable_lead"}
    service.add_board_member(session, mission=m, data=BoardMemberIn(
        name="Non-executive", role="non_executive"))
    assert [b.name for b in m.board_members] == ["Prime Minister", "Secretary of State",
                                                  "Non-executive"]
