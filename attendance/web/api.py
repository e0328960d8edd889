"""The JSON API under ``/api/v1/``: bearer tokens, one error shape, the CLI's JSON documents.

Every request carries ``Authorization: Bearer TOKEN`` (``attendance users token``); cookies are
never looked at, so a signed-in browser cannot call the API by accident, and no CSRF token is
needed. Everything is filtered by the token owner's scope: outside it, things do not exist
(404); inside it, an action the role may not take is 403. Errors, whatever raised them, have
one shape (``errors.answer``): ``{"error": {"code": "...", "message": "..."}}``; a body that
cannot be parsed is 400, a parsed one with a wrong value 422 naming the field or parameter.

The answers are those of the command line (``summary --format json``, ``explain --json``,
``punches --format json``, ``import --json``), built by the same functions. Other parts of the
API (spot checks) register routes on ``bp`` and describe them with ``openapi.add_paths``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from flask import Blueprint, Flask, Request, Response, abort, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from devices.parsers import FORMATS as PARSER_FORMATS

from .. import api as public
from ..accounts import (
    Account,
    Permission,
    account_by_token,
    in_scope,
    require_device,
    require_permission,
    require_staff,
    require_unit,
    scope_unit_codes,
)
from ..errors import InvalidInput
from ..i18n import LANGUAGES, _, use_request_language
from ..ledger import import_file, import_report, ledger_rows
from ..loader import check_period
from ..services import parse_month
from . import openapi
from .session import get_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")

T = TypeVar("T")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTH = re.compile(r"\d{4}-\d{2}")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
MAX_CODE = 100  # longer than any code column: such a code is malformed, not merely unknown
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ------------------------------------------------------------------ every request


class PagesOnlySessions(SecureCookieSessionInterface):
    """The pages' signed cookie session; API requests get none at all (never read, never set)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """No session under /api/ (Flask substitutes a read-only empty one), the cookie's otherwise."""
        if request.path.startswith("/api/"):
            return None
        return super().open_session(app, request)



def _authenticate() -> None:
    """Refuse oversized bodies unread, then find the token's account (401 without one)."""
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    if request.content_length is not None and request.content_length > limit:
        abort(413, _("the request body of {size} bytes is larger than the {limit} bytes allowed",
                     size=request.content_length, limit=limit))
    # Messages in the language the client asks for (Vietnamese unless it prefers English).
    use_request_language(request.accept_languages.best_match(LANGUAGES, default="vi"))
    if request.endpoint == "api.openapi_document":
        return  # the description of the API is public: it holds no data
    scheme, _sep, token = request.headers.get("Authorization", "").strip().partition(" ")
    session = get_session()
    account = account_by_token(session, token.strip()) if scheme.lower() == "bearer" else None
    session.commit()  # the token's last use
    if account is None:
        message = (_("a valid API token is required: Authorization: Bearer TOKEN")
                   if scheme else _("no API token: send Authorization: Bearer TOKEN"))
        raise Unauthorized(message, www_authenticate=WWWAuthenticate("bearer", {"realm": "attendance"}))
    g.api_account = account


def _no_store(response: Response) -> Response:
    # Answers hold people's records: not for shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def protect(blueprint: Blueprint) -> Blueprint:
    """Give a blueprint of /api/v1 routes the API's behaviour: body limit, bearer token, no-store.

    Errors already answer in the API's shape for every path under /api/ (``errors.answer``);
    the app must also exempt the blueprint from CSRF (``csrf.exempt``), as ``init_app`` does.
    """
    from .auth import SELF_AUTHENTICATING_BLUEPRINTS

    SELF_AUTHENTICATING_BLUEPRINTS.add(blueprint.name)  # no sign-in redirect: the token is the sign-in
    blueprint.before_request(_authenticate)
    blueprint.after_request(_no_store)
    return blueprint


protect(bp)


def api_account() -> Account:
    """The account of the request's bearer token (every route but openapi.json has one)."""
    return g.api_account  # type: ignore[no-any-return]


def api_actor() -> str:
    """How the audit log names who acts through the API."""
    return f"api:{api_account().username}"


def as_json(data: Any, status: int = 200) -> Response:
    """A JSON answer (UTF-8, not escaped: Vietnamese names stay readable)."""
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status, mimetype="application/json")


# ------------------------------------------------------------------ parameters


def invalid(name: str, problem: str) -> NoReturn:
    """422 naming the parameter or field."""
    raise InvalidInput(f"{name}: {problem}")


def _parsed(name: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except ValueError as exc:  # InvalidInput too: the reason, with the name in front
        invalid(name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _show(value: str) -> str:
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


def code_param(name: str, value: str | None) -> str:
    """A unit, staff or device code from the path or the query (422 when missing or malformed)."""
    if value is None or not value.strip():
        invalid(name, _("required"))
    if len(value) > MAX_CODE or _CONTROL.search(value):
        invalid(name, _("not a code: {value}", value=_show(value)))
    return value


def date_param(name: str, value: str | None) -> dt.date:
    """A day as YYYY-MM-DD within the plausible years."""
    if value is None:
        invalid(name, _("required (YYYY-MM-DD)"))
    if not DATE.fullmatch(value):
        invalid(name, _("expected YYYY-MM-DD, got {value}", value=_show(value)))
    day = _parsed(name, lambda: dt.date.fromisoformat(value))
    _parsed(name, lambda: check_period(day, day))
    return day


def month_param(name: str, value: str | None) -> str:
    """A month as YYYY-MM within the plausible years."""
    if value is None:
        invalid(name, _("required (YYYY-MM)"))
    if not MONTH.fullmatch(value):
        invalid(name, _("expected YYYY-MM, got {value}", value=_show(value)))
    _parsed(name, lambda: parse_month(value))
    return value


def query(name: str) -> str | None:
    """A query parameter given at most once (twice is ambiguous: 422)."""
    values = request.args.getlist(name)
    if len(values) > 1:
        invalid(name, _("given {n} times, expected once", n=len(values)))
    return values[0] if values else None


def json_body() -> Any:
    """The request body as any JSON value: 400 when it is not UTF-8 JSON that can be read."""
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        abort(400, _("the body is not UTF-8 (byte {n})", n=exc.start + 1))
    except json.JSONDecodeError as exc:
        abort(400, _("the body is not JSON: {why} at line {line}, column {column}", why=exc.msg,
                     line=exc.lineno, column=exc.colno))
    except (ValueError, RecursionError):  # numbers of thousands of digits, arrays nested thousands deep
        abort(400, _("the body is not JSON that can be read (too deep or too long a number)"))
    return data


def json_object(allowed: tuple[str, ...]) -> dict[str, Any]:
    """The request body as a JSON object: 400 if it is not JSON, 422 naming a wrong or unknown key."""
    data = json_body()
    if not isinstance(data, dict):
        invalid("body", _("expected a JSON object"))
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        invalid(_show(unknown[0]), _("unknown field; expected {fields}", fields=", ".join(allowed)))
    for key, value in data.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (\ud800) is valid JSON but no text
                invalid(key, _("contains a character that is not Unicode text"))
    return data


def multipart() -> tuple[Any, Any]:
    """The form fields and files of a multipart body: 400 when it is not one or is broken."""
    if request.mimetype != "multipart/form-data":
        abort(400, _("expected multipart/form-data, got {type}", type=_show(request.mimetype or "nothing")))
    parser = request.make_form_data_parser()
    parser.silent = False  # werkzeug would hand over an empty form for a broken body
    try:
        # Files are spooled to disk as they are read; the body is bounded by MAX_CONTENT_LENGTH.
        _stream, form, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                            request.mimetype_params)
    except ValueError as exc:
        abort(400, _("the multipart body cannot be read: {why}", why=str(exc)[:200]))
    return form, files


def _moment(name: str, value: Any) -> dt.datetime:
    if not isinstance(value, str) or not DATETIME.fullmatch(value):
        invalid(name, _("expected YYYY-MM-DDTHH:MM[:SS], got {value}", value=_show(str(value))))
    moment = _parsed(name, lambda: dt.datetime.fromisoformat(value))
    _parsed(name, lambda: check_period(moment.date(), moment.date()))
    return moment


# ------------------------------------------------------------------ endpoints


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of every endpoint."""
    return as_json(openapi.document())


@bp.get("/units")
def units() -> Response:
    """Units in the token owner's scope, depth first: code, name, kind, parent."""
    session = get_session()
    scope = scope_unit_codes(session, api_account())
    return as_json([{"code": u.code, "name": u.name, "kind": u.kind, "parent": u.parent_code}
                    for u in public.unit_tree(session) if in_scope(scope, u.code)])


@bp.get("/units/<code>/summary")
def unit_summary(code: str) -> Response:
    """``attendance summary --month M --unit CODE --format json``."""
    session = get_session()
    code = code_param("code", code)
    require_unit(session, api_account(), code)
    month = month_param("month", query("month"))
    return as_json(public.monthly_summary(session, month, code))


@bp.get("/staff/<code>/days/<date>")
def staff_day(code: str, date: str) -> Response:
    """``attendance explain --staff CODE --date DATE --json``."""
    session = get_session()
    code = code_param("code", code)
    require_staff(session, api_account(), code)
    return as_json(public.explain_day(session, code, date_param("date", date)))


@bp.get("/punches")
def punches() -> Response:
    """``attendance punches --device CODE [--from DAY] [--to DAY] --format json``."""
    session = get_session()
    device = code_param("device", query("device"))
    require_device(session, api_account(), device)
    first, last = query("from"), query("to")
    return as_json(ledger_rows(session, device, None if first is None else date_param("from", first),
                               None if last is None else date_param("to", last)))


@bp.post("/imports")
def imports() -> Response:
    """``attendance import FILE --device CODE --json`` for an uploaded file (multipart: file, device)."""
    form, files = multipart()
    session = get_session()
    device = code_param("device", form.get("device"))
    account = api_account()
    require_device(session, account, device)
    require_permission(account, Permission.IMPORT)
    fmt = form.get("format") or "auto"
    if fmt not in PARSER_FORMATS:
        invalid("format", _("one of {formats}", formats=", ".join(PARSER_FORMATS)))
    upload = files.get("file")
    if upload is None:
        invalid("file", _("required: the punch-log file"))
    # The parsers read a file by its path; its name (without any folder) can tell its format.
    name = re.split(r"[\\/]", upload.filename or "")[-1]
    name = _CONTROL.sub("", name).strip()[:200] or "upload"
    with tempfile.TemporaryDirectory(prefix="attendance-upload-") as folder:
        path = Path(folder) / ("upload" if name in (".", "..") else name)
        with path.open("wb") as handle:
            shutil.copyfileobj(upload.stream, handle, 1024 * 1024)
        try:
            result = import_file(session, device, path, fmt=fmt, label=name)
        except ValueError as exc:  # UnsupportedFile, NothingRead, ...: about the file, named as uploaded
            raise InvalidInput(f"file: {str(exc).replace(str(path), name)}") from exc
        session.commit()  # the file's last part: its batch is finished
    return as_json(import_report([result], []))


def _excuse(record: Any) -> dict[str, Any]:
    data = record.as_dict()
    data["staff"] = data.pop("staff_code")
    return data


@bp.get("/excuses")
def excuses() -> Response:
    """A person's excuses (withdrawn ones with ``live`` false), by start."""
    session = get_session()
    staff = code_param("staff", query("staff"))
    require_staff(session, api_account(), staff)
    return as_json([_excuse(r) for r in public.excuse_records(session, staff)])


@bp.post("/excuses")
def create_excuse() -> Response:
    """Record an excuse (JSON: staff, kind, start, end, reference); audited; 201 with the record."""
    from ..excuses import create_excuse as create

    data = json_object(("staff", "kind", "start", "end", "reference"))
    session = get_session()
    staff = data.get("staff")
    if not isinstance(staff, str):
        invalid("staff", _("required: the staff member's code"))
    account = api_account()
    require_staff(session, account, code_param("staff", staff))
    require_permission(account, Permission.MANAGE_EXCUSES)
    start, end = _moment("start", data.get("start")), _moment("end", data.get("end"))
    record = create(session, staff, data.get("kind"), start, end, data.get("reference"), actor=api_actor())
    session.commit()
    return as_json(_excuse(record), 201)
