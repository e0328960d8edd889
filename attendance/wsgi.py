"""WSGI entry point for other servers (``waitress-serve attendance.wsgi:app``, gunicorn...).

Like ``attendance serve``, it refuses to start without a real SECRET_KEY.
"""

from __future__ import annotations

from . import create_app
from .config import check_secret_key

app = create_app()
check_secret_key(app.config)
