"""The demo partners: organisations of several kinds, commitments of every kind with progress
reports, some lapsed, some verified, one counted in a trajectory, one organisation and two
commitments awaiting moderation, all labelled illustrative."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import Role
from missionboard.mail import OutboxMessage
from missionboard.metrics import service as metrics_service
from missionboard.metrics.schemas import AreaIn, MetricIn
from missionboard.partners import demo, service
from missionboard.partners.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    ModerationStatus,
    Partner,
    VerificationLevel,
)
from missionboard.partners.status import add_months
from tests import factories

MISSIONS = ("economic-growth", "nhs", "clean-energy", "safer-streets", "opportunity")
AREAS = ["E12000001", "E12000002", "E12000003", "E12000004", "E12000005", "E12000006",
         "E12000007", "E12000008", "E12000009", "S92000003", "W92000004", "N92000002"]


def test_the_demo_partners(session: Session) -> None:
    missions = {slug: factories.mission(session, slug) for slug in MISSIONS}
    factories.area(session)
    for code in AREAS:
        metrics_service.create_area(session, data=AreaIn(
            code=code, name=code, level="region",
            parent_code="E92000001" if code.startswith("E") else None))
    outcome = factories.outcome(session, missions["economic-growth"])
    homes = metrics_service.create_metric(session, data=MetricIn(
        slug=demo.HOMES, title="Homes", definition="Net additional dwellings", kind="count",
        unit="dwellings", polarity="higher_is_better", frequency="annual"), outcomes=[outcome])
    metrics_service.set_metric_status(session, metric=homes, status="published", actor=None,
                                      reason=None)
    factories.target(session, homes, baseline=0, value=1_500_000)
    admin = accounts.create_user(session, email="admin@demo.example", name="Admin",
                                 password=factories.PASSWORD, roles=[(Role.ADMIN, None, None)])
    made = demo.load_partners(session, missions_by_slug=missions, admin=admin,
                              email_domain="demo.example", password=factories.PASSWORD)
    commitments = list(session.scalars(select(Commitment)))
    assert made == len(commitments) >= 10
    assert all(c.illustrative for c in commitments)
    assert all(p.illustrative for p in session.scalars(select(Partner)))
    assert set(CommitmentKind) <= {c.kind for c in commitments}
    assert len({p.kind for p in session.scalars(select(Partner))}) >= 6
    today = session.scalars(select(Commitment)).first().created_at.date()  # type: ignore[union-attr]
    statuses = Counter(service.current_status(c, today=today) for c in commitments
                       if c.is_public)
    assert statuses[CommitmentStatus.LAPSED] >= 2
    for status in (CommitmentStatus.ON_TRACK, CommitmentStatus.BEHIND,
                   CommitmentStatus.ACHIEVED, CommitmentStatus.NOT_YET_DUE):
        assert statuses[status] >= 1, status
    # The statuses hold for a while: the demo's dates are relative to the day it is loaded.
    later = add_months(today, 1)
    assert Counter(service.current_status(c, today=later) for c in commitments
                   if c.is_public)[CommitmentStatus.LAPSED] >= 2
    assert {c.verification for c in commitments} == set(VerificationLevel)
    assert sum(len(c.reports) for c in commitments) >= 15
    counted = [c for c in commitments if c.intervention is not None]
    assert [c.metric_id for c in counted] == [homes.id]
    assert counted[0].intervention.evidence_reference.startswith("Illustrative")  # type: ignore[union-attr]
    pending = [c for c in commitments if c.moderation == ModerationStatus.PENDING]
    assert len(pending) == 2
    waiting = session.scalars(select(Partner).where(
        Partner.moderation == ModerationStatus.PENDING)).one()
    message = session.scalars(select(OutboxMessage)).one()
    assert waiting.name in message.subject
    assert f"{demo.SITE}/partners/verify/" in message.body
    staff = accounts.get_user(session, user_id=service.memberships(
        session, user=session.scalars(select(accounts.User).where(
            accounts.User.email == "partner@demo.example")).one())[0].user_id)
    assert staff is not None
    assert service.member_partner_ids(session, staff) == {
        session.scalars(select(Partner).where(Partner.slug == "northbridge-housing-association"))
        .one().id}
