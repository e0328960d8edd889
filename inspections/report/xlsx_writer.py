"""The Excel workbook of the report (openpyxl): one sheet per section, ready to print.

Each sheet: a title and the period, a frozen heading row with an auto filter, numbers as
numbers, dates as dates shown dd/mm/yyyy, a totals row where adding up means something,
A4 landscape fitted to the page width with the heading row repeated, and the signature lines
(Người lập biểu / Thủ trưởng đơn vị). A last sheet holds the charts.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .charts import Chart
from .data import ReportData
from .text import Table, report_tables

DATE_FORMAT = "dd/mm/yyyy"
NUMBER_FORMAT = "#,##0"
HEADING_ROW = 4  # title, period, blank, then the headings
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADING_FILL = PatternFill("solid", fgColor="DDE5F0")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
FONT_NAME = "Times New Roman"


def _width(value: Any) -> int:
    if isinstance(value, dt.date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


def _sheet(book: Workbook, table: Table, data: ReportData) -> Worksheet:
    subtitle = (f"{data.unit_name} - {data.period_phrase} (từ {data.period.first:%d/%m/%Y} "
                f"đến {data.period.last:%d/%m/%Y})")
    return table_sheet(book, table, subtitle, data.place, data.generated)


def table_sheet(book: Workbook, table: Table, subtitle: str, place: str, day: dt.date) -> Worksheet:
    """A sheet of ``table``: title and subtitle, frozen and filtered headings, values as typed,
    fitted widths, the signature lines dated ``place, day`` and the A4 landscape print set-up."""
    sheet = book.create_sheet(table.sheet)
    columns = len(table.heading)
    last_column = get_column_letter(columns)
    sheet["A1"] = table.title.upper()
    sheet["A1"].font = Font(name=FONT_NAME, bold=True, size=13)
    sheet["A2"] = subtitle
    sheet["A2"].font = Font(name=FONT_NAME, italic=True, size=11)
    for row in (1, 2):
        sheet.merge_cells(f"A{row}:{last_column}{row}")
        sheet[f"A{row}"].alignment = Alignment(horizontal="center")
    for column, text in enumerate(table.heading, 1):
        cell = sheet.cell(HEADING_ROW, column, text)
        cell.font = Font(name=FONT_NAME, bold=True, size=11)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill, cell.border = HEADING_FILL, BOX
    row = HEADING_ROW
    for values in table.rows:
        row += 1
        for column, value in enumerate(values, 1):
            cell = sheet.cell(row, column, value)
            cell.font = Font(name=FONT_NAME, size=11)
            cell.border = BOX
            if isinstance(value, dt.date):
                cell.number_format = DATE_FORMAT
                cell.alignment = Alignment(horizontal="center")
            elif isinstance(value, int) and column > 1:
                cell.number_format = NUMBER_FORMAT
            else:
                cell.alignment = Alignment(vertical="top", wrap_text=len(str(value)) > 50)
    if not table.rows:
        row += 1
        sheet.cell(row, 1, table.empty).font = Font(name=FONT_NAME, italic=True, size=11)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    last_data = row
    if table.totals and table.rows:
        row += 1
        for column, value in enumerate(table.totals, 1):
            cell = sheet.cell(row, column, value)
            cell.font = Font(name=FONT_NAME, bold=True, size=11)
            cell.fill, cell.border = TOTAL_FILL, BOX
            if isinstance(value, int):
                cell.number_format = NUMBER_FORMAT
    sheet.freeze_panes = sheet.cell(HEADING_ROW + 1, 1)
    if table.rows:
        sheet.auto_filter.ref = f"A{HEADING_ROW}:{last_column}{last_data}"
    # Widths that fit: the longest value (headings wrap, so only their longest word counts).
    for column in range(1, columns + 1):
        longest = max((len(word) for word in table.heading[column - 1].split()), default=4)
        for values in [*table.rows, *([table.totals] if table.totals else [])]:
            longest = max(longest, min(_width(values[column - 1]), 50))
        sheet.column_dimensions[get_column_letter(column)].width = max(6, longest + 2)
    sheet.row_dimensions[HEADING_ROW].height = 15 * max(
        1, max(len(h) // max(1, int(sheet.column_dimensions[get_column_letter(i)].width) - 1) + 1
               for i, h in enumerate(table.heading, 1)))
    signature_lines(sheet, row + 2, columns, place, day)
    print_setup(sheet, last_column, row + 8)
    return sheet


def signature_lines(sheet: Worksheet, row: int, columns: int, place: str, day: dt.date) -> None:
    """Người lập biểu (left) and Thủ trưởng đơn vị (right) with the place and date above the latter."""
    right = max(columns - 2, 2)
    date_cell = sheet.cell(row, right, f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}")
    date_cell.font = Font(name=FONT_NAME, italic=True, size=11)
    for column, text in ((2, "NGƯỜI LẬP BIỂU"), (right, "THỦ TRƯỞNG ĐƠN VỊ")):
        sheet.cell(row + 1, column, text).font = Font(name=FONT_NAME, bold=True, size=11)
        sheet.cell(row + 2, column, "(Ký, ghi rõ họ tên)").font = Font(name=FONT_NAME, italic=True, size=10)


def print_setup(sheet: Worksheet, last_column: str, last_row: int) -> None:
    """A4 landscape fitted to the page width, the heading row repeated, page numbers in the footer."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADING_ROW}:{HEADING_ROW}"
    sheet.print_area = f"A1:{last_column}{last_row}"
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.oddFooter.center.text = "Trang &P / &N"


def write_xlsx(data: ReportData, charts: list[Chart], target: str | IO[bytes]) -> None:
    """Write the workbook of ``data`` (a sheet per section, then the charts) to a path or a binary file."""
    book = Workbook()
    book.remove(book.active)
    for table in report_tables(data):
        _sheet(book, table, data)
    if charts:
        sheet = book.create_sheet("Biểu đồ")
        sheet["A1"] = "BIỂU ĐỒ"
        sheet["A1"].font = Font(name=FONT_NAME, bold=True, size=13)
        row = 3
        for chart in charts:
            sheet.cell(row, 1, chart.caption).font = Font(name=FONT_NAME, italic=True, size=11)
            image = Image(io.BytesIO(chart.png))
            image.width, image.height = image.width * 0.5, image.height * 0.5  # 150 dpi shown at ~75
            sheet.add_image(image, f"A{row + 1}")
            row += int(image.height / 20) + 4
        sheet.page_setup.orientation = "portrait"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    book.properties.title = f"Báo cáo kiểm tra công vụ {data.period_phrase} - {data.unit_name}"
    book.save(target)
