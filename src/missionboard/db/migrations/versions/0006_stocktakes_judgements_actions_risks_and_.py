"""stocktakes, judgements, actions, risks and challenges

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("raised_by", sa.String(length=200), nullable=False),
        sa.Column("raised_by_role", sa.String(length=200), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_challenges_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_challenges_mission_id"), ["mission_id"], unique=False)

    op.create_table(
        "risks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("mitigation", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "closed",
                name="risk_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_risks_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
    )
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risks_mission_id"), ["mission_id"], unique=False)

    op.create_table(
        "stocktakes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("chair", sa.String(length=200), nullable=False),
        sa.Column("pack", sa.JSON(), nullable=True),
        sa.Column("pack_sha256", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=200), nullable=True),
        sa.Column("pack_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_stocktakes_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stocktakes")),
    )
    with op.batch_alter_table("stocktakes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stocktakes_mission_id"), ["mission_id"], unique=False)

    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stocktake_id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column(
            "overall",
            sa.Enum(
                "green",
                "amber_green",
                "amber_red",
                "red",
                name="rating",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("overall_reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_judgements_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stocktake_id"],
            ["stocktakes.id"],
            name=op.f("fk_judgements_stocktake_id_stocktakes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgements")),
        sa.UniqueConstraint("stocktake_id", name=op.f("uq_judgements_stocktake_id")),
    )
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_judgements_mission_id"), ["mission_id"], unique=False)

    op.create_table(
        "stocktake_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stocktake_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "dropped",
                name="action_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stocktake_id"],
            ["stocktakes.id"],
            name=op.f("fk_stocktake_actions_stocktake_id_stocktakes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stocktake_actions")),
    )
    with op.batch_alter_table("stocktake_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stocktake_actions_stocktake_id"), ["stocktake_id"], unique=False
        )

    op.create_table(
        "stocktake_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stocktake_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stocktake_id"],
            ["stocktakes.id"],
            name=op.f("fk_stocktake_decisions_stocktake_id_stocktakes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stocktake_decisions")),
    )
    with op.batch_alter_table("stocktake_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stocktake_decisions_stocktake_id"), ["stocktake_id"], unique=False
        )

    op.create_table(
        "judgement_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judgement_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["judgement_id"],
            ["judgements.id"],
            name=op.f("fk_judgement_items_judgement_id_judgements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgement_items")),
        sa.UniqueConstraint(
            "judgement_id", "criterion", name=op.f("uq_judgement_items_judgement_id_criterion")
        ),
    )
    with op.batch_alter_table("judgement_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_judgement_items_judgement_id"), ["judgement_id"], unique=False
        )

    with op.batch_alter_table("board_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_board_members_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_board_members_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("missions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("judgements_public", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("missions", schema=None) as batch_op:
        batch_op.drop_column("judgements_public")

    with op.batch_alter_table("board_members", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_board_members_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_board_members_user_id"))
        batch_op.drop_column("user_id")

    with op.batch_alter_table("judgement_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_judgement_items_judgement_id"))

    op.drop_table("judgement_items")
    with op.batch_alter_table("stocktake_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stocktake_decisions_stocktake_id"))

    op.drop_table("stocktake_decisions")
    with op.batch_alter_table("stocktake_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stocktake_actions_stocktake_id"))

    op.drop_table("stocktake_actions")
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_judgements_mission_id"))

    op.drop_table("judgements")
    with op.batch_alter_table("stocktakes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stocktakes_mission_id"))

    op.drop_table("stocktakes")
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risks_mission_id"))

    op.drop_table("risks")
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenges_mission_id"))

    op.drop_table("challenges")
