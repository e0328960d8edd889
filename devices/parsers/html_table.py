"""HTML tables saved with an ``.xls`` name: Hikvision iVMS-4200 "Original Records".

iVMS-4200 can save the attendance records as an HTML ``<table>`` with an ``.xls``
extension, which Excel opens (devices.md section 2). It is read here
with the standard library's ``html.parser``, fed block by block (bounded memory), and
every table row goes through the same header mapping and row rules as a CSV line.

Row numbers are *table row numbers*: the n-th ``<tr>`` of the table that holds the
header (row 1 when the header is the table's first row), blank rows included. Reject reasons say
so (``table row 7, cell 4 (date/time): ...``). Rows of other tables in the document are
not read. A cell's text is what a browser shows: entities decoded, runs of whitespace
(``&nbsp;``, ``<br>``, line breaks) collapsed to one space, NFC-normalised. A cell with
``colspan=n`` counts as n cells so later cells keep their column.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from html.parser import HTMLParser

from .common import Punch, frame_from_punches, is_blank, make_chunk
from .delimited import (
    HEADER_SEARCH_LINES,
    CsvLayout,
    DateOrderVote,
    RowStyle,
    is_repeated_header,
    layout_from_rows,
    no_header_message,
    parse_row,
)
from .encoding import nfc
from .source import ScanResult, Source
from .types import DateOrder, FileInfo, ParsedChunk, PunchFile, RejectedLine, UnsupportedFile

BLOCK_BYTES = 256 * 1024
HEAD_SCAN_BYTES = 256 * 1024  # a <table> start tag must come this early to call it a table
_HEAD_ROWS = 400  # rows read to find the header (and samples after it)
_MAX_COLSPAN = 256
_SPACES = re.compile(r"\s+")

HTML_STYLE = RowStyle(
    field=lambda n, i, label, problem: f"table row {n}, cell {i + 1} ({label}): {problem}",
    count=lambda n, need, found: f"table row {n}: expected at least {need} cells, found {found}",
)


def looks_like_html(first_line: str, head: bytes) -> bool:
    """True when a file's first non-blank text is markup and its head holds a table."""
    if not first_line.lstrip().startswith("<"):
        return False
    return b"<table" in head[:HEAD_SCAN_BYTES].lower()


@dataclass(frozen=True)
class TableRow:
    """One ``<tr>`` of a table: the table's ordinal in the document, row number, cells."""

    table: int  # 1-based, in order of the <table> start tags
    row_no: int  # 1-based within its table
    cells: list[str]


@dataclass
class _OpenTable:
    ordinal: int
    rows: int = 0
    # a table nested in a cell: the outer row and cell, resumed when it ends
    outer_row: list[str] | None = None
    outer_cell: list[str] | None = None
    outer_span: int = 1


class _TableParser(HTMLParser):
    """Collects finished table rows as the document is fed in pieces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[TableRow] = []
        self._n_tables = 0
        self._stack: list[_OpenTable] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open tables, rows and cells (and a space for <br>)."""
        if tag == "table":
            self._n_tables += 1
            self._stack.append(_OpenTable(self._n_tables, 0, self._row, self._cell, self._span))
            self._row, self._cell, self._span = None, None, 1
        elif not self._stack:
            return
        elif tag == "tr":
            self._end_row()
            self._row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:
                self._row = []  # a cell without <tr>: browsers open the row
            self._cell = []
            self._span = _colspan(attrs)
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        """Close cells, rows and tables."""
        if not self._stack:
            return
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            top = self._stack.pop()
            self._row, self._cell, self._span = top.outer_row, top.outer_cell, top.outer_span

    def handle_data(self, data: str) -> None:
        """Collect the text of the open cell."""
        if self._cell is not None:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is None or self._row is None:
            self._cell = None
            return
        # \s also matches &nbsp; (U+00A0) and the other Unicode spaces
        text = nfc(_SPACES.sub(" ", "".join(self._cell)).strip())
        self._row.append(text)
        self._row.extend([""] * (self._span - 1))
        self._cell, self._span = None, 1

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is None:
            return
        top = self._stack[-1]
        top.rows += 1
        self.rows.append(TableRow(top.ordinal, top.rows, self._row))
        self._row = None

    def finish(self) -> None:
        """Close the document: rows and tables left open at the end still count."""
        self.close()
        while self._stack:
            self.handle_endtag("table")


def _colspan(attrs: list[tuple[str, str | None]]) -> int:
    for key, value in attrs:
        if key == "colspan" and value and value.strip().isdigit():
            return max(1, min(_MAX_COLSPAN, int(value.strip())))
    return 1


def iter_table_rows(source: Source, encoding: str) -> Generator[tuple[TableRow, int], None, None]:
    """Stream every table row of an HTML document with the bytes read so far."""
    # the utf-8-sig and utf-16 decoders consume the BOM themselves
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    parser = _TableParser()
    done = 0
    with source.open() as handle:
        while block := handle.read(BLOCK_BYTES):
            done += len(block)
            parser.feed(decoder.decode(block))
            if parser.rows:
                rows, parser.rows = parser.rows, []
                for row in rows:
                    yield row, done
        parser.feed(decoder.decode(b"", final=True))
        parser.finish()
        for row in parser.rows:
            yield row, done


def row_text(cells: list[str]) -> str:
    """The audit text of a row: cells joined by TAB."""
    return "\t".join(cells)


def _is_blank_row(cells: list[str]) -> bool:
    return all(is_blank(c) for c in cells)


def find_table_layout(source: Source, scanned: ScanResult) -> tuple[int, CsvLayout]:
    """The first table (ordinal) with a recognised header among its first rows."""
    per_table: dict[int, list[tuple[int, list[str]]]] = {}
    seen = 0
    with closing(iter_table_rows(source, scanned.encoding)) as table_rows:  # stops early
        for row, _ in table_rows:
            if _is_blank_row(row.cells):
                continue
            rows = per_table.setdefault(row.table, [])
            if len(rows) < HEADER_SEARCH_LINES + 50:
                rows.append((row.row_no, row.cells))
            seen += 1
            if seen >= _HEAD_ROWS:
                break
    refusals: list[str] = []
    for table, rows in per_table.items():
        try:
            layout = layout_from_rows(source.name, rows, None, unit="table row")
        except UnsupportedFile as exc:  # a header that cannot be used: try the next table
            refusals.append(f"table {table}: {str(exc).removeprefix(source.name + ': ')}")
            continue
        if layout is not None:
            return table, layout
    if refusals:
        raise UnsupportedFile(f"{source.name}: this is an HTML table; {'; '.join(refusals)}")
    where = f"in the first {HEADER_SEARCH_LINES} rows of any table"
    detail = no_header_message(source.name, None, where).removeprefix(source.name + ": ")
    what = "an HTML table (e.g. an iVMS-4200 '.xls' export)" if per_table else "an HTML page"
    raise UnsupportedFile(f"{source.name}: this is {what} with {detail}")


class HtmlTableFile(PunchFile):
    """An HTML table saved as ``.xls`` (iVMS-4200 "Original Records"), row by row."""

    def __init__(
        self, source: Source, info: FileInfo, table: int, layout: CsvLayout, chunk_lines: int
    ) -> None:
        self.info = info
        self.layout = layout
        self.table = table
        self._source = source
        self._chunk_lines = chunk_lines

    def _rows(self) -> Iterator[tuple[TableRow, int]]:
        for row, done in iter_table_rows(self._source, self.info.encoding):
            if row.table == self.table:
                yield row, done

    def chunks(self) -> Iterator[ParsedChunk]:
        """Parse the table in runs of at most ``chunk_lines`` table rows."""
        order = self.info.date_order
        header = self.layout.header_line or 0
        punches: list[Punch] = []
        rejected: list[RejectedLine] = []
        texts: list[str] = []
        skipped = 0
        first = 1
        for row, done in self._rows():
            text = row_text(row.cells)
            texts.append(text)
            if not _is_blank_row(row.cells):
                if row.row_no <= header or is_repeated_header(row.cells, self.layout):
                    skipped += 1
                else:
                    res = parse_row(row.row_no, text, row.cells, self.layout, order, HTML_STYLE)
                    if res is None:
                        skipped += 1
                    elif isinstance(res, Punch):
                        punches.append(res)
                    else:
                        rejected.append(res)
            if len(texts) >= self._chunk_lines:
                yield self._chunk(punches, rejected, skipped, done, first, texts)
                first += len(texts)
                punches, rejected, texts, skipped = [], [], [], 0
        if texts:
            yield self._chunk(punches, rejected, skipped, self.info.size, first, texts)

    @staticmethod
    def _chunk(
        punches: list[Punch],
        rejected: list[RejectedLine],
        skipped: int,
        done: int,
        first: int,
        texts: list[str],
    ) -> ParsedChunk:
        raw = "".join(t + "\n" for t in texts).encode("utf-8")
        return make_chunk([frame_from_punches(punches)], rejected, skipped, done, first, raw)

    def vote_date_order(self, iso_wins: bool) -> DateOrder | None:
        """Decide day/month order from every value of the date column (one streamed pass)."""
        vote = DateOrderVote()
        col = self.layout.date_column()
        header = self.layout.header_line or 0
        seen: set[str] = set()
        for row, _ in self._rows():
            if row.row_no <= header or len(row.cells) <= col:
                continue
            value = row.cells[col]
            if value not in seen:
                seen.add(value)
                vote.add(value)
        return vote.decide(self._source.name, None, iso_wins=iso_wins)
