"""The append-only audit log of changes to people's records and settings: written and searched."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from . import models as m
from .errors import InvalidInput

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


MAX_PER_PAGE = 500  # rows of one page: a screen, not an export
MAX_PAGE = 1_000_000  # keeps the row offset a plain 64-bit number
MAX_FILTER = 200  # characters of a filter (the longest entity key fits)


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as plain data."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    key: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    """One page of audit rows, newest first, with the count of every matching row."""

    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matching rows fill (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def _filter_text(field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_FILTER:
        raise InvalidInput(f"{field}: at most {MAX_FILTER} characters, got {len(value)}")
    return value.strip()


def search_audit(session: Session, *, entity: str | None = None, actor: str | None = None,
                 since: dt.date | None = None, until: dt.date | None = None, key_contains: str | None = None,
                 page: int = 1, per_page: int = 50) -> AuditPage:
    """Audit rows matching every filter given, newest first, one page at a time.

    ``entity`` and ``actor`` match exactly; ``since``/``until`` are inclusive days;
    ``key_contains`` is plain text (no wildcards) found anywhere in the key, any case.
    """
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"page: expected 1 to {MAX_PAGE}, got {page!r}")
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page: expected 1 to {MAX_PER_PAGE}, got {per_page!r}")
    if since is not None and until is not None and until < since:
        raise InvalidInput(f"until: {until} is before since {since}")
    conditions: list[ColumnElement[bool]] = []
    if (text := _filter_text("entity", entity)) is not None:
        conditions.append(m.AuditLog.entity == text)
    if (text := _filter_text("actor", actor)) is not None:
        conditions.append(m.AuditLog.actor == text)
    if (text := _filter_text("key", key_contains)) is not None:
        conditions.append(m.AuditLog.entity_key.icontains(text, autoescape=True))
    try:
        if since is not None:
            conditions.append(m.AuditLog.at >= dt.datetime.combine(since, dt.time()))
        if until is not None:
            conditions.append(m.AuditLog.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    except OverflowError:  # until 9999-12-31: simply open
        pass
    total = session.scalar(select(func.count()).select_from(m.AuditLog).where(*conditions)) or 0
    rows = session.scalars(select(m.AuditLog).where(*conditions).order_by(m.AuditLog.at.desc(), m.AuditLog.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    entries = [AuditEntry(r.id, r.at, r.actor, r.action, r.entity, r.entity_key, dict(r.changes or {})) for r in rows]
    return AuditPage(entries, int(total), page, per_page)
