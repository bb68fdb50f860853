"""Engine and session factories. The caller owns the transaction: services only flush."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts.audit import install_audit_hook


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for SAVEPOINT).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and proper transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_session_factory(bind: Any, **kwargs: Any) -> sessionmaker[Session]:
    """A session factory whose sessions write every ORM change to the audit log."""
    factory = sessionmaker(bind=bind, expire_on_commit=False, **kwargs)
    install_audit_hook(factory)
    return factory


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session], *, actor_id: int | None = None, ip: str | None = None
) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    session = factory()
    session.info["actor_id"] = actor_id
    session.info["ip"] = ip
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
