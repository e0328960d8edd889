"""The unit dashboard, the unit's month grid with its downloads, a person's month and day view."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from openpyxl import load_workbook
from web_helpers import load_district, signed_in_client

from attendance import api, create_app, engine, month_views
from attendance.bundle import validate_bundle
from attendance.cli import main
from attendance.dashboard import (
    latest_punch_day,
    presence_on,
    presence_on_days,
    terminals_needing_attention,
)
from attendance.db import transaction
from attendance.demo import load_demo
from attendance.engine import SUMMARY_FIELDS
from attendance.excuses import create_excuse
from attendance.ledger import import_file
from attendance.names import name_sort_key
from attendance.org import load_bundle
from attendance.synth import generate_district

MONTH = "2026-10"
ROW = re.compile(r'<tr id="staff-([^"]+)">(.*?)</tr>', re.S)
TOTAL = re.compile(r'data-field="(\w+)">(\d+)<')
CELL = re.compile(r'<td class="cell day-(\w+)[^"]*" title="(\d\d)/\d\d/\d{4}: [^"]*">(?:<a href="([^"]+)">([^<]*)</a>)?</td>')


def cli(*args: str) -> str:
    """Standard output of the attendance command (the CLI's answer the pages must equal)."""
    done = CliRunner().invoke(main, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


def grid_rows(page: str) -> dict[str, tuple[list[tuple[str, str, str, str]], dict[str, int]]]:
    """Staff code → (cells (code, day, link, letter), totals by field), in page order."""
    return {code: (CELL.findall(body), {f: int(v) for f, v in TOTAL.findall(body)})
            for code, body in ROW.findall(page)}


@pytest.fixture
def demo(db_url: str) -> FlaskClient:
    load_demo(MONTH)
    return signed_in_client(create_app({"DATABASE_URL": db_url, "TESTING": True}), "chief", "admin")


def test_unit_month_grid_equals_the_cli_and_the_person_calendar(demo: FlaskClient) -> None:
    page = demo.get(f"/units/17830/month?month={MONTH}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    rows = grid_rows(text)
    summary = {r["staff_code"]: r for r in json.loads(cli("summary", "--month", MONTH, "--unit", "17830"))}
    assert set(rows) == set(summary) and len(rows) > 20
    for code, (cells, totals) in rows.items():
        assert len(cells) == 31
        assert totals == {f: summary[code][f] for f in SUMMARY_FIELDS}, code
    # People in Vietnamese name order: given name first (An, Ánh, Bích, ...).
    names = [summary[c]["name"] for c in rows]
    assert names == sorted(names, key=name_sort_key) and names[:3] == ["Nguyễn Văn An", "Phạm Thị Ngọc Ánh", "Trần Thị Bích"]
    # A known demo day: NV001 checked in on 5 October and never out of the morning session.
    nv001 = {day: (code, link, letter) for code, day, link, letter in rows["NV001"][0]}
    assert nv001["05"] == ("missing", "/staff/NV001/days/2026-10-05", "T")
    assert nv001["03"][0] == nv001["04"][0] == "weekend" and nv001["03"][2] == "–"
    # The unit's grid and the person's own evaluation agree on every day.
    with transaction() as session:
        own = month_views.person_month(session, "NV001", MONTH)
    assert [code for code, _day, _link, _letter in rows["NV001"][0]] == [d.code for d in own.days]
    assert 'class="daynum off"' in text and "T7" in text and "CN" in text  # weekends marked, Vietnamese weekdays
    assert "Tổng hợp chấm công tháng 10/2026" in text and 'id="no-punches"' not in text
    for letter, word in (("V", "Vắng cả ngày, không có lý do"), ("M", "Đi muộn"), ("S", "Về sớm")):
        assert re.search(rf'<span class="day day-\w+">{letter}</span> {word}</li>', text), letter
    # Month picker, and the former summary address leads here.
    assert "month=2026-09" in text and "month=2026-11" in text
    former = demo.get(f"/units/17830/summary?month={MONTH}")
    assert former.status_code == 200 and grid_rows(former.get_data(as_text=True)) == rows
    assert demo.get("/units/17830/month?month=2026-13").status_code == 400


def test_downloads_equal_the_cli(demo: FlaskClient, tmp_path: Path) -> None:
    answer = demo.get(f"/units/17830/month.csv?month={MONTH}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="tong-hop-17830-2026-10.csv"'
    body = answer.get_data()
    assert body.startswith("\ufeff".encode())  # Excel reads the Vietnamese headings right
    assert body.decode("utf-8") == cli("summary", "--month", MONTH, "--unit", "17830", "--format", "csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Mã CB", "Họ và tên"] and len(rows) > 20

    answer = demo.get(f"/units/17830/month.xlsx?month={MONTH}")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    ours = load_workbook(io.BytesIO(answer.get_data())).active
    cli("summary", "--month", MONTH, "--unit", "17830", "--format", "xlsx", "-o", str(tmp_path / "cli.xlsx"))
    theirs = load_workbook(tmp_path / "cli.xlsx").active
    assert list(ours.values) == list(theirs.values) and ours.max_row > 20


def test_dashboard_counts_presence_terminals_and_an_empty_month(demo: FlaskClient) -> None:
    page = demo.get(f"/units/17830?month={MONTH}").get_data(as_text=True)
    summary = json.loads(cli("summary", "--month", MONTH, "--unit", "17830"))
    for field in ("late_count", "absent_days", "missing_punch_count"):
        total = sum(r[field] for r in summary)
        assert f"<strong>{total}</strong> " in page, field
    assert page.count('class="bar-ok"') == 31 and "<svg" in page and "style=" not in page
    # The latest day with punches in the demo is Saturday 31 October: people who came are listed.
    assert "Ngày gần nhất có chấm công: 31/10/2026" in page and "Ngày nghỉ: không ai có ngày làm việc" in page
    assert "/staff/NV005/days/2026-10-31" in page
    assert "Máy chấm công cần kiểm tra" in page and "TK-02" in page and "Chưa lấy được dữ liệu lần nào" in page
    assert 'href="/units/17830-UB"' in page and f'href="/units/17830/month?month={MONTH}"' in page
    # A month without a single punch says so instead of counting everyone absent.
    empty = demo.get("/units/17830?month=2026-12").get_data(as_text=True)
    assert 'id="no-punches"' in empty and "Không có lượt chấm công nào trong tháng 12/2026" in empty
    assert 'class="counts"' not in empty and "<svg" not in empty
    assert 'id="no-punches"' in demo.get("/units/17830/month?month=2026-12").get_data(as_text=True)
    # The unit tree links every unit to its dashboard.
    assert 'href="/units/17830-YT"' in demo.get("/").get_data(as_text=True)


def test_person_month_and_day_view(demo: FlaskClient) -> None:
    page = demo.get(f"/staff/NV001?month={MONTH}").get_data(as_text=True)
    (mine,) = [r for r in json.loads(cli("summary", "--month", MONTH, "--unit", "17830")) if r["staff_code"] == "NV001"]
    assert {f: int(v) for f, v in TOTAL.findall(page)} == {f: mine[f] for f in SUMMARY_FIELDS}
    day = re.search(r'<td class="day-(\w+)[^"]*" id="day-2026-10-05">(.*?)</td>', page, re.S)
    assert day and day.group(1) == "missing" and "Thiếu lần chấm công: ca 1 thiếu lần chấm ra" in day.group(2)
    assert page.index(">T2<") < page.index(">CN<")  # weeks start on Monday
    assert page.count('<td class="empty">') == 3 + 1  # October 2026 starts on a Thursday and ends on a Saturday

    view = demo.get("/staff/NV001/days/2026-10-05")
    assert view.status_code == 200
    text = html.unescape(view.get_data(as_text=True))
    with transaction() as session:
        explained = api.explain_day(session, "NV001", dt.date(2026, 10, 5))
    assert explained["summary"]["vi"] in text and "Ca 1: 07:00–11:30" in text
    for line in explained["sessions"][0]["vi"]:
        assert line in text
    assert "Nhận lượt chấm từ 06:00 đến trước 12:30" in text
    for code in ("missing_out", "checkin", "per_session", "weekday"):  # no English codes for a Vietnamese reader
        assert code not in re.sub(r'class="[^"]*"', "", text), code
    # The raw punches around the day, the next morning's included, the day's own marked as used.
    assert "06/10/2026 06:45:04" in text and "giờ vào" in text
    demo.get("/lang/en")
    english = html.unescape(demo.get("/staff/NV001/days/2026-10-05").get_data(as_text=True))
    assert explained["summary"]["en"] in english and "Session 1: 07:00–11:30" in english and "no check-out" in english


BUNDLE = {
    "units": [{"code": "H", "name": "Huyện", "kind": "district"},
              {"code": "C1", "name": "Xã Một", "kind": "commune", "parent": "H"},
              {"code": "C2", "name": "Xã Hai", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "D1", "unit": "C1", "kind": "file"}, {"code": "D2", "unit": "C2", "kind": "file"}],
    "staff": [{"code": "A1", "name": "Trần Văn Bình", "unit": "C1", "enrollments": [{"device": "D1", "user_id": "1"}]},
              {"code": "B1", "name": "Lê Thị Cúc", "unit": "C2", "enrollments": [{"device": "D2", "user_id": "1"}]}],
}


@pytest.fixture
def two_communes(db_url: str, tmp_path: Path) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    for device in ("D1", "D2"):
        path = tmp_path / f"{device}.dat"
        path.write_text("".join(f"1\t2026-10-05 {t}:00\t0\t1\t0\t0\n" for t in ("07:20", "11:30", "13:30", "17:00")))
        with transaction() as session:
            import_file(session, device, path)
    with transaction() as session:
        create_excuse(session, "A1", "sick_leave", dt.datetime(2026, 10, 6, 7), dt.datetime(2026, 10, 6, 17),
                      "12/GCN-BV", actor="test")
    return db_url


def count_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dt.date, dt.date]]:
    """The (first, last) of every rules-engine run from now on, in order."""
    calls: list[tuple[dt.date, dt.date]] = []
    real = engine.evaluate

    def counting(inp, first, last, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((first, last))
        return real(inp, first, last, *args, **kwargs)

    monkeypatch.setattr(engine, "evaluate", counting)
    return calls


@pytest.mark.parametrize("role", ["viewer", "clerk", "unit_head", "inspector", "team_lead"])
def test_scope_outside_is_404_for_every_role(two_communes: str, role: str) -> None:
    client = signed_in_client(create_app({"DATABASE_URL": two_communes, "TESTING": True}), f"u_{role}", role, ["C1"])
    inside = ["/units/C1", "/units/C1/month?month=2026-10", "/units/C1/month.csv?month=2026-10",
              "/units/C1/month.xlsx?month=2026-10", "/staff/A1?month=2026-10", "/staff/A1/days/2026-10-05"]
    outside = ["/units/C2", "/units/H", "/units/C2/month?month=2026-10", "/units/C2/summary?month=2026-10",
               "/units/C2/month.csv?month=2026-10", "/units/C2/month.xlsx?month=2026-10", "/staff/B1",
               "/staff/B1/days/2026-10-05", "/staff/NOBODY", "/units/NOWHERE/month"]
    for path in inside:
        assert client.get(path).status_code == 200, path
    for path in outside:
        assert client.get(path).status_code == 404, path
    # The district's people are not listed to a commune's user, not even in the grid.
    assert "B1" not in client.get("/units/C1/month?month=2026-10").get_data(as_text=True).replace("C1", "")


def test_pages_need_a_sign_in_and_refuse_bad_dates(two_communes: str) -> None:
    app = create_app({"DATABASE_URL": two_communes, "TESTING": True})
    anonymous = app.test_client()
    for path in ("/units/C1", "/units/C1/month", "/units/C1/month.csv", "/staff/A1", "/staff/A1/days/2026-10-05"):
        answer = anonymous.get(path)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], path
    client = signed_in_client(app, "boss", "admin")
    for bad in ("2026-13-01", "2026-10-5", "20261005", "9999-12-31", "x" * 5000):
        answer = client.get(f"/staff/A1/days/{bad}")
        assert answer.status_code == 400, bad
        assert "YYYY-MM-DD" in answer.get_data(as_text=True) or "9999" in answer.get_data(as_text=True)
    assert client.get("/staff/A1?month=0001-01").status_code == 400
    assert client.get("/units/C1?month=2026-1x").status_code == 400


def test_day_view_names_the_excuse_in_words(two_communes: str) -> None:
    client = signed_in_client(create_app({"DATABASE_URL": two_communes, "TESTING": True}), "head", "unit_head", ["H"])
    text = html.unescape(client.get("/staff/A1/days/2026-10-06").get_data(as_text=True))
    assert "Lý do vắng: Nghỉ ốm, từ 06/10/2026 07:00 đến 06/10/2026 17:00, số văn bản 12/GCN-BV" in text
    assert "sick_leave" not in text and "có lý do" in text
    month = client.get("/staff/A1?month=2026-10").get_data(as_text=True)
    assert 'class="day-excused" id="day-2026-10-06"' in month and "Nghỉ ốm" in month and "12/GCN-BV" in month
    late = html.unescape(client.get("/staff/A1/days/2026-10-05").get_data(as_text=True))
    assert "Số phút đi muộn: 20" in late and "quá ngưỡng 15 phút" in late  # 07:20 against 07:00 + 5 min grace


def test_month_grid_of_100_people_is_one_evaluation_then_read_from_stored_verdicts(sqlite_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    district = generate_district(units=1, staff_per_unit=100, month=MONTH, seed=3)
    load_district(district, tmp_path)
    with transaction() as session:
        (unit,) = [u.code for u in api.unit_tree(session) if u.kind == "commune"]
    client = signed_in_client(create_app({"DATABASE_URL": sqlite_url, "TESTING": True}), "perf", "admin")
    calls = count_evaluations(monkeypatch)
    first = client.get(f"/units/{unit}/month?month={MONTH}")
    # The whole unit-month in one go; how fast that is, bench/web_bench.py measures (a timed
    # assertion here would only measure how busy the test machine is).
    assert calls == [(dt.date(2026, 10, 1), dt.date(2026, 10, 31))]
    calls.clear()
    answer = client.get(f"/units/{unit}/month?month={MONTH}")
    assert answer.status_code == 200 and len(grid_rows(answer.get_data(as_text=True))) == 100
    assert calls == [] and grid_rows(answer.get_data(as_text=True)) == grid_rows(first.get_data(as_text=True))


def test_presence_on_a_day_and_the_latest_punch_day(two_communes: str) -> None:
    with transaction() as session:
        monday = presence_on(session, "H", dt.date(2026, 10, 5))
        tuesday = presence_on(session, "H", dt.date(2026, 10, 6))
        sunday = presence_on(session, "C1", dt.date(2026, 10, 4))
        latest, nothing = latest_punch_day(session, "C2"), presence_on(session, "C2", dt.date(2026, 11, 2))
        attention = terminals_needing_attention(session, "C1", now=dt.datetime(2026, 10, 20, 12))
    # Both came at 07:20 on Monday: 20 minutes after 07:00 (the grace only decides whether it counts).
    assert monday.working == 2 and [(a.staff_code, a.first_punch, a.late_minutes) for a in monday.present] == [
        ("A1", dt.time(7, 20), 20), ("B1", dt.time(7, 20), 20)]
    assert not monday.missing and not monday.excused
    # Tuesday: A1 on sick leave (expected away), B1 simply not in.
    assert tuesday.present == [] and tuesday.excused == [("A1", "Trần Văn Bình")] and tuesday.missing == [("B1", "Lê Thị Cúc")]
    assert sunday.working == 0 and sunday.present == [] and sunday.missing == []
    assert latest == dt.date(2026, 10, 5) and nothing.missing == [("B1", "Lê Thị Cúc")]
    assert [t.device for t in attention] == ["D1"] and "no_punches" in attention[0].problems  # D2 is C2's


def test_presence_of_nearby_days_comes_from_one_evaluation(two_communes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    days = [dt.date(2026, 10, 6), dt.date(2026, 10, 4), dt.date(2026, 10, 5), dt.date(2026, 11, 2)]
    calls = count_evaluations(monkeypatch)
    with transaction() as session:
        together = presence_on_days(session, "H", days)
    # Three days within two weeks: one evaluation; November is further: its own.
    assert calls == [(dt.date(2026, 10, 4), dt.date(2026, 10, 6)), (dt.date(2026, 11, 2), dt.date(2026, 11, 2))]
    with transaction() as session:
        alone = {day: presence_on(session, "H", day) for day in days}
    assert together == alone and alone[dt.date(2026, 10, 5)].present  # the same answer, day by day
    assert len(calls) == 2  # the second time from the stored verdicts
