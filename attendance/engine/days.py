"""The one definition of a working day (rules.md §2–§3), on plain data.

The engine evaluates staff-days with it, and terminal health counts a unit's working days
with it; nothing else decides whether a date is worked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .calendar import CalendarDay, country_calendar
from .types import CalendarOverride, ScheduleVersion

#: Monday to Friday, as date.weekday() numbers: the schedule default (rules.md §2).
MON_FRI = frozenset({0, 1, 2, 3, 4})


@dataclass(frozen=True)
class CalendarRule:
    """What the calendar alone says of a date, before the schedule's weekdays."""

    forced: bool | None  # True: worked whatever the weekday; False: off; None: the weekdays decide
    source: str  # "override" | "holiday" | "makeup" | "" (no calendar entry)
    reference: str = ""  # the override's legal reference, or the holiday's Vietnamese name


def calendar_rule(
    day: dt.date, overrides: Mapping[dt.date, CalendarOverride], entries: Mapping[dt.date, CalendarDay]
) -> CalendarRule:
    """rules.md §3 steps 1–2: an override wins, then the country calendar (holiday or make-up day)."""
    override = overrides.get(day)
    if override is not None:
        return CalendarRule(override.kind == "working_day", "override", override.reference)
    entry = entries.get(day)
    if entry is not None:
        return CalendarRule(entry.kind == "makeup", entry.kind, entry.name_vi)
    return CalendarRule(None, "")


def is_working_day(
    day: dt.date,
    weekdays: frozenset[int] | None,
    overrides: Mapping[dt.date, CalendarOverride],
    entries: Mapping[dt.date, CalendarDay],
) -> bool:
    """rules.md §3: whether ``day`` is worked under a schedule's ``weekdays`` (None: no schedule in force)."""
    if weekdays is None:  # without a schedule there are no sessions, hence no working day
        return False
    rule = calendar_rule(day, overrides, entries)
    return rule.forced if rule.forced is not None else day.weekday() in weekdays


def pick_version(versions: Iterable[ScheduleVersion], day: dt.date) -> ScheduleVersion | None:
    """The version in force on ``day`` among ``versions``: latest valid_from wins, then the highest id."""
    best: ScheduleVersion | None = None
    for version in versions:
        if version.valid_on(day):
            key = (version.valid_from or dt.date.min, version.id)
            if best is None or key > (best.valid_from or dt.date.min, best.id):
                best = version
    return best


def versions_by_unit(schedules: Iterable[ScheduleVersion]) -> dict[int, list[ScheduleVersion]]:
    """Schedule versions by the unit they are attached to."""
    by_unit: dict[int, list[ScheduleVersion]] = {}
    for version in schedules:
        for unit_id in version.unit_ids:
            by_unit.setdefault(unit_id, []).append(version)
    return by_unit


def unit_chain(unit_parents: Mapping[int, int | None], unit_id: int | None) -> list[int]:
    """The unit and its ancestors, nearest first (a cycle in bad data stops the walk)."""
    chain: list[int] = []
    current = unit_id
    while current is not None and current != -1 and current not in chain:
        chain.append(current)
        current = unit_parents.get(current)
    return chain


def schedule_in_force(
    by_unit: Mapping[int, Sequence[ScheduleVersion]], chain: Sequence[int], day: dt.date
) -> ScheduleVersion | None:
    """rules.md §2: the version valid on ``day`` attached to the unit, else to its nearest ancestor."""
    for unit_id in chain:
        version = pick_version(by_unit.get(unit_id, ()), day)
        if version is not None:
            return version
    return None


def unit_working_days(
    unit_id: int | None,
    after: dt.date,
    until: dt.date,
    schedules: Sequence[ScheduleVersion],
    unit_parents: Mapping[int, int | None],
    overrides: Iterable[CalendarOverride],
    country: str,
) -> int:
    """Working days d of a unit with after < d <= until, by the schedule in force there each day."""
    if until <= after:
        return 0
    first = after + dt.timedelta(days=1)
    entries = country_calendar(country, first, until) if country else {}
    by_date = {o.date: o for o in overrides}
    by_unit = versions_by_unit(schedules)
    chain = unit_chain(unit_parents, unit_id)
    # A unit (or a terminal without a unit) that no schedule reaches has no sessions to judge
    # by; its terminal is still expected to be used on ordinary office days, so count Mon–Fri.
    # A unit that has schedules but none in force on a date does not work that date (as in
    # the engine).
    unscheduled = not any(by_unit.get(u) for u in chain)
    count, day = 0, first
    while day <= until:
        if unscheduled:
            weekdays: frozenset[int] | None = MON_FRI
        else:
            version = schedule_in_force(by_unit, chain, day)
            weekdays = version.weekdays if version is not None else None
        count += is_working_day(day, weekdays, by_date, entries)
        day += dt.timedelta(days=1)
    return count
