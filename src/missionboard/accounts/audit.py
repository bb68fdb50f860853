"""The audit hook: every ORM insert, update and delete is written to ``audit_log``.

Bulk imports go through Core, not the ORM, and write one summary entry themselves.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, sessionmaker

from missionboard.db.base import utcnow

#: Citizens' votes and participation are not officials' changes: logging them beside an IP
#: address would make anonymous participation traceable. The vote log is its own record.
#: Citizens' panels' personal data (addresses, volunteers' names and contact details) is kept
#: out of the log too: the panels service writes a summary of each change without it.
_SKIP_TABLES = frozenset({"audit_log", "login_attempts", "deliberation_votes",
                          "deliberation_participants", "panel_addresses", "panel_volunteers",
                          # queued email holds addresses and one-time links, not records
                          "outbox_messages"})
#: A panel draw's seed held by the application is secret until the draw.
_SECRET_COLUMNS = frozenset({"password_hash", "token_sha256", "held_seed"})
#: Large published files: the log notes that they were set (their hash is logged beside them).
_BULKY_COLUMNS = frozenset({"people_csv", "features_csv", "probabilities"})
#: Bookkeeping that changes on reads (a token's last use) is not an edit worth logging.
_UNAUDITED_COLUMNS = frozenset({"last_used_at"})


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _row_id(obj: Any) -> str | None:
    identity = inspect(obj).identity
    if identity is None:
        return None
    return ",".join(str(part) for part in identity)


def _column_changes(obj: Any, *, only_changed: bool) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        history = state.attrs[key].history
        if only_changed and (not history.has_changes() or key in _UNAUDITED_COLUMNS):
            continue
        if key in _SECRET_COLUMNS or key in _BULKY_COLUMNS:
            changes[key] = "(changed)" if only_changed else "(set)"
            continue
        if only_changed:
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            changes[key] = {"old": _plain(old), "new": _plain(new)}
        else:
            changes[key] = _plain(getattr(obj, key))
    return changes


def _after_flush(session: Session, _context: Any) -> None:
    rows: list[dict[str, Any]] = []
    actor_id = session.info.get("actor_id")
    ip = session.info.get("ip")
    now = utcnow()
    for action, objects, only_changed in (
        ("insert", session.new, False),
        ("update", session.dirty, True),
        ("delete", session.deleted, False),
    ):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in _SKIP_TABLES:
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _column_changes(obj, only_changed=only_changed)
            if action == "update" and not changes:
                continue
            rows.append({
                "at": now, "actor_id": actor_id, "ip": ip, "action": action,
                "table_name": table, "row_id": _row_id(obj), "changes": changes,
            })
    if rows:
        from missionboard.accounts.models import AuditEntry

        session.connection().execute(insert(AuditEntry), rows)


def install_audit_hook(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _after_flush)
