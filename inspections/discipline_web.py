"""HTTP for the register of discipline decisions: the page ``inspections.discipline`` (list in
scope, record, annul, download the half-yearly publication list) and, on ``inspections_api``,
``GET /api/v1/discipline-decisions`` and ``GET /api/v1/reports/publication``.

Views are thin: the rules (scope 404, role 403, each refusal naming its field) are those of
``inspections.discipline``; the files are ``inspections.report.publication.publication_file``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from attendance import api as public
from attendance.accounts import Permission, scope_unit_codes
from attendance.i18n import _
from attendance.web.api import api_account, as_json, code_param, date_param, invalid, query
from attendance.web.auth import actor, current_account
from attendance.web.session import get_session

from . import discipline as use_cases
from .report import MEDIA_TYPES
from .report.publication import FORMATS, publication_file
from .report_web import _download, report_config
from .web import _errors, _ok, _ref, api_bp, bp

FORM_FIELDS = ("staff", "number", "date", "form", "issued_by", "reason", "spot_check")


def _form_words() -> dict[str, str]:
    return {"reprimand": _("Reprimand"), "warning": _("Warning"), "salary_grade_delay": _("Salary grade delay"),
            "demotion": _("Demotion"), "dismissal_from_post": _("Dismissal from post"),
            "forced_resignation": _("Forced resignation")}


def _optional_day(name: str) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    return date_param(name, value[:20]) if value else None


def _unit() -> str | None:
    value = (request.args.get("unit") or "").strip()
    return code_param("unit", value) if value else None


def _half() -> str:
    value = (request.args.get("half") or "").strip()
    return use_cases.parse_half(value[:20]).label if value else use_cases.current_half().label


def _may_record() -> bool:
    account = current_account()
    return account.may(Permission.REVIEW_SPOT_CHECKS) or account.may(Permission.BUILD_REPORTS)


@bp.get("/discipline")
def discipline() -> str:
    """Kỷ luật: the decisions in scope (annulled ones marked), the form to record one, the publication list."""
    session = get_session()
    account = current_account()
    first, last, unit = _optional_day("from"), _optional_day("to"), _unit()
    rows = use_cases.decisions(session, account, first, last, unit)
    scope = scope_unit_codes(session, account)
    units = [u for u in public.unit_tree(session) if scope is None or u.code in scope]
    return render_template("inspections/discipline.html", rows=rows, units=units, unit=unit,
                           first=first.isoformat() if first else "", last=last.isoformat() if last else "",
                           half=_half(), formats=FORMATS, forms=_form_words(), may_record=_may_record(),
                           today=dt.date.today().isoformat())


@bp.post("/discipline")
def discipline_record() -> Response:
    """Record a decision from the form (team lead, admin); the same one again changes nothing."""
    session = get_session()
    fields = {name: request.form.get(name, "")[:5000] for name in FORM_FIELDS if request.form.get(name)}
    row, created = use_cases.record_decision(session, current_account(), fields, actor())
    session.commit()
    flash(_("Decision {number} of {name} recorded.", number=row.number, name=row.name) if created else
          _("Decision {number} of {name} was already recorded: nothing changed.", number=row.number, name=row.name))
    return redirect(url_for("inspections.discipline"), 303)


@bp.post("/discipline/<int:decision_id>/annul")
def discipline_annul(decision_id: int) -> Response:
    """Annul a decision with a reason: it stays in the register and leaves the publication list."""
    session = get_session()
    row, changed = use_cases.withdraw_decision(session, current_account(), decision_id,
                                               (request.form.get("reason") or "")[:5000], actor())
    session.commit()
    if changed:
        flash(_("Decision {number} of {name} annulled.", number=row.number, name=row.name))
    return redirect(url_for("inspections.discipline"), 303)


@bp.get("/discipline/publication")
def discipline_publication() -> Response:
    """The half-yearly publication list as docx or xlsx."""
    fmt = (request.args.get("format") or "docx")[:20]
    content, name = publication_file(get_session(), current_account(), _half(), _unit(), fmt, report_config())
    return _download(content, name, fmt)


@api_bp.get("/discipline-decisions")
def api_discipline_decisions() -> Response:
    """Decisions in the token's scope, by date (annulled ones included and marked)."""
    first, last, unit = query("from"), query("to"), query("unit")
    rows = use_cases.decisions(get_session(), api_account(),
                               None if first is None else date_param("from", first),
                               None if last is None else date_param("to", last),
                               None if unit is None else code_param("unit", unit))
    return as_json([r.document() for r in rows])


@api_bp.get("/reports/publication")
def api_publication() -> Response:
    """The half-yearly publication list as a Word document or a workbook (bearer token)."""
    half = query("half")
    if half is None:
        invalid("half", _("required (YYYY-H1 or YYYY-H2)"))
    period = use_cases.parse_half(half[:20])
    unit = query("unit")
    fmt = query("format") or "docx"
    if fmt not in FORMATS:
        invalid("format", _("expected one of {formats}, got {value!r}", formats=", ".join(FORMATS), value=fmt[:20]))
    content, name = publication_file(get_session(), api_account(), period.label,
                                     None if unit is None else code_param("unit", unit), fmt, report_config())
    return _download(content, name, fmt)


TEXT = {"type": "string"}
NULLABLE = {"type": ["string", "null"]}
SCHEMAS: dict[str, Any] = {
    "DisciplineDecision": {
        "type": "object",
        "required": ["id", "staff", "name", "position", "unit", "unit_name", "number", "date", "form", "form_label",
                     "issued_by", "reason", "spot_check", "created_at", "created_by", "annulled_at", "annulled_by",
                     "annul_reason"],
        "properties": {"id": {"type": "integer"}, "staff": TEXT, "name": TEXT, "position": TEXT, "unit": TEXT,
                       "unit_name": TEXT, "number": TEXT, "date": {"type": "string", "format": "date"},
                       "form": {"enum": list(use_cases.FORMS)}, "form_label": TEXT, "issued_by": TEXT,
                       "reason": TEXT, "spot_check": NULLABLE, "created_at": TEXT, "created_by": TEXT,
                       "annulled_at": NULLABLE, "annulled_by": NULLABLE, "annul_reason": NULLABLE},
    },
}
PATHS: dict[str, Any] = {
    "/discipline-decisions": {"get": {
        "operationId": "listDisciplineDecisions",
        "summary": "Discipline decisions in the scope dated from..to (annulled ones marked), by date",
        "parameters": [
            {"name": "from", "in": "query", "required": False, "description": "First day, YYYY-MM-DD",
             "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}},
            {"name": "to", "in": "query", "required": False, "description": "Last day, YYYY-MM-DD",
             "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}},
            {"name": "unit", "in": "query", "required": False, "description": "Unit code (with the units under it)",
             "schema": {"type": "string"}},
        ],
        "responses": {**_ok("By date", {"type": "array", "items": _ref("DisciplineDecision")}),
                      **_errors(404, 422)},
    }},
    "/reports/publication": {"get": {
        "operationId": "publicationList",
        "summary": "The half-yearly list of people with discipline decisions in force, docx or xlsx",
        "parameters": [
            {"name": "half", "in": "query", "required": True, "description": "YYYY-H1 or YYYY-H2",
             "schema": {"type": "string", "pattern": r"^\d{4}-H[12]$"}},
            {"name": "unit", "in": "query", "required": False, "description": "Unit code (with the units under it)",
             "schema": {"type": "string"}},
            {"name": "format", "in": "query", "required": False, "description": "docx (default) or xlsx",
             "schema": {"enum": list(FORMATS)}},
        ],
        "responses": {
            "200": {"description": "The list as a file", "content": {
                MEDIA_TYPES[f]: {"schema": {"type": "string", "format": "binary"}} for f in FORMATS}},
            **_errors(404, 422),
        },
    }},
}
