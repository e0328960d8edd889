"""Errors mapped to HTTP answers in one place: domain errors, busy databases, HTTP exceptions.

Terminal routes (``/iclock/...``) answer ``text/plain`` (a terminal logs the line at best);
the JSON API (``/api/...``) answers ``{"error": {"code": "...", "message": "..."}}``; pages
answer a short Vietnamese page with the site's layout.
"""

from __future__ import annotations

import json

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..db import is_busy_error
from ..errors import Busy, DomainError, InvalidInput
from ..i18n import _

#: Statuses with a page of their own under templates/errors/ (others use the generic one).
PAGES = {400, 403, 404, 413, 500, 503}
TITLES_VI = {
    400: "Yêu cầu không hợp lệ", 403: "Không được phép", 404: "Không tìm thấy", 405: "Phương thức không được hỗ trợ",
    409: "Xung đột dữ liệu", 413: "Dữ liệu gửi lên quá lớn", 429: "Quá nhiều yêu cầu", 500: "Lỗi máy chủ",
    502: "Máy chấm công không trả lời", 503: "Hệ thống đang bận",
}
#: Titles of the generic page for a status whose own page is about one cause (503: the busy database).
OTHER_TITLES_VI = {503: "Chức năng tạm thời không dùng được"}
#: The API's error codes for HTTP statuses that carry no domain error of their own.
API_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests",
    500: "server_error", 502: "terminal", 503: "busy",
}
#: Headers an error answer keeps from a werkzeug exception.
KEPT_HEADERS = ("retry-after", "allow", "www-authenticate")


def busy_message() -> str:
    """What a busy database answers, in the request's language (a terminal logs it as it is)."""
    return _("the database is busy (another writer holds a lock); try again shortly")


def for_terminal() -> bool:
    """Whether the request comes from a push terminal (answered in plain text)."""
    return request.blueprint == "adms" or request.path.startswith("/iclock/")


def for_api() -> bool:
    """Whether the request is one of the JSON API's (answered with the API's error shape)."""
    return request.blueprint == "api" or request.path == "/api" or request.path.startswith("/api/")


def answer(status: int, message: str, headers: dict[str, str] | None = None,
           code: str | None = None, own_page: bool = True) -> Response | tuple[str, int, dict[str, str]]:
    """The error answer for this request: plain text for terminals, JSON for the API, a page otherwise.

    ``own_page=False`` uses the generic page, for a status whose own page explains another cause.
    """
    headers = dict(headers or {})
    if for_terminal():
        return Response(f"{message}\n", status=status, mimetype="text/plain", headers=headers)
    if for_api():
        body = {"error": {"code": code or API_CODES.get(status, "error"), "message": message}}
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json",
                        headers=headers)
    name = f"errors/{status}.html" if status in PAGES and own_page else "errors/layout.html"
    title = TITLES_VI.get(status, "Lỗi") if own_page else OTHER_TITLES_VI.get(status, "Lỗi")
    try:
        page = render_template(name, status=status, title=title, message=message)
    except TemplateNotFound:  # pragma: no cover - the templates ship with the package
        page = message
    return page, status, headers


def _domain_error(exc: DomainError) -> Response | tuple[str, int, dict[str, str]]:
    retry_after = getattr(exc, "retry_after_seconds", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    status = exc.http_status
    if isinstance(exc, InvalidInput) and for_api():
        status = 422  # the API keeps 400 for bodies it cannot parse; this one parsed but is wrong
    # The 503 page explains a busy database; another unavailable part (no PDF renderer) says its own reason.
    own_page = status != 503 or isinstance(exc, Busy)
    return answer(status, str(exc).splitlines()[0] if str(exc) else exc.code, headers, exc.code, own_page)


def _database_error(exc: DBAPIError) -> Response | tuple[str, int, dict[str, str]]:
    if is_busy_error(exc):
        # Terminals resend on any non-200: a 503 with Retry-After loses nothing, a 500 alarms.
        return _domain_error(Busy(busy_message()))
    raise exc  # anything else is a bug: Flask logs it and answers 500 through _http_error


def _http_error(exc: HTTPException) -> HTTPException | Response | tuple[str, int, dict[str, str]]:
    if exc.code is None or exc.code < 400:
        return exc  # routing redirects are HTTPExceptions too
    headers = {key: value for key, value in exc.get_headers() if key.lower() in KEPT_HEADERS}
    # A 500's description is generic on purpose: details go to the log, not to the client.
    return answer(exc.code, exc.description or exc.name, headers)


def _csrf_error(_exc: CSRFError) -> Response | tuple[str, int, dict[str, str]]:
    return answer(400, _("the form has expired or did not come from this site: reload the page and try again"))


def register_error_handlers(app: Flask) -> None:
    """Map DomainError (by its http_status), busy databases (503) and HTTP errors for every route."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(HTTPException, _http_error)
