"""The append-only audit log of changes to people's records and settings."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from typing import Any

from sqlalchemy.orm import Session

from . import models as m

#: Where the current request or command comes from (a client address, "cli"...): set once by
#: the web layer per request and by the command line, so use cases need not pass it along.
current_origin: ContextVar[str | None] = ContextVar("audit_origin", default=None)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record_change(session: Session, actor: str, action: str, entity: str, key: str, changes: dict[str, Any],
                  origin: str | None = None) -> None:
    """Append one audit row: who changed which record, from where, and each field's old and new value."""
    session.add(
        m.AuditLog(
            at=dt.datetime.now().replace(microsecond=0),
            actor=actor,
            action=action,
            entity=entity,
            entity_key=str(key),
            changes=_plain(changes),
            origin=(origin or current_origin.get() or '')[:64] or None,
        )
    )
