"""The Alembic migrations build exactly the schema the models describe, and upgrade data in place."""

from __future__ import annotations

import hashlib
import zlib

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from attendance.db import get_engine
from attendance.migrate import alembic_config, upgrade
from attendance.models import Base
from attendance.partitions import include_name
from inspections import models as _spot_check_tables  # noqa: F401 - their tables are in the metadata too


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False,
                                                                   "include_name": include_name}), Base.metadata)
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


def test_0003_moves_batch_content_into_raw_content_once_per_digest(db_url: str) -> None:
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0002")
    body = b"101\t2026-10-05 07:01:02\t1\t0\t1\t0\n"
    records = bytes(range(40))
    batches = [  # (id, source, sha256 as stored by 0002, raw bytes)
        (1, "file", hashlib.sha256(body).hexdigest(), body),
        (2, "file", hashlib.sha256(body).hexdigest(), body),  # the same file imported again
        (3, "pull", "", records),  # pulls never stored a digest
        (4, "push", hashlib.sha256(b"").hexdigest(), None),  # a batch without content
    ]
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO device (id, code, kind, name, settings) VALUES (1, 'TK-01', 'file', '', '{}')"))
        for batch_id, source, sha, raw in batches:
            conn.execute(text(
                "INSERT INTO import_batch (id, device_id, source, filename, sha256, size, format, encoding, started_at, "
                "read, inserted, duplicates, rejected, unknown_users, skipped) VALUES (:id, 1, :source, 'x', :sha, 0, "
                "'', '', '2026-10-05 08:00:00', 0, 0, 0, 0, 0, 0)"), {"id": batch_id, "source": source, "sha": sha})
            if raw is not None:
                conn.execute(text("INSERT INTO batch_content (batch_id, data) VALUES (:b, :d)"),
                             {"b": batch_id, "d": zlib.compress(raw, 1)})
        # A ledger that refers to the batches: the upgrade must not copy import_batch.
        conn.execute(text("INSERT INTO punch (device_id, user_id, device_time, corrected_time, batch_id, line_no) "
                          "VALUES (1, '101', '2026-10-05 07:01:02', '2026-10-05 07:01:02', 1, 1)"))
    command.upgrade(cfg, "0003")
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
        assert "batch_content" not in inspect(conn).get_table_names()
        stored = {sha: (size, zlib.decompress(data)) for sha, size, data in
                  conn.execute(text("SELECT sha256, size, data FROM raw_content")).all()}
        assert stored == {hashlib.sha256(body).hexdigest(): (len(body), body),
                          hashlib.sha256(records).hexdigest(): (len(records), records)}
        rows = conn.execute(text("SELECT id, content_sha256, sha256, size FROM import_batch ORDER BY id")).all()
    digest, pulled = hashlib.sha256(body).hexdigest(), hashlib.sha256(records).hexdigest()
    assert [tuple(r) for r in rows] == [
        (1, digest, digest, len(body)), (2, digest, digest, len(body)), (3, pulled, pulled, len(records)),
        (4, None, hashlib.sha256(b"").hexdigest(), 0),
    ]
    with get_engine(db_url).begin() as conn:
        assert conn.execute(text("SELECT batch_id FROM punch")).all() == [(1,)]
        conn.execute(text("DELETE FROM punch"))  # SQLite's downgrade copies import_batch
    command.downgrade(cfg, "0002")  # and back: every batch gets its bytes again
    with get_engine(db_url).connect() as conn:
        back = dict(conn.execute(text("SELECT batch_id, data FROM batch_content")).all())
    assert {k: zlib.decompress(v) for k, v in back.items()} == {1: body, 2: body, 3: records}
