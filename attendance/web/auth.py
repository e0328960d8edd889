"""Sign-in, sign-out, the language switch, and what every page request must pass first.

Pages need a signed-in user (anonymous requests go to ``/login``); push terminals
(``/iclock``) and the JSON API (bearer tokens) authenticate in their own blueprints. Roles and
scopes are checked by the use cases' guards in ``attendance.accounts``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers import Response

from .. import accounts
from ..accounts import Account, Permission
from ..audit import current_origin
from ..errors import InvalidInput, TooManyAttempts
from ..i18n import LANGUAGES, use_request_language
from .session import get_session

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()

#: Endpoints anyone may reach; blueprints that authenticate on their own (terminals, API).
PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "auth.language", "static"}
SELF_AUTHENTICATING_BLUEPRINTS = {"adms", "api"}


class WebUser(UserMixin):
    """The Flask-Login user: an ``Account`` (role, scope) and nothing secret."""

    def __init__(self, account: Account):
        self.account = account

    def get_id(self) -> str:
        """The id kept in the signed session cookie."""
        return str(self.account.id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.account, name)


@login_manager.user_loader
def _load_user(user_id: str) -> WebUser | None:
    try:
        account = accounts.account_by_id(get_session(), int(user_id))
    except ValueError:
        return None
    return WebUser(account) if account else None  # a disabled account is signed out here


def current_account() -> Account:
    """The signed-in user's account (pages are only reached signed in)."""
    return current_user.account  # type: ignore[no-any-return]


def client_address() -> str:
    """The client's address (after ProxyFix, when configured), for limits and the audit log."""
    return (request.remote_addr or "?")[:64]


def actor() -> str:
    """How the audit log names who acts: the username (the address goes in ``origin``)."""
    return f"web:{current_account().username}"


def may(permission: str) -> bool:
    """For templates: whether the signed-in user's role grants a permission."""
    return bool(current_user.is_authenticated and current_account().may(Permission(permission)))


#: The site's menu: (endpoint, English label for the catalogue, permission needed or None).
#: An entry shows only once its page exists, so each screen registers itself by its endpoint.
NAVIGATION: list[tuple[str, str, str | None]] = [
    ("attendance.units", "Units", None),
    ("attendance.staff_list", "Staff", None),
    ("attendance.devices", "Terminals", None),
    ("attendance.imports", "Imports", "import"),
    ("attendance.schedules", "Schedules", None),
    ("inspections.spot_checks", "Spot checks", None),
    ("inspections.reports", "Monthly reports", "build_reports"),
    ("inspections.discipline", "Discipline decisions", "build_reports"),
    ("attendance.audit_log", "Audit log", "read_audit"),
    ("attendance.pending_terminals", "Terminals waiting", "manage_devices"),
]


def navigation() -> list[tuple[str, str]]:
    """For the layout: the menu entries whose page exists and whose permission the user has."""
    views = current_app.view_functions
    return [(endpoint, label) for endpoint, label, permission in NAVIGATION
            if endpoint in views and (permission is None or may(permission))]


def _safe_next(target: str | None) -> str:
    """A redirect target on this site only (no scheme, no host, no '//' or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("attendance.units")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else url_for("attendance.units")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """Đăng nhập: the form (username, password, CSRF token) and its answer."""
    next_url = _safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    if request.method == "GET":
        return render_template("login.html", next_url=next_url, error=None), 200
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    db = get_session()
    try:
        account = accounts.sign_in(db, username, password, client_address())
    except TooManyAttempts as exc:
        db.rollback()
        return render_template("login.html", next_url=next_url, error=str(exc), username=username[:64]), 429
    except InvalidInput as exc:
        db.commit()  # the failed attempt counts towards the limits
        return render_template("login.html", next_url=next_url, error=str(exc), username=username[:64]), 401
    db.commit()
    language = session.get("lang")
    session.clear()  # nothing from before the sign-in survives into the signed-in session
    if language:
        session["lang"] = language
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    login_user(WebUser(account))
    return redirect(next_url, 303)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    """Đăng xuất: end the session (the language choice stays)."""
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("auth.login"), 303)


@bp.route("/lang/<code>")
def language(code: str) -> Response:
    """Switch the language of the pages (vi or en) and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")), 303)


def locale() -> str:
    """The pages' language: the one chosen with the switch, else Vietnamese."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "vi"


def _require_sign_in() -> Response | None:
    current_origin.set(client_address())
    accounts.keep_scopes(True)  # each guard of this request reuses the scope the first one worked out
    use_request_language(locale())
    g.language = locale()
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in SELF_AUTHENTICATING_BLUEPRINTS:
        return None
    if request.endpoint is None:
        return None  # a 404 for an unknown path: the error page needs no account
    if current_user.is_authenticated:
        started = session.get("signed_in_at", 0)
        limit = current_app.config["SESSION_ABSOLUTE_LIFETIME"]
        if isinstance(started, int) and time.time() - started <= dt.timedelta(seconds=limit).total_seconds():
            return None
        logout_user()  # signed in too long ago, however active: sign in again
        session.pop("signed_in_at", None)
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def _security_headers(response: Response) -> Response:
    # No inline scripts or styles anywhere: the policy can then forbid them.
    response.headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.blueprint not in SELF_AUTHENTICATING_BLUEPRINTS and request.endpoint != "static":
        # Pages show people's records: not for shared caches or the back button after sign-out.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _forget_request(_exc: BaseException | None = None) -> None:
    # Threads of the WSGI server are reused: nothing of this request may leak into the next.
    use_request_language(None)
    current_origin.set(None)
    accounts.keep_scopes(False)


def init_auth(app: Flask) -> None:
    """Sign-in for every page, CSRF on every form, Babel's language, the security headers."""
    from flask_babel import Babel
    from flask_wtf.csrf import CSRFProtect

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    CSRFProtect(app)
    Babel(app, locale_selector=locale)
    app.register_blueprint(bp)
    app.before_request(_require_sign_in)
    app.after_request(_security_headers)
    app.teardown_request(_forget_request)
    app.jinja_env.globals.update(may=may, languages=LANGUAGES, navigation=navigation)
