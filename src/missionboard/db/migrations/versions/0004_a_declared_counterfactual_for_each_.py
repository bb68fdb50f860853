"""a declared counterfactual for each target

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "counterfactual",
                sa.Enum(
                    "flat",
                    "linear",
                    "fitted",
                    name="counterfactual_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=40,
                ),
                server_default="flat",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("counterfactual_slope_per_year", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_column("counterfactual_slope_per_year")
        batch_op.drop_column("counterfactual")
