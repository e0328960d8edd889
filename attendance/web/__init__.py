"""The web layer: pages, the ADMS blueprint for push terminals, one session per request, error answers.

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
    from . import adms
    from .errors import register_error_handlers

    app.register_blueprint(bp)
    app.register_blueprint(adms.bp)  # /iclock/...: push (ADMS) terminals call these
    app.teardown_appcontext(close_session)
    register_error_handlers(app)

    @app.template_filter("vn_datetime")
    def vn_datetime(value: str | None) -> str:
        """'YYYY-MM-DD HH:MM:SS' as the dd/mm/yyyy HH:MM people read."""
        if not value:
            return ""
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]} {value[11:16]}"
