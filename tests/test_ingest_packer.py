"""The raw content of a file import is compressed in a thread beside the parsing: it must be
the very bytes whose digest the batch records, or the import is refused."""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.errors import InvalidInput
from attendance.ledger import device_by_code, ingest
from attendance.org import load_bundle
from devices.parsers import open_punch_file

BUNDLE = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ"}],
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
}
LINES = b"101\t2026-10-05 07:00:00\t1\t0\t1\t0\r\n102\t2026-10-05 07:01:00\t1\t0\t1\t0\r\n"


class _GrowsWhenRewound(io.FileIO):
    """A real file that another program appends to after the import took its digest."""

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind, and let the file grow behind the reader's back."""
        with open(self.name, "ab") as other:
            other.write(b"103\t2026-10-05 07:02:00\t1\t0\t1\t0\r\n")
        return super().seek(offset, whence)


def _import(path: Path, handle: io.RawIOBase) -> object:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    punch_file = open_punch_file(path)
    with transaction() as session:
        return ingest(session, device_by_code(session, "TK-01"), source="file", raw=handle,  # type: ignore[arg-type]
                      chunks=punch_file.chunks(), label=str(path), fmt="zk_attlog", encoding="utf-8",
                      commit_rows=100_000, resume=True)


def test_the_kept_content_is_the_file_whose_digest_is_recorded(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "attlog.dat"
    path.write_bytes(LINES)
    with io.FileIO(path) as handle:
        result = _import(path, handle)
    with transaction() as session:
        raw = session.scalars(select(m.RawContent)).one()
        batch = session.scalars(select(m.ImportBatch)).one()
    assert raw.sha256 == batch.content_sha256 == hashlib.sha256(LINES).hexdigest() == result.sha256  # type: ignore[attr-defined]
    assert zlib.decompress(raw.data) == LINES and raw.size == len(LINES)


def test_a_file_that_changes_during_the_import_is_refused_and_nothing_kept(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "attlog.dat"
    path.write_bytes(LINES)
    with _GrowsWhenRewound(path) as handle, pytest.raises(InvalidInput, match=r"attlog\.dat: tệp đã thay đổi trong lúc đang nhập"):
        _import(path, handle)
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.RawContent)) == 0
        assert session.scalar(select(func.count()).select_from(m.Punch)) == 0


def test_checkpoints_wait_for_the_last_part_and_the_connection_gets_its_setting_back(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("WAL checkpoints are SQLite's")
    from attendance.ledger import import_file

    path = tmp_path / "attlog.dat"
    path.write_bytes(b"".join(f"{100 + i % 7}\t2026-10-05 {i // 60:02d}:{i % 60:02d}:00\t1\t0\t1\t0\n".encode()
                             for i in range(1000)))
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    with transaction() as session:
        raw = session.connection().connection.driver_connection
        result = import_file(session, "TK-01", path, chunk_lines=100, commit_rows=100)  # ten parts
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert (result.read, result.inserted) == (1000, 1000)
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.Punch)) == 1000
