"""volunteering: opportunities, sign-ups with consent, hours logged and confirmed, messages

Also the postcode centroids that place opportunities and searches, and the sign-up attempts
kept for rate limiting.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('postcode_centroids',
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('outward', sa.String(length=4), nullable=False),
    sa.Column('is_unit', sa.Boolean(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('area_code', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('postcode', name=op.f('pk_postcode_centroids'))
    )
    with op.batch_alter_table('postcode_centroids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postcode_centroids_outward'), ['outward'], unique=False)

    op.create_table('volunteer_signup_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_signup_attempts'))
    )
    with op.batch_alter_table('volunteer_signup_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_signup_attempts_at'), ['at'], unique=False)
        batch_op.create_index('ix_volunteer_signup_attempts_email_hash_at', ['email_hash', 'at'], unique=False)
        batch_op.create_index('ix_volunteer_signup_attempts_ip_hash_at', ['ip_hash', 'at'], unique=False)

    op.create_table('volunteer_opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('public_body', sa.String(length=300), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('mode', sa.Enum('in_person', 'online', 'hybrid', name='volunteer_mode', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('area_code', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('time_kind', sa.Enum('one_off', 'regular', name='volunteer_time_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('hours', sa.Float(), nullable=True),
    sa.Column('time_note', sa.String(length=300), nullable=False),
    sa.Column('accessibility', sa.Text(), nullable=False),
    sa.Column('dbs_check', sa.Enum('none', 'basic', 'standard', 'enhanced', name='volunteer_dbs_check', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('minimum_age', sa.Integer(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('waitlist', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'pending', 'published', 'closed', name='volunteer_opportunity_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('moderation_note', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retention_months', sa.Integer(), nullable=False),
    sa.Column('retain_until', sa.Date(), nullable=True),
    sa.Column('personal_data_deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_up', sa.Integer(), nullable=False),
    sa.Column('waitlisted', sa.Integer(), nullable=False),
    sa.Column('hours_confirmed', sa.Float(), nullable=False),
    sa.Column('illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_volunteer_opportunities_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_volunteer_opportunities_mission_id_missions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_volunteer_opportunities_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_opportunities')),
    sa.UniqueConstraint('slug', name=op.f('uq_volunteer_opportunities_slug'))
    )
    with op.batch_alter_table('volunteer_opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_opportunities_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_opportunities_mission_id'), ['mission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_opportunities_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_opportunities_retain_until'), ['retain_until'], unique=False)
        batch_op.create_index('ix_volunteer_opportunities_status_latitude_longitude', ['status', 'latitude', 'longitude'], unique=False)
        batch_op.create_index('ix_volunteer_opportunities_status_mode', ['status', 'mode'], unique=False)
        batch_op.create_index('ix_volunteer_opportunities_status_published_at', ['status', 'published_at'], unique=False)

    op.create_table('volunteer_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.Enum('signed_up', 'waitlisted', 'everyone', name='volunteer_audience', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_volunteer_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['volunteer_opportunities.id'], name=op.f('fk_volunteer_messages_opportunity_id_volunteer_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_messages'))
    )
    with op.batch_alter_table('volunteer_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_messages_opportunity_id'), ['opportunity_id'], unique=False)

    op.create_table('volunteer_opportunity_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['volunteer_opportunities.id'], name=op.f('fk_volunteer_opportunity_tags_opportunity_id_volunteer_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_opportunity_tags')),
    sa.UniqueConstraint('opportunity_id', 'tag', name=op.f('uq_volunteer_opportunity_tags_opportunity_id_tag'))
    )
    with op.batch_alter_table('volunteer_opportunity_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_opportunity_tags_tag'), ['tag'], unique=False)

    op.create_table('volunteer_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('signed_up', 'waitlisted', name='volunteer_signup_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('dbs_acknowledged', sa.Boolean(), nullable=False),
    sa.Column('age_confirmed', sa.Boolean(), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['opportunity_id'], ['volunteer_opportunities.id'], name=op.f('fk_volunteer_signups_opportunity_id_volunteer_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_signups')),
    sa.UniqueConstraint('opportunity_id', 'email', name=op.f('uq_volunteer_signups_opportunity_id_email')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_volunteer_signups_token_sha256'))
    )
    with op.batch_alter_table('volunteer_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_signups_email'), ['email'], unique=False)
        batch_op.create_index('ix_volunteer_signups_opportunity_id_status_created_at', ['opportunity_id', 'status', 'created_at'], unique=False)

    op.create_table('volunteer_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signup_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('worked_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('logged', 'confirmed', 'rejected', name='volunteer_hours_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_volunteer_hours_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['volunteer_opportunities.id'], name=op.f('fk_volunteer_hours_opportunity_id_volunteer_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signup_id'], ['volunteer_signups.id'], name=op.f('fk_volunteer_hours_signup_id_volunteer_signups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_hours'))
    )
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_hours_opportunity_id_status', ['opportunity_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_hours_signup_id'), ['signup_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_hours_signup_id'))
        batch_op.drop_index('ix_volunteer_hours_opportunity_id_status')

    op.drop_table('volunteer_hours')
    with op.batch_alter_table('volunteer_signups', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_signups_opportunity_id_status_created_at')
        batch_op.drop_index(batch_op.f('ix_volunteer_signups_email'))

    op.drop_table('volunteer_signups')
    with op.batch_alter_table('volunteer_opportunity_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_opportunity_tags_tag'))

    op.drop_table('volunteer_opportunity_tags')
    with op.batch_alter_table('volunteer_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_messages_opportunity_id'))

    op.drop_table('volunteer_messages')
    with op.batch_alter_table('volunteer_opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_opportunities_status_published_at')
        batch_op.drop_index('ix_volunteer_opportunities_status_mode')
        batch_op.drop_index('ix_volunteer_opportunities_status_latitude_longitude')
        batch_op.drop_index(batch_op.f('ix_volunteer_opportunities_retain_until'))
        batch_op.drop_index(batch_op.f('ix_volunteer_opportunities_partner_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_opportunities_mission_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_opportunities_area_code'))

    op.drop_table('volunteer_opportunities')
    with op.batch_alter_table('volunteer_signup_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_signup_attempts_ip_hash_at')
        batch_op.drop_index('ix_volunteer_signup_attempts_email_hash_at')
        batch_op.drop_index(batch_op.f('ix_volunteer_signup_attempts_at'))

    op.drop_table('volunteer_signup_attempts')
    with op.batch_alter_table('postcode_centroids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postcode_centroids_outward'))

    op.drop_table('postcode_centroids')
