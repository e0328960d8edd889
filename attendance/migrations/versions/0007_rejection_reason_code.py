"""rejected rows keep their reason as a code and values, to be worded in the reader's language

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows stored before this revision keep only their English reason.
    with op.batch_alter_table('rejected_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('reason_params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rejected_row', schema=None) as batch_op:
        batch_op.drop_column('reason_params')
        batch_op.drop_column('reason_code')
