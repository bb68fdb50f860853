"""Volunteering's services on both databases: opportunities and their moderation, the search
by distance and interest, sign-ups (consent, places, the waiting list, duplicates), the
private link, hours, messages, the export, the rate limits and the form's timing, the
deletion of personal data, and the audit log kept free of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.db.base import utcnow
from missionboard.errors import Conflict, NotFound, TooManyAttempts, ValidationFailed
from missionboard.mail import OutboxMessage
from missionboard.missions.models import Mission
from missionboard.volunteering import geo, service, signups
from missionboard.volunteering.models import (
    Audience,
    HoursLog,
    HoursStatus,
    Mode,
    Opportunity,
    OpportunityStatus,
    Signup,
    SignupAttempt,
    SignupStatus,
)
from missionboard.volunteering.schemas import HoursIn, MessageIn
from tests import factories
from tests.volunteering import builders

TODAY = utcnow().date()


@pytest.fixture
def mission(session: Session) -> Mission:
    builders.centroids(session)
    return factories.mission(session, "health")


def _rows(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _signup(session: Session, email: str) -> Signup:
    return session.scalars(select(Signup).where(Signup.email == email)).one()


# Opportunities -----------------------------------------------------------------------------

def test_an_opportunity_is_placed_by_its_postcode(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, status=OpportunityStatus.DRAFT,
                                tags=["Gardening", "outdoors", "outdoors"])
    assert (made.postcode, made.latitude, made.longitude, made.area_code) == (
        "LS1 4AP", 53.796, -1.548, "E12000003")
    assert made.tag_names == ["gardening", "outdoors"]
    assert made.status == OpportunityStatus.DRAFT
    assert not made.is_public


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"public_body": ""}, "public_body", "Give the name of the public body"),
    ({"postcode": ""}, "postcode", "Give the postcode of the place"),
    ({"starts_on": dt.date(2027, 5, 1), "ends_on": dt.date(2027, 4, 1)}, "ends_on",
     "cannot end before it starts"),
    ({"postcode": "ZE1 0AA"}, "postcode", "We do not know where ZE1 0AA is"),
])
def test_an_opportunity_must_make_sense(session: Session, mission: Mission,
                                        changes: dict[str, Any], field: str,
                                        message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.create_opportunity(session, mission=mission,
                                   data=builders.opportunity_data(**changes))
    assert caught.value.errors[0].field == field
    assert message in caught.value.errors[0].message


def test_an_online_opportunity_needs_no_place(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, mode="online", postcode="", address="")
    assert made.latitude is None
    assert made.online
    assert not made.in_person


def test_the_life_of_an_opportunity(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, status=OpportunityStatus.DRAFT)
    assert service.allowed_moves(made, organiser=True, moderator=False) == [
        OpportunityStatus.PENDING]
    with pytest.raises(Conflict):
        service.set_status(session, opportunity=made, status=OpportunityStatus.PUBLISHED,
                           organiser=True, moderator=False)
    service.set_status(session, opportunity=made, status=OpportunityStatus.PENDING,
                       organiser=True, moderator=False)
    assert made.submitted_at is not None
    with pytest.raises(ValidationFailed) as caught:  # returned without a reason
        service.set_status(session, opportunity=made, status=OpportunityStatus.DRAFT,
                           organiser=False, moderator=True)
    assert caught.value.errors[0].field == "note"
    service.set_status(session, opportunity=made, status=OpportunityStatus.DRAFT,
                       organiser=False, moderator=True, note="Say where to meet")
    assert made.moderation_note == "Say where to meet"
    service.set_status(session, opportunity=made, status=OpportunityStatus.PENDING,
                       organiser=True, moderator=False)
    assert made.moderation_note == ""
    service.set_status(session, opportunity=made, status=OpportunityStatus.PUBLISHED,
                       organiser=False, moderator=True)
    assert made.is_open
    service.set_status(session, opportunity=made, status=OpportunityStatus.CLOSED,
                       organiser=True, moderator=False)
    assert made.retain_until == service.add_months(TODAY, 12)
    assert made.is_public
    assert not made.is_open
    service.set_status(session, opportunity=made, status=OpportunityStatus.PUBLISHED,
                       organiser=True, moderator=False)
    assert made.retain_until is None
    assert made.closed_at is None


def test_add_months_keeps_to_the_end_of_a_short_month() -> None:
    assert service.add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert service.add_months(dt.date(2027, 11, 15), 12) == dt.date(2028, 11, 15)
    assert service.add_months(dt.date(2028, 2, 29), 12) == dt.date(2029, 2, 28)


def test_partners_opportunities_are_public_once_the_partner_is_approved(
        session: Session, mission: Mission) -> None:
    pending = builders.partner(session, "new-charity", approved=False)
    made = builders.opportunity(session, mission, of=pending)
    assert made.organiser_name == "Partner new-charity"
    assert not made.is_public
    assert service.search(session, query=service.SearchQuery()).total == 0
    draft = factories.mission(session, "draft", published=False)
    builders.opportunity(session, draft, "on-a-draft")
    assert service.search(session, query=service.SearchQuery()).total == 0


# Finding -----------------------------------------------------------------------------------

@pytest.fixture
def spread(session: Session, mission: Mission) -> dict[str, Opportunity]:
    """Opportunities in Manchester, London and Edinburgh, one online, one in draft."""
    other = factories.mission(session, "schools")
    return {
        "manchester": builders.opportunity(session, mission, "manchester", postcode="M4 5AB",
                                           tags=["gardening"]),
        "london": builders.opportunity(session, mission, "london", postcode="SW1A 2AA",
                                       tags=["reading"]),
        "edinburgh": builders.opportunity(session, other, "edinburgh", postcode="EH1 1YZ",
                                          mode="hybrid"),
        "online": builders.opportunity(session, other, "online", mode="online", postcode=""),
        "draft": builders.opportunity(session, mission, "draft", postcode="M1 1AE",
                                      status=OpportunityStatus.DRAFT),
    }


def _slugs(result: service.SearchResult) -> list[str]:
    return [f.opportunity.slug for f in result.items]


def test_search_by_distance_is_nearest_first_then_online(session: Session,
                                                         spread: dict[str, Any]) -> None:
    far = service.search(session, query=service.SearchQuery(postcode="M1 1AE",
                                                            radius_km=270))  # not Edinburgh
    assert _slugs(far) == ["manchester", "london", "online"]
    assert far.total == 3
    distances = [f.distance_km for f in far.items]
    assert distances[0] == pytest.approx(geo.haversine_km(53.4809, -2.2374, 53.484, -2.226))
    assert distances[0] < distances[1]
    assert distances[2] is None
    near = service.search(session, query=service.SearchQuery(
        postcode="M1 1AE", radius_km=geo.miles_to_km(10)))
    assert _slugs(near) == ["manchester", "online"]
    in_person = service.search(session, query=service.SearchQuery(
        postcode="M1 1AE", radius_km=1000, where="in_person"))
    assert _slugs(in_person) == ["manchester", "london", "edinburgh"]
    online = service.search(session, query=service.SearchQuery(
        postcode="M1 1AE", radius_km=1000, where="online"))
    assert _slugs(online) == ["edinburgh", "online"]  # hybrid ones have a distance


def test_search_filters_by_interest_and_mission(session: Session, spread: dict[str, Any],
                                                mission: Mission) -> None:
    by_tag = service.search(session, query=service.SearchQuery(tag="reading"))
    assert _slugs(by_tag) == ["london"]
    by_mission = service.search(session, query=service.SearchQuery(mission_id=mission.id))
    assert set(_slugs(by_mission)) == {"manchester", "london"}
    everything = service.search(session, query=service.SearchQuery())
    assert everything.total == 4  # not the draft
    assert everything.origin is None


def test_search_pages_through_near_then_online(session: Session, spread: dict[str, Any]
                                               ) -> None:
    pages = [service.search(session, query=service.SearchQuery(
        postcode="M1", radius_km=1000, limit=2, offset=offset)) for offset in (0, 2, 4)]
    assert [_slugs(p) for p in pages] == [["manchester", "london"], ["edinburgh", "online"],
                                          []]
    assert {p.total for p in pages} == {4}


def test_ended_opportunities_are_not_found(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, "ended")
    made.ends_on = TODAY - dt.timedelta(days=1)
    session.flush()
    assert service.search(session, query=service.SearchQuery()).total == 0
    assert not made.is_open
    with pytest.raises(Conflict):
        builders.sign_up(session, made)


def test_a_bad_postcode_is_an_input_error(session: Session, spread: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.search(session, query=service.SearchQuery(postcode="nowhere"))
    assert caught.value.errors[0].field == "postcode"


# Signing up --------------------------------------------------------------------------------

def test_places_then_the_waiting_list_then_full(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, capacity=2)
    outcomes = [builders.sign_up(session, made, f"Person {n}", f"p{n}@example.org")
                for n in range(4)]
    assert [o.result for o in outcomes] == ["signed_up", "signed_up", "waitlisted",
                                            "waitlisted"]
    assert [o.position for o in outcomes] == [None, None, 1, 2]
    assert (made.signed_up, made.waitlisted, made.places_left) == (2, 2, 0)
    assert signups.recount(session, made) == signups.Counts(2, 2, 0.0)
    no_list = builders.opportunity(session, mission, "no-list", capacity=1, waitlist=False)
    builders.sign_up(session, no_list)
    with pytest.raises(Conflict, match="full"):
        builders.sign_up(session, no_list, "Late", "late@example.org")
    assert no_list.signed_up == 1
    assert signups.recount(session, no_list).signed_up == 1


def test_consent_dbs_and_age_are_required(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, dbs_check="enhanced", minimum_age=18)
    with pytest.raises(ValidationFailed) as caught:
        builders.sign_up(session, made, consent_store=False, consent_contact=False)
    assert [e.field for e in caught.value.errors] == [
        "consent_store", "consent_contact", "dbs_acknowledged", "age_confirmed"]
    assert "18 or over" in caught.value.errors[-1].message
    assert _rows(session, Signup) == 0
    outcome = builders.sign_up(session, made, dbs_acknowledged=True, age_confirmed=True)
    assert outcome.result == "signed_up"
    assert _signup(session, "pat@example.org").dbs_acknowledged


def test_the_private_link_is_emailed_and_only_its_hash_kept(session: Session,
                                                            mission: Mission) -> None:
    made = builders.opportunity(session, mission)
    builders.sign_up(session, made, email="Pat@Example.org")
    person = _signup(session, "pat@example.org")  # stored in lower case
    token = builders.link_token(session, "pat@example.org")
    assert len(token) >= 40
    assert person.token_sha256 == signups.token_hash(token)
    assert token not in " ".join(str(v) for v in session.execute(select(Signup)).one())
    assert signups.signup_for_token(session, token=token).id == person.id
    with pytest.raises(NotFound):
        signups.signup_for_token(session, token=token[:-1] + "x")
    email = builders.emails_to(session, "pat@example.org")[0]
    assert email.subject == f"You have signed up: {made.title}"
    assert f"https://testserver/volunteer/manage/{token}" in email.body
    assert "deleted when you withdraw" in email.body


def test_a_second_sign_up_changes_nothing_and_says_so_by_email(session: Session,
                                                               mission: Mission) -> None:
    made = builders.opportunity(session, mission)
    builders.sign_up(session, made)
    again = builders.sign_up(session, made, "Pat Again", "PAT@example.org")
    assert again.result == "duplicate"
    assert _rows(session, Signup) == 1
    assert made.signed_up == 1
    subjects = [m.subject for m in builders.emails_to(session, "pat@example.org")]
    assert subjects == [f"You have signed up: {made.title}",
                        f"You are already signed up: {made.title}"]


def test_new_links_replace_the_old_ones(session: Session, mission: Mission) -> None:
    first = builders.opportunity(session, mission, "first")
    second = builders.opportunity(session, mission, "second")
    builders.sign_up(session, first)
    builders.sign_up(session, second)
    old = builders.link_token(session, "pat@example.org")
    assert signups.send_new_links(session, email=" PAT@example.org ", site="") == 2
    assert signups.send_new_links(session, email="nobody@example.org", site="") == 0
    with pytest.raises(NotFound):
        signups.signup_for_token(session, token=old)
    assert signups.signup_for_token(
        session, token=builders.link_token(session, "pat@example.org")) is not None


# Hours, withdrawal, organisers -------------------------------------------------------------

def test_hours_are_logged_then_confirmed_or_rejected(session: Session, mission: Mission
                                                     ) -> None:
    made = builders.opportunity(session, mission, capacity=1)
    builders.sign_up(session, made)
    builders.sign_up(session, made, "Wait Ing", "wait@example.org")
    person, waiting = _signup(session, "pat@example.org"), _signup(session, "wait@example.org")
    with pytest.raises(Conflict, match="waiting list"):
        signups.log_hours(session, signup=waiting, data=HoursIn(worked_on=TODAY, hours=2))
    with pytest.raises(ValidationFailed):
        signups.log_hours(session, signup=person,
                          data=HoursIn(worked_on=TODAY + dt.timedelta(days=1), hours=2))
    with pytest.raises(ValidationFailed):
        signups.log_hours(session, signup=person,
                          data=HoursIn(worked_on=TODAY - dt.timedelta(days=400), hours=2))
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=TODAY, hours=2.5,
                                                            note="Weeding"))
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=TODAY, hours=8))
    first, second = sorted(signups.hours_of(session, person), key=lambda h: h.id)
    assert [(h, name) for h, name in signups.pending_hours(session, made)] == [
        (first, "Pat Volunteer"), (second, "Pat Volunteer")]
    signups.decide_hours(session, opportunity=made, hours_id=first.id, confirm=True,
                         user=None)
    signups.decide_hours(session, opportunity=made, hours_id=second.id, confirm=False,
                         user=None)
    with pytest.raises(Conflict, match="already confirmed"):
        signups.decide_hours(session, opportunity=made, hours_id=first.id, confirm=True,
                             user=None)
    assert made.hours_confirmed == 2.5
    assert signups.recount(session, made).hours_confirmed == 2.5
    assert signups.hours_by_signup(session, made, [person.id]) == {
        person.id: {"confirmed": 2.5, "rejected": 8.0}}
    other = builders.opportunity(session, mission, "other")
    with pytest.raises(NotFound):
        signups.decide_hours(session, opportunity=other, hours_id=first.id, confirm=True,
                             user=None)


def test_withdrawing_deletes_the_data_and_frees_the_place(session: Session,
                                                          mission: Mission) -> None:
    made = builders.opportunity(session, mission, capacity=1)
    builders.sign_up(session, made)
    builders.sign_up(session, made, "Next Inline", "next@example.org")
    person = _signup(session, "pat@example.org")
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=TODAY, hours=3))
    signups.decide_hours(session, opportunity=made, hours_id=signups.hours_of(
        session, person)[0].id, confirm=True, user=None)
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=TODAY, hours=1))
    signups.withdraw(session, signup=person, site="https://testserver")
    session.expire_all()
    assert session.scalars(select(Signup.email)).all() == ["next@example.org"]
    assert _rows(session, HoursLog) == 0
    promoted = _signup(session, "next@example.org")
    assert promoted.status == SignupStatus.SIGNED_UP
    assert promoted.promoted_at is not None
    assert (made.signed_up, made.waitlisted, made.hours_confirmed) == (1, 0, 3.0)
    assert builders.emails_to(session, "next@example.org")[-1].subject == (
        f"A place for you: {made.title}")


def test_a_larger_capacity_gives_places_to_the_waiting_list(session: Session,
                                                            mission: Mission) -> None:
    made = builders.opportunity(session, mission, capacity=1)
    for n in range(3):
        builders.sign_up(session, made, f"Person {n}", f"p{n}@example.org")
    service.update_opportunity(session, opportunity=made,
                               data=builders.opportunity_data(capacity=2))
    assert (made.signed_up, made.waitlisted) == (2, 1)
    assert _signup(session, "p1@example.org").status == SignupStatus.SIGNED_UP


def test_the_capacity_cannot_fall_below_the_places_taken(session: Session,
                                                         mission: Mission) -> None:
    made = builders.opportunity(session, mission, capacity=3)
    for n in range(2):
        builders.sign_up(session, made, f"Person {n}", f"p{n}@example.org")
    with pytest.raises(ValidationFailed) as caught:
        service.update_opportunity(session, opportunity=made,
                                   data=builders.opportunity_data(capacity=1))
    assert caught.value.errors[0].field == "capacity"


def test_messages_go_to_the_chosen_group_and_are_kept(session: Session, mission: Mission
                                                      ) -> None:
    made = builders.opportunity(session, mission, capacity=1)
    builders.sign_up(session, made)
    with pytest.raises(ValidationFailed):
        signups.send_message(session, opportunity=made, author=None, data=MessageIn(
            audience=Audience.WAITLISTED, subject="Hello", body="Hi"))
    builders.sign_up(session, made, "Wait Ing", "wait@example.org")
    sent = signups.send_message(session, opportunity=made, author=None, data=MessageIn(
        audience=Audience.SIGNED_UP, subject="Meet at the gate", body="At 9am, please."))
    assert sent.recipients == 1
    last = builders.emails_to(session, "pat@example.org")[-1]
    assert last.subject == f"Meet at the gate ({made.title})"
    assert "Dear Pat Volunteer" in last.body
    assert "At 9am, please." in last.body
    assert builders.emails_to(session, "wait@example.org")[-1].subject.startswith(
        "You are on the waiting list")
    everyone = signups.send_message(session, opportunity=made, author=None, data=MessageIn(
        audience=Audience.EVERYONE, subject="News", body="More soon."))
    assert everyone.recipients == 2
    assert [m.subject for m in signups.messages(session, made)] == ["News",
                                                                    "Meet at the gate"]


def test_the_export_is_audited_without_personal_data(session: Session, mission: Mission
                                                     ) -> None:
    made = builders.opportunity(session, mission)
    builders.sign_up(session, made)
    rows = signups.export_rows(session, opportunity=made)
    assert rows[0] == list(signups.EXPORT_COLUMNS)
    assert rows[1][:5] == ["Pat Volunteer", "pat@example.org", "01632 960 001", "LS6 1AA",
                           "signed_up"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.changes == {"rows": 1}
    assert "garden" in (entry.summary or "")


def test_personal_data_never_reaches_the_audit_log(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission, capacity=1)
    builders.sign_up(session, made, note="I use a wheelchair")
    builders.sign_up(session, made, "Wait Ing", "wait@example.org", phone="07700 900123")
    person = _signup(session, "pat@example.org")
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=TODAY, hours=2,
                                                            note="Met Mrs Smith"))
    hours = signups.hours_of(session, person)[0]
    signups.decide_hours(session, opportunity=made, hours_id=hours.id, confirm=True,
                         user=None)
    signups.export_rows(session, opportunity=made)
    signups.remove_signup(session, opportunity=made, signup_id=person.id)
    service.set_status(session, opportunity=made, status=OpportunityStatus.CLOSED,
                       organiser=True, moderator=False)
    signups.purge_personal_data(session, opportunity=made)
    # The outbox (missionboard.mail) is audited by its own rules: only this domain's entries.
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.table_name != "outbox_messages")).all()
    logged = " ".join(f"{e.changes} {e.summary}" for e in entries)
    assert "garden" in logged  # the opportunity's own changes are there
    for personal in ("Pat Volunteer", "pat@example.org", "01632", "LS6", "wheelchair",
                     "Wait Ing", "wait@example.org", "07700", "Mrs Smith", person.token_sha256):
        assert personal not in logged


# Spam protection ---------------------------------------------------------------------------

def test_the_rate_limits_count_per_address_and_per_email(session: Session) -> None:
    now = utcnow()
    for n in range(signups.MAX_PER_IP):
        signups.record_attempt(session, ip_hash="ip-1", email_hash=f"e{n}", now=now)
    with pytest.raises(TooManyAttempts):
        signups.record_attempt(session, ip_hash="ip-1", email_hash="new", now=now)
    later = now + signups.RATE_WINDOW + dt.timedelta(seconds=1)
    signups.record_attempt(session, ip_hash="ip-1", email_hash="new", now=later)
    for n in range(signups.MAX_PER_EMAIL):
        signups.record_attempt(session, ip_hash=f"ip-{n + 10}", email_hash="same", now=now)
    with pytest.raises(TooManyAttempts):
        signups.record_attempt(session, ip_hash="ip-99", email_hash="same", now=now)
    assert _rows(session, SignupAttempt) == signups.MAX_PER_IP + 1 + signups.MAX_PER_EMAIL


def test_the_hashes_are_keyed(session: Session) -> None:
    a = signups.keyed_hash("key-a", "203.0.113.9")
    assert a == signups.keyed_hash("key-a", "203.0.113.9")
    assert a != signups.keyed_hash("key-b", "203.0.113.9")
    assert "203.0.113.9" not in a


def test_the_form_must_take_a_person_some_time(session: Session) -> None:
    now = utcnow()
    stamp = signups.form_stamp("secret", now=now)
    signups.check_form_timing("secret", stamp, now=now + dt.timedelta(seconds=5))
    with pytest.raises(ValidationFailed, match="too quickly"):
        signups.check_form_timing("secret", stamp, now=now + dt.timedelta(seconds=1))
    with pytest.raises(ValidationFailed, match="expired"):
        signups.check_form_timing("secret", stamp, now=now + dt.timedelta(days=2))
    forged = stamp.split(".")[0] + ".0000"
    with pytest.raises(ValidationFailed, match="expired"):
        signups.check_form_timing("secret", forged, now=now + dt.timedelta(seconds=5))
    with pytest.raises(ValidationFailed):
        signups.check_form_timing("other-secret", stamp, now=now + dt.timedelta(seconds=5))


def test_a_bots_sign_up_is_discarded(session: Session, mission: Mission) -> None:
    made = builders.opportunity(session, mission)
    outcome = signups.sign_up_from_form(
        session, opportunity=made, values=builders.form(website="http://spam.example"),
        secret=builders.SECRET, client="198.51.100.7", site="")
    assert outcome.result == "discarded"
    assert _rows(session, Signup) == 0
    assert _rows(session, OutboxMessage) == 0
    assert _rows(session, SignupAttempt) == 1  # counted against the address all the same
    done = signups.sign_up_from_form(session, opportunity=made, values=builders.form(),
                                     secret=builders.SECRET, client="198.51.100.7", site="")
    assert done.result == "signed_up"
    attempt = session.scalars(select(SignupAttempt).order_by(SignupAttempt.id.desc())).first()
    assert attempt is not None
    assert attempt.ip_hash == signups.keyed_hash(builders.SECRET, "198.51.100.7")
    assert attempt.email_hash == signups.keyed_hash(builders.SECRET, "pat@example.org")


# Retention ---------------------------------------------------------------------------------

def test_the_purge_keeps_the_counts_and_waits_for_the_date(session: Session,
                                                           mission: Mission) -> None:
    ended = builders.opportunity(session, mission, "ended", retention_months=6)
    builders.sign_up(session, ended)
    person = _signup(session, "pat@example.org")
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=TODAY, hours=4))
    signups.decide_hours(session, opportunity=ended, hours_id=signups.hours_of(
        session, person)[0].id, confirm=True, user=None)
    running = builders.opportunity(session, mission, "running")
    builders.sign_up(session, running, "Still Here", "here@example.org")
    ended.ends_on = TODAY - dt.timedelta(days=3)
    session.add(SignupAttempt(at=utcnow() - dt.timedelta(days=5), ip_hash="old"))
    session.flush()

    first = signups.purge_due(session, today=TODAY)
    assert first.closed == ["ended"]
    assert first.purged == []
    assert first.attempts == 1
    assert ended.status == OpportunityStatus.CLOSED
    assert ended.retain_until == service.add_months(TODAY - dt.timedelta(days=3), 6)
    assert _rows(session, Signup) == 2

    assert ended.retain_until is not None
    later = signups.purge_due(session, today=ended.retain_until + dt.timedelta(days=1))
    assert later.purged == [signups.Purged("ended", 1, 1)]
    session.expire_all()
    assert session.scalars(select(Signup.email)).all() == ["here@example.org"]
    assert (ended.signed_up, ended.hours_confirmed) == (1, 4.0)
    assert ended.personal_data_deleted_at is not None
    assert service.allowed_moves(ended, organiser=True, moderator=True) == []
    assert signups.purge_due(session, today=ended.retain_until + dt.timedelta(days=2)
                             ).purged == []


def test_public_counts_by_mission_and_area(session: Session, mission: Mission) -> None:
    leeds = builders.opportunity(session, mission, "leeds")
    manchester = builders.opportunity(session, mission, "manchester", postcode="M1 1AE")
    online = builders.opportunity(session, mission, "online", mode=Mode.ONLINE, postcode="")
    builders.opportunity(session, mission, "draft", status=OpportunityStatus.DRAFT)
    for made, n in ((leeds, 2), (manchester, 1), (online, 1)):
        for i in range(n):
            builders.sign_up(session, made, f"P {i}", f"{made.slug}{i}@example.org")
    found = service.summary(session)
    assert (found.opportunities, found.signed_up) == (3, 4)
    assert [(r.key, r.opportunities, r.signed_up) for r in found.by_mission] == [
        ("health", 3, 4)]
    assert [(r.key, r.signed_up) for r in found.by_area] == [
        ("E12000002", 1), ("E12000003", 2), ("", 1)]


def test_the_demo_loads_with_consistent_counts(session: Session) -> None:
    from missionboard.volunteering import demo

    missions = {slug: factories.mission(session, slug) for slug in
                ("nhs", "opportunity", "clean-energy", "safer-streets", "economic-growth")}
    assert demo.load_volunteering(session, missions_by_slug=missions) == len(demo.SPECS)
    made = session.scalars(select(Opportunity)).all()
    assert all(o.illustrative for o in made)
    for o in made:
        assert signups.recount(session, o) == signups.Counts(o.signed_up, o.waitlisted,
                                                             o.hours_confirmed)
    assert any(o.waitlisted for o in made)
    assert any(o.status == OpportunityStatus.CLOSED for o in made)
    assert session.scalar(select(func.count()).select_from(HoursLog).where(
        HoursLog.status == HoursStatus.LOGGED))
    emails = session.scalars(select(Signup.email)).all()
    assert emails
    assert all(e.endswith("@example.org") for e in emails)


def test_a_place_is_handed_back_when_nobody_is_left_to_move(session: Session,
                                                            mission: Mission) -> None:
    """As when another request has just moved the last person waiting: the counters say one
    is waiting but no row does; the place taken for them is handed back."""
    made = builders.opportunity(session, mission, capacity=2)
    builders.sign_up(session, made)
    session.execute(update(Opportunity).where(Opportunity.id == made.id).values(waitlisted=1))
    session.expire(made)
    assert signups.fill_from_waitlist(session, made) == 0
    session.refresh(made)
    assert (made.signed_up, made.waitlisted) == (1, 1)


def test_an_opportunity_names_a_real_partner(session: Session, mission: Mission) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.create_opportunity(session, mission=mission,
                                   data=builders.opportunity_data(partner_id=999_999))
    assert caught.value.errors[0].field == "partner_id"
