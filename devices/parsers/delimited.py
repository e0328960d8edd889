"""Delimited exports (CSV with comma, semicolon or tab) mapped by header name.

Covers the Vietnamese vendor programs (Wise Eye, MitaPro, Ronald Jack), ZKTime/Att2000
CSV and Hikvision "Original Records" CSV through built-in header synonyms, and anything
else through a ``MappingProfile``. The header logic here also serves the HTML-table and
xlsx readers, which hand over rows already split into cells. Headers are matched by name, never by position;
matching ignores case, accents, the letter đ and punctuation. Each physical line is one
row: a quoted value cannot span lines (no punch export needs that).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .common import (
    BLANK_CHARS,
    Punch,
    control_char_problem,
    date_to_seconds,
    field_reason,
    frame_from_punches,
    implausible,
    is_blank,
    make_chunk,
    show,
    time_to_seconds,
    too_long,
    user_id_problem,
)
from .encoding import DecodedLines
from .reasons import Reason, reason
from .refusals import Refusal, refusal
from .types import (
    DEFAULT_LIMITS,
    DEFAULT_PLAUSIBLE_YEARS,
    DateOrder,
    MappingProfile,
    ParsedChunk,
    ParseLimits,
    RejectedLine,
    UnsupportedFile,
)
from .zk_attlog import parse_zk_line

DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_LINES = 30  # vendor exports put a few title rows above the header

#: Normalised header names per role, best first (see ``norm_label``).
ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    # the attendance code (device PIN) beats the HR employee code when both are present
    "user_id": (
        "ma cham cong",
        "ma cc",
        "ma so cham cong",
        "user id",
        "userid",
        "pin",
        "ac no",
        "enroll no",
        "enroll number",
        "person id",
        "employee id",
        "ma nv",
        "ma n vien",  # Wise Eye "Mã N.Viên"
        "ma nhan vien",
        "ma so nhan vien",
        "no",
        "id",
    ),
    "name": (
        "ho ten",
        "ho va ten",
        "ten",
        "name",
        "ten nhan vien",
        "full name",
        "employee name",
        "nhan vien",
    ),
    "datetime": (
        "thoi gian",
        "date time",
        "datetime",
        "ngay gio",
        "thoi gian cham cong",
        "thoi diem",
        "check time",
        "punch time",
        "attendance time",
    ),
    "date": ("ngay", "date", "ngay cham cong", "ngay thang"),
    # "Time" may also hold a full date and time (Hikvision); the values decide
    "time": ("gio", "time", "gio cham", "gio cham cong", "gio vao"),
    "status": ("trang thai", "status", "attendance status", "state", "vao ra", "in out"),
}
_OUT_TIME_HEADERS = ("gio ra", "time out", "check out time")
#: Wise Eye "Chi tiết chấm công": one row per person-day, punches in "Vào 1", "Ra 1", ...
_PAIR_HEADER = re.compile(r"(vao|ra) ([0-9]{1,2})")

_STATUS_WORDS: dict[str, int] = {
    "c in": 0,
    "check in": 0,
    "checkin": 0,
    "in": 0,
    "vao": 0,
    "c out": 1,
    "check out": 1,
    "checkout": 1,
    "out": 1,
    "ra": 1,
    "break out": 2,
    "break in": 3,
    "ot in": 4,
    "overtime in": 4,
    "ot out": 5,
    "overtime out": 5,
}

_ISO_DATE = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_DMY_DATE = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4}|[0-9]{2})")
# Every pattern here runs on untrusted text, so none has two quantifiers that can match
# the same characters next to each other (no backtracking blow-up), and fields are
# length-checked before they get here (ParseLimits.max_field_chars). Spaces between a time
# and its AM/PM or UTC offset are handled with str.strip, not with \s* in a pattern.
_TIME_HEAD = re.compile(r"([0-9]{1,2})[:hH]([0-9]{2})(?:[:mM]([0-9]{2})(?:[.,][0-9]{1,6})?)?")
_UTC_OFFSET = re.compile(r"[zZ]|[+-][0-9]{2}:?[0-9]{2}")
_HALF_DAYS = ("AM", "PM", "SA", "CH")
_DATETIME_SEP = re.compile(r"[\sT]")
_INT = re.compile(r"[0-9]{1,9}")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

_VOTE_MAX_CHARS = 64
_HEADER_MAX_CHARS = 4096  # no header row is longer; longer rows are never compared with it

ORDER_TEXT = {"dmy": "dd/mm/yyyy", "mdy": "mm/dd/yyyy", "ymd": "yyyy-mm-dd"}


def norm_label(text: str) -> str:
    """Header/label key: no accents, no đ, lower case, punctuation as single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NON_ALNUM.sub(" ", bare).strip()


def split_row(line: str, delimiter: str) -> list[str]:
    """Split one physical line into fields (quotes honoured within the line)."""
    if '"' not in line:
        return line.split(delimiter)
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def clean_user_id(value: str) -> str:
    """Strip spaces and the Excel text markers (leading apostrophe, ="...") around an id."""
    value = value.strip()
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    if value.startswith("'"):
        value = value[1:].strip()
    return value


# --- dates and times -------------------------------------------------------------------


def date_evidence(value: str) -> str | None:
    """What one date value says about day/month order: ymd, dmy, mdy, same, ambiguous."""
    value = value.strip()
    if _ISO_DATE.fullmatch(value):
        return "ymd"
    m = _DMY_DATE.fullmatch(value)
    if m is None:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if a > 12 and b <= 12:
        return "dmy"
    if b > 12 and a <= 12:
        return "mdy"
    if a == b and a <= 12:
        return "same"  # 05/05/2026 reads the same either way
    return "ambiguous" if a <= 12 and b <= 12 else None


def parse_date(value: str, order: DateOrder | None) -> int | None:
    """Seconds since 1970 of a date value in the file's order (ISO always accepted)."""
    value = value.strip()
    m = _ISO_DATE.fullmatch(value)
    if m:
        return date_to_seconds(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DMY_DATE.fullmatch(value)
    if m is None:
        return None
    a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
    year = int(y) + 2000 if len(y) == 2 else int(y)
    if order == "dmy" or (a == b and order is not None):
        return date_to_seconds(year, b, a)
    if order == "mdy":
        return date_to_seconds(year, a, b)
    return None


def _time_parts(value: str) -> tuple[int, int, int, str] | None:
    """(hour, minute, second, AM/PM/SA/CH or "") of a time text, in one linear pass."""
    value = value.strip()
    m = _TIME_HEAD.match(value)
    if m is None:
        return None
    rest = value[m.end() :].lstrip()
    half = rest[:2].upper()
    if half in _HALF_DAYS:
        rest = rest[2:]
        rest = rest[1:].lstrip() if rest.startswith(".") else rest.lstrip()
    else:
        half = ""
    if rest and _UTC_OFFSET.fullmatch(rest) is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), half


def is_time(value: str) -> bool:
    """True when ``value`` reads as a time of day (the shapes ``parse_time`` accepts)."""
    return _time_parts(value) is not None


def parse_time(value: str) -> int | None:
    """Seconds since midnight of ``H:MM``, ``HH:MM:SS`` (optionally AM/PM or SA/CH)."""
    parts = _time_parts(value)
    if parts is None:
        return None
    hour, minute, second, half = parts
    if half:
        if not 1 <= hour <= 12:
            return None
        # SA (sáng) / CH (chiều) are the Vietnamese Windows AM/PM designators
        hour = hour % 12 + (12 if half in ("PM", "CH") else 0)
    return time_to_seconds(hour, minute, second)


def split_datetime(value: str) -> tuple[str, str] | None:
    """Split a combined value into (date, time) text, whichever comes first."""
    value = value.strip()
    if "\n" in value or "\r" in value:
        return None
    m = _DATETIME_SEP.search(value, 1)  # the first space or "T" after the first character
    # a "T" splits only when the time follows it directly ("2026-10-01T07:00"); the search
    # only moves forward, so this stays linear
    while m is not None and m.group() == "T" and not value[m.end() : m.end() + 1].strip():
        m = _DATETIME_SEP.search(value, m.end())
    if m is None:
        return None
    first = value[: m.start()]
    second = value[m.end() :].lstrip()
    if is_time(first) and not is_time(second):
        return second, first  # "07:58 01/10/2026"
    return first, second


def parse_datetime(value: str, order: DateOrder | None) -> int | None:
    """Seconds since 1970 of a combined date and time value."""
    parts = split_datetime(value)
    if parts is None:
        return None
    day, tod = parse_date(parts[0], order), parse_time(parts[1])
    if day is None or tod is None:
        return None
    return day + tod


def parse_status(value: str) -> int | None:
    """A status code: digits as is, known in/out words mapped to ZK codes, else None."""
    value = value.strip()
    if _INT.fullmatch(value):
        return int(value)
    # an unknown label is not a reason to lose the punch: status is only an attribute
    return _STATUS_WORDS.get(norm_label(value))


# --- layout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvLayout:
    """Where the punch fields are in a delimited file."""

    delimiter: str
    header_line: int | None  # physical line number of the header row (None: no header)
    header_key: tuple[str, ...] | None  # normalised header, to skip repeated header rows
    user_id: int
    datetime: int | None = None
    date: int | None = None
    time: int | None = None
    status: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # role -> header text
    dialect: str = "csv"  # "zktime_csv" / "hikvision" when the header is that export's
    # person-day layouts (Wise Eye "Vào 1 / Ra 1 / ..."): (column, status, header text) of
    # each in/out time column; every non-empty one is a punch on the row's date
    pairs: tuple[tuple[int, int, str], ...] = ()

    def needed(self) -> int:
        """Fields a row must have to reach every mapped column."""
        idx = [self.user_id, self.datetime, self.date, self.time, self.status]
        return max(i for i in idx if i is not None) + 1

    def mapped(self) -> list[int]:
        """Indices of the mapped columns (their values are length-checked and parsed)."""
        idx = [self.user_id, self.datetime, self.date, self.time, self.status]
        return [i for i in idx if i is not None] + [i for i, _, _ in self.pairs]

    def date_column(self) -> int:
        """The column whose values carry the date."""
        col = self.datetime if self.datetime is not None else self.date
        assert col is not None
        return col


def _match_roles(keys: list[str]) -> dict[str, int]:
    """Map roles to column indices by synonym rank (each column used once)."""
    found: dict[str, int] = {}
    used: set[int] = set()
    for role in ("user_id", "datetime", "date", "time", "status", "name"):
        synonyms = ROLE_SYNONYMS[role]
        best: tuple[int, int] | None = None
        for i, key in enumerate(keys):
            if i in used or key not in synonyms:
                continue
            rank = synonyms.index(key)
            if best is None or rank < best[0]:
                best = (rank, i)
        if best is not None:
            found[role] = best[1]
            used.add(best[1])
    return found


#: Known exports recognised by their header (normalised keys, see ``norm_label``).
ZKTIME_KEYS = frozenset({"no", "date time"})  # Department, Name, No., Date/Time, Status, ...
HIKVISION_KEYS = frozenset({"person id", "time"})  # Person ID, Name, Department, Time, ...


def header_dialect(keys: Sequence[str], user_id: int) -> str:
    """Which known export a recognised header is: "zktime_csv", "hikvision" or "csv"."""
    present = set(keys)
    if keys[user_id] == "no" and ZKTIME_KEYS <= present:
        return "zktime_csv"
    if keys[user_id] == "person id" and HIKVISION_KEYS <= present:
        return "hikvision"
    return "csv"


def _has_date(value: str) -> bool:
    parts = split_datetime(value)
    return parts is not None and (
        _ISO_DATE.fullmatch(parts[0]) is not None or _DMY_DATE.fullmatch(parts[0]) is not None
    )


def _layout_from_header(
    name: str,
    line_no: int,
    fields: list[str],
    delimiter: str,
    roles: dict[str, int],
    samples: list[list[str]],
    *,
    unit: str = "line",
    by_profile: bool = False,
) -> CsvLayout:
    """Decide datetime vs date+time columns for a recognised header (may refuse)."""
    keys = tuple(norm_label(f) for f in fields)
    uid = roles["user_id"]
    dialect = "csv" if by_profile else header_dialect(keys, uid)
    dt, d, t = roles.get("datetime"), roles.get("date"), roles.get("time")
    if t is not None and dt is None and d is None and dialect == "hikvision":
        dt, t = t, None  # Hikvision's "Time" is a date and time (no sample vote needed)
    if t is not None and dt is None:
        values = [row[t] for row in samples if len(row) > t and row[t].strip()]
        if values and sum(_has_date(v) for v in values) * 2 > len(values):
            dt, t, d = t, None, None  # a "Time" column that holds date and time
    pairs = _pair_columns(fields, keys) if dt is None and t is None and not by_profile else ()
    if dt is not None:
        d = t = None
    elif d is not None and pairs:
        pass  # a person-day row: the date, then in/out times
    elif d is None or t is None:
        missing = "time" if t is None else "date"
        present = "date" if d is not None else "time"
        raise UnsupportedFile(refusal(
            "header_half_date", unit=unit, line=line_no, present=present, missing=missing), name)
    if t is not None and keys[t] == "gio vao" and any(k in _OUT_TIME_HEADERS for k in keys):
        raise UnsupportedFile(refusal("header_in_out_pairs", unit=unit, line=line_no), name)
    status = roles.get("status")
    used = {"user_id": uid, "datetime": dt, "date": d, "time": t, "status": status}
    columns = {r: fields[i].strip() for r, i in used.items() if i is not None}
    seen: dict[int, int] = {}
    for _, status, header in pairs:
        seen[status] = seen.get(status, 0) + 1
        columns[f"{'in' if status == 0 else 'out'}_{seen[status]}"] = header
    return CsvLayout(
        delimiter=delimiter,
        header_line=line_no,
        header_key=keys,
        user_id=uid,
        datetime=dt,
        date=d,
        time=t,
        status=status,
        columns=columns,
        dialect=dialect,
        pairs=pairs,
    )


def _pair_columns(fields: Sequence[str], keys: Sequence[str]) -> tuple[tuple[int, int, str], ...]:
    """The ``Vào n`` / ``Ra n`` columns of a header: (index, status 0 in / 1 out, header)."""
    out = []
    for i, key in enumerate(keys):
        m = _PAIR_HEADER.fullmatch(key)
        if m is not None:
            out.append((i, 0 if m.group(1) == "vao" else 1, fields[i].strip()))
    return tuple(out)


def header_roles(fields: Sequence[str], profile: MappingProfile | None) -> dict[str, int] | None:
    """Roles of a candidate header row (None unless it has a user id and a date/time)."""
    keys = [norm_label(f) for f in fields]
    roles = _profile_roles(keys, profile) if profile else _match_roles(keys)
    if "user_id" not in roles or not ({"datetime", "date", "time"} & roles.keys()):
        return None
    return roles


def no_header(profile: MappingProfile | None, where: Refusal) -> Refusal:
    """The refusal when no header row is found (``where``: "in the first 30 lines", ...)."""
    if profile is not None:
        wanted = ", ".join(
            repr(v) for v in (profile.user_id, profile.datetime, profile.date, profile.time) if v
        )
        return refusal("profile_no_header", profile=repr(profile.name), columns=wanted, where=where)
    return refusal("no_header", where=where)


def layout_from_rows(
    name: str,
    rows: Sequence[tuple[int, list[str]]],
    profile: MappingProfile | None = None,
    *,
    unit: str = "row",
) -> CsvLayout | None:
    """The header among rows already split into cells (HTML tables, sheets), or None."""
    for pos, (row_no, fields) in enumerate(rows[:HEADER_SEARCH_LINES]):
        roles = header_roles(fields, profile)
        if roles is None:
            continue
        samples = [cells for _, cells in rows[pos + 1 : pos + 51]]
        return _layout_from_header(
            name, row_no, fields, "", roles, samples, unit=unit, by_profile=profile is not None
        )
    return None


def find_layout(
    name: str, lines: list[tuple[int, str]], profile: MappingProfile | None = None
) -> CsvLayout:
    """Find the header row and delimiter in the first non-blank lines (or apply a profile)."""
    if profile is not None and not profile.has_header:
        return _layout_without_header(name, lines, profile)
    delimiters = (profile.delimiter,) if profile and profile.delimiter else DELIMITERS
    for pos, (line_no, text) in enumerate(lines[:HEADER_SEARCH_LINES]):
        best: tuple[int, int, str, list[str], dict[str, int]] | None = None
        for delim in delimiters:
            if delim not in text and len(delimiters) > 1:
                continue
            fields = split_row(text, delim)
            roles = header_roles(fields, profile)
            if roles is None:
                continue
            score = (len(roles), len(fields))
            if best is None or score > best[:2]:
                best = (score[0], score[1], delim, fields, roles)
        if best is not None:
            _, _, delim, fields, roles = best
            samples = [split_row(t, delim) for _, t in lines[pos + 1 : pos + 51]]
            return _layout_from_header(
                name, line_no, fields, delim, roles, samples, by_profile=profile is not None
            )
    raise UnsupportedFile(no_header(profile, refusal("in_first_lines", n=HEADER_SEARCH_LINES)), name)


def _profile_roles(keys: list[str], profile: MappingProfile) -> dict[str, int]:
    roles: dict[str, int] = {}
    for role in ("user_id", "datetime", "date", "time", "status"):
        wanted = getattr(profile, role)
        if wanted is None:
            continue
        key = norm_label(wanted)
        if key not in keys:
            return {}
        roles[role] = keys.index(key)
    return roles


def _column_index(profile: MappingProfile, role: str, value: str) -> int:
    try:
        idx = int(value)
    except ValueError:
        idx = -1
    if idx < 0:
        raise UnsupportedFile(refusal(
            "profile_column_index", profile=repr(profile.name), role=role, value=repr(value)))
    return idx


def profile_indices(name: str, profile: MappingProfile) -> dict[str, int]:
    """Role -> 0-based column of a profile for files without a header (may refuse)."""
    roles = {
        role: _column_index(profile, role, getattr(profile, role))
        for role in ("user_id", "datetime", "date", "time", "status")
        if getattr(profile, role) is not None
    }
    if "datetime" not in roles and not {"date", "time"} <= roles.keys():
        raise UnsupportedFile(refusal("profile_no_datetime", profile=repr(profile.name)), name)
    if "datetime" in roles:
        roles.pop("date", None)
        roles.pop("time", None)
    return roles


def layout_by_index(name: str, profile: MappingProfile, delimiter: str = "") -> CsvLayout:
    """The layout of a header-less file whose columns a profile names by index."""
    roles = profile_indices(name, profile)
    return CsvLayout(
        delimiter=delimiter,
        header_line=None,
        header_key=None,
        user_id=roles["user_id"],
        datetime=roles.get("datetime"),
        date=roles.get("date"),
        time=roles.get("time"),
        status=roles.get("status"),
        columns={r: f"column {i}" for r, i in roles.items()},
    )


def _layout_without_header(
    name: str, lines: list[tuple[int, str]], profile: MappingProfile
) -> CsvLayout:
    roles = profile_indices(name, profile)
    need = max(roles.values()) + 1
    delim = profile.delimiter
    if delim is None:
        # the delimiter that gives most sample lines enough fields
        sample = [t for _, t in lines[:50]]
        scores = {d: sum(len(split_row(t, d)) >= need for t in sample) for d in DELIMITERS}
        delim = max(DELIMITERS, key=lambda d: scores[d])
        if need > 1 and scores[delim] == 0:
            raise UnsupportedFile(refusal("no_delimiter", need=need, profile=repr(profile.name)), name)
    return layout_by_index(name, profile, delim)


# --- date order ----------------------------------------------------------------------------


@dataclass
class DateOrderVote:
    """Evidence about day/month order collected over a whole file."""

    seen: dict[str, int] = field(default_factory=dict)
    example: dict[str, str] = field(default_factory=dict)

    def add(self, value: str) -> None:
        """Record the evidence of one date (or date/time) value."""
        if len(value) > _VOTE_MAX_CHARS:
            return  # no date is this long; the row is rejected when it is parsed
        parts = split_datetime(value)
        text = parts[0] if parts else value
        kind = date_evidence(text)
        if kind is not None:
            self.seen[kind] = self.seen.get(kind, 0) + 1
            self.example.setdefault(kind, text.strip())

    def conflicting(self) -> bool:
        """Both orders are proven (some day > 12 in each position)."""
        return "dmy" in self.seen and "mdy" in self.seen

    def decide(
        self, name: str, profile: MappingProfile | None, *, iso_wins: bool = False
    ) -> DateOrder | None:
        """The file's order; refuses a file that proves none (or both) without a profile.

        With ``iso_wins`` (exports known to write ISO dates) a file holding any ISO date is
        read as ISO instead of being refused: its odd day/month values are rejected row by row.
        """
        if profile is not None and profile.date_order is not None:
            return profile.date_order
        undecided = self.conflicting() or (
            "ambiguous" in self.seen and "dmy" not in self.seen and "mdy" not in self.seen
        )
        if iso_wins and undecided and "ymd" in self.seen:
            return "ymd"
        if self.conflicting():
            raise UnsupportedFile(refusal(
                "both_date_orders", dmy=repr(self.example["dmy"]), mdy=repr(self.example["mdy"])), name)
        if "dmy" in self.seen:
            return "dmy"
        if "mdy" in self.seen:
            return "mdy"
        if "ambiguous" in self.seen:
            raise UnsupportedFile(refusal("ambiguous_date_order", example=repr(self.example["ambiguous"])), name)
        if "same" in self.seen:
            return "dmy"  # every date reads the same in both orders
        return "ymd" if self.seen else None


_TITLE_CELL_MAX = 64  # longer cells are never a time or a date/time


def _is_time_cell(value: str) -> bool:
    value = value.strip()
    if not value or len(value) > _TITLE_CELL_MAX:
        return False
    return is_time(value) or any(parse_datetime(value, o) is not None for o in ("dmy", "mdy"))


def title_row_problem(cells: Sequence[str], unit: str, header_line: int) -> Reason | None:
    """None when a row above the header is a title row (skipped), else the reject reason.

    A title row has no cell that is a time or a date and time by itself, and is not an
    attlog punch line: every punch needs its time in a cell of its own, so skipping such a
    row cannot lose one ("Start Time: 2026-10-01 00:00:00" is a caption, "07:00" a time).
    """
    for value in cells:
        if _is_time_cell(value):
            return reason("title_row_time", unit=unit, header=header_line, value=show(value.strip()))
    text = "\t".join(cells)
    if len(text) <= 4096 and isinstance(parse_zk_line(text, 0), Punch):
        return reason("title_row_punch", unit=unit, header=header_line)
    return None


def iter_rows(
    lines: Iterable[tuple[int, str]], layout: CsvLayout
) -> Iterator[tuple[int, str, list[str] | None]]:
    """Yield (line_no, text, fields) for data rows; fields is None for structural rows
    (the header, a repeated header); rows above the header come with fields [] and are
    checked with ``title_row_problem``."""
    for line_no, text in lines:
        if is_blank(text):
            continue
        if layout.header_line is not None and line_no < layout.header_line:
            yield line_no, text, []  # a title row above the header, or a reject
            continue
        if layout.header_line is not None and line_no == layout.header_line:
            yield line_no, text, None
            continue
        fields = split_row(text, layout.delimiter)
        # a header is short: do not normalise (a Python pass per character) a long line
        if (
            layout.header_key is not None
            and len(fields) == len(layout.header_key)
            and len(text) <= _HEADER_MAX_CHARS
        ):
            if tuple(norm_label(f) for f in fields) == layout.header_key:
                yield line_no, text, None  # header repeated (page breaks in exports)
                continue
        yield line_no, text, fields


@dataclass(frozen=True)
class RowStyle:
    """How reject reasons name a row's fields (CSV fields, HTML table cells, ...)."""

    #: (row number, 0-based field index, role label, problem) -> reason
    field: Callable[[int, int, str, Reason], Reason]
    #: (row number, fields needed, fields found) -> reason
    count: Callable[[int, int, int], Reason]
    #: (row number, problem of the whole row) -> reason
    row: Callable[[int, Reason], Reason] = lambda _n, problem: problem


CSV_STYLE = RowStyle(
    field=lambda _n, i, label, problem: field_reason(i + 1, label, problem),
    count=lambda _n, need, found: reason("too_few_fields", need=need, found=found),
)


@dataclass(frozen=True)
class RowRules:
    """Per-file checks every row gets: plausible years and length bounds."""

    years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS
    limits: ParseLimits = DEFAULT_LIMITS


DEFAULT_RULES = RowRules()


def is_repeated_header(fields: Sequence[str], layout: CsvLayout) -> bool:
    """True for a row that repeats the header (page breaks), trailing empty cells ignored."""
    key = layout.header_key
    if key is None or not fields or len(fields[0]) > _HEADER_MAX_CHARS:
        return False
    if norm_label(fields[0]) != key[0]:
        return False  # the first cell settles almost every row cheaply
    keys = [norm_label(f) for f in fields]
    while keys and not keys[-1]:
        keys.pop()
    end = len(key)
    while end and not key[end - 1]:
        end -= 1
    return tuple(keys) == key[:end]


def parse_row(
    line_no: int,
    text: str,
    fields: list[str],
    layout: CsvLayout,
    order: DateOrder | None,
    style: RowStyle = CSV_STYLE,
    rules: RowRules = DEFAULT_RULES,
) -> Punch | RejectedLine | list[Punch | RejectedLine] | None:
    """Parse one data row; None for an empty spreadsheet row (only delimiters).

    A person-day row (``layout.pairs``) gives a list: one punch per non-empty in/out
    cell, a reject for each cell that is not a time.
    """

    def reject(index: int, label: str, problem: Reason) -> RejectedLine:
        return RejectedLine.because(line_no, text, style.field(line_no, index, label, problem))

    problem = too_long(text, rules.limits.max_line_chars, "row" if style is not CSV_STYLE else "line")
    if problem:
        return RejectedLine.because(line_no, text, style.row(line_no, problem))
    for i, value in enumerate(fields):
        problem = control_char_problem(value)
        if problem:
            return reject(i, _label(layout, i), problem)
    # Blank as a blank line is: nothing but whitespace and delimiters. A row whose fields are
    # empty only after unquoting (a lone '"') still had content: it goes on to be rejected.
    if not any(f.strip(BLANK_CHARS) for f in fields) and not text.replace(layout.delimiter, "").strip(BLANK_CHARS):
        return None
    need = layout.needed()
    if len(fields) < need:
        return RejectedLine.because(line_no, text, style.count(line_no, need, len(fields)))
    for i in layout.mapped():
        problem = too_long(fields[i].strip(), rules.limits.max_field_chars)
        if problem:
            return reject(i, _label(layout, i), problem)
    if layout.pairs and not any(_cell(fields, i).strip() for i, _, _ in layout.pairs):
        return None  # a person-day without punches (a day off): nothing to read
    ui = layout.user_id
    user_id = clean_user_id(fields[ui])
    problem = user_id_problem(user_id)
    if problem:
        return reject(ui, "user id", problem)
    fmt = ORDER_TEXT.get(order or "ymd", "yyyy-mm-dd")
    if layout.pairs:
        assert layout.date is not None
        value = fields[layout.date]
        day = parse_date(value, order)
        if day is None:
            return reject(layout.date, "date", reason("not_valid", value=show(value.strip()), kind="date", expected=fmt))
        problem = implausible(value.strip(), day, rules.years)
        if problem:
            return reject(layout.date, "date", problem)
        results: list[Punch | RejectedLine] = []
        for i, status, header in layout.pairs:
            value = _cell(fields, i).strip()
            if not value:
                continue  # a missing punch
            tod = parse_time(value)
            if tod is None:
                results.append(reject(i, header, reason("not_valid", value=show(value), kind="time", expected="hh:mm[:ss]")))
            else:
                results.append(Punch(line_no, user_id, day + tod, status, None, None))
        return results
    if layout.datetime is not None:
        value = fields[layout.datetime]
        seconds = parse_datetime(value, order)
        if seconds is None:
            return reject(layout.datetime, "date/time", reason("not_valid", value=show(value.strip()), kind="date/time",
                                                               expected=f"{fmt} hh:mm[:ss]"))
    else:
        assert layout.date is not None and layout.time is not None
        value = fields[layout.date]
        day = parse_date(value, order)
        if day is None:
            return reject(layout.date, "date", reason("not_valid", value=show(value.strip()), kind="date", expected=fmt))
        value = fields[layout.time]
        tod = parse_time(value)
        if tod is None:
            return reject(layout.time, "time", reason("not_valid", value=show(value.strip()), kind="time",
                                                      expected="hh:mm[:ss]"))
        seconds = day + tod
    index = layout.date_column()
    problem = implausible(fields[index].strip(), seconds, rules.years)
    if problem:
        return reject(index, _label(layout, index), problem)
    status = parse_status(fields[layout.status]) if layout.status is not None else None
    return Punch(line_no, user_id, seconds, status, None, None)


def _cell(fields: Sequence[str], index: int) -> str:
    """A field, or "" when the row stops before it (trailing empty cells)."""
    return fields[index] if index < len(fields) else ""


def _label(layout: CsvLayout, index: int) -> str:
    for role, attr in (
        ("user id", layout.user_id),
        ("date/time", layout.datetime),
        ("date", layout.date),
        ("time", layout.time),
        ("status", layout.status),
    ):
        if attr == index:
            return role
    for i, _, header in layout.pairs:
        if i == index:
            return header
    return "unmapped column"


def as_results(
    res: Punch | RejectedLine | list[Punch | RejectedLine] | None,
) -> list[Punch | RejectedLine]:
    """What ``parse_row`` returned, as a list (empty for None)."""
    if res is None:
        return []
    return res if isinstance(res, list) else [res]


def parse_csv_lines(
    decoded: DecodedLines,
    first_line_no: int,
    layout: CsvLayout,
    order: DateOrder | None,
    bytes_done: int = 0,
    raw: bytes = b"",
    rules: RowRules = DEFAULT_RULES,
) -> ParsedChunk:
    """Parse a run of decoded lines of a delimited file."""
    punches: list[Punch] = []
    rejected: list[RejectedLine] = []
    skipped = 0
    numbered: list[tuple[int, str]] = []
    for i, text in enumerate(decoded.lines):
        undecodable = decoded.errors.get(i)
        if undecodable is not None:
            rejected.append(RejectedLine.because(first_line_no + i, text, undecodable))
        else:
            numbered.append((first_line_no + i, text))
    header = layout.header_line or 0
    for line_no, text, fields in iter_rows(numbered, layout):
        if fields is None:
            skipped += 1
            continue
        if line_no < header:
            cells = split_row(text, layout.delimiter)
            if not any(c.strip(BLANK_CHARS) for c in cells):
                continue  # only delimiters: blank, as below the header
            problem = title_row_problem(cells, "line", header)
            if problem is None:
                skipped += 1
            else:
                rejected.append(RejectedLine.because(line_no, text, problem))
            continue
        res = parse_row(line_no, text, fields, layout, order, rules=rules)
        # None: only delimiters and spaces (or a person-day without punches): not counted
        for item in as_results(res):
            if isinstance(item, Punch):
                punches.append(item)
            else:
                rejected.append(item)
    frame = frame_from_punches(punches)
    return make_chunk([frame], rejected, skipped, bytes_done, first_line_no, raw)
