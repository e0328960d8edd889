"""the punch ledger partitioned by month on PostgreSQL

Revision ID: 0013
Revises: 0011

PostgreSQL only (SQLite keeps its plain table): ``punch`` becomes a table partitioned by
range of ``device_time``, one partition per month (``punch_YYYY_MM``) for every month that
has punches and the next three, plus ``punch_default`` for any other month. Existing rows are
moved, ids kept. A primary key of a partitioned table must hold the partition key, so it is
(id, device_time); ids still come from the one sequence. The natural key (device, user id,
device time) already holds it and stays the unique constraint that makes imports idempotent.
No table refers to punch ids with a foreign key. An index on corrected_time (PostgreSQL only)
serves the pages' latest-punch queries. ``attendance partitions`` adds months later.
"""

import datetime as dt

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

AHEAD = 3
# Frozen here rather than imported: a migration must keep doing what it did when it was written.
CONSTRAINTS = (
    "ADD CONSTRAINT {pk} PRIMARY KEY ({pk_columns})",
    "ADD CONSTRAINT {uq} UNIQUE (device_id, user_id, device_time)",
    "ADD CONSTRAINT fk_punch_device_id_device FOREIGN KEY (device_id) REFERENCES device (id)",
    "ADD CONSTRAINT fk_punch_batch_id_import_batch FOREIGN KEY (batch_id) REFERENCES import_batch (id)",
)


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _set_aside(old: str) -> None:
    """Rename ``punch`` and its index-backed constraints (index names are schema-wide)."""
    op.execute(f"ALTER TABLE punch RENAME CONSTRAINT pk_punch TO pk_{old}")
    op.execute(f"ALTER TABLE punch RENAME CONSTRAINT uq_punch_key TO uq_{old}")
    op.execute(f"ALTER TABLE punch RENAME TO {old}")


def _constrain(pk_columns: str) -> None:
    op.execute("ALTER TABLE punch " + ", ".join(
        c.format(pk="pk_punch", uq="uq_punch_key", pk_columns=pk_columns) for c in CONSTRAINTS))
    op.execute("ALTER SEQUENCE punch_id_seq OWNED BY punch.id")  # before the old table goes, with it


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_aside("punch_unpartitioned")
    op.execute("CREATE TABLE punch (LIKE punch_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (device_time)")
    op.execute("CREATE TABLE punch_default PARTITION OF punch DEFAULT")
    months = set(bind.exec_driver_sql(
        "SELECT DISTINCT date_trunc('month', device_time)::date FROM punch_unpartitioned").scalars())
    month = dt.date.today().replace(day=1)
    for _ in range(AHEAD + 1):
        months.add(month)
        month = _next(month)
    for month in sorted(months):
        op.execute(f"CREATE TABLE punch_{month.year:04d}_{month.month:02d} PARTITION OF punch "
                   f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next(month).isoformat()}')")
    # Rows first, keys after: building each partition's indexes once is faster than row by row.
    op.execute("INSERT INTO punch SELECT * FROM punch_unpartitioned")
    _constrain("id, device_time")
    # The pages' "latest punch" (which month to open, a unit's latest day) reads the newest
    # corrected time; without this each partition is read whole. SQLite's small ledgers skip it.
    op.execute("CREATE INDEX ix_punch_corrected_time ON punch (corrected_time)")
    op.execute("DROP TABLE punch_unpartitioned")
    op.execute("ANALYZE punch")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_aside("punch_partitioned")
    op.execute("CREATE TABLE punch (LIKE punch_partitioned INCLUDING DEFAULTS)")
    op.execute("INSERT INTO punch SELECT * FROM punch_partitioned")
    _constrain("id")
    op.execute("DROP TABLE punch_partitioned")  # and every partition with it
