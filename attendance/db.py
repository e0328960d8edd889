"""Engine and session handling (plain SQLAlchemy, usable without Flask)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

DATABASE_ENV = "ATTENDANCE_DATABASE_URL"
#: Milliseconds a SQLite connection waits for another writer unless a session asks otherwise.
SQLITE_BUSY_TIMEOUT_MS = 30000
#: PostgreSQL SQLSTATEs that mean "not now, try again": lock not available, serialization
#: failure, deadlock detected.
RETRYABLE_SQLSTATES = frozenset({"55P03", "40001", "40P01"})


def default_instance_path() -> Path:
    """The instance folder: ATTENDANCE_INSTANCE, else ./instance like Flask's default in development."""
    return Path(os.environ.get("ATTENDANCE_INSTANCE", Path.cwd() / "instance")).resolve()


def database_url(url: str | None = None) -> str:
    """The database URL: explicit, else ATTENDANCE_DATABASE_URL, else SQLite in the instance folder."""
    if url:
        return url
    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV]
    folder = default_instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'attendance.sqlite3'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while an import writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # A 64 MiB page cache keeps the ledger indexes hot during bulk imports (default is 2 MiB).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    """One pooled engine per database URL (resolved before caching)."""
    return _engine(database_url(url))


@lru_cache(maxsize=8)
def _engine(resolved: str) -> Engine:
    if resolved.startswith("postgresql://"):
        resolved = "postgresql+psycopg://" + resolved[len("postgresql://") :]
    engine = create_engine(resolved, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(url: str | None = None, lock_timeout: float | None = None) -> sessionmaker[Session]:
    """A sessionmaker bound to the engine of ``url``.

    With ``lock_timeout`` (seconds) each transaction of its sessions waits at most that long
    for a lock held by another writer, then fails with an error ``is_busy_error`` recognises.
    """
    info = {} if lock_timeout is None else {"lock_timeout_ms": max(1, int(lock_timeout * 1000))}
    return sessionmaker(bind=get_engine(url), expire_on_commit=False, info=info)


@event.listens_for(Session, "after_begin")
def _lock_timeout(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    limit = session.info.get("lock_timeout_ms")
    dialect = connection.dialect.name
    if dialect == "sqlite":
        # The busy timeout belongs to the pooled connection, not the transaction: set it each
        # time so a connection a short-timeout session used does not keep its timeout.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={limit or SQLITE_BUSY_TIMEOUT_MS}")
    elif limit and dialect == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(limit)}")


@contextmanager
def deferred_checkpoint(session: Session) -> Iterator[None]:
    """On SQLite, no WAL checkpoint while the block commits its parts; the next commit after it does one.

    A bulk import commits every part; each commit would otherwise copy the grown WAL into the
    database file and sync it, writing index pages again and again (about a third of a
    1M-line import on a busy disk). Readers see every committed part either way; a crash
    loses nothing that was committed to the WAL, and an interrupted import is completed
    by importing the file again. PostgreSQL: nothing changes.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    # The setting belongs to the pooled DBAPI connection, which outlives the session's
    # transactions: keep hold of it to put the setting back for whoever uses it next.
    raw = connection.connection.driver_connection
    before = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    raw.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        try:
            raw.execute(f"PRAGMA wal_autocheckpoint={int(before)}")
        except sqlite3.Error:
            pass  # a closed or broken connection is discarded by the pool anyway


def is_busy_error(exc: BaseException) -> bool:
    """Whether a database error means another writer holds a lock now (retrying later works)."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    if getattr(original, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    # sqlite3: SQLITE_BUSY / SQLITE_LOCKED ("database is locked", "database table is locked").
    name = getattr(original, "sqlite_errorname", "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(original)


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """One transaction per use case: commit on success, roll back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
