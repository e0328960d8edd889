"""Attendance service for commune and ward offices."""

from __future__ import annotations

from typing import Any


def create_app(config: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Application factory (flaskr style): config passed in, one blueprint per package."""
    # Flask is imported here so that the rules engine and the CLI stay importable without it.
    from flask import Flask

    from .db import database_url, default_instance_path

    app = Flask(__name__, instance_path=str(default_instance_path()), instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY="dev", DATABASE_URL=None, DEFAULT_MONTH=None)
    if config:
        app.config.from_mapping(config)
    app.config["DATABASE_URL"] = database_url(app.config["DATABASE_URL"])

    from .push import push_admin_bp, push_bp
    from .web import bp

    app.register_blueprint(bp)
    app.register_blueprint(push_bp)  # /iclock/...: ADMS terminals call these
    app.register_blueprint(push_admin_bp)  # /iclock-admin/pending (no login yet: trusted network only)

    @app.template_filter("vn_datetime")
    def vn_datetime(value: str | None) -> str:
        """'YYYY-MM-DD HH:MM:SS' as the dd/mm/yyyy HH:MM people read."""
        if not value:
            return ""
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]} {value[11:16]}"

    return app
