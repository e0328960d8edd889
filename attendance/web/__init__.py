"""The web layer: sign-in, pages, the ADMS blueprint for push terminals, one session per request, errors.

HTTP code lives only here; every view parses the request, calls use cases with the request's
Session (``get_session``), commits, and renders. Errors are mapped in ``errors``.
"""

from __future__ import annotations

from flask import Flask

from .pages import bp
from .session import close_session, get_session

__all__ = ["bp", "get_session", "init_app"]


def init_app(app: Flask) -> None:
    """Register the blueprints, the per-request session's teardown and the error answers."""
    from . import admin, adms, api  # noqa: F401 - importing admin registers its pages on bp
    from . import month as _month_pages  # noqa: F401  (registers the unit and person month pages on bp)
    from .auth import init_auth
    from .errors import register_error_handlers
    from .excuses import staff_excuses  # noqa: F401 - registers a person's excuse pages on bp
    from .imports import init_imports

    init_auth(app)
    init_imports(app)  # file uploads, import progress and results (routes on bp)
    app.extensions["csrf"].exempt(adms.bp)  # terminals cannot carry a CSRF token; serials identify them
    app.register_blueprint(bp)
    app.register_blueprint(adms.bp)  # /iclock/...: push (ADMS) terminals call these
    app.extensions["csrf"].exempt(api.bp)  # bearer tokens, no cookies: nothing a forged form could use
    app.register_blueprint(api.bp)  # /api/v1/...: the JSON API
    from inspections import tablet_web  # noqa: F401 - registers the inspectors' tablet page on the inspections bp
    from inspections.web import init_app as init_inspections

    init_inspections(app)  # /inspections pages and the spot-check sync API under /api/v1
    app.session_interface = api.PagesOnlySessions()  # the API takes no cookies, not even to read them
    app.teardown_appcontext(close_session)
    register_error_handlers(app)

    @app.template_filter("vn_datetime")
    def vn_datetime(value: str | None) -> str:
        """'YYYY-MM-DD HH:MM:SS' as the dd/mm/yyyy HH:MM people read."""
        if not value:
            return ""
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]} {value[11:16]}"

    @app.template_filter("vn_date")
    def vn_date(value: object) -> str:
        """A date (or 'YYYY-MM-DD...') as dd/mm/yyyy."""
        text = str(value or "")
        return f"{text[8:10]}/{text[5:7]}/{text[0:4]}" if len(text) >= 10 and text[4] == "-" else text

    from ..i18n import _

    # One catalogue for the command line and the pages, with {name} placeholders in both.
    app.jinja_env.globals["_"] = _
