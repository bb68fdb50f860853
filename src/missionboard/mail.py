"""Outgoing email: an outbox table, filled inside the caller's transaction.

Services call :func:`queue_email`; nothing is sent while the request's transaction is open, so
a rolled-back request sends nothing. Delivery is a separate step
(:func:`deliver_pending`) through a :class:`Mailer`. This part ships only
:class:`OutboxOnlyMailer`, which leaves messages in the outbox for an administrator to read at
``/admin/outbox``; a deployment plugs an SMTP or API mailer in through
:func:`mailer_from_settings` (the ``mail_backend`` setting, ``outbox`` by default).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from missionboard.db.base import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """An email waiting to be sent (``sent_at`` empty) or sent."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_sent_at_id", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def queue_email(session: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Put a message in the outbox (flushed, not committed: the caller owns the transaction)."""
    if "\n" in subject or "\r" in subject:
        raise ValueError("an email subject is one line")
    message = OutboxMessage(to_address=to.strip(), subject=subject.strip(), body=body)
    session.add(message)
    session.flush()
    return message


def list_outbox(session: Session, *, limit: int = 100, offset: int = 0) -> list[OutboxMessage]:
    """The newest messages first, a page at a time."""
    return list(session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)))


#: Days a message stays in the outbox once sent: it holds addresses and one-time links.
KEEP_SENT_DAYS = 30


def purge_sent(session: Session, *, today: dt.date, keep_days: int = KEEP_SENT_DAYS) -> int:
    """Delete messages sent more than ``keep_days`` before ``today``; return how many."""
    cutoff = dt.datetime.combine(today - dt.timedelta(days=keep_days), dt.time(), dt.UTC)
    old = list(session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at < cutoff)))
    for message in old:
        session.delete(message)
    session.flush()
    return len(old)


class Mailer(Protocol):
    """Something that sends one message; raises to leave it in the outbox for a retry."""

    def send(self, message: OutboxMessage) -> bool:
        """Send the message; return whether it left (False keeps it pending)."""
        ...


class OutboxOnlyMailer:
    """Sends nothing: messages stay in the outbox, readable by administrators."""

    def send(self, message: OutboxMessage) -> bool:
        return False


def mailer_from_settings(settings: object) -> Mailer:
    """The mailer named by the settings' ``mail_backend`` (``MISSIONBOARD_MAIL_BACKEND``;
    ``outbox`` when the setting is absent). Only ``outbox`` exists in this release; any other
    name is refused rather than silently ignored."""
    name = str(getattr(settings, "mail_backend", "outbox")).strip().lower()
    if name == "outbox":
        return OutboxOnlyMailer()
    raise ValueError(f"unknown mail backend {name!r}: this release has only 'outbox'")


def deliver_pending(session: Session, *, mailer: Mailer, limit: int = 100) -> int:
    """Hand pending messages to the mailer, oldest first; mark those it sent. Returns the
    number sent. Run after the transactions that queued them have committed."""
    sent = 0
    pending = session.scalars(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id).limit(limit))
    for message in pending:
        if mailer.send(message):
            message.sent_at = utcnow()
            sent += 1
    session.flush()
    return sent
