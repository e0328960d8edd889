"""The audit log is append-only in the database itself: UPDATE and DELETE are refused by triggers."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from attendance import models as m
from attendance.audit import record_change
from attendance.db import get_engine, transaction
from attendance.migrate import alembic_config, upgrade


def _one_row(db_url: str) -> int:
    with transaction(db_url) as session:
        record_change(session, "test", "create", "staff", "NV1", {"name": [None, "Lê Thị Hằng"]}, origin="10.0.0.9")
    with transaction(db_url) as session:
        return session.scalar(select(m.AuditLog.id).where(m.AuditLog.entity_key == "NV1"))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone else' WHERE id = :id",
    "UPDATE audit_log SET changes = '{}'",
    "DELETE FROM audit_log WHERE id = :id",
    "DELETE FROM audit_log",
])
def test_rows_cannot_be_changed_or_deleted(db_url: str, statement: str) -> None:
    row = _one_row(db_url)
    with pytest.raises(DBAPIError, match="append-only"), get_engine(db_url).begin() as conn:
        conn.execute(text(statement), {"id": row})
    with transaction(db_url) as session:
        kept = session.scalars(select(m.AuditLog)).one()
        assert (kept.actor, kept.entity_key, kept.changes, kept.origin) == (
            "test", "NV1", {"name": [None, "Lê Thị Hằng"]}, "10.0.0.9")


def test_the_orm_cannot_change_a_row_either(db_url: str) -> None:
    _one_row(db_url)
    with pytest.raises(DBAPIError, match="append-only"), transaction(db_url) as session:
        session.scalars(select(m.AuditLog)).one().actor = "forged"
    with pytest.raises(DBAPIError, match="append-only"), transaction(db_url) as session:
        session.delete(session.scalars(select(m.AuditLog)).one())
    with transaction(db_url) as session:
        assert session.scalar(select(m.AuditLog.actor)) == "test"


def test_postgresql_refuses_truncate(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("TRUNCATE is PostgreSQL's")
    _one_row(db_url)
    with pytest.raises(DBAPIError, match="append-only"), get_engine(db_url).begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_appending_still_works_and_the_downgrade_lifts_the_triggers(db_url: str) -> None:
    _one_row(db_url)
    _one_row(db_url)
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0008")
    with get_engine(db_url).begin() as conn:
        assert conn.execute(text("DELETE FROM audit_log")).rowcount == 2
    upgrade(db_url)
    with pytest.raises(DBAPIError, match="append-only"), get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, actor, action, entity, entity_key, changes) "
                          "VALUES ('2026-11-30 08:00:00', 'a', 'create', 'x', 'k', '{}')"))
        conn.execute(text("UPDATE audit_log SET actor = 'b'"))
    with transaction(db_url) as session:
        assert session.scalar(select(func.count()).select_from(m.AuditLog)) == 0
