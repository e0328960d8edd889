"""raw content kept once per sha256, referenced by the batches that read it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00

Moves every ``batch_content`` row into ``raw_content`` (and drops ``batch_content``) (keyed by the sha256 of the
uncompressed bytes; the compressed blob is kept as it is), points its batch at it and
fills the batch's sha256/size where they were never set (pulls and serial runs).
"""

import hashlib
import zlib

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Inflate in bounded steps: a small blob may expand a thousandfold.
_STEP = 1 << 22


def _digest(packed: bytes) -> tuple[str, int]:
    """sha256 and size of zlib-compressed bytes, without holding them uncompressed."""
    inflater = zlib.decompressobj()
    digest = hashlib.sha256()
    size = 0
    pending = packed
    while pending:
        out = inflater.decompress(pending, _STEP)
        digest.update(out)
        size += len(out)
        pending = inflater.unconsumed_tail
        if not out and not pending:
            break
    tail = inflater.flush()
    digest.update(tail)
    return digest.hexdigest(), size + len(tail)


def upgrade() -> None:
    op.create_table('raw_content',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_raw_content'))
    )
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN: batch mode would copy import_batch and drop the original, and
        # with foreign keys on that drop fails on the punches (or cascades away the rejects).
        op.execute("ALTER TABLE import_batch ADD COLUMN content_sha256 VARCHAR(64) "
                   "CONSTRAINT fk_import_batch_content_sha256_raw_content REFERENCES raw_content (sha256)")
    else:
        op.add_column('import_batch', sa.Column('content_sha256', sa.String(length=64), nullable=True))
        op.create_foreign_key(op.f('fk_import_batch_content_sha256_raw_content'), 'import_batch', 'raw_content',
                              ['content_sha256'], ['sha256'])
    op.create_index(op.f('ix_import_batch_content_sha256'), 'import_batch', ['content_sha256'], unique=False)

    conn = op.get_bind()
    batch_ids = conn.execute(sa.text("SELECT batch_id FROM batch_content ORDER BY batch_id")).scalars().all()
    seen: set[str] = set(conn.execute(sa.text("SELECT sha256 FROM raw_content")).scalars())
    for batch_id in batch_ids:
        # One row at a time: blobs can be tens of megabytes each.
        packed = conn.execute(sa.text("SELECT data FROM batch_content WHERE batch_id = :b"), {"b": batch_id}).scalar_one()
        sha, size = _digest(bytes(packed))
        if sha not in seen:
            conn.execute(sa.text("INSERT INTO raw_content (sha256, size, data) VALUES (:s, :n, :d)"),
                         {"s": sha, "n": size, "d": packed})
            seen.add(sha)
        conn.execute(sa.text(
            "UPDATE import_batch SET content_sha256 = :s, sha256 = :s, size = :n WHERE id = :b"
        ), {"s": sha, "n": size, "b": batch_id})
    # Every way punches arrive now keeps its content in raw_content: the old table goes.
    op.drop_table('batch_content')


def downgrade() -> None:
    conn = op.get_bind()
    op.create_table('batch_content',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_batch_content_batch_id_import_batch'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_batch_content'))
    )
    # Note which batch read what first: on SQLite dropping the column copies import_batch,
    # and dropping the old copy cascades to batch_content.
    links = conn.execute(sa.text(
        "SELECT id, content_sha256 FROM import_batch WHERE content_sha256 IS NOT NULL ORDER BY id")).all()
    op.drop_index(op.f('ix_import_batch_content_sha256'), table_name='import_batch')
    if conn.dialect.name == "sqlite":
        # SQLite cannot drop a column that is part of a foreign key: batch mode copies the
        # table without it (as 0002's downgrade does for device); the inline key has no
        # reflected name, so it goes with its column.
        with op.batch_alter_table('import_batch', schema=None) as batch_op:
            batch_op.drop_column('content_sha256')
    else:
        op.drop_constraint(op.f('fk_import_batch_content_sha256_raw_content'), 'import_batch', type_='foreignkey')
        op.drop_column('import_batch', 'content_sha256')
    for batch_id, sha in links:
        conn.execute(sa.text(
            "INSERT INTO batch_content (batch_id, data) SELECT :b, data FROM raw_content WHERE sha256 = :s"
        ), {"b": batch_id, "s": sha})
    op.drop_table('raw_content')
