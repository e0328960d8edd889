"""The spot-check half of the monthly report: checks, violations, dossiers, mismatches, actions, repeat offenders.

Spot checks are made through the real use cases (put, submit, approve, resolve) on SQLite and
PostgreSQL; the numbers are then read back from the Word document and the workbook.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from spot_check_helpers import content, make_app
from sqlalchemy import select

from attendance import accounts
from attendance.accounts import Account
from attendance.db import transaction
from attendance.errors import InvalidInput
from attendance.models import User
from inspections import review, services
from inspections.report import write_report
from inspections.report.data import gather_report
from inspections.report.settings import periods_ending, report_period, report_settings
from inspections.report.spot import spot_check_section

OCT_A = "0b6f7c1e-2d3a-4c5b-8e9f-0000000000a1"
OCT_B = "0b6f7c1e-2d3a-4c5b-8e9f-0000000000b2"
OCT_DRAFT = "0b6f7c1e-2d3a-4c5b-8e9f-0000000000c3"
SEP = "0b6f7c1e-2d3a-4c5b-8e9f-0000000000d4"
JUL = "0b6f7c1e-2d3a-4c5b-8e9f-0000000000e5"
AUG = "0b6f7c1e-2d3a-4c5b-8e9f-0000000000f6"
TODAY = dt.date(2026, 11, 30)


def _accounts() -> tuple[Account, Account]:
    with transaction() as session:
        inspector = accounts.add_user(session, "insp1", "inspector", ["411"], None, actor="test")
        lead = accounts.add_user(session, "lead1", "team_lead", ["411"], None, actor="test")
    return inspector, lead


def _account(username: str) -> Account:
    with transaction() as session:
        found = accounts.account_by_id(session, session.scalar(select(User.id).where(User.username == username)))
    assert found is not None
    return found


def _check(inspector: Account, lead: Account, uuid: str, doc: dict[str, Any], state: str = "locked") -> None:
    """One spot check through the use cases, taken as far as ``state``."""
    doc = {**copy.deepcopy(doc), "attachments": []}
    with transaction() as session:
        services.put_spot_check(session, inspector, uuid, doc)
        if state in ("submitted", "locked"):
            services.submit(session, inspector, uuid)
        if state == "locked":
            services.approve(session, lead, uuid)


def _day(day: str, **changes: Any) -> dict[str, Any]:
    """The helpers' content moved to another day (start, end and headcount times kept)."""
    base = content()
    moved = {k: f"{day}T{base[k][11:]}" for k in ("started_at", "ended_at", "headcount_at")}
    return {**base, **moved, **changes}


@pytest.fixture
def spot(db_url: str, tmp_path: Path) -> str:
    """October: a locked check of 17830 (one mismatch, resolved), a submitted one of 17831, a draft.

    September and July: one check each of 17830, which make NV001 a repeat offender and not NV002.
    """
    make_app(db_url, tmp_path)
    inspector, lead = _accounts()
    _check(inspector, lead, OCT_A, _day("2026-10-06", findings=[
        {"item": "badge_worn", "staff": "NV001", "result": "fail", "note": "không đeo thẻ"},
        {"item": "hotline_posted", "result": "pass"},
        {"item": "overdue_dossiers", "result": "fail", "count": 3, "apology_sent": True},
        {"item": "tidy", "result": "fail"}]))
    with transaction() as session:  # NV002 absent without reason, yet punched at 07:20
        found, created = services.resolve(session, lead, OCT_A, "NV002", "Đã xác minh: đi họp thôn")
        assert created and found["kind"] == "absent_with_punch"
    _check(inspector, lead, OCT_B, _day("2026-10-08", unit="17831", headcount=[
        {"staff": "NV003", "status": "present"}], findings=[
        {"item": "badge_worn", "staff": "NV003", "result": "fail"},
        {"item": "attire", "staff": "NV003", "result": "fail"},
        {"item": "overdue_dossiers", "result": "fail", "count": 2, "apology_sent": False}],
        actions=[{"description": "Bổ sung biển tên", "assignee": "NV003", "due": "2026-12-15"}]), state="submitted")
    _check(inspector, lead, OCT_DRAFT, _day("2026-10-07", findings=[
        {"item": "tidy", "result": "fail"}, {"item": "badge_worn", "staff": "NV002", "result": "fail"}],
        actions=[{"description": "Không tính: bản nháp", "assignee": "NV002", "due": "2026-10-09"}]), state="draft")
    _check(inspector, lead, SEP, _day("2026-09-15", headcount=[{"staff": "NV001", "status": "present"},
                                                                  {"staff": "NV002", "status": "present"}],
                                      findings=[{"item": "attire", "staff": "NV001", "result": "fail"}], actions=[]))
    _check(inspector, lead, JUL, _day("2026-07-14", headcount=[{"staff": "NV001", "status": "present"},
                                                                  {"staff": "NV002", "status": "absent_unexcused"}],
                                      findings=[], actions=[]))
    return db_url


def test_section_numbers_from_the_spot_check_records(spot: str) -> None:
    with transaction() as session:
        october, august = report_period("2026-10"), report_period("2026-08")
        every = spot_check_section(session, october, frozenset({"17830", "17830-01", "17831"}), today=TODAY)
        commune = spot_check_section(session, october, frozenset({"17830", "17830-01"}), today=TODAY)
        nothing = spot_check_section(session, august, frozenset({"17830", "17830-01", "17831"}), today=TODAY)
    assert every.available and nothing.available and not nothing.checks and not nothing.violations
    # The draft is not counted: two checks, in the order they started.
    assert [(c.uuid, c.unit_name, c.state) for c in every.checks] == [
        (OCT_A, "Xã Tân Kỳ", "Đã duyệt"), (OCT_B, "Xã Nghĩa Đồng", "Chờ duyệt")]
    a, b = every.checks
    assert (a.present, a.absent_excused, a.absent_unverified, a.absent_unexcused, a.violations) == (1, 0, 0, 1, 3)
    assert (b.present, b.absent_unexcused, b.violations) == (1, 0, 3)
    assert a.started == dt.datetime(2026, 10, 6, 8, 5) and a.lead == "lead1"
    assert {v.item_code: (v.label, v.count) for v in every.violations} == {
        "badge_worn": ("Đeo thẻ công chức", 2), "attire": ("Trang phục đúng quy định", 1),
        "overdue_dossiers": ("Hồ sơ trễ hạn (số lượng, đã gửi thư xin lỗi)", 2),
        "tidy": ("Trụ sở, nơi làm việc gọn gàng, sạch sẽ", 1)}
    assert [(d.unit_name, d.count, d.apologies_sent) for d in every.overdue_dossiers] == [
        ("Xã Tân Kỳ", 3, 3), ("Xã Nghĩa Đồng", 2, 0)]
    # NV002 punched at 07:20 (07:18 after TK-01's clock correction) though seen absent (resolved); NV003 seen present without a punch (open).
    assert [(m.staff_code, m.name, m.kind, m.observed) for m in every.mismatches] == [
        ("NV002", "Trần Thị Bình", "Vắng nhưng có chấm công", "Vắng không lý do"),
        ("NV003", "Lê Văn Cường", "Có mặt nhưng không chấm công", "Có mặt")]
    assert every.mismatches[0].punches == "07:18 (TK-01)" and every.mismatches[1].punches == "Không có lượt chấm công"
    assert every.mismatches[0].resolution is not None and "đi họp thôn" in every.mismatches[0].resolution
    assert "lead1" in every.mismatches[0].resolution and "/2026)" in every.mismatches[0].resolution
    assert every.mismatches[1].resolution is None
    # Open actions, overdue against the day given; the draft's action is not there.
    assert [(f.action, f.assignee, f.due, f.overdue) for f in every.follow_ups] == [
        ("Niêm yết lại số đường dây nóng", "Nguyễn Văn An (NV001)", dt.date(2026, 10, 20), True),
        ("Bổ sung biển tên", "Lê Văn Cường (NV003)", dt.date(2026, 12, 15), False)]
    # Repeat offenders: NV001 in September and October; NV002's July is outside Aug-Oct.
    assert [(r.staff_code, r.name, r.unit_name, r.months, r.violations) for r in every.repeat_offenders] == [
        ("NV001", "Nguyễn Văn An", "Xã Tân Kỳ", 2, 2)]
    # The commune's report leaves out the other commune's check, its mismatch and action.
    assert [c.uuid for c in commune.checks] == [OCT_A]
    assert [m.staff_code for m in commune.mismatches] == ["NV002"]
    assert [f.action for f in commune.follow_ups] == ["Niêm yết lại số đường dây nóng"]
    assert {v.item_code: v.count for v in commune.violations}["badge_worn"] == 1


def test_docx_and_xlsx_carry_the_spot_check_numbers(spot: str, tmp_path: Path) -> None:
    with transaction() as session:
        data = gather_report(session, "2026-10", "411", report_settings(session), today=TODAY)
    docx, xlsx = tmp_path / "r.docx", tmp_path / "r.xlsx"
    write_report(data, "docx", docx)
    write_report(data, "xlsx", xlsx)
    doc = Document(str(docx))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "đã tiến hành 2 cuộc kiểm tra đột xuất tại 2 đơn vị" in body
    assert "2 lượt có mặt, 0 lượt vắng có lý do, 0 lượt vắng chưa xác minh được lý do, 1 lượt vắng không có lý do" \
        in body
    assert "Đeo thẻ công chức (2 lần)" in body
    assert "Có 1 người vi phạm lặp lại trong nhiều tháng." in body
    assert "Hồ sơ thủ tục hành chính quá hạn: 5 hồ sơ tại 2 đơn vị; đã gửi thư xin lỗi 3 hồ sơ." in body
    assert "2 trường hợp sai lệch, đã giải quyết 1, còn 1" in body
    assert "Còn 2 việc cần khắc phục chưa hoàn thành, trong đó 1 việc đã quá hạn." in body
    assert len(doc.inline_shapes) == 3  # units, trend and now the violations chart
    cells = {c.text for t in doc.tables for r in t.rows for c in r.cells}
    assert {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Chưa giải quyết"} <= cells

    book = load_workbook(xlsx)
    checks = book["Kiểm tra đột xuất"]
    rows = [[c.value for c in r] for r in checks.iter_rows()]
    heading = next(i for i, r in enumerate(rows) if r[:2] == ["STT", "Ngày"])
    body_rows = rows[heading + 1:heading + 3]
    assert [(r[3], r[5], r[8], r[9], r[10]) for r in body_rows] == [
        ("Xã Tân Kỳ", 1, 1, 3, "Đã duyệt"), ("Xã Nghĩa Đồng", 1, 0, 3, "Chờ duyệt")]
    violations = [[c.value for c in r] for r in book["Vi phạm theo tiêu chí"].iter_rows()]
    assert ["badge_worn", "Đeo thẻ công chức", 2] in [r[1:4] for r in violations]
    repeat = [[c.value for c in r] for r in book["Vi phạm lặp lại"].iter_rows()]
    assert ["NV001", "Nguyễn Văn An", "Xã Tân Kỳ", 2, 2] in [r[1:6] for r in repeat]
    mismatches = [[c.value for c in r] for r in book["Đối chiếu chấm công"].iter_rows()]
    found = {r[2]: r for r in mismatches if r[2] in ("NV002", "NV003")}
    assert found["NV003"][7] == "Chưa giải quyết" and "đi họp thôn" in found["NV002"][7]
    follow = [[c.value for c in r] for r in book["Việc cần khắc phục"].iter_rows()]
    assert ["Xã Tân Kỳ", "Niêm yết lại số đường dây nóng", "Nguyễn Văn An (NV001)"] in [r[1:4] for r in follow]
    assert len(book["Biểu đồ"]._images) == 3


def test_repeat_offender_periods_follow_the_report_periods() -> None:
    assert [(p.first, p.last) for p in periods_ending("2026-10", 3)] == [
        (dt.date(2026, 8, 1), dt.date(2026, 8, 31)), (dt.date(2026, 9, 1), dt.date(2026, 9, 30)),
        (dt.date(2026, 10, 1), dt.date(2026, 10, 31))]
    assert [(p.month, p.first, p.last) for p in periods_ending("2026-01", 3, 15)] == [
        ("2025-11", dt.date(2025, 10, 15), dt.date(2025, 11, 14)),
        ("2025-12", dt.date(2025, 11, 15), dt.date(2025, 12, 14)),
        ("2026-01", dt.date(2025, 12, 15), dt.date(2026, 1, 14))]


def _screen_and_report(config: dict[str, Any]) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(staff, months, violations) of the lead's screen and of the province report, same data and config."""
    with transaction() as session:
        screen = review.repeat_offenders(session, _account("lead1"), "2026-10", config=config)
        data = gather_report(session, "2026-10", "411", report_settings(session, config), today=TODAY)
    return ([(p["staff"], p["month_count"], p["total"]) for p in screen.people],
            [(r.staff_code, r.months, r.violations) for r in data.spot.repeat_offenders])


def test_the_lead_screen_and_the_report_name_the_same_repeat_offenders(spot: str) -> None:
    inspector, lead = _account("insp1"), _account("lead1")
    # August: NV002 late (a violation), NV001 absent with the proof pending (not one, yet).
    _check(inspector, lead, AUG, _day("2026-08-20", headcount=[
        {"staff": "NV001", "status": "absent_unverified", "note": "báo ốm, chưa nộp giấy"},
        {"staff": "NV002", "status": "late", "arrived_at": "2026-08-20T08:40:00"}], findings=[], actions=[]))
    screen, report = _screen_and_report({})
    # Calendar months Aug-Oct: NV001 in Sep and Oct; NV002 late in Aug and absent in Oct.
    assert screen == report == [("NV001", 2, 2), ("NV002", 2, 2)]
    # Four periods reach July's absence of NV002; at least three of them leaves NV001 out.
    screen, report = _screen_and_report({"REPORT_REPEAT_MONTHS": 4})
    assert screen == report == [("NV002", 3, 3), ("NV001", 2, 2)]
    screen, report = _screen_and_report({"REPORT_REPEAT_MONTHS": "4", "REPORT_REPEAT_MIN_MONTHS": "3"})
    assert screen == report == [("NV002", 3, 3)]
    # Periods from the 15th: 15/09 and 06/10 fall in one period, so NV001 has one; 20/08 is in 09's.
    screen, report = _screen_and_report({"REPORT_MONTH_START_DAY": 15})
    assert screen == report == [("NV002", 2, 2)]
    with transaction() as session, pytest.raises(InvalidInput, match="REPORT_REPEAT_MIN_MONTHS"):
        report_settings(session, {"REPORT_REPEAT_MONTHS": 2, "REPORT_REPEAT_MIN_MONTHS": 3})
    with transaction() as session, pytest.raises(InvalidInput, match="REPORT_REPEAT_MONTHS"):
        report_settings(session, {"REPORT_REPEAT_MONTHS": 25})
    with transaction() as session:
        assert report_settings(session, {"REPORT_REPEAT_MONTHS": 1}).repeat_min_months == 1
