"""trials: the register (trials, arms, outcomes), analysis plan versions, units and their
committed allocation, exposures logged by the assignment API, and outcome data loads

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('intervention_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('population', sa.Text(), nullable=False),
    sa.Column('comparator', sa.Text(), nullable=False),
    sa.Column('unit_kind', sa.Enum('individual', 'cluster', name='trial_unit_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('cluster_kind', sa.String(length=100), nullable=False),
    sa.Column('design', sa.Enum('parallel', 'stratified', 'cluster', 'stepped_wedge', 'factorial', name='trial_design', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('planned_units', sa.Integer(), nullable=True),
    sa.Column('planned_clusters', sa.Integer(), nullable=True),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('analysis_on', sa.Date(), nullable=True),
    sa.Column('owner', sa.String(length=300), nullable=False),
    sa.Column('ethics', sa.Text(), nullable=False),
    sa.Column('data_sharing', sa.Text(), nullable=False),
    sa.Column('cost_per_participant', sa.Float(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'registered', 'recruiting', 'analysing', 'finished', 'stopped', name='trial_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('illustrative', sa.Boolean(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['intervention_id'], ['interventions.id'], name=op.f('fk_trials_intervention_id_interventions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_trials_mission_id_missions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trials')),
    sa.UniqueConstraint('slug', name=op.f('uq_trials_slug'))
    )
    with op.batch_alter_table('trials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trials_intervention_id'), ['intervention_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trials_mission_id'), ['mission_id'], unique=False)

    op.create_table('trial_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('seed_source', sa.Enum('app', 'organiser', name='trial_seed_source', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('seed_description', sa.Text(), nullable=False),
    sa.Column('commitment_sha256', sa.String(length=64), nullable=False),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('units_sha256', sa.String(length=64), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('held_seed', sa.String(length=40), nullable=True),
    sa.Column('seed', sa.String(length=40), nullable=True),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('method', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=True),
    sa.Column('max_abs_smd', sa.Float(), nullable=True),
    sa.Column('balance', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_allocations_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_allocations')),
    sa.UniqueConstraint('trial_id', name=op.f('uq_trial_allocations_trial_id'))
    )
    op.create_table('trial_analysis_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_trial_analysis_plans_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_analysis_plans_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_analysis_plans')),
    sa.UniqueConstraint('trial_id', 'version', name=op.f('uq_trial_analysis_plans_trial_id_version'))
    )
    with op.batch_alter_table('trial_analysis_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_analysis_plans_trial_id'), ['trial_id'], unique=False)

    op.create_table('trial_arms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('ratio', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_arms_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_arms')),
    sa.UniqueConstraint('trial_id', 'key', name=op.f('uq_trial_arms_trial_id_key'))
    )
    with op.batch_alter_table('trial_arms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_arms_trial_id'), ['trial_id'], unique=False)

    op.create_table('trial_exposures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.String(length=100), nullable=False),
    sa.Column('arm', sa.String(length=60), nullable=False),
    sa.Column('exposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_exposures_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_exposures')),
    sa.UniqueConstraint('trial_id', 'unit_id', name=op.f('uq_trial_exposures_trial_id_unit_id'))
    )
    with op.batch_alter_table('trial_exposures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_exposures_trial_id'), ['trial_id'], unique=False)

    op.create_table('trial_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('role', sa.Enum('primary', 'secondary', name='trial_outcome_role', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_outcomes_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_outcomes')),
    sa.UniqueConstraint('trial_id', 'key', name=op.f('uq_trial_outcomes_trial_id_key'))
    )
    with op.batch_alter_table('trial_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_outcomes_trial_id'), ['trial_id'], unique=False)

    op.create_table('trial_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.String(length=100), nullable=False),
    sa.Column('cluster', sa.String(length=100), nullable=False),
    sa.Column('strata', sa.JSON(), nullable=False),
    sa.Column('covariates', sa.JSON(), nullable=False),
    sa.Column('arm', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_units_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_units')),
    sa.UniqueConstraint('trial_id', 'unit_id', name=op.f('uq_trial_units_trial_id_unit_id'))
    )
    with op.batch_alter_table('trial_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_units_trial_id'), ['trial_id'], unique=False)

    op.create_table('trial_outcome_loads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('plan_sha256', sa.String(length=64), nullable=False),
    sa.Column('outcomes', sa.JSON(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['trial_analysis_plans.id'], name=op.f('fk_trial_outcome_loads_plan_id_trial_analysis_plans')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_outcome_loads_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_outcome_loads')),
    sa.UniqueConstraint('trial_id', 'number', name=op.f('uq_trial_outcome_loads_trial_id_number'))
    )
    with op.batch_alter_table('trial_outcome_loads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_outcome_loads_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trial_outcome_loads_trial_id'), ['trial_id'], unique=False)

    op.create_table('trial_outcome_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['trial_outcome_loads.id'], name=op.f('fk_trial_outcome_values_load_id_trial_outcome_loads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trial_outcome_values_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_outcome_values')),
    sa.UniqueConstraint('trial_id', 'unit_id', 'outcome', name=op.f('uq_trial_outcome_values_trial_id_unit_id_outcome'))
    )
    with op.batch_alter_table('trial_outcome_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_outcome_values_load_id'), ['load_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trial_outcome_values_trial_id'), ['trial_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trial_outcome_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_outcome_values_trial_id'))
        batch_op.drop_index(batch_op.f('ix_trial_outcome_values_load_id'))

    op.drop_table('trial_outcome_values')
    with op.batch_alter_table('trial_outcome_loads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_outcome_loads_trial_id'))
        batch_op.drop_index(batch_op.f('ix_trial_outcome_loads_plan_id'))

    op.drop_table('trial_outcome_loads')
    with op.batch_alter_table('trial_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_units_trial_id'))

    op.drop_table('trial_units')
    with op.batch_alter_table('trial_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_outcomes_trial_id'))

    op.drop_table('trial_outcomes')
    with op.batch_alter_table('trial_exposures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_exposures_trial_id'))

    op.drop_table('trial_exposures')
    with op.batch_alter_table('trial_arms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_arms_trial_id'))

    op.drop_table('trial_arms')
    with op.batch_alter_table('trial_analysis_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_analysis_plans_trial_id'))

    op.drop_table('trial_analysis_plans')
    op.drop_table('trial_allocations')
    with op.batch_alter_table('trials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trials_mission_id'))
        batch_op.drop_index(batch_op.f('ix_trials_intervention_id'))

    op.drop_table('trials')
