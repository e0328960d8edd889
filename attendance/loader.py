"""Reads what the rules engine needs for a period from the database, in a few set queries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS

from . import models as m
from .batches import voided_batch_ids
from .bundle import minutes_of
from .engine.types import (
    WEEKDAY_NAMES,
    Assignment,
    CalendarOverride,
    EngineInput,
    Excuse,
    ScheduleVersion,
    StaffMember,
)
from .errors import InvalidInput, NotFound, UnknownStaff, UnknownUnit
from .i18n import _

# corrected = device time − offset, so a corrected-time range is inside the device-time range
# widened by the offsets in force; that range is a seek on the natural key's index per enrollment.
PUNCH_QUERY = (
    "SELECT p.id, e.staff_id, p.device_id, p.corrected_time FROM enrollment e "
    "JOIN punch p ON p.device_id = e.device_id AND p.user_id = e.user_id "
    "AND p.device_time >= :dev_low AND p.device_time < :dev_high "
    "WHERE p.corrected_time >= :low AND p.corrected_time < :high"
)


#: Up to this many people, a period's punches are read for them alone (an IN list in the query).
FEW_STAFF = 2000


def check_period(first: dt.date, last: dt.date) -> None:
    """Refuse (InvalidInput) a period no punch can fall in: outside the plausible years, widened by one.

    Punches outside ``DEFAULT_PLAUSIBLE_YEARS`` never enter the ledger, so such a period has
    nothing to show; refusing it also keeps the day arithmetic below clear of year 1 and 9999.
    The year on either side is allowed: explaining 1 January looks at 31 December.
    """
    low, high = DEFAULT_PLAUSIBLE_YEARS[0] - 1, DEFAULT_PLAUSIBLE_YEARS[1] + 1
    if first.year < low or last.year > high:
        raise InvalidInput(_("period {first} to {last} is outside the years punches can fall in ({low}-{high})",
                             first=first.isoformat(), last=last.isoformat(), low=DEFAULT_PLAUSIBLE_YEARS[0],
                             high=DEFAULT_PLAUSIBLE_YEARS[1]))


def _shifted(moment: dt.datetime, seconds: int) -> dt.datetime:
    """``moment`` moved by ``seconds``, held at the ends of the datetime range instead of overflowing."""
    try:
        return moment + dt.timedelta(seconds=seconds)
    except OverflowError:  # a clock offset of centuries in bad data: the bound is simply open
        return dt.datetime.max.replace(microsecond=0) if seconds > 0 else dt.datetime.min


class UnknownCode(NotFound):
    """A unit or staff code given on the command line does not exist."""


class UnknownUnitCode(UnknownCode, UnknownUnit):
    """No unit with that code."""


class UnknownStaffCode(UnknownCode, UnknownStaff):
    """No staff member with that code."""


@dataclass
class Context:
    """Names and codes for presenting engine results."""

    staff: pd.DataFrame  # staff_id, staff_code, name, position, unit_code, unit_name
    schedules: dict[int, m.Schedule]
    units: dict[int, m.Unit]


def setting(session: Session, key: str, default: str) -> str:
    """A service-wide setting."""
    row = session.get(m.Setting, key)
    return row.value if row is not None else default


def subtree(session: Session, unit_code: str) -> set[str]:
    """Codes of the unit and all its descendants (the tree is walked in one place: api.unit_subtree)."""
    from .api import unit_subtree  # the public interface builds on this module

    try:
        return {u.code for u in unit_subtree(session, unit_code)}
    except UnknownUnit as exc:
        raise UnknownUnitCode(str(exc)) from exc


def schedule_version(row: m.Schedule, unit_ids: frozenset[int]) -> ScheduleVersion:
    """A stored schedule as the engine's ScheduleVersion."""
    return ScheduleVersion(
        id=row.id, code=row.code, valid_from=row.valid_from, valid_to=row.valid_to,
        sessions=tuple((minutes_of(a), minutes_of(b)) for a, b in row.sessions),
        weekdays=frozenset(WEEKDAY_NAMES.index(d) for d in row.weekdays),
        grace_late_minutes=row.grace_late_minutes, grace_early_minutes=row.grace_early_minutes,
        checkin_window_before_minutes=row.checkin_window_before_minutes,
        checkout_window_after_minutes=row.checkout_window_after_minutes,
        punch_policy=row.punch_policy,  # type: ignore[arg-type]
        unit_ids=unit_ids,
    )


def load_schedules(session: Session) -> tuple[dict[int, m.Schedule], list[ScheduleVersion]]:
    """Every stored schedule, by id and as the engine's versions with the units they are attached to."""
    links: dict[int, set[int]] = {}
    for schedule_id, unit_id in session.execute(select(m.ScheduleUnit.schedule_id, m.ScheduleUnit.unit_id)):
        links.setdefault(schedule_id, set()).add(unit_id)
    schedules = {row.id: row for row in session.scalars(select(m.Schedule))}
    return schedules, [schedule_version(row, frozenset(links.get(row.id, ()))) for row in schedules.values()]


def load_overrides(session: Session) -> list[CalendarOverride]:
    """The calendar overrides as the engine's plain records."""
    return [
        CalendarOverride(date=o.date, kind=o.kind, reference=o.reference)  # type: ignore[arg-type]
        for o in session.scalars(select(m.CalendarOverride))
    ]


def device_time_bounds(session: Session, low: dt.datetime, high: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A device-time range that holds every punch with low <= corrected time < high.

    corrected = device time − offset, so widening by the offsets in force turns a
    corrected-time range into a seek on the natural key's index.
    """
    offsets = session.execute(
        select(func.min(m.DeviceClockOffset.seconds), func.max(m.DeviceClockOffset.seconds))
    ).one()
    return _shifted(low, min(0, offsets[0] or 0)), _shifted(high, max(0, offsets[1] or 0))


def fetch_punches(session: Session, low: dt.datetime, high: dt.datetime,
                  staff_ids: Collection[int] | None = None) -> pd.DataFrame:
    """Enrolled punches with low <= corrected_time < high as a DataFrame (voided batches left out).

    With ``staff_ids`` only those people's punches (callers keep the list short: FEW_STAFF).
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    dev_low, dev_high = device_time_bounds(session, low, high)
    params: dict[str, dt.datetime] = {"low": low, "high": high, "dev_low": dev_low, "dev_high": dev_high}
    query = PUNCH_QUERY
    voided = voided_batch_ids(session)
    if voided:  # punches of voided batches stay in the ledger but count for nothing
        query += f" AND p.batch_id NOT IN ({', '.join(str(int(i)) for i in voided)})"
    if staff_ids is not None:
        # A unit's people only: each enrollment is then a seek on the natural key's index,
        # not a read of the whole province's month (ids are the database's own integers).
        query += f" AND e.staff_id IN ({', '.join(str(int(i)) for i in staff_ids) or 'NULL'})"
    # Plain DBAPI tuples: building a Row object per punch would cost more than the query.
    cursor = session.connection().connection.driver_connection.cursor()
    if sqlite:  # sqlite3 takes :name parameters as written, times as stored text
        cursor.execute(query, {k: v.strftime("%Y-%m-%d %H:%M:%S") for k, v in params.items()})
    else:  # psycopg takes %(name)s
        cursor.execute(re.sub(r":(\w+)", r"%(\1)s", query), params)
    frame = pd.DataFrame(cursor.fetchall(), columns=["punch_id", "staff_id", "device_id", "corrected_time"])
    cursor.close()
    frame["corrected_time"] = pd.to_datetime(frame["corrected_time"], format="%Y-%m-%d %H:%M:%S" if sqlite else None)
    return frame.astype({"punch_id": "int64", "staff_id": "int64", "device_id": "int64"})


def fetch_excuses(session: Session, low: dt.datetime, high: dt.datetime) -> list[tuple]:
    """(id, staff id, start, end, kind, reference) of live excuses overlapping [low, high).

    Withdrawn excuses keep their rows for the record but count for nothing.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    query = ('SELECT id, staff_id, start, "end", kind, reference FROM excuse '
             'WHERE "end" > :low AND start < :high AND withdrawn_at IS NULL')
    cursor = session.connection().connection.driver_connection.cursor()
    if sqlite:  # stored as text: parse with fromisoformat, much cheaper than a row processor
        cursor.execute(query, {"low": low.isoformat(sep=" "), "high": high.isoformat(sep=" ")})
        parse = dt.datetime.fromisoformat
        rows = [(i, s, parse(a), parse(b), k, r) for i, s, a, b, k, r in cursor.fetchall()]
    else:
        cursor.execute(re.sub(r":(\w+)", r"%(\1)s", query), {"low": low, "high": high})
        rows = cursor.fetchall()
    cursor.close()
    return rows


@dataclass
class Scope:
    """The people a period is evaluated for: their rows, assignments and units (no punches)."""

    staff_rows: list  # Row(id, code, name, position, employed_from, employed_to, schedule_id), by code
    assignments: list  # Row(staff_id, unit_id, valid_from, valid_to) of the chosen people
    units: dict[int, m.Unit]
    staff: pd.DataFrame  # staff_id, staff_code, name, position, unit_code, unit_name


def select_staff(
    session: Session,
    first_day: dt.date,
    last_day: dt.date,
    unit_code: str | None = None,
    staff_code: str | None = None,
    staff_ids: Collection[int] | None = None,
) -> Scope:
    """The people of a unit subtree (placed there during the period), one person, some ids, or everyone.

    A period outside the plausible years (widened by one) is refused: InvalidInput.
    """
    check_period(first_day, last_day)
    units = {u.id: u for u in session.scalars(select(m.Unit))}
    by_code = {u.code: u for u in units.values()}
    if unit_code is not None and unit_code not in by_code:
        raise UnknownUnitCode(_("no unit {code!r}", code=unit_code))
    allowed = {by_code[c].id for c in subtree(session, unit_code)} if unit_code else None

    # Plain Core tuples: ORM identity-mapped objects for thousands of people and tens of
    # thousands of excuses would cost more than evaluating the month.
    staff_rows = session.execute(
        select(m.Staff.id, m.Staff.code, m.Staff.name, m.Staff.position, m.Staff.employed_from,
               m.Staff.employed_to, m.Staff.schedule_id).order_by(m.Staff.code)
    ).all()
    if staff_code is not None:
        staff_rows = [s for s in staff_rows if s.code == staff_code]
        if not staff_rows:
            raise UnknownStaffCode(_("no staff member {code!r}", code=staff_code))
    if staff_ids is not None:
        wanted = set(staff_ids)
        staff_rows = [s for s in staff_rows if s.id in wanted]
    assignments = session.execute(
        select(m.StaffAssignment.staff_id, m.StaffAssignment.unit_id, m.StaffAssignment.valid_from,
               m.StaffAssignment.valid_to)
    ).all()
    in_period = [
        a for a in assignments
        if (a.valid_from is None or a.valid_from <= last_day) and (a.valid_to is None or a.valid_to >= first_day)
    ]
    if allowed is not None:
        members = {a.staff_id for a in in_period if a.unit_id in allowed}
        staff_rows = [s for s in staff_rows if s.id in members]
    chosen = {s.id for s in staff_rows}
    current_unit: dict[int, int] = {}
    for a in sorted(in_period, key=lambda a: a.valid_from or dt.date.min):
        current_unit[a.staff_id] = a.unit_id
    staff_frame = pd.DataFrame(
        {
            "staff_id": [s.id for s in staff_rows],
            "staff_code": [s.code for s in staff_rows],
            "name": [s.name for s in staff_rows],
            "position": [s.position for s in staff_rows],
            "unit_code": [units[current_unit[s.id]].code if s.id in current_unit else "" for s in staff_rows],
            "unit_name": [units[current_unit[s.id]].name if s.id in current_unit else "" for s in staff_rows],
        }
    )
    return Scope(staff_rows, [a for a in assignments if a[0] in chosen], units, staff_frame)


def load_input(
    session: Session,
    first_day: dt.date,
    last_day: dt.date,
    unit_code: str | None = None,
    staff_code: str | None = None,
    staff_ids: Collection[int] | None = None,
) -> tuple[EngineInput, Context]:
    """Everything the engine needs for the period, limited to a unit subtree, one person or some ids.

    A period outside the plausible years (widened by one) is refused: InvalidInput.
    """
    scope = select_staff(session, first_day, last_day, unit_code, staff_code, staff_ids)
    staff_rows, units = scope.staff_rows, scope.units
    chosen = {s.id for s in staff_rows}
    schedules, versions = load_schedules(session)

    low = dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time())
    high = dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time())
    excuses = [
        Excuse(staff_id, start, end, kind, reference, excuse_id)
        for excuse_id, staff_id, start, end, kind, reference in fetch_excuses(session, low, high)
        if staff_id in chosen
    ]
    # A few people (a unit, one person, a refresh after one batch): only their punches are read,
    # not the whole province's period.
    narrowed = staff_ids is not None or unit_code is not None or staff_code is not None
    few = chosen if narrowed and len(chosen) <= FEW_STAFF else None
    punches = fetch_punches(session, low, high, few)
    if unit_code is not None or staff_code is not None or staff_ids is not None:
        punches = punches[punches["staff_id"].isin(chosen)].reset_index(drop=True)

    inp = EngineInput(
        staff=[
            StaffMember(s[0], s[1], s[4], s[5], (s[6],) if s[6] else ())  # id, code, employed, schedule
            for s in staff_rows
        ],
        assignments=[Assignment(*a) for a in scope.assignments],
        unit_parents={u.id: u.parent_id for u in units.values()},
        schedules=versions,
        overrides=load_overrides(session),
        excuses=excuses,
        punches=punches,
        country=setting(session, "country", "VN"),
        dedupe_seconds=int(setting(session, "dedupe_seconds", "60")),
    )
    return inp, Context(staff=scope.staff, schedules=schedules, units=units)
