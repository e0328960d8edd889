"""Web views of the attendance package: units and their monthly summary."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import func, select

from .. import models as m
from ..db import transaction
from ..loader import UnknownCode
from ..services import SUMMARY_HEADINGS_VI, monthly_summary, parse_month

bp = Blueprint("attendance", __name__, template_folder="templates")

UNIT_KINDS_VI = {"province": "Tỉnh", "city": "Thành phố", "district": "Huyện", "town": "Thị xã", "commune": "Xã",
                 "ward": "Phường", "township": "Thị trấn", "hamlet": "Thôn, xóm", "office": "Cơ quan"}


def _month() -> str:
    month = request.args.get("month") or current_app.config.get("DEFAULT_MONTH")
    if not month:
        with transaction(current_app.config["DATABASE_URL"]) as session:
            latest = session.scalar(select(func.max(m.Punch.corrected_time)))
        month = (latest or dt.datetime.now()).strftime("%Y-%m")
    try:
        parse_month(month)
    except ValueError:
        abort(400, f"Tháng không hợp lệ: {month}")
    return month


@bp.route("/")
def units() -> str:
    """Đơn vị: the unit tree with staff counts."""
    with transaction(current_app.config["DATABASE_URL"]) as session:
        rows = session.scalars(select(m.Unit).order_by(m.Unit.code)).all()
        counts = dict(session.execute(
            select(m.StaffAssignment.unit_id, func.count()).group_by(m.StaffAssignment.unit_id)).all())
    children: dict[int | None, list[m.Unit]] = {}
    for unit in rows:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[tuple[int, m.Unit]] = []

    def walk(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            ordered.append((depth, unit))
            walk(unit.id, depth + 1)

    walk(None, 0)
    totals: dict[int, int] = {}

    def total(unit_id: int) -> int:  # people of the unit and every unit under it
        if unit_id not in totals:
            totals[unit_id] = counts.get(unit_id, 0) + sum(total(c.id) for c in children.get(unit_id, []))
        return totals[unit_id]

    month = _month()
    return render_template("units.html", units=ordered, totals={u.id: total(u.id) for u in rows}, month=month,
                           month_label=f"{month[5:]}/{month[:4]}", kinds=UNIT_KINDS_VI)


@bp.route("/units/<code>/summary")
def unit_summary(code: str) -> str:
    """Tổng hợp tháng: the monthly summary of one unit and the units under it."""
    month = _month()
    with transaction(current_app.config["DATABASE_URL"]) as session:
        unit = session.scalar(select(m.Unit).where(m.Unit.code == code))
        if unit is None:
            abort(404)
        try:
            table = monthly_summary(session, month, code)
        except UnknownCode:
            abort(404)
    first, last = parse_month(month)
    columns = [c for c in table.columns if c not in ("unit_name",)]
    return render_template(
        "summary.html", unit=unit, month=month, first=first, last=last, rows=table.to_dict(orient="records"),
        columns=columns, headings=SUMMARY_HEADINGS_VI,
    )


@bp.route("/devices")
def devices() -> str:
    """Máy chấm công: each terminal's health."""
    from ..health import PROBLEM_TEXT, device_health

    with transaction(current_app.config["DATABASE_URL"]) as session:
        rows = device_health(session)
    return render_template("devices.html", rows=rows, texts=PROBLEM_TEXT)
