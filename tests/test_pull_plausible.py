"""Pulled records dated outside the plausible years are quarantined with a reason, never stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from attendance import models as m
from attendance.db import transaction
from attendance.pull import records_to_chunk
from devices.parsers import DEFAULT_PLAUSIBLE_YEARS, PUNCH_COLUMNS
from devices.parsers.common import frame_from_punches
from devices.zk.codec import AttendanceRecord, records_from_rows
from devices.zk.simulator import Terminal, serve
from tests.test_pull import pull_device, register

GOOD = [dt.datetime(2000, 1, 1, 0, 0, 0), dt.datetime(2026, 10, 5, 7, 1, 2), dt.datetime(2099, 12, 31, 23, 59, 59)]
BAD = [dt.datetime(2100, 1, 1, 0, 0, 0), dt.datetime(2130, 6, 15, 8, 0, 0)]


def test_records_to_chunk_keeps_the_plausible_and_rejects_the_rest_with_raw_bytes() -> None:
    records = [AttendanceRecord("100", t, 0, 1, None, None, bytes([i, 0xFF])) for i, t in enumerate(BAD[:1] + GOOD + BAD[1:])]
    chunk = records_to_chunk(records, [(b"\x01\x02", "unknown layout")])
    assert chunk.punches["line_no"].tolist() == [2, 3, 4]
    assert [t.to_pydatetime() for t in chunk.punches["device_time"]] == GOOD
    assert [(r.line_no, r.raw) for r in chunk.rejected] == [(1, "00 ff"), (5, "04 ff"), (6, "01 02")]
    assert "record 1 (user '100'): time 2100-01-01 00:00:00 is outside the plausible years 2000-2099" == chunk.rejected[0].reason
    assert "2130-06-15 08:00:00" in chunk.rejected[1].reason and chunk.rejected[2].reason == "unknown layout"
    narrow = records_to_chunk(records, [], plausible_years=(2026, 2026))
    assert narrow.punches["line_no"].tolist() == [3] and DEFAULT_PLAUSIBLE_YEARS == (2000, 2099)


def test_pull_quarantines_implausible_years_from_a_terminal(db_url: str) -> None:
    rows = [("100", t, 0, 1, None) for t in GOOD + BAD]
    terminal = Terminal(records_from_rows(rows), width=40)
    server = serve("tcp", port=0, terminal=terminal, block=False, announce=lambda _line: None)
    try:
        register("zk_tcp", dict(server.settings))
        result = pull_device("TK-01")
    finally:
        server.stop()
    assert result.ok, result.error
    assert (result.records_read, result.inserted, result.rejected) == (5, 3, 2)
    with transaction() as session:
        times = sorted(session.scalars(select(m.Punch.device_time)))
        assert times == GOOD
        rejects = session.execute(select(m.RejectedRow.line_no, m.RejectedRow.raw, m.RejectedRow.reason)
                                  .order_by(m.RejectedRow.line_no)).all()
    assert [r.line_no for r in rejects] == [4, 5]
    assert all(len(bytes.fromhex(r.raw)) == 40 for r in rejects)  # the record as the terminal sent it
    assert "2100-01-01 00:00:00 is outside the plausible years 2000-2099" in rejects[0].reason
    assert "2130-06-15 08:00:00" in rejects[1].reason


def test_records_to_chunk_builds_the_columns_a_parsed_file_has() -> None:
    """Work code 0 or None is no work code; the dtypes are those every parser gives the ledger."""
    times = [dt.datetime(2026, 10, 5, 7, 0, s) for s in range(4)]
    records = [AttendanceRecord(f"{i:05d}", t, i % 2, 15 - i, w, i, b"\x00")
               for i, (t, w) in enumerate(zip(times, [None, 0, 7, 123456], strict=True))]
    chunk = records_to_chunk(records, [])
    frame = chunk.punches
    assert list(frame.columns) == list(PUNCH_COLUMNS)
    assert frame.dtypes.to_dict() == frame_from_punches([]).dtypes.to_dict()
    assert frame["user_id"].tolist() == ["00000", "00001", "00002", "00003"]
    assert frame["work_code"].tolist() == [None, None, "7", "123456"]
    assert frame["status"].tolist() == [0, 1, 0, 1] and frame["verify"].tolist() == [15, 14, 13, 12]
    assert [t.to_pydatetime() for t in frame["device_time"]] == times and chunk.rejected == []
    empty = records_to_chunk([], [(b"\x09", "unreadable")])
    assert empty.punches.empty and empty.punches.dtypes.to_dict() == frame.dtypes.to_dict()
    assert [(r.line_no, r.raw) for r in empty.rejected] == [(1, "09")]
