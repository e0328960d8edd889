"""Giấy tờ vắng mặt: a person's excuses (leave, business trip, training...), with their scanned documents.

Every route needs the person in the user's scope (404 otherwise, as for someone who does
not exist) and the ``manage_excuses`` permission (403): the documents are often medical.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from .. import excuses
from .. import models as m
from ..accounts import Permission, require_permission, require_staff
from ..engine import EXCUSE_KINDS
from ..errors import InvalidInput
from ..i18n import _
from .auth import actor, current_account
from .pages import bp
from .session import get_session

MAX_MOMENT_TEXT = 40  # characters of a date and time field; more is not a date


def _guard(code: str) -> None:
    session = get_session()
    account = current_account()
    require_staff(session, account, code)  # outside the scope: 404
    require_permission(account, Permission.MANAGE_EXCUSES)


def _own_excuse(code: str, excuse_id: int) -> excuses.ExcuseRecord:
    _guard(code)
    record = excuses.get_excuse(get_session(), excuse_id)
    if record.staff_code != code:  # an id of somebody else's excuse: as if it did not exist
        raise excuses.UnknownExcuse(f"no excuse {excuse_id}")
    return record


def _moment(field: str) -> dt.datetime:
    text = (request.form.get(field) or "").strip()
    if not text:
        raise InvalidInput(_("{field}: a date and time is required", field=field))
    if len(text) > MAX_MOMENT_TEXT:
        raise InvalidInput(_("{field}: not a date and time ({length} characters)", field=field, length=len(text)))
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("{field}: {value!r} is not a date and time YYYY-MM-DDTHH:MM", field=field,
                             value=text)) from None


def _document() -> excuses.DocumentUpload | None:
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        return None
    # One byte past the limit is enough for the use case to refuse it, whatever the file's size.
    data = upload.stream.read(excuses.MAX_DOCUMENT_BYTES + 1)
    return excuses.DocumentUpload(upload.filename, upload.mimetype or "", data)


def _page(code: str, editing: excuses.ExcuseRecord | None = None) -> str:
    session = get_session()
    name = session.scalar(select(m.Staff.name).where(m.Staff.code == code)) or code
    return render_template("excuses.html", code=code, name=name, records=excuses.list_excuses(session, code),
                           kinds=EXCUSE_KINDS, editing=editing)


@bp.route("/staff/<code>/excuses")
def staff_excuses(code: str) -> str:
    """A person's excuses, withdrawn ones flagged, with the form to add one."""
    _guard(code)
    return _page(code)


@bp.route("/staff/<code>/excuses", methods=["POST"])
def create_excuse(code: str) -> BaseResponse:
    """Add an excuse (form: kind, start, end, reference, optional document)."""
    _guard(code)
    session = get_session()
    record = excuses.create_excuse(session, code, request.form.get("kind") or "", _moment("start"), _moment("end"),
                                   request.form.get("reference") or "", actor=actor(), document=_document())
    session.commit()
    flash(_("Excuse {id} recorded.", id=record.id))
    return redirect(url_for(".staff_excuses", code=code), 303)


@bp.route("/staff/<code>/excuses/<int:excuse_id>/edit", methods=["GET", "POST"])
def edit_excuse(code: str, excuse_id: int) -> str | BaseResponse:
    """Change an excuse's kind, interval, reference or document."""
    record = _own_excuse(code, excuse_id)
    if request.method == "GET":
        return _page(code, editing=record)
    session = get_session()
    excuses.edit_excuse(session, excuse_id, actor=actor(), kind=request.form.get("kind") or "",
                        start=_moment("start"), end=_moment("end"), reference=request.form.get("reference") or "",
                        document=_document())
    session.commit()
    flash(_("Excuse {id} changed.", id=excuse_id))
    return redirect(url_for(".staff_excuses", code=code), 303)


@bp.route("/staff/<code>/excuses/<int:excuse_id>/withdraw", methods=["POST"])
def withdraw_excuse(code: str, excuse_id: int) -> BaseResponse:
    """Withdraw an excuse (form: reason): it stays listed and counts for nothing."""
    _own_excuse(code, excuse_id)
    session = get_session()
    excuses.withdraw_excuse(session, excuse_id, request.form.get("reason") or "", actor=actor())
    session.commit()
    flash(_("Excuse {id} withdrawn.", id=excuse_id))
    return redirect(url_for(".staff_excuses", code=code), 303)


@bp.route("/staff/<code>/excuses/<int:excuse_id>/document")
def excuse_document(code: str, excuse_id: int) -> Response:
    """The scanned document of an excuse, as a download."""
    _own_excuse(code, excuse_id)
    document = excuses.excuse_document(get_session(), excuse_id)
    answer = Response(document.data, mimetype=document.content_type)
    # A download, never shown inline: a PDF opened inside the site would run with its origin.
    answer.headers.set("Content-Disposition", "attachment", filename=document.filename)
    return answer
