"""The half-yearly publication list of discipline decisions: a Decree 30 document and a workbook.

Built from the report writers' blocks (page set-up, header blocks, title, grid table,
signature and "Nơi nhận"; the sheet helpers) so both documents of the team look alike. The
list is Vietnamese by nature (it is posted at the People's Committee), so is its wording.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from openpyxl import Workbook
from sqlalchemy.orm import Session

from attendance import api
from attendance.accounts import Account, scope_unit_codes
from attendance.errors import InvalidInput
from attendance.i18n import _

from ..discipline import HalfYear, PublicationRow, parse_half, publication_list
from .data import issuer_names
from .docx_writer import (
    SMALL_PT,
    TEXT_WIDTH_MM,
    grid_table,
    header_blocks,
    new_document,
    para,
    recipients_of,
    signature_block,
    title_block,
)
from .settings import ReportSettings, report_settings
from .text import Table, vn_long_date
from .xlsx_writer import table_sheet

FORMATS = ("docx", "xlsx")
HEADING = ["STT", "Họ và tên", "Chức vụ / đơn vị", "Số và ngày quyết định", "Hình thức kỷ luật",
           "Cơ quan ban hành"]
WIDTHS = [10.0, 34.0, 36.0, 30.0, 22.0, 33.0]  # relative, about millimetres at 11 pt
SHEET_HEADING = ["STT", "Họ và tên", "Chức vụ / đơn vị", "Số quyết định", "Ngày quyết định",
                 "Hình thức kỷ luật", "Cơ quan ban hành"]


@dataclass(frozen=True)
class PublicationHeader:
    """Who publishes the list and where: the names of the document's header and signature."""

    unit_name: str
    issuer_parent: str
    parent_body: str
    place: str
    settings: ReportSettings
    generated: dt.date


def publication_header(session: Session, unit_code: str | None, settings: ReportSettings,
                       today: dt.date | None = None) -> PublicationHeader:
    """The header of a list of ``unit_code`` (None: every unit), as the monthly report names them."""
    tree = api.unit_tree(session)
    root = api.unit_subtree(session, unit_code)[0] if unit_code is not None else (
        tree[0] if len([u for u in tree if u.depth == 0]) == 1 else None)
    parent, body, place = issuer_names(tree, root, settings)
    return PublicationHeader(root.name if root is not None else "các đơn vị", parent, body, place, settings,
                             today or dt.date.today())


def _title(half: HalfYear, header: PublicationHeader) -> str:
    return (f"Công khai cán bộ, công chức bị xử lý kỷ luật {half.phrase} "
            f"tại {header.unit_name}")


def _position(row: PublicationRow) -> str:
    return f"{row.position}, {row.unit_name}" if row.position else row.unit_name


def publication_docx(rows: list[PublicationRow], half: HalfYear, header: PublicationHeader,
                     target: str | IO[bytes]) -> None:
    """Write the list as a Decree 30 document (A4 portrait, like the report) to a path or a binary file."""
    doc = new_document()
    settings = header.settings
    header_blocks(doc, header.issuer_parent, settings.issuer, f"Số:          /DS-{settings.symbol}",
                  f"{header.place}, {vn_long_date(header.generated)}")
    title_block(doc, "DANH SÁCH", _title(half, header))
    para(doc, f"(Các quyết định kỷ luật ban hành từ {half.first:%d/%m/%Y} đến {half.last:%d/%m/%Y}; "
              "không gồm các quyết định đã bị hủy bỏ)", italic=True, size=SMALL_PT,
         align=WD_ALIGN_PARAGRAPH.CENTER, after=8)
    if rows:
        values = [[i, r.name, _position(r), f"{r.number}\nngày {r.decided_on:%d/%m/%Y}", r.form_label, r.issued_by]
                  for i, r in enumerate(rows, 1)]
        scale = TEXT_WIDTH_MM / sum(WIDTHS)
        grid_table(doc, HEADING, values, [w * scale for w in WIDTHS])
    else:
        para(doc, "Trong kỳ không có cán bộ, công chức nào bị xử lý kỷ luật.", italic=True,
             align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, f"Danh sách gồm {len(rows)} người./.", indent=True, before=6, after=12, keep_next=True)
    signature_block(doc, recipients_of(settings, header.issuer_parent, header.parent_body), settings.signer_title)
    doc.core_properties.author = settings.issuer.capitalize()
    doc.core_properties.title = f"Danh sách công khai xử lý kỷ luật {half.phrase} - {header.unit_name}"
    doc.save(target)


def publication_xlsx(rows: list[PublicationRow], half: HalfYear, header: PublicationHeader,
                     target: str | IO[bytes]) -> None:
    """Write the list as a workbook (one sheet, dates as dates, ready to print) to a path or a binary file."""
    table = Table(key="discipline", sheet="Công khai kỷ luật", title=f"Danh sách {_title(half, header)}",
                  heading=SHEET_HEADING,
                  rows=[[i, r.name, _position(r), r.number, r.decided_on, r.form_label, r.issued_by]
                        for i, r in enumerate(rows, 1)],
                  widths=[], empty="Trong kỳ không có cán bộ, công chức nào bị xử lý kỷ luật.", dates={4})
    book = Workbook()
    book.remove(book.active)
    table_sheet(book, table, f"{header.unit_name} - {half.phrase} (từ {half.first:%d/%m/%Y} "
                             f"đến {half.last:%d/%m/%Y})", header.place, header.generated)
    book.properties.title = f"Danh sách công khai xử lý kỷ luật {half.phrase} - {header.unit_name}"
    book.save(target)


def publication_file(session: Session, account: Account, half: str, unit_code: str | None, fmt: str,
                     config: Mapping[str, Any] | None = None, today: dt.date | None = None) -> tuple[bytes, str]:
    """The list for an account (its scope) as a file: its bytes and an ASCII download name."""
    if fmt not in FORMATS:
        raise InvalidInput(_("format: expected one of {formats}, got {value!r}", formats=", ".join(FORMATS),
                             value=fmt[:20]))
    period = parse_half(half)
    if unit_code is None and scope_unit_codes(session, account) is not None and len(account.unit_codes) == 1:
        unit_code = account.unit_codes[0]  # an account of one unit publishes for it, as the report does
    rows = publication_list(session, account, period.label, unit_code)
    header = publication_header(session, unit_code, report_settings(session, config), today)
    with tempfile.TemporaryDirectory(prefix="attendance-publication-") as work:
        path = Path(work) / f"list.{fmt}"
        (publication_docx if fmt == "docx" else publication_xlsx)(rows, period, header, path)
        content = path.read_bytes()
    unit = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in unit_code or "tat-ca")
    return content, f"cong-khai-ky-luat-{period.label}-{unit}.{fmt}"
