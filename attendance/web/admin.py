"""Administration pages: staff and enrollments, a terminal in detail, schedules and the calendar, the audit log.

Thin views: parse the request, check scope (404) and permission (403), call the use cases of
``attendance.admin_views``, ``enrollments`` and ``audit``, commit, render.
"""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from .. import models as m
from ..accounts import (
    Permission,
    require_device,
    require_permission,
    require_staff,
    require_unit,
    scope_unit_codes,
)
from ..admin_views import (
    audit_entities,
    describe_changes,
    device_detail,
    devices_in_scope,
    person_enrollments,
    schedules_in_scope,
    scope_units,
    staff_in_scope,
    waiting_in_scope,
)
from ..audit import search_audit
from ..calendar_days import SOURCE_TEXT, WEEKDAYS, calendar_of_year, check_year
from ..enrollments import enrol, unenrol
from ..errors import Conflict, InvalidInput, NotFound
from ..health import PROBLEM_TEXT
from ..i18n import _, current_language
from ..photos import MAX_BYTES as MAX_PHOTO_BYTES
from ..photos import get_photo, photo_digests, remove_photo, set_photo
from .api import photo_response
from .auth import actor, current_account
from .pages import bp
from .session import get_session

PER_PAGE = 50


def _english() -> bool:
    return current_language() == "en"


def _form(name: str, label: str, limit: int = 100) -> str:
    """A required form field, trimmed; InvalidInput names the field when it is empty or too long."""
    value = (request.form.get(name) or "").strip()
    if not value:
        raise InvalidInput(_("form field {name!r} ({label}) is empty", name=name, label=label))
    if len(value) > limit:
        raise InvalidInput(_("form field {name!r} ({label}): at most {n} characters", name=name, label=label, n=limit))
    return value


def _date_arg(name: str) -> dt.date | None:
    """An optional yyyy-mm-dd query parameter (a date input's value); InvalidInput names it when wrong."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:  # fromisoformat would also take week dates and times
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("{name}: expected a date yyyy-mm-dd, got {value!r}", name=name, value=value[:20])) from None


def _int_arg(name: str, default: int) -> int:
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput(_("{name}: expected a whole number, got {value!r}", name=name, value=value[:20]))
    return int(value)


@bp.route("/staff", methods=["GET"])
def staff_list() -> str:
    """Cán bộ: the people of the units in scope, their enrollments, and user ids waiting for one."""
    session = get_session()
    account = current_account()
    scope = scope_unit_codes(session, account)
    unit = (request.args.get("unit") or "").strip() or None
    if unit is not None:
        require_unit(session, account, unit)
    search = request.args.get("q") or ""
    on = _date_arg("on") or dt.date.today()
    people = staff_in_scope(session, scope, on, unit, search)
    return render_template("staff_list.html", people=people, units=scope_units(session, scope), unit=unit,
                           search=search[:100], on=on, waiting=waiting_in_scope(session, scope))


@bp.route("/staff", methods=["POST"])
def quick_enrol() -> Response:
    """Give a waiting device user id to a person (form: device, user_id, staff, transfer)."""
    account = current_account()
    session = get_session()
    device, user_id = _form("device", _("terminal"), 40), _form("user_id", _("device user id"), 32)
    staff = _form("staff", _("staff code"), 40)
    # Outside the scope first (404, as for what does not exist), then the role (403).
    require_device(session, account, device)
    require_staff(session, account, staff)
    require_permission(account, Permission.MANAGE_ENROLLMENTS)
    _enrol(device, user_id, staff)
    return redirect(url_for(".staff_list"), 303)


def _enrol(device: str, user_id: str, staff: str) -> None:
    session = get_session()
    try:
        done = enrol(session, device, user_id, staff, actor=actor(), transfer=request.form.get("transfer") == "yes")
    except (Conflict, InvalidInput) as exc:
        session.rollback()
        flash(_("Not enrolled: {reason}", reason=str(exc)))
        return
    session.commit()
    flash(_("User id {user_id} on {device} now belongs to {staff} ({name}).", user_id=done.user_id,
            device=done.device, staff=done.staff_code, name=done.staff_name))


@bp.route("/staff/<code>/enrollments", methods=["GET"])
def staff_enrollments(code: str) -> str:
    """Chấm công của một người: the device user ids enrolled for a person, with enrol/unenrol forms."""
    session = get_session()
    account = current_account()
    require_staff(session, account, code)
    person = session.scalar(select(m.Staff).where(m.Staff.code == code))
    scope = scope_unit_codes(session, account)
    return render_template("staff_enrollments.html", person=person, enrollments=person_enrollments(session, code),
                           devices=devices_in_scope(session, scope), photo=photo_digests(session, [code]).get(code))


@bp.route("/staff/<code>/photo", methods=["GET"])
def staff_photo(code: str) -> Response:
    """The person's photo (JPEG) for signed-in users of the scope; 404 without one."""
    session = get_session()
    require_staff(session, current_account(), code)
    photo = get_photo(session, code)
    if photo is None:
        raise NotFound(_("staff member {code!r} has no photo", code=code[:40]))
    return photo_response(photo.content, photo.content_type, photo.sha256)


@bp.route("/staff/<code>/photo", methods=["POST"])
def change_staff_photo(code: str) -> Response:
    """Set (multipart field ``photo``) or remove (``action=remove``) a person's photo: manage_org."""
    session = get_session()
    account = current_account()
    require_staff(session, account, code)  # outside the scope: 404 before anything else
    require_permission(account, Permission.MANAGE_ORG)
    if request.form.get("action") == "remove":
        if remove_photo(session, code, actor=actor()):
            flash(_("The photo of {staff} was removed.", staff=code))
        session.commit()
        return redirect(url_for(".staff_enrollments", code=code), 303)
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        raise InvalidInput(_("form field 'photo': choose an image file"))
    data = upload.stream.read(MAX_PHOTO_BYTES + 1)  # one byte over the limit is enough to refuse
    try:
        set_photo(session, code, data, actor=actor())
    except InvalidInput as exc:
        session.rollback()
        flash(_("Photo not saved: {reason}", reason=str(exc)))
        return redirect(url_for(".staff_enrollments", code=code), 303)
    session.commit()
    flash(_("The photo of {staff} was saved.", staff=code))
    return redirect(url_for(".staff_enrollments", code=code), 303)


@bp.route("/staff/<code>/enrollments", methods=["POST"])
def change_enrollment(code: str) -> Response:
    """Enrol (form: action=enrol, device, user_id, transfer) or unenrol (action=unenrol, device, user_id)."""
    session = get_session()
    account = current_account()
    require_staff(session, account, code)
    action = request.form.get("action")
    device, user_id = _form("device", _("terminal"), 40), _form("user_id", _("device user id"), 32)
    require_device(session, account, device)
    require_permission(account, Permission.MANAGE_ENROLLMENTS)
    if action == "enrol":
        _enrol(device, user_id, code)
    elif action == "unenrol":
        done = unenrol(session, device, user_id, actor=actor())
        session.commit()
        flash(_("User id {user_id} on {device} no longer belongs to {staff}.", user_id=done.user_id,
                device=done.device, staff=done.staff_code))
    else:
        raise InvalidInput(_("form field 'action': expected enrol or unenrol"))
    return redirect(url_for(".staff_enrollments", code=code), 303)


@bp.route("/devices/<code>")
def device_page(code: str) -> str:
    """Một máy chấm công: health, pull history, import batches, clock offsets."""
    session = get_session()
    require_device(session, current_account(), code)
    return render_template("device_detail.html", d=device_detail(session, code), texts=PROBLEM_TEXT,
                           lang_index=1 if _english() else 0)


@bp.route("/schedules")
def schedules() -> str:
    """Lịch làm việc: the schedules of the scope and the calendar of a year (read only)."""
    session = get_session()
    scope = scope_unit_codes(session, current_account())
    year = check_year(_int_arg("year", dt.date.today().year))
    country, lines = calendar_of_year(session, year)
    lang = "en" if _english() else "vi"
    return render_template("schedules.html", schedules=schedules_in_scope(session, scope), year=year,
                           country=country, lines=lines, weekdays=WEEKDAYS[lang], sources=SOURCE_TEXT,
                           english=_english())


@bp.route("/audit")
def audit_log() -> str:
    """Nhật ký thay đổi: every change, newest first, with filters (entity, actor, days, key) and pages.

    Administrators only (read_audit): the log is the trail of the whole service, every unit in it.
    """
    require_permission(current_account(), Permission.READ_AUDIT)
    session = get_session()
    filters = {name: (request.args.get(name) or "").strip()[:200] for name in ("entity", "actor", "key")}
    since, until = _date_arg("since"), _date_arg("until")
    page = search_audit(session, entity=filters["entity"] or None, actor=filters["actor"] or None, since=since,
                        until=until, key_contains=filters["key"] or None, page=max(1, _int_arg("page", 1)),
                        per_page=PER_PAGE)
    query = {k: v for k, v in {**filters, "since": since.isoformat() if since else "",
                               "until": until.isoformat() if until else ""}.items() if v}
    return render_template("audit_log.html", page=page, filters=filters, since=since, until=until, query=query,
                           entities=audit_entities(session), describe=describe_changes)
