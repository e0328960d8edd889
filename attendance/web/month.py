"""Pages of a unit and a person: the unit dashboard, the unit's month grid, a person's month and day.

Views only parse the request, check the scope (outside it: 404) and hand the use cases'
plain data to the templates; each page evaluates what it shows once for the whole unit.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Response, current_app, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from .. import api
from .. import models as m
from ..accounts import require_staff, require_unit
from ..dashboard import (
    child_units,
    day_bars,
    latest_punch_day,
    month_counts,
    presence_on_days,
    terminals_needing_attention,
)
from ..engine import EXCUSE_KINDS, SUMMARY_FIELDS
from ..engine.explain import POLICY_TEXT, verdict_labels
from ..errors import InvalidInput, UnknownUnit
from ..health import PROBLEM_TEXT
from ..i18n import _, current_language
from ..month_views import DAY_CODE_TEXT, DAY_CODES, MonthGrid
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
#: The codes the legend explains ("outside" cells are empty).
LEGEND = [c for c in DAY_CODES if c != "outside"]
#: Totals shown in red when not zero.
BAD_TOTALS = ("late_count", "early_count", "missing_punch_count", "absent_sessions", "absent_days")
#: The characters a path segment keeps unquoted, as url_for writes it (werkzeug's converters).
PATH_SAFE = "!$&'()*+,/:;=@"


def _weekdays() -> tuple[str, ...]:
    """Short weekday names, Monday first, in the reader's language."""
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def _index() -> int:
    return 1 if current_language() == "en" else 0


def _excuse_kinds() -> dict[str, str]:
    """Excuse kinds by code, in the reader's language."""
    index = _index()
    return {k: v[index] for k, v in EXCUSE_KINDS.items()}


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


def _unit_page(code: str, month_asked: Callable[[], str], grid: bool = True) -> dict[str, Any]:
    """What both unit pages show: the unit (outside the scope: 404, before the month is read), the
    month's navigation, its grid (the month page) or its counts (the dashboard), the no-punch
    warning and the totals' headings."""
    unit = _unit(code)
    month = month_asked()
    session = get_session()
    page = {"unit": unit, "nav": _month_nav(month),
            "warning": no_punches_warning(session, month, code), "headings": summary_headings(current_language())}
    if grid:
        page["grid"] = api.unit_month_grid(session, code, month)
    else:  # a province's dashboard adds up its people in the database, not in a grid of them all
        page["counts"] = api.unit_month_counts(session, code, month)
    session.commit()  # the verdicts refreshed for the month are kept for the next reader
    return page


@bp.route("/units/<code>")
def unit_dashboard(code: str) -> str:
    """Đơn vị: who is in today, the month's counts and day bars, terminals needing attention."""
    page = _unit_page(code, _this_month, grid=False)
    session = get_session()
    today = dt.date.today()
    latest = latest_punch_day(session, code)
    shown = [today] if latest is None or latest == today else [today, latest]
    presence = presence_on_days(session, code, shown)  # read from stored verdicts, refreshed where stale
    session.commit()  # kept for the next reader
    month = page.pop("counts")
    return render_template(
        "unit_dashboard.html", **page, bars=day_bars(month), counts=month_counts(month),
        today=presence[today], latest=presence[shown[-1]] if len(shown) > 1 else None,
        terminals=terminals_needing_attention(session, code), problems=PROBLEM_TEXT, language=_index(),
        children=child_units(session, code),
    )


@bp.route("/units/<code>/month")
def unit_month(code: str) -> str:
    """Tháng của đơn vị: people x days, a coloured letter per day, the summary's totals per person."""
    page = _unit_page(code, _month)
    grid: MonthGrid = page["grid"]
    letters, words = _day_words()
    off_days = _off_days(grid.day_counts)
    return render_template(
        "unit_month.html", **page, letters=letters, words=words, fields=SUMMARY_FIELDS, off_codes=OFF_CODES,
        legend=LEGEND, weekdays=[_weekdays()[d.weekday()] for d in grid.days], off_days=off_days,
        lines=_grid_lines(grid, letters, words, off_days),
    )


# The former summary address shows the same page, under its old endpoint name too.
bp.add_url_rule("/units/<code>/summary", endpoint="unit_summary", view_func=unit_month)


def _off_days(day_counts: tuple[dict[str, int], ...]) -> list[bool]:
    """Columns where nobody has a working day but someone has a day off (weekends, holidays)."""
    working = {c for c in DAY_CODES if c not in OFF_CODES and c not in ("no_schedule", "outside")}
    return [not any(n for c, n in counts.items() if c in working) and any(counts.get(c) for c in OFF_CODES)
            for counts in day_counts]


def _grid_lines(grid: MonthGrid, letters: dict[str, str], words: dict[str, str], off_days: list[bool]) -> list[Markup]:
    """Each grid row's person, day cells and totals as one escaped HTML string, in the rows' order.

    A month of 100 people is some 4,000 cells: built here from per-page pieces (two url_for
    calls, each (day, code) cell head once) they cost a few milliseconds where a template loop
    took a hundred. The HTML is what the template wrote before, cell for cell.
    """
    titles = [current_app.jinja_env.filters["vn_date"](d) for d in grid.days]
    isos = [d.isoformat() for d in grid.days]
    # Links as url_for writes them: the staff code quoted as werkzeug quotes a path segment.
    person_url = url_for("attendance.staff_month", code="__S__", month=grid.month)
    day_url = url_for("attendance.staff_day", code="__S__", day="__D__")
    heads: dict[tuple[int, str], str] = {}
    shown = {code: str(escape(letter)) for code, letter in letters.items()}
    lines = []
    for row in grid.rows:
        staff = quote(row.staff_code, safe=PATH_SAFE)
        parts = [f'<th class="person"><a href="{escape(person_url.replace("__S__", staff))}">{escape(row.name)}</a>'
                 f'<br><small class="muted">{escape(row.staff_code)} · {escape(row.unit_code)}</small></th>\n    ']
        before, after = (str(escape(part)) for part in day_url.replace("__S__", staff).split("__D__", 1))
        for i, code in enumerate(row.cells):
            head = heads.get((i, code))
            if head is None:
                off = " off" if off_days[i] else ""
                head = heads[(i, code)] = f'\n    <td class="cell day-{code}{off}" title="{escape(titles[i])}: {escape(words[code])}">'
            if code == "outside":
                parts.append(f"{head}</td>")
            else:
                parts.append(f'{head}<a href="{before}{isos[i]}{after}">{shown[code]}</a></td>')
        parts.append("\n    ")
        for field in SUMMARY_FIELDS:
            value = row.totals[field]
            bad = " bad" if value and field in BAD_TOTALS else ""
            parts.append(f'<td class="num total{bad}" data-field="{field}">{value}</td>')
        lines.append(Markup("".join(parts)))
    return lines


def _download(code: str, suffix: str) -> tuple[str, pd.DataFrame, str]:
    """The month asked for, its summary table and the file name of the download."""
    _unit(code)
    month = _month()
    session = get_session()
    table = monthly_summary(session, month, code)
    session.commit()  # the verdicts refreshed for the summary are kept for the next reader
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
    session.commit()  # the verdicts refreshed for the month are kept for the next reader
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
        excuses=api.excuse_records(session, code, first, last), kinds=_excuse_kinds(),
        language=index, off_codes=OFF_CODES, legend=LEGEND,
    )


@bp.route("/staff/<code>/days/<day>")
def staff_day(code: str, day: str) -> str:
    """Một ngày của một người: every verdict with its explanation, and the raw punches around the day."""
    _staff(code)
    try:  # the pattern first: fromisoformat also takes '20261005' and other ISO spellings
        date = dt.date.fromisoformat(day) if DATE.fullmatch(day) else None
    except ValueError:
        date = None  # 2026-02-30
    if date is None:
        raise InvalidInput(_("date: expected YYYY-MM-DD, got {text!r}", text=day[:20]))
    session = get_session()
    data = api.explain_day(session, code, date)
    index = _index()
    lang = ("vi", "en")[index]
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
        used=used, kinds=_excuse_kinds(), month=f"{date:%Y-%m}",
        prev=date - dt.timedelta(days=1), next=date + dt.timedelta(days=1),
        panels=day_panels(code, date),
    )
