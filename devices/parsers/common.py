"""Field checks and result assembly shared by every parser.

The fast (vectorised) and slow (per-line) paths of each parser call the same functions
here, so they cannot disagree about what a valid user id, date or time is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from .reasons import Reason, reason
from .types import PUNCH_COLUMNS, ParsedChunk, RejectedLine

MAX_USER_ID_LEN = 24

#: Characters that make a line "blank" (not read, not counted). Form feed and vertical
#: tab are whitespace to every text tool, so a line of them is blank too.
BLANK_CHARS = " \t\r\x0b\x0c"

#: C0 and C1 control characters except TAB (Unicode category Cc minus U+0009).
CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SHOW_MAX = 60


def is_blank(line: str) -> bool:
    """True for an empty or whitespace-only line (spaces, tabs, CR, VT, FF)."""
    return not line.strip(BLANK_CHARS)


def show(value: str) -> str:
    """Quote a field value for a reject reason, shortened so reasons stay readable."""
    if len(value) > _SHOW_MAX:
        return repr(value[:_SHOW_MAX]) + "..."
    return repr(value)


def field_reason(index: int, label: str, problem: Reason) -> Reason:
    """A reject reason naming the 1-based field and what is wrong with it."""
    return problem.at("field", index=index, label=label)


def control_char_problem(value: str) -> Reason | None:
    """Describe the first control character in ``value``, or None if there is none."""
    m = CONTROL_RE.search(value)
    if m is None:
        return None
    return reason("control_character", char=f"U+{ord(m.group()):04X}", position=m.start() + 1)


def user_id_problem(value: str) -> Reason | None:
    """Why ``value`` is not a usable device user id, or None when it is fine."""
    if not value:
        return reason("empty")
    if len(value) > MAX_USER_ID_LEN:
        return reason("user_id_too_long", value=show(value), limit=MAX_USER_ID_LEN)
    if "\ufffd" in value:
        # U+FFFD is what a decoder leaves for undecodable bytes; such an id is not trustworthy
        return reason("user_id_undecodable", value=show(value))
    if not value.isprintable():
        # isprintable() is False for controls, format characters (zero-width space, BOM),
        # line/paragraph separators and non-ASCII spaces: all invisible spoofing hazards
        bad = next(c for c in value if not c.isprintable())
        return reason("user_id_non_printing", value=show(value), char=f"U+{ord(bad):04X}")
    return None


def year_range_seconds(years: tuple[int, int]) -> tuple[int, int]:
    """Seconds since 1970 of the first instant of ``years[0]`` and of ``years[1] + 1``."""
    first, last = years
    if not 1 <= first <= last <= 9998:
        raise ValueError(f"plausible_years must be (first, last) with 1 <= first <= last <= 9998, not {years!r}")
    lo = date_to_seconds(first, 1, 1)
    hi = date_to_seconds(last + 1, 1, 1)
    assert lo is not None and hi is not None
    return lo, hi


def implausible(value: str, seconds: int, years: tuple[int, int]) -> Reason | None:
    """Why ``seconds`` (parsed from ``value``) is outside the plausible years, or None."""
    lo, hi = year_range_seconds(years)
    if lo <= seconds < hi:
        return None
    return reason("implausible_year", value=show(value), first=years[0], last=years[1])


TooLong = Literal["line", "row", "field"]


def too_long(value: str, limit: int, what: TooLong = "field") -> Reason | None:
    """Why ``value`` is too long to be read (checked before any pattern matching), or None."""
    if len(value) <= limit:
        return None
    return reason(f"{what}_too_long", length=len(value), limit=limit)


def date_to_seconds(year: int, month: int, day: int) -> int | None:
    """Seconds from 1970-01-01 to the given date, or None if it is not a real date."""
    try:
        return (date(year, month, day).toordinal() - _EPOCH_ORDINAL) * 86400
    except ValueError:
        return None


def time_to_seconds(hour: int, minute: int, second: int) -> int | None:
    """Seconds since midnight, or None if the time of day is out of range."""
    if hour > 23 or minute > 59 or second > 59:
        return None
    return (hour * 60 + minute) * 60 + second


@dataclass(frozen=True, slots=True)
class Punch:
    """One accepted punch, before it goes into a DataFrame."""

    line_no: int
    user_id: str
    seconds: int  # device local time as seconds since 1970-01-01 (naive)
    status: int | None
    verify: int | None
    work_code: str | None


def _nullable_ints(values: Sequence[int | None]) -> pd.arrays.IntegerArray:
    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
    return pd.arrays.IntegerArray(data, mask)


def punch_frame(
    line_no: np.ndarray,
    user_id: np.ndarray,
    seconds: np.ndarray,
    status: pd.arrays.IntegerArray,
    verify: pd.arrays.IntegerArray,
    work_code: np.ndarray,
) -> pd.DataFrame:
    """Assemble the punches DataFrame with the column order and dtypes of PUNCH_COLUMNS."""
    # object dtype is explicit: pandas 3 would otherwise convert the str columns (slow, and
    # work_code's None would turn into NaN)
    frame = pd.DataFrame(
        {
            "line_no": pd.Series(np.asarray(line_no, dtype=np.int64), copy=False),
            "user_id": pd.Series(user_id, dtype=object, copy=False),
            "device_time": pd.Series(
                np.asarray(seconds, dtype=np.int64).view("datetime64[s]"), copy=False
            ),
            "status": pd.Series(status, copy=False),
            "verify": pd.Series(verify, copy=False),
            "work_code": pd.Series(work_code, dtype=object, copy=False),
        },
        copy=False,
    )
    return frame[list(PUNCH_COLUMNS)]


def frame_from_punches(punches: Sequence[Punch]) -> pd.DataFrame:
    """Build the punches DataFrame from a list of Punch records."""
    n = len(punches)
    return punch_frame(
        np.fromiter((p.line_no for p in punches), dtype=np.int64, count=n),
        np.array([p.user_id for p in punches], dtype=object),
        np.fromiter((p.seconds for p in punches), dtype=np.int64, count=n),
        _nullable_ints([p.status for p in punches]),
        _nullable_ints([p.verify for p in punches]),
        np.array([p.work_code for p in punches], dtype=object),
    )


def concat_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate punch frames and order them by line number."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return frame_from_punches([])
    if len(frames) == 1:
        out = frames[0]
    else:
        out = pd.concat(frames, ignore_index=True)
    if len(out) > 1 and not out["line_no"].is_monotonic_increasing:
        out = out.sort_values("line_no", kind="stable")
    return out.reset_index(drop=True)


def make_chunk(
    frames: Sequence[pd.DataFrame],
    rejected: list[RejectedLine],
    skipped: int,
    bytes_done: int,
    first_line_no: int = 1,
    raw: bytes = b"",
) -> ParsedChunk:
    """Build a ParsedChunk with punches and rejects in line order."""
    rejected.sort(key=lambda r: r.line_no)
    return ParsedChunk(
        punches=concat_frames(frames),
        rejected=rejected,
        skipped=skipped,
        bytes_done=bytes_done,
        first_line_no=first_line_no,
        raw=raw,
    )
