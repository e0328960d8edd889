"""Searching the audit log: filters, paging, newest first, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from attendance import models as m
from attendance.audit import record_change, search_audit
from attendance.db import transaction
from attendance.errors import InvalidInput

ROWS = [  # (day of October 2026, actor, action, entity, key)
    (1, "admin", "create", "staff", "NV001"),
    (2, "clerk", "create", "enrollment", "TK-01:101"),
    (2, "clerk", "create", "enrollment", "TK-01:1_1"),
    (3, "head", "create", "excuse", "NV001:1"),
    (5, "head", "withdraw", "excuse", "NV001:1"),
    (9, "clerk", "delete", "enrollment", "TK-02:7%"),
]


@pytest.fixture
def logged(db_url: str) -> str:
    with transaction() as session:
        for day, actor, action, entity, key in ROWS:
            record_change(session, actor, action, entity, key, {"day": day})
        session.flush()
        # record_change stamps now; the rows are dated as if written over the month.
        for row_id, (day, *_rest) in enumerate(ROWS, start=1):
            session.execute(update(m.AuditLog).where(m.AuditLog.id == row_id)
                            .values(at=dt.datetime(2026, 10, day, 8, 0)))
    return db_url


def keys(**filters: object) -> list[str]:
    with transaction() as session:
        return [e.key for e in search_audit(session, **filters).entries]  # type: ignore[arg-type]


def test_newest_first_and_each_filter(logged: str) -> None:
    assert keys() == ["TK-02:7%", "NV001:1", "NV001:1", "TK-01:1_1", "TK-01:101", "NV001"]
    assert keys(entity="excuse") == ["NV001:1", "NV001:1"]
    assert keys(actor="clerk") == ["TK-02:7%", "TK-01:1_1", "TK-01:101"]
    assert keys(since=dt.date(2026, 10, 2), until=dt.date(2026, 10, 3)) == ["NV001:1", "TK-01:1_1", "TK-01:101"]
    assert keys(key_contains="nv001") == ["NV001:1", "NV001:1", "NV001"]  # any case
    assert keys(key_contains="1_1") == ["TK-01:1_1"]  # _ and % are plain text, not wildcards
    assert keys(key_contains="7%") == ["TK-02:7%"]
    assert keys(entity="enrollment", actor="clerk", since=dt.date(2026, 10, 3)) == ["TK-02:7%"]
    assert keys(until=dt.date(9999, 12, 31), key_contains="  ") == keys()


def test_pages(logged: str) -> None:
    with transaction() as session:
        first = search_audit(session, per_page=4)
        second = search_audit(session, per_page=4, page=2)
        beyond = search_audit(session, per_page=4, page=3)
    assert (first.total, first.pages, len(first.entries)) == (6, 2, 4)
    assert [e.key for e in second.entries] == ["TK-01:101", "NV001"]
    assert beyond.entries == [] and beyond.total == 6
    assert first.entries[0].changes == {"day": 9} and first.entries[0].action == "delete"


@pytest.mark.parametrize(("filters", "message"), [
    ({"page": 0}, "page: expected 1 to 1000000, got 0"),
    ({"page": 10**30}, "page: expected 1 to"),
    ({"per_page": 501}, "per_page: expected 1 to 500, got 501"),
    ({"key_contains": "x" * 201}, "key: at most 200 characters, got 201"),
    ({"since": dt.date(2026, 10, 5), "until": dt.date(2026, 10, 1)}, "until: 2026-10-01 is before since 2026-10-05"),
])
def test_bad_filters_are_refused(logged: str, filters: dict, message: str) -> None:
    with transaction() as session, pytest.raises(InvalidInput, match=message):
        search_audit(session, **filters)
