"""A unit at a glance: who is in on a day, the month's counts per day, terminals needing attention.

Plain use cases for the unit dashboard (no Flask): each reads the stored day verdicts of the
whole unit subtree (``attendance.verdicts``), refreshing once what is stale, never per person or day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS

from . import models as m
from .api import UnitInfo, unit_subtree
from .batches import live_punch
from .health import DeviceHealth, device_health
from .loader import select_staff, subtree
from .month_views import MonthCounts, MonthGrid
from .names import name_sort_key
from .verdicts import current_verdicts

#: Day codes of the month grid counted as "in order", "irregular" and "absent" in the day bars.
IN_ORDER_CODES = ("ok", "excused")
IRREGULAR_CODES = ("late", "early", "missing", "absent_session")
ABSENT_CODES = ("absent",)
#: The monthly fields the dashboard adds up over the unit's people.
COUNTED_FIELDS = ("late_count", "early_count", "missing_punch_count", "absent_sessions", "absent_days")


@dataclass(frozen=True)
class Arrival:
    """One person's day on the dashboard: the first punch of the day (double taps aside), and lateness."""

    staff_code: str
    name: str
    unit_code: str
    first_punch: dt.time
    late_minutes: int  # late minutes of every session that day together (0: on time, excused, a day off)


@dataclass(frozen=True)
class DayPresence:
    """Who punched in on one date among the people of a unit who had a working day then."""

    date: dt.date
    working: int  # people with a working day on that date
    present: list[Arrival]  # people with at least one punch that day (also on a day off), name order
    missing: list[tuple[str, str]]  # (staff code, name) of people with a working day, no punch, no excuse
    excused: list[tuple[str, str]]  # (staff code, name) of people without a punch whose every session is excused


@dataclass(frozen=True)
class DayBar:
    """How many people were in order, irregular (late, early, a punch or session missing) or absent."""

    date: dt.date
    in_order: int
    irregular: int
    absent: int
    working: bool  # anyone had a working day

    @property
    def total(self) -> int:
        """People counted in the bar."""
        return self.in_order + self.irregular + self.absent


#: Days at most this far apart are evaluated together: loading a unit costs more than a day's rules.
PRESENCE_SPAN = dt.timedelta(days=14)


def presence_on(session: Session, unit_code: str, day: dt.date) -> DayPresence:
    """Who of the unit (and the units under it) punched on ``day``, by the schedules in force."""
    return presence_on_days(session, unit_code, [day])[day]


def presence_on_days(session: Session, unit_code: str, days: Iterable[dt.date]) -> dict[dt.date, DayPresence]:
    """``presence_on`` for several dates, from the stored verdicts (refreshed together for runs of
    dates within two weeks, so that what is stale is evaluated in one go)."""
    wanted = sorted(set(days))
    found: dict[dt.date, DayPresence] = {}
    while wanted:
        run = [d for d in wanted if d - wanted[0] <= PRESENCE_SPAN]
        wanted = wanted[len(run):]
        scope = select_staff(session, run[0], run[-1], unit_code=unit_code)
        ids = [int(s.id) for s in scope.staff_rows]
        rows, _none = current_verdicts(session, ids, run[0], run[-1], columns=PRESENCE_COLUMNS, totals=False)
        rows = rows[rows["day"].isin(run) & (rows["code"] != "outside")]
        ctx = scope.staff
        people = {int(i): (str(c), str(n), str(u)) for i, c, n, u in zip(
            ctx["staff_id"].tolist(), ctx["staff_code"].tolist(), ctx["name"].tolist(),
            ctx["unit_code"].tolist(), strict=True)}
        by_day: dict[dt.date, list[dict[str, Any]]] = {day: [] for day in run}
        for row in rows.to_dict(orient="records"):
            by_day[row["day"]].append(row)
        found.update((day, _presence(by_day[day], people, day)) for day in run)
    return found


#: The stored verdict columns presence is read from.
PRESENCE_COLUMNS = ("code", "working", "has_punch", "first_punch_minute", "late_minutes", "sessions", "excused_sessions")


def _presence(rows: list[dict[str, Any]], people: dict[int, tuple[str, str, str]], day: dt.date) -> DayPresence:
    """One date's presence from its stored verdict rows (people: id -> code, name, unit)."""
    present: list[Arrival] = []
    missing: list[tuple[str, str]] = []
    excused: list[tuple[str, str]] = []
    working = 0
    for row in rows:
        working += bool(row["working"])
        code, name, unit = people[int(row["staff_id"])]
        first = row["first_punch_minute"]
        if row["has_punch"] and first is not None and first == first:  # NaN: no punch
            minute = int(first)
            present.append(Arrival(code, name, unit, dt.time(minute // 60, minute % 60), int(row["late_minutes"])))
        elif row["working"]:
            # On leave or a business trip for the whole day: expected away, not "not in yet".
            (excused if row["excused_sessions"] == row["sessions"] else missing).append((code, name))
    present.sort(key=lambda a: (name_sort_key(a.name), a.staff_code))
    missing.sort(key=lambda p: (name_sort_key(p[1]), p[0]))
    excused.sort(key=lambda p: (name_sort_key(p[1]), p[0]))
    return DayPresence(day, working, present, missing, excused)


def latest_punch_day(session: Session, unit_code: str) -> dt.date | None:
    """The latest date on which anyone ever placed in the unit (or under it) punched, or None.

    Only plausible years count: one row dated 9999 must not hide the real latest day.
    """
    low, high = DEFAULT_PLAUSIBLE_YEARS
    unit_ids = select(m.Unit.id).where(m.Unit.code.in_(subtree(session, unit_code)))
    members = select(m.StaffAssignment.staff_id).where(m.StaffAssignment.unit_id.in_(unit_ids))
    latest = session.scalar(
        select(func.max(m.Punch.corrected_time))
        .join(m.Enrollment, and_(m.Enrollment.device_id == m.Punch.device_id, m.Enrollment.user_id == m.Punch.user_id))
        .where(m.Enrollment.staff_id.in_(members), live_punch(session),
               m.Punch.corrected_time >= dt.datetime(low, 1, 1), m.Punch.corrected_time < dt.datetime(high + 1, 1, 1))
    )
    return latest.date() if latest is not None else None


def day_bars(grid: MonthGrid | MonthCounts) -> list[DayBar]:
    """One bar per day of the month from its per-day code counts."""
    return [
        DayBar(day, sum(counts.get(c, 0) for c in IN_ORDER_CODES), sum(counts.get(c, 0) for c in IRREGULAR_CODES),
               sum(counts.get(c, 0) for c in ABSENT_CODES),
               any(counts.get(c, 0) for c in (*IN_ORDER_CODES, *IRREGULAR_CODES, *ABSENT_CODES)))
        for day, counts in zip(grid.days, grid.day_counts, strict=True)
    ]


def month_counts(grid: MonthGrid | MonthCounts) -> dict[str, int]:
    """The month's late, early, missing-punch and absence counts added up over the unit's people."""
    if isinstance(grid, MonthCounts):
        return {field: grid.totals[field] for field in COUNTED_FIELDS}
    return {field: sum(row.totals[field] for row in grid.rows) for field in COUNTED_FIELDS}


def terminals_needing_attention(session: Session, unit_code: str, now: dt.datetime | None = None) -> list[DeviceHealth]:
    """Terminals of the unit (or of a unit under it) with at least one health problem."""
    codes = {u.code for u in unit_subtree(session, unit_code)}
    return [h for h in device_health(session, now) if h.unit in codes and h.problems]


def child_units(session: Session, unit_code: str) -> list[UnitInfo]:
    """The units directly under a unit, by code."""
    return [u for u in unit_subtree(session, unit_code) if u.depth == 1]
