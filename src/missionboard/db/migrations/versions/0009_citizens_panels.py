"""citizens' panels: features and targets, addresses, invitations, volunteers, selection runs,
recommendations and responses

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "draft",
                "recruiting",
                "closed",
                "selected",
                "reported",
                name="panel_stage",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("household_rule", sa.Boolean(), nullable=False),
        sa.Column("retention_until", sa.Date(), nullable=False),
        sa.Column("meets_from", sa.Date(), nullable=True),
        sa.Column("meets_until", sa.Date(), nullable=True),
        sa.Column("personal_data_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registration_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_panels_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outcome_id"],
            ["outcomes.id"],
            name=op.f("fk_panels_outcome_id_outcomes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panels")),
        sa.UniqueConstraint("slug", name=op.f("uq_panels_slug")),
    )
    with op.batch_alter_table("panels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_panels_mission_id"), ["mission_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_panels_outcome_id"), ["outcome_id"], unique=False)

    op.create_table(
        "panel_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=False),
        sa.Column("postcode", sa.String(length=12), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_addresses_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_addresses")),
        sa.UniqueConstraint(
            "panel_id", "reference", name=op.f("uq_panel_addresses_panel_id_reference")
        ),
    )
    with op.batch_alter_table("panel_addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_panel_addresses_panel_id"), ["panel_id"], unique=False)

    op.create_table(
        "panel_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_features_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_features")),
        sa.UniqueConstraint("panel_id", "name", name=op.f("uq_panel_features_panel_id_name")),
    )
    with op.batch_alter_table("panel_features", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_panel_features_panel_id"), ["panel_id"], unique=False)

    op.create_table(
        "panel_invitation_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("from_addresses", sa.Integer(), nullable=False),
        sa.Column("by_stratum", sa.Boolean(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_invitation_rounds_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_invitation_rounds")),
        sa.UniqueConstraint(
            "panel_id", "number", name=op.f("uq_panel_invitation_rounds_panel_id_number")
        ),
    )
    with op.batch_alter_table("panel_invitation_rounds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_invitation_rounds_panel_id"), ["panel_id"], unique=False
        )

    op.create_table(
        "panel_recommendations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("support", sa.String(length=200), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("response_due", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_recommendations_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_recommendations")),
        sa.UniqueConstraint(
            "panel_id", "number", name=op.f("uq_panel_recommendations_panel_id_number")
        ),
    )
    with op.batch_alter_table("panel_recommendations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_recommendations_panel_id"), ["panel_id"], unique=False
        )

    op.create_table(
        "panel_selection_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "initial",
                "replacement",
                name="selection_run_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "seed_source",
            sa.Enum(
                "app",
                "organiser",
                name="seed_source",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("seed_description", sa.Text(), nullable=False),
        sa.Column("commitment_sha256", sa.String(length=64), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_seed", sa.String(length=40), nullable=True),
        sa.Column("seed", sa.String(length=40), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_reason", sa.Text(), nullable=False),
        sa.Column("people_csv", sa.Text(), nullable=False),
        sa.Column("features_csv", sa.Text(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("household_rule", sa.Boolean(), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("kept", sa.JSON(), nullable=False),
        sa.Column("replaced", sa.JSON(), nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=False),
        sa.Column("min_probability", sa.Float(), nullable=True),
        sa.Column("legacy_min_probability", sa.Float(), nullable=True),
        sa.Column("legacy_runs", sa.Integer(), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("selected", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_selection_runs_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_selection_runs")),
        sa.UniqueConstraint(
            "panel_id", "number", name=op.f("uq_panel_selection_runs_panel_id_number")
        ),
    )
    with op.batch_alter_table("panel_selection_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_selection_runs_panel_id"), ["panel_id"], unique=False
        )

    op.create_table(
        "panel_feature_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("min", sa.Integer(), nullable=False),
        sa.Column("max", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feature_id"],
            ["panel_features.id"],
            name=op.f("fk_panel_feature_values_feature_id_panel_features"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_feature_values")),
        sa.UniqueConstraint(
            "feature_id", "value", name=op.f("uq_panel_feature_values_feature_id_value")
        ),
    )
    with op.batch_alter_table("panel_feature_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_feature_values_feature_id"), ["feature_id"], unique=False
        )

    op.create_table(
        "panel_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("household", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["address_id"],
            ["panel_addresses.id"],
            name=op.f("fk_panel_invitations_address_id_panel_addresses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_invitations_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["panel_invitation_rounds.id"],
            name=op.f("fk_panel_invitations_round_id_panel_invitation_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_invitations")),
        sa.UniqueConstraint("code", name=op.f("uq_panel_invitations_code")),
        sa.UniqueConstraint(
            "panel_id", "address_id", name=op.f("uq_panel_invitations_panel_id_address_id")
        ),
        sa.UniqueConstraint(
            "panel_id", "household", name=op.f("uq_panel_invitations_panel_id_household")
        ),
    )
    with op.batch_alter_table("panel_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_invitations_address_id"), ["address_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_panel_invitations_panel_id"), ["panel_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_panel_invitations_round_id"), ["round_id"], unique=False
        )

    op.create_table(
        "panel_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "accepted",
                "accepted_in_part",
                "not_accepted",
                "under_consideration",
                name="response_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["panel_recommendations.id"],
            name=op.f("fk_panel_responses_recommendation_id_panel_recommendations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_responses")),
        sa.UniqueConstraint("recommendation_id", name=op.f("uq_panel_responses_recommendation_id")),
    )
    op.create_table(
        "panel_volunteers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "registered",
                "selected",
                "reserve",
                "withdrawn",
                "replacement",
                name="volunteer_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected_run_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["panel_invitations.id"],
            name=op.f("fk_panel_volunteers_invitation_id_panel_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["panels.id"],
            name=op.f("fk_panel_volunteers_panel_id_panels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["selected_run_id"],
            ["panel_selection_runs.id"],
            name=op.f("fk_panel_volunteers_selected_run_id_panel_selection_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_volunteers")),
        sa.UniqueConstraint(
            "panel_id", "pseudonym", name=op.f("uq_panel_volunteers_panel_id_pseudonym")
        ),
    )
    with op.batch_alter_table("panel_volunteers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_volunteers_invitation_id"), ["invitation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_panel_volunteers_panel_id"), ["panel_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("panel_volunteers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_volunteers_panel_id"))
        batch_op.drop_index(batch_op.f("ix_panel_volunteers_invitation_id"))

    op.drop_table("panel_volunteers")
    op.drop_table("panel_responses")
    with op.batch_alter_table("panel_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_invitations_round_id"))
        batch_op.drop_index(batch_op.f("ix_panel_invitations_panel_id"))
        batch_op.drop_index(batch_op.f("ix_panel_invitations_address_id"))

    op.drop_table("panel_invitations")
    with op.batch_alter_table("panel_feature_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_feature_values_feature_id"))

    op.drop_table("panel_feature_values")
    with op.batch_alter_table("panel_selection_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_selection_runs_panel_id"))

    op.drop_table("panel_selection_runs")
    with op.batch_alter_table("panel_recommendations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_recommendations_panel_id"))

    op.drop_table("panel_recommendations")
    with op.batch_alter_table("panel_invitation_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_invitation_rounds_panel_id"))

    op.drop_table("panel_invitation_rounds")
    with op.batch_alter_table("panel_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_features_panel_id"))

    op.drop_table("panel_features")
    with op.batch_alter_table("panel_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_addresses_panel_id"))

    op.drop_table("panel_addresses")
    with op.batch_alter_table("panels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panels_outcome_id"))
        batch_op.drop_index(batch_op.f("ix_panels_mission_id"))

    op.drop_table("panels")
