"""Types shared by every punch-log parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from .reasons import ParamValue, Reason
from .refusals import Refusal
from .refusals import render as render_refusal

DateOrder = Literal["ymd", "dmy", "mdy"]
LineUnit = Literal["line", "table row", "sheet row"]

#: Columns of ``ParsedChunk.punches``, in this order.
PUNCH_COLUMNS = ("line_no", "user_id", "device_time", "status", "verify", "work_code")


@dataclass(frozen=True)
class RejectedLine:
    """A non-blank line that is not a punch, kept with why."""

    line_no: int  # 1-based physical line number in the file
    raw: str  # the line as decoded (without its line ending); for HTML/xlsx rows the cells
    # joined by TAB (line breaks inside a cell written as \n)
    reason: str  # e.g. "field 2 (time): '2024-13-01 07:00:00' is not a valid date/time"
    # the same reason as a stable code and its values (devices.parsers.reasons), so that it
    # can be worded in another language; not part of equality (the English text says it all)
    code: str | None = field(default=None, compare=False)
    params: Mapping[str, ParamValue] = field(default_factory=dict, compare=False)

    @classmethod
    def because(cls, line_no: int, raw: str, why: Reason) -> RejectedLine:
        """A rejected line whose English reason, code and values all come from ``why``."""
        return cls(line_no, raw, str(why), why.code, dict(why.params))

    def moved(self, shift: int) -> RejectedLine:
        """The same rejection ``shift`` lines further down."""
        return RejectedLine(self.line_no + shift, self.raw, self.reason, self.code, self.params)


@dataclass
class ParsedChunk:
    """Punches and rejects of a run of consecutive lines.

    ``punches`` has the columns of ``PUNCH_COLUMNS``: ``line_no`` int64, ``user_id``
    str (leading zeros and letters kept, surrounding spaces stripped), ``device_time``
    datetime64 (naive, device local time, to the second), ``status``/``verify`` nullable
    Int64, ``work_code`` str or None.
    """

    punches: pd.DataFrame
    rejected: list[RejectedLine] = field(default_factory=list)
    skipped: int = 0  # recognised non-punch lines: header row, serial-number line, checksum footer
    bytes_done: int = 0  # bytes of the file consumed so far (for progress bars)
    # added for the audit trail: the chunk's bytes as read (UTF-16 files transcoded to UTF-8,
    # BOM removed); line n of the file is raw_line(n)
    first_line_no: int = 1
    raw: bytes = b""
    _raw_lines: list[bytes] | None = field(default=None, init=False, repr=False, compare=False)

    def raw_lines(self) -> list[bytes]:
        """The chunk's physical lines as bytes (without LF), split once and cached."""
        if self._raw_lines is None:
            lines = self.raw.split(b"\n")
            if self.raw.endswith(b"\n") or not self.raw:
                lines.pop()
            self._raw_lines = lines
        return self._raw_lines

    def raw_line(self, line_no: int) -> bytes:
        """The raw bytes of physical line ``line_no`` (without its LF) if it is in this chunk."""
        index = line_no - self.first_line_no
        lines = self.raw_lines()
        if not 0 <= index < len(lines):
            raise IndexError(f"line {line_no} is not in this chunk")
        return lines[index]


@dataclass(frozen=True)
class MappingProfile:
    """Where the punch fields are in a delimited file or xlsx sheet we do not know by heart.

    Store it with ``profile_to_dict`` and load it with ``profile_from_dict`` (validated).
    """

    name: str
    user_id: str  # header name (or 0-based column index as text when has_header is False;
    # in an xlsx sheet column A is 0)
    datetime: str | None = None  # one column holding date and time
    date: str | None = None  # or separate date and time columns
    time: str | None = None
    status: str | None = None
    delimiter: str | None = None  # None: sniffed (ignored for xlsx)
    has_header: bool = True
    date_order: DateOrder | None = None  # None: decided per file from the values


@dataclass
class FileInfo:
    """What was detected about a file before parsing it."""

    path: str
    format: str  # "zk_attlog", "csv", "zktime_csv", "hikvision", "xlsx"
    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "cp1258", "cp1252" ("utf-8" for xlsx)
    date_order: DateOrder | None
    size: int
    # added for delimited files: what was used, so an import screen can show it
    delimiter: str | None = None  # "," ";" "\t" "|" (None for attlog files)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header, e.g. user_id -> Mã CC
    profile: str | None = None  # name of the MappingProfile applied, if any
    # added for tables that are not text lines: what RejectedLine.line_no / punches.line_no
    # count ("line" of a text file, "table row" of an HTML table, "sheet row" of a workbook)
    line_unit: LineUnit = "line"
    sheet: str | None = None  # xlsx: title of the worksheet read


class PunchFile:
    """A detected punch-log file; iterate ``chunks()`` to stream it in bounded memory."""

    info: FileInfo

    def chunks(self) -> Iterator[ParsedChunk]:  # pragma: no cover - interface
        raise NotImplementedError


#: Years a punch may fall in unless the caller says otherwise (inclusive): a terminal whose
#: clock was reset writes 2000-01-01 or 0001-01-01, a typo 0026 or 9999.
DEFAULT_PLAUSIBLE_YEARS = (2000, 2099)


@dataclass(frozen=True)
class ParseLimits:
    """Bounds that keep hostile files cheap; anything beyond them is refused or rejected."""

    max_line_chars: int = 4096  # a longer line (table row) is rejected, not parsed
    max_field_chars: int = 256  # a longer mapped field (cell) is rejected before matching
    # .xlsx: decompressed bytes of every zip member together, of one member, and the
    # compression ratio a member may claim (a zip bomb is refused before it is inflated)
    zip_max_total_bytes: int = 200 * 1024 * 1024
    zip_max_shared_strings_bytes: int = 64 * 1024 * 1024  # openpyxl keeps these in memory
    zip_max_ratio: int = 200
    html_max_bytes: int = 200 * 1024 * 1024  # an HTML ".xls" larger than this is refused
    html_max_depth: int = 32  # nested <table> elements


DEFAULT_LIMITS = ParseLimits()


class UnsupportedFile(ValueError):
    """The file is not a punch log we can read (message names the file and why).

    ``refusal`` is why as a code and values (``devices.parsers.refusals``), for wording it in
    another language; ``file`` the name the message starts with. ``str()`` is the English
    "<file>: <why>". A plain message (no refusal) is still accepted from older callers.
    """

    def __init__(self, why: Refusal | str, file: str | None = None) -> None:
        self.refusal = why if isinstance(why, Refusal) else None
        self.file = file
        super().__init__(str(why) if file is None else f"{file}: {why}")

    def worded(self, translate: Callable[[str], str]) -> str:
        """The message with its refusal passed through ``translate`` (the file name as it is)."""
        if self.refusal is None:
            return str(self)
        text = render_refusal(self.refusal, translate)
        return text if self.file is None else f"{self.file}: {text}"
