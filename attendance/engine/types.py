"""Plain input and output types of the rules engine (no database, no Flask)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

PunchPolicy = Literal["per_session", "first_last"]
OverrideKind = Literal["working_day", "day_off"]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: The monthly summary fields of rules.md §7, in report order.
SUMMARY_FIELDS = (
    "working_days",
    "working_sessions",
    "excused_sessions",
    "late_count",
    "late_minutes",
    "early_count",
    "early_minutes",
    "missing_punch_count",
    "absent_sessions",
    "absent_days",
    "offday_punch_days",
)


#: The kinds of excuse (rules.md §6) with their Vietnamese and English names. Every kind
#: neutralises sessions the same way; the kind says why, for people and for reports.
EXCUSE_KINDS: dict[str, tuple[str, str]] = {
    "annual_leave": ("Nghỉ phép năm", "Annual leave"),
    "sick_leave": ("Nghỉ ốm", "Sick leave"),
    "maternity_leave": ("Nghỉ thai sản", "Maternity leave"),
    "personal_leave": ("Nghỉ việc riêng", "Personal leave"),
    "unpaid_leave": ("Nghỉ không hưởng lương", "Unpaid leave"),
    "business_trip": ("Đi công tác", "Business trip"),
    "training": ("Đi học, tập huấn", "Training"),
    "approved_absence": ("Vắng mặt có phép", "Approved absence"),
}


@dataclass(frozen=True)
class ScheduleVersion:
    """One effective-dated schedule (rules.md §2); times are minutes after local midnight."""

    id: int
    code: str
    valid_from: dt.date | None
    valid_to: dt.date | None  # inclusive
    sessions: tuple[tuple[int, int], ...]  # ordered ((start_minute, end_minute), ...)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # date.weekday() numbers
    grace_late_minutes: int = 5
    grace_early_minutes: int = 5
    checkin_window_before_minutes: int = 60
    checkout_window_after_minutes: int = 120
    punch_policy: PunchPolicy = "per_session"
    unit_ids: frozenset[int] = frozenset()  # units it is attached to (and their descendants)

    def valid_on(self, day: dt.date) -> bool:
        """Whether this version is in force on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(slots=True)
class Assignment:
    """A staff member's unit over an inclusive date range (open ends allowed)."""

    staff_id: int
    unit_id: int
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


@dataclass(slots=True)
class StaffMember:
    """What the engine needs to know about one person."""

    id: int
    code: str
    employed_from: dt.date | None = None
    employed_to: dt.date | None = None  # inclusive
    schedule_ids: tuple[int, ...] = ()  # staff-level override schedule versions


@dataclass(slots=True)
class CalendarOverride:
    """A dated working_day/day_off decision with its legal reference."""

    date: dt.date
    kind: OverrideKind
    reference: str = ""


@dataclass(slots=True)
class Excuse:
    """Leave, business trip, ...: the half-open local interval [start, end)."""

    staff_id: int
    start: dt.datetime
    end: dt.datetime
    kind: str
    reference: str = ""
    id: int | None = None


@dataclass
class EngineInput:
    """Everything needed to evaluate a period for many staff at once.

    ``punches`` is a DataFrame with columns ``punch_id`` (int), ``staff_id`` (int),
    ``device_id`` (int) and ``corrected_time`` (datetime64, local time, seconds kept:
    the clock offset is already applied, truncation and double-tap suppression are the
    engine's job). Punches of every device the person is enrolled on are included.
    """

    staff: list[StaffMember]
    assignments: list[Assignment]
    unit_parents: dict[int, int | None]
    schedules: list[ScheduleVersion]
    overrides: list[CalendarOverride]
    excuses: list[Excuse]
    punches: object  # pandas.DataFrame (kept untyped here so this module stays import-light)
    country: str = "VN"
    dedupe_seconds: int = 60


@dataclass
class Evaluation:
    """Engine output: one row per session, per staff-day and per punch (pandas DataFrames).

    sessions: staff_id, date, session_no (1-based), schedule_id, start, end (datetime),
        checkin, checkout (datetime or NaT), verdict flags ``absent``, ``late``, ``early``,
        ``missing_in``, ``missing_out``, ``excused`` (bool), ``late_minutes``,
        ``early_minutes`` (int), ``late_excused``/``early_excused``/... why a flag was
        dropped, ``excuse_ids`` covering start/end.
    days: staff_id, date, unit_id, schedule_id, working (bool), day_source
        ('override'|'holiday'|'makeup'|'weekday'|'weekend'|'no_schedule'), day_reference,
        has_punch (bool), absent_day (bool).
    punches: punch_id, staff_id, corrected_time, minute_time, suppressed (bool),
        suppressed_by (punch_id or NA), date (assigned work date or NaT), session_no
        (or NA), role ('checkin'|'checkout'|'unused'|'stray'|'suppressed'|'offday').
    """

    sessions: object
    days: object
    punches: object
