"""units, peer groups, unit metrics and practice notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "peer_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "all",
                "same_kind",
                "nearest",
                "list",
                name="peer_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "unit_kind",
            sa.Enum(
                "school",
                "trust",
                "gp_practice",
                "police_force",
                "council",
                "jobcentre",
                "prison",
                "other",
                name="unit_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("neighbours", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_groups")),
        sa.UniqueConstraint("slug", name=op.f("uq_peer_groups_slug")),
    )
    op.create_table(
        "unit_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column(
            "statistic",
            sa.Enum(
                "proportion",
                "rate",
                "ratio",
                name="unit_statistic",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("multiplier", sa.Float(), nullable=False),
        sa.Column("numerator_label", sa.String(length=200), nullable=False),
        sa.Column("denominator_label", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metrics.id"],
            name=op.f("fk_unit_metrics_metric_id_metrics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_metrics")),
        sa.UniqueConstraint("metric_id", name=op.f("uq_unit_metrics_metric_id")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "school",
                "trust",
                "gp_practice",
                "police_force",
                "council",
                "jobcentre",
                "prison",
                "other",
                name="unit_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_units_area_id_areas"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_units_kind"), ["kind"], unique=False)

    op.create_table(
        "peer_group_members",
        sa.Column("peer_group_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_group_id"],
            ["peer_groups.id"],
            name=op.f("fk_peer_group_members_peer_group_id_peer_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_peer_group_members_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("peer_group_id", "unit_id", name=op.f("pk_peer_group_members")),
    )
    op.create_table(
        "practice_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_practice_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metrics.id"],
            name=op.f("fk_practice_notes_metric_id_metrics"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_practice_notes_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_notes")),
    )
    with op.batch_alter_table("practice_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practice_notes_metric_id"), ["metric_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_practice_notes_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("practice_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practice_notes_unit_id"))
        batch_op.drop_index(batch_op.f("ix_practice_notes_metric_id"))

    op.drop_table("practice_notes")
    op.drop_table("peer_group_members")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_kind"))
        batch_op.drop_index(batch_op.f("ix_units_area_id"))

    op.drop_table("units")
    op.drop_table("unit_metrics")
    op.drop_table("peer_groups")
