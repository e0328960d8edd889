"""Web views of the attendance package: units and their monthly summary."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import func, select

from .. import models as m
from ..api import unit_tree
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
        tree = unit_tree(session)
        counts = dict(session.execute(
            select(m.Unit.code, func.count()).join(m.StaffAssignment, m.StaffAssignment.unit_id == m.Unit.id)
            .group_by(m.Unit.code)).all())
    totals: dict[str, int] = {}
    for i, unit in enumerate(tree):  # people of the unit and every unit under it (the rows that follow it deeper)
        end = next((j for j in range(i + 1, len(tree)) if tree[j].depth <= unit.depth), len(tree))
        totals[unit.code] = sum(counts.get(u.code, 0) for u in tree[i:end])
    ordered = [(unit.depth, unit) for unit in tree]

    month = _month()
    return render_template("units.html", units=ordered, totals=totals, month=month,
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
