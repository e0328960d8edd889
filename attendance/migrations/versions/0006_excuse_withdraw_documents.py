"""excuses can be withdrawn (who, when, why) and carry a scanned document

Revision ID: 0006
Revises: 0005

Adds ``excuse_document`` (PDF/JPEG/PNG bytes kept once per sha256) and, on ``excuse``,
the document reference and the withdrawal columns. The uniqueness of (staff, kind,
start, end) now holds for live excuses only, so that a withdrawn excuse keeps its row and
the same leave can be entered again.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LIVE = sa.text("withdrawn_at IS NULL")


def upgrade() -> None:
    op.create_table('excuse_document',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_excuse_document'))
    )
    with op.batch_alter_table('excuse', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('document_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime().with_variant(sqlite.DATETIME(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('withdraw_reason', sa.Text(), nullable=True))
        batch_op.drop_constraint('uq_excuse_staff_id', type_='unique')
        batch_op.create_foreign_key(batch_op.f('fk_excuse_document_sha256_excuse_document'), 'excuse_document',
                                    ['document_sha256'], ['sha256'])
        batch_op.create_index(batch_op.f('ix_excuse_document_sha256'), ['document_sha256'], unique=False)
    op.create_index('uq_excuse_live', 'excuse', ['staff_id', 'kind', 'start', 'end'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    # Withdrawn rows would break the old all-rows uniqueness and mean nothing to older code.
    op.execute("DELETE FROM excuse WHERE withdrawn_at IS NOT NULL")
    op.drop_index('uq_excuse_live', table_name='excuse')
    with op.batch_alter_table('excuse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_excuse_document_sha256'))
        batch_op.drop_constraint(batch_op.f('fk_excuse_document_sha256_excuse_document'), type_='foreignkey')
        batch_op.create_unique_constraint(batch_op.f('uq_excuse_staff_id'), ['staff_id', 'kind', 'start', 'end'])
        batch_op.drop_column('withdraw_reason')
        batch_op.drop_column('withdrawn_by')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('document_name')
        batch_op.drop_column('document_sha256')
    op.drop_table('excuse_document')
