"""partners: organisations, their staff, public commitments to missions and progress reports
(and the mail outbox their verification links go through)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_sent_at_id', ['sent_at', 'id'], unique=False)

    op.create_table('partner_registration_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_registration_attempts'))
    )
    with op.batch_alter_table('partner_registration_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_partner_registration_attempts_email_hash_at', ['email_hash', 'at'], unique=False)
        batch_op.create_index('ix_partner_registration_attempts_ip_hash_at', ['ip_hash', 'at'], unique=False)

    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.Enum('business', 'trade_union', 'charity', 'social_enterprise', 'community_group', 'university', 'faith_group', 'public_body', name='partner_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('sector', sa.Enum('agriculture_food', 'arts_culture_sport', 'construction_housing', 'education', 'energy_utilities', 'finance', 'health_care', 'hospitality', 'digital', 'manufacturing', 'professional_services', 'public_services', 'retail', 'transport', 'community', 'other', name='partner_sector', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('size', sa.Enum('micro', 'small', 'medium', 'large', name='partner_size', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=False),
    sa.Column('web_domain', sa.String(length=253), nullable=False),
    sa.Column('company_number', sa.String(length=8), nullable=False),
    sa.Column('charity_number', sa.String(length=12), nullable=False),
    sa.Column('union_number', sa.String(length=20), nullable=False),
    sa.Column('moderation', sa.Enum('pending', 'approved', 'rejected', name='partner_moderation', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('moderation_note', sa.Text(), nullable=False),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderated_by_id', sa.Integer(), nullable=True),
    sa.Column('illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['moderated_by_id'], ['users.id'], name=op.f('fk_partners_moderated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('slug', name=op.f('uq_partners_slug'))
    )
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partners_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_partners_moderation'), ['moderation'], unique=False)
        batch_op.create_index(batch_op.f('ix_partners_sector'), ['sector'], unique=False)

    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('outcome_id', sa.Integer(), nullable=True),
    sa.Column('metric_id', sa.Integer(), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('action', 'target', 'money', 'time', 'in_kind', name='commitment_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=True),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('pledged_money', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=True),
    sa.Column('pledged_hours', sa.Float(), nullable=True),
    sa.Column('in_kind', sa.Text(), nullable=False),
    sa.Column('schedule', sa.Enum('monthly', 'quarterly', 'six_monthly', 'yearly', name='commitment_schedule', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('verification', sa.Enum('self_reported', 'evidenced', 'independently_verified', name='commitment_verification', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('moderation', sa.Enum('pending', 'approved', 'rejected', name='commitment_moderation', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('moderation_note', sa.Text(), nullable=False),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderated_by_id', sa.Integer(), nullable=True),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=False),
    sa.Column('intervention_id', sa.Integer(), nullable=True),
    sa.Column('assessment', sa.Enum('not_yet_due', 'on_track', 'behind', 'achieved', 'lapsed', 'withdrawn', name='commitment_assessment', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('report_due_on', sa.Date(), nullable=False),
    sa.Column('last_report_on', sa.Date(), nullable=True),
    sa.Column('latest_value', sa.Float(), nullable=True),
    sa.Column('delivered_money', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
    sa.Column('delivered_hours', sa.Float(), nullable=False),
    sa.Column('reports_count', sa.Integer(), nullable=False),
    sa.Column('illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_commitments_area_id_areas'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['intervention_id'], ['interventions.id'], name=op.f('fk_commitments_intervention_id_interventions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['metric_id'], ['metrics.id'], name=op.f('fk_commitments_metric_id_metrics'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_commitments_mission_id_missions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['moderated_by_id'], ['users.id'], name=op.f('fk_commitments_moderated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outcome_id'], ['outcomes.id'], name=op.f('fk_commitments_outcome_id_outcomes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_commitments_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments')),
    sa.UniqueConstraint('intervention_id', name=op.f('uq_commitments_intervention_id'))
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index('ix_commitments_area_id_listed_id', ['area_id', 'listed', 'id'], unique=False)
        batch_op.create_index('ix_commitments_assessment_listed_report_due_on_deadline', ['assessment', 'listed', 'report_due_on', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_deadline'), ['deadline'], unique=False)
        batch_op.create_index('ix_commitments_kind_listed_id', ['kind', 'listed', 'id'], unique=False)
        batch_op.create_index('ix_commitments_listed_id_mission_id', ['listed', 'id', 'mission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_metric_id'), ['metric_id'], unique=False)
        batch_op.create_index('ix_commitments_mission_id_listed_id', ['mission_id', 'listed', 'id'], unique=False)
        batch_op.create_index('ix_commitments_moderation_id', ['moderation', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_outcome_id'), ['outcome_id'], unique=False)
        batch_op.create_index('ix_commitments_partner_id_listed_id', ['partner_id', 'listed', 'id'], unique=False)
        batch_op.create_index('ix_commitments_report_due_on_listed_assessment', ['report_due_on', 'listed', 'assessment'], unique=False)
        batch_op.create_index('ix_commitments_verification_listed_id', ['verification', 'listed', 'id'], unique=False)

    op.create_table('partner_areas',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_partner_areas_area_id_areas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_areas_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('partner_id', 'area_id', name=op.f('pk_partner_areas'))
    )
    with op.batch_alter_table('partner_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_areas_area_id'), ['area_id'], unique=False)

    op.create_table('partner_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('job_title', sa.String(length=200), nullable=False),
    sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by', sa.Enum('email_domain', 'administrator', name='partner_member_verification', native_enum=False, create_constraint=True, length=40), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('token_sha256', sa.String(length=64), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_members_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_partner_members_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_partner_members_verified_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_members')),
    sa.UniqueConstraint('partner_id', 'user_id', name=op.f('uq_partner_members_partner_id_user_id')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_partner_members_token_sha256'))
    )
    with op.batch_alter_table('partner_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_members_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_members_user_id'), ['user_id'], unique=False)

    op.create_table('commitment_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('money_spent', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=True),
    sa.Column('hours_given', sa.Float(), nullable=True),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('evidence_url', sa.String(length=500), nullable=False),
    sa.Column('evidence_description', sa.Text(), nullable=False),
    sa.Column('verification', sa.Enum('self_reported', 'evidenced', 'independently_verified', name='commitment_report_verification', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_commitment_reports_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_reports_commitment_id_commitments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_reports'))
    )
    with op.batch_alter_table('commitment_reports', schema=None) as batch_op:
        batch_op.create_index('ix_commitment_reports_commitment_id_period_end', ['commitment_id', 'period_end'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('commitment_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_commitment_reports_commitment_id_period_end')

    op.drop_table('commitment_reports')
    with op.batch_alter_table('partner_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_partner_members_partner_id'))

    op.drop_table('partner_members')
    with op.batch_alter_table('partner_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_areas_area_id'))

    op.drop_table('partner_areas')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index('ix_commitments_verification_listed_id')
        batch_op.drop_index('ix_commitments_report_due_on_listed_assessment')
        batch_op.drop_index('ix_commitments_partner_id_listed_id')
        batch_op.drop_index(batch_op.f('ix_commitments_outcome_id'))
        batch_op.drop_index('ix_commitments_moderation_id')
        batch_op.drop_index('ix_commitments_mission_id_listed_id')
        batch_op.drop_index(batch_op.f('ix_commitments_metric_id'))
        batch_op.drop_index('ix_commitments_listed_id_mission_id')
        batch_op.drop_index('ix_commitments_kind_listed_id')
        batch_op.drop_index(batch_op.f('ix_commitments_deadline'))
        batch_op.drop_index('ix_commitments_assessment_listed_report_due_on_deadline')
        batch_op.drop_index('ix_commitments_area_id_listed_id')

    op.drop_table('commitments')
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partners_sector'))
        batch_op.drop_index(batch_op.f('ix_partners_moderation'))
        batch_op.drop_index(batch_op.f('ix_partners_kind'))

    op.drop_table('partners')
    with op.batch_alter_table('partner_registration_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_registration_attempts_ip_hash_at')
        batch_op.drop_index('ix_partner_registration_attempts_email_hash_at')

    op.drop_table('partner_registration_attempts')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_sent_at_id')

    op.drop_table('outbox_messages')
