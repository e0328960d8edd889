"""Format detection and the ``open_punch_file`` entry point."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from .common import is_blank, make_chunk, year_range_seconds
from .delimited import (
    DEFAULT_RULES,
    CsvLayout,
    DateOrderVote,
    RowRules,
    find_layout,
    iter_rows,
    parse_csv_lines,
)
from .encoding import decode_lines
from .html_table import HtmlTableFile, find_table_layout, looks_like_html
from .reasons import reason
from .refusals import refusal
from .source import ScanResult, Source, iter_chunks, scan
from .types import (
    DEFAULT_LIMITS,
    DEFAULT_PLAUSIBLE_YEARS,
    DateOrder,
    FileInfo,
    MappingProfile,
    ParsedChunk,
    ParseLimits,
    PunchFile,
    RejectedLine,
    UnsupportedFile,
)
from .xlsx import open_xlsx
from .zk_attlog import ParseMode, ZkChunkContext, parse_zk_chunk, zk_votes

#: Names ``open_punch_file(fmt=...)`` accepts ("auto" detects by content, never by name).
FORMATS = ("auto", "zk_attlog", "csv", "zktime_csv", "hikvision", "xlsx")
#: Formats a MappingProfile applies to.
PROFILE_FORMATS = ("csv", "xlsx")
_SAMPLE_LINES = 200
_ZIP_MAGIC = b"PK\x03\x04"

# Magic numbers of files people pick by mistake, with what to tell them.
_BINARY_KINDS = ((b"\xd0\xcf\x11\xe0", "binary_xls"), (b"%PDF", "pdf"))  # refusal codes


class ZkAttlogFile(PunchFile):
    """A ZK USB attlog.dat file, parsed chunk by chunk."""

    def __init__(
        self,
        source: Source,
        info: FileInfo,
        scanned: ScanResult,
        chunk_lines: int,
        rules: RowRules = DEFAULT_RULES,
    ) -> None:
        self.info = info
        self._source = source
        self._chunk_lines = chunk_lines
        self._ctx = ZkChunkContext(
            scanned.encoding,
            scanned.first_content_line,
            scanned.last_content_line,
            rules.years,
            rules.limits.max_line_chars,
        )

    def chunks(self, *, mode: ParseMode = "auto") -> Iterator[ParsedChunk]:
        """Parse the file in runs of at most ``chunk_lines`` lines (mode: see parse_zk_chunk)."""
        for raw in iter_chunks(self._source, self._chunk_lines):
            yield parse_zk_chunk(
                raw.data,
                raw.first_line_no,
                self._ctx,
                raw.bytes_done,
                n_lines=raw.n_lines,
                mode=mode,
            )


class DelimitedFile(PunchFile):
    """A delimited (CSV) export, parsed chunk by chunk."""

    def __init__(
        self,
        source: Source,
        info: FileInfo,
        layout: CsvLayout,
        chunk_lines: int,
        rules: RowRules = DEFAULT_RULES,
    ) -> None:
        self.info = info
        self.layout = layout
        self._source = source
        self._chunk_lines = chunk_lines
        self._rules = rules

    def chunks(self) -> Iterator[ParsedChunk]:
        """Parse the file in runs of at most ``chunk_lines`` lines."""
        for raw in iter_chunks(self._source, self._chunk_lines):
            decoded = decode_lines(raw.data, self.info.encoding)
            order = self.info.date_order
            yield parse_csv_lines(
                decoded,
                raw.first_line_no,
                self.layout,
                order,
                raw.bytes_done,
                raw.data,
                rules=self._rules,
            )


def _head_lines(scanned: ScanResult, limit: int = _SAMPLE_LINES) -> list[tuple[int, str]]:
    """The first non-blank lines (number, text) from the scanned head of the file."""
    head = scanned.head
    if len(head) < scanned.size and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # drop a line cut by the head's end
    decoded = decode_lines(head, scanned.encoding)
    out: list[tuple[int, str]] = []
    for i, text in enumerate(decoded.lines):
        if not is_blank(text):
            out.append((i + 1, text))
            if len(out) >= limit:
                break
    return out


def _magic(source: Source) -> bytes:
    with source.open() as handle:
        return handle.read(8)


def _refuse_binary(name: str, magic: bytes) -> None:
    for start, code in _BINARY_KINDS:
        if magic.startswith(start):
            raise UnsupportedFile(refusal(code), name)


def _decide_csv_order(
    source: Source, encoding: str, layout: CsvLayout, profile: MappingProfile | None, fmt: str
) -> DateOrder | None:
    """Stream the date column once and decide day/month order for the whole file."""
    if profile is not None and profile.date_order is not None:
        return profile.date_order
    if fmt == "zktime_csv":
        return "mdy"  # ZKTime 5 / Att2000 write MM/DD/YYYY whatever the PC's locale
    iso_wins = fmt == "hikvision"  # iVMS writes ISO times; odd rows must not refuse the file
    vote = DateOrderVote()
    col = layout.date_column()
    cache: set[str] = set()  # dates repeat on every row; look at each one once
    for raw in iter_chunks(source, 100_000):
        decoded = decode_lines(raw.data, encoding)
        numbered = ((raw.first_line_no + i, t) for i, t in enumerate(decoded.lines))
        for _, _, fields in iter_rows(numbered, layout):
            if fields is None or len(fields) <= col:
                continue
            value = fields[col].strip()
            if value in cache:
                continue
            cache.add(value)
            vote.add(value)
        if vote.conflicting() and not iso_wins:
            break
    return vote.decide(source.name, profile, iso_wins=iso_wins)


def _guess_format(name: str, lines: list[tuple[int, str]]) -> tuple[str, CsvLayout | None]:
    """zk_attlog when attlog punches dominate; else a delimited export with a header
    (csv, or zktime_csv / hikvision by their header); else attlog if any line parses."""
    good, bad = zk_votes(lines)
    if good and good >= bad:
        return "zk_attlog", None
    try:
        layout = find_layout(name, lines, None)
    except UnsupportedFile as exc:
        if good:
            # a damaged attlog: its rejects with reasons beat "unknown format"
            return "zk_attlog", None
        detail = exc.refusal or str(exc).removeprefix(name + ": ")
        raise UnsupportedFile(refusal("unknown_format", detail=detail), name) from None
    return layout.dialect, layout


_DIALECT_HEADERS = {"zktime_csv": "not_zktime", "hikvision": "not_hikvision"}  # refusal codes


def _open_html(
    source: Source, scanned: ScanResult, chunk_lines: int, rules: RowRules
) -> PunchFile:
    limits = rules.limits
    if scanned.size > limits.html_max_bytes:
        mb = 1024 * 1024
        raise UnsupportedFile(refusal(
            "html_too_large", size=scanned.size // mb, limit=limits.html_max_bytes // mb), source.name)
    table, layout = find_table_layout(source, scanned, limits)
    info = FileInfo(
        source.name,
        "hikvision",
        scanned.encoding,
        None,
        scanned.size,
        columns=dict(layout.columns),
        line_unit="table row",
    )
    punch_file = HtmlTableFile(source, info, table, layout, chunk_lines, rules)
    info.date_order = punch_file.vote_date_order(iso_wins=True)
    return punch_file


def _open(
    source: Source,
    fmt: str,
    profile: MappingProfile | None,
    chunk_lines: int,
    rules: RowRules = DEFAULT_RULES,
) -> PunchFile:
    year_range_seconds(rules.years)  # a ValueError for a nonsensical range, before any work
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if chunk_lines < 1:
        raise ValueError("chunk_lines must be at least 1")
    if profile is not None and fmt not in ("auto", "zk_attlog", *PROFILE_FORMATS):
        raise ValueError(
            f"a mapping profile applies to fmt {' or '.join(map(repr, PROFILE_FORMATS))}"
            f" (or 'auto'), not {fmt!r}"
        )
    name = source.name
    magic = _magic(source)
    if magic.startswith(_ZIP_MAGIC):
        if fmt not in ("auto", "xlsx"):
            raise UnsupportedFile(refusal("zip_not_format", format=fmt), name)
        return open_xlsx(source, profile, chunk_lines, rules)
    _refuse_binary(name, magic)
    scanned = scan(source)
    lines = _head_lines(scanned)
    if lines and lines[0][1].lstrip().startswith("<"):
        if not looks_like_html(lines[0][1], scanned.head):
            raise UnsupportedFile(refusal("html_without_table"), name)
        if fmt not in ("auto", "hikvision"):
            raise UnsupportedFile(refusal("html_not_format", format=fmt), name)
        if profile is not None:
            raise UnsupportedFile(refusal("html_with_profile"), name)
        return _open_html(source, scanned, chunk_lines, rules)
    if fmt == "xlsx":
        raise UnsupportedFile(refusal("not_xlsx"), name)
    layout: CsvLayout | None = None
    if fmt == "auto":
        if profile is not None:
            fmt = "csv"  # a mapping profile describes a delimited file
        elif not lines:
            # A terminal with no new punches exports an empty attlog: nothing to import,
            # which an unattended scheduled import must not treat as a failure.
            fmt = "zk_attlog"
        else:
            fmt, layout = _guess_format(name, lines)
    if fmt == "zk_attlog":
        info = FileInfo(name, "zk_attlog", scanned.encoding, "ymd", scanned.size)
        return ZkAttlogFile(source, info, scanned, chunk_lines, rules)
    if not lines and profile is None:
        raise UnsupportedFile(refusal("no_data_lines"), name)
    if layout is None:
        layout = find_layout(name, lines, profile)
    if fmt in _DIALECT_HEADERS and layout.dialect != fmt:
        raise UnsupportedFile(refusal(_DIALECT_HEADERS[fmt]), name)
    order = _decide_csv_order(source, scanned.encoding, layout, profile, fmt)
    info = FileInfo(
        name,
        fmt,
        scanned.encoding,
        order,
        scanned.size,
        delimiter=layout.delimiter,
        columns=dict(layout.columns),
        profile=profile.name if profile else None,
    )
    return DelimitedFile(source, info, layout, chunk_lines, rules)


def open_punch_file(
    path: str | os.PathLike[str],
    fmt: str = "auto",
    profile: MappingProfile | None = None,
    chunk_lines: int = 200_000,
    *,
    plausible_years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> PunchFile:
    """Detect encoding, format and date order of a punch-log file; stream it with .chunks().

    Punches outside ``plausible_years`` (inclusive) are rejected with a reason; ``limits``
    bounds line, field, workbook and HTML sizes (see ``ParseLimits``).
    """
    rules = RowRules(tuple(plausible_years), limits)  # type: ignore[arg-type]
    return _open(Source.from_path(path), fmt, profile, chunk_lines, rules)


def open_punch_bytes(
    data: bytes,
    name: str = "<bytes>",
    fmt: str = "auto",
    profile: MappingProfile | None = None,
    chunk_lines: int = 200_000,
    *,
    plausible_years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> PunchFile:
    """Like ``open_punch_file`` for bytes already in memory (an upload, a serial capture)."""
    rules = RowRules(tuple(plausible_years), limits)  # type: ignore[arg-type]
    return _open(Source.from_bytes(data, name), fmt, profile, chunk_lines, rules)


def read_all(punch_file: PunchFile) -> ParsedChunk:
    """Parse a whole file into one ParsedChunk (convenience for small files and tests)."""
    frames = []
    rejected: list[RejectedLine] = []
    raws: list[bytes] = []
    skipped = 0
    done = 0
    for chunk in punch_file.chunks():
        frames.append(chunk.punches)
        rejected.extend(chunk.rejected)
        raws.append(chunk.raw)
        skipped += chunk.skipped
        done = chunk.bytes_done
    return make_chunk(frames, rejected, skipped, done, 1, b"".join(raws))


def parse_lines(
    lines: Iterable[str],
    fmt: str = "zk_attlog",
    profile: MappingProfile | None = None,
    first_line_no: int = 1,
    *,
    plausible_years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> ParsedChunk:
    """Parse decoded text lines (e.g. from a serial line-protocol terminal) in one go.

    Each item is one line; a trailing CR/LF is removed. An item that still contains a
    line break is rejected rather than split, so numbering always follows the items.
    """
    items = list(lines)
    body: list[str] = []
    broken: list[RejectedLine] = []
    for i, text in enumerate(items):
        text = text.removesuffix("\n").removesuffix("\r")
        if "\n" in text:
            broken.append(RejectedLine.because(first_line_no + i, text, reason("line_break")))
            text = ""
        body.append(text)
    data = "\n".join(body).encode("utf-8", errors="replace")  # a lone surrogate becomes '?'
    if fmt == "auto":
        fmt = "csv" if profile is not None else "zk_attlog"
    if not data.strip():
        return make_chunk([], broken, 0, len(data), first_line_no, data)
    rules = RowRules(tuple(plausible_years), limits)  # type: ignore[arg-type]
    punch_file = _open(Source.from_bytes(data, "<lines>"), fmt, profile, max(1, len(items)), rules)
    result = read_all(punch_file)
    if first_line_no != 1:
        shift = first_line_no - 1
        result.punches["line_no"] += shift
        result.rejected = [
            r.moved(shift) for r in result.rejected
        ]
    return make_chunk(
        [result.punches], result.rejected + broken, result.skipped, len(data), first_line_no, data
    )
