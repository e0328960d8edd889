"""Pages of a unit and a person: the unit dashboard, the unit's month grid, a person's month and day.

Views only parse the request, check the scope (outside it: 404) and hand the use cases'
plain data to the templates; each page evaluates what it shows once for the whole unit.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import TYPE_CHECKING

from flask import Response, render_template, request
from sqlalchemy import select

from .. import api
from .. import models as m
from ..accounts import require_staff, require_unit
from ..dashboard import (
    child_units,
    day_bars,
    latest_punch_day,
    month_counts,
    presence_on,
    terminals_needing_attention,
)
from ..engine import EXCUSE_KINDS, SUMMARY_FIELDS
from ..engine.explain import POLICY_TEXT, verdict_labels
from ..errors import InvalidInput, UnknownUnit
from ..health import PROBLEM_TEXT
from ..i18n import _, current_language
from ..month_views import DAY_CODE_TEXT, DAY_CODES
from ..services import (
    monthly_summary,
    no_punches_warning,
    parse_month,
    summary_csv,
    summary_headings,
    summary_xlsx,
)
from .auth import current_account
from .pages import _month, bp
from .panels import day_panels
from .session import get_session

if TYPE_CHECKING:
    import pandas as pd

#: One letter per day code (vi, en), so that a cell reads without its colour.
DAY_LETTERS = {
    "absent": ("V", "A"), "absent_session": ("V½", "A½"), "missing": ("T", "P"), "late": ("M", "L"),
    "early": ("S", "E"), "excused": ("P", "X"), "ok": ("✓", "✓"), "weekend": ("–", "–"), "holiday": ("L", "H"),
    "day_off": ("N", "O"), "no_schedule": ("·", "·"), "outside": ("", ""),
}
#: Days off: their columns are shaded in the grid and the calendar.
OFF_CODES = ("weekend", "holiday", "day_off")
AROUND = dt.timedelta(hours=36)  # raw punches from the day before to the day after
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _weekdays() -> tuple[str, ...]:
    """Short weekday names, Monday first, in the reader's language."""
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def _index() -> int:
    return 1 if current_language() == "en" else 0


def _day_words() -> tuple[dict[str, str], dict[str, str]]:
    """Letters and words of the day codes in the reader's language."""
    index = _index()
    return ({c: DAY_LETTERS[c][index] for c in DAY_CODES}, {c: DAY_CODE_TEXT[c][index] for c in DAY_CODES})


def _unit(code: str) -> m.Unit:
    session = get_session()
    require_unit(session, current_account(), code)  # outside the scope: 404, like a unit that does not exist
    unit = session.scalar(select(m.Unit).where(m.Unit.code == code))
    if unit is None:  # pragma: no cover - require_unit answered already
        raise UnknownUnit(_("no unit {code!r}", code=code[:40]))
    return unit


def _month_nav(month: str) -> dict[str, str]:
    """This month, the one before and the one after ('YYYY-MM'), and its label mm/yyyy."""
    first, last = parse_month(month)
    before, after = first - dt.timedelta(days=1), last + dt.timedelta(days=1)
    return {"month": f"{first:%Y-%m}", "label": f"{first:%m/%Y}", "prev": f"{before:%Y-%m}", "next": f"{after:%Y-%m}"}


def _this_month() -> str:
    """The month asked for (?month=YYYY-MM), else the server's current month."""
    month = request.args.get("month") or f"{dt.date.today():%Y-%m}"
    parse_month(month)  # malformed or implausible: InvalidInput, 400
    return month


@bp.route("/units/<code>")
def unit_dashboard(code: str) -> str:
    """Đơn vị: who is in today, the month's counts and day bars, terminals needing attention."""
    unit = _unit(code)
    session = get_session()
    month = _this_month()
    grid = api.unit_month_grid(session, code, month)
    today = dt.date.today()
    latest = latest_punch_day(session, code)
    return render_template(
        "unit_dashboard.html", unit=unit, nav=_month_nav(month), grid=grid, bars=day_bars(grid),
        counts=month_counts(grid), warning=no_punches_warning(session, month, code),
        today=presence_on(session, code, today),
        latest=presence_on(session, code, latest) if latest is not None and latest != today else None,
        terminals=terminals_needing_attention(session, code), problems=PROBLEM_TEXT, language=_index(),
        children=child_units(session, code), headings=summary_headings(current_language()),
    )


@bp.route("/units/<code>/month")
def unit_month(code: str) -> str:
    """Tháng của đơn vị: people x days, a coloured letter per day, the summary's totals per person."""
    unit = _unit(code)
    session = get_session()
    month = _month()
    grid = api.unit_month_grid(session, code, month)
    letters, words = _day_words()
    return render_template(
        "unit_month.html", unit=unit, nav=_month_nav(month), grid=grid, letters=letters, words=words,
        fields=SUMMARY_FIELDS, headings=summary_headings(current_language()), off_codes=OFF_CODES,
        warning=no_punches_warning(session, month, code), legend=[c for c in DAY_CODES if c != "outside"],
        weekdays=[_weekdays()[d.weekday()] for d in grid.days],
        off_days=_off_days(grid.day_counts),
    )


# The former summary address shows the same page, under its old endpoint name too.
bp.add_url_rule("/units/<code>/summary", endpoint="unit_summary", view_func=unit_month)


def _off_days(day_counts: tuple[dict[str, int], ...]) -> list[bool]:
    """Columns where nobody has a working day but someone has a day off (weekends, holidays)."""
    working = {c for c in DAY_CODES if c not in OFF_CODES and c not in ("no_schedule", "outside")}
    return [not any(n for c, n in counts.items() if c in working) and any(counts.get(c) for c in OFF_CODES)
            for counts in day_counts]


def _download(code: str, suffix: str) -> tuple[str, pd.DataFrame, str]:
    """The month asked for, its summary table and the file name of the download."""
    _unit(code)
    month = _month()
    table = monthly_summary(get_session(), month, code)
    # Unit codes come from set-up files: only safe characters go into the header's file name.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", code)[:60]
    return month, table, f"tong-hop-{safe}-{month}.{suffix}"


@bp.route("/units/<code>/month.csv")
def unit_month_csv(code: str) -> Response:
    """The month's summary as CSV for people (byte-order mark, headings in the reader's language)."""
    _chosen, table, name = _download(code, "csv")
    text = summary_csv(table, summary_headings(current_language()))
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/units/<code>/month.xlsx")
def unit_month_xlsx(code: str) -> Response:
    """The month's summary as an Excel sheet (the same as ``attendance summary --format xlsx``)."""
    month, table, name = _download(code, "xlsx")
    buffer = io.BytesIO()
    summary_xlsx(table, month, buffer)
    return Response(buffer.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _staff(code: str) -> None:
    require_staff(get_session(), current_account(), code)  # outside the scope: 404


@bp.route("/staff/<code>")
def staff_month(code: str) -> str:
    """Tháng của một người: a calendar (weeks x weekdays) with each day's verdict, excuses and totals."""
    _staff(code)
    session = get_session()
    month = _month()
    data = api.person_month(session, code, month)
    first, last = parse_month(month)
    letters, words = _day_words()
    lead = [None] * first.weekday()  # the calendar starts on Monday
    cells = lead + list(data.days)
    cells += [None] * (-len(cells) % 7)
    weeks = [cells[i:i + 7] for i in range(0, len(cells), 7)]
    index = _index()
    return render_template(
        "staff_month.html", person=data, nav=_month_nav(month), weeks=weeks, letters=letters, words=words,
        weekdays=_weekdays(), fields=SUMMARY_FIELDS, headings=summary_headings(current_language()),
        excuses=api.excuse_records(session, code, first, last), kinds={k: v[index] for k, v in EXCUSE_KINDS.items()},
        language=index, off_codes=OFF_CODES, legend=[c for c in DAY_CODES if c != "outside"],
    )


@bp.route("/staff/<code>/days/<day>")
def staff_day(code: str, day: str) -> str:
    """Một ngày của một người: every verdict with its explanation, and the raw punches around the day."""
    _staff(code)
    if not DATE.fullmatch(day):
        raise InvalidInput(_("date: expected YYYY-MM-DD, got {text!r}", text=day[:20]))
    try:
        date = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidInput(_("date: expected YYYY-MM-DD, got {text!r}", text=day[:20])) from exc
    session = get_session()
    data = api.explain_day(session, code, date)
    lang = "en" if _index() else "vi"
    index = _index()
    records = {r.id: r for r in api.excuse_records(session, code, date, date)}
    for item in data.get("sessions", []):
        item["labels"] = verdict_labels(item["verdicts"], lang)
        item["excuses"] = [records[i] for i in item["excuse_ids"] if i in records]
    schedule = data.get("schedule")
    policy = POLICY_TEXT.get(schedule["punch_policy"], ("", ""))[index] if schedule else ""
    noon = dt.datetime.combine(date, dt.time(12))
    around = api.punches_around(session, code, noon, AROUND, AROUND)
    # The explanation names punches by terminal, user id and terminal time: so do the raw rows.
    used = {(p["device"], p["user_id"], p["device_time"]): p for p in data.get("punches", []) if "device" in p}
    staff = session.scalar(select(m.Staff).where(m.Staff.code == code))
    return render_template(
        "staff_day.html", data=data, staff=staff, date=date, lang=lang, policy=policy, around=around,
        used=used, kinds={k: v[index] for k, v in EXCUSE_KINDS.items()}, month=f"{date:%Y-%m}",
        prev=date - dt.timedelta(days=1), next=date + dt.timedelta(days=1),
        panels=day_panels(code, date),
    )
