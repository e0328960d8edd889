"""The rules engine: rules.md evaluated for many staff and a whole period at once.

Everything works on whole-array operations over integer minute/second clocks (seconds
since 1970-01-01 of naive local time), so a month of 10,000 people is a handful of
merges and group-bys rather than a Python loop per punch.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calendar import country_calendar
from .types import EngineInput, Evaluation, ScheduleVersion

DAY_MIN = 1440
EPOCH = dt.date(1970, 1, 1)
NO_DATE_LOW = -(10**9)
NO_DATE_HIGH = 10**9
SEC_BASE = -(2**31)  # shifts seconds since 1970 to non-negative values for packed keys
MIN_BITS = 26  # absolute minutes since 1970 stay below 2**26 until the year 2097
SUMMARY_FIELDS = Evaluation.__dataclass_fields__["summary_fields"].default


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


def day_from_number(number: int) -> dt.date:
    """Inverse of ``day_number``."""
    return EPOCH + dt.timedelta(days=int(number))


def _dates(numbers: np.ndarray) -> np.ndarray:
    """Day numbers to an object array of datetime.date (what callers compare against)."""
    lookup = {n: day_from_number(n) for n in np.unique(numbers)}
    return np.array([lookup[n] for n in numbers], dtype=object)


def _minutes_to_timestamps(minutes: pd.Series) -> pd.Series:
    """Absolute minute numbers (float with NaN) to Timestamps (NaT where missing)."""
    return pd.to_datetime(minutes * 60, unit="s")


# --------------------------------------------------------------------------- days


def _staff_days(inp: EngineInput, first: int, last: int) -> pd.DataFrame:
    """One row per staff member per day of the period inside their employment."""
    n_days = last - first + 1
    staff_ids = np.array([s.id for s in inp.staff], dtype=np.int64)
    emp_from = np.array(
        [day_number(s.employed_from) if s.employed_from else NO_DATE_LOW for s in inp.staff],
        dtype=np.int64,
    )
    emp_to = np.array(
        [day_number(s.employed_to) if s.employed_to else NO_DATE_HIGH for s in inp.staff],
        dtype=np.int64,
    )
    days = np.tile(np.arange(first, last + 1, dtype=np.int64), len(staff_ids))
    idx = np.repeat(np.arange(len(staff_ids)), n_days)
    keep = (days >= emp_from[idx]) & (days <= emp_to[idx])
    return pd.DataFrame({"staff_id": staff_ids[idx][keep], "day": days[keep]})


def _attach_units(frame: pd.DataFrame, inp: EngineInput) -> pd.DataFrame:
    """The unit of each staff-day from effective-dated assignments (latest start wins)."""
    if not inp.assignments:
        frame["unit_id"] = -1
        return frame
    asg = pd.DataFrame(
        {
            "staff_id": [a.staff_id for a in inp.assignments],
            "unit_id": [a.unit_id for a in inp.assignments],
            "a_from": [day_number(a.valid_from) if a.valid_from else NO_DATE_LOW for a in inp.assignments],
            "a_to": [day_number(a.valid_to) if a.valid_to else NO_DATE_HIGH for a in inp.assignments],
        }
    )
    merged = frame.merge(asg, on="staff_id", how="left")
    inside = (merged["day"] >= merged["a_from"]) & (merged["day"] <= merged["a_to"])
    merged = merged[inside].sort_values(["staff_id", "day", "a_from"], ascending=[True, True, False])
    merged = merged.drop_duplicates(["staff_id", "day"])[["staff_id", "day", "unit_id"]]
    out = frame.merge(merged, on=["staff_id", "day"], how="left")
    out["unit_id"] = out["unit_id"].fillna(-1).astype(np.int64)
    return out


def _pick(versions: list[ScheduleVersion], day: dt.date) -> ScheduleVersion | None:
    """The version in force on ``day``: latest valid_from wins, then the highest id."""
    best: ScheduleVersion | None = None
    for version in versions:
        if version.valid_on(day):
            key = (version.valid_from or dt.date.min, version.id)
            if best is None or key > (best.valid_from or dt.date.min, best.id):
                best = version
    return best


def _attach_schedules(frame: pd.DataFrame, inp: EngineInput, first: int, last: int) -> pd.DataFrame:
    """Schedule in force per staff-day: staff override, else the unit's or nearest ancestor's."""
    by_unit: dict[int, list[ScheduleVersion]] = {}
    by_id = {s.id: s for s in inp.schedules}
    for version in inp.schedules:
        for unit_id in version.unit_ids:
            by_unit.setdefault(unit_id, []).append(version)

    def chain(unit_id: int) -> list[int]:
        seen: list[int] = []
        current: int | None = unit_id
        while current is not None and current not in seen and current != -1:
            seen.append(current)
            current = inp.unit_parents.get(current)
        return seen

    rows: list[tuple[int, int, int]] = []
    for unit_id in frame["unit_id"].unique().tolist():
        units = chain(unit_id)
        for number in range(first, last + 1):
            day = day_from_number(number)
            for candidate in units:
                version = _pick(by_unit.get(candidate, []), day)
                if version is not None:
                    rows.append((unit_id, number, version.id))
                    break
    unit_sched = pd.DataFrame(rows, columns=["unit_id", "day", "schedule_id"])
    out = frame.merge(unit_sched, on=["unit_id", "day"], how="left")
    out["schedule_id"] = out["schedule_id"].fillna(-1).astype(np.int64)

    overrides = [(s.id, [by_id[i] for i in s.schedule_ids if i in by_id]) for s in inp.staff if s.schedule_ids]
    if overrides:
        staff_rows = []
        for staff_id, versions in overrides:
            for number in range(first, last + 1):
                version = _pick(versions, day_from_number(number))
                if version is not None:
                    staff_rows.append((staff_id, number, version.id))
        if staff_rows:
            own = pd.DataFrame(staff_rows, columns=["staff_id", "day", "own_schedule"])
            out = out.merge(own, on=["staff_id", "day"], how="left")
            has_own = out["own_schedule"].notna()
            out.loc[has_own, "schedule_id"] = out.loc[has_own, "own_schedule"].astype(np.int64)
            out = out.drop(columns="own_schedule")
    return out


def _attach_working(frame: pd.DataFrame, inp: EngineInput, first: int, last: int) -> pd.DataFrame:
    """rules.md §3: override, else the country calendar, else the schedule's weekdays."""
    first_day, last_day = day_from_number(first), day_from_number(last)
    entries = country_calendar(inp.country, first_day, last_day) if inp.country else {}
    overrides = {o.date: o for o in inp.overrides}
    cal_rows = []
    for number in range(first, last + 1):
        day = day_from_number(number)
        if day in overrides:
            o = overrides[day]
            cal_rows.append((number, "override", o.kind == "working_day", o.kind == "day_off", o.reference))
        elif day in entries:
            entry = entries[day]
            is_makeup = entry.kind == "makeup"
            cal_rows.append((number, entry.kind, is_makeup, not is_makeup, entry.name_vi))
        else:
            cal_rows.append((number, "", False, False, ""))
    cal = pd.DataFrame(cal_rows, columns=["day", "cal_source", "force_work", "force_off", "day_reference"])
    out = frame.merge(cal, on="day", how="left")

    masks = {s.id: sum(1 << d for d in s.weekdays) for s in inp.schedules}
    mask = out["schedule_id"].map(masks).fillna(0).astype(np.int64).to_numpy()
    weekday = ((out["day"].to_numpy() + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    in_week = (mask >> weekday) & 1 == 1
    has_schedule = out["schedule_id"].to_numpy() >= 0
    force_work = out["force_work"].to_numpy(dtype=bool)
    force_off = out["force_off"].to_numpy(dtype=bool)
    out["working"] = has_schedule & (force_work | (~force_off & in_week))
    source = np.where(in_week, "weekday", "weekend").astype(object)
    source = np.where(out["cal_source"].to_numpy() == "holiday", "holiday", source)
    source = np.where(out["cal_source"].to_numpy() == "makeup", "makeup", source)
    source = np.where(out["cal_source"].to_numpy() == "override", "override", source)
    source = np.where(has_schedule, source, "no_schedule")
    out["day_source"] = source
    return out.drop(columns=["cal_source", "force_work", "force_off"])


# ----------------------------------------------------------------------- sessions


def _schedule_sessions(schedules: list[ScheduleVersion]) -> pd.DataFrame:
    """Per schedule: each session's start/end, assignment bounds and midpoint (minutes)."""
    rows = []
    for s in schedules:
        spans = list(s.sessions)
        if not spans:
            continue
        if s.punch_policy == "first_last":
            spans = [(spans[0][0], spans[-1][1])]
        n = len(spans)
        for i, (start, end) in enumerate(spans):
            low = start - s.checkin_window_before_minutes if i == 0 else (
                spans[i - 1][1] + (start - spans[i - 1][1]) // 2
            )
            high = end + s.checkout_window_after_minutes + 1 if i == n - 1 else (
                end + (spans[i + 1][0] - end) // 2
            )
            rows.append(
                (s.id, i + 1, start, end, low, high, start + (end - start) // 2,
                 s.grace_late_minutes, s.grace_early_minutes)
            )
    return pd.DataFrame(
        rows,
        columns=["schedule_id", "session_no", "s", "e", "lo", "hi", "mid", "grace_late", "grace_early"],
    ).astype({c: np.int64 for c in ["schedule_id", "session_no", "s", "e", "lo", "hi", "mid", "grace_late", "grace_early"]})


def _dedupe(punches: pd.DataFrame, dedupe_seconds: int) -> pd.DataFrame:
    """rules.md §1: a punch less than dedupe_seconds after the last *kept* one is suppressed."""
    # One int64 key (staff, second) sorted stably after punch id: same order as sorting by
    # (staff, second, punch id) at a fraction of the cost of a multi-column sort.
    by_id = punches.iloc[np.argsort(punches["punch_id"].to_numpy(), kind="stable")]
    key = (by_id["staff_id"].to_numpy() << 32) | (by_id["sec"].to_numpy() - SEC_BASE)
    p = by_id.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    sec = p["sec"].to_numpy()
    staff = p["staff_id"].to_numpy()
    pid = p["punch_id"].to_numpy()
    n = len(p)
    suppressed = np.zeros(n, dtype=bool)
    last_kept = np.arange(n)  # index of the last kept punch at or before each punch
    if n > 1 and dedupe_seconds > 0:
        same = np.zeros(n, dtype=bool)
        same[1:] = staff[1:] == staff[:-1]
        gap = np.zeros(n, dtype=np.int64)
        gap[1:] = sec[1:] - sec[:-1]
        # A punch far enough from its predecessor is far enough from the last kept one too,
        # so only the (rare) runs of close punches need walking in order.
        for i in np.flatnonzero(same & (gap < dedupe_seconds)):
            kept = last_kept[i - 1]
            if sec[i] - sec[kept] < dedupe_seconds:
                suppressed[i] = True
                last_kept[i] = kept
    p["suppressed"] = suppressed
    p["suppressed_by"] = pd.array(np.where(suppressed, pid[last_kept], 0), dtype="Int64")
    p.loc[~suppressed, "suppressed_by"] = pd.NA
    return p


def _merge_excuses(inp: EngineInput) -> pd.DataFrame:
    """rules.md §6: each person's excuses merged into their union (seconds, half-open)."""
    if not inp.excuses:
        return pd.DataFrame({"staff_id": [], "a": [], "b": [], "excuse_ids": []}).astype(
            {"staff_id": np.int64, "a": np.int64, "b": np.int64}
        )
    epoch = dt.datetime(1970, 1, 1)
    raw = pd.DataFrame(
        {
            "staff_id": [e.staff_id for e in inp.excuses],
            "a": [int((e.start - epoch).total_seconds()) for e in inp.excuses],
            "b": [int((e.end - epoch).total_seconds()) for e in inp.excuses],
            "excuse_id": [e.id if e.id is not None else i for i, e in enumerate(inp.excuses)],
        }
    )
    raw = raw[raw["b"] > raw["a"]].sort_values(["staff_id", "a", "b"])
    # A new merged interval starts where an excuse begins after everything before it ended.
    reach = raw.groupby("staff_id")["b"].cummax()
    prev_reach = reach.groupby(raw["staff_id"]).shift()
    starts = prev_reach.isna() | (raw["a"] > prev_reach)
    group = starts.cumsum().to_numpy()
    merged = pd.DataFrame({"staff_id": raw["staff_id"].to_numpy(), "a": raw["a"].to_numpy(),
                           "b": raw["b"].to_numpy(), "group": group})
    merged = merged.groupby("group", sort=True).agg(staff_id=("staff_id", "first"), a=("a", "min"), b=("b", "max"))
    ids: dict[int, list[int]] = {}
    for g, excuse_id in zip(group.tolist(), raw["excuse_id"].tolist(), strict=True):
        ids.setdefault(g, []).append(excuse_id)
    merged["excuse_ids"] = [tuple(ids[g]) for g in merged.index]
    return merged.reset_index(drop=True)


def _apply_excuses(sessions: pd.DataFrame, merged: pd.DataFrame) -> pd.DataFrame:
    """Mark each session as fully excused, start-covered or end-covered."""
    n = len(sessions)
    sessions["excused"] = np.zeros(n, dtype=bool)
    sessions["start_covered"] = np.zeros(n, dtype=bool)
    sessions["end_covered"] = np.zeros(n, dtype=bool)
    sessions["excuse_ids"] = [()] * n
    if merged.empty or n == 0:
        return sessions
    s_sec = sessions["s_abs"].to_numpy() * 60
    e_sec = sessions["e_abs"].to_numpy() * 60
    staff = sessions["staff_id"].to_numpy()
    m_staff = merged["staff_id"].to_numpy(dtype=np.int64)
    m_a = merged["a"].to_numpy(dtype=np.int64)
    m_b = merged["b"].to_numpy(dtype=np.int64)
    keys = (m_staff << 32) | (m_a - SEC_BASE)  # merged intervals sorted by (staff, start)
    # The interval with the greatest start <= S, and the one with the greatest start < E.
    at_start = np.searchsorted(keys, (staff << 32) | (s_sec - SEC_BASE), side="right") - 1
    at_end = np.searchsorted(keys, (staff << 32) | (e_sec - SEC_BASE), side="left") - 1
    ok_start = (at_start >= 0) & (m_staff[np.clip(at_start, 0, None)] == staff)
    ok_end = (at_end >= 0) & (m_staff[np.clip(at_end, 0, None)] == staff)
    start_b = np.where(ok_start, m_b[np.clip(at_start, 0, None)], np.iinfo(np.int64).min)
    end_b = np.where(ok_end, m_b[np.clip(at_end, 0, None)], np.iinfo(np.int64).min)
    start_covered = ok_start & (s_sec < start_b)
    full = start_covered & (start_b >= e_sec)
    end_covered = ok_end & (e_sec <= end_b)
    sessions["excused"] = full
    sessions["start_covered"] = start_covered
    sessions["end_covered"] = end_covered
    ids = merged["excuse_ids"].tolist()
    covered = np.flatnonzero(start_covered | end_covered)
    excuse_ids = np.empty(len(sessions), dtype=object)
    excuse_ids[:] = [()] * len(sessions)
    for i in covered.tolist():
        found = (ids[at_start[i]] if start_covered[i] else ()) + (ids[at_end[i]] if end_covered[i] else ())
        excuse_ids[i] = tuple(sorted(set(found)))
    sessions["excuse_ids"] = excuse_ids
    return sessions


def _assign_punches(kept: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Each kept punch to at most one session window (rules.md §4).

    The windows of one staff-day tile [S1 − before, En + after] without gaps (each
    boundary is shared), so the session of a punch is the one with the greatest window
    start at or before it, provided the punch is also before that window's end. Where a
    configuration makes two days' windows overlap, the later day's window wins.
    """
    lo_keys = (sessions["staff_id"].to_numpy() << MIN_BITS) | sessions["lo_abs"].to_numpy()
    order = np.argsort(lo_keys, kind="stable")
    lo_sorted = lo_keys[order]
    staff = kept["staff_id"].to_numpy()
    minute = kept["minute"].to_numpy()
    pos = np.searchsorted(lo_sorted, (staff << MIN_BITS) | minute, side="right") - 1
    sidx = order[np.clip(pos, 0, None)] if len(order) else np.zeros(len(kept), dtype=np.int64)
    hit = (pos >= 0) if len(order) else np.zeros(len(kept), dtype=bool)
    if len(order):
        hit &= (sessions["staff_id"].to_numpy()[sidx] == staff) & (minute < sessions["hi_abs"].to_numpy()[sidx])
    joined = pd.DataFrame({"punch_id": kept["punch_id"].to_numpy()[hit], "sidx": sidx[hit],
                           "minute": minute[hit], "sec": kept["sec"].to_numpy()[hit]})
    return joined


def evaluate(inp: EngineInput, first_day: dt.date, last_day: dt.date) -> Evaluation:
    """Evaluate every rule of rules.md for all staff in ``inp`` from first_day to last_day."""
    first, last = day_number(first_day), day_number(last_day)
    days = _staff_days(inp, first, last)
    days = _attach_units(days, inp)
    days = _attach_schedules(days, inp, first, last)
    days = _attach_working(days, inp, first, last)

    # Sessions of working days, with absolute minute clocks.
    templates = _schedule_sessions(inp.schedules)
    work = days.loc[days["working"], ["staff_id", "day", "schedule_id"]]
    sessions = work.merge(templates, on="schedule_id", how="inner")
    sessions = sessions.sort_values(["staff_id", "day", "session_no"]).reset_index(drop=True)
    base = sessions["day"].to_numpy() * DAY_MIN
    for col in ("s", "e", "lo", "hi", "mid"):
        sessions[f"{col}_abs"] = base + sessions[col].to_numpy()
    sessions["sidx"] = np.arange(len(sessions))

    # Punches: double taps on exact seconds, then whole minutes for every rule after that.
    raw = inp.punches
    punches = pd.DataFrame(
        {
            "punch_id": raw["punch_id"].to_numpy(dtype=np.int64),
            "staff_id": raw["staff_id"].to_numpy(dtype=np.int64),
            "sec": pd.to_datetime(raw["corrected_time"]).to_numpy().astype("datetime64[s]").astype(np.int64),
        }
    )
    punches = _dedupe(punches, inp.dedupe_seconds)
    punches["minute"] = punches["sec"] // 60
    punches["cal_day"] = punches["minute"] // DAY_MIN
    kept = punches[~punches["suppressed"]]

    joined = _assign_punches(kept, sessions)
    # Kept punches are in (staff, time) order and a person's windows never overlap, so
    # ``joined`` is already ordered by session and by time inside each session.
    joined_sidx = joined["sidx"].to_numpy()
    is_in = joined["minute"].to_numpy() < sessions["mid_abs"].to_numpy()[joined_sidx]
    in_rows = np.flatnonzero(is_in)
    out_rows = np.flatnonzero(~is_in)
    _, first_pos = np.unique(joined_sidx[in_rows], return_index=True)
    _, last_pos_rev = np.unique(joined_sidx[out_rows][::-1], return_index=True)
    first_in = joined.iloc[in_rows[first_pos]]
    last_out = joined.iloc[out_rows[len(out_rows) - 1 - last_pos_rev]]
    n_sessions = len(sessions)
    checkin = np.full(n_sessions, np.nan)
    checkout = np.full(n_sessions, np.nan)
    checkin[first_in["sidx"].to_numpy()] = first_in["minute"].to_numpy()
    checkout[last_out["sidx"].to_numpy()] = last_out["minute"].to_numpy()
    checkin = pd.Series(checkin, index=sessions.index)
    checkout = pd.Series(checkout, index=sessions.index)
    sessions["checkin_min"] = checkin
    sessions["checkout_min"] = checkout
    in_punch = np.zeros(n_sessions, dtype=np.int64)
    out_punch = np.zeros(n_sessions, dtype=np.int64)
    in_punch[first_in["sidx"].to_numpy()] = first_in["punch_id"].to_numpy()
    out_punch[last_out["sidx"].to_numpy()] = last_out["punch_id"].to_numpy()
    sessions["checkin_punch"] = pd.array(in_punch, dtype="Int64")
    sessions.loc[checkin.isna().to_numpy(), "checkin_punch"] = pd.NA
    sessions["checkout_punch"] = pd.array(out_punch, dtype="Int64")
    sessions.loc[checkout.isna().to_numpy(), "checkout_punch"] = pd.NA

    # Verdicts (rules.md §5), then excuses (§6).
    has_in = checkin.notna().to_numpy()
    has_out = checkout.notna().to_numpy()
    ci = checkin.fillna(0).to_numpy(dtype=np.int64)
    co = checkout.fillna(0).to_numpy(dtype=np.int64)
    s_abs = sessions["s_abs"].to_numpy()
    e_abs = sessions["e_abs"].to_numpy()
    late_raw = has_in & (ci > s_abs + sessions["grace_late"].to_numpy())
    early_raw = has_out & (co < e_abs - sessions["grace_early"].to_numpy())
    sessions["late_by"] = np.where(late_raw, ci - s_abs, 0)
    sessions["early_by"] = np.where(early_raw, e_abs - co, 0)
    sessions = _apply_excuses(sessions, _merge_excuses(inp))
    excused = sessions["excused"].to_numpy()
    start_ok = sessions["start_covered"].to_numpy() | excused
    end_ok = sessions["end_covered"].to_numpy() | excused
    sessions["absent"] = ~has_in & ~has_out & ~excused
    sessions["late"] = late_raw & ~start_ok
    sessions["early"] = early_raw & ~end_ok
    sessions["missing_in"] = ~has_in & has_out & ~start_ok
    sessions["missing_out"] = has_in & ~has_out & ~end_ok
    sessions["late_minutes"] = np.where(sessions["late"], sessions["late_by"], 0)
    sessions["early_minutes"] = np.where(sessions["early"], sessions["early_by"], 0)

    # Days: absent when every session is absent; punches on days off (after suppression).
    day_key = (days["staff_id"].to_numpy() << 20) | (days["day"].to_numpy() - first + 1)
    sess_key = (sessions["staff_id"].to_numpy() << 20) | (sessions["day"].to_numpy() - first + 1)
    absent_day = np.zeros(len(days), dtype=bool)
    if n_sessions:
        starts = np.flatnonzero(np.r_[True, sess_key[1:] != sess_key[:-1]])
        all_absent = np.logical_and.reduceat(sessions["absent"].to_numpy(), starts)
        where = pd.Index(day_key).get_indexer(sess_key[starts])
        absent_day[where] = all_absent
    days["absent_day"] = absent_day
    kept_day = kept["cal_day"].to_numpy()
    in_range = (kept_day >= first) & (kept_day <= last)
    kept_key = (kept["staff_id"].to_numpy()[in_range] << 20) | (kept_day[in_range] - first + 1)
    days["has_punch"] = np.isin(day_key, kept_key)
    days["offday_punch"] = days["has_punch"] & ~days["working"]

    # Punch roles for explanations.
    role = np.where(punches["suppressed"], "suppressed", "stray").astype(object)
    punches["role"] = role
    punches["sidx"] = pd.array([pd.NA] * len(punches), dtype="Int64")
    pos = pd.Series(np.arange(len(punches)), index=punches["punch_id"].to_numpy())
    used = pos.reindex(joined["punch_id"].to_numpy()).to_numpy()
    punches.loc[used, "sidx"] = joined["sidx"].to_numpy()
    punches.loc[used, "role"] = "unused"
    punches.loc[pos.reindex(first_in["punch_id"].to_numpy()).to_numpy(), "role"] = "checkin"
    punches.loc[pos.reindex(last_out["punch_id"].to_numpy()).to_numpy(), "role"] = "checkout"
    off_keys = day_key[~days["working"].to_numpy()]
    p_day = punches["cal_day"].to_numpy()
    p_key = (punches["staff_id"].to_numpy() << 20) | np.clip(p_day - first + 1, 0, None)
    is_off = (p_day >= first) & (p_day <= last) & np.isin(p_key, off_keys)
    punches.loc[is_off & (punches["role"] == "stray").to_numpy(), "role"] = "offday"

    return Evaluation(sessions=_public_sessions(sessions), days=_public_days(days), punches=_public_punches(punches, sessions))


def _public_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    out = sessions
    out["date"] = _dates(out["day"].to_numpy())
    out["start"] = _minutes_to_timestamps(out["s_abs"])
    out["end"] = _minutes_to_timestamps(out["e_abs"])
    out["checkin"] = _minutes_to_timestamps(out["checkin_min"])
    out["checkout"] = _minutes_to_timestamps(out["checkout_min"])
    return out


def _public_days(days: pd.DataFrame) -> pd.DataFrame:
    days["date"] = _dates(days["day"].to_numpy())
    return days


def _public_punches(punches: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    punches["corrected_time"] = pd.to_datetime(punches["sec"], unit="s")
    punches["minute_time"] = pd.to_datetime(punches["minute"] * 60, unit="s")
    sidx = punches["sidx"]
    has = sidx.notna().to_numpy()
    work_day = np.full(len(punches), -1, dtype=np.int64)
    session_no = np.zeros(len(punches), dtype=np.int64)
    if has.any():
        idx = sidx[has].to_numpy(dtype=np.int64)
        work_day[has] = sessions["day"].to_numpy()[idx]
        session_no[has] = sessions["session_no"].to_numpy()[idx]
    punches["work_day"] = pd.array(np.where(has, work_day, 0), dtype="Int64")
    punches.loc[~has, "work_day"] = pd.NA
    punches["session_no"] = pd.array(np.where(has, session_no, 0), dtype="Int64")
    punches.loc[~has, "session_no"] = pd.NA
    return punches


def summarize(ev: Evaluation, inp: EngineInput) -> pd.DataFrame:
    """rules.md §7: one row per staff member of ``inp`` with the monthly fields."""
    s = ev.sessions
    d = ev.days
    per_session = pd.DataFrame(
        {
            "staff_id": s["staff_id"],
            "working_sessions": 1,
            "excused_sessions": s["excused"].astype(np.int64),
            "late_count": s["late"].astype(np.int64),
            "late_minutes": s["late_minutes"].astype(np.int64),
            "early_count": s["early"].astype(np.int64),
            "early_minutes": s["early_minutes"].astype(np.int64),
            "missing_punch_count": (s["missing_in"] | s["missing_out"]).astype(np.int64),
            "absent_sessions": s["absent"].astype(np.int64),
        }
    ).groupby("staff_id").sum()
    per_day = pd.DataFrame(
        {
            "staff_id": d["staff_id"],
            "working_days": d["working"].astype(np.int64),
            "absent_days": d["absent_day"].astype(np.int64),
            "offday_punch_days": d["offday_punch"].astype(np.int64),
        }
    ).groupby("staff_id").sum()
    staff = pd.DataFrame({"staff_id": [m.id for m in inp.staff], "staff_code": [m.code for m in inp.staff]})
    table = staff.merge(per_day, on="staff_id", how="left").merge(per_session, on="staff_id", how="left")
    for name in SUMMARY_FIELDS:
        if name not in table:
            table[name] = 0
        table[name] = table[name].fillna(0).astype(np.int64)
    return table[["staff_id", "staff_code", *SUMMARY_FIELDS]].sort_values("staff_code").reset_index(drop=True)
