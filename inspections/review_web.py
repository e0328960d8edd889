"""The team lead's pages on the ``inspections`` blueprint: spot checks, one spot check's review,
follow-up actions, repeat offenders, a unit's history; and the panel on a person's day page.

Thin views: parse the request, call ``inspections.review`` / ``inspections.services`` with the
request's Session (scope: 404 outside it; role: 403), commit, render. Every POST carries the
form's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from attendance import api as public
from attendance.accounts import Permission, require_permission, require_unit, scope_unit_codes
from attendance.errors import Conflict, InvalidInput
from attendance.i18n import _, current_language
from attendance.services import parse_month
from attendance.web.api import photo_response
from attendance.web.auth import actor, current_account
from attendance.web.panels import register_day_panel
from attendance.web.session import get_session

from . import review, services
from .report.settings import report_settings
from .report_web import report_config
from .web import bp

MONTH = re.compile(r"\d{4}-\d{2}")
def _state_words() -> dict[str, str]:
    return {"draft": _("Draft"), "submitted": _("Submitted"), "locked": _("Approved (locked)")}


def _status_words() -> dict[str, str]:
    return {"present": _("present"), "late": _("late"), "left_early": _("left early"),
            "absent_excused": _("absent, excused"), "absent_unverified": _("absent, proof pending"),
            "absent_unexcused": _("absent, unexcused")}


def _kind_words() -> dict[str, str]:
    return {"present_without_punch": _("seen present, no punch"),
            "absent_with_punch": _("seen absent, yet punched in"),
            "excused_with_punch": _("excused absence, yet punched"),
            "failed_item": _("failed checklist item"), "absence": _("unexcused absence"),
            "late": _("late arrival"),
            "mismatch": _("reconciliation mismatch")}


def _words() -> dict[str, object]:
    return {"states": _state_words(), "statuses": _status_words(), "kinds": _kind_words(),
            "english": current_language() == "en"}


def _month_arg(default: str | None) -> str | None:
    value = (request.args.get("month") or "").strip()
    if not value:
        return default
    if not MONTH.fullmatch(value):
        raise InvalidInput(_("month: expected YYYY-MM, got {value!r}", value=value[:20]))
    parse_month(value)
    return value


def _unit_arg() -> str | None:
    unit = (request.args.get("unit") or "").strip()[:100] or None
    if unit is not None:
        require_unit(get_session(), current_account(), unit)
    return unit


def _units() -> list[public.UnitInfo]:
    session = get_session()
    scope = scope_unit_codes(session, current_account())
    return [u for u in public.unit_tree(session) if scope is None or u.code in scope]


@bp.route("/")
def spot_checks() -> str:
    """Kiểm tra đột xuất: the spot checks in scope, by unit and month, newest first, with state badges."""
    session = get_session()
    unit, month = _unit_arg(), _month_arg(None)
    rows = review.spot_check_rows(session, current_account(), unit, month)
    return render_template("inspections/spot_checks.html", rows=rows, unit=unit, month=month or "",
                           units=_units(), w=_words())


@bp.route("/units/<code>")
def unit_history(code: str) -> str:
    """Every spot check of a unit (and the units under it), newest first, with its open actions."""
    session = get_session()
    account = current_account()
    require_unit(session, account, code)
    rows = review.spot_check_rows(session, account, code)
    unit = public.unit_subtree(session, code)[0]
    return render_template("inspections/unit_history.html", unit=unit, rows=rows,
                           actions=review.follow_up_actions(session, account, code, "open"), w=_words())


@bp.route("/checks/<uuid>")
def review_page(uuid: str) -> str:
    """One spot check for the team lead: header, headcount, checklist, evidence, actions, history."""
    data = review.review(get_session(), current_account(), uuid)
    return render_template("inspections/review.html", r=data, w=_words())


@bp.route("/checks/<uuid>/attachments/<name>")
def attachment(uuid: str, name: str) -> Response:
    """An uploaded attachment: images shown in the page, anything else downloaded."""
    content, kind = services.attachment_content(get_session(), current_account(), uuid, name)
    if kind in ("image/jpeg", "image/png", "image/webp"):
        return photo_response(content, kind, "")
    # Anything else (a PDF, a file of unknown type) is never rendered by the browser in our origin.
    answer = Response(content, mimetype="application/octet-stream")
    answer.headers["Content-Disposition"] = "attachment"
    answer.headers["X-Content-Type-Options"] = "nosniff"
    return answer


def _back(uuid: str) -> Response:
    return redirect(url_for("inspections.review_page", uuid=uuid), 303)


@bp.route("/checks/<uuid>/approve", methods=["POST"])
def approve(uuid: str) -> Response:
    """Approve a submitted spot check: it is locked from then on (team lead)."""
    session = get_session()
    account = current_account()
    services.get_spot_check(session, account, uuid)  # outside the scope: 404 first
    require_permission(account, Permission.REVIEW_SPOT_CHECKS)
    try:
        _record, changed = services.approve(session, account, uuid)
    except Conflict as exc:
        session.rollback()
        flash(_("Not approved: {reason}", reason=str(exc)))
        return _back(uuid)
    session.commit()
    if changed:
        flash(_("Approved: the spot check is locked."))
    return _back(uuid)


@bp.route("/checks/<uuid>/send-back", methods=["POST"])
def send_back(uuid: str) -> Response:
    """Send a submitted spot check back to its team as a draft, with a comment (team lead)."""
    session = get_session()
    account = current_account()
    services.get_spot_check(session, account, uuid)
    require_permission(account, Permission.REVIEW_SPOT_CHECKS)
    comment = (request.form.get("comment") or "").strip()
    if not comment:
        raise InvalidInput(_("form field 'comment': say what the team must change"))
    try:
        services.send_back(session, account, uuid, comment)
    except Conflict as exc:
        session.rollback()
        flash(_("Not sent back: {reason}", reason=str(exc)))
        return _back(uuid)
    session.commit()
    flash(_("Sent back to the team as a draft."))
    return _back(uuid)


@bp.route("/checks/<uuid>/reconciliation/<staff>", methods=["POST"])
def resolve(uuid: str, staff: str) -> Response:
    """Resolve a person's mismatch with a note (team lead, or an inspector of the team)."""
    session = get_session()
    account = current_account()
    try:
        _found, changed = services.resolve(session, account, uuid, staff, (request.form.get("note") or "").strip())
    except Conflict as exc:
        session.rollback()
        flash(_("Not resolved: {reason}", reason=str(exc)))
        return _back(uuid)
    session.commit()
    if changed:
        flash(_("The mismatch of {staff} is resolved.", staff=staff))
    return _back(uuid)


@bp.route("/checks/<uuid>/actions/<int:position>/done", methods=["POST"])
def action_done(uuid: str, position: int) -> Response:
    """Mark a follow-up action done (team lead, or an inspector of the team)."""
    session = get_session()
    if review.mark_action_done(session, current_account(), uuid, position, actor=actor()):
        flash(_("Follow-up action marked done."))
    session.commit()
    target = request.form.get("next") or ""
    if target == "actions":
        return redirect(url_for("inspections.actions"), 303)
    return _back(uuid)


@bp.route("/actions")
def actions() -> str:
    """Follow-up actions in scope: open (default), overdue, done or all; overdue ones highlighted."""
    session = get_session()
    which = (request.args.get("show") or "open").strip()
    unit = _unit_arg()
    rows = review.follow_up_actions(session, current_account(), unit, which)
    return render_template("inspections/actions.html", rows=rows, which=which, unit=unit, units=_units(),
                           filters=review.ACTION_FILTERS, w=_words())


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(_("{name}: expected a whole number from {low} to {high}", name=name, low=low, high=high))
    return int(value)


@bp.route("/repeat-offenders")
def repeat_offenders() -> str:
    """People and unit items with violations in N or more of the last M periods (report settings)."""
    session = get_session()
    month = _month_arg(f"{dt.date.today():%Y-%m}")
    assert month is not None
    settings = report_settings(session, report_config())
    months = _int_arg("months", settings.repeat_months, 1, review.MAX_MONTHS)
    least = _int_arg("least", min(settings.repeat_min_months, months), 1, months)
    unit = _unit_arg()
    data = review.repeat_offenders(session, current_account(), month, unit, months, least, report_config())
    return render_template("inspections/repeat_offenders.html", data=data, month=month, months=months,
                           least=least, unit=unit, units=_units(), w=_words())


def _day_panel(staff_code: str, day: dt.date) -> Markup | None:
    """What spot checks saw of the person that day, for the person's day page (nothing: no panel)."""
    seen = review.day_observations(get_session(), current_account(), staff_code, day)
    if not seen:
        return None
    return Markup(render_template("inspections/day_panel.html", seen=seen, w=_words()))


def init_review(app: Flask) -> None:
    """Add the spot-check panel to a person's day page (attendance knows nothing of inspections)."""
    register_day_panel(app, _day_panel)
