"""No page, use case or command fails on any stored row, however wrong.

Databases written before the plausible-year checks may hold punches dated 9999 or 0001,
ids no parser would accept today, unfinished and voided batches, and clock offsets that
push a corrected time out of range. Every reader answers: a page (200 or a clear 4xx),
a value, a domain error, or one ``error:`` line — never a 500 or a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from web_helpers import signed_in_client

from attendance import api, create_app
from attendance.batches import list_batches
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.errors import DomainError
from attendance.health import device_health
from attendance.ledger import ledger_rows
from attendance.services import explain, month_has_punches, monthly_summary, no_punches_warning

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"
LONG_ID = "9" * 32
CONTROL_IDS = ["\x07\x1b[31mred", "tab\there", "new\nline", "\u202eevil"]
HOSTILE_TIMES = [
    ("9999-12-31 23:59:59", "9999-12-31 23:59:59"),
    ("0001-01-01 00:00:00", "0001-01-01 00:00:00"),
    ("0026-10-15 07:00:00", "0026-10-15 07:00:00"),
    ("2026-10-15 07:00:00", "9999-12-31 23:59:59"),  # a corrected time pushed over the top
    ("2026-10-15 17:00:00", "0001-01-01 00:00:00"),  # and under the bottom
]
MONTHS = ["2026-10", "9999-12", "0001-01", "0026-10", "2026-13", "garbage", "", "10000-01", "2026-1x"]
# Day arithmetic at the ends of the calendar (a day after 9999-12-31, before 0001-01-01) once
# overflowed in services.month_has_punches and services.explain: now refused before it.
EDGE_CALLS = [("month_has_punches", "9999-12"), ("no_punches_warning", "9999-12"), ("explain", "0001-01-01"),
              ("explain", "9999-12-31")]


def load_org() -> None:
    from attendance.org import load_bundle

    bundle = {
        "units": [{"code": "X", "name": "Xã Tân Kỳ"}, {"code": "Y", "name": "Xã Không Ai Chấm"}],
        "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}, {"code": "TK-02", "unit": "Y", "kind": "file"},
                    {"code": "TK-03", "unit": "X", "kind": "file"}],
        "staff": [
            {"code": "NV001", "name": "Nguyễn Văn An", "unit": "X", "enrollments": [{"device": "TK-01", "user_id": "100"}]},
            {"code": "NV002", "name": "Trần Thị Bình", "unit": "Y", "enrollments": [{"device": "TK-02", "user_id": "200"}]},
        ],
    }
    with transaction() as session:
        load_bundle(session, validate_bundle(bundle))


def insert_hostile_rows() -> None:
    """Rows written straight into the tables, as an old or damaged database may hold them."""
    with transaction() as session:
        ids = dict(session.execute(text("SELECT code, id FROM device")).all())
        staff = dict(session.execute(text("SELECT code, id FROM staff")).all())
        batch_sql = text(
            "INSERT INTO import_batch (device_id, source, filename, sha256, size, format, encoding, started_at, "
            "finished_at, read, inserted, duplicates, rejected, unknown_users, skipped, voided_at, voided_by, "
            "void_reason) VALUES (:d, 'file', :f, '', 0, 'zk_attlog', 'utf-8', :s, :fin, 0, 0, 0, 0, 0, 0, :v, :vb, :vr)"
        )
        batches = []
        for name, started, finished, voided in [
            ("live", "2026-10-20 08:00:00", "2026-10-20 08:00:01", None),
            ("unfinished", "2026-10-21 08:00:00", None, None),
            ("voided", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "2026-10-22 09:00:00"),
        ]:
            session.execute(batch_sql, {"d": ids["TK-01"], "f": name, "s": started, "fin": finished, "v": voided,
                                        "vb": "tester" if voided else None, "vr": "wrong file" if voided else None})
            batches.append(session.execute(text("SELECT max(id) FROM import_batch")).scalar_one())
        punch_sql = text(
            "INSERT INTO punch (device_id, user_id, device_time, corrected_time, status, verify, work_code, "
            "batch_id, line_no) VALUES (:d, :u, :t, :c, :s, NULL, NULL, :b, NULL)"
        )
        rows = []
        for i, (device_time, corrected) in enumerate(HOSTILE_TIMES):
            for user, batch in zip(("100", "101", "102"), batches, strict=True):
                rows.append({"d": ids["TK-01"], "u": user, "t": device_time, "c": corrected, "s": i % 2, "b": batch})
        rows.append({"d": ids["TK-01"], "u": "100", "t": "2026-10-16 07:55:00", "c": "2026-10-16 07:55:00",
                     "s": None, "b": batches[0]})  # a real punch with a NULL status
        for user in [LONG_ID, *CONTROL_IDS]:
            rows.append({"d": ids["TK-01"], "u": user, "t": "2026-10-16 08:00:00", "c": "2026-10-16 08:00:00",
                         "s": None, "b": batches[0]})
            rows.append({"d": ids["TK-03"], "u": user, "t": "9999-12-31 23:59:59", "c": "0001-01-01 00:00:00",
                         "s": 0, "b": batches[1]})
        for row in rows:
            # Typed values on PostgreSQL; SQLite stores the text as written.
            if session.get_bind().dialect.name != "sqlite":
                row = {**row, "t": dt.datetime.fromisoformat(row["t"]), "c": dt.datetime.fromisoformat(row["c"])}
            session.execute(punch_sql, row)
        for user in ["101", "102", LONG_ID, *CONTROL_IDS]:
            session.execute(text("INSERT INTO enrollment (device_id, user_id, staff_id) VALUES (:d, :u, :s)"),
                            {"d": ids["TK-01"], "u": user, "s": staff["NV001"]})
        # Offsets of a terminal whose clock was set decades wrong, both ways.
        for valid_from, seconds in [("2000-01-01", -2_000_000_000), ("2026-10-01", 2_000_000_000)]:
            session.execute(text("INSERT INTO device_clock_offset (device_id, valid_from, seconds) VALUES (:d, :v, :s)"),
                            {"d": ids["TK-01"], "v": dt.date.fromisoformat(valid_from), "s": seconds})


@pytest.fixture
def hostile_db(db_url: str) -> str:
    load_org()
    insert_hostile_rows()
    return db_url


def answers(call, *args):  # noqa: ANN001, ANN201 - any use case
    """The use case's value, or the DomainError it raised (anything else fails the test)."""
    try:
        with transaction() as session:
            return call(session, *args)
    except DomainError as exc:
        assert str(exc) and "\n" not in str(exc)
        return exc


def test_pages_answer_on_hostile_rows(hostile_db: str) -> None:
    app = create_app({"DATABASE_URL": hostile_db, "TESTING": True})
    client = signed_in_client(app)
    for query in ["", *[f"?month={month}" for month in MONTHS]]:
        for path in ["/", "/units/X/summary", "/units/Y/summary", "/devices", "/devices/pending", "/units/NOPE/summary"]:
            page = client.get(path + query)
            assert page.status_code < 500, (path + query, page.status_code)
            assert page.status_code in (200, 400, 404), (path + query, page.status_code)
            if page.status_code == 400:
                assert "Tháng" in page.get_data(as_text=True)
    # With no month asked, the default is a plausible month, not 9999-12 from a damaged row.
    home = client.get("/").get_data(as_text=True)
    assert "9999" not in home and "/0001" not in home
    assert "10/2026" in home or f"{dt.date.today():%m/%Y}" in home
    summary = client.get("/units/X/summary")
    assert summary.status_code == 200 and "Nguyễn Văn An" in summary.get_data(as_text=True)


def test_use_cases_answer_on_hostile_rows(hostile_db: str) -> None:
    for month in MONTHS:
        for unit in (None, "X", "Y"):
            table = answers(monthly_summary, month, unit)
            assert isinstance(table, DomainError) or len(table) >= 1
            assert isinstance(answers(api.monthly_summary, month, unit), list | DomainError)
            if month != "9999-12":
                assert isinstance(answers(month_has_punches, month, unit), bool | DomainError)
                assert isinstance(answers(no_punches_warning, month, unit), str | None | DomainError)
    assert answers(month_has_punches, "2026-10", "X") is True
    assert answers(month_has_punches, "2026-10", "Y") is False
    for day in ["2026-10-15", "2026-10-16", "0026-10-15", "9999-12-30", "0001-01-02", "2000-01-01"]:
        result = answers(explain, "NV001", dt.date.fromisoformat(day))
        assert isinstance(result, dict | DomainError), day
    for device in ("TK-01", "TK-03"):
        rows = answers(ledger_rows, device, None, None)
        assert isinstance(rows, list) and rows
        json.dumps(rows)
    health = answers(device_health)
    assert [h.device for h in health] == ["TK-01", "TK-02", "TK-03"]
    by_code = {h.device: h for h in health}
    # A punch dated 9999 or 0001 is not "the last punch": it says nothing about the terminal.
    assert by_code["TK-01"].last_punch == "2026-10-16 08:00:00"
    assert by_code["TK-03"].last_punch is None and "never_punched" in by_code["TK-03"].problems
    json.dumps([h.as_dict() for h in health])
    batches = answers(list_batches)
    assert [b.state for b in batches] == ["live", "live", "voided"] and batches[1].finished is None
    assert batches[2].started == "0001-01-01 00:00:00" and batches[2].finished == "9999-12-31 23:59:59"
    for moment in ["2026-10-16 08:00:00", "9999-12-31 23:59:59", "0001-01-01 00:00:00", "0026-10-15 07:00:00"]:
        found = answers(api.punches_around, "NV001", dt.datetime.fromisoformat(moment), dt.timedelta(days=1),
                        dt.timedelta(days=1))
        assert isinstance(found, list | DomainError), moment
        if isinstance(found, list):
            assert all(2000 <= p.corrected_time.year <= 2099 for p in found)


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url}
    done = subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120)
    assert "Traceback" not in done.stderr, (args, done.stderr)
    if done.returncode != 0:
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
    return done


def test_commands_answer_on_hostile_rows(hostile_db: str) -> None:
    for month in ["2026-10", "9999-12", "0001-01", "garbage"]:
        for fmt in ("json", "csv"):
            cli(hostile_db, "summary", "--month", month, "--format", fmt)
    assert json.loads(cli(hostile_db, "summary", "--month", "2026-10", "--format", "json").stdout)
    rows = json.loads(cli(hostile_db, "punches", "--device", "TK-01").stdout)
    assert LONG_ID in {r["user_id"] for r in rows} and set(CONTROL_IDS) <= {r["user_id"] for r in rows}
    cli(hostile_db, "punches", "--device", "TK-03", "--format", "csv")
    status = json.loads(cli(hostile_db, "devices", "status", "--json").stdout)
    assert [s["device"] for s in status] == ["TK-01", "TK-02", "TK-03"]
    listed = json.loads(cli(hostile_db, "batch", "list", "--json").stdout)
    assert [b["state"] for b in listed] == ["live", "live", "voided"]
    for day in ["2026-10-16", "0001-01-02", "9999-12-30"]:
        cli(hostile_db, "explain", "--staff", "NV001", "--date", day)
        cli(hostile_db, "explain", "--staff", "NV001", "--date", day, "--json")


@pytest.mark.parametrize(("call", "value"), EDGE_CALLS)
def test_services_at_the_ends_of_the_calendar(hostile_db: str, call: str, value: str) -> None:
    if call == "explain":
        answers(explain, "NV001", dt.date.fromisoformat(value))
    else:
        answers({"month_has_punches": month_has_punches, "no_punches_warning": no_punches_warning}[call], value, None)


def test_month_page_says_when_the_unit_has_no_punch_that_month(hostile_db: str) -> None:
    client = signed_in_client(create_app({"DATABASE_URL": hostile_db, "TESTING": True}))
    empty = client.get("/units/Y/summary?month=2026-10").get_data(as_text=True)
    notice = "Không có lượt chấm công nào trong tháng 10/2026 của đơn vị Xã Không Ai Chấm (Y)"
    assert notice in empty and empty.index(notice) < empty.index("<table")  # above the table
    assert "Trần Thị Bình" in empty  # the table is still shown, everyone absent
    punched = client.get("/units/X/summary?month=2026-10").get_data(as_text=True)
    assert "Không có lượt chấm công nào" not in punched and "Nguyễn Văn An" in punched
    later = client.get("/units/X/summary?month=2026-11").get_data(as_text=True)
    assert "Không có lượt chấm công nào trong tháng 11/2026 của đơn vị Xã Tân Kỳ (X)" in later
