"""ZK push (ADMS / iclock) ``ATTLOG`` upload bodies (docs/terminals.md).

One punch per line, fields separated by TAB::

    PIN  time  Status  Verify  [WorkCode  [Reserved  [Reserved]]]

Note the order differs from the USB ``attlog.dat`` (no device id between time and
status). Rules, shared with the file parsers (see README.md):

* lines are split on LF; one CR before the LF is dropped; blank lines are not counted;
* the PIN is text (leading zeros kept, surrounding spaces stripped, 1-24 printable
  characters); time is exactly ``YYYY-MM-DD HH:MM:SS`` (device local time); status and
  verify are whole numbers; the work code is kept as text (None when missing or empty);
* fields 6 and 7 are reserved and ignored. Fields after the seventh are ignored too:
  public ADMS server code reads extra trailing columns from newer firmware (an id, mask
  flag, temperature); that is not in docs/terminals.md and is *unverified*, but refusing such
  lines would lose punches whose key fields are unambiguous;
* every other line becomes a ``RejectedLine`` whose reason names the field.

Pure: no database, no Flask.
"""

from __future__ import annotations

from .common import (
    Punch,
    control_char_problem,
    field_reason,
    frame_from_punches,
    implausible,
    is_blank,
    make_chunk,
    show,
    too_long,
    user_id_problem,
    year_range_seconds,
)
from .encoding import nfc
from .reasons import Reason, reason
from .types import DEFAULT_LIMITS, DEFAULT_PLAUSIBLE_YEARS, ParsedChunk, RejectedLine
from .zk_attlog import zk_date_seconds, zk_int, zk_time_seconds

#: Field labels in upload order (1-based field n is PUSH_LABELS[n - 1]).
PUSH_LABELS = ("user id", "time", "status", "verify", "work code", "reserved", "reserved")
MIN_FIELDS = 4  # PIN, time, status, verify: the last three "may be missing" (docs/terminals.md)

#: Spaces around a field are padding, not content (tabs are the separators).
_PAD = " "


def _label(index: int) -> str:
    return PUSH_LABELS[index] if index < len(PUSH_LABELS) else "extra"


def push_time_seconds(value: str) -> int | None:
    """Seconds since 1970 (naive device time) of ``YYYY-MM-DD HH:MM:SS``, else None."""
    if len(value) != 19 or value[10] != " ":
        return None
    day = zk_date_seconds(value[:10])
    tod = zk_time_seconds(value[11:])
    if day is None or tod is None:
        return None
    return day + tod


def parse_push_line(
    text: str, line_no: int, years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS
) -> Punch | RejectedLine | None:
    """One decoded ATTLOG line: a Punch, a RejectedLine naming the field, or None if blank."""
    if is_blank(text):
        return None
    fields = [f.strip(_PAD) for f in text.split("\t")]

    def reject(index: int, problem: Reason) -> RejectedLine:
        return RejectedLine.because(line_no, text, field_reason(index + 1, _label(index), problem))

    for i, value in enumerate(fields):
        problem = control_char_problem(value)
        if problem:
            return reject(i, problem)
    if len(fields) < MIN_FIELDS:
        # Name the first missing field, so the reason says what the terminal left out.
        return reject(len(fields), reason("missing_fields", need=MIN_FIELDS, found=len(fields)))

    user_id = nfc(fields[0])
    problem = user_id_problem(user_id)
    if problem:
        return reject(0, problem)
    seconds = push_time_seconds(fields[1])
    if seconds is None:
        return reject(1, reason("not_push_datetime", value=show(fields[1])))
    problem = implausible(fields[1], seconds, years)
    if problem:
        return reject(1, problem)
    status = zk_int(fields[2])
    if status is None:
        return reject(2, reason("not_whole_number", value=show(fields[2])))
    verify = zk_int(fields[3])
    if verify is None:
        return reject(3, reason("not_whole_number", value=show(fields[3])))
    work_code = nfc(fields[4]) if len(fields) > 4 and fields[4] else None
    return Punch(line_no, user_id, seconds, status, verify, work_code)


def parse_push_body(
    text: str,
    first_line_no: int = 1,
    *,
    plausible_years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS,
    max_line_chars: int = DEFAULT_LIMITS.max_line_chars,
) -> ParsedChunk:
    """Parse a decoded ``table=ATTLOG`` upload body into punches and rejected lines.

    Times outside ``plausible_years`` (inclusive) and lines longer than ``max_line_chars``
    are rejected with a reason.
    """
    year_range_seconds(plausible_years)
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the final LF ends the last line; it does not start another one
    punches: list[Punch] = []
    rejected: list[RejectedLine] = []
    for i, line in enumerate(lines):
        line = line.removesuffix("\r")
        if len(line) > max_line_chars and not is_blank(line):
            problem = too_long(line, max_line_chars, "line")
            assert problem is not None
            rejected.append(RejectedLine.because(first_line_no + i, line, problem))
            continue
        result = parse_push_line(line, first_line_no + i, plausible_years)
        if isinstance(result, Punch):
            punches.append(result)
        elif result is not None:
            rejected.append(result)
    # A lone surrogate cannot be encoded: replace it so the audit bytes never raise; LF is
    # one byte in UTF-8 and nothing else encodes to 0x0A, so line n of raw is line n here.
    raw = text.encode("utf-8", errors="replace")
    frames = [frame_from_punches(punches)] if punches else []
    return make_chunk(frames, rejected, 0, len(raw), first_line_no, raw)
