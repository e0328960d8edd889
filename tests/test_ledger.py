"""Punch ledger imports: idempotent, overlapping files, any order, rejects kept, unknown users."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest import REAL_SAMPLES
from sqlalchemy import func, select

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file, ledger_rows
from attendance.org import load_bundle
from attendance.services import monthly_summary, summary_records

BUNDLE = {
    "units": [{"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
              {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "40"}],
    "schedules": [{"code": "S", "units": ["40"], "valid_from": "2026-01-01",
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "calendar": {"country": "VN"},
    "devices": [{"code": "TK-01", "unit": "17830", "kind": "file"},
                {"code": "TK-02", "unit": "17830", "kind": "file"}],
    "staff": [
        {"code": "NV001", "name": "Nguyễn Văn An", "unit": "17830",
         "enrollments": [{"device": "TK-01", "user_id": "00042"}, {"device": "TK-02", "user_id": "7"}]},
        {"code": "NV002", "name": "Trần Thị Bích", "unit": "17830", "enrollments": [{"device": "TK-01", "user_id": "43"}]},
    ],
}
# Monday 2026-10-05 and Tuesday 2026-10-06.
LINES = [
    "00042\t2026-10-05 06:58:12\t1\t0\t1\t0",
    "00042\t2026-10-05 11:31:40\t1\t1\t1\t0",
    "00042\t2026-10-05 13:25:00\t1\t0\t1\t0",
    "00042\t2026-10-05 17:02:09\t1\t1\t1\t0",
    "43\t2026-10-05 07:12:00\t1\t0\t1\t0",
    "43\t2026-10-05 07:12:03\t1\t0\t1\t0",
    "43\t2026-10-05 16:40:00\t1\t1\t1\t0",
    "00042\t2026-10-06 07:00:59\t1\t0\t1\t0",
    "99\t2026-10-06 07:05:00\t1\t0\t1\t0",
]


def setup(bundle: dict | None = None) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(bundle or BUNDLE))))


def write(tmp_path: Path, name: str, lines: list[str], newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def run_import(path: Path, device: str = "TK-01") -> dict:
    with transaction() as session:
        return import_file(session, device, path).as_dict()


def ledger(device: str = "TK-01") -> list[tuple[str, str]]:
    with transaction() as session:
        return sorted((r["user_id"], r["device_time"]) for r in ledger_rows(session, device, None, None))


def summary() -> list[dict]:
    with transaction() as session:
        return summary_records(monthly_summary(session, "2026-10"))


def test_import_counts_and_unknown_users(db_url: str, tmp_path: Path) -> None:
    setup()
    result = run_import(write(tmp_path, "attlog.dat", LINES))
    assert (result["read"], result["inserted"], result["duplicates"], result["rejected"]) == (9, 9, 0, 0)
    assert result["unknown_users"] == 1  # user 99 is enrolled nowhere
    assert ("00042", "2026-10-05 06:58:12") in ledger()  # leading zeros kept


def test_reimport_inserts_nothing_twice(db_url: str, tmp_path: Path) -> None:
    setup()
    path = write(tmp_path, "attlog.dat", LINES)
    run_import(path)
    again = run_import(path)
    assert (again["read"], again["inserted"], again["duplicates"], again["unknown_users"]) == (9, 0, 9, 0)
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.Punch)) == 9
        assert session.scalar(select(func.count()).select_from(m.ImportBatch)) == 2


def test_overlapping_files_and_any_order_give_the_same_ledger_and_summary(db_url: str, tmp_path: Path) -> None:
    setup()
    first = write(tmp_path, "a.dat", LINES[:6])
    second = write(tmp_path, "b.dat", LINES[4:], newline="\r\n")
    whole = write(tmp_path, "c.dat", LINES)
    results = [run_import(p) for p in (second, whole, first)]
    assert [r["inserted"] for r in results] == [5, 4, 0]
    assert [r["duplicates"] for r in results] == [0, 5, 6]
    expected_ledger, expected_summary = ledger(), summary()
    assert len(expected_ledger) == 9
    for order in itertools.islice(itertools.permutations((first, second, whole)), 1, 3):
        with transaction() as session:
            session.execute(m.Punch.__table__.delete())
        for path in order:
            run_import(path)
        assert ledger() == expected_ledger
        assert summary() == expected_summary


def test_same_time_on_another_device_is_another_punch(db_url: str, tmp_path: Path) -> None:
    setup()
    run_import(write(tmp_path, "a.dat", LINES[:1]))
    result = run_import(write(tmp_path, "b.dat", ["7\t2026-10-05 06:58:12\t1\t0\t1\t0"]), device="TK-02")
    assert result["inserted"] == 1


def test_rejected_lines_are_kept_with_line_number_and_reason(db_url: str, tmp_path: Path) -> None:
    setup()
    lines = LINES[:2] + ["00042\t2026-02-30 07:00:00\t1\t0\t1\t0", "", "garbage"] + LINES[2:4]
    result = run_import(write(tmp_path, "attlog.dat", lines))
    assert (result["read"], result["inserted"], result["rejected"]) == (6, 4, 2)  # the blank line is not read
    with transaction() as session:
        rows = session.execute(select(m.RejectedRow.line_no, m.RejectedRow.raw, m.RejectedRow.reason)
                               .order_by(m.RejectedRow.line_no)).all()
    assert [(r[0], r[1]) for r in rows] == [(3, "00042\t2026-02-30 07:00:00\t1\t0\t1\t0"), (5, "garbage")]
    assert all(r[2] for r in rows)


def test_unknown_user_punches_count_once_enrolled(db_url: str, tmp_path: Path) -> None:
    setup()
    run_import(write(tmp_path, "attlog.dat", ["55\t2026-10-05 07:20:00\t1\t0\t1\t0"]))
    bundle = json.loads(json.dumps(BUNDLE))
    bundle["staff"].append({"code": "NV003", "name": "Lê Văn Cường", "unit": "17830",
                            "enrollments": [{"device": "TK-01", "user_id": "55"}]})
    setup(bundle)
    row = next(r for r in summary() if r["staff_code"] == "NV003")
    assert row["late_count"] == 1 and row["late_minutes"] == 20


def test_clock_offset_corrects_times_and_follows_changes(db_url: str, tmp_path: Path) -> None:
    bundle = json.loads(json.dumps(BUNDLE))
    bundle["devices"][0]["clock_offsets"] = [{"valid_from": "2026-10-01", "seconds": 600}]  # 10 min fast
    setup(bundle)
    run_import(write(tmp_path, "attlog.dat", ["43\t2026-10-05 07:12:00\t1\t0\t1\t0"]))
    with transaction() as session:
        punch = session.scalars(select(m.Punch)).one()
        assert (punch.device_time.strftime("%H:%M"), punch.corrected_time.strftime("%H:%M")) == ("07:12", "07:02")
    assert next(r for r in summary() if r["staff_code"] == "NV002")["late_count"] == 0
    bundle["devices"][0]["clock_offsets"] = [{"valid_from": "2026-10-01", "seconds": 0}]
    setup(bundle)
    with transaction() as session:
        assert session.scalars(select(m.Punch)).one().corrected_time.strftime("%H:%M") == "07:12"
    assert next(r for r in summary() if r["staff_code"] == "NV002")["late_minutes"] == 12


@pytest.mark.skipif(not (REAL_SAMPLES / "zk_usb_5col_attlog.dat").exists(), reason="real samples missing")
def test_real_5_column_export_imports_and_reimports(db_url: str) -> None:
    setup()
    path = REAL_SAMPLES / "zk_usb_5col_attlog.dat"
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    first = run_import(path)
    assert first["read"] == len(lines) and first["rejected"] == 0
    assert first["inserted"] + first["duplicates"] == len(lines)
    again = run_import(path)
    assert again["inserted"] == 0 and again["duplicates"] == len(lines)
