"""Monthly partitions of the punch ledger on PostgreSQL (SQLite keeps one plain table).

On PostgreSQL the ``punch`` table is partitioned by range of ``device_time`` (the column of
the natural key and of every period query), one partition per calendar month named
``punch_YYYY_MM``, plus ``punch_default`` for any month without its own partition: a punch
is never refused for its date. ``ensure_partitions`` creates the months ahead and moves the
rows of any month that landed in the default partition into a partition of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from .errors import InvalidInput
from .i18n import _

TABLE = "punch"
DEFAULT_PARTITION = "punch_default"
DEFAULT_AHEAD = 3  # months created ahead by `attendance init` and `attendance partitions`
MAX_AHEAD = 120
# Made by migration 0013 on the partitioned ledger only (not in the models, which SQLite shares).
POSTGRES_ONLY_INDEXES = frozenset({"ix_punch_corrected_time"})
# Any lock number shared by every run: two runs (cron and an `init`) must not both create a month.
LOCK_KEY = 0x70756E6368  # "punch"
_NAME = re.compile(rf"^{TABLE}_(\d{{4}})_(\d{{2}})$")


@dataclass
class PartitionReport:
    """What ``ensure_partitions`` found and did."""

    partitioned: bool  # False on SQLite (or a PostgreSQL ledger not yet migrated to partitions)
    created: list[str] = field(default_factory=list)  # months "YYYY-MM" given a partition now
    moved: int = 0  # rows moved out of the default partition into their month
    default_rows: int = 0  # rows still in the default partition afterwards (0 unless another writer raced)
    months: list[str] = field(default_factory=list)  # every month that has a partition

    def as_dict(self) -> dict[str, object]:
        """Plain data for --json."""
        return asdict(self)


def partition_name(month: dt.date) -> str:
    """The name of the partition that holds ``month``'s punches."""
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def is_partition_name(name: str) -> bool:
    """Whether a table name is one of the ledger's partitions (they are not in the models)."""
    return name == DEFAULT_PARTITION or _NAME.match(name) is not None


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's filter for comparing the schema with the models: what only PostgreSQL has is left out."""
    if type_ == "table":
        return name is None or not is_partition_name(name)
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES)


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month ``count`` months after ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def is_partitioned(session: Session) -> bool:
    """Whether the ledger is a partitioned table (PostgreSQL after migration 0013)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = session.scalar(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE})
    return kind == "p"


def partition_months(session: Session) -> list[dt.date]:
    """The months that have a partition of their own, in order."""
    names = session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": TABLE})
    months = [dt.date(int(m.group(1)), int(m.group(2)), 1) for n in names if (m := _NAME.match(n))]
    return sorted(months)


def _create_month(session: Session, month: dt.date) -> int:
    """Create ``month``'s partition, moving its rows out of the default partition; rows moved."""
    low, high = month, add_months(month, 1)
    bounds = {"low": dt.datetime.combine(low, dt.time()), "high": dt.datetime.combine(high, dt.time())}
    # PostgreSQL refuses a new partition while the default one holds rows of its range, so
    # they wait in a temporary table (same transaction: nothing is lost if a step fails).
    session.execute(text(f"CREATE TEMP TABLE punch_moving (LIKE {TABLE}) ON COMMIT DROP"))
    moved = session.execute(text(
        f"WITH gone AS (DELETE FROM {DEFAULT_PARTITION} WHERE device_time >= :low AND device_time < :high "
        "RETURNING *) INSERT INTO punch_moving SELECT * FROM gone"), bounds).rowcount
    session.execute(text(
        f"CREATE TABLE {partition_name(month)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{bounds['low']:%Y-%m-%d %H:%M:%S}') TO ('{bounds['high']:%Y-%m-%d %H:%M:%S}')"))
    if moved:
        session.execute(text(f"INSERT INTO {TABLE} SELECT * FROM punch_moving"))
    session.execute(text("DROP TABLE punch_moving"))
    return moved


def ensure_partitions(session: Session, first_month: dt.date | None = None, months_ahead: int = DEFAULT_AHEAD,
                      today: dt.date | None = None) -> PartitionReport:
    """Give every month from ``first_month`` (default: this month) to ``months_ahead`` after this
    one a partition, and every month that has rows in the default partition too (idempotent).

    No-op on SQLite. The caller commits (one transaction: all of it or nothing).
    """
    if not 0 <= months_ahead <= MAX_AHEAD:
        raise InvalidInput(_("--ahead: expected 0 to {most} months, got {value}", most=MAX_AHEAD, value=months_ahead))
    if not is_partitioned(session):
        return PartitionReport(partitioned=False)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    current = month_start(today or dt.date.today())
    start = month_start(first_month) if first_month is not None else current
    wanted = set()
    month = start
    while month <= add_months(current, months_ahead):
        wanted.add(month)
        month = add_months(month, 1)
    # Months whose rows are waiting in the default partition get theirs, whatever the window:
    # the default partition should stay small (every month query scans it).
    wanted.update(session.scalars(text(
        f"SELECT DISTINCT date_trunc('month', device_time)::date FROM {DEFAULT_PARTITION}")))
    have = set(partition_months(session))
    report = PartitionReport(partitioned=True)
    for month in sorted(wanted - have):
        report.moved += _create_month(session, month)
        report.created.append(f"{month:%Y-%m}")
    report.default_rows = session.scalar(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")) or 0
    report.months = [f"{m:%Y-%m}" for m in partition_months(session)]
    return report
