"""A unit at a glance: who is in on a day, the month's counts per day, terminals needing attention.

Plain use cases for the unit dashboard (no Flask): each evaluates what it shows once for the
whole unit subtree, as the monthly summary does, never once per person or per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS

from . import models as m
from .api import UnitInfo, unit_subtree
from .batches import live_punch
from .engine import Evaluation, evaluate
from .engine.evaluate import day_number
from .health import DeviceHealth, device_health
from .loader import load_input, subtree
from .month_views import MonthGrid
from .names import name_sort_key

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
    """``presence_on`` for several dates, from one evaluation for every run of dates within two weeks."""
    wanted = sorted(set(days))
    found: dict[dt.date, DayPresence] = {}
    while wanted:
        run = [d for d in wanted if d - wanted[0] <= PRESENCE_SPAN]
        wanted = wanted[len(run):]
        inp, ctx = load_input(session, run[0], run[-1], unit_code=unit_code)
        ev = evaluate(inp, run[0], run[-1])  # with each punch's role: the first punch of a day off counts too
        people = {int(i): (str(c), str(n), str(u)) for i, c, n, u in zip(
            ctx.staff["staff_id"].tolist(), ctx.staff["staff_code"].tolist(), ctx.staff["name"].tolist(),
            ctx.staff["unit_code"].tolist(), strict=True)}
        found.update((day, _presence(ev, people, day)) for day in run)
    return found


def _presence(ev: Evaluation, people: dict[int, tuple[str, str, str]], day: dt.date) -> DayPresence:
    """One date's presence from an evaluation whose period holds it (people: id -> code, name, unit)."""
    number = day_number(day)
    days = ev.days[ev.days["day"] == number]
    punches = ev.punches
    kept = punches[(punches["cal_day"] == number) & ~punches["suppressed"].astype(bool)].sort_values("sec")
    first_punch: dict[int, dt.time] = {}
    for staff_id, minute in zip(kept["staff_id"].tolist(), kept["minute_time"].tolist(), strict=True):
        first_punch.setdefault(staff_id, minute.time())
    sessions = ev.sessions[ev.sessions["day"] == number].sort_values(["staff_id", "session_no"])
    late: dict[int, int] = {}
    not_excused: set[int] = set()
    for staff_id, is_late, minutes, excused in zip(sessions["staff_id"].tolist(), sessions["late"].tolist(),
                                                   sessions["late_minutes"].tolist(), sessions["excused"].tolist(),
                                                   strict=True):
        if is_late:
            late[staff_id] = late.get(staff_id, 0) + int(minutes)
        if not excused:
            not_excused.add(staff_id)
    present: list[Arrival] = []
    missing: list[tuple[str, str]] = []
    excused: list[tuple[str, str]] = []
    working = 0
    for staff_id, is_working, has_punch in zip(days["staff_id"].tolist(), days["working"].tolist(),
                                               days["has_punch"].tolist(), strict=True):
        working += bool(is_working)
        code, name, unit = people[staff_id]
        if has_punch and staff_id in first_punch:
            present.append(Arrival(code, name, unit, first_punch[staff_id], late.get(staff_id, 0)))
        elif is_working:
            # On leave or a business trip for the whole day: expected away, not "not in yet".
            (missing if staff_id in not_excused else excused).append((code, name))
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


def day_bars(grid: MonthGrid) -> list[DayBar]:
    """One bar per day of the grid's month from its per-day code counts."""
    return [
        DayBar(day, sum(counts.get(c, 0) for c in IN_ORDER_CODES), sum(counts.get(c, 0) for c in IRREGULAR_CODES),
               sum(counts.get(c, 0) for c in ABSENT_CODES),
               any(counts.get(c, 0) for c in (*IN_ORDER_CODES, *IRREGULAR_CODES, *ABSENT_CODES)))
        for day, counts in zip(grid.days, grid.day_counts, strict=True)
    ]


def month_counts(grid: MonthGrid) -> dict[str, int]:
    """The month's late, early, missing-punch and absence counts added up over the grid's people."""
    return {field: sum(row.totals[field] for row in grid.rows) for field in COUNTED_FIELDS}


def terminals_needing_attention(session: Session, unit_code: str, now: dt.datetime | None = None) -> list[DeviceHealth]:
    """Terminals of the unit (or of a unit under it) with at least one health problem."""
    codes = {u.code for u in unit_subtree(session, unit_code)}
    return [h for h in device_health(session, now) if h.unit in codes and h.problems]


def child_units(session: Session, unit_code: str) -> list[UnitInfo]:
    """The units directly under a unit, by code."""
    return [u for u in unit_subtree(session, unit_code) if u.depth == 1]
