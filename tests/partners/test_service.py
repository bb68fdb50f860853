"""Partners through the services: registration and the verification of staff, moderation,
commitments and their checks, progress reports, withdrawal, the public record of changes,
counting a pledge in the trajectory, the register's filters, pages, counts and streamed
downloads, a mission's totals, and the mail outbox."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from missionboard.delivery import service as delivery_service
from missionboard.delivery.models import Intervention
from missionboard.errors import Conflict, NotFound, TooManyAttempts, ValidationFailed
from missionboard.mail import (
    OutboxMessage,
    OutboxOnlyMailer,
    deliver_pending,
    list_outbox,
    mailer_from_settings,
    queue_email,
)
from missionboard.missions.models import ChangeRecord
from missionboard.partners import register, service, trajectory
from missionboard.partners.models import (
    CommitmentKind,
    CommitmentStatus,
    MemberVerification,
    ModerationStatus,
    Sector,
    VerificationLevel,
)
from missionboard.partners.schemas import SECTOR_LABELS, RegisterQuery, ReportIn
from tests import factories
from tests.factories import World
from tests.partners import builders

TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def w(session: Session) -> World:
    return factories.world(session)


def _token_from(message: OutboxMessage) -> str:
    return message.body.split("/partners/verify/")[1].split()[0]


# Staff -------------------------------------------------------------------------------------

def test_registering_creates_a_pending_partner_and_an_unverified_member(
        session: Session, w: World) -> None:
    done = service.register_partner(session, data=builders.partner_data(),
                                    person=builders.person(), user=None, site=builders.SITE)
    assert done.partner.slug == "acme-widgets-ltd"
    assert done.partner.moderation == ModerationStatus.PENDING
    assert not done.partner.is_public
    assert [a.code for a in done.partner.areas] == ["E92000001"]
    assert done.member.user.email == "jo@acme.example"
    assert not done.member.verified
    assert service.member_partner_ids(session, done.member.user) == set()
    message = session.scalars(select(OutboxMessage)).one()
    assert message.to_address == "jo@acme.example"
    assert f"{builders.SITE}/partners/verify/{done.token}" in message.body
    assert "also verifies you" in message.body
    # Only the token's hash is kept.
    assert done.member.token_sha256 is not None
    assert done.token not in (done.member.token_sha256 or "")


def test_a_link_on_the_organisations_domain_verifies_the_member(session: Session,
                                                                 w: World) -> None:
    done = service.register_partner(session, data=builders.partner_data(),
                                    person=builders.person(), user=None, site=builders.SITE)
    member = service.confirm_email(session, token=_token_from(
        session.scalars(select(OutboxMessage)).one()))
    assert member.verified
    assert member.verified_by == MemberVerification.EMAIL_DOMAIN
    assert service.member_partner_ids(session, member.user) == {done.partner.id}
    with pytest.raises(NotFound, match="expired or has already been used"):
        service.confirm_email(session, token=done.token)


def test_a_link_from_another_domain_confirms_only_the_address(session: Session,
                                                               w: World) -> None:
    done = service.register_partner(session, data=builders.partner_data(),
                                    person=builders.person("jo@gmail.com"), user=None,
                                    site=builders.SITE)
    assert "An administrator will then check" in session.scalars(
        select(OutboxMessage)).one().body
    member = service.confirm_email(session, token=done.token)
    assert member.email_confirmed_at is not None
    assert not member.verified
    assert member in service.members_awaiting(session)
    with pytest.raises(Exception, match="Only an administrator"):
        service.verify_member(session, member=member, actor=w.editor)
    service.verify_member(session, member=member, actor=w.admin)
    assert member.verified_by == MemberVerification.ADMINISTRATOR
    assert service.member_partner_ids(session, member.user) == {done.partner.id}


def test_a_subdomain_counts_but_a_lookalike_does_not() -> None:
    assert service.domain_matches("a@acme.example", "acme.example")
    assert service.domain_matches("a@mail.acme.example", "acme.example")
    assert not service.domain_matches("a@notacme.example", "acme.example")
    assert not service.domain_matches("a@acme.example.evil", "acme.example")
    assert not service.domain_matches("a@acme.example", "")


def test_an_expired_link_is_refused(session: Session, w: World) -> None:
    done = service.register_partner(session, data=builders.partner_data(),
                                    person=builders.person(), user=None, site=builders.SITE)
    later = dt.datetime.now(dt.UTC) + service.TOKEN_LIFETIME + dt.timedelta(minutes=1)
    with pytest.raises(NotFound):
        service.confirm_email(session, token=done.token, now=later)
    assert not done.member.verified


def test_registration_errors_name_their_fields(session: Session, w: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.register_partner(
            session, data=builders.partner_data(web_domain="gmail.com",
                                                area_codes=["X99"]),
            person=builders.person(), user=None, site=builders.SITE)
    assert {e.field for e in caught.value.errors} == {"web_domain", "area_codes"}
    with pytest.raises(ValidationFailed) as caught:
        service.register_partner(session, data=builders.partner_data(),
                                 person=builders.person(w.editor.email), user=None,
                                 site=builders.SITE)
    assert caught.value.errors[0].field == "email"
    assert "already an account" in caught.value.errors[0].message
    with pytest.raises(ValidationFailed) as caught:
        service.register_partner(session, data=builders.partner_data(),
                                 person=builders.person(password="short"), user=None,
                                 site=builders.SITE)
    assert caught.value.errors[0].field == "password"


def test_slugs_are_unique(session: Session, w: World) -> None:
    first = builders.partner(session, "Café Ünion")
    second = builders.partner(session, "Cafe Union")
    assert (first.slug, second.slug) == ("cafe-union", "cafe-union-2")


def test_joining_as_a_signed_in_user_needs_no_new_account(session: Session, w: World) -> None:
    acme = builders.partner(session)
    done = service.join_partner(session, partner=acme, person=builders.person(),
                                user=w.nobody, site=builders.SITE)
    assert done.member.user_id == w.nobody.id
    assert session.scalars(select(OutboxMessage)).one().to_address == w.nobody.email
    # Asking again before following the link sends a new one; the old one stops working.
    again = service.join_partner(session, partner=acme, person=builders.person(),
                                 user=w.nobody, site=builders.SITE)
    assert again.member.id == done.member.id
    with pytest.raises(NotFound):
        service.confirm_email(session, token=done.token)
    service.verify_member(session, member=again.member, actor=w.admin)
    with pytest.raises(Conflict, match="already verified"):
        service.join_partner(session, partner=acme, person=builders.person(),
                             user=w.nobody, site=builders.SITE)


def test_the_public_forms_are_rate_limited(session: Session) -> None:
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    for _ in range(service.MAX_PER_EMAIL):
        service.record_attempt(session, secret="s", client="10.0.0.1", email="a@b.example",
                               now=now)
    with pytest.raises(TooManyAttempts):
        service.record_attempt(session, secret="s", client="10.0.0.2", email="A@b.example",
                               now=now)
    for _ in range(service.MAX_PER_IP - service.MAX_PER_EMAIL):
        service.record_attempt(session, secret="s", client="10.0.0.1", now=now)
    with pytest.raises(TooManyAttempts):
        service.record_attempt(session, secret="s", client="10.0.0.1", now=now)
    # An hour later the window has moved on.
    service.record_attempt(session, secret="s", client="10.0.0.1",
                           now=now + service.RATE_WINDOW + dt.timedelta(seconds=1))


# Moderation and commitments ----------------------------------------------------------------

def test_approving_a_commitment_approves_its_new_partner(session: Session, w: World) -> None:
    acme = builders.partner(session, approved=False)
    c = builders.commitment(session, acme, approved=False)
    assert not c.is_public
    service.moderate_commitment(session, commitment=c, approve=True, note="", actor=w.editor)
    assert c.is_public
    assert acme.moderation == ModerationStatus.APPROVED
    assert acme.moderated_by_id == w.editor.id


def test_rejecting_needs_a_note(session: Session, w: World) -> None:
    acme = builders.partner(session, approved=False)
    c = builders.commitment(session, acme, approved=False)
    with pytest.raises(ValidationFailed):
        service.moderate_commitment(session, commitment=c, approve=False, note=" ",
                                    actor=w.admin)
    service.moderate_commitment(session, commitment=c, approve=False, note="Not a real pledge",
                                actor=w.admin)
    assert c.moderation == ModerationStatus.REJECTED
    assert acme.moderation == ModerationStatus.PENDING
    with pytest.raises(Exception, match="Only an administrator"):
        service.moderate_partner(session, partner=acme, approve=True, note="", actor=w.editor)
    with pytest.raises(ValidationFailed):
        service.moderate_partner(session, partner=acme, approve=False, note="", actor=w.admin)
    service.moderate_partner(session, partner=acme, approve=False, note="Unknown",
                             actor=w.admin)
    assert acme.moderation == ModerationStatus.REJECTED


def test_the_terms_are_checked_for_the_kind(session: Session, w: World) -> None:
    acme = builders.partner(session)
    cases: dict[str, dict[str, Any]] = {
        "baseline": {"kind": "target", "baseline": None},
        "unit": {"kind": "target", "unit": ""},
        "target": {"kind": "target", "baseline": 5, "target": 5},
        "pledged_money": {"kind": "money", "pledged_money": None},
        "pledged_hours": {"kind": "time", "pledged_hours": 0},
        "in_kind": {"kind": "in_kind", "in_kind": " "},
        "deadline": {"kind": "action", "deadline": builders.START},
        "metric_slug": {"metric_slug": "draft-metric"},
        "outcome_slug": {"outcome_slug": "no-such-outcome"},
        "area_code": {"area_code": "X99"},
    }
    for field, changes in cases.items():
        with pytest.raises(ValidationFailed) as caught:
            builders.commitment(session, acme, **changes)
        assert field in {e.field for e in caught.value.errors}, field
    with pytest.raises(ValidationFailed) as caught:
        builders.commitment(session, acme, mission="draft-mission")
    assert caught.value.errors[0].field == "mission_slug"
    c = builders.commitment(session, acme, metric_slug=w.metric.slug,
                            outcome_slug=w.outcome.slug)
    assert (c.metric, c.outcome) == (w.metric, w.outcome)
    assert c.is_measurable


def test_a_change_to_a_public_commitment_needs_a_reason_and_is_kept_under_the_partner(
        session: Session, w: World) -> None:
    acme = builders.partner(session, staff=w.nobody)
    c = builders.commitment(session, acme)
    staff_of = service.member_partner_ids(session, w.nobody)
    with pytest.raises(ValidationFailed, match="reason"):
        service.update_commitment(session, commitment=c,
                                  data=builders.commitment_data(target=400),
                                  actor=w.nobody, staff_of=staff_of)
    service.update_commitment(session, commitment=c, data=builders.commitment_data(target=400),
                              actor=w.nobody, staff_of=staff_of, reason="Fewer suitable homes")
    record = service.commitment_changes(session, commitment=c)[0]
    assert record.fields == {"target": {"old": 500.0, "new": 400.0}}
    assert record.author_name == "Acme Widgets Ltd (partner)"
    assert w.nobody.name not in record.author_name
    assert record.mission_id == w.mission.id
    # A change to a pending commitment leaves no public record.
    pending = builders.commitment(session, acme, approved=False)
    service.update_commitment(session, commitment=pending,
                              data=builders.commitment_data(target=300), actor=w.nobody,
                              staff_of=staff_of)
    assert service.commitment_changes(session, commitment=pending) == []


def test_reports_refresh_the_stored_status(session: Session, w: World) -> None:
    c = builders.commitment(session, builders.partner(session))
    assert c.assessment == CommitmentStatus.NOT_YET_DUE
    builders.report(session, c, dt.date(2025, 6, 1), value=100, money_spent=1000)
    builders.report(session, c, dt.date(2025, 9, 1), value=150, money_spent=500,
                    hours_given=12)
    assert (c.latest_value, c.delivered_money, c.delivered_hours, c.reports_count) == (
        150, 1500, 12, 2)
    assert c.last_report_on == dt.date(2025, 9, 1)
    assert c.report_due_on == dt.date(2025, 12, 1) + dt.timedelta(days=30)
    assert service.progress(c) == pytest.approx(0.3)
    assert service.current_status(c, today=dt.date(2025, 10, 1)) == CommitmentStatus.ON_TRACK
    assert service.current_status(c, today=dt.date(2026, 2, 1)) == CommitmentStatus.LAPSED


def test_report_errors(session: Session, w: World) -> None:
    c = builders.commitment(session, builders.partner(session))
    with pytest.raises(ValidationFailed) as caught:
        builders.report(session, c, dt.date(2024, 6, 1))
    assert {e.field for e in caught.value.errors} == {"period_end", "value"}
    with pytest.raises(ValidationFailed) as caught:
        service.add_report(session, commitment=c, author=None, today=dt.date(2025, 3, 1),
                           data=ReportIn(period_end=dt.date(2025, 4, 1), value=1,
                                                  narrative="x"))
    assert caught.value.errors[0].message == "The period cannot end in the future"
    money = builders.commitment(session, builders.partner(session, "B"), kind="money",
                                pledged_money=1000)
    with pytest.raises(ValidationFailed, match="money"):
        builders.report(session, money, dt.date(2025, 6, 1))


def test_a_withdrawn_commitment_stays_public_and_takes_no_reports(session: Session,
                                                                  w: World) -> None:
    c = builders.commitment(session, builders.partner(session))
    with pytest.raises(ValidationFailed):
        service.withdraw_commitment(session, commitment=c, reason="")
    service.withdraw_commitment(session, commitment=c, reason="The site was sold")
    assert c.is_public
    assert service.current_status(c, today=TODAY) == CommitmentStatus.WITHDRAWN
    with pytest.raises(Conflict):
        builders.report(session, c, dt.date(2025, 6, 1), value=1)
    with pytest.raises(Conflict):
        service.withdraw_commitment(session, commitment=c, reason="again")


# Counting in the trajectory ----------------------------------------------------------------

def test_a_measurable_pledge_becomes_a_discounted_intervention(session: Session,
                                                                w: World) -> None:
    acme = builders.partner(session)
    c = builders.commitment(session, acme, metric_slug=w.metric.slug, baseline=60,
                            target=62, unit="percent", area_code="")
    intervention = trajectory.count_in_trajectory(session, commitment=c, actor=w.editor,
                                                  site=builders.SITE, today=TODAY)
    assert c.intervention == intervention
    assert trajectory.commitment_for_intervention(session, intervention_id=intervention.id) == c
    assert intervention.mission_id == w.mission.id
    assert intervention.optimism_override == 0.5  # self-reported: 50% discount
    assert "50% optimism discount" in intervention.optimism_override_reason
    assert f"{builders.SITE}/commitments/{c.id}" in intervention.evidence_reference
    effect = intervention.effects[0]
    assert (effect.metric_id, effect.central, effect.low, effect.high) == (
        w.metric.id, 2.0, 0.0, 4.0)
    assert effect.area_id == w.target.area_id  # no area of its own: the metric's target's
    adjustment = delivery_service.optimism(intervention)
    assert (adjustment.factor, adjustment.overridden) == (0.5, True)
    # The mission's public record notes the addition.
    assert (session.scalar(select(func.count()).select_from(ChangeRecord).where(
        ChangeRecord.entity_type == "intervention",
        ChangeRecord.entity_id == intervention.id)) or 0) >= 1
    # Verifying it better lowers the discount, on the record.
    service.set_verification(session, commitment=c, level=VerificationLevel.EVIDENCED,
                             actor=w.editor)
    assert intervention.optimism_override == 0.75
    record = session.scalars(select(ChangeRecord).where(
        ChangeRecord.entity_type == "intervention", ChangeRecord.entity_id == intervention.id)
        .order_by(ChangeRecord.id.desc())).first()
    assert record is not None
    assert record.fields == {"optimism_override": {"old": 0.5, "new": 0.75}}
    with pytest.raises(Conflict, match="already counted"):
        trajectory.count_in_trajectory(session, commitment=c, actor=w.editor,
                                       site=builders.SITE, today=TODAY)


def test_a_regional_pledge_counts_towards_the_nations_target(session: Session,
                                                             w: World) -> None:
    region = builders.region(session)
    c = builders.commitment(session, builders.partner(session), metric_slug=w.metric.slug,
                            baseline=0, target=3, area_code=region.code)
    assert trajectory.effect_area(c, w.metric) == w.target.area  # England, within which
    intervention = trajectory.count_in_trajectory(session, commitment=c, actor=w.admin,
                                                  site="", today=TODAY)
    assert intervention.effects[0].area_id == w.target.area_id
    assert intervention.evidence_reference.endswith(f": /commitments/{c.id}")


def test_only_approved_measurable_pledges_on_a_metric_can_be_counted(session: Session,
                                                                    w: World) -> None:
    acme = builders.partner(session)
    action = builders.commitment(session, acme, kind="action")
    assert trajectory.countable_problems(action) == [
        "it is not a measurable target with a baseline, a target and a deadline",
        "it is not on one of the mission’s metrics"]
    pending = builders.commitment(session, acme, approved=False, metric_slug=w.metric.slug)
    with pytest.raises(Conflict, match="not been approved"):
        trajectory.count_in_trajectory(session, commitment=pending, actor=w.admin,
                                       site=builders.SITE)
    assert session.scalar(select(func.count()).select_from(Intervention)) == 0


# The register ------------------------------------------------------------------------------

def _many(session: Session, w: World) -> None:
    acme = builders.partner(session)
    union = builders.partner(session, "Union of Makers", kind="trade_union",
                             sector="community")
    hidden = builders.partner(session, "Pending Ltd", approved=False)
    builders.region(session)
    session.flush()
    for n in range(7):
        builders.commitment(session, acme, title=f"Acme {n}", kind="money", pledged_money=100,
                            area_code="E12000001")
    builders.commitment(session, union, title="Union action", kind="action",
                        mission="other-mission")
    builders.commitment(session, union, title="Union pending", kind="action", approved=False)
    builders.commitment(session, hidden, title="Hidden")


def test_the_register_shows_only_public_commitments_and_filters_them(session: Session,
                                                                     w: World) -> None:
    _many(session, w)

    def titles(**filters: object) -> list[str]:
        found = register.page(session, RegisterQuery.model_validate(filters), today=TODAY,
                              base="", limit=100)
        assert found.total == len(found.items)
        return [i.title for i in found.items]

    assert len(titles()) == 8
    assert "Hidden" not in titles()
    assert "Union pending" not in titles()
    assert titles(mission="other-mission") == ["Union action"]
    assert titles(kind="action") == ["Union action"]
    assert titles(sector="community") == ["Union action"]
    assert titles(partner="union-of-makers") == ["Union action"]
    assert len(titles(area="E12000001")) == 7
    assert len(titles(area="E92000001")) == 8  # England includes its regions
    assert titles(verification="evidenced") == []
    # No report a year after the start: lapsed. Newest first.
    assert titles(status="lapsed", kind="money") == [f"Acme {n}" for n in range(6, -1, -1)]
    assert titles(status="on_track") == []


def test_pages_and_counts(session: Session, w: World) -> None:
    _many(session, w)
    q = RegisterQuery(partner="acme-widgets-ltd")
    first = register.page(session, q, today=TODAY, base="https://x", limit=3)
    last = register.page(session, q, today=TODAY, base="https://x", limit=3, offset=6)
    assert (first.total, len(first.items), first.has_next) == (7, 3, True)
    assert (len(last.items), last.has_next) == (1, False)
    assert first.items[0].url == f"https://x/commitments/{first.items[0].id}"
    assert first.items[0].optimism_discount == 0.5
    assert register.count(session, q, today=TODAY) == 7


def test_downloads_stream_every_match_in_batches(session: Session, w: World,
                                                 session_factory: sessionmaker[Session]
                                                 ) -> None:
    _many(session, w)
    session.commit()
    q = RegisterQuery(kind="money")
    items = list(register.stream(session_factory, q, today=TODAY, base="", batch=2))
    assert [i.title for i in items] == [f"Acme {n}" for n in range(6, -1, -1)]
    rows = list(csv.DictReader(io.StringIO(
        b"".join(register.csv_chunks(iter(items), every=2)).decode())))
    assert len(rows) == 7
    assert rows[0]["partner_name"] == "Acme Widgets Ltd"
    assert rows[0]["pledged_money_gbp"] == "100.0"
    body = json.loads(b"".join(register.json_chunks(iter(items), meta={"a": 1})))
    assert body["meta"] == {"a": 1}
    assert [c["title"] for c in body["commitments"]] == [i.title for i in items]
    empty = json.loads(b"".join(register.json_chunks(iter([]), meta={})))
    assert empty["commitments"] == []


def test_a_missions_totals(session: Session, w: World) -> None:
    acme = builders.partner(session)
    builders.region(session)
    union = builders.partner(session, "Union of Makers", kind="trade_union",
                             sector="community")
    money = builders.commitment(session, acme, kind="money", pledged_money=1000,
                                area_code="E12000001")
    builders.report(session, money, dt.date(2025, 3, 1), money_spent=250)
    action = builders.commitment(session, union, kind="action", pledged_hours=40)
    builders.report(session, action, dt.date(2025, 3, 1), hours_given=10, completed=True)
    target = builders.commitment(session, union, metric_slug=w.metric.slug, baseline=60,
                                 target=70)
    builders.report(session, target, dt.date(2025, 3, 1), value=64)
    gone = builders.commitment(session, union, kind="money", pledged_money=5000)
    service.withdraw_commitment(session, commitment=gone, reason="No longer possible")
    builders.commitment(session, acme, kind="money", pledged_money=9999, approved=False)
    totals = register.mission_totals(session, mission=w.mission, today=TODAY,
                                     sector_labels=SECTOR_LABELS)
    o = totals.overall
    assert (o.commitments, o.partners, o.pledged_money, o.delivered_money) == (3, 2, 1000,
                                                                               250)
    assert (o.pledged_hours, o.delivered_hours, o.actions, o.actions_done, o.achieved) == (
        40, 10, 1, 1, 1)
    assert {t.code: t.commitments for t in totals.by_sector} == {
        Sector.MANUFACTURING.value: 1, Sector.COMMUNITY.value: 2}
    assert {t.code: t.commitments for t in totals.by_area} == {"E12000001": 1,
                                                                "E92000001": 2}
    assert totals.by_status[CommitmentStatus.WITHDRAWN] == 1
    assert [(e.metric_slug, e.pledged_change, e.delivered_change) for e in totals.effects] == [
        (w.metric.slug, 10.0, 4.0)]


# The outbox --------------------------------------------------------------------------------

def test_the_outbox_keeps_messages_until_a_mailer_sends_them(session: Session) -> None:
    first = queue_email(session, to="a@example.org", subject="Hello", body="One")
    queue_email(session, to="b@example.org", subject="Again", body="Two")
    assert [m.subject for m in list_outbox(session)] == ["Again", "Hello"]
    with pytest.raises(ValueError, match="one line"):
        queue_email(session, to="a@example.org", subject="Bad\nBcc: x", body="")
    assert deliver_pending(session, mailer=OutboxOnlyMailer()) == 0
    assert first.sent_at is None

    class Sending:
        def send(self, message: OutboxMessage) -> bool:
            return message.to_address.startswith("a@")

    assert deliver_pending(session, mailer=Sending()) == 1
    assert first.sent_at is not None
    assert isinstance(mailer_from_settings(object()), OutboxOnlyMailer)

    class Configured:
        mail_backend = "smtp"

    with pytest.raises(ValueError, match="unknown mail backend"):
        mailer_from_settings(Configured())


def test_sent_messages_leave_the_outbox_after_the_keeping_period(session: Session) -> None:
    from missionboard.mail import KEEP_SENT_DAYS, purge_sent

    today = dt.date(2027, 3, 31)
    cutoff = dt.datetime.combine(today - dt.timedelta(days=KEEP_SENT_DAYS), dt.time(), dt.UTC)
    old = queue_email(session, to="old@example.org", subject="Old", body="link")
    recent = queue_email(session, to="new@example.org", subject="Recent", body="link")
    pending = queue_email(session, to="wait@example.org", subject="Pending", body="link")
    old.sent_at = cutoff - dt.timedelta(seconds=1)
    recent.sent_at = cutoff
    session.flush()
    assert purge_sent(session, today=today) == 1
    left = {m.subject for m in session.scalars(select(OutboxMessage))}
    assert left == {"Recent", "Pending"}
    assert pending.sent_at is None
    assert recent.sent_at == cutoff


def test_kinds_are_labelled() -> None:
    from missionboard.partners.schemas import COMMITMENT_KIND_LABELS

    assert set(COMMITMENT_KIND_LABELS) == set(CommitmentKind)
