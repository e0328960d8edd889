"""discipline decisions: the register behind the half-yearly publication list

Revision ID: 0012
Revises: 0011

Staff and units are referred to by code, like the spot-check tables. UNIQUE (number,
staff_code) makes a replayed entry of the same decision a no-op.
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discipline_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_code', sa.String(length=40), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('spot_check_uuid', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('annulled_at', sa.DateTime(), nullable=True),
    sa.Column('annulled_by', sa.String(length=100), nullable=True),
    sa.Column('annul_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discipline_decision')),
    sa.UniqueConstraint('number', 'staff_code', name='uq_discipline_decision_number_staff')
    )
    with op.batch_alter_table('discipline_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discipline_decision_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_discipline_decision_staff_code'), ['staff_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_discipline_decision_unit_code'), ['unit_code'], unique=False)


def downgrade() -> None:
    op.drop_table('discipline_decision')
