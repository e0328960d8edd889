"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from attendance.db import get_engine
from attendance.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
REAL_SAMPLES = SAMPLES / "real"  # anonymised exports of real terminals (sample_logs/README.md)
POSTGRES_URL = os.environ.get("ATTENDANCE_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI") == "true"


def _backends() -> list[object]:
    backends: list[object] = ["sqlite"]
    if POSTGRES_URL or IN_CI:
        backends.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    else:
        backends.append(pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.skip(
            reason="ATTENDANCE_TEST_POSTGRES_URL not set (make test starts a server and sets it)")]))
    return backends


def _reset_postgres(url: str) -> None:
    get_engine(url).dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A freshly migrated, empty database; ATTENDANCE_DATABASE_URL points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        if not POSTGRES_URL:
            pytest.fail("CI must provide ATTENDANCE_TEST_POSTGRES_URL (make test starts PostgreSQL)")
        url = POSTGRES_URL
        _reset_postgres(url)
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", url)
    upgrade(url)
    yield url
    get_engine(url).dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database only (for tests about SQLite specifics)."""
    url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", url)
    upgrade(url)
    return url


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """English text for people, for tests of what a message says (the code's own wording)."""
    monkeypatch.setenv("ATTENDANCE_LANG", "en")  # subprocesses and CLI runs inherit it


@pytest.fixture(autouse=True)
def _default_language(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts in the default language (a CLI run with --lang en must not leak)."""
    from attendance.i18n import set_language

    monkeypatch.delenv("ATTENDANCE_LANG", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    set_language(None)
    yield
    set_language(None)
