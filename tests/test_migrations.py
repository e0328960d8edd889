"""The Alembic migrations build exactly the schema the models describe, and upgrade data in place."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from attendance.db import get_engine
from attendance.migrate import alembic_config, upgrade
from attendance.models import Base


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []


def test_init_is_idempotent_and_upgrades_keep_data(db_url: str) -> None:
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0001")
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO device (code, kind, name, settings) VALUES ('TK-01', 'file', '', '{}')"))
    upgrade(db_url)
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT code, push_stamp FROM device")).all() == [("TK-01", None)]
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
