"""HTTP for the monthly report: the page ``inspections.reports`` (month and unit, key figures,
charts, downloads) on the ``inspections`` blueprint, and ``GET /api/v1/reports/monthly`` on
``inspections_api``.

Views are thin: the rules (scope 404, role 403, a unit for a limited account) are
``inspections.report.report_unit``; the report itself is ``report_for`` / ``report_file``.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from typing import Any

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request, url_for

from attendance import api as public
from attendance.accounts import in_scope, scope_unit_codes
from attendance.i18n import _, current_language
from attendance.web.api import api_account, code_param, invalid, month_param, query
from attendance.web.auth import current_account
from attendance.web.session import get_session

from .report import FORMATS, MEDIA_TYPES, jobs, report_file, report_for, report_unit
from .report.charts import report_charts
from .web import _errors, api_bp, bp

#: The formats the API hands out (PDF needs LibreOffice on the server: 503 saying so without it).
API_FORMATS = FORMATS


def report_config() -> dict[str, Any]:
    """The instance's REPORT_* settings, as the command line reads them from the config file."""
    return {k: v for k, v in current_app.config.items() if k.startswith("REPORT_")}


def _choices() -> tuple[str, str | None]:
    """The month (default: the previous one) and unit of the page's query, checked (422 naming them)."""
    month = request.args.get("month") or f"{dt.date.today().replace(day=1) - dt.timedelta(days=1):%Y-%m}"
    unit = request.args.get("unit") or None
    return month_param("month", month), None if unit is None else code_param("unit", unit)


def _download(content: bytes, name: str, fmt: str) -> Response:
    response = Response(content, mimetype=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/reports")
def reports() -> str:
    """Báo cáo tháng: choose month and unit, see the key figures and charts, download the files."""
    session = get_session()
    account = current_account()
    month, unit = _choices()
    unit = report_unit(session, account, unit)
    data = report_for(session, account, month, unit, report_config())
    scope = scope_unit_codes(session, account)
    units = [u for u in public.unit_tree(session) if in_scope(scope, u.code)]
    # The charts travel inside the page (data: URIs, allowed by the CSP): a separate image route
    # would gather the whole report again for every chart.
    charts = [(c.caption, base64.b64encode(c.png).decode("ascii")) for c in report_charts(data)]
    return render_template("inspections/reports.html", data=data, month=month, unit=unit, units=units,
                           charts=charts, formats=FORMATS,
                           all_units=scope is None)


@bp.get("/reports/file")
def report_download() -> Response:
    """The report as docx, xlsx or pdf."""
    session = get_session()
    month, unit = _choices()
    fmt = request.args.get("format") or "docx"
    content, name = report_file(session, current_account(), month, unit, fmt[:20], report_config())
    return _download(content, name, fmt)


_WORKER_LOCK = threading.Lock()


def report_worker(app: Flask) -> jobs.ReportWorker:
    """The application's report worker (started on first use)."""
    with _WORKER_LOCK:
        found = app.extensions.get("report_worker")
        if found is None:
            found = app.extensions["report_worker"] = jobs.ReportWorker(app.config["DATABASE_URL"])
        return found


@bp.post("/reports/jobs")
def report_job_start() -> Response:
    """Queue the report (form: month, unit, format) in the background and go to its progress page."""
    session = get_session()
    account = current_account()
    unit = (request.form.get("unit") or "").strip()[:100] or None
    unit = report_unit(session, account, unit)  # scope 404, then role 403, before the other fields
    month = month_param("month", (request.form.get("month") or "").strip()[:20] or None)
    fmt = (request.form.get("format") or "docx").strip()[:20]
    job_id = jobs.create_report_job(session, account, month, unit, fmt)
    session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    report_worker(app).submit(job_id, report_config(), current_language())
    return redirect(url_for(".report_job_page", report_job=job_id), 303)


@bp.get("/reports/jobs/<int:report_job>")
def report_job_page(report_job: int) -> str:
    """A report being built: its progress bar (job_progress.js polls the JSON), then the download."""
    job = jobs.report_job_info(get_session(), current_account(), report_job)
    return render_template("inspections/report_job.html", job=job)


@bp.get("/reports/jobs/<int:report_job>.json")
def report_job_status(report_job: int) -> Response:
    """A report job's progress as JSON (polled by job_progress.js); ``file_url`` once it is done."""
    info = jobs.report_job_info(get_session(), current_account(), report_job)
    body = info.as_dict()
    body["file_url"] = url_for(".report_job_file", report_job=report_job) if info.state == "done" else None
    return jsonify(body)


@bp.get("/reports/jobs/<int:report_job>/file")
def report_job_file(report_job: int) -> Response:
    """The finished report; before it is done, its progress page."""
    found = jobs.report_job_file(get_session(), current_account(), report_job)
    if found is None:
        return redirect(url_for(".report_job_page", report_job=report_job), 303)
    content, name, fmt = found
    return _download(content, name, fmt)


@api_bp.get("/reports/monthly")
def api_monthly_report() -> Response:
    """The monthly report as a Word document or a workbook (bearer token; team lead or admin)."""
    session = get_session()
    month = month_param("month", query("month"))
    unit = query("unit")
    unit = None if unit is None else code_param("unit", unit)
    fmt = query("format") or "docx"
    if fmt not in API_FORMATS:
        invalid("format", _("expected one of {formats}, got {value!r}", formats=", ".join(API_FORMATS),
                            value=fmt[:20]))
    content, name = report_file(session, api_account(), month, unit, fmt, report_config())
    return _download(content, name, fmt)


PATHS: dict[str, Any] = {
    "/reports/monthly": {"get": {
        "operationId": "monthlyReport",
        "summary": "The inspection team's monthly report of a unit (and the units under it), docx, xlsx or pdf",
        "parameters": [
            {"name": "month", "in": "query", "required": True, "description": "YYYY-MM",
             "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}},
            {"name": "unit", "in": "query", "required": False,
             "description": "Unit code; required for a token limited to several units",
             "schema": {"type": "string"}},
            {"name": "format", "in": "query", "required": False,
             "description": "docx (default), xlsx or pdf (503 when the server has no LibreOffice)",
             "schema": {"enum": list(API_FORMATS)}},
        ],
        "responses": {
            "200": {"description": "The report file", "content": {
                MEDIA_TYPES[f]: {"schema": {"type": "string", "format": "binary"}} for f in API_FORMATS}},
            **_errors(403, 404, 422),
        },
    }},
}
