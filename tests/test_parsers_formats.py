"""Tests of the ZKTime CSV, Hikvision (CSV and HTML '.xls') and xlsx readers and profiles."""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from devices.parsers import (
    FORMATS,
    MappingProfile,
    ParsedChunk,
    ProfileError,
    RejectedLine,
    UnsupportedFile,
    decode_text,
    open_punch_bytes,
    open_punch_file,
    profile_from_dict,
    profile_to_dict,
    read_all,
)
from devices.parsers.detect import DelimitedFile
from devices.parsers.html_table import HtmlTableFile
from devices.parsers.xlsx import XlsxFile

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"

ZKTIME_HEADER = "Department,Name,No.,Date/Time,Status,Location ID"
HK_HEADER = (
    "Person ID,Name,Department,Time,Attendance Status,Attendance Check Point,Custom Name,"
    "Data Source,Handling Type,Temperature,Abnormal"
)


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} missing: run python sample_logs/make_samples.py")
    return path


def row(chunk: ParsedChunk, i: int) -> tuple[int, str, str, int | None]:
    """(line_no, user_id, device_time, status) of the i-th punch."""
    rec = chunk.punches.iloc[i]
    status = None if pd.isna(rec["status"]) else int(rec["status"])
    return int(rec["line_no"]), rec["user_id"], str(rec["device_time"]), status


def at_line(chunk: ParsedChunk, line_no: int) -> tuple[int, str, str, int | None]:
    index = chunk.punches.index[chunk.punches["line_no"] == line_no]
    assert len(index) == 1, f"no punch on line {line_no}"
    return row(chunk, int(index[0]))


def reasons(chunk: ParsedChunk) -> list[tuple[int, str]]:
    return [(r.line_no, r.reason) for r in chunk.rejected]


def keys(chunk: ParsedChunk) -> list[tuple[str, pd.Timestamp]]:
    return sorted(zip(chunk.punches["user_id"], chunk.punches["device_time"], strict=True))


def workbook_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def html_table(rows: list[list[str]], before: str = "", after: str = "") -> bytes:
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c, quote=False)}</td>" for c in r) + "</tr>\n"
        for r in rows
    )
    doc = f"<html><head><meta charset='utf-8'></head><body>{before}<table>\n{body}</table>{after}"
    return (doc + "</body></html>\n").encode("utf-8")


# --- ZKTime 5 / Att2000 CSV ---------------------------------------------------------------


def test_zktime_sample() -> None:
    pf = open_punch_file(sample("zktime_att2000.csv"))
    assert isinstance(pf, DelimitedFile)
    info = pf.info
    assert (info.format, info.encoding, info.date_order, info.delimiter, info.line_unit) == (
        "zktime_csv",
        "cp1258",
        "mdy",
        ",",
        "line",
    )
    assert info.columns == {"user_id": "No.", "datetime": "Date/Time", "status": "Status"}
    res = read_all(pf)
    assert (len(res.punches), len(res.rejected), res.skipped) == (363, 2, 1)
    assert row(res, 0) == (2, "00007", "2026-10-02 06:44:00", 0)
    assert row(res, 362) == (366, "115", "2026-10-12 17:04:00", 1)
    assert res.rejected == [
        RejectedLine(201, "UBND xã,,,10/08/2026 7:12 AM,C/In,1", "field 3 (user id): empty"),
        RejectedLine(
            328,
            "UBND xã,Trịnh Thị Quỳnh,114,10/09/2026 13:05 PM,,1",
            "field 4 (date/time): '10/09/2026 13:05 PM' is not a valid date/time"
            " (mm/dd/yyyy hh:mm[:ss])",
        ),
    ]
    # month first: 10/05/2026 is 5 October; 12 PM is noon and 12 AM is midnight
    assert at_line(res, 70) == (70, "101", "2026-10-05 12:00:00", 1)
    assert at_line(res, 14) == (14, "00007", "2026-10-07 12:30:00", 1)
    assert at_line(res, 319) == (319, "114", "2026-10-07 00:00:00", 1)
    users = set(res.punches["user_id"])
    assert {"0042", "00007"} <= users and not {"42", "7"} & users
    assert res.punches["status"].value_counts().to_dict() == {0: 182, 1: 181}
    assert res.punches["device_time"].dt.second.eq(0).all()  # Att2000 drops the seconds


def test_zktime_dates_are_never_voted() -> None:
    # every date of 1-12 October reads both ways: a generic CSV read must refuse the file
    with pytest.raises(UnsupportedFile, match="cannot tell dd/mm from mm/dd"):
        open_punch_file(sample("zktime_att2000.csv"), fmt="csv")
    forced = open_punch_file(sample("zktime_att2000.csv"), fmt="zktime_csv")
    assert forced.info.format == "zktime_csv" and forced.info.date_order == "mdy"


def test_zktime_am_pm_edges_and_statuses() -> None:
    rows = [
        "UBND,An,0012,10/13/2026 12:00 AM,C/In,1",  # 2 midnight
        "UBND,An,0012,10/13/2026 12:59 AM,C/Out,1",  # 3
        "UBND,An,0012,10/13/2026 1:00 AM,c/in,1",  # 4 labels ignore case
        "UBND,An,0012,10/13/2026 12:00 PM,,1",  # 5 noon, no status
        "UBND,An,0012,10/13/2026 12:59 PM,Khác,1",  # 6 unknown label: null
        "UBND,An,0012,10/13/2026 11:59 PM,Break Out,1",  # 7 ZK state 2
        "UBND,An,0012,10/13/2026 0:30 AM,C/In,1",  # 8 no hour 0 on a 12-hour clock
        "UBND,An,0012,13/10/2026 7:00 AM,C/In,1",  # 9 day first is not ZKTime's
        "UBND,An,0012,10/13/2026 07:05:09 pm,C/Out,1",  # 10 seconds, lower-case pm
        "UBND,An,0012,2026-10-13 08:00,C/In,1",  # 11 ISO is always read
    ]
    res = read_all(open_punch_bytes(("\n".join([ZKTIME_HEADER, *rows]) + "\n").encode(), "z.csv"))
    assert [row(res, i) for i in range(len(res.punches))] == [
        (2, "0012", "2026-10-13 00:00:00", 0),
        (3, "0012", "2026-10-13 00:59:00", 1),
        (4, "0012", "2026-10-13 01:00:00", 0),
        (5, "0012", "2026-10-13 12:00:00", None),
        (6, "0012", "2026-10-13 12:59:00", None),
        (7, "0012", "2026-10-13 23:59:00", 2),
        (10, "0012", "2026-10-13 19:05:09", 1),
        (11, "0012", "2026-10-13 08:00:00", 0),
    ]
    expected = "is not a valid date/time (mm/dd/yyyy hh:mm[:ss])"
    assert reasons(res) == [
        (8, f"field 4 (date/time): '10/13/2026 0:30 AM' {expected}"),
        (9, f"field 4 (date/time): '13/10/2026 7:00 AM' {expected}"),
    ]


# --- Hikvision "Original Records": CSV and the HTML '.xls' --------------------------------


def test_hikvision_csv_sample() -> None:
    pf = open_punch_file(sample("hikvision_original_records.csv"))
    info = pf.info
    assert (info.format, info.encoding, info.date_order, info.delimiter) == (
        "hikvision",
        "utf-8-sig",
        "ymd",
        ",",
    )
    assert info.columns == {
        "user_id": "Person ID",
        "datetime": "Time",
        "status": "Attendance Status",
    }
    res = read_all(pf)
    assert (len(res.punches), len(res.rejected), res.skipped) == (432, 2, 1)
    assert row(res, 0) == (2, "00102", "2026-10-01 06:57:56", None)  # status "None"
    assert row(res, 1) == (3, "00115", "2026-10-01 07:09:20", 0)  # "Check-in"
    assert row(res, 431) == (435, "00111", "2026-10-31 07:29:52", 0)
    assert reasons(res) == [
        (152, "field 1 (user id): empty"),  # a stranger's face
        (282, "field 4 (date/time): '' is not a valid date/time (yyyy-mm-dd hh:mm[:ss])"),
    ]
    assert res.punches["status"].value_counts(dropna=False).to_dict() == {1: 202, 0: 197, pd.NA: 33}
    ids = set(res.punches["user_id"])
    assert len(ids) == 17 and {"00007", "00042", "00101"} <= ids
    assert not any(i.startswith("'") for i in ids)


def test_hikvision_html_xls_sample_matches_the_csv() -> None:
    path = sample("hikvision_original_records.xls")
    assert path.read_bytes().startswith(b"<html")
    pf = open_punch_file(path)
    assert isinstance(pf, HtmlTableFile)
    info = pf.info
    assert (info.format, info.encoding, info.date_order, info.delimiter, info.line_unit) == (
        "hikvision",
        "utf-8",
        "ymd",
        None,
        "table row",
    )
    res = read_all(pf)
    csv = read_all(open_punch_file(sample("hikvision_original_records.csv")))
    # the header is table row 1, so table rows and CSV lines have the same numbers
    pd.testing.assert_frame_equal(res.punches, csv.punches)
    assert res.skipped == 1
    assert reasons(res) == [
        (152, "table row 152, cell 1 (user id): empty"),
        (
            282,
            "table row 282, cell 4 (date/time): '' is not a valid date/time"
            " (yyyy-mm-dd hh:mm[:ss])",
        ),
    ]
    assert (
        res.rejected[0].raw
        == "\t\t\t2026-10-14 18:42:07\tNone\tCổng phụ_Cửa1\t\tDevice\tNormal\t36.4\tNo"
    )
    assert res.raw_line(152).decode() == res.rejected[0].raw  # &nbsp; cells read as empty
    assert res.raw_line(1).startswith(b"Person ID\tName\tDepartment\tTime\t")


def test_hikvision_html_structure() -> None:
    header = HK_HEADER.split(",")
    good = ["'00012", "Lê &amp; Cường", "UBND", "2026-10-01 07:58:12", "Check-out"]
    doc = (
        "<html><body><p>Original Records</p>"
        "<table><tr><td>layout table, no header</td></tr></table>"  # 1: a title row (no time)
        "<table>"
        "<tr><td colspan='11'>Original Records</td></tr>"  # 2 title row
        "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"  # 3 header
        "<tr>" + "".join(f"<td>{c}</td>" for c in good) + "</tr>"  # 4
        "<tr></tr>"  # 5 blank: counted as a row number, nowhere else
        "<tr><td>'00013</td><td>B<br>Nguyễn</td><td colspan=2>&nbsp;</td><td>None</td></tr>"  # 6
        "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"  # 7 repeated header
        "<tr><td>\t'00014 </td><td>C</td><td>X</td>"
        "<td>2026-10-01\n 17:00:01</td><td>Check-in</td></tr>"  # 8 whitespace collapses
        # a nested table does not end the row; its own row (9) ends first and is read too
        "<tr><td>'00015</td><td>D<table><tr><td>nested</td></tr></table></td><td>X</td>"
        "<td>2026-10-02 07:00:00</td><td>x</td></tr>"  # 10
        "<tr><td>'00016</td><td>E</td><td>X</td><td>2026-10-02 07:00:00"  # 11 unclosed
    )
    pf = open_punch_bytes(doc.encode(), "records.xls")
    assert isinstance(pf, HtmlTableFile) and pf.table == 2
    res = read_all(pf)
    assert [row(res, i) for i in range(len(res.punches))] == [
        (4, "00012", "2026-10-01 07:58:12", 1),
        (8, "00014", "2026-10-01 17:00:01", 0),
        (10, "00015", "2026-10-02 07:00:00", None),
    ]
    assert res.skipped == 4  # two title rows, header, repeated header
    assert reasons(res) == [
        (6, "table row 6, cell 4 (date/time): '' is not a valid date/time (yyyy-mm-dd hh:mm[:ss])"),
        (9, "table row 9: expected at least 5 cells, found 1"),
        (11, "table row 11: expected at least 5 cells, found 4"),
    ]
    assert res.rejected[0].raw == "'00013\tB Nguyễn\t\t\tNone"
    assert res.raw_line(5) == b""


def test_hikvision_html_odd_dates_do_not_refuse_the_file() -> None:
    rows = [HK_HEADER.split(",")]
    rows += [["'1", "A", "X", f"2026-10-0{d} 07:00:00", "Check-in"] for d in range(1, 4)]
    rows += [["'2", "B", "X", "01/02/2026 07:00", "None"], ["'3", "C", "X", "02/13/2026 07:00", ""]]
    rows += [["'4", "D", "X", "13/02/2026 07:00", ""]]
    res = read_all(open_punch_bytes(html_table(rows), "r.xls"))
    assert res.punches["line_no"].tolist() == [2, 3, 4]
    assert [n for n, _ in reasons(res)] == [5, 6, 7]


# --- xlsx ---------------------------------------------------------------------------------


def test_mitapro_xlsx_sample() -> None:
    pf = open_punch_file(sample("mitapro_export.xlsx"))
    assert isinstance(pf, XlsxFile)
    info = pf.info
    assert (info.format, info.sheet, info.line_unit, info.delimiter) == (
        "xlsx",
        "Chi tiết",  # the first sheet ("Tổng hợp") has no date/time column
        "sheet row",
        None,
    )
    assert info.columns == {"user_id": "Mã chấm công", "date": "Ngày", "time": "Giờ"}
    assert info.date_order == "dmy"  # decided by the one text date, 31/09/2026
    res = read_all(pf)
    assert (len(res.punches), len(res.rejected), res.skipped) == (500, 2, 3)
    assert row(res, 0) == (5, "301", "2026-10-01 11:31:31", None)
    assert row(res, 499) == (506, "306", "2026-10-30 13:29:00", None)
    assert reasons(res) == [
        (125, "column F (time): empty"),
        (405, "column E (date): '31/09/2026' is not a valid date (dd/mm/yyyy)"),
    ]
    assert res.rejected[0].raw == "121\t302\tTrần Văn Dũng\tTrạm y tế\t2026-10-20 00:00:00\t\tTK-03"
    assert res.raw_line(125).decode() == res.rejected[0].raw
    # real date and time cells give the same keys as TK-03's own attlog
    tk03 = read_all(open_punch_file(sample("tk03_named_attlog.dat")))
    assert keys(res) == keys(tk03)


def test_ronaldjack_xlsx_sample() -> None:
    pf = open_punch_file(sample("ronaldjack_export.xlsx"))
    info = pf.info
    assert (info.format, info.sheet, info.date_order) == ("xlsx", "DuLieuChamCong", "dmy")
    # the attendance code beats the HR code (Mã NV)
    assert info.columns == {
        "user_id": "Mã chấm công",
        "date": "Ngày",
        "time": "Giờ",
        "status": "Trạng thái",
    }
    res = read_all(pf)
    assert (len(res.punches), len(res.rejected), res.skipped) == (453, 2, 2)
    assert row(res, 0) == (3, "204", "2026-10-01 06:46:03", 0)  # a number cell, status "Vào"
    assert row(res, 452) == (457, "204", "2026-10-30 17:15:14", 0)
    assert reasons(res) == [
        (103, "column B (user id): empty"),
        (303, "column E (time): '7:3O' is not a valid time (hh:mm[:ss])"),
    ]
    assert res.rejected[1].raw == "NV006\t203\tVũ Thị Hà\t23/10/2026\t7:3O\tVào"
    tk02 = read_all(open_punch_file(sample("tk02_1_attlog.dat")))
    assert keys(res) == keys(tk02)


def test_xlsx_cells_of_every_kind() -> None:
    wb = Workbook()
    notes = wb.active
    notes.title = "Ghi chú"
    notes.append(["Không có dữ liệu chấm công ở đây"])
    ws = wb.create_sheet("Data")
    ws.append(["BẢNG CHẤM CÔNG"])  # 1 title
    ws.append([])  # 2 blank
    ws.append(["Mã NV", "Họ tên", "Thời gian", "Trạng thái"])  # 3 header
    cells: list[list[object]] = [
        ["'00042", "An", datetime(2026, 10, 13, 7, 58, 11, 600_000), 0],  # 4 rounds up
        [101, "Bình", "13/10/2026 05:30 CH", "Ra"],  # 5 number id, text, Vietnamese PM
        [101.0, "Bình", 46308.5, 1.0],  # 6 float id, an Excel serial (13/10/2026 12:00)
        [1.5, "X", datetime(2026, 10, 13, 8, 0), 0],  # 7
        ["A\n1", "X", datetime(2026, 10, 13, 8, 0), 0],  # 8 a line break in an id
        [102, "X", time(8, 0), 0],  # 9 a time without a date
        ["   ", "   ", None, None],  # 10 only spaces: blank
        ["Mã NV", "Họ tên", "Thời gian", "Trạng thái"],  # 11 repeated header
        [103, "Y", "ngày 13", "Vào"],  # 12
        ["Tổng cộng: 3 lượt"],  # 13 footer
        [104, None, datetime(2026, 10, 13, 23, 59, 59, 700_000), "?"],  # 14 next day
    ]
    for r in cells:
        ws.append(r)
    pf = open_punch_bytes(workbook_bytes(wb), "export.xlsx", chunk_lines=4)
    assert pf.info.sheet == "Data" and pf.info.date_order == "dmy"
    assert pf.info.columns == {"user_id": "Mã NV", "datetime": "Thời gian", "status": "Trạng thái"}
    chunks = list(pf.chunks())
    assert [c.first_line_no for c in chunks] == [1, 5, 9, 13]
    res = read_all(pf)
    assert [row(res, i) for i in range(len(res.punches))] == [
        (4, "00042", "2026-10-13 07:58:12", 0),
        (5, "101", "2026-10-13 17:30:00", 1),
        (6, "101", "2026-10-13 12:00:00", 1),
        (14, "104", "2026-10-14 00:00:00", None),
    ]
    assert reasons(res) == [
        (7, "column A (user id): '1.5' is not a whole number"),
        (8, "column A (user id): contains control character U+000A at position 2"),
        (9, "column C (date/time): '08:00:00' is not a valid date/time (dd/mm/yyyy hh:mm[:ss])"),
        (12, "column C (date/time): 'ngày 13' is not a valid date/time (dd/mm/yyyy hh:mm[:ss])"),
        (13, "column C (date/time): empty"),
    ]
    assert res.skipped == 3  # title, header, repeated header (rows 2 and 10 are blank)
    assert res.raw_line(8) == b"A\\n1\tX\t2026-10-13 08:00:00\t0"  # one line per row


def test_xlsx_date_and_time_columns_as_cells_serials_and_text() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã chấm công", "Ngày", "Giờ"])
    ws.append(["7", datetime(2026, 10, 2), time(7, 5)])  # 2
    ws.append(["7", datetime(2026, 10, 2, 9, 9), "17:01"])  # 3 a date cell's time is ignored
    ws.append(["7", 46297, 0.75])  # 4 serials: 2026-10-02, 18:00
    ws.append(["7", "2026-10-02", timedelta(hours=6, minutes=1)])  # 5 ISO text, duration
    ws.append(["7", datetime(2026, 10, 2), 1.25])  # 6 not a time of day
    ws.append(["7", None, time(7, 0)])  # 7
    ws.append(["7", "13/10/2026", "7h30"])  # 8 a text date decides the order
    pf = open_punch_bytes(workbook_bytes(wb), "d.xlsx")
    assert pf.info.date_order == "dmy"
    res = read_all(pf)
    assert [row(res, i)[2] for i in range(len(res.punches))] == [
        "2026-10-02 07:05:00",
        "2026-10-02 17:01:00",
        "2026-10-02 18:00:00",
        "2026-10-02 06:01:00",
        "2026-10-13 07:30:00",
    ]
    assert reasons(res) == [
        (6, "column C (time): '1.25' is not a valid time (hh:mm[:ss])"),
        (7, "column B (date): empty"),
    ]


def test_xlsx_ambiguous_text_dates_need_a_profile() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã CC", "Ngày", "Giờ"])
    ws.append(["7", "01/02/2026", "07:00"])
    ws.append(["7", "03/04/2026", "07:00"])
    data = workbook_bytes(wb)
    with pytest.raises(UnsupportedFile, match=r"^a\.xlsx: cannot tell dd/mm from mm/dd"):
        open_punch_bytes(data, "a.xlsx")
    profile = MappingProfile("us", user_id="Mã CC", date="Ngày", time="Giờ", date_order="mdy")
    pf = open_punch_bytes(data, "a.xlsx", profile=profile)
    assert (pf.info.date_order, pf.info.profile) == ("mdy", "us")
    assert read_all(pf).punches["device_time"].astype(str).tolist() == [
        "2026-01-02 07:00:00",
        "2026-03-04 07:00:00",
    ]


def test_xlsx_wrong_stored_dimension_still_reads_every_row() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["User ID", "Date/Time"])
    for i in range(1, 6):
        ws.append([f"{i:03d}", datetime(2026, 10, 13, 7, i)])
    src = zipfile.ZipFile(io.BytesIO(workbook_bytes(wb)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', data)
            dst.writestr(item, data)
    res = read_all(open_punch_bytes(out.getvalue(), "dim.xlsx"))
    assert res.punches["user_id"].tolist() == ["001", "002", "003", "004", "005"]


def test_xlsx_skips_a_sheet_of_in_out_pairs() -> None:
    wb = Workbook()
    pairs = wb.active
    pairs.title = "Bảng công"
    pairs.append(["Mã CC", "Ngày", "Giờ vào", "Giờ ra"])
    pairs.append(["7", "13/10/2026", "07:00", "17:00"])
    only_pairs = workbook_bytes(wb)
    raw = wb.create_sheet("Dữ liệu")
    raw.append(["Mã CC", "Ngày", "Giờ"])
    raw.append(["7", "13/10/2026", "07:00:09"])
    pf = open_punch_bytes(workbook_bytes(wb), "w.xlsx")
    assert pf.info.sheet == "Dữ liệu"
    assert row(read_all(pf), 0) == (2, "7", "2026-10-13 07:00:09", None)
    with pytest.raises(
        UnsupportedFile,
        match=r"^w\.xlsx: no worksheet can be read: sheet 'Bảng công': header on sheet row 1 has in/out time pairs",
    ):
        open_punch_bytes(only_pairs, "w.xlsx")


def test_xlsx_without_a_header_anywhere() -> None:
    wb = Workbook()
    wb.active.append(["Báo cáo", "tháng 10"])
    wb.create_sheet("Trống")
    with pytest.raises(UnsupportedFile, match=r"any worksheet \('Sheet', 'Trống'\)"):
        open_punch_bytes(workbook_bytes(wb), "x.xlsx")


@pytest.mark.parametrize(
    "name",
    [
        "zktime_att2000.csv",
        "hikvision_original_records.csv",
        "hikvision_original_records.xls",
        "mitapro_export.xlsx",
        "ronaldjack_export.xlsx",
    ],
)
@pytest.mark.parametrize("chunk_lines", [7, 100])
def test_streaming_chunks_equal_one_chunk(name: str, chunk_lines: int) -> None:
    path = sample(name)
    whole = read_all(open_punch_file(path, chunk_lines=1_000_000))
    pf = open_punch_file(path, chunk_lines=chunk_lines)
    chunks = list(pf.chunks())
    # raw lines: the file's bytes (BOM removed) for text files, UTF-8 cell text otherwise
    codec = "cp1258" if pf.info.encoding == "cp1258" else "utf-8"
    assert all(len(c.raw_lines()) <= chunk_lines for c in chunks)
    merged = pd.concat([c.punches for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(merged, whole.punches)
    assert [r for c in chunks for r in c.rejected] == whole.rejected
    assert sum(c.skipped for c in chunks) == whole.skipped
    done = [c.bytes_done for c in chunks]
    assert done == sorted(done) and done[-1] == path.stat().st_size
    for c in chunks:
        for r in c.rejected:
            assert decode_text(c.raw_line(r.line_no), codec).rstrip("\r") == r.raw


# --- detection by content -------------------------------------------------------------------


def test_formats_the_cli_can_list() -> None:
    assert FORMATS == ("auto", "zk_attlog", "csv", "zktime_csv", "hikvision", "xlsx")


@pytest.mark.parametrize(
    ("source", "name", "fmt"),
    [
        ("hikvision_original_records.xls", "records.csv", "hikvision"),  # HTML named .csv
        ("hikvision_original_records.csv", "records.xls", "hikvision"),  # CSV named .xls
        ("mitapro_export.xlsx", "mitapro.xls", "xlsx"),
        ("ronaldjack_export.xlsx", "export.dat", "xlsx"),
        ("zktime_att2000.csv", "att2000.txt", "zktime_csv"),
        ("tk01_attlog.dat", "attlog.xls", "zk_attlog"),
        ("wiseeye_export.csv", "wise.xlsx", "csv"),
    ],
)
def test_detected_by_content_not_by_name(source: str, name: str, fmt: str) -> None:
    pf = open_punch_bytes(sample(source).read_bytes(), name)
    assert pf.info.format == fmt


def test_real_binary_xls_and_other_zips_are_refused() -> None:
    biff = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    for fmt in ("auto", "xlsx", "hikvision", "csv"):
        with pytest.raises(
            UnsupportedFile,
            match=r"^old\.xls: this is an Excel \.xls workbook in the binary Excel 97-2003 format",
        ):
            open_punch_bytes(biff, "old.xls", fmt=fmt)
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    with pytest.raises(UnsupportedFile, match=r"OpenDocument file \(\.ods\)"):
        open_punch_bytes(ods.getvalue(), "a.ods")
    with pytest.raises(UnsupportedFile, match=r"Excel \.xlsx workbook \(zip\) that cannot be read"):
        open_punch_bytes(b"PK\x03\x04broken", "a.xlsx")


def test_forced_formats_must_fit_the_content() -> None:
    with pytest.raises(UnsupportedFile, match=r"not an Excel \.xlsx workbook"):
        open_punch_bytes(sample("wiseeye_export.csv").read_bytes(), "w.csv", fmt="xlsx")
    with pytest.raises(UnsupportedFile, match="read it with fmt 'xlsx' or 'auto'"):
        open_punch_bytes(sample("mitapro_export.xlsx").read_bytes(), "m.xlsx", fmt="csv")
    with pytest.raises(UnsupportedFile, match="read it with fmt 'hikvision' or 'auto'"):
        open_punch_bytes(
            sample("hikvision_original_records.xls").read_bytes(), "h.xls", fmt="zk_attlog"
        )
    with pytest.raises(UnsupportedFile, match="not a ZKTime 5 / Att2000 export"):
        open_punch_bytes(
            sample("hikvision_original_records.csv").read_bytes(), "h.csv", fmt="zktime_csv"
        )
    with pytest.raises(UnsupportedFile, match="not a Hikvision 'Original Records' export"):
        open_punch_bytes(sample("wiseeye_export.csv").read_bytes(), "w.csv", fmt="hikvision")
    forced = open_punch_bytes(
        sample("hikvision_original_records.xls").read_bytes(), "h.xls", fmt="hikvision"
    )
    assert forced.info.line_unit == "table row"
    # a forced generic read of a Hikvision CSV is a plain csv
    plain = open_punch_bytes(
        sample("hikvision_original_records.csv").read_bytes(), "h.csv", fmt="csv"
    )
    assert plain.info.format == "csv" and len(read_all(plain).punches) == 432


def test_html_and_xml_without_a_usable_table() -> None:
    with pytest.raises(UnsupportedFile, match=r"^p\.xls: this is an HTML table .* no header row"):
        open_punch_bytes(html_table([["Báo cáo"], ["a", "b"]]), "p.xls")
    with pytest.raises(UnsupportedFile, match="XML/HTML document without a table"):
        open_punch_bytes(b'<?xml version="1.0"?>\n<Workbook></Workbook>\n', "s.xls")
    with pytest.raises(UnsupportedFile, match="mapping profiles apply to CSV and .xlsx"):
        profile = MappingProfile("p", user_id="Person ID", datetime="Time")
        open_punch_bytes(
            sample("hikvision_original_records.xls").read_bytes(), "h.xls", profile=profile
        )
    with pytest.raises(ValueError, match="a mapping profile applies to fmt 'csv' or 'xlsx'"):
        open_punch_bytes(b"x", fmt="hikvision", profile=MappingProfile("p", user_id="0"))


# --- mapping profiles -----------------------------------------------------------------------


def test_profile_by_header_name_csv_and_xlsx() -> None:
    profile = profile_from_dict(
        {"name": "door", "user_id": "Số thẻ", "datetime": "Lúc", "status": "Cửa"}
    )
    text = "Số thẻ;Lúc;Cửa\n0007;2026-10-13 07:00:05;1\n0008;2026-10-13 07:01:00;x\n"
    res = read_all(open_punch_bytes(text.encode(), "d.txt", profile=profile))
    assert [row(res, i) for i in range(2)] == [
        (2, "0007", "2026-10-13 07:00:05", 1),
        (3, "0008", "2026-10-13 07:01:00", None),
    ]
    wb = Workbook()
    ws = wb.active
    ws.append(["Cổng chính - tháng 10"])
    ws.append(["SO THE", "luc", "Cửa"])  # header names match loosely (accents, case)
    ws.append(["0007", datetime(2026, 10, 13, 7, 0, 5), 1])
    pf = open_punch_bytes(workbook_bytes(wb), "d.xlsx", profile=profile)
    assert (pf.info.format, pf.info.profile) == ("xlsx", "door")
    assert pf.info.columns == {"user_id": "SO THE", "datetime": "luc", "status": "Cửa"}
    assert row(read_all(pf), 0) == (3, "0007", "2026-10-13 07:00:05", 1)


def test_profile_by_index_csv_and_xlsx() -> None:
    data = {
        "name": "raw",
        "user_id": 1,
        "date": 2,
        "time": "3",
        "has_header": False,
        "date_order": "dmy",
    }
    profile = profile_from_dict(data)
    assert (profile.user_id, profile.date, profile.time) == ("1", "2", "3")
    text = "x,0042,13/10/2026,07:00\nx,0043,14/10/2026,7h05\n"
    res = read_all(open_punch_bytes(text.encode(), "raw.csv", profile=profile))
    assert [row(res, i) for i in range(2)] == [
        (1, "0042", "2026-10-13 07:00:00", None),
        (2, "0043", "2026-10-14 07:05:00", None),
    ]
    wb = Workbook()
    ws = wb.active
    ws.append(["x", "0042", datetime(2026, 10, 13), time(7, 0)])
    ws.append(["x", "0043", "14/10/2026", "07:05"])
    ws.append(["x", "0044", "14/10/2026"])  # time cell missing
    pf = open_punch_bytes(workbook_bytes(wb), "raw.xlsx", profile=profile)
    assert pf.info.columns == {"user_id": "column 1", "date": "column 2", "time": "column 3"}
    res = read_all(pf)
    assert [row(res, i) for i in range(2)] == [
        (1, "0042", "2026-10-13 07:00:00", None),
        (2, "0043", "2026-10-14 07:05:00", None),
    ]
    assert reasons(res) == [(3, "column D (time): empty")]


def test_profile_round_trip() -> None:
    profile = MappingProfile(
        "p", user_id="Mã", date="Ngày", time="Giờ", delimiter="\t", date_order="dmy"
    )
    stored = profile_to_dict(profile)
    assert stored == {
        "name": "p",
        "user_id": "Mã",
        "datetime": None,
        "date": "Ngày",
        "time": "Giờ",
        "status": None,
        "delimiter": "\t",
        "has_header": True,
        "date_order": "dmy",
    }
    assert profile_from_dict(stored) == profile
    assert profile_from_dict({"user_id": "A", "datetime": "B"}, name="from-db").name == "from-db"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "p", "user_id": "A", "datetime": "B", "colour": 1}, ["colour: unknown key"]),
        ({"name": "p", "datetime": "B"}, ["user_id: missing"]),
        ({"user_id": "A", "datetime": "B"}, ["name: missing"]),
        ({"name": " ", "user_id": "A", "datetime": "B"}, ["name: must not be empty"]),
        ({"name": "p", "user_id": "A"}, ["datetime: give 'datetime', or both 'date' and 'time'"]),
        ({"name": "p", "user_id": "A", "date": "D"}, ["time: give 'datetime'"]),
        ({"name": "p", "user_id": "A", "datetime": "B", "time": "C"}, ["datetime: give either"]),
        ({"name": "p", "user_id": "A", "datetime": "a"}, ["datetime: the same column as user_id"]),
        ({"name": "p", "user_id": 3, "datetime": "B"}, ["user_id: 3 is a column index"]),
        (
            {"name": "p", "user_id": "A", "datetime": 1, "has_header": False},
            ["user_id: must be a 0-based"],
        ),
        (
            {"name": "p", "user_id": -1, "datetime": 1, "has_header": False},
            ["user_id: must be a 0-based"],
        ),
        (
            {"name": "p", "user_id": "A", "datetime": "B", "has_header": "no"},
            ["has_header: must be true or false"],
        ),
        (
            {"name": "p", "user_id": "A", "datetime": "B", "date_order": "dd/mm"},
            ["date_order: must be one of"],
        ),
        (
            {"name": "p", "user_id": "A", "datetime": "B", "delimiter": "tab"},
            ["delimiter: must be one of"],
        ),
        ({"name": "p", "user_id": ["A"], "datetime": "B"}, ["user_id: must be text, not list"]),
        (
            {"name": "p", "user_id": "A", "datetime": "B", "x": 1, "date_order": 5},
            ["x: unknown key", "date_order: must be one of"],
        ),
    ],
)
def test_profile_from_dict_errors_name_the_key(data: dict[str, object], errors: list[str]) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data)
    assert len(caught.value.errors) == len(errors)
    for got, want in zip(caught.value.errors, errors, strict=True):
        assert got.startswith(want), got
    assert isinstance(caught.value, ValueError)


def test_profile_from_dict_refuses_a_non_mapping() -> None:
    with pytest.raises(ProfileError, match="profile: must be an object"):
        profile_from_dict(["user_id"])  # type: ignore[arg-type]


# --- property: garbage never costs a good row -------------------------------------------------


@dataclass(frozen=True)
class Row:
    text: str
    expected: tuple[str, datetime, int | None] | None = None
    body: bytes | None = None  # bytes that need not be valid text (else text as UTF-8)

    def encoded(self) -> bytes:
        return self.text.encode("utf-8") if self.body is None else self.body


pins = st.from_regex(r"0{0,3}[1-9][0-9]{0,5}", fullmatch=True)
minutes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
people = st.text(alphabet="AnBchĐđưƯễọÁ Thủy", max_size=12).map(str.strip)


@st.composite
def zktime_rows(draw: st.DrawFn) -> Row:
    pin, when, name = draw(pins), draw(minutes).replace(second=0), draw(people)
    label, code = draw(st.sampled_from([("C/In", 0), ("C/Out", 1), ("", None), ("Khác", None)]))
    hour = when.hour % 12 or 12
    clock = f"{hour:02d}" if draw(st.booleans()) else str(hour)
    stamp = f"{when:%m/%d/%Y} {clock}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"
    return Row(f"UBND,{name},{pin},{stamp},{label},1", (pin, when, code))


@st.composite
def hikvision_rows(draw: st.DrawFn) -> Row:
    pin, when, name = draw(pins), draw(minutes), draw(people)
    label, code = draw(st.sampled_from([("Check-in", 0), ("Check-out", 1), ("None", None)]))
    text = f"'{pin},{name},UBND,{when:%Y-%m-%d %H:%M:%S},{label},Door1,,Device,Normal,36.5,No"
    return Row(text, (pin, when, code))


@st.composite
def mutated(draw: st.DrawFn, rows: st.SearchStrategy[Row]) -> Row:
    text = draw(rows).text
    pos = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from(list(",\"'/:- 0139APM\t\r\x00\u200b\ufeff\u2028x")))
    cut = draw(st.integers(0, 4))
    return Row((text[:pos] + char + text[pos + cut :]).replace("\n", ""))


garbage = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=60
).map(Row)
garbage_bytes = st.binary(max_size=40).map(lambda b: Row("", body=b.replace(b"\n", b"")))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_good_rows(res: ParsedChunk, rows: list[Row], first_line: int) -> None:
    found = {int(r.line_no): r for r in res.punches.itertuples()}
    for i, r in enumerate(rows):
        if r.expected is None:
            continue
        line_no = first_line + i
        assert line_no in found, f"good row on line {line_no} lost: {r.text!r}"
        got = found[line_no]
        pin, when, code = r.expected
        assert (got.user_id, got.device_time.to_pydatetime()) == (pin, when)
        assert (None if pd.isna(got.status) else int(got.status)) == code


def check_accounting(res: ParsedChunk, texts: list[str]) -> None:
    """Every non-blank row is exactly one of punch, reject, skipped."""
    non_blank = sum(1 for t in texts if t.strip(" \t\r\x0b\x0c"))
    assert len(res.punches) + len(res.rejected) + res.skipped == non_blank
    lines = list(res.punches["line_no"]) + [r.line_no for r in res.rejected]
    assert len(lines) == len(set(lines))


@SETTINGS
@given(
    st.lists(
        st.one_of(zktime_rows(), zktime_rows(), mutated(zktime_rows()), garbage, garbage_bytes),
        max_size=20,
    ),
    st.integers(1, 8),
)
def test_zktime_garbage_never_costs_a_good_row(rows: list[Row], chunk_lines: int) -> None:
    rows = [Row("UBND,An,1,10/13/2026 7:00 AM,C/In,1", ("1", datetime(2026, 10, 13, 7), 0)), *rows]
    data = b"\n".join([ZKTIME_HEADER.encode()] + [r.encoded() for r in rows]) + b"\n"
    pf = open_punch_bytes(data, "z.csv", chunk_lines=chunk_lines)
    assert pf.info.format == "zktime_csv"
    res = read_all(pf)
    check_good_rows(res, rows, 2)
    # bytes garbage may make the file cp1258/cp1252: good rows are ASCII where it matters
    codec = "utf-8" if pf.info.encoding.startswith("utf") else pf.info.encoding
    check_accounting(res, decode_text(data, codec).split("\n")[:-1])


@SETTINGS
@given(
    st.lists(
        st.one_of(hikvision_rows(), hikvision_rows(), mutated(hikvision_rows()), garbage),
        max_size=20,
    ),
    st.integers(1, 8),
)
def test_hikvision_garbage_never_costs_a_good_row(rows: list[Row], chunk_lines: int) -> None:
    first = Row("'7,An,UBND,2026-10-13 07:00:00,Check-in", ("7", datetime(2026, 10, 13, 7), 0))
    rows = [first, *rows]
    texts = [HK_HEADER] + [r.text for r in rows]
    pf = open_punch_bytes(
        ("\n".join(texts) + "\n").encode("utf-8"), "h.csv", chunk_lines=chunk_lines
    )
    assert pf.info.format == "hikvision"
    res = read_all(pf)
    check_good_rows(res, rows, 2)
    check_accounting(res, texts)
    # the same rows as an HTML table: the good rows come out the same, on the same numbers
    cells = [t.split(",") for t in texts]
    pf = open_punch_bytes(html_table(cells), "h.xls", chunk_lines=chunk_lines)
    assert isinstance(pf, HtmlTableFile)
    check_good_rows(read_all(pf), rows, 2)


def test_dates_in_samples_are_october_2026() -> None:
    for name in ("zktime_att2000.csv", "hikvision_original_records.xls", "ronaldjack_export.xlsx"):
        times = read_all(open_punch_file(sample(name))).punches["device_time"]
        assert times.min().date() >= date(2026, 10, 1) and times.max().date() <= date(2026, 10, 31)
