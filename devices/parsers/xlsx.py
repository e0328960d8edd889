"""Excel ``.xlsx`` exports of the Vietnamese vendor programs (Wise Eye, MitaPro, Ronald Jack).

Read with openpyxl in read-only mode (rows are streamed from the sheet's XML; openpyxl
keeps only the shared-strings table in memory). Headers are mapped by name with the
same synonyms as CSV files (``Mã chấm công``/``Mã NV``, ``Họ tên``, ``Ngày``, ``Giờ``,
``Thời gian``, ...), title rows above the header are skipped, and the first worksheet
with a recognisable header is read (``FileInfo.sheet`` names it). A ``MappingProfile``
maps columns by header name, or by 0-based index (column A is 0) when ``has_header`` is
False.

Row numbers are sheet row numbers. Cells may be real Excel dates/times or text:

* date cells give their date (a time part is ignored); text dates are read in the order
  decided per file from all *text* dates of the column, as for CSV (a workbook whose
  dates are all real date cells needs no decision: ``FileInfo.date_order`` is None);
* time cells give their time of day; text times as for CSV (``7:05``, ``07:05:09``,
  ``5:02 PM``, ``05:30 CH``);
* date/time cells give both; numbers in a date or time column are read as Excel serials
  (the workbook's 1900 or 1904 epoch), as Excel would show them with a date format;
* times are rounded to the second (Excel stores fractions of a day);
* user ids: text as in CSV (apostrophe and ``="..."`` removed); a whole number cell
  becomes its digits (``101``; leading zeros a number cell lost cannot be recovered);
* status: whole numbers, or the CSV words (``Vào``/``Ra``, ``C/In``, ``Check-in``, ...).

Blank rows (every cell empty) are not counted. Each other row is a punch, a
``RejectedLine`` whose reason names the column letter (``column F (time): ...``) with the
row's cells joined by TAB as ``raw``, or skipped (title rows, the header, a repeated
header, a row with nothing in it but spaces).
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from .common import (
    Punch,
    control_char_problem,
    date_to_seconds,
    frame_from_punches,
    implausible,
    is_blank,
    make_chunk,
    show,
    too_long,
    user_id_problem,
)
from .delimited import (
    DEFAULT_RULES,
    HEADER_SEARCH_LINES,
    ORDER_TEXT,
    CsvLayout,
    DateOrderVote,
    RowRules,
    clean_user_id,
    is_repeated_header,
    layout_by_index,
    layout_from_rows,
    no_header,
    parse_date,
    parse_datetime,
    parse_status,
    parse_time,
    title_row_problem,
)
from .encoding import nfc
from .reasons import Reason, reason
from .refusals import Refusal, refusal
from .source import Source
from .types import (
    DateOrder,
    FileInfo,
    MappingProfile,
    ParsedChunk,
    ParseLimits,
    PunchFile,
    RejectedLine,
    UnsupportedFile,
)

_EPOCH = dt.datetime(1970, 1, 1)
_MAX_SERIAL = 2958466  # 9999-12-31 in Excel's 1900 system
_SAMPLE_ROWS = 50

#: Zip members that tell what kind of zip a file is (when it is not an xlsx workbook).
_OTHER_ZIPS = (("xl/workbook.bin", "xlsb"), ("content.xml", "ods"), ("word/document.xml", "word"))


def _workbook_kind(source: Source) -> Refusal | None:
    """None for an xlsx/xlsm workbook, else the refusal saying what the zip is."""
    try:
        with source.open() as handle, zipfile.ZipFile(handle) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return refusal("xlsx_unreadable", detail=str(exc))
    if "xl/workbook.xml" in names:
        return None
    for member, code in _OTHER_ZIPS:
        if member in names:
            return refusal(code)
    return refusal("zip_not_xlsx")


_READ_BLOCK = 1 << 20
_RATIO_MIN_BYTES = 1 << 20  # small members compress wildly (runs of one style) and cost nothing


def check_zip_bounds(source: Source, limits: ParseLimits) -> None:
    """Refuse a workbook whose members inflate beyond the limits (a zip bomb).

    The sizes the zip declares are checked first (cheap), then every member is inflated
    once in 1 MB blocks and counted, because declared sizes can lie; openpyxl later reads
    the same bytes through the same ``zipfile`` module, so what it gets is bounded too.
    """
    name = source.name
    mb = 1024 * 1024
    total_limit = limits.zip_max_total_bytes
    with source.open() as handle, zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > total_limit:
            raise UnsupportedFile(refusal(
                "zip_declared_too_large", size=declared // mb, limit=total_limit // mb), name)
        for info in infos:
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > _RATIO_MIN_BYTES and ratio > limits.zip_max_ratio:
                raise UnsupportedFile(refusal(
                    "zip_ratio", member=info.filename, ratio=f"{ratio:.0f}", limit=limits.zip_max_ratio), name)
        total = 0
        for info in infos:
            shared = info.filename.lower().endswith("sharedstrings.xml")
            member = 0
            try:
                with archive.open(info) as stream:
                    while block := stream.read(_READ_BLOCK):
                        member += len(block)
                        total += len(block)
                        if total > total_limit:
                            raise UnsupportedFile(refusal("zip_too_large", limit=total_limit // mb), name)
                        if shared and member > limits.zip_max_shared_strings_bytes:
                            raise UnsupportedFile(refusal(
                                "zip_shared_strings", member=info.filename,
                                limit=limits.zip_max_shared_strings_bytes // mb), name)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise UnsupportedFile(refusal(
                    "xlsx_unreadable", detail=f"{info.filename}: {exc}"), name) from None


def _open_workbook(source: Source) -> Any:
    # Imported here, not at module level: openpyxl costs ~0.1 s of start-up that every
    # `attendance import` of a text log would pay.
    from openpyxl import load_workbook

    target: Any = source.path if source.path is not None else io.BytesIO(source.data or b"")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Workbook contains no default style"
            return load_workbook(target, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise UnsupportedFile(refusal(
            "xlsx_unreadable", detail=f"{type(exc).__name__}: {exc}"), source.name) from None


# --- cells ---------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """How a cell reads as text (header matching, raw rows, reject reasons)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _audit_text(texts: list[str]) -> str:
    """The row's cell texts joined by TAB; line breaks in cells written as \\r, \\n."""
    end = len(texts)
    while end and not texts[end - 1]:
        end -= 1
    text = "\t".join(texts[:end])
    if "\n" in text or "\r" in text:
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text


def _is_blank_row(cells: tuple[object, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and is_blank(c)) for c in cells)


def _round_seconds(value: dt.datetime | dt.time) -> int:
    """Seconds of the time of day, rounded to the nearest second."""
    secs = (value.hour * 60 + value.minute) * 60 + value.second
    return secs + (1 if value.microsecond >= 500_000 else 0)


def _datetime_seconds(value: dt.datetime) -> int:
    day = (value.date() - _EPOCH.date()).days * 86400
    return day + _round_seconds(value)


def _serial(value: float, epoch: dt.datetime) -> dt.datetime | dt.time | None:
    if not 0 <= value < _MAX_SERIAL:
        return None
    # lazy, like load_workbook in _open_workbook (a cached module after the first cell)
    from openpyxl.utils.datetime import from_excel

    try:
        converted = from_excel(value, epoch)
    except (OverflowError, ValueError):
        return None
    return converted if isinstance(converted, dt.datetime | dt.time) else None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class CellReader:
    """Turns typed cells of the mapped columns into punch fields (or problems)."""

    order: DateOrder | None
    epoch: dt.datetime
    rules: RowRules = DEFAULT_RULES

    def user_id(self, value: object) -> tuple[str | None, Reason | None]:
        """(user id, problem)."""
        if isinstance(value, str):
            text = clean_user_id(nfc(value))
        elif _is_number(value):
            number = float(value)
            if not number.is_integer():
                return None, reason("not_whole_number", value=show(cell_text(value)))
            text = str(int(number))
        elif value is None:
            text = ""
        else:
            return None, reason("datetime_not_user_id", value=show(cell_text(value)))
        problem = user_id_problem(text)
        return (None, problem) if problem else (text, None)

    def datetime(self, value: object) -> tuple[int | None, str]:
        """(seconds since 1970, what was expected)."""
        expected = f"{ORDER_TEXT.get(self.order or 'ymd')} hh:mm[:ss]"
        if _is_number(value):
            value = _serial(float(value), self.epoch)
        if isinstance(value, dt.datetime):
            return _datetime_seconds(value), expected
        if isinstance(value, str):
            return parse_datetime(value, self.order), expected
        return None, expected

    def date(self, value: object) -> tuple[int | None, str]:
        """(seconds since 1970 of the day, what was expected)."""
        expected = ORDER_TEXT.get(self.order or "ymd", "yyyy-mm-dd")
        if _is_number(value):
            value = _serial(float(value), self.epoch)
        if isinstance(value, dt.datetime):
            return date_to_seconds(value.year, value.month, value.day), expected
        if isinstance(value, dt.date):
            return date_to_seconds(value.year, value.month, value.day), expected
        if isinstance(value, str):
            return parse_date(value, self.order), expected
        return None, expected

    def time(self, value: object) -> int | None:
        """Seconds since midnight."""
        if _is_number(value):
            number = float(value)
            if not 0 <= number < 1:
                return None
            value = _serial(number, self.epoch)
        if isinstance(value, dt.timedelta):
            secs = round(value.total_seconds())
            return secs if 0 <= secs < 86400 else None
        if isinstance(value, dt.time | dt.datetime):
            secs = _round_seconds(value)
            return secs if secs < 86400 else None
        if isinstance(value, str):
            return parse_time(value)
        return None

    def status(self, value: object) -> int | None:
        """A status code, or None (unknown labels do not cost the punch)."""
        if isinstance(value, str):
            return parse_status(value)
        if _is_number(value) and float(value).is_integer():
            number = int(value)
            return number if 0 <= number <= 999_999_999 else None
        return None


def _reason(col: int, label: str, problem: Reason) -> Reason:
    from openpyxl.utils import get_column_letter  # lazy: see _open_workbook

    return problem.at("column", column=get_column_letter(col + 1), label=label)


def text_problem(value: object) -> Reason | None:
    """The control-character problem of a text cell (other cell types have none)."""
    return control_char_problem(value) if isinstance(value, str) else None


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_cells(
    row_no: int, cells: tuple[object, ...], layout: CsvLayout, reader: CellReader, text: str
) -> Punch | RejectedLine | list[Punch | RejectedLine]:
    """Parse one non-blank sheet row of the data part (below the header); text: its raw.

    A person-day row (``layout.pairs``) gives a list: one punch per non-empty in/out cell
    (empty when the row has none), a reject for each cell that is not a time.
    """
    need = max([layout.needed()] + [i + 1 for i, _, _ in layout.pairs])
    if len(cells) < need:
        cells = cells + (None,) * (need - len(cells))  # trailing empty cells are not stored
    if layout.pairs and all(_empty(cells[i]) for i, _, _ in layout.pairs):
        return []  # a person-day without punches (a day off): nothing to read
    mapped = (
        (layout.user_id, "user id"),
        (layout.datetime, "date/time"),
        (layout.date, "date"),
        (layout.time, "time"),
        (layout.status, "status"),
        *((i, header) for i, _, header in layout.pairs),
    )
    for i, label in mapped:
        if i is None:
            continue
        value = cells[i]
        problem = text_problem(value)
        if problem is None and isinstance(value, str):
            # checked before any pattern sees the cell (a cell holds up to 32,767 characters)
            problem = too_long(value.strip(), reader.rules.limits.max_field_chars)
        if problem:
            return RejectedLine.because(row_no, text, _reason(i, label, problem))
    user_id, problem = reader.user_id(cells[layout.user_id])
    if user_id is None:
        return RejectedLine.because(row_no, text, _reason(layout.user_id, "user id", problem or reason("empty")))
    if layout.datetime is not None:
        value = cells[layout.datetime]
        seconds, expected = reader.datetime(value)
        if seconds is None:
            problem = _bad(value, "date/time", expected)
            return RejectedLine.because(row_no, text, _reason(layout.datetime, "date/time", problem))
    else:
        assert layout.date is not None
        value = cells[layout.date]
        day, expected = reader.date(value)
        if day is None:
            problem = _bad(value, "date", expected)
            return RejectedLine.because(row_no, text, _reason(layout.date, "date", problem))
        if layout.pairs:
            return _person_day(row_no, cells, layout, reader, text, user_id, day)
        assert layout.time is not None
        value = cells[layout.time]
        tod = reader.time(value)
        if tod is None:
            problem = _bad(value, "time", "hh:mm[:ss]")
            return RejectedLine.because(row_no, text, _reason(layout.time, "time", problem))
        seconds = day + tod
    col = layout.date_column()
    problem = implausible(cell_text(cells[col]).strip(), seconds, reader.rules.years)
    if problem:
        label = "date/time" if layout.datetime is not None else "date"
        return RejectedLine.because(row_no, text, _reason(col, label, problem))
    status = reader.status(cells[layout.status]) if layout.status is not None else None
    return Punch(row_no, user_id, seconds, status, None, None)


def _person_day(
    row_no: int,
    cells: tuple[object, ...],
    layout: CsvLayout,
    reader: CellReader,
    text: str,
    user_id: str,
    day: int,
) -> RejectedLine | list[Punch | RejectedLine]:
    """The punches of a Wise Eye person-day row: one per non-empty ``Vào n``/``Ra n`` cell."""
    assert layout.date is not None
    problem = implausible(cell_text(cells[layout.date]).strip(), day, reader.rules.years)
    if problem:
        return RejectedLine.because(row_no, text, _reason(layout.date, "date", problem))
    results: list[Punch | RejectedLine] = []
    for i, status, header in layout.pairs:
        value = cells[i]
        if _empty(value):
            continue  # a missing punch
        tod = reader.time(value)
        if tod is None:
            problem = _bad(value, "time", "hh:mm[:ss]")
            results.append(RejectedLine.because(row_no, text, _reason(i, header, problem)))
        else:
            results.append(Punch(row_no, user_id, day + tod, status, None, None))
    return results


def _bad(value: object, what: str, expected: str) -> Reason:
    if value is None or (isinstance(value, str) and not value.strip()):
        return reason("empty")
    return reason("not_valid", value=show(cell_text(value).strip()), kind=what, expected=expected)


# --- the workbook --------------------------------------------------------------------------


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple[object, ...]]]:
    """(sheet row number, cell values) of every row, gaps included as empty tuples."""
    sheet.reset_dimensions()  # vendor writers often store a wrong <dimension>: do not trust it
    yield from enumerate(sheet.iter_rows(values_only=True), start=1)


def _header_rows(sheet: Any) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    for row_no, cells in _sheet_rows(sheet):
        if _is_blank_row(cells):
            continue
        rows.append((row_no, [cell_text(c) for c in cells]))
        if len(rows) >= HEADER_SEARCH_LINES + _SAMPLE_ROWS:
            break
    return rows


@dataclass(frozen=True)
class _Found:
    sheet: str
    layout: CsvLayout
    order: DateOrder | None
    rows_claimed: int | None  # the sheet's stated last row (for progress only)


def _find_sheet(source: Source, profile: MappingProfile | None) -> _Found:
    workbook = _open_workbook(source)
    refusals: list[Refusal] = []  # sheets whose header was found but cannot be used
    try:
        for sheet in workbook.worksheets:
            claimed = sheet.max_row if isinstance(sheet.max_row, int) else None
            if profile is not None and not profile.has_header:
                if any(not _is_blank_row(c) for _, c in _sheet_rows(sheet)):
                    layout = layout_by_index(source.name, profile)
                    order = _vote(source, sheet, layout, profile)
                    return _Found(sheet.title, layout, order, claimed)
                continue
            try:
                layout = layout_from_rows(
                    source.name, _header_rows(sheet), profile, unit="sheet row"
                )
            except UnsupportedFile as exc:
                # e.g. a summary sheet of in/out pairs before the raw punches: try the next
                problem = exc.refusal or str(exc).removeprefix(source.name + ": ")
                refusals.append(refusal("in_sheet", sheet=repr(sheet.title), problem=problem))
                continue
            if layout is not None:
                return _Found(sheet.title, layout, _vote(source, sheet, layout, profile), claimed)
    finally:
        workbook.close()
    if refusals:
        raise UnsupportedFile(refusal("sheets_refused", sheets=tuple(refusals)), source.name)
    if profile is not None and not profile.has_header:
        raise UnsupportedFile(refusal("every_sheet_empty"), source.name)
    names = ", ".join(repr(s) for s in workbook.sheetnames)
    where = refusal("in_first_sheet_rows", n=HEADER_SEARCH_LINES, sheets=names)
    raise UnsupportedFile(no_header(profile, where), source.name)


def _vote(
    source: Source, sheet: Any, layout: CsvLayout, profile: MappingProfile | None
) -> DateOrder | None:
    """Day/month order from the text values of the date column (None: no text dates)."""
    if profile is not None and profile.date_order is not None:
        return profile.date_order
    vote = DateOrderVote()
    col = layout.date_column()
    header = layout.header_line or 0
    seen: set[str] = set()
    for row_no, cells in _sheet_rows(sheet):
        if row_no <= header or len(cells) <= col or not isinstance(cells[col], str):
            continue
        value = nfc(str(cells[col]))
        if value not in seen:
            seen.add(value)
            vote.add(value)
    return vote.decide(source.name, profile)


class XlsxFile(PunchFile):
    """An .xlsx workbook export, streamed row by row from one worksheet."""

    def __init__(
        self,
        source: Source,
        info: FileInfo,
        layout: CsvLayout,
        chunk_lines: int,
        rows: int | None,
        rules: RowRules = DEFAULT_RULES,
    ) -> None:
        self.info = info
        self.layout = layout
        self._source = source
        self._chunk_lines = chunk_lines
        self._rows_claimed = rows
        self._rules = rules

    def chunks(self) -> Iterator[ParsedChunk]:
        """Parse the sheet in runs of at most ``chunk_lines`` sheet rows."""
        workbook = _open_workbook(self._source)
        try:
            sheet = workbook[self.info.sheet]
            reader = CellReader(self.info.date_order, workbook.epoch, self._rules)
            yield from self._parse(_sheet_rows(sheet), reader)
        finally:
            workbook.close()

    def _parse(
        self, rows: Iterator[tuple[int, tuple[object, ...]]], reader: CellReader
    ) -> Iterator[ParsedChunk]:
        header = self.layout.header_line or 0
        punches: list[Punch] = []
        rejected: list[RejectedLine] = []
        texts: list[str] = []
        skipped = 0
        first = 1
        for row_no, cells in rows:
            cell_texts = [cell_text(c) for c in cells]
            text = _audit_text(cell_texts)
            texts.append(text)
            if not _is_blank_row(cells):
                if row_no < header:
                    problem = title_row_problem(cell_texts, "sheet row", header)
                    if problem is None:
                        skipped += 1
                    else:
                        rejected.append(RejectedLine.because(row_no, text, problem))
                elif row_no == header or (header and is_repeated_header(cell_texts, self.layout)):
                    skipped += 1
                else:
                    res = parse_cells(row_no, cells, self.layout, reader, text)
                    for item in res if isinstance(res, list) else [res]:
                        if isinstance(item, Punch):
                            punches.append(item)
                        else:
                            rejected.append(item)
            if len(texts) >= self._chunk_lines:
                yield self._chunk(punches, rejected, skipped, first, texts, final=False)
                first += len(texts)
                punches, rejected, texts, skipped = [], [], [], 0
        if texts:
            yield self._chunk(punches, rejected, skipped, first, texts, final=True)

    def _chunk(
        self,
        punches: list[Punch],
        rejected: list[RejectedLine],
        skipped: int,
        first: int,
        texts: list[str],
        *,
        final: bool,
    ) -> ParsedChunk:
        size = self.info.size
        last = first + len(texts) - 1
        # progress: rows read against the row count the sheet states (bytes are zipped)
        done = (
            size
            if final or not self._rows_claimed
            else min(size - 1, size * last // self._rows_claimed)
        )
        raw = "".join(t + "\n" for t in texts).encode("utf-8")
        return make_chunk([frame_from_punches(punches)], rejected, skipped, done, first, raw)


def open_xlsx(
    source: Source,
    profile: MappingProfile | None,
    chunk_lines: int,
    rules: RowRules = DEFAULT_RULES,
) -> XlsxFile:
    """Detect the sheet, header and date order of an .xlsx export."""
    kind = _workbook_kind(source)
    if kind is not None:
        raise UnsupportedFile(kind, source.name)
    check_zip_bounds(source, rules.limits)
    found = _find_sheet(source, profile)
    info = FileInfo(
        source.name,
        "xlsx",
        "utf-8",
        found.order,
        source.size(),
        columns=dict(found.layout.columns),
        profile=profile.name if profile else None,
        line_unit="sheet row",
        sheet=found.sheet,
    )
    return XlsxFile(source, info, found.layout, chunk_lines, found.rows_claimed, rules)
