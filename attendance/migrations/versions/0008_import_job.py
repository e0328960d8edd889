"""import jobs: files uploaded through the pages, their progress and outcome

Revision ID: 0008
Revises: 0007

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(sqlite.DATETIME(), 'sqlite')


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=40), nullable=False),
    sa.Column('profile', sa.String(length=60), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('done', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', MOMENT, nullable=False),
    sa.Column('started_at', MOMENT, nullable=True),
    sa.Column('finished_at', MOMENT, nullable=True),
    sa.Column('heartbeat_at', MOMENT, nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_import_job_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_import_job_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_job_device_id'), ['device_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_device_id'))
    op.drop_table('import_job')
