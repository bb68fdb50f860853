"""interventions and their estimated effects

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "planned",
                "in_delivery",
                "delivered",
                "stopped",
                name="intervention_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("lag_months", sa.Integer(), nullable=False),
        sa.Column(
            "ramp",
            sa.Enum(
                "step",
                "linear",
                "s_curve",
                name="ramp",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("ramp_months", sa.Integer(), nullable=False),
        sa.Column(
            "persistence",
            sa.Enum(
                "permanent",
                "decay",
                name="persistence",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("half_life_months", sa.Float(), nullable=True),
        sa.Column(
            "evidence_kind",
            sa.Enum(
                "at_scale_evaluation",
                "pilot_trial",
                "academic_trial",
                "expert_judgement",
                name="evidence_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "evidence_strength",
            sa.Enum(
                "strong",
                "moderate",
                "limited",
                "very_limited",
                name="evidence_strength",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("evidence_reference", sa.Text(), nullable=False),
        sa.Column("optimism_override", sa.Float(), nullable=True),
        sa.Column("optimism_override_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name=op.f("fk_interventions_mission_id_missions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organisations.id"],
            name=op.f("fk_interventions_owner_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
        sa.UniqueConstraint("mission_id", "slug", name=op.f("uq_interventions_mission_id_slug")),
    )
    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interventions_mission_id"), ["mission_id"], unique=False
        )

    op.create_table(
        "intervention_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_intervention_budgets_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_budgets")),
        sa.UniqueConstraint(
            "intervention_id", "year", name=op.f("uq_intervention_budgets_intervention_id_year")
        ),
    )
    with op.batch_alter_table("intervention_budgets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_budgets_intervention_id"), ["intervention_id"], unique=False
        )

    op.create_table(
        "intervention_contributors",
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_intervention_contributors_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_intervention_contributors_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "intervention_id", "organisation_id", name=op.f("pk_intervention_contributors")
        ),
    )
    op.create_table(
        "intervention_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column(
            "distribution",
            sa.Enum(
                "normal",
                "lognormal",
                "triangular",
                "uniform",
                name="distribution",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("central", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("interval_level", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "interval_level > 0 AND interval_level < 1", name=op.f("ck_intervention_effects_level")
        ),
        sa.CheckConstraint(
            "low <= central AND central <= high", name=op.f("ck_intervention_effects_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
            name=op.f("fk_intervention_effects_area_id_areas"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_intervention_effects_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metrics.id"],
            name=op.f("fk_intervention_effects_metric_id_metrics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_effects")),
        sa.UniqueConstraint(
            "intervention_id",
            "metric_id",
            "area_id",
            name=op.f("uq_intervention_effects_intervention_id_metric_id_area_id"),
        ),
    )
    with op.batch_alter_table("intervention_effects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_effects_intervention_id"), ["intervention_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_effects_metric_id"), ["metric_id"], unique=False
        )

    op.create_table(
        "intervention_overlaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("shared_fraction", sa.Float(), nullable=False),
        sa.Column("interaction", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "first_id < second_id", name=op.f("ck_intervention_overlaps_pair_order")
        ),
        sa.CheckConstraint(
            "shared_fraction >= 0 AND shared_fraction <= 1",
            name=op.f("ck_intervention_overlaps_fraction"),
        ),
        sa.ForeignKeyConstraint(
            ["first_id"],
            ["interventions.id"],
            name=op.f("fk_intervention_overlaps_first_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["second_id"],
            ["interventions.id"],
            name=op.f("fk_intervention_overlaps_second_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_overlaps")),
        sa.UniqueConstraint(
            "first_id", "second_id", name=op.f("uq_intervention_overlaps_first_id_second_id")
        ),
    )
    with op.batch_alter_table("intervention_overlaps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_overlaps_first_id"), ["first_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_overlaps_second_id"), ["second_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("intervention_overlaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_overlaps_second_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_overlaps_first_id"))

    op.drop_table("intervention_overlaps")
    with op.batch_alter_table("intervention_effects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_effects_metric_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_effects_intervention_id"))

    op.drop_table("intervention_effects")
    op.drop_table("intervention_contributors")
    with op.batch_alter_table("intervention_budgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_budgets_intervention_id"))

    op.drop_table("intervention_budgets")
    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interventions_mission_id"))

    op.drop_table("interventions")
