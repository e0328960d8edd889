"""A month at a glance: one person's calendar and a unit's people × days grid, from stored verdicts.

Each view refreshes the month's stored verdicts where stale (``attendance.verdicts``, which
evaluates with the rules engine) and reads each day's row; the totals are the summary's
own (rules.md §7) added up from the same rows. Every day gets one code, the most serious thing that day:

``outside`` not employed that day · ``no_schedule`` no schedule in force · ``weekend``,
``holiday``, ``day_off`` (a calendar override) not a working day · ``absent`` every session
absent · ``absent_session`` some session absent · ``missing`` a check-in or check-out
missing · ``late`` · ``early`` · ``excused`` every session excused · ``ok``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from .engine import EXCUSE_KINDS, SUMMARY_FIELDS
from .engine.explain import DAY_TEXT, verdict_labels
from .loader import select_staff
from .names import name_sort_key
from .services import parse_month
from .verdicts import counted_verdicts, current_verdicts, excuse_kinds, session_verdicts

#: Day codes from the most to the least serious on working days, then the days off.
DAY_CODES = ("absent", "absent_session", "missing", "late", "early", "excused", "ok",
             "weekend", "holiday", "day_off", "no_schedule", "outside")
DAY_CODE_TEXT = {
    "absent": ("Vắng cả ngày, không có lý do", "Absent all day, without excuse"),
    "absent_session": ("Vắng một ca", "Absent from a session"),
    "missing": ("Thiếu lần chấm công", "A punch is missing"),
    "late": ("Đi muộn", "Late"),
    "early": ("Về sớm", "Left early"),
    "excused": ("Có lý do", "Excused"),
    "ok": ("Đủ công", "All sessions in order"),
    "weekend": DAY_TEXT["weekend"],
    "holiday": DAY_TEXT["holiday"],
    "day_off": ("Ngày nghỉ theo quyết định điều chỉnh", "Day off by calendar override"),
    "no_schedule": DAY_TEXT["no_schedule"],
    "outside": ("Ngoài thời gian công tác", "Outside the person's employment"),
}


@dataclass(frozen=True)
class DayVerdict:
    """One day of one person: its code, a short reason (vi/en) and each session's verdicts."""

    date: dt.date
    code: str
    working: bool
    has_punch: bool
    vi: str
    en: str
    sessions: tuple[tuple[int, tuple[str, ...]], ...]  # (session number, verdict codes as in explain)


@dataclass(frozen=True)
class PersonMonth:
    """One person's month: every day of it, and the monthly summary's totals."""

    staff_code: str
    name: str
    unit_code: str
    unit_name: str
    month: str
    days: list[DayVerdict]
    totals: dict[str, int]


@dataclass(frozen=True)
class GridRow:
    """One person's line of the unit grid: a day code per day of the month, and their totals."""

    staff_code: str
    name: str
    unit_code: str
    unit_name: str
    cells: tuple[str, ...]
    totals: dict[str, int]


@dataclass(frozen=True)
class MonthGrid:
    """People × days of a unit (and the units under it) for a month, people in name order."""

    unit_code: str
    month: str
    days: tuple[dt.date, ...]
    rows: list[GridRow]
    day_counts: tuple[dict[str, int], ...]  # per day: how many people have each code


#: Each code's position in DAY_CODES, as the grid stores its cells.
_CODE_OF = np.array(DAY_CODES, dtype=object)
_OUTSIDE = DAY_CODES.index("outside")


def _per_day(days: pd.DataFrame, sessions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per row of ``days``: whether any session was absent, missing a punch, late, early; all excused.

    The engine lists sessions grouped by (staff, day): one ``reduceat`` per flag over those runs
    replaces a groupby and a merge. A day without sessions has every flag False.
    """
    flags = {name: np.zeros(len(days), dtype=bool)
             for name in ("any_absent", "any_missing", "any_late", "any_early", "all_excused")}
    if not len(sessions) or not len(days):
        return flags
    d_staff, d_day = days["staff_id"].to_numpy(np.int64), days["day"].to_numpy(np.int64)
    s_staff, s_day = sessions["staff_id"].to_numpy(np.int64), sessions["day"].to_numpy(np.int64)
    low = min(int(d_day.min()), int(s_day.min()))
    span = max(int(d_day.max()), int(s_day.max())) - low + 1
    d_key, s_key = d_staff * span + (d_day - low), s_staff * span + (s_day - low)
    s_order = np.argsort(s_key, kind="stable")  # already sorted by the engine: a linear pass
    s_key = s_key[s_order]
    starts = np.flatnonzero(np.r_[True, s_key[1:] != s_key[:-1]])
    d_order = np.argsort(d_key, kind="stable")
    at = d_order[np.searchsorted(d_key[d_order], s_key[starts])]

    def column(name: str) -> np.ndarray:
        return sessions[name].to_numpy(dtype=bool)[s_order]

    missing = column("missing_in") | column("missing_out")
    for flag, values in (("any_absent", column("absent")), ("any_missing", missing), ("any_late", column("late")),
                         ("any_early", column("early"))):
        flags[flag][at] = np.logical_or.reduceat(values, starts)
    flags["all_excused"][at] = np.logical_and.reduceat(column("excused"), starts)
    return flags


def day_code_numbers(ev: Any) -> np.ndarray:
    """Per row of the engine's day table: the position in DAY_CODES of that day's code."""
    days: pd.DataFrame = ev.days
    flags = _per_day(days, ev.sessions)
    working = days["working"].to_numpy(dtype=bool)
    source = days["day_source"].astype(str).to_numpy()
    off = ~working
    position = DAY_CODES.index
    return np.select(
        [off & (source == "no_schedule"), off & (source == "holiday"), off & (source == "weekend"), off,
         days["absent_day"].to_numpy(dtype=bool), flags["any_absent"], flags["any_missing"], flags["any_late"],
         flags["any_early"], flags["all_excused"]],
        [position(c) for c in ("no_schedule", "holiday", "weekend", "day_off", "absent", "absent_session", "missing",
                               "late", "early", "excused")],
        default=position("ok"),
    ).astype(np.int8)


def _reason(code: str, day: dict[str, Any]) -> tuple[str, str]:
    """The short reason of one stored day (vi, en): the code's words and what made it so."""
    vi, en = DAY_CODE_TEXT[code]
    if code in ("holiday", "day_off", "weekend") and day["day_reference"]:
        return f"{vi}: {day['day_reference']}", f"{en}: {day['day_reference']}"
    if not day["working"]:
        return vi, en
    parts_vi: list[str] = []
    parts_en: list[str] = []
    for number, verdict_codes, late_minutes, early_minutes in session_verdicts(day):
        verdicts = [v for v in verdict_codes if v not in ("ok", "excused")]
        details_vi, details_en = verdict_labels(verdicts, "vi"), verdict_labels(verdicts, "en")
        for i, verdict in enumerate(verdicts):
            minutes = late_minutes if verdict == "late" else early_minutes if verdict == "early" else 0
            if minutes:
                details_vi[i] += f" {minutes} phút"
                details_en[i] += f" {minutes} min"
        if details_vi and code != "absent":
            parts_vi.append(f"ca {number} {', '.join(details_vi)}")
            parts_en.append(f"session {number} {', '.join(details_en)}")
    excuses = excuse_kinds(day)
    if excuses:
        parts_vi.append(", ".join(EXCUSE_KINDS.get(k, (k, k))[0] for k in excuses))
        parts_en.append(", ".join(EXCUSE_KINDS.get(k, (k, k))[1] for k in excuses))
    if parts_vi:
        return f"{vi}: {'; '.join(parts_vi)}", f"{en}: {'; '.join(parts_en)}"
    return vi, en


def _totals(table: pd.DataFrame) -> dict[int, dict[str, int]]:
    return {int(row["staff_id"]): {f: int(row[f]) for f in SUMMARY_FIELDS} for row in table.to_dict(orient="records")}


def person_month(session: Session, staff_code: str, month: str) -> PersonMonth:
    """One person's month ('YYYY-MM'): each day's code and short reason, and the summary totals.

    Read from the stored verdicts, refreshed first where stale. UnknownStaff for an unknown
    code; InvalidInput for a malformed or implausible month.
    """
    first, last = parse_month(month)
    scope = select_staff(session, first, last, staff_code=staff_code)
    staff_id = int(scope.staff_rows[0].id)
    stored, totals = current_verdicts(session, [staff_id], first, last)
    rows = {r["day"]: r for r in stored.to_dict(orient="records")}
    out: list[DayVerdict] = []
    for day in (first + dt.timedelta(days=i) for i in range((last - first).days + 1)):
        row = rows.get(day)
        code = str(row["code"]) if row is not None else "outside"
        if row is None or code == "outside":
            vi, en = DAY_CODE_TEXT["outside"]
            out.append(DayVerdict(day, "outside", False, False, vi, en, ()))
            continue
        vi, en = _reason(code, row)
        out.append(DayVerdict(day, code, bool(row["working"]), bool(row["has_punch"]), vi, en,
                              tuple((no, verdicts) for no, verdicts, _late, _early in session_verdicts(row))))
    person = scope.staff.iloc[0]
    totals = _totals(totals)[staff_id]
    return PersonMonth(staff_code, str(person["name"]), str(person["unit_code"]), str(person["unit_name"]),
                       f"{first:%Y-%m}", out, totals)


@dataclass(frozen=True)
class MonthCounts:
    """A unit's month added up over its people (and those of the units under it)."""

    unit_code: str
    month: str
    days: tuple[dt.date, ...]
    day_counts: tuple[dict[str, int], ...]  # per day: how many people have each code
    totals: dict[str, int]  # rules.md §7 fields summed over the people


def unit_month_counts(session: Session, unit_code: str, month: str) -> MonthCounts:
    """Per day how many people of a unit have each day code, and the month's totals over them.

    What a unit's dashboard shows, added up by the database from the stored verdicts (refreshed
    first where stale) instead of building the people × days grid. UnknownUnit for an unknown code.
    """
    first, last = parse_month(month)
    scope = select_staff(session, first, last, unit_code=unit_code)
    per_day, totals = counted_verdicts(session, [int(s.id) for s in scope.staff_rows], first, last)
    dates = tuple(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    counts = tuple(dict(sorted(per_day.get(d, {}).items())) for d in dates)
    return MonthCounts(unit_code, f"{first:%Y-%m}", dates, counts, totals)


def unit_month_grid(session: Session, unit_code: str, month: str) -> MonthGrid:
    """People × days of a unit and the units under it for a month ('YYYY-MM'), in name order.

    Each cell is a day code; each row carries the person's summary totals (rules.md §7) and
    ``day_counts`` how many people have each code on each day. Read from the stored verdicts,
    refreshed first where stale. UnknownUnit for an unknown code.
    """
    first, last = parse_month(month)
    scope = select_staff(session, first, last, unit_code=unit_code)
    ids = np.array([s.id for s in scope.staff_rows], dtype=np.int64)
    stored, totals_table = current_verdicts(session, ids.tolist(), first, last, columns=["code"])
    dates = tuple(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    # Cells as positions in DAY_CODES, people in scope order: "outside" where nothing is stored.
    cells = np.full((len(ids), len(dates)), _OUTSIDE, dtype=np.int8)
    if len(stored) and len(ids):
        by_id = np.argsort(ids)
        rows = by_id[np.searchsorted(ids[by_id], stored["staff_id"].to_numpy(np.int64))]
        columns = np.array([(d - first).days for d in stored["day"].tolist()], dtype=np.int64)
        position = {c: i for i, c in enumerate(DAY_CODES)}
        cells[rows, columns] = np.array([position[c] for c in stored["code"].tolist()], dtype=np.int8)
    totals = _totals(totals_table)
    ctx = scope.staff
    people = {int(i): (str(n), str(u), str(un)) for i, n, u, un in zip(
        ctx["staff_id"].tolist(), ctx["name"].tolist(), ctx["unit_code"].tolist(),
        ctx["unit_name"].tolist(), strict=True)}
    grid_rows = [GridRow(s.code, *people[s.id], tuple(_CODE_OF[cells[i]].tolist()), totals[s.id])
                 for i, s in enumerate(scope.staff_rows)]
    grid_rows.sort(key=lambda r: (name_sort_key(r.name), r.staff_code))
    # How many people have each code on each day: one bincount over (day, code) pairs.
    per_day = np.bincount((np.arange(len(dates)) * len(DAY_CODES) + cells).ravel(),
                          minlength=len(dates) * len(DAY_CODES)).reshape(len(dates), len(DAY_CODES))
    named = sorted(range(len(DAY_CODES)), key=lambda c: DAY_CODES[c])
    counts = tuple({DAY_CODES[c]: int(day[c]) for c in named if day[c]} for day in per_day.tolist())
    return MonthGrid(unit_code, f"{first:%Y-%m}", dates, grid_rows, counts)
