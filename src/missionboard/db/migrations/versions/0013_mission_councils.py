"""mission councils: members, meetings and minutes, recommendations and the government's responses

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECTORS = ('business', 'trade_union', 'charity', 'community', 'academia', 'public_sector',
           'citizen', 'other')


def upgrade() -> None:
    op.create_table('councils',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('remit', sa.Text(), nullable=False),
    sa.Column('terms_of_reference', sa.Text(), nullable=False),
    sa.Column('max_sector_share', sa.Float(), nullable=False),
    sa.Column('required_sectors', sa.JSON(), nullable=False),
    sa.Column('response_weeks', sa.Integer(), nullable=False),
    sa.Column('illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_councils_mission_id_missions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_councils')),
    sa.UniqueConstraint('mission_id', name=op.f('uq_councils_mission_id')),
    sa.UniqueConstraint('slug', name=op.f('uq_councils_slug'))
    )

    op.create_table('council_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('sector', sa.Enum(*SECTORS, name='council_sector', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('role', sa.Enum('chair', 'member', name='council_member_role', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('interests', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_council_members_council_id_councils'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_members'))
    )
    with op.batch_alter_table('council_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_members_council_id'), ['council_id'], unique=False)

    op.create_table('council_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_council_staff_council_id_councils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_council_staff_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_staff')),
    sa.UniqueConstraint('council_id', 'user_id', name=op.f('uq_council_staff_council_id_user_id'))
    )
    with op.batch_alter_table('council_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_staff_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_council_staff_user_id'), ['user_id'], unique=False)

    op.create_table('council_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('agenda', sa.Text(), nullable=False),
    sa.Column('others_present', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('minutes_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_council_meetings_council_id_councils'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_meetings'))
    )
    with op.batch_alter_table('council_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_meetings_council_id'), ['council_id'], unique=False)

    op.create_table('council_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('present', 'apologies', name='council_attendance_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['council_meetings.id'], name=op.f('fk_council_attendance_meeting_id_council_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['council_members.id'], name=op.f('fk_council_attendance_member_id_council_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_attendance')),
    sa.UniqueConstraint('meeting_id', 'member_id', name=op.f('uq_council_attendance_meeting_id_member_id'))
    )
    with op.batch_alter_table('council_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_attendance_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_council_attendance_member_id'), ['member_id'], unique=False)

    op.create_table('council_recommendations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('made_on', sa.Date(), nullable=False),
    sa.Column('response_due', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_council_recommendations_council_id_councils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['council_meetings.id'], name=op.f('fk_council_recommendations_meeting_id_council_meetings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_recommendations')),
    sa.UniqueConstraint('council_id', 'number', name=op.f('uq_council_recommendations_council_id_number'))
    )
    with op.batch_alter_table('council_recommendations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_recommendations_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_council_recommendations_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('council_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('accepted', 'partly_accepted', 'rejected', name='council_response_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('responded_on', sa.Date(), nullable=False),
    sa.Column('implementation', sa.Enum('not_started', 'in_progress', 'implemented', name='council_implementation', native_enum=False, create_constraint=True, length=40), nullable=True),
    sa.Column('implementation_note', sa.Text(), nullable=False),
    sa.Column('implementation_updated_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recommendation_id'], ['council_recommendations.id'], name=op.f('fk_council_responses_recommendation_id_council_recommendations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_responses')),
    sa.UniqueConstraint('recommendation_id', name=op.f('uq_council_responses_recommendation_id'))
    )


def downgrade() -> None:
    op.drop_table('council_responses')
    with op.batch_alter_table('council_recommendations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_recommendations_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_council_recommendations_council_id'))

    op.drop_table('council_recommendations')
    with op.batch_alter_table('council_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_attendance_member_id'))
        batch_op.drop_index(batch_op.f('ix_council_attendance_meeting_id'))

    op.drop_table('council_attendance')
    with op.batch_alter_table('council_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_meetings_council_id'))

    op.drop_table('council_meetings')
    with op.batch_alter_table('council_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_council_staff_council_id'))

    op.drop_table('council_staff')
    with op.batch_alter_table('council_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_members_council_id'))

    op.drop_table('council_members')
    op.drop_table('councils')
