"""Migration 0012 creates the partners' tables, with their indexes, and takes them away again;
the models match it (``alembic check`` at the head, in tests/test_migrations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from missionboard.db import migrate
from missionboard.db.session import create_db_engine
from tests.conftest import fresh_database_url

TABLES = {"partners", "partner_areas", "partner_members", "commitments", "commitment_reports",
          "partner_registration_attempts", "outbox_messages"}
#: The indexes the register's filters and pages rely on.
INDEXES = {"ix_commitments_moderation_id", "ix_commitments_mission_id_listed_id",
           "ix_commitments_listed_id_mission_id", "ix_commitments_kind_listed_id",
           "ix_commitments_verification_listed_id", "ix_commitments_area_id_listed_id",
           "ix_commitments_partner_id_listed_id",
           "ix_commitments_assessment_listed_report_due_on_deadline",
           "ix_commitments_report_due_on_listed_assessment", "ix_commitments_deadline"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0012_up_down_and_up_again(backend: str, tmp_path: Path) -> None:
    url = fresh_database_url(backend, tmp_path, "missionboard_partners_migration")
    config = migrate.alembic_config(url=url)
    engine = create_db_engine(url)
    try:
        command.upgrade(config, "0012")
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) >= TABLES
        assert {i["name"] for i in inspector.get_indexes("commitments")} >= INDEXES
        command.downgrade(config, "0011")
        assert not TABLES & set(inspect(engine).get_table_names())
        command.upgrade(config, "0012")
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
