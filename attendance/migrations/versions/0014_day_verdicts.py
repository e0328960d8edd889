"""day verdicts stored per person and day, and the queue of those an input change made stale

Revision ID: 0014
Revises: 0011

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(sqlite.DATETIME(
    storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d",
    regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)"), 'sqlite')


def upgrade() -> None:
    op.create_table('day_verdict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('day_source', sa.String(length=20), nullable=False),
    sa.Column('day_reference', sa.String(length=200), nullable=False),
    sa.Column('has_punch', sa.Boolean(), nullable=False),
    sa.Column('first_punch_minute', sa.Integer(), nullable=True),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('excused_sessions', sa.Integer(), nullable=False),
    sa.Column('late_count', sa.Integer(), nullable=False),
    sa.Column('late_minutes', sa.Integer(), nullable=False),
    sa.Column('early_count', sa.Integer(), nullable=False),
    sa.Column('early_minutes', sa.Integer(), nullable=False),
    sa.Column('missing_punch_count', sa.Integer(), nullable=False),
    sa.Column('absent_sessions', sa.Integer(), nullable=False),
    sa.Column('absent_day', sa.Boolean(), nullable=False),
    sa.Column('offday_punch', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('computed_at', MOMENT, nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_day_verdict_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_day_verdict')),
    sa.UniqueConstraint('staff_id', 'day', name='uq_day_verdict_staff_day'),
    )
    op.create_index('ix_day_verdict_day', 'day_verdict', ['day'])
    op.create_table('verdict_dirty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('marks', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_verdict_dirty_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verdict_dirty')),
    sa.UniqueConstraint('staff_id', 'day', name='uq_verdict_dirty_staff_day'),
    )
    op.create_index('ix_verdict_dirty_day', 'verdict_dirty', ['day'])


def downgrade() -> None:
    op.drop_index('ix_verdict_dirty_day', table_name='verdict_dirty')
    op.drop_table('verdict_dirty')
    op.drop_index('ix_day_verdict_day', table_name='day_verdict')
    op.drop_table('day_verdict')
