"""The councils service on both databases: one council per mission, the register of members
and its balance, the secretariat, meetings with attendance and minutes (drafted, then
published and fixed), recommendations with their due dates, the government's responses and
their implementation, who may do what (every branch), and the stocktake pack's section."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry, Role, User
from missionboard.councils import service
from missionboard.councils.models import (
    Attendance,
    Council,
    CouncilAttendance,
    Implementation,
    RecommendationStatus,
    ResponseKind,
    Sector,
)
from missionboard.councils.schemas import (
    ImplementationIn,
    MeetingIn,
    MemberIn,
    RecommendationIn,
)
from missionboard.errors import Conflict, NotFound, ValidationFailed
from missionboard.stocktakes import service as stocktakes
from missionboard.stocktakes.schemas import StocktakeIn
from tests import factories
from tests.councils import builders
from tests.councils.builders import TODAY, member, new_council

S = RecommendationStatus


@pytest.fixture
def world(session: Session) -> factories.World:
    return factories.world(session)


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


# The council -------------------------------------------------------------------------------

def test_one_council_per_mission_with_its_own_short_name(session: Session,
                                                         world: factories.World) -> None:
    council = new_council(session, world.mission, members=False)
    assert council.max_sector_share == pytest.approx(0.4)
    assert council.required_sectors == ["trade_union", "citizen"]  # in the sectors' order
    assert council.sectors_needed == [Sector.TRADE_UNION, Sector.CITIZEN]
    assert council.is_public
    assert service.council_for_mission(session, mission=world.mission) is council
    assert service.get_council(session, slug="health-council") is council
    with pytest.raises(ValidationFailed) as again:
        new_council(session, world.mission, slug="another", members=False)
    assert "already has a council" in _fields(again)["slug"]
    with pytest.raises(ValidationFailed) as taken:
        new_council(session, world.draft_mission, members=False)
    assert "is taken" in _fields(taken)["slug"]
    draft = new_council(session, world.draft_mission, slug="draft-council", members=False)
    assert not draft.is_public
    with pytest.raises(NotFound):
        service.get_council(session, slug="nope")


def test_the_details_change_but_not_the_short_name(session: Session,
                                                   world: factories.World) -> None:
    council = new_council(session, world.mission, members=False)
    service.update_council(session, council=council, data=builders.council_data(
        name="Renamed", max_sector_percent=25, required_sectors=[], response_weeks=12))
    assert (council.name, council.max_sector_share, council.required_sectors,
            council.response_weeks) == ("Renamed", 0.25, [], 12)
    with pytest.raises(ValidationFailed) as exc:
        service.update_council(session, council=council,
                               data=builders.council_data("other-slug"))
    assert "cannot change" in _fields(exc)["slug"]


# Members and the balance -------------------------------------------------------------------

def test_members_their_terms_the_chair_and_the_balance(session: Session,
                                                       world: factories.World) -> None:
    council = new_council(session, world.mission)
    assert [m.name for m in service.chair(council, today=TODAY)] == ["Chair Person"]
    assert not service.balance(council, today=TODAY).flagged
    # Three more from business: business holds 4 of 8 (50%), over the 40% limit.
    for name in ("B2", "B3", "B4"):
        service.add_member(session, council=council, data=builders.member_data(name))
    found = service.balance(council, today=TODAY)
    assert found.members == 8
    assert found.over_limit == [Sector.BUSINESS]
    # The union member's term ended: the sector the remit needs is missing, and they are
    # a former member.
    union = member(council, "Uma Union")
    service.update_member(session, member=union, data=builders.member_data(
        "Uma Union", "trade_union", term_end=dt.date(2026, 5, 31)))
    assert [m.name for m in service.former_members(council, today=TODAY)] == ["Uma Union"]
    assert union not in service.current_members(council, today=TODAY)
    assert service.balance(council, today=TODAY).missing == [Sector.TRADE_UNION]
    # Appointed for later: not yet serving.
    later = service.add_member(session, council=council, data=builders.member_data(
        "Newcomer", "trade_union", term_start=dt.date(2026, 9, 1)))
    assert not later.serves_on(TODAY)
    assert later.serves_on(dt.date(2026, 9, 1))
    assert service.balance(council, today=dt.date(2026, 9, 1)).missing == []


def test_a_term_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="cannot end before it starts"):
        builders.member_data(term_end=dt.date(2025, 1, 1))
    with pytest.raises(ValueError, match="email"):
        MemberIn.model_validate({"name": "A", "sector": "other", "term_start": TODAY,
                                 "email": "not an address"})


def test_a_member_on_a_meeting_record_is_not_removed(session: Session,
                                                     world: factories.World) -> None:
    council = new_council(session, world.mission)
    chair, spare = member(council, "Chair Person"), member(council, "Cit Izen")
    builders.meeting(session, council, present=[chair.id])
    assert service.members_on_record(session, council=council) == {chair.id}
    with pytest.raises(Conflict, match="end their term"):
        service.remove_member(session, member=chair)
    service.remove_member(session, member=spare)
    assert "Cit Izen" not in [m.name for m in council.members]
    other = new_council(session, world.draft_mission, slug="other-council")
    with pytest.raises(NotFound):
        service.get_member(session, council=other, member_id=chair.id)


# The secretariat and who may do what -------------------------------------------------------

def test_the_secretariat(session: Session, world: factories.World) -> None:
    council = new_council(session, world.mission, members=False)
    staff = service.add_secretary(session, council=council, email="  NOBODY@example.org ")
    assert staff.user_id == world.nobody.id
    assert service.is_secretary(world.nobody, council)
    for email, message in (("unknown@example.org", "has an account"), ("", "has an account"),
                           ("nobody@example.org", "already on the secretariat")):
        with pytest.raises(ValidationFailed) as exc:
            service.add_secretary(session, council=council, email=email)
        assert message in _fields(exc)["email"]
    service.remove_secretary(session, council=council, staff_id=staff.id)
    assert not service.is_secretary(world.nobody, council)
    with pytest.raises(NotFound):
        service.remove_secretary(session, council=council, staff_id=staff.id)


WHO = ["anonymous", "nobody", "viewer", "other_editor", "secretary", "editor", "admin"]
#: For each check: who may (on a council of a published mission).
MAY = {
    "can_set_up": {"editor", "admin"},
    "can_respond": {"editor", "admin"},
    "can_record": {"secretary", "admin"},
    "can_keep_register": {"secretary", "editor", "admin"},
    "can_see_drafts": {"secretary", "editor", "admin"},
    "can_manage": {"secretary", "editor", "admin"},
    "can_see": set(WHO),
}


def _who(world: factories.World, secretary: User, name: str) -> User | None:
    if name == "anonymous":
        return None
    if name == "secretary":
        return secretary
    user: User = getattr(world, name)
    return user


@pytest.mark.parametrize("check", sorted(MAY))
def test_who_may_do_what(session: Session, world: factories.World, check: str) -> None:
    council = new_council(session, world.mission, members=False)
    draft = new_council(session, world.draft_mission, slug="draft-council", members=False)
    secretary = factories.user(session, "secretary@example.org")
    for c in (council, draft):
        service.add_secretary(session, council=c, email=secretary.email)
    allowed = {name for name in WHO
               if getattr(service, check)(_who(world, secretary, name), council)}
    assert allowed == MAY[check]
    # On a draft mission's council, the public sees nothing; the rest is the same.
    seen = {name for name in WHO
            if getattr(service, check)(_who(world, secretary, name), draft)}
    assert seen == (MAY["can_see_drafts"] if check == "can_see" else MAY[check])


def test_an_inactive_or_removed_secretary_has_no_rights(session: Session,
                                                        world: factories.World) -> None:
    council = new_council(session, world.mission, members=False)
    other = new_council(session, world.draft_mission, slug="draft-council", members=False)
    secretary = factories.user(session, "secretary@example.org")
    staff = service.add_secretary(session, council=other, email=secretary.email)
    assert service.can_record(secretary, other)
    assert not service.can_record(secretary, council)  # another council's secretary
    service.remove_secretary(session, council=other, staff_id=staff.id)
    assert not service.can_record(secretary, other)
    secretary.is_active = False
    with pytest.raises(ValidationFailed):
        service.add_secretary(session, council=council, email=secretary.email)


# Meetings and minutes ----------------------------------------------------------------------

def test_a_meeting_with_its_attendance(session: Session, world: factories.World) -> None:
    council = new_council(session, world.mission)
    chair, bea, uma = (member(council, n) for n in ("Chair Person", "Bea Business",
                                                    "Uma Union"))
    meeting = builders.meeting(session, council, present=[chair.id, bea.id],
                               apologies=[uma.id])
    assert [m.name for m in meeting.attended(Attendance.PRESENT)] == ["Chair Person",
                                                                      "Bea Business"]
    assert [m.name for m in meeting.attended(Attendance.APOLOGIES)] == ["Uma Union"]
    rows = {a.member_id: a.id for a in meeting.attendance}
    # Changed in place: Bea sent apologies after all, Uma is dropped, Cal came.
    cal = member(council, "Cal Charity")
    service.save_meeting(session, council=council, meeting=meeting, today=TODAY,
                         data=MeetingIn(held_on=meeting.held_on, title="First meeting",
                                        present=[chair.id, cal.id], apologies=[bea.id]))
    session.expire_all()
    after = {a.member_id: (a.id, a.status) for a in session.scalars(
        select(CouncilAttendance).where(CouncilAttendance.meeting_id == meeting.id))}
    assert after[bea.id] == (rows[bea.id], Attendance.APOLOGIES)
    assert after[chair.id] == (rows[chair.id], Attendance.PRESENT)
    assert uma.id not in after
    assert after[cal.id][1] == Attendance.PRESENT
    assert service.list_meetings(session, council=council) == [meeting]


def test_attendance_only_of_members_serving_on_the_day_and_once_held(
        session: Session, world: factories.World) -> None:
    council = new_council(session, world.mission)
    newcomer = service.add_member(session, council=council, data=builders.member_data(
        "Newcomer", term_start=dt.date(2026, 4, 1)))
    other = new_council(session, world.draft_mission, slug="other-council")
    stranger = member(other, "Chair Person")
    with pytest.raises(ValidationFailed) as exc:
        builders.meeting(session, council, present=[newcomer.id, stranger.id])
    messages = [e.message for e in exc.value.errors]
    assert "Newcomer was not a member on 10 March 2026" in messages
    assert "Choose members of this council" in messages
    chair = member(council, "Chair Person")
    with pytest.raises(ValidationFailed, match="once the meeting has been held"):
        builders.meeting(session, council, held_on=dt.date(2026, 9, 1), present=[chair.id])
    upcoming = builders.meeting(session, council, held_on=dt.date(2026, 9, 1),
                                title="Next meeting")  # an agenda in advance is fine
    assert upcoming.attendance == []
    with pytest.raises(ValueError, match="both present and sending apologies"):
        MeetingIn(held_on=TODAY, title="T", present=[1], apologies=[1])


def test_minutes_are_drafted_then_published_and_fixed(session: Session,
                                                      world: factories.World) -> None:
    council = new_council(session, world.mission)
    meeting = builders.meeting(session, council)
    upcoming = builders.meeting(session, council, held_on=dt.date(2026, 9, 1), title="Next")
    with pytest.raises(ValidationFailed, match="Write the minutes"):
        service.publish_minutes(session, meeting=meeting, today=TODAY)
    service.save_minutes(session, meeting=meeting, text="  Draft one.  ")
    assert meeting.minutes == "Draft one."
    assert not meeting.minutes_published
    service.save_minutes(session, meeting=upcoming, text="Prepared early.")
    with pytest.raises(Conflict, match="not been held"):
        service.publish_minutes(session, meeting=upcoming, today=TODAY)
    service.publish_minutes(session, meeting=meeting, today=TODAY)
    assert meeting.minutes_published
    with pytest.raises(Conflict, match="cannot change"):
        service.save_minutes(session, meeting=meeting, text="Rewritten")
    with pytest.raises(Conflict, match="already published"):
        service.publish_minutes(session, meeting=meeting, today=TODAY)
    with pytest.raises(Conflict, match="record is fixed"):
        service.save_meeting(session, council=council, meeting=meeting, today=TODAY,
                             data=MeetingIn(held_on=meeting.held_on, title="Changed"))
    assert meeting.minutes == "Draft one."


# Recommendations and responses -------------------------------------------------------------

def test_recommendations_are_numbered_and_due_after_the_councils_period(
        session: Session, world: factories.World) -> None:
    council = new_council(session, world.mission, response_weeks=6)
    meeting = builders.meeting(session, council)
    first = builders.recommendation(session, council, meeting_id=meeting.id)
    assert (first.number, first.made_on, first.response_due) == (
        1, dt.date(2026, 3, 10), dt.date(2026, 4, 21))
    assert first.meeting is meeting
    # Made at a meeting without a date: the meeting's date.
    second = service.add_recommendation(session, council=council, today=TODAY,
                                        data=RecommendationIn(title="T", text="X",
                                                              meeting_id=meeting.id))
    assert (second.number, second.made_on) == (2, meeting.held_on)
    third = builders.recommendation(session, council, made_on=dt.date(2026, 5, 1),
                                    due=dt.date(2026, 5, 15))
    assert (third.number, third.response_due, third.meeting_id) == (3, dt.date(2026, 5, 15),
                                                                    None)
    other = new_council(session, world.draft_mission, slug="other-council")
    assert builders.recommendation(session, other).number == 1
    assert [r.number for r in service.list_recommendations(session, council=council)] == [
        1, 2, 3]
    assert service.get_recommendation(session, council=council, number=2) is second
    with pytest.raises(NotFound):
        service.get_recommendation(session, council=council, number=4)


def test_a_recommendation_needs_sensible_dates(session: Session,
                                               world: factories.World) -> None:
    council = new_council(session, world.mission)
    other = new_council(session, world.draft_mission, slug="other-council")
    elsewhere = builders.meeting(session, other)
    with pytest.raises(ValidationFailed) as exc:
        builders.recommendation(session, council, made_on=dt.date(2026, 7, 1),
                                due=dt.date(2026, 6, 30))
    assert set(_fields(exc)) == {"made_on", "response_due"}
    with pytest.raises(ValidationFailed) as wrong:
        builders.recommendation(session, council, meeting_id=elsewhere.id)
    assert "meeting of this council" in _fields(wrong)["meeting_id"]
    with pytest.raises(ValueError, match="date it was made, or the meeting"):
        RecommendationIn(title="T", text="X")


def test_responses_reasons_revisions_and_implementation(session: Session,
                                                        world: factories.World) -> None:
    council = new_council(session, world.mission)
    r = builders.recommendation(session, council)  # due 5 May 2026
    assert service.status_of(r, today=TODAY) == S.OVERDUE
    for kind in ("rejected", "partly_accepted"):
        with pytest.raises(ValueError, match="Give the reason"):
            builders.response(kind)
    with pytest.raises(ValidationFailed) as early:
        service.respond(session, recommendation=r, today=TODAY,
                        data=builders.response(on=dt.date(2026, 3, 1)))
    assert "before the recommendation" in _fields(early)["responded_on"]
    with pytest.raises(ValidationFailed) as future:
        service.respond(session, recommendation=r, today=TODAY,
                        data=builders.response(on=dt.date(2026, 6, 16)))
    assert "future" in _fields(future)["responded_on"]
    # Implementation only once accepted.
    update = ImplementationIn(implementation=Implementation.IN_PROGRESS,
                              updated_on=dt.date(2026, 6, 1), note=" Half done ")
    with pytest.raises(Conflict):
        service.update_implementation(session, recommendation=r, data=update, today=TODAY)
    response = service.respond(session, recommendation=r, today=TODAY,
                               data=builders.response("partly_accepted", dt.date(2026, 5, 20),
                                                      reason="Not the costly part"))
    assert service.status_of(r, today=TODAY) == S.PARTLY_ACCEPTED
    assert service.lateness(r) == 15
    service.update_implementation(session, recommendation=r, data=update, today=TODAY)
    assert (response.implementation, response.implementation_note) == (
        Implementation.IN_PROGRESS, "Half done")
    for on, message in ((dt.date(2026, 5, 1), "before the response"),
                        (dt.date(2026, 7, 1), "future")):
        with pytest.raises(ValidationFailed) as bad:
            service.update_implementation(session, recommendation=r, today=TODAY,
                                          data=update.model_copy(update={"updated_on": on}))
        assert message in _fields(bad)["updated_on"]
    # A recommendation with a response no longer changes.
    with pytest.raises(Conflict, match="can no longer change"):
        service.update_recommendation(session, recommendation=r, today=TODAY,
                                      data=RecommendationIn(title="New", text="New",
                                                            made_on=r.made_on))
    # Revised to a rejection: the reason is kept and the implementation cleared.
    service.respond(session, recommendation=r, today=TODAY,
                    data=builders.response("rejected", dt.date(2026, 6, 1), reason="Costs"))
    assert r.response is response
    assert (response.kind, response.reason, response.implementation) == (
        ResponseKind.REJECTED, "Costs", None)
    # Accepted in full: no reason is kept.
    service.respond(session, recommendation=r, today=TODAY,
                    data=builders.response("accepted", dt.date(2026, 6, 2), reason="ignored"))
    assert response.reason == ""
    with pytest.raises(Conflict):
        service.update_implementation(session, recommendation=builders.recommendation(
            session, council, title="Other"), data=update, today=TODAY)


def test_a_recommendation_changes_until_it_is_answered(session: Session,
                                                       world: factories.World) -> None:
    council = new_council(session, world.mission)
    r = builders.recommendation(session, council)
    service.update_recommendation(session, recommendation=r, today=TODAY, data=RecommendationIn(
        title="Clearer", text="Clearer text", made_on=dt.date(2026, 3, 12)))
    assert (r.title, r.made_on, r.response_due) == ("Clearer", dt.date(2026, 3, 12),
                                                    dt.date(2026, 5, 7))


def test_counts_and_the_public_record(session: Session, world: factories.World) -> None:
    council = new_council(session, world.mission)
    made = dt.date(2026, 5, 1)
    kinds = ["accepted", "partly_accepted", "rejected"]
    for i, kind in enumerate(kinds):
        r = builders.recommendation(session, council, title=kind, made_on=made)
        service.respond(session, recommendation=r, today=TODAY, data=builders.response(
            kind, dt.date(2026, 6, 1), reason="" if kind == "accepted" else f"Reason {i}"))
    builders.recommendation(session, council, title="overdue", made_on=dt.date(2026, 3, 1))
    builders.recommendation(session, council, title="awaiting", made_on=dt.date(2026, 6, 1))
    items = service.list_recommendations(session, council=council)
    assert service.status_counts(items, today=TODAY) == {
        S.OVERDUE: 1, S.AWAITING: 1, S.ACCEPTED: 1, S.PARTLY_ACCEPTED: 1, S.REJECTED: 1}
    out = [service.recommendation_out(council, r, today=TODAY, base_url="https://x")
           for r in items]
    assert out[2].response is not None
    assert out[2].response.reason == "Reason 2"
    assert out[3].response is None
    assert out[3].url == "https://x/councils/health-council/recommendations/4"
    rows = service.recommendation_rows(out)
    assert rows[0][:3] == ["number", "title", "text"]
    assert [row[6] for row in rows[1:]] == ["accepted", "partly_accepted", "rejected",
                                            "overdue", "awaiting"]
    record = service.council_out(session, council, today=TODAY, base_url="https://x")
    assert record.chair == ["Chair Person"]
    assert "email" not in record.members[0].model_dump()
    assert record.balance.missing == []


def test_every_change_is_in_the_audit_log(session: Session, world: factories.World) -> None:
    session.info["actor_id"] = world.editor.id
    council = new_council(session, world.mission)
    r = builders.recommendation(session, council)
    service.respond(session, recommendation=r, today=TODAY,
                    data=builders.response(on=dt.date(2026, 5, 1)))
    tables = set(session.scalars(select(AuditEntry.table_name).where(
        AuditEntry.actor_id == world.editor.id)))
    assert {"councils", "council_members", "council_recommendations",
            "council_responses"} <= tables


# The stocktake pack ------------------------------------------------------------------------

def test_the_stocktake_pack_carries_the_councils_section(session: Session,
                                                         world: factories.World) -> None:
    first = stocktakes.create_stocktake(session, mission=world.mission, data=StocktakeIn(
        title="Spring", meeting_on=dt.date(2026, 4, 10), as_of=dt.date(2026, 3, 31)))
    assert stocktakes.build_pack(session, stocktake=first)["council"] is None  # no council
    council = new_council(session, world.mission)
    answered_early = builders.recommendation(session, council, title="Early",
                                             made_on=dt.date(2026, 2, 1))
    service.respond(session, recommendation=answered_early, today=TODAY,
                    data=builders.response(on=dt.date(2026, 3, 1)))
    late = builders.recommendation(session, council, title="Late", made_on=dt.date(2026, 3, 1))
    service.respond(session, recommendation=late, today=TODAY,
                    data=builders.response("rejected", dt.date(2026, 5, 20), reason="No"))
    builders.recommendation(session, council, title="Ignored", made_on=dt.date(2026, 3, 2))
    builders.recommendation(session, council, title="Recent", made_on=dt.date(2026, 6, 1))
    builders.recommendation(session, council, title="After the pack",
                            made_on=dt.date(2026, 6, 14))

    pack = stocktakes.build_pack(session, stocktake=first)["council"]
    assert pack["name"] == "Health Mission Council"
    assert pack["since"] is None
    assert [(r["title"], r["status"]) for r in pack["outstanding"]] == [
        ("Late", "awaiting"), ("Ignored", "awaiting")]  # the rejection came later
    assert [r["title"] for r in pack["responses"]] == ["Early"]

    second = stocktakes.create_stocktake(session, mission=world.mission, data=StocktakeIn(
        title="Summer", meeting_on=dt.date(2026, 6, 20), as_of=dt.date(2026, 6, 10)))
    pack = stocktakes.build_pack(session, stocktake=second)["council"]
    assert pack["since"] == "2026-03-31"
    assert [(r["title"], r["status"], r["days_overdue"]) for r in pack["outstanding"]] == [
        ("Ignored", "overdue", 44), ("Recent", "awaiting", 0)]
    assert [(r["title"], r["status"], r["days_late"], r["reason"])
            for r in pack["responses"]] == [("Late", "rejected", 24, "No")]
    # An issued pack keeps the section as it was.
    stocktakes.issue_pack(session, stocktake=second, actor=world.editor)
    assert second.pack is not None
    assert second.pack["council"] == pack


def test_the_mission_pages_summary(session: Session, world: factories.World) -> None:
    assert service.mission_summary(session, mission=world.mission, user=None) is None
    council = new_council(session, world.draft_mission, slug="draft-council")
    builders.recommendation(session, council)
    assert service.mission_summary(session, mission=world.draft_mission,
                                   user=world.viewer) is None  # a draft mission's council
    summary = service.mission_summary(session, mission=world.draft_mission,
                                      user=world.editor, today=TODAY)
    assert summary is not None
    assert summary["council"] is council
    assert summary["total"] == 1
    assert summary["counts"][S.OVERDUE] == 1


def test_role_helpers_do_not_depend_on_global_roles(session: Session,
                                                    world: factories.World) -> None:
    """A mission editor of another mission who is also this council's secretary records,
    but does not respond."""
    council = new_council(session, world.mission, members=False)
    service.add_secretary(session, council=council, email=world.other_editor.email)
    assert service.can_record(world.other_editor, council)
    assert not service.can_respond(world.other_editor, council)
    assert not service.can_set_up(world.other_editor, council)
    assert world.other_editor.roles[0].role == Role.MISSION_EDITOR


def test_a_council_is_removed_with_its_mission(session: Session,
                                               world: factories.World) -> None:
    council = new_council(session, world.mission)
    builders.recommendation(session, council)
    session.delete(world.mission)
    session.flush()
    session.expire_all()
    assert session.scalars(select(Council)).all() == []
