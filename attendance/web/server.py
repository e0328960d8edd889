"""The production WSGI server (waitress: pure Python, runs on Linux and Windows alike)."""

from __future__ import annotations

from typing import Any

from flask import Flask


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8) -> Any:
    """A waitress server for ``app``, bound and ready to ``run()``; port 0 takes any free port."""
    import waitress

    # Waitress buffers each body before the app sees it (to a temporary file past 512 KiB), so
    # it must refuse itself anything larger than the largest body the app accepts: that 413
    # comes before a byte of the body is read.
    config = app.config
    largest = max(int(config.get(name) or 0)
                  for name in ("MAX_CONTENT_LENGTH", "ADMS_MAX_CONTENT_LENGTH", "IMPORT_MAX_CONTENT_LENGTH"))
    return waitress.create_server(app, host=host, port=port, threads=threads, ident="attendance",
                                  max_request_body_size=largest + 1 if largest else 1 << 30)


def bound_port(server: Any, asked: int) -> int:
    """The port a server from make_server listens on (the asked one when several sockets listen)."""
    return int(getattr(server, "effective_port", None) or asked)
