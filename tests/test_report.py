"""The monthly report: numbers against the summaries, the Word layout, the workbook, thresholds, CLI, PDF."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm, Pt
from openpyxl import load_workbook

from attendance import api
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.demo import load_demo
from attendance.errors import InvalidInput
from attendance.org import load_bundle
from inspections.report import build_report, docx_to_pdf, soffice_path, write_report
from inspections.report.data import gather_report
from inspections.report.settings import DEFAULT_THRESHOLDS, report_period, report_settings

MONTH = "2026-10"
UNIT = "17830"
EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
EXAMPLE = "bao-cao-thang-10-2026"  # the demo month's report, as scripts/example_report.sh names it
COUNTS = ("working_days", "late_count", "late_minutes", "early_count", "missing_punch_count", "absent_sessions",
          "absent_days")


def test_report_periods_calendar_month_and_15th_to_14th() -> None:
    october = report_period("2026-10")
    assert (october.first, october.last, october.label) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31), "10/2026")
    window = report_period("2026-01", 15)
    assert (window.first, window.last) == (dt.date(2025, 12, 15), dt.date(2026, 1, 14))
    assert window.previous().first == dt.date(2025, 11, 15) and window.previous().last == dt.date(2025, 12, 14)
    assert report_period("2024-03").previous().last == dt.date(2024, 2, 29)
    for bad in ("2026-13", "2026-1", "26-10", "2026-10-01", "x" * 10_000):
        with pytest.raises(InvalidInput, match="YYYY-MM"):
            report_period(bad)


@pytest.fixture
def demo(db_url: str) -> str:
    load_demo(MONTH)
    return db_url


def test_report_numbers_docx_and_xlsx_equal_the_summaries(demo: str, tmp_path: Path) -> None:
    docx_path, xlsx_path = tmp_path / "r.docx", tmp_path / "r.xlsx"
    steps: list[tuple[int, int]] = []
    with transaction() as session:
        data = build_report(session, MONTH, UNIT, "docx", docx_path, progress=lambda i, n, _label: steps.append((i, n)))
        summary = {r["staff_code"]: r for r in api.monthly_summary(session, MONTH, UNIT)}
    write_report(data, "xlsx", xlsx_path)
    assert steps[-1][0] == steps[-1][1] and [s[0] for s in steps] == list(range(1, len(steps) + 1))
    # Every person of the summary once, with the same counts; totals add up.
    assert {p.staff_code for p in data.people} == set(summary) and len(data.people) == len(summary) > 20
    for person in data.people:
        assert {k: person.counts[k] for k in COUNTS} == {k: summary[person.staff_code][k] for k in COUNTS}
    for key in COUNTS:
        assert data.totals[key] == sum(r[key] for r in summary.values())
        assert sum(u.counts[key] for u in data.units) == data.totals[key]
    assert [u.code for u in data.units] == ["17830-QS", "17830-UB", "17830-YT"]
    # Alerts: exactly the people whose count reaches a default threshold.
    late = next(t for t in DEFAULT_THRESHOLDS if t.field == "late_count")
    assert {a.person.staff_code for a in data.alerts if a.threshold.field == "late_count"} == \
        {c for c, r in summary.items() if r["late_count"] >= late.at_least}
    # The demo has punches in October only: September is "no data", not everyone absent.
    assert data.has_punches and not data.previous_has_punches
    assert [t.has_data for t in data.trend] == [False] * 5 + [True]

    doc = Document(str(docx_path))
    section = doc.sections[0]
    def mm(length: int) -> int:  # Word stores twentieths of a point: compare whole millimetres
        return round(length / Mm(1))

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.left_margin), mm(section.right_margin), mm(section.top_margin)) == (30, 15, 20)
    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml and not section.first_page_header.paragraphs[0].text
    assert doc.styles["Normal"].font.name == "Times New Roman" and doc.styles["Normal"].font.size == Pt(14)
    header = doc.tables[0]
    left, right = (cell.text for cell in header.rows[0].cells)
    assert "UBND TỈNH NGHỆ AN" in left and "TỔ KIỂM TRA CÔNG VỤ" in left and "/BC-TKTCV" in left
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right and "Độc lập - Tự do - Hạnh phúc" in right
    date_line = header.rows[0].cells[1].paragraphs[-1]
    assert date_line.runs[0].italic and date_line.text.startswith("Nghệ An, ngày ")
    assert "w:tblBorders" in header._tbl.xml and 'w:val="nil"' in header._tbl.xml
    texts = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in texts
    for heading in ("I. CĂN CỨ", "II. KẾT QUẢ KIỂM TRA", "III. ĐÁNH GIÁ", "IV. KIẾN NGHỊ", "V. PHƯƠNG HƯỚNG"):
        assert heading in texts
    body = "\n".join(texts)
    assert f"Đi muộn: {data.totals['late_count']} lần" in body
    assert "không kết luận về trách nhiệm hay hình thức xử lý" in body
    highlighted = [r.text for p in doc.paragraphs for r in p.runs if r.font.highlight_color is not None]
    assert any(t.startswith("[Đánh giá") for t in highlighted) and any("Quyết định/Kế hoạch" in t for t in highlighted)
    assert "Nơi nhận:" in doc.tables[1].rows[0].cells[0].text
    assert len(doc.inline_shapes) == 3  # units and trend charts, and the demo's spot-check violations by item
    # Appendix I (units) and III (people) carry the same numbers and a totals row.
    units_table, alerts_table, people_table = doc.tables[2:5]
    assert units_table.rows[-1].cells[0].text == "Cộng"
    assert units_table.rows[-1].cells[4].text == f"{data.totals['late_count']:,}".replace(",", ".")
    rows = {r.cells[1].text: r for r in people_table.rows[1:-1]}
    assert set(rows) == set(summary)
    for code, row in rows.items():
        assert int(row.cells[7].text.replace(".", "")) == summary[code]["late_count"]
    assert len(alerts_table.rows) == len(data.alerts) + 1
    assert doc.sections[1].orientation == 1  # the appendix pages are landscape

    book = load_workbook(xlsx_path)
    assert book.sheetnames[:4] == ["Tổng hợp cá nhân", "Tổng hợp đơn vị", "Vượt ngưỡng cảnh báo", "Diễn biến 6 tháng"]
    for name in ("Kiểm tra đột xuất", "Vi phạm theo tiêu chí", "Vi phạm lặp lại", "Đối chiếu chấm công",
                 "Việc cần khắc phục", "Biểu đồ"):
        assert name in book.sheetnames
    sheet = book["Tổng hợp cá nhân"]
    heading = [c.value for c in sheet[4]]
    assert heading[:4] == ["STT", "Mã CB", "Họ và tên", "Đơn vị"] and "Số lần đi muộn" in heading
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == f"A4:O{4 + len(summary)}"
    late_column = heading.index("Số lần đi muộn") + 1
    for row in range(5, 5 + len(summary)):
        value = sheet.cell(row, late_column).value
        assert isinstance(value, int) and value == summary[sheet.cell(row, 2).value]["late_count"]
    total_row = 5 + len(summary)
    assert sheet.cell(total_row, 1).value == "Cộng" and sheet.cell(total_row, late_column).value == data.totals["late_count"]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows == "$4:$4"
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "NGƯỜI LẬP BIỂU" in values and "THỦ TRƯỞNG ĐƠN VỊ" in values
    assert sheet.column_dimensions["C"].width >= max(len(r["name"]) for r in summary.values())
    trend = book["Diễn biến 6 tháng"]
    assert isinstance(trend["B5"].value, dt.datetime) and trend["B5"].number_format == "dd/mm/yyyy"
    assert trend["B10"].value.date() == dt.date(2026, 10, 1) and trend["E10"].value == data.totals["late_count"]
    assert len(book["Biểu đồ"]._images) == 3


def test_thresholds_from_the_bundle_and_the_instance_config(demo: str) -> None:
    bundle = {"settings": {"report_month_start_day": 15, "report_thresholds": [
        {"field": "late_count", "at_least": 15, "action": "nhắc nhở", "reference": "Quy chế làm việc, Điều 5"}]}}
    with transaction() as session:
        load_bundle(session, validate_bundle(bundle))
    with transaction() as session:
        settings = report_settings(session)
        assert settings.start_day == 15 and [t.at_least for t in settings.thresholds] == [15]
        data = gather_report(session, MONTH, UNIT, settings)
        first = api.period_summary(session, dt.date(2026, 9, 15), dt.date(2026, 9, 30), UNIT)
        second = api.period_summary(session, dt.date(2026, 10, 1), dt.date(2026, 10, 14), UNIT)
        # The config file wins over the bundle.
        override = report_settings(session, {"REPORT_MONTH_START_DAY": 1, "REPORT_THRESHOLDS": [
            {"field": "absent_days", "at_least": 2, "action": "yêu cầu giải trình", "reference": "nội bộ"}]})
    assert (data.period.first, data.period.last) == (dt.date(2026, 9, 15), dt.date(2026, 10, 14))
    halves = {r["staff_code"]: r["late_count"] for r in first}
    for r in second:
        halves[r["staff_code"]] += r["late_count"]
    assert {p.staff_code: p.counts["late_count"] for p in data.people} == halves
    assert {a.person.staff_code for a in data.alerts} == {c for c, n in halves.items() if n >= 15}
    assert all(a.threshold.reference == "Quy chế làm việc, Điều 5" for a in data.alerts)
    assert override.start_day == 1 and override.thresholds[0].field == "absent_days"


def test_bad_thresholds_are_refused_with_their_path(db_url: str) -> None:
    with pytest.raises(InvalidInput, match=r"settings\.report_thresholds: \[0\]\.field"):
        validate_bundle({"settings": {"report_thresholds": [{"field": "salary", "at_least": 1, "action": "a",
                                                             "reference": "b"}]}})
    with pytest.raises(InvalidInput, match=r"settings\.report_month_start_day"):
        validate_bundle({"settings": {"report_month_start_day": 31}})
    with transaction() as session:
        with pytest.raises(InvalidInput, match=r"REPORT_THRESHOLDS\[0\]\.at_least"):
            report_settings(session, {"REPORT_THRESHOLDS": [{"field": "late_count", "at_least": 0, "action": "a",
                                                             "reference": "b"}]})
        with pytest.raises(InvalidInput, match="REPORT_MONTH_START_DAY"):
            report_settings(session, {"REPORT_MONTH_START_DAY": 29})


def _attendance(*args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=300, env=os.environ.copy(),
                          check=False)


def test_cli_report_writes_the_workbook_with_progress(sqlite_url: str, tmp_path: Path) -> None:
    load_demo(MONTH)
    out = tmp_path / "bao-cao.xlsx"
    done = _attendance("report", "--month", MONTH, "--unit", UNIT, "--format", "xlsx", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "[1/7]" in done.stderr and "[7/7]" in done.stderr
    assert load_workbook(out)["Tổng hợp đơn vị"]["B5"].value == "Ban Chỉ huy quân sự xã"
    missing = _attendance("report", "--month", MONTH, "--unit", "99999", "--format", "docx", "-o", str(out))
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "99999" in missing.stderr


def test_docx_converts_to_pdf_and_png_pages(sqlite_url: str, tmp_path: Path) -> None:
    if soffice_path() is None or shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have LibreOffice and poppler (scripts/ensure_office.sh)")
        pytest.skip("LibreOffice or pdftoppm missing: run scripts/ensure_office.sh")
    load_demo(MONTH)
    docx = tmp_path / "bao-cao.docx"
    with transaction() as session:
        build_report(session, MONTH, UNIT, "docx", docx)
    pdf = docx_to_pdf(docx, tmp_path)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4  # the report's pages and the landscape appendices
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "pts (A4)" in info and "Author:          python-docx" not in info
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    # Times New Roman or its metric twin for every letter: no Vietnamese letter falls back to another font.
    assert ("LiberationSerif" in fonts or "Times" in fonts) and "DejaVu" not in fonts
    # The pages are kept beside the example report (docs/examples) so the layout can be looked at,
    # as the browser tests keep their screenshots; scripts/example_report.sh adds the workbook.
    for old in EXAMPLES.glob(f"{EXAMPLE}-trang-*.png"):
        old.unlink()
    for number, page in enumerate(pages, start=1):
        shutil.copyfile(page, EXAMPLES / f"{EXAMPLE}-trang-{number:02d}.png")
    shutil.copyfile(docx, EXAMPLES / f"{EXAMPLE}.docx")
    shutil.copyfile(pdf, EXAMPLES / f"{EXAMPLE}.pdf")
