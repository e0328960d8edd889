"""Small builders and readers for the rules-engine tests (tests/test_rules.py).

Everything here only *builds inputs* or *reads outputs*; no expected value is ever
computed here. Times are written as literal local wall-clock strings.

Defaults: one unit (id 1, the root), one staff member (id 1, code ``NV001``) assigned
to it, and one schedule version (id 1) attached to unit 1 with the standard
07:00-11:30 / 13:30-17:00 day, Mon-Fri, grace 5/5, windows 60/120, ``per_session``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd

from attendance.engine.types import (
    SUMMARY_FIELDS,
    Assignment,
    CalendarOverride,
    EngineInput,
    Evaluation,
    Excuse,
    ScheduleVersion,
    StaffMember,
)

FLAGS = ("absent", "late", "early", "missing_in", "missing_out", "excused")


def hm(text: str) -> int:
    """``"07:30"`` -> minutes after midnight (450)."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def sessions(*spans: str) -> tuple[tuple[int, int], ...]:
    """``sessions("07:00-11:30", "13:30-17:00")`` -> ((420, 690), (810, 1020))."""
    out = []
    for span in spans:
        start, end = span.split("-")
        out.append((hm(start), hm(end)))
    return tuple(out)


STANDARD = sessions("07:00-11:30", "13:30-17:00")
MON_FRI = frozenset({0, 1, 2, 3, 4})


def d(text: str) -> dt.date:
    """``"2026-10-05"`` -> date."""
    return dt.date.fromisoformat(text)


def ts(text: str) -> pd.Timestamp:
    """``"2026-10-05 07:05"`` -> Timestamp."""
    return pd.Timestamp(text)


def schedule(
    id: int = 1,
    spans: tuple[tuple[int, int], ...] = STANDARD,
    *,
    unit_ids: Iterable[int] = (1,),
    valid_from: str | dt.date | None = None,
    valid_to: str | dt.date | None = None,
    code: str | None = None,
    **kwargs,
) -> ScheduleVersion:
    """A schedule version; extra keyword arguments go straight to ScheduleVersion."""
    if isinstance(valid_from, str):
        valid_from = d(valid_from)
    if isinstance(valid_to, str):
        valid_to = d(valid_to)
    return ScheduleVersion(
        id=id,
        code=code or f"SCH{id}",
        valid_from=valid_from,
        valid_to=valid_to,
        sessions=tuple(spans),
        unit_ids=frozenset(unit_ids),
        **kwargs,
    )


def person(
    id: int = 1,
    *,
    employed_from: str | dt.date | None = None,
    employed_to: str | dt.date | None = None,
    schedule_ids: Sequence[int] = (),
    code: str | None = None,
) -> StaffMember:
    """A staff member (code ``NV00<id>`` unless given)."""
    if isinstance(employed_from, str):
        employed_from = d(employed_from)
    if isinstance(employed_to, str):
        employed_to = d(employed_to)
    return StaffMember(
        id=id,
        code=code or f"NV{id:03d}",
        employed_from=employed_from,
        employed_to=employed_to,
        schedule_ids=tuple(schedule_ids),
    )


def assign(
    staff_id: int,
    unit_id: int,
    valid_from: str | None = None,
    valid_to: str | None = None,
) -> Assignment:
    """An assignment of a staff member to a unit over an inclusive date range."""
    return Assignment(
        staff_id=staff_id,
        unit_id=unit_id,
        valid_from=d(valid_from) if valid_from else None,
        valid_to=d(valid_to) if valid_to else None,
    )


def excuse(
    start: str,
    end: str,
    staff_id: int = 1,
    kind: str = "annual_leave",
    id: int | None = None,
) -> Excuse:
    """An excuse over the half-open local interval [start, end)."""
    return Excuse(
        staff_id=staff_id,
        start=dt.datetime.fromisoformat(start),
        end=dt.datetime.fromisoformat(end),
        kind=kind,
        reference=f"QD-{id or 0}",
        id=id,
    )


def override(day: str, kind: str, reference: str = "12729/VPCP-KGVX") -> CalendarOverride:
    """A calendar override (``working_day`` or ``day_off``)."""
    return CalendarOverride(date=d(day), kind=kind, reference=reference)


def punch_frame(punches: Iterable[tuple]) -> pd.DataFrame:
    """Punches given as ``(time, staff_id)`` or ``(time, staff_id, device_id)``.

    ``punch_id`` is the 1-based position in the given list (so tests can name them).
    """
    rows = []
    for i, p in enumerate(punches, start=1):
        time, staff_id = p[0], p[1]
        device_id = p[2] if len(p) > 2 else 1
        rows.append((i, int(staff_id), int(device_id), pd.Timestamp(time)))
    frame = pd.DataFrame(rows, columns=["punch_id", "staff_id", "device_id", "corrected_time"])
    frame["punch_id"] = frame["punch_id"].astype("int64")
    frame["staff_id"] = frame["staff_id"].astype("int64")
    frame["device_id"] = frame["device_id"].astype("int64")
    frame["corrected_time"] = pd.to_datetime(frame["corrected_time"]).astype("datetime64[ns]")
    return frame


def at(day: str, *times: str, staff_id: int = 1, device_id: int = 1) -> list[tuple]:
    """``at("2026-10-05", "07:00", "11:30")`` -> punch tuples on that day."""
    return [(f"{day} {t}", staff_id, device_id) for t in times]


def make_input(
    punches: Iterable[tuple] = (),
    *,
    schedules: Sequence[ScheduleVersion] | None = None,
    staff: Sequence[StaffMember] | None = None,
    assignments: Sequence[Assignment] | None = None,
    unit_parents: dict[int, int | None] | None = None,
    excuses: Sequence[Excuse] = (),
    overrides: Sequence[CalendarOverride] = (),
    dedupe_seconds: int = 60,
    country: str = "VN",
) -> EngineInput:
    """Build an EngineInput with the defaults described in the module docstring.

    Without ``staff``, staff 1 plus every staff id seen in ``punches`` is created; without
    ``assignments`` every staff member is in unit 1 for ever.
    """
    frame = punch_frame(punches)
    if staff is None:
        ids = sorted({1, *(int(s) for s in frame["staff_id"])})
        staff = [person(i) for i in ids]
    if assignments is None:
        assignments = [assign(s.id, 1) for s in staff]
    if unit_parents is None:
        unit_parents = {1: None}
    if schedules is None:
        schedules = [schedule()]
    return EngineInput(
        staff=list(staff),
        assignments=list(assignments),
        unit_parents=dict(unit_parents),
        schedules=list(schedules),
        overrides=list(overrides),
        excuses=list(excuses),
        punches=frame,
        country=country,
        dedupe_seconds=dedupe_seconds,
    )


# ----------------------------------------------------------------------------- running


def run(inp: EngineInput, first: str, last: str | None = None) -> Evaluation:
    """Evaluate ``inp`` over [first, last] (one day when ``last`` is omitted)."""
    from attendance.engine import evaluate

    return evaluate(inp, d(first), d(last or first))


def _dates(column: pd.Series) -> pd.Series:
    return column.map(lambda v: pd.Timestamp(v).date())


def session_row(ev: Evaluation, day: str, session_no: int = 1, staff_id: int = 1) -> pd.Series:
    """The single ``ev.sessions`` row of one staff member, date and session number."""
    frame = ev.sessions
    hit = frame[
        (frame["staff_id"] == staff_id)
        & (_dates(frame["date"]) == d(day))
        & (frame["session_no"] == session_no)
    ]
    assert len(hit) == 1, f"expected one session row, got {len(hit)}"
    return hit.iloc[0]


def session_count(ev: Evaluation, day: str, staff_id: int = 1) -> int:
    """How many session rows one staff member has on one date."""
    frame = ev.sessions
    if len(frame) == 0:
        return 0
    return int(((frame["staff_id"] == staff_id) & (_dates(frame["date"]) == d(day))).sum())


def flags(row: pd.Series) -> set[str]:
    """The verdict flags that are true on a session row, e.g. ``{"late", "missing_out"}``."""
    return {name for name in FLAGS if bool(row[name])}


def day_row(ev: Evaluation, day: str, staff_id: int = 1) -> pd.Series:
    """The ``ev.days`` row of one staff member and date."""
    frame = ev.days
    hit = frame[(frame["staff_id"] == staff_id) & (_dates(frame["date"]) == d(day))]
    assert len(hit) == 1, f"expected one day row, got {len(hit)}"
    return hit.iloc[0]


def roles(ev: Evaluation) -> dict[int, str]:
    """punch_id -> role."""
    frame = ev.punches
    return {int(p): str(r) for p, r in zip(frame["punch_id"], frame["role"], strict=True)}


def suppressed(ev: Evaluation) -> set[int]:
    """The punch ids that were suppressed as double taps."""
    frame = ev.punches
    return {int(p) for p, s in zip(frame["punch_id"], frame["suppressed"], strict=True) if s}


def summary(inp: EngineInput, first: str, last: str | None = None) -> dict[int, dict[str, int]]:
    """staff_id -> {field: int} of the §7 summary over [first, last]."""
    from attendance.engine import summarize

    ev = run(inp, first, last)
    table = summarize(ev, inp)
    out: dict[int, dict[str, int]] = {}
    for _, row in table.iterrows():
        out[int(row["staff_id"])] = {f: int(row[f]) for f in SUMMARY_FIELDS}
    return out


def totals(
    working_days: int = 0,
    working_sessions: int = 0,
    excused_sessions: int = 0,
    late_count: int = 0,
    late_minutes: int = 0,
    early_count: int = 0,
    early_minutes: int = 0,
    missing_punch_count: int = 0,
    absent_sessions: int = 0,
    absent_days: int = 0,
    offday_punch_days: int = 0,
) -> dict[str, int]:
    """An expected summary row, zero for every field not named."""
    return {
        "working_days": working_days,
        "working_sessions": working_sessions,
        "excused_sessions": excused_sessions,
        "late_count": late_count,
        "late_minutes": late_minutes,
        "early_count": early_count,
        "early_minutes": early_minutes,
        "missing_punch_count": missing_punch_count,
        "absent_sessions": absent_sessions,
        "absent_days": absent_days,
        "offday_punch_days": offday_punch_days,
    }
