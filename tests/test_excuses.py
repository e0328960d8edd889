"""Excuse use cases: create with a document, edit, withdraw (kept, counting for nothing), list."""

from __future__ import annotations

import copy
import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from attendance import api
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.errors import Conflict, InvalidInput, NotFound, UnknownStaff
from attendance.excuses import (
    MAX_DOCUMENT_BYTES,
    DocumentUpload,
    UnknownExcuse,
    create_excuse,
    edit_excuse,
    excuse_document,
    list_excuses,
    withdraw_excuse,
)
from attendance.org import load_bundle
from attendance.services import monthly_summary, summary_records

BUNDLE = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ", "kind": "commune"}],
    "schedules": [{"code": "S", "units": ["X"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X"},
              {"code": "NV002", "name": "Trần Thị Bình", "unit": "X"}],
}
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
MONDAY = dt.datetime(2026, 10, 5, 0, 0)

# These tests read what the use cases say in the code's own words (test_i18n checks the Vietnamese).
pytestmark = pytest.mark.usefixtures("english")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, minute)


def excused_sessions(code: str = "NV001") -> int:
    with transaction() as session:
        rows = {r["staff_code"]: r for r in summary_records(monthly_summary(session, "2026-10"))}
    return rows[code]["excused_sessions"]


def audit_rows(entity: str = "excuse") -> list[m.AuditLog]:
    with transaction() as session:
        return list(session.scalars(select(m.AuditLog).where(m.AuditLog.entity == entity).order_by(m.AuditLog.id)))


@pytest.fixture
def loaded(db_url: str) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    return db_url


def test_create_with_document_counts_in_the_engine_and_is_audited(loaded: str) -> None:
    assert excused_sessions() == 0
    with transaction() as session:
        record = create_excuse(session, "NV001", "annual_leave", at(5, 7), at(7, 0), "12/QĐ-UBND", actor="clerk1",
                               document=DocumentUpload("C:\\Scans\\qd 12.pdf", "application/pdf", PDF))
    assert record.live and record.kind == "annual_leave" and record.staff_code == "NV001"
    assert (record.document_name, record.document_type, record.document_size) == ("qd 12.pdf", "application/pdf", len(PDF))
    assert excused_sessions() == 4  # Monday and Tuesday, two sessions each
    with transaction() as session:
        stored = excuse_document(session, record.id)
        assert (stored.filename, stored.content_type, stored.data) == ("qd 12.pdf", "application/pdf", PDF)
        assert [e.kind for e in api.excuses(session, "NV001", dt.date(2026, 10, 1), dt.date(2026, 10, 31))] == ["annual_leave"]
    [row] = audit_rows()
    assert (row.actor, row.action, row.entity_key) == ("clerk1", "create", f"NV001:{record.id}")
    assert row.changes["start"] == [None, "2026-10-05T07:00:00"] and row.changes["document_name"] == [None, "qd 12.pdf"]


def test_the_same_document_is_stored_once(loaded: str) -> None:
    with transaction() as session:
        a = create_excuse(session, "NV001", "sick_leave", at(5, 7), at(5, 17), "GCN 1", actor="c",
                          document=DocumentUpload("a.png", "image/png", PNG))
        b = create_excuse(session, "NV002", "sick_leave", at(5, 7), at(5, 17), "GCN 2", actor="c",
                          document=DocumentUpload("b.png", "", PNG))
        assert a.document_sha256 == b.document_sha256
        assert session.scalar(select(func.count()).select_from(m.ExcuseDocument)) == 1
        assert excuse_document(session, b.id).filename == "b.png"


@pytest.mark.parametrize(("upload", "message"), [
    (DocumentUpload("a.gif", "image/gif", b"GIF89a" + b"\x00" * 10), r"document: not a PDF, JPEG or PNG file \(it starts with b'GIF89a"),
    (DocumentUpload("a.pdf", "application/pdf", b""), "document: the file is empty"),
    (DocumentUpload("a.pdf", "image/png", PDF), "document: declared as 'image/png' but the content is application/pdf"),
    (DocumentUpload("x" * 300 + ".pdf", "application/pdf", PDF), "document: the file name is 304 characters long, at most 255"),
])
def test_documents_that_are_refused_say_why(loaded: str, upload: DocumentUpload, message: str) -> None:
    with transaction() as session, pytest.raises(InvalidInput, match=message):
        create_excuse(session, "NV001", "sick_leave", at(5, 7), at(5, 17), "GCN", actor="c", document=upload)
    assert audit_rows() == []


def test_an_oversized_document_is_refused_before_it_is_read(loaded: str) -> None:
    big = b"%PDF-" + bytes(MAX_DOCUMENT_BYTES)
    begun = time.perf_counter()
    with transaction() as session, pytest.raises(InvalidInput, match=rf"document: {len(big)} bytes, at most {MAX_DOCUMENT_BYTES}"):
        create_excuse(session, "NV001", "sick_leave", at(5, 7), at(5, 17), "GCN", actor="c",
                      document=DocumentUpload("big.pdf", "application/pdf", big))
    assert time.perf_counter() - begun < 1.0
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.ExcuseDocument)) == 0


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"kind": "holiday_trip"}, InvalidInput, r"kind: 'holiday_trip' is not a kind of excuse; expected one of annual_leave"),
    ({"end": at(5, 7)}, InvalidInput, "end: 2026-10-05 07:00:00 is not after start 2026-10-05 07:00:00"),
    ({"start": dt.date(2026, 10, 5)}, InvalidInput, "start: expected a date and time"),
    ({"start": at(5, 7).replace(tzinfo=dt.UTC)}, InvalidInput, "start: expected a local time without a time zone"),
    ({"end": dt.datetime(9999, 12, 31)}, InvalidInput, "end: 9999-12-31T00:00:00 is outside the years 2000-2099"),
    ({"reference": "  "}, InvalidInput, "reference: must not be empty"),
    ({"reference": "x" * 201}, InvalidInput, "reference: 201 characters long, at most 200 fit"),
    ({"reference": "12/QĐ\x00"}, InvalidInput, "reference: contains a control character"),
    ({"staff_code": "NV999"}, UnknownStaff, "NV999"),
])
def test_invalid_excuses_are_refused_naming_the_field(loaded: str, english: None, kwargs: dict, error: type, message: str) -> None:
    values = {"staff_code": "NV001", "kind": "business_trip", "start": at(5, 7), "end": at(5, 17), "reference": "3/QĐ"}
    values.update(kwargs)
    with transaction() as session, pytest.raises(error, match=message):
        create_excuse(session, actor="c", **values)
    assert audit_rows() == []


def test_exact_duplicates_are_refused_overlaps_are_merged_by_the_engine(loaded: str) -> None:
    with transaction() as session:
        first = create_excuse(session, "NV001", "training", at(5, 7), at(6, 17), "1/QĐ", actor="c")
    with transaction() as session, pytest.raises(Conflict, match=f"NV001 already has this excuse .*excuse {first.id}"):
        create_excuse(session, "NV001", "training", at(5, 7), at(6, 17), "1/QĐ bis", actor="c")
    with transaction() as session:  # a business trip inside the course: allowed, counted once
        create_excuse(session, "NV001", "business_trip", at(6, 7), at(6, 17), "2/QĐ", actor="c")
    assert excused_sessions() == 4


def test_edit_changes_what_the_engine_sees_and_audits_each_field(loaded: str) -> None:
    with transaction() as session:
        record = create_excuse(session, "NV001", "annual_leave", at(5, 7), at(5, 17), "1/QĐ", actor="c")
    assert excused_sessions() == 2
    with transaction() as session:
        edited = edit_excuse(session, record.id, actor="head", end=at(6, 17), reference="1/QĐ (sửa)")
        unchanged = edit_excuse(session, record.id, actor="head", kind="annual_leave")
    assert (edited.end, edited.reference, unchanged) == (at(6, 17), "1/QĐ (sửa)", edited)
    assert excused_sessions() == 4
    rows = audit_rows()
    assert [r.action for r in rows] == ["create", "update"]  # the no-op edit writes nothing
    assert rows[1].changes == {"end": ["2026-10-05T17:00:00", "2026-10-06T17:00:00"],
                               "reference": ["1/QĐ", "1/QĐ (sửa)"]}
    with transaction() as session, pytest.raises(InvalidInput, match="end: 2026-10-05 06:00:00 is not after start"):
        edit_excuse(session, record.id, actor="head", end=at(5, 6))
    with transaction() as session, pytest.raises(UnknownExcuse, match="no excuse 999"):
        edit_excuse(session, 999, actor="head", kind="training")


def test_withdrawn_excuses_stay_listed_but_count_for_nothing(loaded: str) -> None:
    with transaction() as session:
        record = create_excuse(session, "NV001", "business_trip", at(5, 7), at(6, 17), "7/QĐ", actor="c")
        other = create_excuse(session, "NV001", "sick_leave", at(8, 7), at(8, 17), "GCN", actor="c")
    assert excused_sessions() == 6
    with transaction() as session, pytest.raises(InvalidInput, match="reason: a reason is required"):
        withdraw_excuse(session, record.id, "   ", actor="head")
    with transaction() as session:
        withdrawn = withdraw_excuse(session, record.id, "Chuyến công tác bị hủy", actor="head")
    assert not withdrawn.live and withdrawn.withdrawn_by == "head"
    assert withdrawn.withdraw_reason == "Chuyến công tác bị hủy" and withdrawn.withdrawn_at is not None
    assert excused_sessions() == 2  # the engine's loader leaves it out
    with transaction() as session:
        listed = list_excuses(session, "NV001")
        public = api.excuses(session, "NV001", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        explained = api.explain_day(session, "NV001", dt.date(2026, 10, 5))
    assert [(e.id, e.live) for e in listed] == [(record.id, False), (other.id, True)]
    assert [e.kind for e in public] == ["sick_leave"]
    assert all(s["verdicts"] == ["absent"] for s in explained["sessions"])
    with transaction() as session, pytest.raises(Conflict, match="already withdrawn .* by head: Chuyến công tác bị hủy"):
        withdraw_excuse(session, record.id, "again", actor="head")
    with transaction() as session, pytest.raises(Conflict, match="was withdrawn"):
        edit_excuse(session, record.id, actor="head", reference="x")
    with transaction() as session:  # the same trip can be entered again, a new row
        again = create_excuse(session, "NV001", "business_trip", at(5, 7), at(6, 17), "7/QĐ", actor="c")
    assert again.id != record.id and excused_sessions() == 6
    assert [r.action for r in audit_rows()] == ["create", "create", "withdraw", "create"]


def test_a_bundle_reload_leaves_withdrawn_excuses_alone(loaded: str) -> None:
    bundle = copy.deepcopy(BUNDLE) | {"excuses": [
        {"staff": "NV001", "kind": "annual_leave", "start": "2026-10-05T07:00", "end": "2026-10-05T17:00", "reference": "1"}]}
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(bundle)))
    with transaction() as session:
        [live] = list_excuses(session, "NV001")
        withdraw_excuse(session, live.id, "sai ngày", actor="head")
    with transaction() as session:  # the same excuse listed again is a new live one beside the withdrawn row
        load_bundle(session, validate_bundle(copy.deepcopy(bundle)))
    with transaction() as session:
        assert [e.live for e in list_excuses(session, "NV001")] == [False, True]


def test_list_excuses_by_days_and_unknowns(loaded: str) -> None:
    with transaction() as session:
        create_excuse(session, "NV001", "training", at(5, 7), at(6, 0), "1", actor="c")
        create_excuse(session, "NV001", "training", at(20, 7), at(21, 0), "2", actor="c")
        assert [e.reference for e in list_excuses(session, "NV001", dt.date(2026, 10, 6), dt.date(2026, 10, 20))] == ["2"]
        assert list_excuses(session, "NV002") == []
        with pytest.raises(UnknownStaff):
            list_excuses(session, "NOPE")
        with pytest.raises(NotFound, match="has no document"):
            excuse_document(session, list_excuses(session, "NV001")[0].id)
