"""A deliberately naive reference implementation of the rules of docs/rules.md.

Written straight from the text of rules.md (and the project decisions listed below),
without looking at the engine. Everything is plain loops: per person, per day, per
session, per punch. Clarity over speed. Used by tests/test_rules_differential.py to
compare against ``attendance.engine.evaluate`` + ``summarize``.

Project decisions where rules.md is silent (given to us, followed here):

* two schedule versions attached to the same unit (or both staff-level) valid on the
  same date: the later ``valid_from`` wins (``None`` = earliest), then the higher id;
* a date with no schedule in force is not a working day;
* a person's unit on a date comes from their assignments; if several match, the latest
  ``valid_from`` wins;
* a date inside employment with no unit/schedule is a day off;
* ``offday_punch_days`` counts calendar dates (of the corrected, truncated punch time)
  that are days off inside employment with at least one non-suppressed punch;
* double taps: per person, all punches in (corrected time, punch_id) order, a punch
  strictly less than ``dedupe_seconds`` after the last KEPT punch is suppressed
  (punches before the period count for this);
* when the windows of two consecutive working days overlap, a punch in both belongs
  to the later day's window.
* staff-level schedule versions apply on the dates they are valid, whatever the unit.
"""

from __future__ import annotations

import datetime as dt

import holidays

from attendance.engine.types import SUMMARY_FIELDS, EngineInput, ScheduleVersion, StaffMember
from attendance.engine.vn_public_sector import DECISIONS

ONE_DAY = dt.timedelta(days=1)


# ----------------------------------------------------------------------------- helpers


def _minute(value: object) -> dt.datetime:
    """§1: "every punch is truncated to the minute (seconds dropped)"."""
    when = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return when.replace(second=0, microsecond=0)


def _at(day: dt.date, minutes: int) -> dt.datetime:
    """Local wall-clock time ``minutes`` after midnight of ``day`` (may spill over)."""
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minutes)


def _employed(person: StaffMember, day: dt.date) -> bool:
    """§3: "only dates inside X's employment"."""
    if person.employed_from is not None and day < person.employed_from:
        return False
    if person.employed_to is not None and day > person.employed_to:
        return False
    return True


def _valid(valid_from: dt.date | None, valid_to: dt.date | None, day: dt.date) -> bool:
    """Inclusive effective dating with open ends."""
    if valid_from is not None and day < valid_from:
        return False
    if valid_to is not None and day > valid_to:
        return False
    return True


def _newest(versions: list[ScheduleVersion]) -> ScheduleVersion | None:
    """Project decision: later valid_from wins (None = earliest), then the higher id."""
    best = None
    for version in versions:
        if best is None:
            best = version
            continue
        mine = (version.valid_from or dt.date.min, version.id)
        theirs = (best.valid_from or dt.date.min, best.id)
        if mine > theirs:
            best = version
    return best


def _unit_on(inp: EngineInput, staff_id: int, day: dt.date) -> int | None:
    """§2 "belongs to one unit at a time (effective-dated assignment)";
    decision: latest valid_from wins if several match."""
    best = None
    best_from = None
    for a in inp.assignments:
        if a.staff_id != staff_id or not _valid(a.valid_from, a.valid_to, day):
            continue
        start = a.valid_from or dt.date.min
        if best is None or start > best_from:
            best, best_from = a.unit_id, start
    return best


def _schedule_on(inp: EngineInput, person: StaffMember, day: dt.date) -> ScheduleVersion | None:
    """§2: "The schedule in force for a staff member on date D is the schedule version
    valid on D that is attached to the staff member's unit on D, or else to its nearest
    ancestor. A staff-level override beats both."""
    # "A staff-level override beats both."
    staff_level = [
        s for s in inp.schedules if s.id in person.schedule_ids and s.valid_on(day)
    ]
    if staff_level:
        return _newest(staff_level)
    # "... attached to the staff member's unit on D, or else to its nearest ancestor."
    unit = _unit_on(inp, person.id, day)
    seen: set[int] = set()
    while unit is not None and unit not in seen:
        seen.add(unit)
        here = [s for s in inp.schedules if unit in s.unit_ids and s.valid_on(day)]
        if here:
            return _newest(here)
        unit = inp.unit_parents.get(unit)
    return None


_COUNTRY_CACHE: dict[tuple[str, int], tuple[set[dt.date], set[dt.date]]] = {}


def _country_calendar(country: str, year: int) -> tuple[set[dt.date], set[dt.date]]:
    """(public holidays, make-up working days) of the country for one year."""
    key = (country, year)
    if key not in _COUNTRY_CACHE:
        cal = holidays.country_holidays(country, years=year)
        days_off = set(cal.keys())
        makeup = {d for d in getattr(cal, "weekend_workdays", set()) if d.year == year}
        # "The country calendar is the public-holiday law ... plus the government's yearly
        #  decisions for the public sector" (the table's data, not the engine's code, is read):
        #  a decision for a date replaces what the library says of it.
        if country == "VN":
            for decision in DECISIONS:
                if decision.date.year == year:
                    days_off.discard(decision.date)
                    makeup.discard(decision.date)
                    (days_off if decision.kind == "day_off" else makeup).add(decision.date)
        _COUNTRY_CACHE[key] = (days_off, makeup)
    return _COUNTRY_CACHE[key]


def _working_day(inp: EngineInput, person: StaffMember, day: dt.date) -> ScheduleVersion | None:
    """§3 for one date: the schedule if D is a working day of X, else None (day off)."""
    # "only dates inside X's employment"
    if not _employed(person, day):
        return None
    schedule = _schedule_on(inp, person, day)
    # decision: "a date with no schedule in force is not a working day"
    if schedule is None:
        return None
    # 1. "If the calendar has an override for D: working_day makes D a working day
    #    (with the schedule's sessions) and day_off makes it a day off, whatever the
    #    weekday."
    for override in inp.overrides:
        if override.date == day:
            return schedule if override.kind == "working_day" else None
    # 2. "Else if D is a public holiday of the country calendar ..., D is a day off; if
    #    the country calendar makes D a make-up working day (a swapped Saturday), D is a
    #    working day."
    public_holidays, makeup_days = _country_calendar(inp.country, day.year)
    if day in public_holidays:
        return None
    if day in makeup_days:
        return schedule
    # 3. "Else D is a working day iff its weekday is in the schedule's weekdays."
    if day.weekday() in schedule.weekdays:
        return schedule
    return None


def _sessions_of(schedule: ScheduleVersion) -> list[tuple[int, int]]:
    """§4: per_session uses the sessions; "first_last is the same with one session per
    day: [S1, En]"."""
    spans = [tuple(s) for s in schedule.sessions]
    if schedule.punch_policy == "first_last":
        return [(spans[0][0], spans[-1][1])]
    return spans


def _merge(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[list[dt.datetime]]:
    """§6: "Several excuses of one staff member are merged into their union first."
    Half-open intervals [a, b): touching ones ([8,9) and [9,10)) form one interval."""
    merged: list[list[dt.datetime]] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue  # empty interval, covers nothing
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1][1] = b
        else:
            merged.append([a, b])
    return merged


# ----------------------------------------------------------------------------- main


def reference_summary(
    inp: EngineInput, first_day: dt.date, last_day: dt.date
) -> dict[int, dict[str, int]]:
    """staff_id -> {field: int} of rules.md §7 over [first_day, last_day]."""
    out: dict[int, dict[str, int]] = {}

    all_punches = []
    for row in inp.punches.itertuples(index=False):
        all_punches.append(
            (int(row.staff_id), row.corrected_time.to_pydatetime(), int(row.punch_id))
        )

    for person in inp.staff:
        totals = {field: 0 for field in SUMMARY_FIELDS}
        out[person.id] = totals

        # §1 "Double taps: going through one staff member's punches in time order
        # (untruncated corrected times, all devices merged), a punch less than
        # dedupe_seconds after the last *kept* punch is suppressed."
        mine = sorted((t, pid) for sid, t, pid in all_punches if sid == person.id)
        kept: list[dt.datetime] = []  # truncated minute times of the kept punches
        last_kept: dt.datetime | None = None
        for when, _pid in mine:
            if last_kept is not None and (when - last_kept).total_seconds() < inp.dedupe_seconds:
                continue  # suppressed
            last_kept = when
            # §1 "After correction, every punch is truncated to the minute"
            kept.append(_minute(when))

        # Working days around the period (one day each side, so that a day's window
        # reaching into the previous/next day is known for the "later day wins" rule).
        schedule_of: dict[dt.date, ScheduleVersion | None] = {}
        day = first_day - ONE_DAY
        while day <= last_day + ONE_DAY:
            schedule_of[day] = _working_day(inp, person, day)
            day += ONE_DAY

        # §4 "Session windows: session 1 opens at S1 − checkin_window_before; session n
        # closes at En + checkout_window_after (inclusive)."
        def day_window(
            day: dt.date, schedule_of: dict = schedule_of
        ) -> tuple[dt.datetime, dt.datetime] | None:
            schedule = schedule_of.get(day)
            if schedule is None:
                return None  # days off have no sessions, hence no windows
            spans = _sessions_of(schedule)
            opens = _at(day, spans[0][0] - schedule.checkin_window_before_minutes)
            closes = _at(day, spans[-1][1] + schedule.checkout_window_after_minutes)
            return opens, closes

        # Give each kept punch to the day whose window contains it; decision: a punch in
        # the windows of two consecutive days belongs to the later day.
        punches_of_day: dict[dt.date, list[dt.datetime]] = {d: [] for d in schedule_of}
        for when in kept:
            owner = None
            for candidate in sorted(schedule_of):
                window = day_window(candidate)
                if window is not None and window[0] <= when <= window[1]:
                    owner = candidate  # later days overwrite earlier ones
            if owner is not None:
                punches_of_day[owner].append(when)
            # else: "Punches outside every window are stray: kept, shown, not used."

        excuses = _merge(
            [(e.start, e.end) for e in inp.excuses if e.staff_id == person.id]
        )

        day = first_day
        while day <= last_day:
            schedule = schedule_of[day]
            if schedule is None:
                # §7 offday_punch_days: "days off inside X's employment on which X has at
                # least one punch (after double-tap suppression)" -- by calendar date of
                # the truncated corrected punch time.
                if _employed(person, day) and any(p.date() == day for p in kept):
                    totals["offday_punch_days"] += 1
                day += ONE_DAY
                continue

            # §7 working_days: "working days of X in the month (inside employment)"
            totals["working_days"] += 1
            spans = _sessions_of(schedule)
            n = len(spans)
            all_absent = True
            for i, (s_min, e_min) in enumerate(spans):
                # §7 working_sessions: "sessions on those days"
                totals["working_sessions"] += 1
                start = _at(day, s_min)
                end = _at(day, e_min)

                # §4 window of session i: "session 1 opens at S1 − before";
                # "session n closes at En + after (inclusive)"; between sessions
                # "B = Ei + (S(i+1) − Ei) / 2 (whole minutes, rounded down): a punch at
                # or after B belongs to session i+1, before B to session i."
                if i == 0:
                    lo = _at(day, s_min - schedule.checkin_window_before_minutes)
                else:
                    prev_end = spans[i - 1][1]
                    lo = _at(day, prev_end + (s_min - prev_end) // 2)
                if i == n - 1:
                    hi = _at(day, e_min + schedule.checkout_window_after_minutes)
                    in_window = [p for p in punches_of_day[day] if lo <= p <= hi]
                else:
                    next_start = spans[i + 1][0]
                    hi = _at(day, e_min + (next_start - e_min) // 2)
                    in_window = [p for p in punches_of_day[day] if lo <= p < hi]

                # "the session midpoint is Mi = Si + (Ei − Si) / 2 (rounded down).
                # Punches before Mi are check-in candidates, the earliest is the
                # check-in; punches at or after Mi are check-out candidates, the latest
                # is the check-out."
                mid = _at(day, s_min + (e_min - s_min) // 2)
                checkin_candidates = [p for p in in_window if p < mid]
                checkout_candidates = [p for p in in_window if p >= mid]
                checkin = min(checkin_candidates) if checkin_candidates else None
                checkout = max(checkout_candidates) if checkout_candidates else None

                # §5 verdicts
                absent = checkin is None and checkout is None
                missing_out = checkin is not None and checkout is None
                missing_in = checkin is None and checkout is not None
                late = checkin is not None and checkin > start + dt.timedelta(
                    minutes=schedule.grace_late_minutes
                )
                late_minutes = int((checkin - start).total_seconds() // 60) if late else 0
                early = checkout is not None and checkout < end - dt.timedelta(
                    minutes=schedule.grace_early_minutes
                )
                early_minutes = int((end - checkout).total_seconds() // 60) if early else 0

                # §6 excuses (on the merged union)
                fully = any(a <= start and b >= end for a, b in excuses)
                covers_start = any(a <= start < b for a, b in excuses)
                covers_end = any(a < end <= b for a, b in excuses)
                if fully:
                    # "the session is excused: no violation of any kind, whatever the
                    # punches."
                    totals["excused_sessions"] += 1
                    all_absent = False
                    continue
                # "A session with no punch at all that is not fully covered stays
                # absent"
                if absent:
                    totals["absent_sessions"] += 1
                    continue
                all_absent = False
                if covers_start:
                    # "covers the start of the session (a ≤ S < b): no late and no
                    # missing_in."
                    late = False
                    missing_in = False
                if covers_end:
                    # "covers the end of the session (a < E ≤ b): no early and no
                    # missing_out."
                    early = False
                    missing_out = False

                # §7 counts
                if late:
                    totals["late_count"] += 1
                    totals["late_minutes"] += late_minutes
                if early:
                    totals["early_count"] += 1
                    totals["early_minutes"] += early_minutes
                if missing_in or missing_out:
                    totals["missing_punch_count"] += 1

            # §7 absent_days: "working days on which every session is absent"
            if all_absent:
                totals["absent_days"] += 1
            day += ONE_DAY

    return out
