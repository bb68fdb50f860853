"""The migrations build the schema on an empty database, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from missionboard.db import migrate
from missionboard.db.models import Base
from missionboard.db.session import create_db_engine
from tests.conftest import fresh_database_url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_head_on_an_empty_database_then_check(backend: str, tmp_path: Path) -> None:
    url = fresh_database_url(backend, tmp_path, "missionboard_migrations")
    migrate.upgrade(url=url)
    migrate.check(url=url)  # raises if the models and the migrations have drifted
    engine = create_db_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_history_is_linear_and_numbered() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1
    revisions = list(script.walk_revisions())
    assert all(r.revision.isdigit() and len(r.revision) == 4 for r in revisions)
