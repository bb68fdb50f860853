"""delivery plans and delivery chains

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_chain_links_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_chain_links_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_links")),
        sa.UniqueConstraint(
            "intervention_id", "position", name=op.f("uq_chain_links_intervention_id_position")
        ),
    )
    with op.batch_alter_table("chain_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chain_links_intervention_id"), ["intervention_id"], unique=False
        )

    op.create_table(
        "plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "milestone",
                "action",
                name="plan_item_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "in_progress",
                "done",
                "dropped",
                name="plan_item_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_plan_items_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_items")),
    )
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_items_intervention_id"), ["intervention_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_items_intervention_id"))

    op.drop_table("plan_items")
    with op.batch_alter_table("chain_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_links_intervention_id"))

    op.drop_table("chain_links")
