"""Terminal health readings and problems, and reads that never wait for a running import."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from sqlalchemy import select
from web_helpers import signed_in_client

from attendance import create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.engine import evaluate
from attendance.health import Thresholds, device_health, working_days_between
from attendance.ledger import import_file
from attendance.loader import load_input
from attendance.org import load_bundle
from attendance.services import monthly_summary

BUNDLE = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ", "kind": "commune"}],
    "schedules": [{"code": "S", "units": ["X"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [
        {"code": "TK-01", "unit": "X", "kind": "zk_tcp", "host": "127.0.0.1"},
        {"code": "TK-02", "unit": "X", "kind": "zk_serial", "port": "/dev/ttyUSB0"},
        {"code": "PUSH-1", "unit": "X", "kind": "adms_push", "serial": "CKJ0000001"},
        {"code": "USB-1", "unit": "X", "kind": "file"},
    ],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X", "enrollments": [{"device": "USB-1", "user_id": "1"}]}],
}
NOW = dt.datetime(2026, 10, 9, 12, 0)  # a Friday


def log(device: str, started: dt.datetime, ok: bool, **extra: object) -> None:
    with transaction() as session:
        device_id = session.scalar(select(m.Device.id).where(m.Device.code == device))
        session.add(m.PullLog(device_id=device_id, started_at=started, ok=ok, **extra))


def by_code(rows):  # type: ignore[no-untyped-def]
    return {r.device: r for r in rows}


def test_health_problems(db_url: str, tmp_path: Path) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    log("TK-01", NOW - dt.timedelta(hours=2), True, skew_seconds=-400, log_used=95_000, log_capacity=100_000)
    log("TK-01", NOW - dt.timedelta(hours=1), False, error="TimeoutError: 127.0.0.1:4370 did not answer")
    attlog = tmp_path / "a.dat"
    attlog.write_text("1\t2026-10-05 07:00:00\t1\t0\t1\t0\n")  # Monday: Tue–Fri without punches
    with transaction() as session:
        import_file(session, "USB-1", attlog)
        rows = by_code(device_health(session, now=NOW))
    tk1 = rows["TK-01"]
    assert tk1.last_success == "2026-10-09 10:00:00" and tk1.clock_skew_seconds is None  # latest pull failed
    assert tk1.problems == ["pull_failed", "never_punched"] and tk1.last_error.startswith("TimeoutError")
    assert rows["TK-02"].problems == ["never_pulled", "never_punched"]
    assert rows["PUSH-1"].problems == ["no_contact", "never_punched"]
    assert rows["TK-02"].last_punch is None and rows["TK-02"].days_without_punches is None
    usb = rows["USB-1"]
    assert usb.last_punch == "2026-10-05 07:00:00" and usb.days_without_punches == 4
    assert usb.problems == ["no_punches"]

    log("TK-01", NOW - dt.timedelta(minutes=5), True, skew_seconds=-400, log_used=95_000, log_capacity=100_000)
    with transaction() as session:
        tk1 = by_code(device_health(session, now=NOW))["TK-01"]
        assert tk1.problems == ["clock_skew", "never_punched", "log_nearly_full"]
        assert by_code(device_health(session, now=NOW, limits=Thresholds(clock_skew_seconds=500)))["TK-01"].problems \
            == ["never_punched", "log_nearly_full"]
        assert tk1.as_dict()["problem_texts"][0]["vi"] == "Đồng hồ máy chấm công lệch"
    page = signed_in_client(create_app({"DATABASE_URL": db_url})).get("/devices").get_data(as_text=True)
    assert "Đồng hồ máy chấm công lệch" in page and "-400 giây" in page and "Chưa lấy được dữ liệu lần nào" in page
    assert "05/10/2026 07:00" in page  # last punch of USB-1, dd/mm/yyyy
    assert "Chưa có lượt chấm công nào từ máy này" in page
    texts = {t["code"]: t for t in tk1.as_dict()["problem_texts"]}
    assert texts["never_punched"]["en"] == "No punch has ever come from this terminal"


def test_working_days_between_follows_the_calendar(db_url: str) -> None:
    with transaction() as session:
        # 2026-08-28 (Fri) .. 2026-09-04 (Fri): 31/8 day in lieu, 1–2/9 National Day.
        assert working_days_between(session, dt.date(2026, 8, 28), dt.date(2026, 9, 4)) == 2
        # The make-up Saturday 2026-08-22 is a working day.
        assert working_days_between(session, dt.date(2026, 8, 21), dt.date(2026, 8, 22)) == 1


SIX_DAYS = {
    "units": [{"code": "P", "name": "Huyện Tân Kỳ", "kind": "district"},
              {"code": "X", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "P"},
              {"code": "Y", "name": "Xã Nghĩa Đồng", "kind": "commune", "parent": "P"},
              {"code": "Z", "name": "Xã không có lịch", "kind": "commune"}],
    # Commune X works Saturdays from 2026-10-10; before that, and elsewhere under P, Mon–Fri.
    "schedules": [{"code": "P-S", "units": ["P"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]},
                  {"code": "X-SAT", "units": ["X"], "valid_from": "2026-10-10",
                   "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"], "sessions": [["07:00", "11:30"]]}],
    "devices": [{"code": "X-1", "unit": "X", "kind": "file"}, {"code": "Y-1", "unit": "Y", "kind": "file"},
                {"code": "Z-1", "unit": "Z", "kind": "file"}],
    "staff": [{"code": f"NV{u}", "name": f"Cán bộ {u}", "unit": u,
               "enrollments": [{"device": f"{u}-1", "user_id": "1"}]} for u in "XYZ"],
}


def test_days_without_punches_follow_the_units_schedule(db_url: str, tmp_path: Path) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(SIX_DAYS))))
    for device in ("X-1", "Y-1", "Z-1"):  # Friday 2 October: 3–4 Oct a weekend for everyone
        attlog = tmp_path / f"{device}.dat"
        attlog.write_text("1\t2026-10-02 07:00:00\t0\t1\t0\t0\n")
        with transaction() as session:
            import_file(session, device, attlog)
    now = dt.datetime(2026, 10, 17, 18, 0)  # Saturday 17 October
    with transaction() as session:
        rows = by_code(device_health(session, now=now))
        unit_ids = dict(session.execute(select(m.Unit.code, m.Unit.id)).all())
        # 5–9 Oct (5), Sat 10 Oct, 12–16 Oct (5), Sat 17 Oct: the Saturdays count in X only.
        assert rows["X-1"].days_without_punches == 12
        assert rows["Y-1"].days_without_punches == 10
        # Z has no schedule anywhere above it: Monday to Friday, holidays still off.
        assert rows["Z-1"].days_without_punches == 10
        assert working_days_between(session, dt.date(2026, 10, 2), now.date(), unit_ids["X"]) == 12
        # The engine agrees day by day: NV_X's working days of the same span.
        inp, _ = load_input(session, dt.date(2026, 10, 3), now.date(), staff_code="NVX")
        days = evaluate(inp, dt.date(2026, 10, 3), now.date()).days
    assert int(days["working"].sum()) == 12
    assert sorted(d.isoformat() for d in days[days["working"]]["date"] if d.weekday() == 5) == ["2026-10-10", "2026-10-17"]


def test_summary_reads_while_an_import_is_still_writing(sqlite_url: str, tmp_path: Path) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    attlog = tmp_path / "a.dat"
    attlog.write_text("1\t2026-10-05 07:20:00\t1\t0\t1\t0\n")
    with transaction() as session:
        import_file(session, "USB-1", attlog)
    # Another process holds an open write transaction adding punches (a long import)...
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO punch (device_id, user_id, device_time, corrected_time, batch_id) "
                   "SELECT device_id, user_id, '2026-10-06 07:40:00', '2026-10-06 07:40:00', batch_id FROM punch")
    # ...and the rules still read the committed ledger without waiting.
    with transaction() as session:
        row = monthly_summary(session, "2026-10").iloc[0]
    assert row["late_count"] == 1 and row["late_minutes"] == 20
    writer.commit()
    with transaction() as session:
        assert monthly_summary(session, "2026-10").iloc[0]["late_count"] == 2
    writer.close()
