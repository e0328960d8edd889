"""ZK USB ``attlog.dat`` parser (docs/terminals.md).

Accepted shapes, fields separated by any run of spaces/tabs:

* ``PIN  YYYY-MM-DD HH:MM:SS  DeviceID  Status  Verify  [WorkCode]`` (5 or 6 fields)
* ``PIN  Name  YYYY-MM-DD HH:MM:SS  DeviceID  Status  [Verify  [WorkCode]]`` (5 to 7)
* old black-and-white firmware: a serial-number line first and a checksum line last
  (both "skipped").

``parse_zk_line`` is the reference definition. ``parse_zk_chunk`` gets the same answers
fast: the pandas C tokenizer splits every line, each column is factorised and only its
distinct values are checked (by the same functions ``parse_zk_line`` uses), and any line
the fast path does not accept outright is handed to ``parse_zk_line``.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .common import (
    Punch,
    control_char_problem,
    field_reason,
    frame_from_punches,
    implausible,
    is_blank,
    make_chunk,
    punch_frame,
    show,
    time_to_seconds,
    too_long,
    user_id_problem,
    year_range_seconds,
)
from .common import (
    date_to_seconds as _date_to_seconds,
)
from .encoding import TokenizerBuffer, decode_lines, nfc, tokenizer_buffer
from .reasons import Reason, reason
from .types import DEFAULT_LIMITS, DEFAULT_PLAUSIBLE_YEARS, ParsedChunk, RejectedLine

_TOKEN_SPLIT = re.compile(r"[ \t]+")  # the C tokenizer's whitespace separators, exactly
ZK_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ZK_TIME_RE = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")
_INT_RE = re.compile(r"[0-9]{1,9}")
#: Old B&W terminals write their serial number (e.g. OIN7030067011301) as the first line:
#: letters and digits, both present (a lone number is a damaged punch, not a serial) ...
SERIAL_RE = re.compile(r"[A-Za-z0-9]{6,40}")
#: ... and a CRC-32 (8 hex digits, e.g. EE091CF9) as the last line. Only these exact shapes
#: in these positions are skipped; every other line is a punch or a reject with a reason.
CHECKSUM_RE = re.compile(r"(?:0[xX])?[0-9A-Fa-f]{8}")

_BAD = np.iinfo(np.int64).min  # "invalid" in int64 value arrays

STD_LABELS = ("user id", "time", "device id", "status", "verify", "work code")
NAMED_LABELS = ("user id", "name", "time", "device id", "status", "verify", "work code")


class _Skipped:
    """Marker for a recognised structural line (serial number, checksum)."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED = _Skipped()

ZkLineResult = Punch | RejectedLine | _Skipped | None


def zk_date_seconds(token: str) -> int | None:
    """Seconds since 1970 of a ``YYYY-MM-DD`` token, or None if not a real date."""
    if ZK_DATE_RE.fullmatch(token) is None:
        return None
    return _date_to_seconds(int(token[:4]), int(token[5:7]), int(token[8:10]))


def zk_time_seconds(token: str) -> int | None:
    """Seconds since midnight of an ``HH:MM:SS`` token, or None if not a valid time."""
    if ZK_TIME_RE.fullmatch(token) is None:
        return None
    return time_to_seconds(int(token[:2]), int(token[3:5]), int(token[6:8]))


def zk_int(token: str) -> int | None:
    """A status/verify code: 1 to 9 ASCII digits, else None."""
    return int(token) if _INT_RE.fullmatch(token) else None


def _fixed_width(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the values exactly ``width`` characters long, and their code points."""
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    sel = np.flatnonzero(lengths == width)
    points = np.array(values[sel].tolist(), dtype=f"<U{width}").view(np.uint32)
    return sel, points.reshape(-1, width).astype(np.int64)


def zk_times_vec(values: np.ndarray) -> np.ndarray:
    """Vectorised ``zk_time_seconds`` over an object array (``_BAD`` where invalid)."""
    out = np.full(len(values), _BAD, dtype=np.int64)
    sel, cp = _fixed_width(values, 8)
    if len(sel):
        d = cp - 48  # ASCII digits become 0..9; every other character falls outside
        digits = d[:, [0, 1, 3, 4, 6, 7]]
        ok = ((digits >= 0) & (digits <= 9)).all(axis=1) & (cp[:, 2] == 58) & (cp[:, 5] == 58)
        hour, minute, second = (
            d[:, 0] * 10 + d[:, 1],
            d[:, 3] * 10 + d[:, 4],
            d[:, 6] * 10 + d[:, 7],
        )
        ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
        out[sel] = np.where(ok, (hour * 60 + minute) * 60 + second, _BAD)
    return out


_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def zk_dates_vec(values: np.ndarray) -> np.ndarray:
    """Vectorised ``zk_date_seconds`` over an object array (``_BAD`` where invalid)."""
    out = np.full(len(values), _BAD, dtype=np.int64)
    sel, cp = _fixed_width(values, 10)
    if len(sel):
        d = cp - 48
        digits = d[:, [0, 1, 2, 3, 5, 6, 8, 9]]
        ok = ((digits >= 0) & (digits <= 9)).all(axis=1) & (cp[:, 4] == 45) & (cp[:, 7] == 45)
        year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
        month, day = d[:, 5] * 10 + d[:, 6], d[:, 8] * 10 + d[:, 9]
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        dim = _DAYS_IN_MONTH[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
        ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim)
        months = np.where(ok, (year - 1970) * 12 + month - 1, 0)
        first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        out[sel] = np.where(ok, (first + day - 1) * 86400, _BAD)
    return out


def _is_date_shaped(token: str) -> bool:
    return ZK_DATE_RE.fullmatch(token) is not None


def is_serial_line(token: str) -> bool:
    """The serial-number shape of an old B&W terminal's first line."""
    return (
        SERIAL_RE.fullmatch(token) is not None
        and not token.isdigit()
        and any(c.isdigit() for c in token)
    )


def parse_zk_line(
    text: str,
    line_no: int,
    *,
    first_content: bool = False,
    last_content: bool = False,
    years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS,
    max_line_chars: int = DEFAULT_LIMITS.max_line_chars,
) -> ZkLineResult:
    """Parse one decoded attlog line: a Punch, a RejectedLine, SKIPPED, or None if blank."""
    if is_blank(text):
        return None
    problem = too_long(text, max_line_chars, "line")
    if problem:
        return RejectedLine.because(line_no, text, problem)
    tokens = _TOKEN_SPLIT.split(text.strip(" \t"))
    n = len(tokens)
    if n == 1:
        if first_content and is_serial_line(tokens[0]):
            return SKIPPED
        if last_content and CHECKSUM_RE.fullmatch(tokens[0]):
            return SKIPPED

    # Where is the date? Right after the PIN, or after a name (which may contain spaces).
    d: int | None = None
    if n > 1 and _is_date_shaped(tokens[1]):
        d = 1
    else:
        d = next((i for i in range(2, n) if _is_date_shaped(tokens[i])), None)
        if d is None and _is_date_shaped(tokens[0]):
            tokens.insert(0, "")  # the line starts with the time: the PIN is missing
            n += 1
            d = 1

    named = d is not None and d > 1
    labels = NAMED_LABELS if named else STD_LABELS
    date_tok = time_tok = None
    if d is None:
        fields = tokens
    else:
        head = [tokens[0]] if d == 1 else [tokens[0], " ".join(tokens[1:d])]
        date_tok = tokens[d]
        if d + 1 < n and ":" in tokens[d + 1]:
            time_tok = tokens[d + 1]
            fields = [*head, f"{date_tok} {time_tok}", *tokens[d + 2 :]]
        else:
            fields = [*head, date_tok, *tokens[d + 1 :]]

    def reject(index: int, problem: Reason) -> RejectedLine:
        label = labels[index] if index < len(labels) else "extra"
        return RejectedLine.because(line_no, text, field_reason(index + 1, label, problem))

    for i, value in enumerate(fields):
        problem = control_char_problem(value)
        if problem:
            return reject(i, problem)

    nf = len(fields)
    if named and not 5 <= nf <= 7:
        return RejectedLine.because(line_no, text, reason("fields_named", found=nf))
    if not named and nf not in (5, 6):
        return RejectedLine.because(line_no, text, reason("fields_standard", found=nf))

    problem = user_id_problem(fields[0])
    if problem:
        return reject(0, problem)

    ti = 2 if named else 1
    seconds = None
    if date_tok is not None and time_tok is not None:
        day = zk_date_seconds(date_tok)
        tod = zk_time_seconds(time_tok)
        if day is not None and tod is not None:
            seconds = day + tod
    if seconds is None:
        return reject(ti, reason("not_datetime", value=show(fields[ti])))
    problem = implausible(fields[ti], seconds, years)
    if problem:
        return reject(ti, problem)

    si = ti + 2  # the device id sits between time and status and is deliberately ignored
    status = zk_int(fields[si])
    if status is None:
        return reject(si, reason("not_whole_number", value=show(fields[si])))
    verify = None
    if nf > si + 1:
        verify = zk_int(fields[si + 1])
        if verify is None:
            return reject(si + 1, reason("not_whole_number", value=show(fields[si + 1])))
    work_code = fields[si + 2] if nf > si + 2 else None
    return Punch(line_no, fields[0], seconds, status, verify, work_code)


@dataclass(frozen=True)
class ZkChunkContext:
    """File-level facts a chunk needs: encoding and where the content starts and ends."""

    encoding: str
    first_content_line: int | None
    last_content_line: int | None
    years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS
    max_line_chars: int = DEFAULT_LIMITS.max_line_chars


def _collect(
    results: list[tuple[int, ZkLineResult]],
) -> tuple[list[Punch], list[RejectedLine], int]:
    punches: list[Punch] = []
    rejected: list[RejectedLine] = []
    skipped = 0
    for _, res in results:
        if isinstance(res, Punch):
            punches.append(res)
        elif isinstance(res, RejectedLine):
            rejected.append(res)
        elif res is SKIPPED:
            skipped += 1
    return punches, rejected, skipped


def _slow_line(
    text: str, line_no: int, ctx: ZkChunkContext, decode_error: Reason | None = None
) -> ZkLineResult:
    if decode_error is not None:
        return RejectedLine.because(line_no, text, decode_error)
    return parse_zk_line(
        text,
        line_no,
        first_content=line_no == ctx.first_content_line,
        last_content=line_no == ctx.last_content_line,
        years=ctx.years,
        max_line_chars=ctx.max_line_chars,
    )


def parse_zk_chunk_slow(
    data: bytes, first_line_no: int, ctx: ZkChunkContext, bytes_done: int = 0
) -> ParsedChunk:
    """Parse a run of raw lines one by one with ``parse_zk_line`` (the reference path)."""
    decoded = decode_lines(data, ctx.encoding)
    results = [
        (i, _slow_line(text, first_line_no + i, ctx, decoded.errors.get(i)))
        for i, text in enumerate(decoded.lines)
    ]
    punches, rejected, skipped = _collect(results)
    frame = frame_from_punches(punches)
    return make_chunk([frame], rejected, skipped, bytes_done, first_line_no, data)


ParseMode = Literal["auto", "fast", "slow"]
FAST_MIN_LINES = 32

# Tokens per line the fast path looks at: the named 7-field shape has 8 tokens (the date
# and time are two tokens), so a 9th column tells "too many fields".
_WIDTH = 9
_MAX_WIDTH = 512
_EXPECTED_RE = re.compile(r"Expected \d+ fields in line \d+, saw (\d+)")


def _tokenize(buf: bytes) -> list[np.ndarray] | None:
    """Split every line into whitespace tokens with the C parser (None if it cannot)."""
    width = _WIDTH
    for _ in range(4):
        try:
            with warnings.catch_warnings():
                # index_col=False: without it a first row with one token more than `names`
                # silently becomes the index and shifts that row's columns. With it such a
                # row is cut to `width` tokens (a ParserWarning) -- harmless, because any row
                # with a 9th token goes to the per-line parser, which re-reads the line.
                warnings.simplefilter("ignore", pd.errors.ParserWarning)
                df = pd.read_csv(
                    io.BytesIO(buf),
                    sep=r"\s+",
                    header=None,
                    names=list(range(width)),
                    index_col=False,
                    dtype=object,
                    na_filter=False,
                    quoting=csv.QUOTE_NONE,
                    skip_blank_lines=False,
                    engine="c",
                    encoding="utf-8",
                )
        except pd.errors.ParserError as exc:
            # a line with more tokens than columns: widen and retry (rare garbage lines)
            m = _EXPECTED_RE.search(str(exc))
            if m is None or int(m.group(1)) > _MAX_WIDTH:
                return None
            width = min(_MAX_WIDTH, max(int(m.group(1)), 2 * width))
            continue
        except (pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
            return None
        return [df[i].to_numpy(dtype=object) for i in range(_WIDTH)]
    return None


class _Column:
    """A factorised token column: functions are evaluated once per distinct value."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.codes, self.uniques = pd.factorize(values)
        self._cache: dict[str, np.ndarray] = {}

    def ints(self, name: str, fn: Callable[[str], int | None]) -> np.ndarray:
        """Per-row int64 value of ``fn`` (``_BAD`` where fn returns None)."""
        arr = self._cache.get(name)
        if arr is None:
            arr = np.fromiter(
                (_BAD if (v := fn(u)) is None else v for u in self.uniques),
                dtype=np.int64,
                count=len(self.uniques),
            )
            self._cache[name] = arr
        return arr[self.codes]

    def normalised(self) -> np.ndarray:
        """The column with every value in NFC."""
        return np.array([nfc(u) for u in self.uniques], dtype=object)[self.codes]

    def vec(self, name: str, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Per-row value of a vectorised function of the distinct values."""
        arr = self._cache.get(name)
        if arr is None:
            arr = fn(self.uniques)
            self._cache[name] = arr
        return arr[self.codes]

    def flags(self, name: str, fn: Callable[[str], bool]) -> np.ndarray:
        """Per-row boolean value of ``fn``."""
        arr = self._cache.get(name)
        if arr is None:
            arr = np.fromiter((fn(u) for u in self.uniques), dtype=bool, count=len(self.uniques))
            self._cache[name] = arr
        return arr[self.codes]


def _user_id_ok(value: str) -> bool:
    return user_id_problem(value) is None


def parse_zk_chunk(
    data: bytes,
    first_line_no: int,
    ctx: ZkChunkContext,
    bytes_done: int = 0,
    *,
    n_lines: int | None = None,
    mode: ParseMode = "auto",
) -> ParsedChunk:
    """Parse a run of raw attlog lines (vectorised; falls back per line or per chunk).

    ``mode`` "fast"/"slow" forces one path (tests compare them); "auto" parses runs of
    fewer than ``FAST_MIN_LINES`` lines one by one, where the C parser's set-up dominates.
    """
    if n_lines is None:
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) if data else 0
    slow = mode == "slow" or (mode == "auto" and n_lines < FAST_MIN_LINES)
    if slow or n_lines == 0:
        return parse_zk_chunk_slow(data, first_line_no, ctx, bytes_done)
    buf = tokenizer_buffer(data, ctx.encoding)
    cols = _tokenize(buf.data)
    if cols is None or len(cols[0]) != n_lines:
        return parse_zk_chunk_slow(data, first_line_no, ctx, bytes_done)
    return _parse_tokens(cols, buf, data, first_line_no, ctx, bytes_done)


def _parse_tokens(
    cols: list[np.ndarray],
    buf: TokenizerBuffer,
    data: bytes,
    first_line_no: int,
    ctx: ZkChunkContext,
    bytes_done: int,
) -> ParsedChunk:
    n = len(cols[0])
    c0 = _Column(cols[0])
    if not buf.is_ascii:
        # the buffer is not NFC-normalised: normalise the distinct ids (and work codes below);
        # NFC never turns a non-ASCII token into a valid date, time or number
        c0.uniques = np.array([nfc(u) for u in c0.uniques], dtype=object)
    has0 = c0.flags("nonempty", bool)
    c1 = _Column(cols[1])
    c2 = _Column(cols[2])
    shape1 = c1.flags("date_shape", _is_date_shaped)
    uid_ok = c0.flags("user_id", _user_id_ok)

    c5 = _Column(cols[5])
    has6 = cols[6].astype(bool)
    has7 = cols[7].astype(bool)
    zeros = np.zeros(n, dtype=np.int64)
    # each layout is only worked out if some line can have it (named files skip std, ...)

    # standard layout: PIN, date, time, device id, status, verify[, work code]
    std_ok = np.zeros(n, dtype=bool)
    std_sec = std_status = std_verify = zeros
    if shape1.any():
        d1 = c1.vec("date", zk_dates_vec)
        t2 = c2.vec("time", zk_times_vec)
        std_sec = d1 + t2
        std_status = _Column(cols[4]).ints("int", zk_int)
        std_verify = c5.ints("int", zk_int)
        std_ok = (
            shape1
            & uid_ok
            & (d1 != _BAD)
            & (t2 != _BAD)
            & (std_status != _BAD)
            & (std_verify != _BAD)
            & ~has7
        )

    # named layout: PIN, name, date, time, device id, status[, verify[, work code]]
    maybe_named = has0 & ~shape1
    named_ok = np.zeros(n, dtype=bool)
    named_sec = named_status = named_verify = zeros
    if maybe_named.any():
        d2 = c2.vec("date", zk_dates_vec)
        t3 = _Column(cols[3]).vec("time", zk_times_vec)
        named_sec = d2 + t3
        named_status = c5.ints("int", zk_int)
        named_verify = _Column(cols[6]).ints("int", zk_int)
        named_ok = (
            maybe_named
            & uid_ok
            & (d2 != _BAD)
            & (t3 != _BAD)
            & (named_status != _BAD)
            & (~has6 | (named_verify != _BAD))
            & ~cols[8].astype(bool)
        )

    lo, hi = year_range_seconds(ctx.years)
    accepted = (std_ok & (std_sec >= lo) & (std_sec < hi)) | (
        named_ok & (named_sec >= lo) & (named_sec < hi)
    )
    if len(buf.data) > ctx.max_line_chars:
        # UTF-8 bytes >= characters: a line this long in bytes goes to the per-line
        # parser, which decides by characters (one vectorised pass over the chunk)
        accepted &= ~_long_lines(buf.data, n, ctx.max_line_chars)
    special = np.zeros(n, dtype=bool)
    if buf.special:
        special[list(buf.special)] = True
    # with whitespace separators a line has an empty first token only if it is blank
    slow = ~accepted & (has0 | special)

    frames = []
    if accepted.any():
        idx = np.flatnonzero(accepted)
        std_rows = std_ok[idx]
        all_std = bool(std_rows.all())
        user_id = c0.uniques[c0.codes[idx]]
        if all_std:
            seconds = std_sec[idx]
            status = std_status[idx]
            verify = std_verify[idx]
            verify_null = np.zeros(len(idx), dtype=bool)
            work = cols[6][idx]
            work_present = has6[idx]
        else:
            seconds = np.where(std_rows, std_sec[idx], named_sec[idx])
            status = np.where(std_rows, std_status[idx], named_status[idx])
            verify = np.where(std_rows, std_verify[idx], named_verify[idx])
            verify_null = ~std_rows & ~has6[idx]
            verify = np.where(verify_null, 0, verify)
            work = np.where(std_rows, cols[6][idx], cols[7][idx])
            work_present = np.where(std_rows, has6[idx], has7[idx])
        if not buf.is_ascii:
            work = _Column(work).normalised()
        if not work_present.all():
            work = work.copy()
            work[~work_present] = None
        frames.append(
            punch_frame(
                idx + first_line_no,
                user_id,
                seconds,
                pd.arrays.IntegerArray(status, np.zeros(len(idx), dtype=bool)),
                pd.arrays.IntegerArray(verify, verify_null),
                work,
            )
        )

    results: list[tuple[int, ZkLineResult]] = []
    for i in np.flatnonzero(slow).tolist():
        text = buf.line_text(i, data, ctx.encoding)
        results.append((i, _slow_line(text, first_line_no + i, ctx, buf.special.get(i))))
    punches, rejected, skipped = _collect(results)
    if punches:
        frames.append(frame_from_punches(punches))
    return make_chunk(frames, rejected, skipped, bytes_done, first_line_no, data)


def _long_lines(buf: bytes, n: int, limit: int) -> np.ndarray:
    """Per line of ``buf`` (``n`` lines): longer than ``limit`` bytes, LF excluded."""
    lf = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
    ends = np.append(lf, len(buf))[:n]
    starts = np.concatenate(([0], lf + 1))[:n]
    return (ends - starts) > limit


def zk_votes(lines: list[tuple[int, str]]) -> tuple[int, int]:
    """How many sample lines parse as attlog punches, and how many are rejected."""
    if not lines:
        return 0, 0
    first = lines[0][0]
    good = bad = 0
    for line_no, text in lines:
        res = parse_zk_line(text, line_no, first_content=line_no == first)
        if isinstance(res, Punch):
            good += 1
        elif isinstance(res, RejectedLine):
            bad += 1
    return good, bad
