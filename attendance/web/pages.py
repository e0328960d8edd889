"""Pages for people: units and their monthly summary, terminals, push terminals waiting for approval."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS

from .. import models as m
from .. import terminals
from ..accounts import Permission, in_scope, require_permission, scope_unit_codes
from ..api import UnitInfo, unit_tree
from ..errors import InvalidInput
from ..i18n import _
from ..loader import check_period
from ..services import parse_month
from .auth import actor, current_account
from .session import get_session

bp = Blueprint("attendance", __name__, template_folder="templates")

UNIT_KINDS_VI = {"province": "Tỉnh", "city": "Thành phố", "district": "Huyện", "town": "Thị xã", "commune": "Xã",
                 "ward": "Phường", "township": "Thị trấn", "hamlet": "Thôn, xóm", "office": "Cơ quan"}


def _month() -> str:
    month = request.args.get("month") or current_app.config.get("DEFAULT_MONTH")
    if not month:
        month = f"{latest_plausible_punch(get_session()) or dt.datetime.now():%Y-%m}"
    try:
        first, last = parse_month(month)
        check_period(first, last)
    except ValueError as exc:  # InvalidInput is a ValueError: a bad or implausible month
        abort(400, f"Tháng không hợp lệ: {month[:20]} ({exc})")
    return month


def latest_plausible_punch(session: Session) -> dt.datetime | None:
    """The latest corrected time within the plausible years: a row dated 9999 must not pick the month."""
    first, last = DEFAULT_PLAUSIBLE_YEARS
    return session.scalar(select(func.max(m.Punch.corrected_time)).where(
        m.Punch.corrected_time >= dt.datetime(first, 1, 1), m.Punch.corrected_time < dt.datetime(last + 1, 1, 1)))


def people_per_subtree(tree: list[UnitInfo], placements: list[tuple[str, int]]) -> dict[str, int]:
    """How many distinct people each unit and the units under it have had (unit code → count).

    ``tree`` is depth first (each unit followed by the units under it); ``placements`` are
    (unit code, staff id) pairs. Someone assigned to two communes counts once for their district.
    """
    people: dict[str, set[int]] = {}
    for unit_code, staff_id in placements:
        people.setdefault(unit_code, set()).add(staff_id)
    totals: dict[str, int] = {}
    for i, unit in enumerate(tree):
        end = next((j for j in range(i + 1, len(tree)) if tree[j].depth <= unit.depth), len(tree))
        totals[unit.code] = len(set().union(*(people.get(u.code, set()) for u in tree[i:end])))
    return totals


@bp.route("/")
def units() -> str:
    """Đơn vị: the unit tree with the number of people in each subtree."""
    session = get_session()
    scope = scope_unit_codes(session, current_account())
    # Every unit in scope; the parents above it are not shown (nor counted) to this user.
    tree = [u for u in unit_tree(session) if in_scope(scope, u.code)]
    if scope is not None and tree:
        top = min(u.depth for u in tree)
        tree = [UnitInfo(u.code, u.name, u.kind, u.parent_code, u.depth - top) for u in tree]
    placements = [(code, staff_id) for code, staff_id in session.execute(
        select(m.Unit.code, m.StaffAssignment.staff_id).join(m.Unit, m.Unit.id == m.StaffAssignment.unit_id)
        .distinct())]
    totals = people_per_subtree(tree, placements)
    month = _month()
    return render_template("units.html", units=[(u.depth, u) for u in tree], totals=totals, month=month,
                           month_label=f"{month[5:]}/{month[:4]}", kinds=UNIT_KINDS_VI)


@bp.route("/devices")
def devices() -> str:
    """Máy chấm công: each terminal's health."""
    from ..health import PROBLEM_TEXT, device_health

    session = get_session()
    scope = scope_unit_codes(session, current_account())
    rows = [r for r in device_health(session) if in_scope(scope, r.unit)]
    from ..i18n import current_language

    return render_template("devices.html", rows=rows, texts=PROBLEM_TEXT, lang_index=int(current_language() == "en"))


@bp.route("/devices/pending")
def pending_terminals() -> str:
    """Máy chấm công chờ duyệt: unregistered push terminals that called in, with approve/reject forms."""
    require_permission(current_account(), Permission.MANAGE_DEVICES)
    session = get_session()
    rows = terminals.pending_terminals(session, include_decided=True)
    units = session.scalars(select(m.Unit).order_by(m.Unit.code)).all()
    return render_template("pending_terminals.html", rows=rows, statuses=terminals.STATUS_VI, units=units,
                           waiting=sum(1 for r in rows if r["status"] == "pending"))


def _field(name: str, label: str) -> str:
    value = (request.form.get(name) or "").strip()
    if not value:
        raise InvalidInput(_("form field {name!r} ({label}) is empty", name=name, label=label))
    return value


@bp.route("/devices/pending/approve", methods=["POST"])
def approve_terminal() -> Response:
    """Register a pending serial as a push device of a unit (form: serial, device, unit)."""
    require_permission(current_account(), Permission.MANAGE_DEVICES)
    serial, device = _field("serial", "số sê-ri"), _field("device", "mã máy")
    unit = (request.form.get("unit") or "").strip() or None
    session = get_session()
    terminals.approve_terminal(session, serial, device, unit, actor=actor())
    session.commit()
    flash(f"Đã duyệt máy {serial} thành máy chấm công {device}.")
    return redirect(url_for(".pending_terminals"), 303)


@bp.route("/devices/pending/reject", methods=["POST"])
def reject_terminal() -> Response:
    """Refuse a pending serial (form: serial); it stays listed and refused."""
    require_permission(current_account(), Permission.MANAGE_DEVICES)
    serial = _field("serial", "số sê-ri")
    session = get_session()
    terminals.reject_terminal(session, serial, actor=actor())
    session.commit()
    flash(f"Đã từ chối máy {serial}.")
    return redirect(url_for(".pending_terminals"), 303)
