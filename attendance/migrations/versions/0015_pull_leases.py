"""pull leases: which scheduler pulls a terminal now, and when the terminal is next due

Revision ID: 0015
Revises: 0011

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# Lease times come from the database clock: timestamptz on PostgreSQL, UTC text on SQLite.
MOMENT = sa.DateTime(timezone=True).with_variant(sqlite.DATETIME(), 'sqlite')


def upgrade() -> None:
    op.create_table('pull_lease',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('acquired_at', MOMENT, nullable=True),
    sa.Column('expires_at', MOMENT, nullable=True),
    sa.Column('next_due_at', MOMENT, nullable=False),
    sa.Column('last_holder', sa.String(length=120), nullable=True),
    sa.Column('last_released_at', MOMENT, nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_pull_lease_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_pull_lease'))
    )
    op.create_index(op.f('ix_pull_lease_next_due_at'), 'pull_lease', ['next_due_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pull_lease_next_due_at'), table_name='pull_lease')
    op.drop_table('pull_lease')
