"""Use cases shared by the CLI and the web app: monthly summary, day explanation, exports."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from typing import IO, Any

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from . import models as m
from .batches import live_punch
from .engine import SUMMARY_FIELDS, evaluate
from .engine.explain import explain_day
from .errors import InvalidInput
from .i18n import _
from .loader import check_period, device_time_bounds, load_input, select_staff, subtree
from .verdicts import current_verdicts

SUMMARY_HEADINGS_VI = {
    "staff_code": "Mã CB",
    "name": "Họ và tên",
    "unit_code": "Mã đơn vị",
    "unit_name": "Đơn vị",
    "working_days": "Ngày làm việc",
    "working_sessions": "Số buổi làm việc",
    "excused_sessions": "Buổi có lý do",
    "late_count": "Số lần đi muộn",
    "late_minutes": "Phút đi muộn",
    "early_count": "Số lần về sớm",
    "early_minutes": "Phút về sớm",
    "missing_punch_count": "Buổi thiếu chấm công",
    "absent_sessions": "Buổi vắng không lý do",
    "absent_days": "Ngày vắng không lý do",
    "offday_punch_days": "Ngày chấm công ngày nghỉ",
}

SUMMARY_HEADINGS_EN = {
    "staff_code": "Staff code",
    "name": "Full name",
    "unit_code": "Unit code",
    "unit_name": "Unit",
    "working_days": "Working days",
    "working_sessions": "Working sessions",
    "excused_sessions": "Excused sessions",
    "late_count": "Times late",
    "late_minutes": "Minutes late",
    "early_count": "Times left early",
    "early_minutes": "Minutes early",
    "missing_punch_count": "Sessions with a missing punch",
    "absent_sessions": "Sessions absent without excuse",
    "absent_days": "Days absent without excuse",
    "offday_punch_days": "Days punched on a day off",
}
PUNCH_HEADINGS = {
    "vi": {"user_id": "Mã chấm công", "device_time": "Giờ trên máy", "corrected_time": "Giờ đã hiệu chỉnh",
           "status": "Trạng thái", "verify": "Kiểu xác thực", "work_code": "Mã công việc", "batch": "Lô nhập",
           "line": "Dòng"},
    "en": {"user_id": "User id", "device_time": "Terminal time", "corrected_time": "Corrected time",
           "status": "Status", "verify": "Verify mode", "work_code": "Work code", "batch": "Batch", "line": "Line"},
}


def summary_headings(language: str) -> dict[str, str]:
    """Column headings of the monthly summary for people, in ``language`` ('vi' or 'en')."""
    return SUMMARY_HEADINGS_EN if language == "en" else SUMMARY_HEADINGS_VI


def table_csv(columns: list[str], rows: Iterable[Iterable[Any]], headings: dict[str, str] | None = None) -> str:
    """CSV text; with ``headings`` it is for people: a UTF-8 byte-order mark so that Excel reads
    Vietnamese correctly, and headings instead of field codes. Without, plain codes for scripts."""
    buffer = io.StringIO()
    if headings is not None:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([headings.get(c, c) for c in columns] if headings is not None else columns)
    writer.writerows(rows)
    return buffer.getvalue()


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """'2026-10' to the first and last day of that month."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(_("--month: expected YYYY-MM, got {text!r}", text=text))
    year, month = int(match.group(1)), int(match.group(2))
    first, last = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    check_period(first, last)  # 0001-01 or 9999-12 would overflow the neighbouring days' arithmetic
    return first, last


def monthly_summary(session: Session, month: str, unit_code: str | None = None) -> pd.DataFrame:
    """rules.md §7 for every staff member of the unit (or everyone), one row each."""
    first, last = parse_month(month)
    return _stored_summary(session, first, last, unit_code)


def period_summary(session: Session, first: dt.date, last: dt.date, unit_code: str | None = None) -> pd.DataFrame:
    """rules.md §7 over any run of days (a 15th-14th report window), same columns as monthly_summary."""
    if last < first:
        raise InvalidInput(_("period: last day {last} is before first day {first}", last=last, first=first))
    check_period(first, last)
    return _stored_summary(session, first, last, unit_code)


def _stored_summary(session: Session, first: dt.date, last: dt.date, unit_code: str | None) -> pd.DataFrame:
    """The summary added up from the stored day verdicts, refreshed first where stale."""
    scope = select_staff(session, first, last, unit_code=unit_code)
    ids = [int(s.id) for s in scope.staff_rows]
    _none, table = current_verdicts(session, ids, first, last, rows=False)
    table = table.merge(scope.staff[["staff_id", "staff_code", "name", "unit_code", "unit_name"]], on="staff_id",
                        how="left")
    table = table.sort_values("staff_code").reset_index(drop=True)
    return table[["staff_code", "name", "unit_code", "unit_name", *SUMMARY_FIELDS]]


def month_has_punches(session: Session, month: str, unit_code: str | None = None) -> bool:
    """Whether anyone of the unit (or of every unit) has a counting punch in the month.

    A month without a single punch would otherwise read as everyone absent every day;
    callers warn instead. Voided batches do not count, as in the summary itself.
    """
    first, last = parse_month(month)
    low = dt.datetime.combine(first, dt.time())
    high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    dev_low, dev_high = device_time_bounds(session, low, high)
    query = (
        select(m.Punch.id)
        .join(m.Enrollment, and_(m.Enrollment.device_id == m.Punch.device_id, m.Enrollment.user_id == m.Punch.user_id))
        .where(m.Punch.device_time >= dev_low, m.Punch.device_time < dev_high,
               m.Punch.corrected_time >= low, m.Punch.corrected_time < high, live_punch(session))
    )
    if unit_code is not None:
        unit_ids = select(m.Unit.id).where(m.Unit.code.in_(subtree(session, unit_code)))
        members = select(m.StaffAssignment.staff_id).where(
            m.StaffAssignment.unit_id.in_(unit_ids),
            m.StaffAssignment.valid_from.is_(None) | (m.StaffAssignment.valid_from <= last),
            m.StaffAssignment.valid_to.is_(None) | (m.StaffAssignment.valid_to >= first),
        )
        query = query.where(m.Enrollment.staff_id.in_(members))
    return session.scalar(query.limit(1)) is not None


def no_punches_warning(session: Session, month: str, unit_code: str | None = None) -> str | None:
    """The warning line for a summary that rests on no punch at all, or None."""
    if month_has_punches(session, month, unit_code):
        return None
    first, _last = parse_month(month)
    if unit_code is None:
        return _("No punches at all in {month} in any unit: everyone shows as absent "
                 "(terminal data not imported yet?)", month=f"{first:%m/%Y}")
    unit = session.scalar(select(m.Unit).where(m.Unit.code == unit_code))
    return _("No punches at all in {month} in {unit}: everyone shows as absent "
             "(terminal data not imported yet?)", month=f"{first:%m/%Y}",
             unit=f"{unit.name} ({unit_code})" if unit is not None else unit_code)


def summary_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-ready dicts (ints stay ints)."""
    return [
        {k: (int(v) if k in SUMMARY_FIELDS else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def summary_csv(table: pd.DataFrame, headings: dict[str, str] | None = None) -> str:
    """The summary as CSV: for people with ``headings`` (see table_csv), else with field codes."""
    return table_csv(list(table.columns), table.itertuples(index=False, name=None), headings)


def summary_xlsx(table: pd.DataFrame, month: str, path: str | IO[bytes]) -> None:
    """An Excel sheet with Vietnamese headings and a frozen header row (to a path or a binary file)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    first, last = parse_month(month)
    book = Workbook()
    sheet = book.active
    sheet.title = f"Tổng hợp {first:%m-%Y}"
    sheet.append([f"TỔNG HỢP CHẤM CÔNG THÁNG {first:%m/%Y} (từ {first:%d/%m/%Y} đến {last:%d/%m/%Y})"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([SUMMARY_HEADINGS_VI.get(c, c) for c in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in table.itertuples(index=False, name=None):
        sheet.append([int(v) if isinstance(v, (int,)) or hasattr(v, "item") else v for v in row])
    sheet.freeze_panes = "C3"
    for column, width in zip("ABCDEFGHIJKLMNO", (10, 26, 10, 24) + (12,) * 11, strict=False):
        sheet.column_dimensions[column].width = width
    book.save(path)


def explain(session: Session, staff_code: str, day: dt.date) -> dict[str, Any]:
    """The verdicts of one person's day with their reasons."""
    check_period(day, day)  # before the arithmetic below, which overflows at the ends of the calendar
    # Neighbouring days are evaluated too: windows and double taps may cross midnight.
    first, last = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    inp, _ctx = load_input(session, first, last, staff_code=staff_code)  # unknown code: UnknownCode
    ev = evaluate(inp, first, last)
    ids = [int(i) for i in inp.punches["punch_id"].tolist()]  # type: ignore[attr-defined]
    details: dict[int, dict[str, Any]] = {}
    if ids:
        rows = session.execute(
            select(m.Punch.id, m.Device.code, m.Punch.user_id, m.Punch.device_time, m.Punch.batch_id)
            .join(m.Device, m.Device.id == m.Punch.device_id)
            .where(m.Punch.id.in_(ids))
        ).all()
        details = {
            r[0]: {"device": r[1], "user_id": r[2], "device_time": r[3].isoformat(sep=" ", timespec="seconds"), "batch": r[4]}
            for r in rows
        }
    return explain_day(ev, inp, inp.staff[0].id, day, details)


def explain_text(data: dict[str, Any], language: str = "vi") -> str:
    """A readable rendering of ``explain`` for the terminal: words and dd/mm/yyyy, no codes."""
    from .engine.explain import POLICY_TEXT, verdict_labels

    en = language == "en"
    lang = "en" if en else "vi"

    def day_text(iso: str) -> str:
        return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}{iso[10:]}"

    lines = [f"{data['staff_code']}  {day_text(data['date'])}"]
    if "calendar" in data:
        lines.append(f"  {data['calendar'][lang]}")
    if data.get("schedule"):
        s = data["schedule"]
        policy = POLICY_TEXT.get(s["punch_policy"], (s["punch_policy"],) * 2)[1 if en else 0]
        sessions = ", ".join(f"{a}–{b}" for a, b in s["sessions"])
        label = "Schedule" if en else "Lịch làm việc"
        lines.append(f"  {label} {s['code']}: {sessions} ({policy})")
    def last_minute(until_before: str) -> str:
        # Windows are half-open on whole minutes: "until before 12:30" reads better as "to 12:29".
        if len(until_before) != 5:
            return until_before
        minutes = int(until_before[:2]) * 60 + int(until_before[3:]) - 1
        return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"

    for session in data.get("sessions", []):
        window = session["window"]
        verdicts = ", ".join(verdict_labels(session["verdicts"], lang))
        if en:
            head = (f"  Session {session['session_no']} ({session['start']}–{session['end']}), punches counted "
                    f"from {window['from']} to {last_minute(window['until_before'])}: {verdicts}")
        else:
            head = (f"  Ca {session['session_no']} ({session['start']}–{session['end']}), nhận lượt chấm "
                    f"từ {window['from']} đến {last_minute(window['until_before'])}: {verdicts}")
        lines.append(head)
        lines.extend(f"    - {t}" for t in session[lang])
    if data.get("punches"):
        lines.append("  " + ("Punches:" if en else "Các lần chấm công:"))
        for p in data["punches"]:
            counted = f"counted as {p['minute']}" if en else f"tính {p['minute']}"
            where = ""
            if "device" in p:
                where = (f", terminal {p['device']}, user id {p['user_id']}" if en
                         else f", máy {p['device']}, mã chấm công {p['user_id']}")
                if p.get("device_time") and p["device_time"] != p["corrected_time"]:
                    clock = day_text(p["device_time"])
                    where += f" (terminal clock {clock})" if en else f" (giờ trên máy {clock})"
            lines.append(f"    {day_text(p['corrected_time'])} ({counted}{where}): {p[lang]}")
    lines.append("  " + ("Conclusion: " if en else "Kết luận: ") + data["summary"][lang])
    return "\n".join(lines)
