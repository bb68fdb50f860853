"""Users, passwords, throttling, tokens and the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import access, service
from missionboard.accounts.models import AuditEntry, Role, User
from missionboard.errors import Conflict, TooManyAttempts, ValidationFailed
from tests import factories


def _auth(session: Session, email: str, password: str, ip: str = "10.0.0.1") -> User | None:
    return service.authenticate(session, email=email, password=password, ip=ip,
                                max_failures=3, window_seconds=900)


def test_password_is_hashed_with_argon2(session: Session) -> None:
    user = factories.user(session, "a@example.org")
    assert user.password_hash.startswith("$argon2id$")
    assert factories.PASSWORD not in user.password_hash
    assert _auth(session, "A@Example.org ", factories.PASSWORD) == user
    assert _auth(session, "a@example.org", "wrong password") is None
    assert _auth(session, "nobody@example.org", factories.PASSWORD) is None


def test_short_password_and_duplicate_email_are_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_user(session, email="b@example.org", name="B", password="short")
    assert exc.value.errors[0].field == "password"
    factories.user(session, "b@example.org")
    with pytest.raises(Conflict):
        factories.user(session, "B@example.org")


def test_throttling_per_email_and_per_address(session: Session) -> None:
    factories.user(session, "c@example.org")
    for _ in range(3):
        assert _auth(session, "c@example.org", "nope") is None
    with pytest.raises(TooManyAttempts):
        _auth(session, "c@example.org", factories.PASSWORD)
    # Another address guessing many emails is throttled too (4 x 3 failures).
    for i in range(12):
        assert _auth(session, f"guess{i}@example.org", "nope", ip="10.9.9.9") is None
    with pytest.raises(TooManyAttempts):
        _auth(session, "d@example.org", "nope", ip="10.9.9.9")


def test_api_tokens_store_only_a_hash(session: Session) -> None:
    user = factories.user(session, "e@example.org")
    token, secret = service.create_api_token(session, user=user, name="pipeline")
    assert secret not in token.token_sha256
    assert service.user_for_token(session, secret=secret) == user
    assert service.user_for_token(session, secret=secret + "x") is None
    assert token.last_used_at is not None


def test_audit_log_records_inserts_and_updates_without_secrets(session: Session) -> None:
    session.info["actor_id"] = 42
    session.info["ip"] = "192.0.2.7"
    m = factories.mission(session, "audited", published=False)
    m.title = "Renamed"
    session.flush()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "missions")
                              .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["insert", "update"]
    assert entries[0].actor_id == 42
    assert entries[0].ip == "192.0.2.7"
    assert entries[1].changes["title"] == {"old": "Mission audited", "new": "Renamed"}
    factories.user(session, "f@example.org")
    user_entry = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "users")
                                 ).one()
    assert user_entry.changes["password_hash"] == "(set)"


def test_access_rules(session: Session) -> None:
    w = factories.world(session)
    assert access.can_edit_mission(w.admin, w.mission.id)
    assert access.can_edit_mission(w.editor, w.mission.id)
    assert not access.can_edit_mission(w.other_editor, w.mission.id)
    assert not access.can_edit_mission(w.viewer, w.mission.id)
    assert not access.can_edit_mission(None, w.mission.id)
    assert access.can_create_mission(w.admin)
    assert not access.can_create_mission(w.editor)  # scoped editors edit only their missions
    assert access.can_publish_data(w.publisher, w.metric.id, [w.mission.id])
    assert not access.can_publish_data(w.publisher, w.draft_metric.id, [w.draft_mission.id])
    assert access.can_publish_data(w.editor, w.metric.id, [w.mission.id])
    assert not access.can_edit_metric(w.publisher, [w.mission.id])
    assert access.can_view_drafts(w.viewer)
    assert not access.can_view_drafts(w.nobody)
    assert not access.can_view_drafts(None)
    global_editor = factories.user(session, "g@example.org", (Role.MISSION_EDITOR, None, None))
    assert access.can_create_mission(global_editor)
