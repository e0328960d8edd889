"""A month at a glance: one person's calendar and a unit's people × days grid, from one evaluation.

Each view evaluates the month once with the rules engine (as the monthly summary does) and
reads every day's verdict from the engine's per-day and per-session tables; the totals are
the summary's own (rules.md §7). Every day gets one code, the most serious thing that day:

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

from .engine import EXCUSE_KINDS, SUMMARY_FIELDS, evaluate, summarize
from .engine.explain import DAY_TEXT, verdict_labels
from .loader import load_input
from .names import name_sort_key
from .services import parse_month

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


def _day_codes(ev: Any) -> pd.DataFrame:
    """staff_id, day, date, working, has_punch and the day's code, from the engine's tables."""
    days: pd.DataFrame = ev.days
    sessions: pd.DataFrame = ev.sessions
    flags = ["any_absent", "any_missing", "any_late", "any_early", "all_excused"]
    if len(sessions):
        per_day = (sessions.assign(missing=sessions["missing_in"] | sessions["missing_out"])
                   .groupby(["staff_id", "day"], sort=False)
                   .agg(any_absent=("absent", "any"), any_missing=("missing", "any"), any_late=("late", "any"),
                        any_early=("early", "any"), all_excused=("excused", "all")).reset_index())
        table = days.merge(per_day, on=["staff_id", "day"], how="left")
    else:
        table = days.assign(**{f: np.nan for f in flags})
    for flag in flags:
        table[flag] = table[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
    working = table["working"].to_numpy(dtype=bool)
    source = table["day_source"].astype(str).to_numpy()
    off = ~working
    table["code"] = np.select(
        [off & (source == "no_schedule"), off & (source == "holiday"), off & (source == "weekend"), off,
         table["absent_day"].to_numpy(dtype=bool), table["any_absent"], table["any_missing"], table["any_late"],
         table["any_early"], table["all_excused"]],
        ["no_schedule", "holiday", "weekend", "day_off", "absent", "absent_session", "missing", "late", "early",
         "excused"],
        default="ok",
    )
    return table


def _session_verdicts(s: Any) -> tuple[str, ...]:
    """A session's verdict codes, in the order and words of ``engine.explain``."""
    found = [name for name in ("excused", "absent", "late", "early", "missing_in", "missing_out") if bool(s[name])]
    return tuple(found) or ("ok",)


def _reason(code: str, day: Any, sessions: list[Any], kinds: dict[int, str]) -> tuple[str, str]:
    """The short reason of one day (vi, en): the code's words and what made it so."""
    vi, en = DAY_CODE_TEXT[code]
    if code in ("holiday", "day_off", "weekend") and day["day_reference"]:
        return f"{vi}: {day['day_reference']}", f"{en}: {day['day_reference']}"
    if not day["working"]:
        return vi, en
    parts_vi: list[str] = []
    parts_en: list[str] = []
    for s in sessions:
        verdicts = [v for v in _session_verdicts(s) if v not in ("ok", "excused")]
        details_vi, details_en = verdict_labels(verdicts, "vi"), verdict_labels(verdicts, "en")
        for i, verdict in enumerate(verdicts):
            minutes = int(s["late_minutes"]) if verdict == "late" else int(s["early_minutes"]) if verdict == "early" else 0
            if minutes:
                details_vi[i] += f" {minutes} phút"
                details_en[i] += f" {minutes} min"
        if details_vi and code != "absent":
            parts_vi.append(f"ca {int(s['session_no'])} {', '.join(details_vi)}")
            parts_en.append(f"session {int(s['session_no'])} {', '.join(details_en)}")
    excuses = sorted({kinds[i] for s in sessions for i in s["excuse_ids"] if i in kinds})
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

    UnknownStaff for an unknown code; InvalidInput for a malformed or implausible month.
    """
    first, last = parse_month(month)
    inp, ctx = load_input(session, first, last, staff_code=staff_code)
    ev = evaluate(inp, first, last)  # with detail: the sessions name the excuses that covered them
    staff_id = inp.staff[0].id
    coded = _day_codes(ev).set_index("day")
    sessions = ev.sessions.sort_values(["day", "session_no"])
    by_day: dict[int, list[Any]] = {}
    for _, s in sessions.iterrows():
        by_day.setdefault(int(s["day"]), []).append(s)
    kinds = {e.id: e.kind for e in inp.excuses if e.id is not None}
    out: list[DayVerdict] = []
    day = first
    epoch = dt.date(1970, 1, 1)
    while day <= last:
        number = (day - epoch).days
        if number in coded.index:
            row = coded.loc[number]
            mine = by_day.get(number, [])
            vi, en = _reason(str(row["code"]), row, mine, kinds)
            out.append(DayVerdict(day, str(row["code"]), bool(row["working"]), bool(row["has_punch"]), vi, en,
                                  tuple((int(s["session_no"]), _session_verdicts(s)) for s in mine)))
        else:
            vi, en = DAY_CODE_TEXT["outside"]
            out.append(DayVerdict(day, "outside", False, False, vi, en, ()))
        day += dt.timedelta(days=1)
    person = ctx.staff.iloc[0]
    totals = _totals(summarize(ev, inp))[staff_id]
    return PersonMonth(staff_code, str(person["name"]), str(person["unit_code"]), str(person["unit_name"]),
                       f"{first:%Y-%m}", out, totals)


def unit_month_grid(session: Session, unit_code: str, month: str) -> MonthGrid:
    """People × days of a unit and the units under it for a month ('YYYY-MM'), in name order.

    Each cell is a day code; each row carries the person's summary totals (rules.md §7) and
    ``day_counts`` how many people have each code on each day. UnknownUnit for an unknown code.
    """
    first, last = parse_month(month)
    inp, ctx = load_input(session, first, last, unit_code=unit_code)
    ev = evaluate(inp, first, last, detail=False)  # codes need no per-punch roles
    coded = _day_codes(ev)
    dates = tuple(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    offset = (first - dt.date(1970, 1, 1)).days
    cells = np.full((len(inp.staff), len(dates)), "outside", dtype=object)
    position = {s.id: i for i, s in enumerate(inp.staff)}
    if len(coded):
        rows = np.array([position[i] for i in coded["staff_id"].tolist()], dtype=np.int64)
        cells[rows, coded["day"].to_numpy(dtype=np.int64) - offset] = coded["code"].to_numpy()
    totals = _totals(summarize(ev, inp))
    people = ctx.staff.set_index("staff_id")
    grid_rows = [
        GridRow(s.code, str(people.at[s.id, "name"]), str(people.at[s.id, "unit_code"]),
                str(people.at[s.id, "unit_name"]), tuple(cells[position[s.id]].tolist()), totals[s.id])
        for s in inp.staff
    ]
    grid_rows.sort(key=lambda r: (name_sort_key(r.name), r.staff_code))
    counts = tuple(
        {str(code): int(n) for code, n in zip(*np.unique(cells[:, col].astype(str), return_counts=True), strict=True)}
        for col in range(len(dates))
    ) if len(inp.staff) else tuple({} for _ in dates)
    return MonthGrid(unit_code, f"{first:%Y-%m}", dates, grid_rows, counts)
