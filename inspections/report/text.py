"""The report's wording and tables, generated from a ``ReportData`` for both writers.

The report is a Vietnamese administrative document (it goes to a People's Committee), so
its sentences and headings are Vietnamese here rather than entries of the interface's
catalogue; nothing in it says that a penalty applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .data import Alert, ReportData

LABELS = {
    "working_days": "Ngày làm việc",
    "working_sessions": "Số buổi làm việc",
    "excused_sessions": "Buổi có lý do",
    "late_count": "Số lần đi muộn",
    "late_minutes": "Số phút đi muộn",
    "early_count": "Số lần về sớm",
    "early_minutes": "Số phút về sớm",
    "missing_punch_count": "Số buổi thiếu chấm công",
    "absent_sessions": "Số buổi vắng không lý do",
    "absent_days": "Số ngày vắng không lý do",
    "offday_punch_days": "Số ngày chấm công ngày nghỉ",
}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def number(value: int | float) -> str:
    """A number as written in Vietnamese documents: 7.170 and 13,3."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(value):,}".replace(",", ".")


def vn_long_date(day: dt.date) -> str:
    """'ngày 05 tháng 11 năm 2026' (Decree 30: a zero before days 1-9 and months 1 and 2)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def compare_text(now: int, before: int, has_previous: bool, unit: str) -> str:
    """How a count compares with the period before, as a clause to append ('' when nothing to say)."""
    if not has_previous:
        return " (kỳ trước chưa có dữ liệu chấm công để so sánh)"
    if now == before:
        return f"; bằng kỳ trước ({number(before)} {unit})"
    change = "tăng" if now > before else "giảm"
    return f"; kỳ trước {number(before)} {unit}, {change} {number(abs(now - before))} {unit}"


def alert_groups(data: ReportData) -> list[list[Alert]]:
    """The alerts grouped by person, in the report's order of people."""
    groups: dict[str, list[Alert]] = {}
    for alert in data.alerts:
        groups.setdefault(alert.person.staff_code, []).append(alert)
    return list(groups.values())


def attendance_paragraphs(data: ReportData) -> list[str]:
    """Section II.1: the period's counts, each with the comparison with the period before."""
    t, p, has_previous = data.totals, data.previous_totals, data.previous_has_punches
    out = []
    if not data.has_punches:
        out.append("Trong kỳ không có dữ liệu chấm công nào của các đơn vị được báo cáo: mọi người đều hiện "
                   "là vắng mặt; số liệu dưới đây chưa phản ánh thực tế (dữ liệu máy chấm công chưa được nhập?).")
    out.append(f"Trong {data.period_phrase}, {number(len(data.people))} cán bộ, công chức, người lao động thuộc "
               f"{number(len(data.units))} đơn vị có tổng cộng {number(t['working_days'])} ngày làm việc "
               f"({number(t['working_sessions'])} buổi) theo lịch làm việc; {number(t['excused_sessions'])} buổi "
               "được miễn chấm công có lý do (nghỉ phép, đi công tác, được cử đi làm nhiệm vụ…). Kết quả:")
    out.append(f"- Đi muộn: {number(t['late_count'])} lần, tổng cộng {number(t['late_minutes'])} phút"
               f"{compare_text(t['late_count'], p['late_count'], has_previous, 'lần')}.")
    out.append(f"- Về sớm: {number(t['early_count'])} lần, tổng cộng {number(t['early_minutes'])} phút"
               f"{compare_text(t['early_count'], p['early_count'], has_previous, 'lần')}.")
    out.append(f"- Thiếu lượt chấm công vào hoặc ra: {number(t['missing_punch_count'])} buổi"
               f"{compare_text(t['missing_punch_count'], p['missing_punch_count'], has_previous, 'buổi')}.")
    out.append(f"- Vắng không có lý do: {number(t['absent_sessions'])} buổi, trong đó "
               f"{number(t['absent_days'])} ngày vắng cả ngày"
               f"{compare_text(t['absent_sessions'], p['absent_sessions'], has_previous, 'buổi')}.")
    out.append(f"- Chấm công vào ngày nghỉ: {number(t['offday_punch_days'])} ngày.")
    busiest = [u for u in data.units if u.people]
    if len(busiest) > 1:
        worst = max(busiest, key=lambda u: (u.counts["late_count"] / u.people, u.name))
        if worst.counts["late_count"]:
            out.append(f"Đơn vị có số lần đi muộn bình quân cao nhất: {worst.name} "
                       f"({number(worst.counts['late_count'])} lần, bình quân "
                       f"{number(round(worst.counts['late_count'] / worst.people, 1))} lần/người).")
    out.append("Chi tiết theo đơn vị tại Phụ lục I, theo từng người tại Phụ lục III.")
    return out


def spot_paragraphs(data: ReportData) -> list[str]:
    """Section II.3: the spot checks of the period."""
    spot = data.spot
    if not spot.available:
        return ["Hệ thống chưa ghi nhận dữ liệu kiểm tra đột xuất cho kỳ báo cáo."]
    if not spot.checks:
        return ["Trong kỳ không có cuộc kiểm tra đột xuất nào được ghi nhận."]
    units = sorted({c.unit_name for c in spot.checks})
    out = [f"Tổ kiểm tra đã tiến hành {number(len(spot.checks))} cuộc kiểm tra đột xuất tại "
           f"{number(len(units))} đơn vị ({', '.join(units)}).",
           f"Kiểm diện tại thời điểm kiểm tra: {number(sum(c.present for c in spot.checks))} lượt có mặt, "
           f"{number(sum(c.absent_excused for c in spot.checks))} lượt vắng có lý do, "
           f"{number(sum(c.absent_unverified for c in spot.checks))} lượt vắng chưa xác minh được lý do, "
           f"{number(sum(c.absent_unexcused for c in spot.checks))} lượt vắng không có lý do."]
    if spot.violations:
        top = sorted(spot.violations, key=lambda v: (-v.count, v.label))[:5]
        out.append("Các tiêu chí phát hiện vi phạm nhiều nhất: "
                   + "; ".join(f"{v.label} ({number(v.count)} lần)" for v in top) + ".")
    if spot.repeat_offenders:
        out.append(f"Có {number(len(spot.repeat_offenders))} người vi phạm lặp lại trong nhiều tháng.")
    if spot.overdue_dossiers:
        out.append(f"Hồ sơ thủ tục hành chính quá hạn: {number(sum(d.count for d in spot.overdue_dossiers))} hồ sơ "
                   f"tại {number(len(spot.overdue_dossiers))} đơn vị; đã gửi thư xin lỗi "
                   f"{number(sum(d.apologies_sent for d in spot.overdue_dossiers))} hồ sơ.")
    if spot.mismatches:
        resolved = sum(1 for m in spot.mismatches if m.resolution)
        out.append(f"Đối chiếu kết quả kiểm diện với dữ liệu chấm công: {number(len(spot.mismatches))} trường hợp "
                   f"sai lệch, đã giải quyết {number(resolved)}, còn {number(len(spot.mismatches) - resolved)} "
                   "trường hợp chưa giải quyết.")
    if spot.follow_ups:
        overdue = sum(1 for f in spot.follow_ups if f.overdue)
        out.append(f"Còn {number(len(spot.follow_ups))} việc cần khắc phục chưa hoàn thành, trong đó "
                   f"{number(overdue)} việc đã quá hạn.")
    return out


def assessment_paragraphs(data: ReportData) -> list[str]:
    """Section III: what the numbers say (the team's own assessment follows as a placeholder)."""
    t = data.totals
    out = []
    if t["working_sessions"]:
        late_rate = 100 * t["late_count"] / t["working_sessions"]
        absent_rate = 100 * t["absent_sessions"] / t["working_sessions"]
        out.append(f"Tỷ lệ buổi đi muộn trên tổng số buổi làm việc là {number(round(late_rate, 1))}%, "
                   f"tỷ lệ buổi vắng không có lý do là {number(round(absent_rate, 1))}%.")
    if data.previous_has_punches:
        changes = []
        for key, label in (("late_count", "số lần đi muộn"), ("early_count", "số lần về sớm"),
                           ("absent_sessions", "số buổi vắng không lý do")):
            now, before = t[key], data.previous_totals[key]
            changes.append(f"{label} {'tăng' if now > before else 'giảm' if now < before else 'không đổi'}"
                           + (f" {number(abs(now - before))}" if now != before else ""))
        out.append(f"So với kỳ trước ({data.previous.label}): " + ", ".join(changes) + ".")
    else:
        out.append(f"Kỳ trước ({data.previous.label}) chưa có dữ liệu chấm công nên chưa so sánh được.")
    return out


def recommendation_paragraphs(data: ReportData) -> list[str]:
    """Section IV: what the data calls for; any handling stays with the competent person."""
    out = []
    if data.alerts:
        out.append("Đề nghị thủ trưởng các đơn vị có người vượt ngưỡng cảnh báo (Phụ lục II) xem xét, yêu cầu "
                   "người có tên giải trình và chấn chỉnh theo thẩm quyền.")
    if data.totals["missing_punch_count"]:
        out.append("Đề nghị các đơn vị rà soát việc đăng ký và sử dụng máy chấm công đối với các trường hợp "
                   "thiếu lượt chấm công nhiều lần.")
    if data.spot.follow_ups:
        out.append(f"Đề nghị các đơn vị khắc phục dứt điểm {number(len(data.spot.follow_ups))} việc còn tồn tại "
                   "theo kết luận kiểm tra.")
    return [f"{i}. {text}" for i, text in enumerate(out, 1)]


def direction_paragraphs(data: ReportData) -> list[str]:
    """Section V: where the team looks next, from the units with the most alerts."""
    ranked = sorted((u for u in data.units if u.alerts), key=lambda u: (-u.alerts, u.name))[:3]
    text = "Tiếp tục theo dõi việc chấp hành thời giờ làm việc qua dữ liệu máy chấm công"
    if ranked:
        text += "; ưu tiên kiểm tra đột xuất tại " + ", ".join(u.name for u in ranked)
    return [text + "."]


@dataclass
class Table:
    """One section as a table: a sheet of the workbook, and (``in_docx``) an appendix of the document."""

    key: str
    sheet: str            # at most 31 characters (Excel's limit)
    title: str
    heading: list[str]
    rows: list[list[Any]]
    widths: list[float]   # relative column widths (about millimetres at 11 pt)
    totals: list[Any] | None = None
    empty: str = "Không có."
    in_docx: bool = False
    number: str = ""
    dates: set[int] = field(default_factory=set)  # columns that hold dates


def _total_row(rows: list[list[Any]], label_columns: int, label: str = "Cộng") -> list[Any]:
    width = len(rows[0]) if rows else label_columns
    out: list[Any] = [label] + [""] * (label_columns - 1)
    for column in range(label_columns, width):
        out.append(sum(r[column] for r in rows if isinstance(r[column], int)))
    return out


def report_tables(data: ReportData) -> list[Table]:
    """Every section of the report as a table, in the workbook's order; appendix numbers for the docx."""
    counted = ("working_days", "late_count", "late_minutes", "early_count", "early_minutes",
               "missing_punch_count", "absent_sessions", "absent_days")
    units = Table("units", "Tổng hợp đơn vị", "Tổng hợp chấp hành thời giờ làm việc theo đơn vị",
                  ["STT", "Đơn vị", "Số người", *(LABELS[k] for k in counted), "Lượt vượt ngưỡng"],
                  [[i, u.name, u.people, *(u.counts[k] for k in counted), u.alerts]
                   for i, u in enumerate(data.units, 1)],
                  [13, 60, 16, *([18] * len(counted)), 18], in_docx=True)
    units.totals = _total_row(units.rows, 2) if units.rows else None
    alerts = Table("alerts", "Vượt ngưỡng cảnh báo", "Danh sách các trường hợp vượt ngưỡng cảnh báo",
                   ["STT", "Họ và tên", "Đơn vị", "Chỉ tiêu", "Kỳ này", "Kỳ trước", "Ngưỡng (≥)",
                    "Hướng xem xét đề xuất", "Căn cứ tham chiếu"],
                   [[i, a.person.name, a.person.unit_name, LABELS[a.threshold.field], a.value,
                     a.previous if a.previous is not None else "-", a.threshold.at_least, a.threshold.action,
                     a.threshold.reference] for i, a in enumerate(data.alerts, 1)],
                   [13, 40, 36, 36, 17, 17, 19, 40, 58], in_docx=True,
                   empty="Không có trường hợp nào vượt ngưỡng cảnh báo.")
    fields = ("working_days", "working_sessions", "excused_sessions", "late_count", "late_minutes", "early_count",
              "early_minutes", "missing_punch_count", "absent_sessions", "absent_days", "offday_punch_days")
    people = Table("people", "Tổng hợp cá nhân", "Tổng hợp chấp hành thời giờ làm việc theo từng người",
                   ["STT", "Mã CB", "Họ và tên", "Đơn vị", *(LABELS[k] for k in fields)],
                   [[i, p.staff_code, p.name, p.unit_name, *(p.counts[k] for k in fields)]
                    for i, p in enumerate(data.people, 1)],
                   [13, 14, 40, 36, *([15] * len(fields))], in_docx=True)
    people.totals = _total_row(people.rows, 4) if people.rows else None
    trend = Table("trend", "Diễn biến 6 tháng", "Diễn biến 6 tháng gần nhất",
                  ["Kỳ", "Từ ngày", "Đến ngày", "Số người", LABELS["late_count"], LABELS["early_count"],
                   LABELS["missing_punch_count"], LABELS["absent_sessions"], "Dữ liệu chấm công"],
                  [[t.period.short_label, t.period.first, t.period.last, t.people, t.counts["late_count"],
                    t.counts["early_count"], t.counts["missing_punch_count"], t.counts["absent_sessions"],
                    "Có" if t.has_data else "Chưa có"] for t in data.trend],
                  [14, 16, 16, 14, 18, 18, 18, 18, 18], dates={1, 2})
    spot = data.spot
    has_spot = spot.available
    checks = Table("spot_checks", "Kiểm tra đột xuất", "Các cuộc kiểm tra đột xuất trong kỳ",
                   ["STT", "Ngày", "Giờ", "Đơn vị", "Trưởng đoàn", "Có mặt", "Vắng có lý do",
                    "Vắng chưa xác minh", "Vắng không lý do", "Số vi phạm", "Trạng thái"],
                   [[i, c.started.date(), f"{c.started:%H:%M}", c.unit_name, c.lead, c.present, c.absent_excused,
                     c.absent_unverified, c.absent_unexcused, c.violations, c.state]
                    for i, c in enumerate(spot.checks, 1)],
                   [13, 18, 12, 44, 30, 14, 16, 16, 16, 14, 20], in_docx=has_spot, dates={1},
                   empty="Không có cuộc kiểm tra đột xuất nào trong kỳ.")
    checks.totals = _total_row(checks.rows, 5) if checks.rows else None
    if checks.totals:
        checks.totals[-1] = ""
    violations = Table("violations", "Vi phạm theo tiêu chí", "Vi phạm theo tiêu chí kiểm tra",
                       ["STT", "Mã tiêu chí", "Tiêu chí", "Số lần"],
                       [[i, v.item_code, v.label, v.count] for i, v in
                        enumerate(sorted(spot.violations, key=lambda v: (-v.count, v.label)), 1)],
                       [13, 26, 100, 16], in_docx=has_spot, empty="Không phát hiện vi phạm theo tiêu chí.")
    violations.totals = _total_row(violations.rows, 3) if violations.rows else None
    repeat = Table("repeat", "Vi phạm lặp lại", "Người vi phạm lặp lại qua nhiều tháng",
                   ["STT", "Mã CB", "Họ và tên", "Đơn vị", "Số tháng có vi phạm", "Số lần vi phạm"],
                   [[i, r.staff_code, r.name, r.unit_name, r.months, r.violations]
                    for i, r in enumerate(spot.repeat_offenders, 1)],
                   [13, 16, 44, 44, 20, 20], in_docx=has_spot, empty="Không có người vi phạm lặp lại.")
    dossiers = Table("dossiers", "Hồ sơ quá hạn", "Hồ sơ thủ tục hành chính quá hạn theo đơn vị",
                     ["STT", "Đơn vị", "Số hồ sơ quá hạn", "Đã gửi thư xin lỗi"],
                     [[i, d.unit_name, d.count, d.apologies_sent] for i, d in enumerate(spot.overdue_dossiers, 1)],
                     [13, 70, 24, 24], in_docx=has_spot, empty="Không có hồ sơ quá hạn.")
    dossiers.totals = _total_row(dossiers.rows, 2) if dossiers.rows else None
    mismatches = Table("mismatches", "Đối chiếu chấm công", "Sai lệch giữa kiểm diện và dữ liệu chấm công",
                       ["STT", "Cuộc kiểm tra", "Mã CB", "Họ và tên", "Loại sai lệch", "Đoàn ghi nhận",
                        "Dữ liệu chấm công", "Cách giải quyết"],
                       [[i, m.spot_check, m.staff_code, m.name, m.kind, m.observed, m.punches,
                         m.resolution or "Chưa giải quyết"] for i, m in enumerate(spot.mismatches, 1)],
                       [13, 30, 16, 36, 30, 30, 40, 50], in_docx=has_spot, empty="Không có sai lệch.")
    follow_ups = Table("follow_ups", "Việc cần khắc phục", "Việc cần khắc phục chưa hoàn thành",
                       ["STT", "Đơn vị", "Nội dung", "Người thực hiện", "Hạn hoàn thành", "Quá hạn"],
                       [[i, f.unit_name, f.action, f.assignee, f.due or "", "Có" if f.overdue else "Không"]
                        for i, f in enumerate(spot.follow_ups, 1)],
                       [13, 40, 90, 36, 20, 14], in_docx=has_spot, dates={4},
                       empty="Không có việc cần khắc phục còn mở.")
    tables = [people, units, alerts, trend, checks, violations, repeat, dossiers, mismatches, follow_ups]
    # Appendix numbers in the document: units first, then the alerts, then each person.
    docx_order = [units, alerts, people, checks, violations, repeat, dossiers, mismatches, follow_ups]
    for roman, table in zip(ROMAN, (t for t in docx_order if t.in_docx), strict=False):
        table.number = roman
    return tables
