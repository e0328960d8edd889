"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``).

Written by hand next to the routes of ``api``; a test drives every operation with
schemathesis and checks that what the server answers matches it. Other parts of the API
(spot checks) describe their routes with ``add_paths``.
"""

from __future__ import annotations

import copy
from typing import Any

from ..engine import SUMMARY_FIELDS

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
COUNT = {"type": "integer", "minimum": 0}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "message": TEXT},
        }},
    },
    "Unit": {
        "type": "object",
        "required": ["code", "name", "kind", "parent"],
        "properties": {"code": TEXT, "name": TEXT, "kind": TEXT, "parent": NULLABLE_TEXT},
    },
    "SummaryRow": {
        "type": "object",
        "description": "One staff member's month (the fields of `attendance summary --format json`).",
        "required": ["staff_code", "name", "unit_code", "unit_name", *SUMMARY_FIELDS],
        "properties": {"staff_code": TEXT, "name": NULLABLE_TEXT, "unit_code": NULLABLE_TEXT,
                       "unit_name": NULLABLE_TEXT, **{field: COUNT for field in SUMMARY_FIELDS}},
    },
    "DayExplanation": {
        "type": "object",
        "description": "The document of `attendance explain --json`: calendar, schedule, sessions with "
                       "their verdicts and reasons (vi and en), punches, summary.",
        "required": ["staff_code", "date", "employed", "summary"],
        "properties": {"staff_code": TEXT, "date": {"type": "string", "format": "date"},
                       "employed": {"type": "boolean"}, "calendar": {"type": "object"},
                       "schedule": {"type": ["object", "null"]}, "sessions": {"type": "array"},
                       "punches": {"type": "array"}, "summary": {"type": "object"}},
    },
    "Punch": {
        "type": "object",
        "description": "One row of a terminal's ledger (`attendance punches --format json`); times are "
                       "`YYYY-MM-DD HH:MM:SS` as on the command line.",
        "required": ["user_id", "device_time", "corrected_time", "status", "verify", "work_code", "batch", "line"],
        "properties": {"user_id": TEXT, "device_time": TEXT, "corrected_time": TEXT, "status": NULLABLE_INT,
                       "verify": NULLABLE_INT, "work_code": {"type": ["string", "integer", "null"]},
                       "batch": {"type": "integer"}, "line": NULLABLE_INT},
    },
    "ImportReport": {
        "type": "object",
        "description": "What `attendance import --json` prints: read = inserted + duplicates + rejected.",
        "required": ["read", "inserted", "duplicates", "rejected", "unknown_users", "batch", "batches", "files",
                     "failed"],
        "properties": {"read": COUNT, "inserted": COUNT, "duplicates": COUNT, "rejected": COUNT,
                       "unknown_users": COUNT, "skipped": COUNT, "batch": {"type": "integer"},
                       "batches": {"type": "array", "items": {"type": "integer"}},
                       "files": {"type": "array", "items": {"type": "object"}},
                       "failed": {"type": "array", "items": TEXT}},
    },
    "Excuse": {
        "type": "object",
        "required": ["id", "staff", "kind", "start", "end", "reference", "live"],
        "properties": {"id": {"type": "integer"}, "staff": TEXT, "kind": TEXT, "start": TEXT, "end": TEXT,
                       "reference": TEXT, "live": {"type": "boolean"}, "document_name": NULLABLE_TEXT,
                       "document_type": NULLABLE_TEXT, "document_size": NULLABLE_INT,
                       "document_sha256": NULLABLE_TEXT, "withdrawn_at": NULLABLE_TEXT,
                       "withdrawn_by": NULLABLE_TEXT, "withdraw_reason": NULLABLE_TEXT},
    },
    "NewExcuse": {
        "type": "object",
        "additionalProperties": False,
        "required": ["staff", "kind", "start", "end", "reference"],
        "properties": {
            "staff": {"type": "string", "description": "Staff code"},
            "kind": {"type": "string", "description": "annual_leave, sick_leave, business_trip, training, ..."},
            "start": {"type": "string", "description": "Local time YYYY-MM-DDTHH:MM[:SS]", "examples": ["2026-10-05T07:00:00"]},
            "end": {"type": "string", "description": "Local time, after start", "examples": ["2026-10-07T17:00:00"]},
            "reference": {"type": "string", "description": "The decision or document, e.g. 12/QĐ-UBND"},
        },
    },
}

ERRORS = {
    "400": "The body cannot be parsed (not JSON, not multipart)",
    "401": "No token, or not a valid one",
    "403": "Inside the scope, but the role may not do this",
    "404": "Absent, or outside the token owner's scope",
    "409": "Contradicts what is stored",
    "413": "The body is larger than 16 MiB",
    "422": "A parameter or field has a wrong value; the message names it",
    "503": "The database is busy; try again after Retry-After seconds",
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": ERRORS[str(s)], "content": {JSON: {"schema": _ref("Error")}}}
            for s in (401, 503, *statuses)}


def _ok(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": schema}}}}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _param(name: str, where: str, description: str, required: bool = True,
           pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


param = _param  # other parts of the API describe their parameters with it

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
MONTH_PATTERN = r"^\d{4}-\d{2}$"

PATHS: dict[str, Any] = {
    "/units": {"get": {
        "operationId": "listUnits", "summary": "Units in the token owner's scope",
        "responses": {**_ok("Units, each followed by the units under it", _array("Unit")), **_errors()},
    }},
    "/units/{code}/summary": {"get": {
        "operationId": "unitSummary",
        "summary": "Monthly summary of a unit and every unit under it (attendance summary --format json)",
        "parameters": [_param("code", "path", "Unit code"),
                       _param("month", "query", "YYYY-MM", pattern=MONTH_PATTERN)],
        "responses": {**_ok("One object per staff member", _array("SummaryRow")), **_errors(404, 422)},
    }},
    "/staff/{code}/days/{date}": {"get": {
        "operationId": "explainDay", "summary": "The verdicts of one day with their explanation",
        "parameters": [_param("code", "path", "Staff code"),
                       _param("date", "path", "YYYY-MM-DD", pattern=DATE_PATTERN)],
        "responses": {**_ok("The explanation (attendance explain --json)", _ref("DayExplanation")),
                      **_errors(404, 422)},
    }},
    "/punches": {"get": {
        "operationId": "listPunches", "summary": "The raw ledger of one terminal",
        "parameters": [_param("device", "query", "Terminal code"),
                       _param("from", "query", "First day (YYYY-MM-DD, terminal time)", False, DATE_PATTERN),
                       _param("to", "query", "Last day (YYYY-MM-DD, terminal time)", False, DATE_PATTERN)],
        "responses": {**_ok("Punches by terminal time", _array("Punch")), **_errors(404, 422)},
    }},
    "/imports": {"post": {
        "operationId": "importFile", "summary": "Import a punch-log file exported from a terminal",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "device"],
            "properties": {"file": {"type": "string", "format": "binary"}, "device": {"type": "string"},
                           "format": {"type": "string", "description": "auto (default) or a parser's name"}},
        }}}},
        "responses": {**_ok("One batch (attendance import --json)", _ref("ImportReport")),
                      **_errors(400, 403, 404, 413, 422)},
    }},
    "/excuses": {
        "get": {
            "operationId": "listExcuses", "summary": "A staff member's excuses, withdrawn ones with live false",
            "parameters": [_param("staff", "query", "Staff code")],
            "responses": {**_ok("Excuses by start", _array("Excuse")), **_errors(404, 422)},
        },
        "post": {
            "operationId": "createExcuse", "summary": "Record an excuse (audited)",
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("NewExcuse")}}},
            "responses": {**_ok("The stored excuse", _ref("Excuse"), "201"),
                          **_errors(400, 403, 404, 409, 413, 422)},
        },
    },
}


def add_paths(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Describe more routes of the API (paths relative to /api/v1, schemas by name)."""
    PATHS.update(paths)
    SCHEMAS.update(schemas or {})


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Attendance API", "version": "1",
                 "description": "Attendance of commune offices. Every answer is filtered by the token owner's "
                                "scope; errors are {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": copy.deepcopy(PATHS),
        "components": {"schemas": copy.deepcopy(SCHEMAS),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
