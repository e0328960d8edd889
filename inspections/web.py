"""HTTP for spot checks: pages on the ``inspections`` blueprint (/inspections), the sync API on
``inspections_api`` (/api/v1) with the API's bearer tokens, limits and error shape.

Views are thin: parse the request, call ``inspections.services`` with the request's Session,
commit, answer. ``init_app(app)`` registers both blueprints and describes the API routes in
the OpenAPI document. The tablet names itself with the header ``X-Tablet-Id`` (kept in the
audit log as ``device``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request

from attendance import api as public
from attendance.accounts import require_unit
from attendance.i18n import _
from attendance.web import openapi
from attendance.web.api import (
    api_account,
    as_json,
    code_param,
    date_param,
    invalid,
    json_body,
    json_object,
    month_param,
    protect,
    query,
)
from attendance.web.session import get_session

from . import checklists, services

bp = Blueprint("inspections", __name__, url_prefix="/inspections", template_folder="templates")
api_bp = protect(Blueprint("inspections_api", __name__, url_prefix="/api/v1"))

TABLET_HEADER = "X-Tablet-Id"


def init_app(app: Flask) -> None:
    """Register the pages and the sync API (CSRF-exempt: bearer tokens, no cookies) and describe it."""
    from . import (
        discipline_web,  # the register of discipline decisions: page, downloads, API routes
        report_web,  # registers the monthly report's page and API route on the blueprints
    )

    app.extensions["csrf"].exempt(api_bp)
    from . import review_web  # the team lead's pages register on bp: before bp is registered

    review_web.init_review(app)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    openapi.add_paths(PATHS, SCHEMAS)
    openapi.add_paths(report_web.PATHS)
    openapi.add_paths(discipline_web.PATHS, discipline_web.SCHEMAS)


def _tablet() -> str | None:
    return request.headers.get(TABLET_HEADER)


def _uuid(value: str) -> str:
    return services.check_uuid(value)


# ------------------------------------------------------------------ reads for the tablet


@api_bp.get("/units/<code>/staff")
def unit_staff(code: str) -> Response:
    """Everyone of the unit (and the units under it) employed that day, by Vietnamese name."""
    session = get_session()
    code = code_param("code", code)
    require_unit(session, api_account(), code)
    day = date_param("date", query("date"))
    people = public.sort_by_name(public.staff_of_unit(session, code, day), lambda s: s.name)
    photos = public.staff_photo_urls(session, [s.code for s in people])
    return as_json([{"code": s.code, "name": s.name, "position": s.position, "photo": photos.get(s.code)}
                    for s in people])


@api_bp.get("/checklist-templates")
def checklist_templates() -> Response:
    """The newest version of every checklist template."""
    return as_json(checklists.current_templates(get_session()))


@api_bp.get("/checklist-templates/<code>/<version>")
def checklist_template(code: str, version: str) -> Response:
    """One version of a checklist template."""
    code = code_param("code", code)
    if not version.isascii() or not version.isdigit() or len(version) > 7 or int(version) < 1:
        invalid("version", _("expected a whole number from 1"))
    return as_json(checklists.get_template(get_session(), code, int(version)))


# ------------------------------------------------------------------ spot checks


@api_bp.get("/spot-checks")
def spot_checks() -> Response:
    """Spot checks of a month in the scope (or of a unit and the units under it)."""
    session = get_session()
    unit = query("unit")
    month = month_param("month", query("month"))
    return as_json(services.list_spot_checks(session, api_account(),
                                             None if unit is None else code_param("unit", unit), month))


@api_bp.put("/spot-checks/<uuid>")
def put_spot_check(uuid: str) -> Response:
    """201 the first time, 200 for a replay or a new draft version, 409 once submitted or locked."""
    uuid = _uuid(uuid)
    content = json_body()
    session = get_session()
    record, created = services.put_spot_check(session, api_account(), uuid, content, _tablet())
    session.commit()
    return as_json(record.document(), 201 if created else 200)


@api_bp.get("/spot-checks/<uuid>")
def get_spot_check(uuid: str) -> Response:
    """The record: state, version, attachments still missing, current content."""
    return as_json(services.get_spot_check(get_session(), api_account(), _uuid(uuid)).document())


@api_bp.put("/spot-checks/<uuid>/attachments/<name>")
def put_attachment(uuid: str, name: str) -> Response:
    """The raw bytes of an announced attachment: 201 first, 200 for the same bytes again."""
    uuid = _uuid(uuid)
    data = request.get_data(cache=False)
    session = get_session()
    answer, created = services.put_attachment(session, api_account(), uuid, name, data, request.mimetype or None,
                                              _tablet())
    session.commit()
    return as_json(answer, 201 if created else 200)


@api_bp.post("/spot-checks/<uuid>/submit")
def submit(uuid: str) -> Response:
    """draft → submitted (an inspector of the team); again: 200, no change."""
    uuid = _uuid(uuid)
    session = get_session()
    record, _changed = services.submit(session, api_account(), uuid, _tablet())
    session.commit()
    return as_json(record.document())


@api_bp.post("/spot-checks/<uuid>/approve")
def approve(uuid: str) -> Response:
    """submitted → locked (a team lead); again: 200, no change."""
    uuid = _uuid(uuid)
    session = get_session()
    record, _changed = services.approve(session, api_account(), uuid, _tablet())
    session.commit()
    return as_json(record.document())


@api_bp.post("/spot-checks/<uuid>/send-back")
def send_back(uuid: str) -> Response:
    """submitted → draft with the lead's comment."""
    uuid = _uuid(uuid)
    data = json_object(("comment",))
    session = get_session()
    record = services.send_back(session, api_account(), uuid, data.get("comment"), _tablet())
    session.commit()
    return as_json(record.document())


@api_bp.post("/spot-checks/<uuid>/corrections")
def corrections(uuid: str) -> Response:
    """A correction of a locked record: a new version (201); 409 when replaces_version is not current."""
    uuid = _uuid(uuid)
    data = json_object(("replaces_version", "content", "reason"))
    session = get_session()
    record, created = services.correct(session, api_account(), uuid, data.get("replaces_version"),
                                       data.get("content"), data.get("reason"), _tablet())
    session.commit()
    return as_json(record.document(), 201 if created else 200)


@api_bp.get("/spot-checks/<uuid>/reconciliation")
def reconciliation(uuid: str) -> Response:
    """Mismatches between the headcount and the punch ledger, with both sides' evidence."""
    return as_json(services.reconciliation(get_session(), api_account(), _uuid(uuid)))


@api_bp.post("/spot-checks/<uuid>/reconciliation/<staff>")
def resolve(uuid: str, staff: str) -> Response:
    """Resolve a person's mismatch with a note (201 first, 200 for the same note again)."""
    uuid = _uuid(uuid)
    staff = code_param("staff", staff)
    data = json_object(("note",))
    session = get_session()
    mismatch, created = services.resolve(session, api_account(), uuid, staff, data.get("note"))
    session.commit()
    return as_json(mismatch, 201 if created else 200)


# ------------------------------------------------------------------ OpenAPI


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


TEXT: dict[str, Any] = {"type": "string"}
NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
UUID_PARAM = {"name": "uuid", "in": "path", "required": True, "description": "The UUID the tablet minted",
              "schema": {"type": "string", "format": "uuid"}}
TABLET_PARAM = {"name": TABLET_HEADER, "in": "header", "required": False,
                "description": "The tablet's own install id (kept in the audit log)", "schema": {"type": "string"}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": openapi.ERRORS[str(s)], "content": {openapi.JSON: {"schema": _ref("Error")}}}
            for s in (401, 503, *statuses)}


def _ok(description: str, schema: dict[str, Any], *statuses: str) -> dict[str, Any]:
    return {s: {"description": description, "content": {openapi.JSON: {"schema": schema}}}
            for s in statuses or ("200",)}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {openapi.JSON: {"schema": schema}}}


SCHEMAS: dict[str, Any] = {
    "StaffOfDay": {
        "type": "object", "required": ["code", "name", "position", "photo"],
        "properties": {"code": TEXT, "name": TEXT, "position": TEXT, "photo": NULLABLE_TEXT},
    },
    "ChecklistTemplate": {
        "type": "object", "required": ["code", "version", "title", "items"],
        "properties": {"code": TEXT, "version": {"type": "integer"}, "title": TEXT, "items": {
            "type": "array", "items": {
                "type": "object", "required": ["code", "label_vi", "label_en", "scope", "weight", "scored"],
                "properties": {"code": TEXT, "label_vi": TEXT, "label_en": TEXT,
                               "scope": {"enum": ["unit", "person"]}, "weight": {"type": "number"},
                               "scored": {"type": "boolean"}}}}},
    },
    "SpotCheckContent": {
        "type": "object",
        "description": "The spot check as the tablet writes it (inspections.md): unit, started_at, ended_at, "
                       "headcount_at, team, lead, legal_basis, gps, template {code, version}, headcount "
                       "[{staff, status, reference, note, arrived_at, left_at}], findings [{item, staff, result, "
                       "score, note, count, apology_sent, attachment}], actions [{description, assignee, due, "
                       "status, done_at}], attachments [{name, sha256, size, content_type, item}]. Unknown "
                       "fields are refused (422).",
        "required": ["unit", "started_at", "headcount_at", "team", "lead", "template", "headcount"],
        "properties": {
            "unit": TEXT, "started_at": TEXT, "ended_at": NULLABLE_TEXT, "headcount_at": TEXT,
            "team": {"type": "array", "items": TEXT}, "lead": TEXT, "legal_basis": NULLABLE_TEXT,
            "gps": {"type": ["object", "null"]},
            "template": {"type": "object", "required": ["code", "version"],
                         "properties": {"code": TEXT, "version": {"type": "integer"}}},
            "headcount": {"type": "array", "items": {"type": "object"}},
            "findings": {"type": "array", "items": {"type": "object"}},
            "actions": {"type": "array", "items": {"type": "object"}},
            "attachments": {"type": "array", "items": {"type": "object"}},
        },
    },
    "SpotCheck": {
        "type": "object", "required": ["uuid", "state", "version", "missing_attachments", "content"],
        "properties": {"uuid": TEXT, "state": {"enum": ["draft", "submitted", "locked"]},
                       "version": {"type": "integer", "minimum": 1},
                       "missing_attachments": {"type": "array", "items": TEXT}, "content": {"type": "object"}},
    },
    "SpotCheckSummary": {
        "type": "object",
        "required": ["uuid", "unit", "state", "version", "started_at", "ended_at", "headcount_at", "lead", "team"],
        "properties": {"uuid": TEXT, "unit": TEXT, "state": {"enum": ["draft", "submitted", "locked"]},
                       "version": {"type": "integer"}, "started_at": TEXT, "ended_at": NULLABLE_TEXT,
                       "headcount_at": TEXT, "lead": TEXT, "team": {"type": "array", "items": TEXT},
                       "created_at": TEXT, "updated_at": TEXT},
    },
    "AttachmentStored": {
        "type": "object", "required": ["name", "sha256", "size", "content_type", "missing_attachments"],
        "properties": {"name": TEXT, "sha256": TEXT, "size": {"type": "integer"}, "content_type": NULLABLE_TEXT,
                       "missing_attachments": {"type": "array", "items": TEXT}},
    },
    "Mismatch": {
        "type": "object", "required": ["staff", "kind", "observed", "punches", "resolution"],
        "properties": {
            "staff": TEXT,
            "kind": {"enum": ["present_without_punch", "absent_with_punch", "excused_with_punch"]},
            "observed": {"type": "object", "required": ["status", "note", "reference", "arrived_at"],
                         "properties": {"status": TEXT, "note": NULLABLE_TEXT, "reference": NULLABLE_TEXT,
                                        "arrived_at": NULLABLE_TEXT}},
            "session": {"type": "object", "properties": {"opens": TEXT, "closes": TEXT}},
            "punches": {"type": "array", "items": {"type": "object", "required": ["time", "device"],
                                                   "properties": {"time": TEXT, "device": TEXT,
                                                                  "device_time": NULLABLE_TEXT}}},
            "resolution": {"type": ["object", "null"], "properties": {"note": TEXT, "by": TEXT, "at": TEXT}},
        },
    },
}

_RECORD = _ref("SpotCheck")
PATHS: dict[str, Any] = {
    "/units/{code}/staff": {"get": {
        "operationId": "unitStaff", "summary": "Staff of a unit (and the units under it) employed on a day",
        "parameters": [openapi.param("code", "path", "Unit code"),
                       openapi.param("date", "query", "YYYY-MM-DD", pattern=openapi.DATE_PATTERN)],
        "responses": {**_ok("By Vietnamese name: the people a headcount must list",
                            {"type": "array", "items": _ref("StaffOfDay")}), **_errors(404, 422)},
    }},
    "/checklist-templates": {"get": {
        "operationId": "listChecklistTemplates", "summary": "The newest version of every checklist template",
        "responses": {**_ok("Templates by code", {"type": "array", "items": _ref("ChecklistTemplate")}),
                      **_errors()},
    }},
    "/checklist-templates/{code}/{version}": {"get": {
        "operationId": "getChecklistTemplate", "summary": "One version of a checklist template",
        "parameters": [openapi.param("code", "path", "Template code"),
                       openapi.param("version", "path", "Version number", pattern=r"^[0-9]+$")],
        "responses": {**_ok("The template", _ref("ChecklistTemplate")), **_errors(404, 422)},
    }},
    "/spot-checks": {"get": {
        "operationId": "listSpotChecks", "summary": "Spot checks started in a month, in the scope",
        "parameters": [openapi.param("unit", "query", "Unit code (with the units under it)", False),
                       openapi.param("month", "query", "YYYY-MM", pattern=openapi.MONTH_PATTERN)],
        "responses": {**_ok("By start", {"type": "array", "items": _ref("SpotCheckSummary")}),
                      **_errors(404, 422)},
    }},
    "/spot-checks/{uuid}": {
        "put": {
            "operationId": "putSpotCheck",
            "summary": "Store a spot check: 201 first, 200 replay or new draft version, 409 once submitted",
            "parameters": [UUID_PARAM, TABLET_PARAM],
            "requestBody": _json_body(_ref("SpotCheckContent")),
            "responses": {**_ok("The stored record", _RECORD, "200", "201"),
                          **_errors(400, 403, 404, 409, 413, 422)},
        },
        "get": {
            "operationId": "getSpotCheck", "summary": "A spot check with its state and missing attachments",
            "parameters": [UUID_PARAM],
            "responses": {**_ok("The record", _RECORD), **_errors(404, 422)},
        },
    },
    "/spot-checks/{uuid}/attachments/{name}": {"put": {
        "operationId": "putSpotCheckAttachment",
        "summary": "The bytes of an announced attachment: 201 first, 200 again; 422 when hash or size differ",
        "parameters": [UUID_PARAM, openapi.param("name", "path", "The announced file name"), TABLET_PARAM],
        "requestBody": {"required": True, "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}},
        "responses": {**_ok("Stored", _ref("AttachmentStored"), "200", "201"),
                      **_errors(403, 404, 413, 422)},
    }},
    "/spot-checks/{uuid}/submit": {"post": {
        "operationId": "submitSpotCheck", "summary": "draft → submitted (an inspector of the team)",
        "parameters": [UUID_PARAM, TABLET_PARAM],
        "responses": {**_ok("The record", _RECORD), **_errors(403, 404, 409, 422)},
    }},
    "/spot-checks/{uuid}/approve": {"post": {
        "operationId": "approveSpotCheck", "summary": "submitted → locked (a team lead)",
        "parameters": [UUID_PARAM, TABLET_PARAM],
        "responses": {**_ok("The record", _RECORD), **_errors(403, 404, 409, 422)},
    }},
    "/spot-checks/{uuid}/send-back": {"post": {
        "operationId": "sendBackSpotCheck", "summary": "submitted → draft with a comment (a team lead)",
        "parameters": [UUID_PARAM, TABLET_PARAM],
        "requestBody": _json_body({"type": "object", "additionalProperties": False, "required": ["comment"],
                                   "properties": {"comment": TEXT}}),
        "responses": {**_ok("The record", _RECORD), **_errors(400, 403, 404, 409, 413, 422)},
    }},
    "/spot-checks/{uuid}/corrections": {"post": {
        "operationId": "correctSpotCheck",
        "summary": "A correction of a locked record: a new version naming the one it replaces",
        "parameters": [UUID_PARAM, TABLET_PARAM],
        "requestBody": _json_body({"type": "object", "additionalProperties": False,
                                   "required": ["replaces_version", "content", "reason"],
                                   "properties": {"replaces_version": {"type": "integer"},
                                                  "content": _ref("SpotCheckContent"), "reason": TEXT}}),
        "responses": {**_ok("The corrected record (200: this correction again)", _RECORD, "200", "201"),
                      **_errors(400, 403, 404, 409, 413, 422)},
    }},
    "/spot-checks/{uuid}/reconciliation": {"get": {
        "operationId": "spotCheckReconciliation", "summary": "Mismatches between the headcount and the punches",
        "parameters": [UUID_PARAM],
        "responses": {**_ok("In headcount order", {"type": "array", "items": _ref("Mismatch")}),
                      **_errors(404, 422)},
    }},
    "/spot-checks/{uuid}/reconciliation/{staff}": {"post": {
        "operationId": "resolveMismatch", "summary": "Resolve a person's mismatch with a note",
        "parameters": [UUID_PARAM, openapi.param("staff", "path", "Staff code")],
        "requestBody": _json_body({"type": "object", "additionalProperties": False, "required": ["note"],
                                   "properties": {"note": TEXT}}),
        "responses": {**_ok("The mismatch with its resolution", _ref("Mismatch"), "200", "201"),
                      **_errors(400, 403, 404, 409, 413, 422)},
    }},
}
