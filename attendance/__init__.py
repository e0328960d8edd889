"""Attendance service for commune and ward offices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory (flaskr style): defaults, instance config file, ATTENDANCE_* variables, test_config."""
    # Flask is imported here so that the rules engine and the CLI stay importable without it.
    from flask import Flask

    from .config import DefaultConfig, load_config_file
    from .db import database_url, default_instance_path
    from .web import init_app

    app = Flask(__name__, instance_path=str(default_instance_path()), instance_relative_config=True,
                static_folder="web/static")
    app.config.from_object(DefaultConfig)
    load_config_file(app.config)
    # ATTENDANCE_SECRET_KEY, ATTENDANCE_DATABASE_URL...; values are parsed as JSON when they can be.
    app.config.from_prefixed_env("ATTENDANCE")
    if test_config:
        app.config.from_mapping(test_config)
    if isinstance(app.config["SECRET_KEY"], int | float):
        # A key made only of digits reads as a number from the environment; it is still a key.
        app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])
    app.config["DATABASE_URL"] = database_url(app.config["DATABASE_URL"])
    if app.config.get("PROXY_FIX_X_FOR"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    init_app(app)
    return app
