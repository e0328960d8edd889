"""HTML tables saved with an ``.xls`` name: Hikvision iVMS-4200 "Original Records".

iVMS-4200 can save the attendance records as an HTML ``<table>`` with an ``.xls``
extension, which Excel opens (docs/terminals.md). It is read here
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

import re
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .common import Punch, frame_from_punches, is_blank, make_chunk
from .delimited import (
    DEFAULT_RULES,
    HEADER_SEARCH_LINES,
    CsvLayout,
    DateOrderVote,
    RowRules,
    RowStyle,
    as_results,
    is_repeated_header,
    layout_from_rows,
    no_header,
    parse_row,
    title_row_problem,
)
from .encoding import decode_line, nfc
from .reasons import reason
from .refusals import Refusal, refusal
from .source import ScanResult, Source, iter_blocks
from .types import (
    DEFAULT_LIMITS,
    DateOrder,
    FileInfo,
    ParsedChunk,
    ParseLimits,
    PunchFile,
    RejectedLine,
    UnsupportedFile,
)

BLOCK_BYTES = 256 * 1024
HEAD_SCAN_BYTES = 256 * 1024  # a <table> start tag must come this early to call it a table
_HEAD_ROWS = 400  # rows read to find the header (and samples after it)
_MAX_COLSPAN = 256
_MAX_ROWSPAN = 65534  # the HTML limit
_SPACES = re.compile(r"\s+")

HTML_STYLE = RowStyle(
    field=lambda n, i, label, problem: problem.at("cell", row=n, index=i + 1, label=label),
    count=lambda n, need, found: reason("too_few_cells", need=need, found=found).at("row", row=n),
    row=lambda n, problem: problem.at("row", row=n),
)


def looks_like_html(first_line: str, head: bytes) -> bool:
    """True when a file's first non-blank text is markup and its head holds a table."""
    if not first_line.lstrip().startswith("<"):
        return False
    return b"<table" in head[:HEAD_SCAN_BYTES].lower()


class HtmlTooDeep(UnsupportedFile):
    """Tables nested deeper than ``ParseLimits.html_max_depth``."""


@dataclass(frozen=True)
class TableRow:
    """One ``<tr>`` of the document: its table's ordinal, row number, cells."""

    table: int  # 1-based, in order of the <table> start tags
    row_no: int  # 1-based over the whole document (every table's rows, in document order)
    cells: list[str]
    overlong: bool = False  # a cell's text or the cell count went past the bound: cut short


@dataclass
class _OpenTable:
    ordinal: int
    # a table nested in a cell: the outer row and cell, resumed when it ends
    outer_row: list[str] | None = None
    outer_cell: list[str] | None = None
    outer_span: tuple[int, int] = (1, 1)
    # rowspan: column -> (rows still covered, text shown there)
    spans: dict[int, tuple[int, str]] = field(default_factory=dict)


class _TableParser(HTMLParser):
    """Collects finished table rows as the document is fed in pieces.

    Cells are placed as a browser lays them out: ``colspan=n`` fills n columns,
    ``rowspan=n`` repeats the cell's text in the same column of the next n-1 rows (so
    a Person ID or date written once for a group of rows still reaches every row).
    Cell text is kept up to ``max_cell_chars`` and a row up to that many cells: a longer
    row is rejected as too long anyway, and the bound keeps memory flat.
    """

    def __init__(self, limits: ParseLimits = DEFAULT_LIMITS) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[TableRow] = []
        self._n_tables = 0
        self._n_rows = 0
        self._stack: list[_OpenTable] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._cell_len = 0
        self._overlong = False
        self._span = (1, 1)  # (colspan, rowspan) of the open cell
        self._max_depth = limits.html_max_depth
        self._max_chars = limits.max_line_chars + 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open tables, rows and cells (and a space for <br>)."""
        if tag == "table":
            if len(self._stack) >= self._max_depth:
                raise HtmlTooDeep(refusal("html_too_deep", depth=self._max_depth, table=self._n_tables + 1))
            self._n_tables += 1
            self._stack.append(_OpenTable(self._n_tables, self._row, self._cell, self._span))
            self._row, self._cell, self._span = None, None, (1, 1)
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
            self._cell_len = 0
            self._span = (_span(attrs, "colspan", _MAX_COLSPAN), _span(attrs, "rowspan", _MAX_ROWSPAN))
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
        """Collect the text of the open cell (bounded)."""
        if self._cell is not None:
            if self._cell_len + len(data) > self._max_chars:
                self._overlong = True
            piece = data[: max(0, self._max_chars - self._cell_len)]
            self._cell.append(piece)
            self._cell_len += len(piece)

    def _fill_spans(self, row: list[str], upto: int | None) -> None:
        """Put the texts of cells spanning down from above into their columns of ``row``."""
        spans = self._stack[-1].spans
        while len(row) in spans or (upto is not None and len(row) < upto):
            row.append(spans[len(row)][1] if len(row) in spans else "")

    def _end_cell(self) -> None:
        if self._cell is None or self._row is None:
            self._cell = None
            return
        row = self._row
        if len(row) >= self._max_chars:
            self._overlong = True
        else:
            self._fill_spans(row, None)
            # \s also matches &nbsp; (U+00A0) and the other Unicode spaces
            text = nfc(_SPACES.sub(" ", "".join(self._cell)).strip())
            colspan, rowspan = self._span
            start = len(row)
            row.append(text)
            row.extend([""] * (colspan - 1))
            if rowspan > 1:
                spans = self._stack[-1].spans
                for col in range(start, start + colspan):
                    # +1: this row's own countdown happens when it ends
                    spans[col] = (rowspan, text if col == start else "")
        self._cell, self._span = None, (1, 1)

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is None:
            return
        top = self._stack[-1]
        if top.spans:
            self._fill_spans(self._row, max(top.spans) + 1)
            top.spans = {c: (n - 1, t) for c, (n, t) in top.spans.items() if n > 1}
        self._n_rows += 1
        self.rows.append(TableRow(top.ordinal, self._n_rows, self._row, self._overlong))
        self._row = None
        self._overlong = False

    def finish(self) -> None:
        """Close the document: rows and tables left open at the end still count."""
        self.close()
        while self._stack:
            self.handle_endtag("table")


def _span(attrs: list[tuple[str, str | None]], name: str, limit: int) -> int:
    for key, value in attrs:
        if key == name and value and value.strip().isdigit():
            return max(1, min(limit, int(value.strip())))
    return 1


def iter_table_rows(
    source: Source, encoding: str, limits: ParseLimits = DEFAULT_LIMITS
) -> Generator[tuple[TableRow, int], None, None]:
    """Stream every table row of an HTML document with the bytes read so far.

    Text is decoded line by line like a text file (a line not valid in the file's
    encoding falls back to the other candidates; ``decode_line``).
    """
    parser = _TableParser(limits)
    codec = "utf-8" if encoding in ("utf-8-sig", "utf-16") else encoding
    carry = b""
    with closing(iter_blocks(source, BLOCK_BYTES)) as blocks:
        for block, done in blocks:
            data = carry + block
            cut = data.rfind(b"\n") + 1
            data, carry = data[:cut], data[cut:]
            if len(carry) > BLOCK_BYTES:  # no line end for a long stretch: decode it anyway
                data, carry = data + carry, b""
            if data:
                parser.feed(_decode(data, codec))
            if parser.rows:
                rows, parser.rows = parser.rows, []
                for row in rows:
                    yield row, done
        if carry:
            parser.feed(_decode(carry, codec))
        parser.finish()
        for row in parser.rows:
            yield row, source.size()


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return "\n".join(decode_line(line, codec)[0] for line in data.split(b"\n"))


def row_text(cells: list[str]) -> str:
    """The audit text of a row: cells joined by TAB."""
    return "\t".join(cells)


def _is_blank_row(cells: list[str]) -> bool:
    return all(is_blank(c) for c in cells)


def _rows_or_refuse(
    source: Source, encoding: str, limits: ParseLimits
) -> Generator[tuple[TableRow, int], None, None]:
    """``iter_table_rows`` whose refusals name the file."""
    rows = iter_table_rows(source, encoding, limits)
    try:
        yield from rows
    except HtmlTooDeep as exc:
        raise UnsupportedFile(exc.refusal or str(exc), source.name) from None
    finally:
        rows.close()


def find_table_layout(
    source: Source, scanned: ScanResult, limits: ParseLimits = DEFAULT_LIMITS
) -> tuple[int, CsvLayout]:
    """The first table (ordinal) with a recognised header among its first rows."""
    per_table: dict[int, list[tuple[int, list[str]]]] = {}
    seen = 0
    with closing(_rows_or_refuse(source, scanned.encoding, limits)) as table_rows:
        for row, _ in table_rows:  # stops early
            if _is_blank_row(row.cells):
                continue
            rows = per_table.setdefault(row.table, [])
            if len(rows) < HEADER_SEARCH_LINES + 50:
                rows.append((row.row_no, row.cells))
            seen += 1
            if seen >= _HEAD_ROWS:
                break
    refusals: list[Refusal] = []
    for table, rows in per_table.items():
        try:
            layout = layout_from_rows(source.name, rows, None, unit="table row")
        except UnsupportedFile as exc:  # a header that cannot be used: try the next table
            problem = exc.refusal or str(exc).removeprefix(source.name + ": ")
            refusals.append(refusal("in_table", table=table, problem=problem))
            continue
        if layout is not None:
            return table, layout
    if refusals:
        raise UnsupportedFile(refusal("html_tables_refused", tables=tuple(refusals)), source.name)
    detail = no_header(None, refusal("in_first_table_rows", n=HEADER_SEARCH_LINES))
    code = "html_table_no_header" if per_table else "html_page_no_header"
    raise UnsupportedFile(refusal(code, detail=detail), source.name)


class HtmlTableFile(PunchFile):
    """An HTML table saved as ``.xls`` (iVMS-4200 "Original Records"), row by row.

    Every ``<tr>`` of the document is one row, numbered in document order: exports put
    the title, the header and the data in separate tables, so the data may continue in
    tables after the header's. Rows above the header are skipped only when they are title
    rows (``title_row_problem``); every row after it is a punch, a reject, or a repeated
    header.
    """

    def __init__(
        self,
        source: Source,
        info: FileInfo,
        table: int,
        layout: CsvLayout,
        chunk_lines: int,
        rules: RowRules = DEFAULT_RULES,
    ) -> None:
        self.info = info
        self.layout = layout
        self.table = table  # the table holding the header
        self._source = source
        self._chunk_lines = chunk_lines
        self._rules = rules

    def _rows(self) -> Iterator[tuple[TableRow, int]]:
        return _rows_or_refuse(self._source, self.info.encoding, self._rules.limits)

    def chunks(self) -> Iterator[ParsedChunk]:
        """Parse the document in runs of at most ``chunk_lines`` table rows."""
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
            if row.overlong:
                limit = self._rules.limits.max_line_chars
                problem = reason("cell_too_long", limit=limit)
                rejected.append(RejectedLine.because(row.row_no, text, HTML_STYLE.row(row.row_no, problem)))
            elif _is_blank_row(row.cells):
                pass  # blank rows are not counted
            elif row.row_no < header:
                problem = title_row_problem(row.cells, "table row", header)
                if problem is None:
                    skipped += 1
                else:
                    rejected.append(RejectedLine.because(row.row_no, text, HTML_STYLE.row(row.row_no, problem)))
            elif row.row_no == header or is_repeated_header(row.cells, self.layout):
                skipped += 1
            else:
                res = parse_row(
                    row.row_no, text, row.cells, self.layout, order, HTML_STYLE, self._rules
                )
                for item in as_results(res):
                    if isinstance(item, Punch):
                        punches.append(item)
                    else:
                        rejected.append(item)
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
