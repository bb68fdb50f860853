"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by the Alembic migrations once per backend; each test runs inside a
transaction that is rolled back (services' flushes and the app's commits become SAVEPOINTs).

PostgreSQL comes from ``MISSIONBOARD_TEST_POSTGRES_URL`` (default: the local server). Where it
cannot be reached the PostgreSQL variants are skipped with the reason shown, except under
``CI=true``, where they fail: CI must not pass silently without the real server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from missionboard.db import migrate
from missionboard.db.session import create_db_engine, create_session_factory

IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


def _worker_suffix() -> str:
    # The process id too: several test runs may share one server at the same time.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def postgres_admin_url() -> str:
    return os.environ.get("MISSIONBOARD_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def fresh_postgres_database(name: str) -> str:
    """Drop and create database ``name`` on the test server; return its URL.

    Skips (fails in CI) when the server cannot be reached.
    """
    admin_url = make_url(postgres_admin_url())
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        _CREATED.append(name)
    except Exception as exc:  # the server is down or refuses us
        message = f"PostgreSQL not reachable at {admin_url.render_as_string()}: {exc}"
        if IN_CI:
            pytest.fail(f"{message} (CI requires PostgreSQL)")
        pytest.skip(message)
    finally:
        admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


_CREATED: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases this run created, at the end of the run."""
    yield
    for name in _CREATED:
        drop_postgres_database(name)


def drop_postgres_database(name: str) -> None:
    admin = create_engine(make_url(postgres_admin_url()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def fresh_database_url(backend: str, tmp_dir: Path, name: str) -> str:
    """A new, empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / (name + '.db')}"
    return fresh_postgres_database(f"{name}_{_worker_suffix()}")


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Real argon2id, with the cheapest parameters: the default costs 0.4 s a hash."""
    from argon2 import PasswordHasher, profiles

    from missionboard.accounts import service

    original = service._hasher
    service._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    service._dummy_hash.cache_clear()
    yield
    service._hasher = original
    service._dummy_hash.cache_clear()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = fresh_database_url(backend, tmp_path_factory.mktemp("db"), "missionboard_test")
    migrate.upgrade(url=url)
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        trans = conn.begin()
        yield conn
        trans.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions joined to the test's outer transaction: commits become SAVEPOINT releases."""
    return create_session_factory(connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


FIXTURES = Path(__file__).parent / "fixtures"
