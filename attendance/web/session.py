"""One database session per request, opened on first use and closed when the request ends."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from ..db import session_factory


def get_session() -> Session:
    """The request's Session (opened lazily); views commit it, the app context's teardown closes it."""
    if "db_session" not in g:
        config = current_app.config
        # A bounded lock wait: a push terminal or a browser gets 503 + Retry-After instead of
        # a request that hangs while an import holds the write lock.
        g.db_session = session_factory(config["DATABASE_URL"], config.get("DATABASE_LOCK_TIMEOUT"))()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's Session if one was opened; whatever was not committed is rolled back."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
