"""The rules engine: rules.md evaluated for many staff and a whole period at once.

Everything works on whole arrays of integer clocks (seconds or minutes since 1970-01-01 of
naive local time) and packed int64 keys such as ``staff << 32 | seconds``: a month of
10,000 people is a handful of sorts, binary searches and table look-ups, never a Python
loop per punch. DataFrames are built only for the results.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calendar import country_calendar
from .days import (
    calendar_rule,
    is_working_day,
    pick_version,
    schedule_in_force,
    unit_chain,
    versions_by_unit,
)
from .types import SUMMARY_FIELDS, EngineInput, Evaluation, ScheduleVersion

DAY_MIN = 1440
EPOCH = dt.date(1970, 1, 1)
NO_DATE_LOW = -(10**9)
NO_DATE_HIGH = 10**9
SEC_BASE = -(2**31)  # shifts seconds since 1970 to non-negative values for packed keys
MIN_BITS = 26  # absolute minutes since 1970 stay below 2**26 until the year 2097
DAY_BITS = 20  # day offsets inside an evaluated period

DAY_SOURCES = ("weekday", "weekend", "holiday", "makeup", "override", "no_schedule")
ROLES = ("stray", "suppressed", "unused", "checkin", "checkout", "offday")
STRAY, SUPPRESSED, UNUSED, CHECKIN, CHECKOUT, OFFDAY = range(len(ROLES))


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


def day_from_number(number: int) -> dt.date:
    """Inverse of ``day_number``."""
    return EPOCH + dt.timedelta(days=int(number))


def _dates(numbers: np.ndarray, first: int, last: int) -> np.ndarray:
    """Day numbers to an object array of datetime.date (what callers compare against)."""
    table = np.array([day_from_number(n) for n in range(first - 1, last + 2)] + [None], dtype=object)
    return table[np.clip(numbers - (first - 1), 0, len(table) - 1)]


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    """An Int64 extension array from values and a mask, without per-element coercion."""
    return pd.arrays.IntegerArray(values.astype(np.int64), missing.astype(bool))


# --------------------------------------------------------------------------- days


def _staff_days(inp: EngineInput, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(staff id, day) of every day of the period inside each person's employment, sorted."""
    n_days = last - first + 1
    staff_ids = np.array([s.id for s in inp.staff], dtype=np.int64)
    emp_from = np.array([day_number(s.employed_from) if s.employed_from else NO_DATE_LOW for s in inp.staff], dtype=np.int64)
    emp_to = np.array([day_number(s.employed_to) if s.employed_to else NO_DATE_HIGH for s in inp.staff], dtype=np.int64)
    order = np.argsort(staff_ids, kind="stable")
    staff_ids, emp_from, emp_to = staff_ids[order], emp_from[order], emp_to[order]
    days = np.tile(np.arange(first, last + 1, dtype=np.int64), len(staff_ids))
    idx = np.repeat(np.arange(len(staff_ids)), n_days)
    keep = (days >= emp_from[idx]) & (days <= emp_to[idx])
    return staff_ids[idx][keep], days[keep]


def _units_of(inp: EngineInput, d_staff: np.ndarray, d_day: np.ndarray) -> np.ndarray:
    """The unit of each staff-day from effective-dated assignments (latest start wins; -1: none)."""
    units = np.full(len(d_staff), -1, dtype=np.int64)
    if not inp.assignments or not len(d_staff):
        return units
    a_staff = np.array([a.staff_id for a in inp.assignments], dtype=np.int64)
    a_unit = np.array([a.unit_id for a in inp.assignments], dtype=np.int64)
    a_from = np.array([day_number(a.valid_from) if a.valid_from else NO_DATE_LOW for a in inp.assignments], dtype=np.int64)
    a_to = np.array([day_number(a.valid_to) if a.valid_to else NO_DATE_HIGH for a in inp.assignments], dtype=np.int64)
    # Apply assignments from the earliest start to the latest, so the latest start wins.
    order = np.lexsort((a_from, a_staff))
    a_staff, a_unit, a_from, a_to = a_staff[order], a_unit[order], a_from[order], a_to[order]
    if not (a_staff[1:] == a_staff[:-1]).any():
        # The usual case, one assignment per person: look each staff-day's up at once
        # (a loop per assignment cost a fifth of a second for 10,000 people).
        at = np.minimum(np.searchsorted(a_staff, d_staff), len(a_staff) - 1)
        covered = (a_staff[at] == d_staff) & (d_day >= a_from[at]) & (d_day <= a_to[at])
        units[covered] = a_unit[at][covered]
        return units
    lo = np.searchsorted(d_staff, a_staff, side="left")
    hi = np.searchsorted(d_staff, a_staff, side="right")
    for i in range(len(a_staff)):
        if hi[i] > lo[i]:
            window = slice(lo[i], hi[i])
            inside = (d_day[window] >= a_from[i]) & (d_day[window] <= a_to[i])
            units[window][inside] = a_unit[i]
    return units


def _schedules_of(inp: EngineInput, d_staff: np.ndarray, d_day: np.ndarray, d_unit: np.ndarray,
                  first: int, last: int) -> np.ndarray:
    """Schedule id in force per staff-day (-1: none): staff override, else unit or nearest ancestor."""
    n_days = last - first + 1
    by_unit = versions_by_unit(inp.schedules)
    by_id = {s.id: s for s in inp.schedules}
    period = [day_from_number(n) for n in range(first, last + 1)]

    unit_ids = np.unique(d_unit)
    table = np.full((len(unit_ids), n_days), -1, dtype=np.int64)  # (unit, day) -> schedule
    for row, unit_id in enumerate(unit_ids.tolist()):
        chain = unit_chain(inp.unit_parents, unit_id)
        for col, day in enumerate(period):
            version = schedule_in_force(by_unit, chain, day)
            if version is not None:
                table[row, col] = version.id
    schedule = table[np.searchsorted(unit_ids, d_unit), d_day - first] if len(d_unit) else np.zeros(0, np.int64)

    for person in inp.staff:
        versions = [by_id[i] for i in person.schedule_ids if i in by_id]
        if not versions:
            continue
        lo, hi = np.searchsorted(d_staff, person.id, "left"), np.searchsorted(d_staff, person.id, "right")
        own = np.array([(pick_version(versions, day) or ScheduleVersion(-1, "", None, None, ())).id for day in period])
        span = slice(lo, hi)
        mine = own[d_day[span] - first]
        schedule[span] = np.where(mine >= 0, mine, schedule[span])
    return schedule


def _calendar(inp: EngineInput, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per schedule and day of the period whether it is worked (days.is_working_day), and per
    day the calendar's source code and reference text (rules.md §3)."""
    n_days = last - first + 1
    period = [day_from_number(first + col) for col in range(n_days)]
    entries = country_calendar(inp.country, period[0], period[-1]) if inp.country else {}
    overrides = {o.date: o for o in inp.overrides}
    source = np.full(n_days, -1, dtype=np.int8)
    reference = np.full(n_days, "", dtype=object)
    for col, day in enumerate(period):
        rule = calendar_rule(day, overrides, entries)
        if rule.source:
            source[col], reference[col] = DAY_SOURCES.index(rule.source), rule.reference
    schedules = sorted(inp.schedules, key=lambda s: s.id)
    worked = np.array([[is_working_day(day, s.weekdays, overrides, entries) for day in period] for s in schedules],
                      dtype=bool).reshape(len(schedules), n_days)
    return worked, source, reference


# ----------------------------------------------------------------------- sessions


def _templates(schedules: list[ScheduleVersion]) -> dict[str, np.ndarray]:
    """Per schedule, its sessions' start/end, assignment bounds and midpoints (minutes of day).

    The windows of one day tile [S1 − before, En + after] without gaps: session i runs from
    the break midpoint before it (or S1 − before) to the break midpoint after it (or
    En + after, inclusive, hence + 1).
    """
    cols: dict[str, list[int]] = {k: [] for k in ("schedule", "no", "s", "e", "lo", "hi", "mid", "grace_late", "grace_early")}
    for sched in schedules:
        spans = list(sched.sessions)
        if not spans:
            continue
        if sched.punch_policy == "first_last":
            spans = [(spans[0][0], spans[-1][1])]
        n = len(spans)
        for i, (start, end) in enumerate(spans):
            low = start - sched.checkin_window_before_minutes if i == 0 else spans[i - 1][1] + (start - spans[i - 1][1]) // 2
            high = end + sched.checkout_window_after_minutes + 1 if i == n - 1 else end + (spans[i + 1][0] - end) // 2
            for key, value in (("schedule", sched.id), ("no", i + 1), ("s", start), ("e", end), ("lo", low),
                               ("hi", high), ("mid", start + (end - start) // 2),
                               ("grace_late", sched.grace_late_minutes), ("grace_early", sched.grace_early_minutes)):
                cols[key].append(value)
    return {k: np.array(v, dtype=np.int64) for k, v in cols.items()}


def _dedupe(staff: np.ndarray, sec: np.ndarray, pid: np.ndarray, dedupe_seconds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rules.md §1: order by (staff, second, punch id); a punch less than dedupe_seconds after
    the last *kept* one is suppressed. Returns (order, suppressed, index of the kept punch)."""
    by_id = np.argsort(pid, kind="stable") if len(pid) > 1 and (np.diff(pid) < 0).any() else np.arange(len(pid))
    key = (staff[by_id] << 32) | (sec[by_id] - SEC_BASE)
    order = by_id[np.argsort(key, kind="stable")]
    s_staff, s_sec = staff[order], sec[order]
    n = len(order)
    suppressed = np.zeros(n, dtype=bool)
    last_kept = np.arange(n)
    if n > 1 and dedupe_seconds > 0:
        close = np.zeros(n, dtype=bool)
        close[1:] = (s_staff[1:] == s_staff[:-1]) & (s_sec[1:] - s_sec[:-1] < dedupe_seconds)
        # A punch far enough from its predecessor is far enough from the last kept one too,
        # so only the (rare) runs of close punches need walking in order.
        for i in np.flatnonzero(close).tolist():
            kept = last_kept[i - 1]
            if s_sec[i] - s_sec[kept] < dedupe_seconds:
                suppressed[i] = True
                last_kept[i] = kept
    return order, suppressed, last_kept


def _merged_excuses(inp: EngineInput, with_ids: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """rules.md §6: each person's excuses merged into their union, sorted by (staff, start).

    Returns staff, start and end (seconds, half-open) and, when asked, the excuse ids of
    each interval (only explanations need them).
    """
    if not any(e.end > e.start for e in inp.excuses):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, []
    valid = [e for e in inp.excuses if e.end > e.start]
    raw_staff = np.array([e.staff_id for e in valid], dtype=np.int64)
    epoch, second = dt.datetime(1970, 1, 1), dt.timedelta(seconds=1)
    raw_a = np.array([(e.start - epoch) // second for e in valid], dtype=np.int64)
    raw_b = np.array([(e.end - epoch) // second for e in valid], dtype=np.int64)
    raw_id = np.array([e.id if e.id is not None else i for i, e in enumerate(valid)], dtype=np.int64)
    order = np.lexsort((raw_id, raw_b, raw_a, raw_staff))
    staff, a, b, id_sorted = raw_staff[order], raw_a[order], raw_b[order], raw_id[order]
    # Packed (staff, time) values grow across people, so one running maximum serves all.
    reach = np.maximum.accumulate((staff << 32) | (b - SEC_BASE))
    starts = np.ones(len(staff), dtype=bool)
    starts[1:] = ((staff[1:] << 32) | (a[1:] - SEC_BASE)) > reach[:-1]
    first = np.flatnonzero(starts)
    ends = np.maximum.reduceat(b, first)
    ids: list[tuple[int, ...]] = []
    if with_ids:
        bounds = np.r_[first, len(staff)].tolist()
        id_list = id_sorted.tolist()
        ids = [tuple(id_list[bounds[g]:bounds[g + 1]]) for g in range(len(first))]
    return staff[first], a[first], ends, ids


def evaluate(inp: EngineInput, first_day: dt.date, last_day: dt.date, detail: bool = True) -> Evaluation:
    """Evaluate every rule of rules.md for all staff in ``inp`` from first_day to last_day.

    With ``detail=False`` the verdicts are the same but the per-punch table (roles for
    explanations) is left empty: summaries do not need it.
    """
    first, last = day_number(first_day), day_number(last_day)
    # The neighbouring days are evaluated too but not reported: a punch near midnight may
    # belong to their windows, and the verdicts of a day must not depend on the period asked.
    lo_day, hi_day = first - 1, last + 1

    # ---- staff-days: unit, schedule, working or not (rules.md §2, §3)
    d_staff, d_day = _staff_days(inp, lo_day, hi_day)
    d_off = d_day - lo_day
    d_unit = _units_of(inp, d_staff, d_day)
    d_sched = _schedules_of(inp, d_staff, d_day, d_unit, lo_day, hi_day)
    worked, cal_source, cal_ref = _calendar(inp, lo_day, hi_day)
    sched_ids = np.array(sorted(s.id for s in inp.schedules) or [-2], dtype=np.int64)
    masks = np.array([next(sum(1 << d for d in s.weekdays) for s in inp.schedules if s.id == i) if i >= 0 else 0
                      for i in sched_ids], dtype=np.int64)
    has_schedule = d_sched >= 0
    sched_pos = np.clip(np.searchsorted(sched_ids, d_sched), 0, len(sched_ids) - 1)
    weekday = (d_day + 3) % 7  # 1970-01-01 was a Thursday
    in_week = has_schedule & (((masks[sched_pos] >> weekday) & 1) == 1)  # for the day's source only
    working = has_schedule & worked[sched_pos, d_off] if len(worked) else np.zeros(len(d_day), dtype=bool)
    source = np.where(in_week, 0, 1).astype(np.int8)
    source = np.where(cal_source[d_off] >= 0, cal_source[d_off], source)
    source = np.where(has_schedule, source, DAY_SOURCES.index("no_schedule")).astype(np.int8)
    day_key = (d_staff << DAY_BITS) | d_off  # sorted: staff-days are in (staff, day) order

    # ---- sessions of working days (rules.md §4), in (staff, day, session) order
    t = _templates(inp.schedules)
    tmpl_order = np.lexsort((t["no"], t["schedule"])) if len(t["schedule"]) else np.zeros(0, np.int64)
    t = {k: v[tmpl_order] for k, v in t.items()}
    w_idx = np.flatnonzero(working & np.isin(d_sched, t["schedule"]))
    t_first = np.searchsorted(t["schedule"], d_sched[w_idx], side="left")
    t_count = np.searchsorted(t["schedule"], d_sched[w_idx], side="right") - t_first
    s_day_idx = np.repeat(w_idx, t_count)
    within = np.arange(len(s_day_idx)) - np.repeat(np.cumsum(t_count) - t_count, t_count)
    tr = np.repeat(t_first, t_count) + within
    s_staff, s_day = d_staff[s_day_idx], d_day[s_day_idx]
    base = s_day * DAY_MIN
    s_abs, e_abs = base + t["s"][tr], base + t["e"][tr]
    lo_abs, hi_abs, mid_abs = base + t["lo"][tr], base + t["hi"][tr], base + t["mid"][tr]
    n_sessions = len(tr)

    # ---- punches: double taps on exact seconds, then whole minutes (rules.md §1)
    raw = inp.punches
    p_id_in = raw["punch_id"].to_numpy(dtype=np.int64)
    p_staff_in = raw["staff_id"].to_numpy(dtype=np.int64)
    p_sec_in = pd.to_datetime(raw["corrected_time"]).to_numpy().astype("datetime64[s]").astype(np.int64)
    order, p_suppressed, last_kept = _dedupe(p_staff_in, p_sec_in, p_id_in, inp.dedupe_seconds)
    p_id, p_staff, p_sec = p_id_in[order], p_staff_in[order], p_sec_in[order]
    p_min = p_sec // 60
    p_cal = p_min // DAY_MIN
    kept = np.flatnonzero(~p_suppressed)

    # ---- each kept punch to the window that starts last at or before it (one staff-day's
    # windows tile its span; where two days' windows overlap the later day wins)
    lo_key = (s_staff << MIN_BITS) | lo_abs
    lo_order = np.argsort(lo_key, kind="stable")
    pos = np.searchsorted(lo_key[lo_order], (p_staff[kept] << MIN_BITS) | p_min[kept], side="right") - 1
    sidx = lo_order[np.clip(pos, 0, None)] if n_sessions else np.zeros(len(kept), dtype=np.int64)
    hit = (pos >= 0) & (s_staff[sidx] == p_staff[kept]) & (p_min[kept] < hi_abs[sidx]) if n_sessions else pos < -1
    j_row = kept[hit]  # rows of the sorted punch arrays that fall in a window
    j_sidx = sidx[hit]
    # Kept punches are in (staff, time) order and one person's windows do not overlap, so
    # j_sidx is non-decreasing and time-ordered inside each session.
    is_in = p_min[j_row] < mid_abs[j_sidx]
    in_rows, in_s = j_row[is_in], j_sidx[is_in]
    out_rows, out_s = j_row[~is_in], j_sidx[~is_in]
    first_in = np.ones(len(in_s), dtype=bool)
    first_in[1:] = in_s[1:] != in_s[:-1]
    last_out = np.ones(len(out_s), dtype=bool)
    last_out[:-1] = out_s[:-1] != out_s[1:]
    checkin_row = np.full(n_sessions, -1, dtype=np.int64)
    checkout_row = np.full(n_sessions, -1, dtype=np.int64)
    checkin_row[in_s[first_in]] = in_rows[first_in]
    checkout_row[out_s[last_out]] = out_rows[last_out]
    has_in, has_out = checkin_row >= 0, checkout_row >= 0
    ci = np.where(has_in, p_min[np.clip(checkin_row, 0, None)], 0) if len(p_min) else np.zeros(n_sessions, np.int64)
    co = np.where(has_out, p_min[np.clip(checkout_row, 0, None)], 0) if len(p_min) else np.zeros(n_sessions, np.int64)

    # ---- verdicts (rules.md §5)
    late_raw = has_in & (ci > s_abs + t["grace_late"][tr])
    early_raw = has_out & (co < e_abs - t["grace_early"][tr])
    late_by = np.where(late_raw, ci - s_abs, 0)
    early_by = np.where(early_raw, e_abs - co, 0)

    # ---- excuses (rules.md §6): the merged interval with the greatest start <= S (covers the
    # start if it reaches past S, the whole session if it reaches E), and the one with the
    # greatest start < E (covers the end if it reaches E)
    x_staff, x_a, x_b, x_ids = _merged_excuses(inp, with_ids=detail)
    x_key = (x_staff << 32) | (x_a - SEC_BASE)
    s_sec, e_sec = s_abs * 60, e_abs * 60
    at_start = np.searchsorted(x_key, (s_staff << 32) | (s_sec - SEC_BASE), side="right") - 1
    at_end = np.searchsorted(x_key, (s_staff << 32) | (e_sec - SEC_BASE), side="left") - 1
    if len(x_key):
        ok_start = (at_start >= 0) & (x_staff[np.clip(at_start, 0, None)] == s_staff)
        ok_end = (at_end >= 0) & (x_staff[np.clip(at_end, 0, None)] == s_staff)
        start_covered = ok_start & (s_sec < np.where(ok_start, x_b[np.clip(at_start, 0, None)], 0))
        excused = start_covered & (x_b[np.clip(at_start, 0, None)] >= e_sec)
        end_covered = ok_end & (e_sec <= np.where(ok_end, x_b[np.clip(at_end, 0, None)], 0))
    else:
        start_covered = excused = end_covered = np.zeros(n_sessions, dtype=bool)
    excuse_ids = np.empty(n_sessions, dtype=object)
    excuse_ids[:] = [()] * n_sessions
    for i in np.flatnonzero(start_covered | end_covered).tolist() if detail else ():
        found = (x_ids[at_start[i]] if start_covered[i] else ()) + (x_ids[at_end[i]] if end_covered[i] else ())
        excuse_ids[i] = tuple(sorted(set(found)))
    start_ok = start_covered | excused
    end_ok = end_covered | excused
    absent = ~has_in & ~has_out & ~excused
    late = late_raw & ~start_ok
    early = early_raw & ~end_ok

    # ---- days: absent when every session is absent; punches on days off (rules.md §7)
    absent_day = np.zeros(len(d_staff), dtype=bool)
    s_key = (s_staff << DAY_BITS) | (s_day - lo_day)
    if n_sessions:
        starts = np.flatnonzero(np.r_[True, s_key[1:] != s_key[:-1]])
        absent_day[np.searchsorted(day_key, s_key[starts])] = np.logical_and.reduceat(absent, starts)
    in_span = (p_cal[kept] >= lo_day) & (p_cal[kept] <= hi_day)
    punch_day_key = (p_staff[kept][in_span] << DAY_BITS) | (p_cal[kept][in_span] - lo_day)
    probe = np.clip(np.searchsorted(punch_day_key, day_key), 0, max(len(punch_day_key) - 1, 0))
    has_punch = (punch_day_key[probe] == day_key) if len(punch_day_key) else np.zeros(len(day_key), dtype=bool)

    if detail:
        punches = _punch_roles(p_id, p_staff, p_sec, p_min, p_cal, p_suppressed, last_kept, j_row, j_sidx,
                               checkin_row[has_in], checkout_row[has_out], day_key, working, lo_day, hi_day,
                               s_day, t["no"][tr])
    else:
        punches = pd.DataFrame(columns=["punch_id", "staff_id", "role"])

    session_columns = {
        "staff_id": s_staff, "day": s_day, "date": _dates(s_day, first, last), "session_no": t["no"][tr],
        "schedule_id": t["schedule"][tr], "s": t["s"][tr], "e": t["e"][tr], "lo": t["lo"][tr], "hi": t["hi"][tr],
        "mid": t["mid"][tr], "grace_late": t["grace_late"][tr], "grace_early": t["grace_early"][tr],
        "start": pd.to_datetime(s_abs * 60, unit="s"), "end": pd.to_datetime(e_abs * 60, unit="s"),
        "checkin": pd.to_datetime(np.where(has_in, ci * 60, np.iinfo(np.int64).min).astype("datetime64[s]")),
        "checkout": pd.to_datetime(np.where(has_out, co * 60, np.iinfo(np.int64).min).astype("datetime64[s]")),
        "checkin_punch": _nullable(np.where(has_in, p_id[np.clip(checkin_row, 0, None)] if len(p_id) else 0, 0), ~has_in),
        "checkout_punch": _nullable(np.where(has_out, p_id[np.clip(checkout_row, 0, None)] if len(p_id) else 0, 0), ~has_out),
        "absent": absent, "late": late, "early": early,
        "missing_in": ~has_in & has_out & ~start_ok, "missing_out": has_in & ~has_out & ~end_ok,
        "excused": excused, "start_covered": start_covered, "end_covered": end_covered,
        "late_minutes": np.where(late, late_by, 0), "early_minutes": np.where(early, early_by, 0),
        "late_by": late_by, "early_by": early_by, "excuse_ids": excuse_ids,
    }
    day_columns = {
        "staff_id": d_staff, "day": d_day, "date": _dates(d_day, first, last), "unit_id": d_unit,
        "schedule_id": d_sched, "working": working,
        "day_source": pd.Categorical.from_codes(source, categories=list(DAY_SOURCES)),
        "day_reference": cal_ref[d_off], "absent_day": absent_day, "has_punch": has_punch,
        "offday_punch": has_punch & ~working,
    }
    # Only the period is reported (see lo_day); masks first, so the frames are built once,
    # from fresh arrays that pandas need not copy into consolidated blocks.
    in_sessions = (s_day >= first) & (s_day <= last)
    in_days = (d_day >= first) & (d_day <= last)
    sessions = pd.DataFrame({k: v[in_sessions] for k, v in session_columns.items()}, copy=False)
    days = pd.DataFrame({k: v[in_days] for k, v in day_columns.items()}, copy=False)
    return Evaluation(sessions=sessions, days=days, punches=punches)


def _punch_roles(p_id: np.ndarray, p_staff: np.ndarray, p_sec: np.ndarray, p_min: np.ndarray, p_cal: np.ndarray,
                 p_suppressed: np.ndarray, last_kept: np.ndarray, j_row: np.ndarray, j_sidx: np.ndarray,
                 checkin_rows: np.ndarray, checkout_rows: np.ndarray, day_key: np.ndarray, working: np.ndarray,
                 first: int, last: int, s_day: np.ndarray, s_no: np.ndarray) -> pd.DataFrame:
    """What became of each punch (rules.md §1, §4): used, unused, stray, suppressed, day off."""
    role = np.full(len(p_id), STRAY, dtype=np.int8)
    role[p_suppressed] = SUPPRESSED
    role[j_row] = UNUSED
    role[checkin_rows] = CHECKIN
    role[checkout_rows] = CHECKOUT
    p_day_key = (p_staff << DAY_BITS) | np.clip(p_cal - first, 0, (1 << DAY_BITS) - 1)
    probe = np.clip(np.searchsorted(day_key, p_day_key), 0, max(len(day_key) - 1, 0))
    if len(day_key):
        on_day_off = (p_cal >= first) & (p_cal <= last) & (day_key[probe] == p_day_key) & ~working[probe]
        role[(role == STRAY) & on_day_off] = OFFDAY
    p_sidx = np.full(len(p_id), -1, dtype=np.int64)
    p_sidx[j_row] = j_sidx
    none = p_sidx < 0
    at = np.clip(p_sidx, 0, None)
    return pd.DataFrame({
        "punch_id": p_id, "staff_id": p_staff, "sec": p_sec, "minute": p_min, "cal_day": p_cal,
        "corrected_time": pd.to_datetime(p_sec, unit="s"), "minute_time": pd.to_datetime(p_min * 60, unit="s"),
        "suppressed": p_suppressed,
        "suppressed_by": _nullable(np.where(p_suppressed, p_id[last_kept], 0), ~p_suppressed),
        "role": pd.Categorical.from_codes(role, categories=list(ROLES)),
        "work_day": _nullable(np.where(none, 0, s_day[at] if len(s_day) else 0), none),
        "session_no": _nullable(np.where(none, 0, s_no[at] if len(s_no) else 0), none),
    }, copy=False)


def summarize(ev: Evaluation, inp: EngineInput) -> pd.DataFrame:
    """rules.md §7: one row per staff member of ``inp`` with the monthly fields."""
    s = ev.sessions
    d = ev.days
    staff_ids = np.array(sorted({m.id for m in inp.staff}), dtype=np.int64)
    table = pd.DataFrame({"staff_id": staff_ids})
    s_pos = np.searchsorted(staff_ids, s["staff_id"].to_numpy())
    d_pos = np.searchsorted(staff_ids, d["staff_id"].to_numpy())

    def total(pos: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.bincount(pos, weights=values.astype(np.int64), minlength=len(staff_ids)).astype(np.int64)

    table["working_days"] = total(d_pos, d["working"].to_numpy())
    table["working_sessions"] = total(s_pos, np.ones(len(s), dtype=np.int64))
    table["excused_sessions"] = total(s_pos, s["excused"].to_numpy())
    table["late_count"] = total(s_pos, s["late"].to_numpy())
    table["late_minutes"] = total(s_pos, s["late_minutes"].to_numpy())
    table["early_count"] = total(s_pos, s["early"].to_numpy())
    table["early_minutes"] = total(s_pos, s["early_minutes"].to_numpy())
    table["missing_punch_count"] = total(s_pos, (s["missing_in"] | s["missing_out"]).to_numpy())
    table["absent_sessions"] = total(s_pos, s["absent"].to_numpy())
    table["absent_days"] = total(d_pos, d["absent_day"].to_numpy())
    table["offday_punch_days"] = total(d_pos, d["offday_punch"].to_numpy())
    codes = {m.id: m.code for m in inp.staff}
    table.insert(1, "staff_code", [codes[i] for i in staff_ids.tolist()])
    return table[["staff_id", "staff_code", *SUMMARY_FIELDS]].sort_values("staff_code").reset_index(drop=True)
