"""Engine and session handling (plain SQLAlchemy, usable without Flask)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DATABASE_ENV = "ATTENDANCE_DATABASE_URL"


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
    cursor.execute("PRAGMA busy_timeout=30000")
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


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A sessionmaker bound to the engine of ``url``."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


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
