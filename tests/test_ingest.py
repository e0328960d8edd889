"""One ingest for every path: same batch record, raw content once per digest, no silent loss,
bounded commits (an interrupted import is visible and completed by importing again)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import session_factory, transaction
from attendance.errors import NothingRead, UnknownDevice
from attendance.ledger import _rows, copy_text, device_by_code, import_file, ingest, ledger_rows
from attendance.org import load_bundle
from devices.parsers import ParsedChunk, decode_text
from devices.parsers.common import punch_frame
from devices.parsers.zk_push import parse_push_body

BUNDLE = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ"}],
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}, {"code": "TK-02", "unit": "X", "kind": "file"},
                {"code": "PUSH-1", "unit": "X", "kind": "adms_push", "serial": "CGXK1234"}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X", "enrollments": [{"device": "TK-01", "user_id": "101"}]}],
}


def setup() -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))


def attlog(n: int, first_day: int = 0) -> bytes:
    """``n`` distinct punches of a few users, one per minute from 2026-10-05 on."""
    rows = []
    for i in range(n):
        minute = first_day * 1440 + i
        day, rest = 5 + minute // 1440, minute % 1440
        rows.append(f"{100 + i % 5}\t2026-10-{day:02d} {rest // 60:02d}:{rest % 60:02d}:00\t1\t0\t1\t0\n")
    return "".join(rows).encode()


def count(model: type) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_file_reimported_and_a_push_body_replayed_keep_one_copy_each(db_url: str, tmp_path: Path) -> None:
    setup()
    path = tmp_path / "attlog.dat"
    path.write_bytes(attlog(7))
    body = b"101\t2026-10-06 07:00:00\t0\t1\t0\t0\t0\n102\t2026-10-06 07:01:00\t0\t1\t0\t0\t0\n"
    with transaction() as session:
        first = import_file(session, "TK-01", path)
    with transaction() as session:
        again = import_file(session, "TK-01", path)
    for _ in range(2):
        with transaction() as session:
            device = device_by_code(session, "PUSH-1")
            pushed = ingest(session, device, source="push", raw=body, chunks=[parse_push_body(decode_text(body))],
                            label="push:CGXK1234:9876", fmt="zk_push", encoding="utf-8")
    assert (first.inserted, again.inserted, again.duplicates) == (7, 0, 7)
    assert (pushed.read, pushed.inserted, pushed.duplicates) == (2, 0, 2)
    with transaction() as session:
        raws = {r.sha256: r for r in session.scalars(select(m.RawContent))}
        batches = session.scalars(select(m.ImportBatch).order_by(m.ImportBatch.id)).all()
    file_sha, body_sha = hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(body).hexdigest()
    assert set(raws) == {file_sha, body_sha}  # four batches, two contents
    assert zlib.decompress(raws[file_sha].data) == path.read_bytes() and raws[body_sha].size == len(body)
    assert [(b.source, b.content_sha256, b.sha256, b.finished_at is not None) for b in batches] == [
        ("file", file_sha, file_sha, True), ("file", file_sha, file_sha, True),
        ("push", body_sha, body_sha, True), ("push", body_sha, body_sha, True)]
    for b in batches:
        assert b.read == b.inserted + b.duplicates + b.rejected
    assert (batches[2].filename, batches[2].format, batches[2].size) == ("push:CGXK1234:9876", "zk_push", len(body))


def test_a_file_of_blank_lines_is_nothing_read_and_stores_nothing(db_url: str, tmp_path: Path) -> None:
    setup()
    path = tmp_path / "blank.dat"
    path.write_bytes(b"\r\n   \r\n\r\n")
    with pytest.raises(NothingRead, match=r"blank\.dat: không đọc được gì từ 9 byte theo định dạng zk_attlog.*chỉ có dòng trống"):
        with transaction() as session:
            import_file(session, "TK-01", path)
    assert count(m.ImportBatch) == count(m.RawContent) == 0


def test_a_push_body_of_blank_lines_is_nothing_read(db_url: str) -> None:
    setup()
    body = b"\r\n\r\n\n"
    with pytest.raises(NothingRead, match=r"push:x: không đọc được gì từ 5 byte theo định dạng zk_push .*chỉ có dòng trống"):
        with transaction() as session:
            ingest(session, device_by_code(session, "PUSH-1"), source="push", raw=body,
                   chunks=[parse_push_body(decode_text(body))], label="push:x", fmt="zk_push", encoding="utf-8")
    assert count(m.ImportBatch) == count(m.RawContent) == 0


def test_an_empty_body_is_an_empty_batch_not_an_error(db_url: str) -> None:
    setup()
    with transaction() as session:
        result = ingest(session, device_by_code(session, "PUSH-1"), source="push", raw=b"",
                        chunks=[parse_push_body("")], label="push:x", fmt="zk_push", encoding="utf-8")
    assert (result.read, result.size) == (0, 0) and count(m.ImportBatch) == 1


def test_unknown_device_is_a_domain_error(db_url: str, tmp_path: Path) -> None:
    setup()
    path = tmp_path / "attlog.dat"
    path.write_bytes(attlog(1))
    with pytest.raises(UnknownDevice, match="'NOPE'"), transaction() as session:
        import_file(session, "NOPE", path)


def test_a_huge_rejected_line_is_clipped_in_the_result_and_kept_whole(db_url: str, tmp_path: Path) -> None:
    setup()
    monster = "x" * 200_000
    path = tmp_path / "attlog.dat"
    path.write_bytes(attlog(2) + monster.encode() + b"\n")
    with transaction() as session:
        result = import_file(session, "TK-01", path)
    assert (result.read, result.rejected) == (3, 1)
    shown = result.rejects[0]
    assert len(shown["raw"]) < 400 and "200,000 ký tự" in shown["raw"]  # the reader's language
    with transaction() as session:
        assert session.scalar(select(m.RejectedRow.raw)) == monster


def test_parts_are_committed_and_an_interrupted_import_is_completed_by_importing_again(db_url: str, tmp_path: Path) -> None:
    setup()
    path = tmp_path / "attlog.dat"
    path.write_bytes(attlog(50) + b"garbage\n" + attlog(40, first_day=1))
    calls = []

    def crash_after_the_second_part(done: int) -> None:  # called once a part is committed
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as good as a kill: what was not committed is lost

    with pytest.raises(KeyboardInterrupt), transaction() as session:
        import_file(session, "TK-01", path, chunk_lines=20, commit_rows=20, progress=crash_after_the_second_part)
    with transaction() as session:
        batch = session.scalars(select(m.ImportBatch)).one()
        stored = session.scalar(select(func.count()).select_from(m.Punch))
        assert batch.finished_at is None and batch.content_sha256 is None  # visibly unfinished
        assert stored == batch.inserted == 40  # two parts of 20 lines, counters committed with them
    with transaction() as session:
        done = import_file(session, "TK-01", path, chunk_lines=20, commit_rows=20)
    with transaction() as session:
        batches = session.scalars(select(m.ImportBatch)).all()
        assert len(batches) == 1 and batches[0].id == done.batch and batches[0].finished_at is not None
        assert session.scalar(select(func.count()).select_from(m.Punch)) == 90
        assert session.scalar(select(func.count()).select_from(m.RejectedRow)) == 1
        assert set(session.scalars(select(m.Punch.batch_id))) == {done.batch}
    assert (done.read, done.inserted, done.duplicates, done.rejected) == (91, 90, 0, 1)
    with transaction() as session:  # a later import of the same file is a new batch of duplicates
        later = import_file(session, "TK-01", path, chunk_lines=20, commit_rows=20)
    assert later.batch != done.batch and (later.inserted, later.duplicates) == (0, 90)


KILLABLE_IMPORT = """
import sys, time
from attendance.db import transaction
from attendance.ledger import import_file
with transaction(sys.argv[1]) as session:
    import_file(session, "TK-01", sys.argv[2], chunk_lines=500, commit_rows=500,
                progress=lambda _done: time.sleep(float(sys.argv[3])))
"""


def _wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_kill_9_leaves_an_unfinished_batch_of_valid_punches(db_url: str, tmp_path: Path) -> None:
    setup()
    path = tmp_path / "attlog.dat"
    path.write_bytes(attlog(20_000))
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_IMPORT, db_url, str(path), "0.2"],
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert _wait_for(lambda: count(m.Punch) >= 1000, 60), "no part was committed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    with transaction() as session:
        batch = session.scalars(select(m.ImportBatch)).one()
        stored = session.scalar(select(func.count()).select_from(m.Punch))
        assert batch.finished_at is None and 1000 <= stored < 20_000 and stored == batch.inserted
    with transaction() as session:
        done = import_file(session, "TK-01", path)
    assert done.batch == batch.id and (done.read, done.inserted, done.duplicates) == (20_000, 20_000, 0)
    assert count(m.Punch) == 20_000


def _import_in_progress() -> bool:
    """Whether the long import on TK-01 has committed a part but not finished."""
    with transaction() as session:
        batch = session.scalar(select(m.ImportBatch).join(m.Device).where(m.Device.code == "TK-01"))
        return batch is not None and batch.finished_at is None


def test_sqlite_writers_are_not_starved_by_a_long_import(sqlite_url: str, tmp_path: Path) -> None:
    """A long import commits in parts: another process's writes get in while it runs."""
    setup()
    path = tmp_path / "big.dat"
    path.write_bytes(attlog(30_000))
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_IMPORT, sqlite_url, str(path), "0.1"],
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    other = tmp_path / "other.dat"
    waits, during = [], 0
    try:
        assert _wait_for(_import_in_progress, 60), "no part of the long import was committed before its end"
        for i in range(6):
            other.write_bytes(f"7\t2026-11-{i + 1:02d} 07:00:00\t1\t0\t1\t0\n".encode())
            start = time.monotonic()
            with session_factory(sqlite_url)() as session:
                assert import_file(session, "TK-02", other).inserted == 1
                session.commit()
            waits.append(time.monotonic() - start)
            during += _import_in_progress()
        assert child.wait(timeout=120) == 0
    finally:
        if child.poll() is None:
            child.kill()
    assert during >= 3, f"only {during} of 6 writes went in while the import was running"
    assert max(waits) < 10, waits
    assert count(m.Punch) == 30_006 and not _import_in_progress()


def test_a_database_locked_for_too_long_is_busy(sqlite_url: str, tmp_path: Path) -> None:
    import sqlite3

    from attendance.cli import BUSY_EXIT, error_line
    from attendance.errors import Busy

    setup()
    path = tmp_path / "attlog.dat"
    path.write_bytes(attlog(3))
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that keeps the write lock
    try:
        with session_factory(sqlite_url)() as session:
            session.connection().exec_driver_sql("PRAGMA busy_timeout = 200")  # not the usual 30 s wait
            with pytest.raises(Busy) as caught:
                import_file(session, "TK-01", path)
            session.rollback()
            session.connection().exec_driver_sql("PRAGMA busy_timeout = 30000")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line, code = error_line(caught.value)
    assert code == BUSY_EXIT and line.startswith("cơ sở dữ liệu đang bận")
    assert count(m.ImportBatch) == 0


def test_work_codes_are_stored_as_text_or_null_whatever_the_column_holds(db_url: str) -> None:
    """A missing work code (None, NaN, pd.NA) is NULL; a number is stored as its text."""
    setup()
    codes = ["A7", None, float("nan"), pd.NA, 42, "0"]
    n = len(codes)
    frame = punch_frame(
        np.arange(1, n + 1), np.array(["101"] * n, dtype=object),
        np.datetime64("2026-10-05T07:00:00", "s").astype(np.int64) + 60 * np.arange(n),
        pd.array([0] * n, dtype="Int64"), pd.array([None] * n, dtype="Int64"), np.array(codes, dtype=object),
    )
    with transaction() as session:
        result = ingest(session, device_by_code(session, "TK-01"), source="push", raw=b"six punches",
                        chunks=[ParsedChunk(frame)], label="push:test", fmt="zk_push", encoding="utf-8")
    assert (result.read, result.inserted) == (n, n)
    with transaction() as session:
        rows = ledger_rows(session, "TK-01", None, None)
    assert [r["work_code"] for r in rows] == ["A7", None, None, None, "42", "0"]
    assert [r["verify"] for r in rows] == [None] * n and [r["line"] for r in rows] == list(range(1, n + 1))


def test_without_a_clock_offset_the_times_are_converted_once() -> None:
    """The corrected time is the device time itself then (same text), not a second conversion."""
    n = 3
    frame = punch_frame(np.arange(1, n + 1), np.array(["101"] * n, dtype=object),
                        np.datetime64("2026-10-05T07:00:00", "s").astype(np.int64) + 3600 * np.arange(n),
                        pd.array([0] * n, dtype="Int64"), pd.array([1] * n, dtype="Int64"),
                        np.array([None] * n, dtype=object))
    none = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    rows = list(_rows(frame, 1, 9, none))
    assert [r[2] for r in rows] == ["2026-10-05 07:00:00", "2026-10-05 08:00:00", "2026-10-05 09:00:00"]
    assert all(r[3] is r[2] for r in rows)
    ahead = (np.array([(dt.date(2026, 10, 1) - dt.date(1970, 1, 1)).days]), np.array([90]))
    shifted = list(_rows(frame, 1, 9, ahead))
    assert [r[3] for r in shifted] == ["2026-10-05 06:58:30", "2026-10-05 07:58:30", "2026-10-05 08:58:30"]
    assert [r[2] for r in shifted] == [r[2] for r in rows]
    # PostgreSQL's COPY text carries the same times, corrected only where an offset applies.
    copied = [line.split("\t") for line in copy_text(frame, 1, 9, ahead).splitlines()]
    assert [(c[2], c[3]) for c in copied] == [(r[2], r[3]) for r in shifted]
