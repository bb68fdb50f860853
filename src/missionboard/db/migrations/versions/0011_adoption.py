"""adoption: programmes to spread what works, their eligible units and each unit's adoption
(when, with what fidelity, and when it stopped)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('adoption_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('intervention_id', sa.Integer(), nullable=True),
    sa.Column('trial_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('unit_kind', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('offered_on', sa.Date(), nullable=True),
    sa.Column('target_share', sa.Float(), nullable=True),
    sa.Column('target_on', sa.Date(), nullable=True),
    sa.Column('illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['intervention_id'], ['interventions.id'], name=op.f('fk_adoption_programmes_intervention_id_interventions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_adoption_programmes_mission_id_missions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_adoption_programmes_trial_id_trials'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adoption_programmes')),
    sa.UniqueConstraint('slug', name=op.f('uq_adoption_programmes_slug'))
    )
    with op.batch_alter_table('adoption_programmes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoption_programmes_intervention_id'), ['intervention_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoption_programmes_mission_id'), ['mission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoption_programmes_trial_id'), ['trial_id'], unique=False)

    op.create_table('adoption_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('area', sa.String(length=100), nullable=False),
    sa.Column('group_name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['adoption_programmes.id'], name=op.f('fk_adoption_units_programme_id_adoption_programmes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adoption_units')),
    sa.UniqueConstraint('programme_id', 'unit_id', name=op.f('uq_adoption_units_programme_id_unit_id'))
    )
    with op.batch_alter_table('adoption_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoption_units_programme_id'), ['programme_id'], unique=False)

    op.create_table('adoption_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_pk', sa.Integer(), nullable=False),
    sa.Column('adopted_on', sa.Date(), nullable=False),
    sa.Column('fidelity', sa.Enum('full', 'partial', 'minimal', name='adoption_fidelity', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('fidelity_score', sa.Integer(), nullable=True),
    sa.Column('stopped_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_pk'], ['adoption_units.id'], name=op.f('fk_adoption_records_unit_pk_adoption_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adoption_records')),
    sa.UniqueConstraint('unit_pk', name=op.f('uq_adoption_records_unit_pk'))
    )


def downgrade() -> None:
    op.drop_table('adoption_records')
    with op.batch_alter_table('adoption_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoption_units_programme_id'))

    op.drop_table('adoption_units')
    with op.batch_alter_table('adoption_programmes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoption_programmes_trial_id'))
        batch_op.drop_index(batch_op.f('ix_adoption_programmes_mission_id'))
        batch_op.drop_index(batch_op.f('ix_adoption_programmes_intervention_id'))

    op.drop_table('adoption_programmes')
