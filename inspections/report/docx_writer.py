"""The Word report in the administrative layout of Decree 30/2020/NĐ-CP (python-docx).

A4 portrait, Times New Roman, margins 20/20/30/15 mm; the two header blocks in a borderless
table with the short lines under the issuing body and the motto; "Số: .../BC-..." left blank
for the clerk; the italic place and date; BÁO CÁO and its summary line; the sections; the
signature block and "Nơi nhận:"; page numbers from page 2 (different first page). The
appendix tables follow on landscape pages. The document is Vietnamese by nature (it is filed
with a People's Committee), so its fixed wording is written here in Vietnamese; parts only a
person can write are highlighted placeholders in square brackets.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO, Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .charts import Chart
from .data import Alert, ReportData
from .settings import ReportSettings
from .text import LABELS, ROMAN, compare_text, number, report_tables, vn_long_date

FONT = "Times New Roman"
BODY_PT, HEADER_PT, TABLE_PT, SMALL_PT = 14, 13, 11, 12
TEXT_WIDTH_MM = 210 - 30 - 15
PLACEHOLDER = WD_COLOR_INDEX.YELLOW


def _set_font(style_or_run: Any, size: float | None = None) -> None:
    font = style_or_run.font
    font.name = FONT
    if size is not None:
        font.size = Pt(size)
    # Word picks the font per script: East Asian and complex-script slots must name it too.
    properties = style_or_run.element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.append(fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def para(container: Any, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
          align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False, before: float = 0, after: float = 6,
          keep_next: bool = False) -> Any:
    """A paragraph of the document or a cell, in the body font unless ``size`` says otherwise."""
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.first_line_indent = Mm(10) if indent else Mm(0)
    fmt.keep_with_next = keep_next
    if text:
        _run(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def _run(paragraph: Any, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None,
         highlight: bool = False) -> Any:
    run = paragraph.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        run.font.size = Pt(size)
    if highlight:
        run.font.highlight_color = PLACEHOLDER
    return run


def _placeholder(container: Any, text: str, indent: bool = True, keep_next: bool = False) -> Any:
    """A part only a person can write: highlighted, in square brackets."""
    paragraph = para(container, indent=indent, keep_next=keep_next)
    _run(paragraph, f"[{text}]", italic=True, highlight=True)
    return paragraph


def _rule(container: Any, length_mm: float, width_mm: float, after: float = 4) -> None:
    """The short solid line under a heading block: a bottom border on an empty, indented paragraph."""
    paragraph = para(container, align=WD_ALIGN_PARAGRAPH.CENTER, after=after)
    side = max(0.0, (width_mm - length_mm) / 2)
    paragraph.paragraph_format.left_indent = Mm(side)
    paragraph.paragraph_format.right_indent = Mm(side)
    paragraph.paragraph_format.line_spacing = Pt(2)
    properties = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    properties.append(borders)


def _page_field(paragraph: Any) -> None:
    """A PAGE field (Word and LibreOffice fill in the number)."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)


def _no_borders(table: Any) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _widths(table: Any, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)


def _cell_text(cell: Any, text: str, *, bold: bool = False, italic: bool = False, size: float = TABLE_PT,
               align: Any = WD_ALIGN_PARAGRAPH.LEFT) -> Any:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.first_line_indent = Mm(0)
    _run(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def header_blocks(doc: Any, parent: str, issuer: str, number: str, place_date: str) -> None:
    """Decree 30's two header blocks: the issuing body under its parent (left, with the document's
    number) and the national name and motto (right, with the place and date), each with its short line."""
    left_mm, right_mm = 68.0, TEXT_WIDTH_MM - 68.0
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, (left_mm, right_mm))
    left, right = table.rows[0].cells
    center = WD_ALIGN_PARAGRAPH.CENTER
    if parent:
        _cell_text(left, parent, size=HEADER_PT, align=center)
        paragraph = left.add_paragraph()
        paragraph.alignment = center
        _run(paragraph, issuer, bold=True, size=HEADER_PT)
    else:
        _cell_text(left, issuer, bold=True, size=HEADER_PT, align=center)
    for paragraph in left.paragraphs:
        paragraph.paragraph_format.space_after = Pt(0)
    _rule(left, 22, left_mm, after=6)
    paragraph = left.add_paragraph()
    paragraph.alignment = center
    _run(paragraph, number, size=HEADER_PT)

    _cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12, align=center)
    paragraph = right.add_paragraph()
    paragraph.alignment = center
    paragraph.paragraph_format.space_after = Pt(0)
    _run(paragraph, "Độc lập - Tự do - Hạnh phúc", bold=True, size=HEADER_PT)
    _rule(right, 62, right_mm, after=6)
    paragraph = right.add_paragraph()
    paragraph.alignment = center
    _run(paragraph, place_date, italic=True, size=HEADER_PT)


def _header_blocks(doc: Any, data: ReportData) -> None:
    header_blocks(doc, data.issuer_parent, data.settings.issuer, f"Số:          /BC-{data.settings.symbol}",
                  f"{data.place}, {vn_long_date(data.generated)}")


def title_block(doc: Any, kind: str, summary: str) -> None:
    """The document's kind in capitals ("BÁO CÁO", "DANH SÁCH"), its summary line and the short line under it."""
    para(doc, kind, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER, before=18, after=0)
    para(doc, summary, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(doc, 40, TEXT_WIDTH_MM, after=12)


def _title(doc: Any, data: ReportData) -> None:
    title_block(doc, "BÁO CÁO", f"Kết quả kiểm tra công vụ, chấp hành kỷ luật, kỷ cương hành chính "
                                f"{data.period_phrase} tại {data.unit_name}")


def _heading(doc: Any, text: str) -> None:
    para(doc, text, bold=True, indent=True, before=6, after=6, keep_next=True)


def _alert_line(alerts: list[Alert]) -> str:
    person = alerts[0].person
    parts = [f"{LABELS[a.threshold.field].lower()} {number(a.value)} (ngưỡng ≥ {number(a.threshold.at_least)})"
             for a in alerts]
    return f"- {person.name} ({person.unit_name}): {'; '.join(parts)}."


def _chart(doc: Any, chart: Chart) -> None:
    paragraph = para(doc, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, keep_next=True)
    paragraph.add_run().add_picture(io.BytesIO(chart.png), width=Mm(150))
    para(doc, chart.caption, italic=True, size=SMALL_PT, align=WD_ALIGN_PARAGRAPH.CENTER, after=8)


def _results(doc: Any, data: ReportData, charts: list[Chart]) -> None:
    from .text import alert_groups, attendance_paragraphs, spot_paragraphs

    _heading(doc, "II. KẾT QUẢ KIỂM TRA")
    _heading(doc, "1. Việc chấp hành thời giờ làm việc (theo dữ liệu máy chấm công)")
    for text in attendance_paragraphs(data):
        para(doc, text, indent=True)
    for chart in charts:
        if chart.key in ("units", "trend"):
            _chart(doc, chart)
    _heading(doc, "2. Các trường hợp vượt ngưỡng cảnh báo")
    groups = alert_groups(data)
    if not groups:
        para(doc, "Trong kỳ không có người nào vượt ngưỡng cảnh báo đã thiết lập.", indent=True)
    else:
        people = len(groups)
        para(doc, f"Có {number(people)} người vượt ít nhất một ngưỡng cảnh báo ({number(len(data.alerts))} lượt)"
                   f"{compare_text(len(data.alerts), data.previous_alerts, data.previous_has_punches, 'lượt')}. "
                   "Danh sách đầy đủ, ngưỡng và căn cứ tham chiếu tại Phụ lục II; một số trường hợp "
                   "vượt nhiều ngưỡng:", indent=True)
        for alerts in sorted(groups, key=lambda a: (-len(a), -sum(x.value for x in a)))[:5]:
            para(doc, _alert_line(alerts), indent=True, after=2)
        repeat = {a.person.staff_code: a.person.name for a in data.repeat_alerts}
        if repeat:
            para(doc, "Vượt ngưỡng cả kỳ trước và kỳ này: " + ", ".join(sorted(repeat.values())) + ".", indent=True)
    para(doc, "Ngưỡng cảnh báo chỉ nhằm lưu ý thủ trưởng đơn vị; báo cáo này không kết luận về trách nhiệm "
               "hay hình thức xử lý đối với bất kỳ cá nhân nào.", italic=True, indent=True)
    _heading(doc, "3. Kết quả kiểm tra đột xuất")
    for text in spot_paragraphs(data):
        para(doc, text, indent=True)
    for chart in charts:
        if chart.key == "violations":
            _chart(doc, chart)
    if not data.spot.checks:
        _placeholder(doc, "Bổ sung kết quả các cuộc kiểm tra đột xuất chưa nhập vào hệ thống (nếu có)")


def signature_block(doc: Any, recipients: Sequence[str], signer_title: str) -> None:
    """"Nơi nhận:" with its lines (left) and the signer's title, "(Ký, ghi rõ họ tên)" and a name placeholder (right)."""
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, (80.0, TEXT_WIDTH_MM - 80.0))
    row_properties = table.rows[0]._tr.get_or_add_trPr()
    row_properties.append(OxmlElement("w:cantSplit"))  # the signature block stays on one page
    left, right = table.rows[0].cells
    _cell_text(left, "Nơi nhận:", bold=True, italic=True, size=SMALL_PT)
    for i, line in enumerate(recipients):
        paragraph = left.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        _run(paragraph, f"- {line}{'.' if i == len(recipients) - 1 else ';'}", size=11)
    _cell_text(right, signer_title, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph = right.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "(Ký, ghi rõ họ tên)", italic=True, size=SMALL_PT)
    for _i in range(3):
        right.add_paragraph()
    paragraph = right.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "[Họ và tên]", bold=True, highlight=True)


def recipients_of(settings: ReportSettings, issuer_parent: str, parent_body: str) -> list[str]:
    """The "Nơi nhận" lines: the configured ones, the parent body's standing office, the archive."""
    recipients = [*settings.recipients]
    if issuer_parent:
        recipients.append(f"Thường trực {parent_body}")
    recipients.append(f"Lưu: VT, {settings.symbol}")
    return recipients


def _signature(doc: Any, data: ReportData) -> None:
    signature_block(doc, recipients_of(data.settings, data.issuer_parent, data.parent_body),
                    data.settings.signer_title)


def grid_table(doc: Any, heading: list[str], rows: list[list[Any]], widths: Sequence[float],
               totals: list[Any] | None = None) -> None:
    """A bordered table whose heading row repeats on each page; numbers right, dates dd/mm/yyyy, a totals row."""
    table = doc.add_table(rows=1, cols=len(heading))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, heading, strict=True):
        _cell_text(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    # The heading row repeats on every page the table runs over.
    row_properties = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    row_properties.append(repeat)
    for cell in table.rows[0].cells:
        cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
    for values in rows:
        row = table.add_row()
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a row never breaks over two pages
        for column, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            numeric = isinstance(value, int)
            text = number(value) if numeric else (f"{value:%d/%m/%Y}" if hasattr(value, "strftime") else str(value))
            align = WD_ALIGN_PARAGRAPH.RIGHT if numeric else WD_ALIGN_PARAGRAPH.LEFT
            _cell_text(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER if column == 0 else align)
    _widths(table, widths)
    if totals:
        cells = table.add_row().cells
        label_columns = next((i for i, v in enumerate(totals) if not isinstance(v, str)), len(totals))
        for cell, width in zip(cells, widths, strict=True):
            cell.width = Mm(width)
        for cell, value in zip(cells[label_columns:], totals[label_columns:], strict=True):
            _cell_text(cell, number(value) if isinstance(value, int) else str(value), bold=True,
                       align=WD_ALIGN_PARAGRAPH.RIGHT)
        label = cells[0].merge(cells[label_columns - 1]) if label_columns > 1 else cells[0]
        _cell_text(label, str(totals[0]), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)


def _appendices(doc: Any, data: ReportData) -> None:
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.left_margin, section.right_margin = Mm(20), Mm(15)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    section.different_first_page_header_footer = False
    width = 297 - 20 - 15
    appendix = sorted((t for t in report_tables(data) if t.in_docx), key=lambda t: ROMAN.index(t.number))
    for i, table in enumerate(appendix):
        if i:
            para(doc).add_run().add_break(WD_BREAK.PAGE)
        para(doc, f"Phụ lục {table.number}", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        para(doc, table.title.upper(), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        para(doc, f"(Kèm theo Báo cáo số       /BC-{data.settings.symbol} ngày     tháng     năm "
                   f"{data.generated.year} của {data.settings.issuer.capitalize()})",
              italic=True, size=SMALL_PT, align=WD_ALIGN_PARAGRAPH.CENTER, after=8)
        if not table.rows:
            para(doc, table.empty, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
            continue
        scale = width / sum(table.widths)
        grid_table(doc, table.heading, table.rows, [w * scale for w in table.widths], table.totals)


def new_document() -> Any:
    """An empty Decree 30 document: A4 portrait, Times New Roman 14, margins 20/20/30/15 mm,
    the page number at the top centre from the second page on."""
    doc = Document()
    normal = doc.styles["Normal"]
    _set_font(normal, BODY_PT)
    normal.paragraph_format.line_spacing = 1.1
    _set_font(doc.styles["Table Grid"], TABLE_PT)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = section.footer_distance = Mm(10)
    section.different_first_page_header_footer = True
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_field(header)
    for run in header.runs:
        _set_font(run, HEADER_PT)
    return doc


def write_docx(data: ReportData, charts: list[Chart], target: str | IO[bytes]) -> None:
    """Write the Word report of ``data`` (with ``charts`` embedded) to a path or a binary file."""
    from .text import assessment_paragraphs, direction_paragraphs, recommendation_paragraphs

    doc = new_document()
    _header_blocks(doc, data)
    _title(doc, data)
    _heading(doc, "I. CĂN CỨ")
    para(doc, "Căn cứ Chỉ thị số 26/CT-TTg ngày 05/9/2016 của Thủ tướng Chính phủ về tăng cường kỷ luật, "
               "kỷ cương trong các cơ quan hành chính nhà nước các cấp;", italic=True, indent=True)
    paragraph = para(doc, "Căn cứ ", italic=True, indent=True)
    _run(paragraph, "[Quyết định/Kế hoạch kiểm tra công vụ số …, ngày …]", italic=True, highlight=True)
    _run(paragraph, ";", italic=True)
    para(doc, f"Căn cứ dữ liệu máy chấm công từ {data.period.first:%d/%m/%Y} đến {data.period.last:%d/%m/%Y} "
               "và kết quả các cuộc kiểm tra đột xuất trong kỳ, "
               f"{data.settings.issuer.capitalize()} báo cáo kết quả như sau:", indent=True)
    _results(doc, data, charts)
    _heading(doc, "III. ĐÁNH GIÁ")
    for text in assessment_paragraphs(data):
        para(doc, text, indent=True)
    _placeholder(doc, "Đánh giá của tổ kiểm tra: ưu điểm, tồn tại, hạn chế và nguyên nhân")
    _heading(doc, "IV. KIẾN NGHỊ")
    for text in recommendation_paragraphs(data):
        para(doc, text, indent=True)
    _placeholder(doc, "Kiến nghị khác của tổ kiểm tra")
    # Section V, the closing sentence and the signature block go over a page break together: a
    # signature alone on a page could be taken off and put under another text (cantSplit keeps
    # the block itself whole). Section V is a few lines, so the block always fits a page.
    _heading(doc, "V. PHƯƠNG HƯỚNG")
    for text in direction_paragraphs(data):
        para(doc, text, indent=True, keep_next=True)
    _placeholder(doc, "Phương hướng, nhiệm vụ kiểm tra kỳ tới", keep_next=True)
    para(doc, f"Trên đây là báo cáo kết quả kiểm tra công vụ {data.period_phrase} của "
               f"{data.settings.issuer.capitalize()}./.", indent=True, after=12, keep_next=True)
    _signature(doc, data)
    _appendices(doc, data)
    doc.core_properties.author = data.settings.issuer.capitalize()
    doc.core_properties.title = f"Báo cáo kết quả kiểm tra công vụ {data.period_phrase} - {data.unit_name}"
    doc.save(target)
