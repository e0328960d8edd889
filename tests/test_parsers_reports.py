"""Report-shaped exports: iVMS "Original Records Report" split over several HTML tables,
Wise Eye "Chi tiết chấm công" (one row per person-day, Vào/Ra columns)."""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from devices.parsers import open_punch_bytes, open_punch_file, read_all
from devices.parsers.html_table import HtmlTableFile

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
HK_HEADER = (
    "Person ID,Name,Department,Time,Attendance Status,Attendance Check Point,Custom Name,"
    "Data Source,Handling Type,Temperature,Abnormal"
).split(",")


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} missing: run python sample_logs/make_samples.py")
    return path


def keys(frame: pd.DataFrame) -> list[tuple[int, str, str, object]]:
    return [
        (int(r.line_no), r.user_id, str(r.device_time), None if pd.isna(r.status) else int(r.status))
        for r in frame.itertuples()
    ]


# --- iVMS report: title, header and data in separate tables ----------------------------------


def test_hikvision_report_tables_sample_reads_every_record() -> None:
    report = read_all(open_punch_file(sample("hikvision_report_tables.xls")))
    # the same records exported as one plain table: every punch row is read, none lost
    plain = read_all(open_punch_file(sample("hikvision_original_records.xls")))
    strip = [(u, t, s) for _, u, t, s in keys(report.punches)]
    assert strip == [(u, t, s) for _, u, t, s in keys(plain.punches)]
    assert len(report.punches) == 432
    # skipped: the title, the row its rowspan covers, the period row, header, repeated header
    assert report.skipped == 5
    assert [r.reason.split(": ", 1)[1] for r in report.rejected] == [
        r.reason.split(": ", 1)[1] for r in plain.rejected
    ]
    # merged Department / Check Point cells (rowspan) do not shift the Time column
    assert report.punches["device_time"].notna().all()


def test_html_tables_with_rowspans_and_a_page_break() -> None:
    def tr(cells: list[str], tag: str = "td") -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    doc = (
        "<table><tr><td colspan=5 rowspan=2>Original Records Report</td></tr><tr></tr>"  # 1, 2
        "<tr><td colspan=5>Start Time: 2026-10-01 00:00:00</td></tr></table>"  # 3 caption
        "<table>" + tr(HK_HEADER[:5], "th") + "</table>"  # 4 header, a table of its own
        "<table>"
        "<tr><td>'7</td><td>An</td><td rowspan=3>UBND</td><td>2026-10-01 07:00:00</td>"
        "<td>Check-in</td></tr>"  # 5
        "<tr><td>'8</td><td>Bình</td><td>2026-10-01 07:01:00</td><td>Check-in</td></tr>"  # 6
        "<tr><td>'9</td><td>Cúc</td><td>2026-10-01 07:02:00</td><td>None</td></tr>"  # 7
        "<tr><td rowspan=2>'10</td><td>Dũng</td><td>X</td><td>2026-10-01 07:03:00</td>"
        "<td>Check-in</td></tr>"  # 8
        "<tr><td>Dũng</td><td>X</td><td>2026-10-01 17:03:00</td><td>Check-out</td></tr>"  # 9
        "</table>"
        "<table>" + tr(HK_HEADER[:5], "th") + "</table>"  # 10 page break: header again
        "<table>" + tr(["'11", "Én", "X", "2026-10-02 07:00:00", "Check-in"])  # 11
        + tr(["Total: 6 records"]) + "</table>"  # 12 a footer is no title: rejected, kept
    )
    pf = open_punch_bytes(doc.encode(), "report.xls")
    assert isinstance(pf, HtmlTableFile)
    res = read_all(pf)
    assert keys(res.punches) == [
        (5, "7", "2026-10-01 07:00:00", 0),
        (6, "8", "2026-10-01 07:01:00", 0),
        (7, "9", "2026-10-01 07:02:00", None),
        (8, "10", "2026-10-01 07:03:00", 0),
        (9, "10", "2026-10-01 17:03:00", 1),
        (11, "11", "2026-10-02 07:00:00", 0),
    ]
    assert res.skipped == 5  # rows 1-3 (titles), 4 header, 10 repeated header
    assert [(r.line_no, r.reason) for r in res.rejected] == [
        (12, "table row 12: expected at least 5 cells, found 1")
    ]
    assert res.raw_line(6) == "'8\tBình\tUBND\t2026-10-01 07:01:00\tCheck-in".encode()


def test_html_data_row_above_the_header_is_rejected_not_skipped() -> None:
    doc = (
        "<table><tr><td>'7</td><td>An</td><td>X</td><td>2026-10-01 07:00:00</td></tr>"
        "<tr>" + "".join(f"<th>{h}</th>" for h in HK_HEADER[:5]) + "</tr>"
        "<tr><td>'8</td><td>B</td><td>X</td><td>2026-10-01 07:05:00</td><td>None</td></tr></table>"
    )
    res = read_all(open_punch_bytes(doc.encode(), "r.xls"))
    assert res.skipped == 1 and len(res.punches) == 1
    assert [(r.line_no, r.reason) for r in res.rejected] == [
        (
            1,
            "table row 1: above the header (table row 2) but holds the time"
            " '2026-10-01 07:00:00': not a title row",
        )
    ]


# --- Wise Eye "Chi tiết chấm công" -----------------------------------------------------------


def _tk01_minutes() -> set[tuple[str, str]]:
    tk01 = read_all(open_punch_file(sample("tk01_attlog.dat"))).punches
    return {(u, str(t)[:16]) for u, t in zip(tk01["user_id"], tk01["device_time"], strict=True)}


def _expected_cells(path: Path) -> list[tuple[int, str, str, int]]:
    """Every non-empty Vào/Ra cell of the CSV sample, read with the csv module."""
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    header = rows[3]
    slots = [(i, 0 if h.startswith("Vào") else 1) for i, h in enumerate(header) if h[:2] in ("Và", "Ra")]
    out = []
    for line_no, r in enumerate(rows[4:], start=5):
        day = datetime.strptime(r[3], "%d/%m/%Y").date()
        for i, status in slots:
            if r[i] and r[i] != "11:3O":
                out.append((line_no, r[1], f"{day} {r[i]}:00", status))
    return out


@pytest.mark.parametrize("name", ["wiseeye_chitiet.csv", "wiseeye_chitiet.xlsx"])
def test_wise_eye_person_day_samples(name: str) -> None:
    pf = open_punch_file(sample(name))
    assert pf.info.columns == {
        "user_id": "Mã N.Viên",
        "date": "Ngày",
        "in_1": "Vào 1",
        "out_1": "Ra 1",
        "in_2": "Vào 2",
        "out_2": "Ra 2",
    }
    res = read_all(pf)
    expected = _expected_cells(sample("wiseeye_chitiet.csv"))
    # CSV line numbers and sheet row numbers agree (the CSV's blank third line is a row too)
    assert keys(res.punches) == expected
    assert res.skipped == 3  # two title rows, the header; the empty row is blank
    column = "field 7" if name.endswith(".csv") else "column G"
    assert [(r.line_no, r.reason) for r in res.rejected] == [
        (108, f"{column} (Ra 1): '11:3O' is not a valid time (hh:mm[:ss])")
    ]
    # every punch is one TK-01 recorded, to the minute (Wise Eye drops the seconds)
    minutes = _tk01_minutes()
    assert all((u, t[:16]) in minutes for _, u, t, _ in expected)
    assert len(expected) > 400


def test_wise_eye_xlsx_built_here_missing_cells_and_days_off() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["CHI TIẾT CHẤM CÔNG"])
    ws.append(["Mã N.Viên", "Tên nhân viên", "Ngày", "Vào 1", "Ra 1", "Vào 2", "Ra 2"])
    ws.append(["0042", "Tài", "13/10/2026", "07:02", None, "13:29", "17:05"])  # 3: Ra 1 missing
    ws.append(["0042", "Tài", "14/10/2026", None, None, None, None])  # 4: a day off
    ws.append(["0042", "Tài", "15/10/2026", "6:58 SA", "x", "", "05:01 CH"])  # 5
    ws.append(["", "Khách", "15/10/2026", "08:00"])  # 6: no id
    buf = io.BytesIO()
    wb.save(buf)
    res = read_all(open_punch_bytes(buf.getvalue(), "wise.xlsx"))
    assert keys(res.punches) == [
        (3, "0042", "2026-10-13 07:02:00", 0),
        (3, "0042", "2026-10-13 13:29:00", 0),
        (3, "0042", "2026-10-13 17:05:00", 1),
        (5, "0042", "2026-10-15 06:58:00", 0),
        (5, "0042", "2026-10-15 17:01:00", 1),
    ]
    assert [(r.line_no, r.reason) for r in res.rejected] == [
        (5, "column E (Ra 1): 'x' is not a valid time (hh:mm[:ss])"),
        (6, "column A (user id): empty"),
    ]
    assert res.skipped == 2  # title, header
