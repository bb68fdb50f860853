"""conversations, participants, statements, votes, moderation log and analysis runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "open",
                "closed",
                name="conversation_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "participation",
            sa.Enum(
                "anonymous",
                "sign_in",
                "xid",
                name="participation",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("accept_statements", sa.Boolean(), nullable=False),
        sa.Column("statement_cap", sa.Integer(), nullable=False),
        sa.Column("premoderate", sa.Boolean(), nullable=False),
        sa.Column("fixed_k", sa.Integer(), nullable=True),
        sa.Column("moderation_policy", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_conversations_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outcome_id"],
            ["outcomes.id"],
            name=op.f("fk_conversations_outcome_id_outcomes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("slug", name=op.f("uq_conversations_slug")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_mission_id"), ["mission_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_outcome_id"), ["outcome_id"], unique=False
        )

    op.create_table(
        "analysis_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_vote_id", sa.BigInteger(), nullable=False),
        sa.Column("n_votes", sa.Integer(), nullable=False),
        sa.Column("n_participants", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_analysis_runs_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
    )
    with op.batch_alter_table("analysis_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analysis_runs_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "deliberation_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("browser_key", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("xid", sa.String(length=200), nullable=True),
        sa.Column("group_number", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_deliberation_participants_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_deliberation_participants_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliberation_participants")),
        sa.UniqueConstraint(
            "conversation_id",
            "browser_key",
            name=op.f("uq_deliberation_participants_conversation_id_browser_key"),
        ),
        sa.UniqueConstraint(
            "conversation_id",
            "number",
            name=op.f("uq_deliberation_participants_conversation_id_number"),
        ),
        sa.UniqueConstraint(
            "conversation_id",
            "user_id",
            name=op.f("uq_deliberation_participants_conversation_id_user_id"),
        ),
        sa.UniqueConstraint(
            "conversation_id", "xid", name=op.f("uq_deliberation_participants_conversation_id_xid")
        ),
    )
    with op.batch_alter_table("deliberation_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliberation_participants_conversation_id"),
            ["conversation_id"],
            unique=False,
        )

    op.create_table(
        "deliberation_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("is_seed", sa.Boolean(), nullable=False),
        sa.Column("is_meta", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "accepted",
                "rejected",
                name="statement_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["deliberation_participants.id"],
            name=op.f("fk_deliberation_statements_author_id_deliberation_participants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_deliberation_statements_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["deliberation_statements.id"],
            name=op.f("fk_deliberation_statements_duplicate_of_id_deliberation_statements"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliberation_statements")),
        sa.UniqueConstraint(
            "conversation_id",
            "number",
            name=op.f("uq_deliberation_statements_conversation_id_number"),
        ),
    )
    with op.batch_alter_table("deliberation_statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliberation_statements_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deliberation_statements_conversation_id"),
            ["conversation_id"],
            unique=False,
        )

    op.create_table(
        "deliberation_votes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("cast_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_deliberation_votes_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["deliberation_participants.id"],
            name=op.f("fk_deliberation_votes_participant_id_deliberation_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["deliberation_statements.id"],
            name=op.f("fk_deliberation_votes_statement_id_deliberation_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliberation_votes")),
    )
    with op.batch_alter_table("deliberation_votes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliberation_votes_conversation_id_id", ["conversation_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_deliberation_votes_participant_id_statement_id",
            ["participant_id", "statement_id"],
            unique=False,
        )

    op.create_table(
        "moderation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "accepted",
                "rejected",
                name="statement_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["users.id"],
            name=op.f("fk_moderation_events_moderator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["deliberation_statements.id"],
            name=op.f("fk_moderation_events_statement_id_deliberation_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_events")),
    )
    with op.batch_alter_table("moderation_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_moderation_events_statement_id"), ["statement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("moderation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_events_statement_id"))

    op.drop_table("moderation_events")
    with op.batch_alter_table("deliberation_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_deliberation_votes_participant_id_statement_id")
        batch_op.drop_index("ix_deliberation_votes_conversation_id_id")

    op.drop_table("deliberation_votes")
    with op.batch_alter_table("deliberation_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliberation_statements_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_deliberation_statements_author_id"))

    op.drop_table("deliberation_statements")
    with op.batch_alter_table("deliberation_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliberation_participants_conversation_id"))

    op.drop_table("deliberation_participants")
    with op.batch_alter_table("analysis_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_runs_conversation_id"))

    op.drop_table("analysis_runs")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_outcome_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_mission_id"))

    op.drop_table("conversations")
