"""staff photos: one re-encoded JPEG per person, for the inspectors' headcount

Revision ID: 0011
Revises: 0010

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(sqlite.DATETIME(), 'sqlite')


def upgrade() -> None:
    op.create_table('staff_photo',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('updated_at', MOMENT, nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_photo_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_photo'))
    )


def downgrade() -> None:
    op.drop_table('staff_photo')
