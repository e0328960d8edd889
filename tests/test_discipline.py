"""The register of discipline decisions and the half-yearly publication list: rules, scope, documents, CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm, Pt
from openpyxl import load_workbook
from sqlalchemy import func, inspect, select

from attendance import models as m
from attendance.accounts import Account, Role
from attendance.bundle import validate_bundle
from attendance.db import get_engine, transaction
from attendance.errors import Conflict, Forbidden, InvalidInput, NotFound, UnknownStaff
from attendance.org import load_bundle
from inspections import discipline as d
from inspections.models import DisciplineDecision
from inspections.report.publication import publication_file

TREE = {
    "units": [{"code": "H", "name": "Huyện Thử", "kind": "district"},
              {"code": "X1", "name": "Xã Một", "kind": "commune", "parent": "H"},
              {"code": "X1-UB", "name": "UBND Xã Một", "kind": "office", "parent": "X1"},
              {"code": "X2", "name": "Xã Hai", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "valid_from": "2026-01-01",
                   "weekdays": ["mon", "tue", "wed", "thu", "fri"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "staff": [{"code": "A1", "name": "Nguyễn Văn An", "unit": "X1-UB", "position": "Công chức Văn phòng - Thống kê"},
              {"code": "B1", "name": "Trần Thị Bình", "unit": "X1", "position": "Công chức Tư pháp - Hộ tịch"},
              {"code": "C2", "name": "Lê Văn Cường", "unit": "X2", "position": "Phó Chủ tịch UBND xã"},
              {"code": "M1", "name": "Phạm Văn Minh",
               "assignments": [{"unit": "X1", "valid_to": "2026-06-30"}, {"unit": "X2", "valid_from": "2026-07-01"}]}],
}
ADMIN = Account(0, "root", "", Role.ADMIN, ())
TODAY = dt.date(2026, 12, 31)


def account(role: str, *units: str) -> Account:
    return Account(1, f"u-{role}", "", Role(role), units)


def fields(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"staff": "A1", "number": "15/QĐ-UBND", "date": "2026-06-30", "form": "reprimand",
                               "issued_by": "UBND xã Một", "reason": "Nghỉ việc không lý do 3 ngày"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def tree(db_url: str) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(TREE))))
    return db_url


def record(acct: Account = ADMIN, **changes: object) -> tuple[d.DecisionRow, bool]:
    with transaction() as session:
        return d.record_decision(session, acct, fields(**changes), "test", today=TODAY)


def test_a_replayed_decision_is_one_row_and_the_database_enforces_it(tree: str) -> None:
    first, created = record()
    again, created_again = record()
    assert created and not created_again and again.id == first.id
    # Composed and decomposed accents, extra spaces: the same decision.
    import unicodedata
    _same, created = record(number=" 15/" + unicodedata.normalize("NFD", "QĐ-UBND") + " ", issued_by="UBND  xã Một")
    assert not created
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(DisciplineDecision)) == 1
        assert first.unit_code == "X1-UB" and first.name == "Nguyễn Văn An" and first.form_label == "Khiển trách"
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "discipline_decision")).all()
        assert [(a.action, a.entity_key) for a in audit] == [("create", "A1 15/QĐ-UBND")]
        assert audit[0].changes["form"] == [None, "reprimand"] and audit[0].changes["date"] == [None, "2026-06-30"]
    # The same number for the same person with another form: a conflict that says what differs.
    with pytest.raises(Conflict, match="form"):
        record(form="warning")
    # The constraint is in the database itself, not only in Python.
    uniques = inspect(get_engine(tree)).get_unique_constraints("discipline_decision")
    assert {tuple(u["column_names"]) for u in uniques} == {("number", "staff_code")}
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        with transaction() as session:
            session.add(DisciplineDecision(staff_code="A1", unit_code="X1", number="15/QĐ-UBND",
                                           decided_on=dt.date(2026, 1, 2), form="warning", issued_by="x", reason="",
                                           created_at=dt.datetime(2026, 1, 2), created_by="sql"))
    # The same number for another person is another decision.
    _row, created = record(staff="B1")
    assert created


@pytest.mark.parametrize(("changes", "field"), [
    ({"staff": None}, "staff"),
    ({"number": "   "}, "number"),
    ({"number": "x" * 61}, "number"),
    ({"date": "2027-01-01"}, "date"),        # after today
    ({"date": "1899-05-01"}, "date"),        # absurd
    ({"date": "2026-02-30"}, "date"),
    ({"date": "30/06/2026"}, "date"),
    ({"date": None}, "date"),
    ({"form": "fine"}, "form"),
    ({"form": None}, "form"),
    ({"issued_by": None}, "issued_by"),
    ({"reason": "a\x00b"}, "reason"),
    ({"reason": "x" * 2001}, "reason"),
    ({"spot_check": "not-a-uuid"}, "spot_check"),
    ({"spot_check": "00000000-0000-4000-8000-000000000001"}, "spot_check"),  # no such spot check
    ({"colour": "red"}, "colour"),
])
def test_each_refusal_names_its_field(tree: str, changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        record(**changes)
    assert str(refused.value).startswith(f"{field}: "), str(refused.value)
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(DisciplineDecision)) == 0


def test_scope_and_roles(tree: str) -> None:
    lead = account("team_lead", "X1")
    row, _created = record(lead)
    assert row.unit_code == "X1-UB"
    record(staff="C2", number="7/QĐ-UBND")  # the administrator records one in X2
    with pytest.raises(UnknownStaff):  # outside the scope: as if the person did not exist
        record(lead, staff="C2", number="8/QĐ-UBND")
    for role in ("inspector", "clerk", "unit_head", "viewer"):
        with pytest.raises(Forbidden):
            record(account(role, "X1"), number=f"9/{role}")
    with transaction() as session:
        head = account("unit_head", "X1")
        seen = d.decisions(session, head)
        assert [r.staff_code for r in seen] == ["A1"]  # never X2's decision
        assert [r.staff_code for r in d.decisions(session, account("viewer", "X2"))] == ["C2"]
        assert len(d.decisions(session, ADMIN)) == 2
        with pytest.raises(NotFound):
            d.decisions(session, head, unit_code="X2")
        with pytest.raises(NotFound):  # annulling another unit's decision: it does not exist
            d.withdraw_decision(session, head, d.decisions(session, ADMIN)[1].id, "sai", "test")
        with pytest.raises(Forbidden):
            d.withdraw_decision(session, head, row.id, "sai", "test")
    # A person who moved: the decision stays with the unit of its date.
    moved_before, _c = record(staff="M1", number="1/QĐ", date="2026-06-30")
    moved_after, _c = record(staff="M1", number="2/QĐ", date="2026-07-01")
    assert (moved_before.unit_code, moved_after.unit_code) == ("X1", "X2")


def test_annulled_decisions_stay_but_leave_the_list(tree: str) -> None:
    row, _created = record()
    record(staff="B1", number="16/QĐ-UBND", form="warning", date="2026-03-01")
    with transaction() as session:
        with pytest.raises(InvalidInput, match="^reason: "):
            d.withdraw_decision(session, ADMIN, row.id, "  ", "test")
    with transaction() as session:
        annulled, changed = d.withdraw_decision(session, ADMIN, row.id, "Quyết định bị hủy theo kết luận thanh tra",
                                                "test")
        assert changed and annulled.annulled and annulled.annul_reason.startswith("Quyết định bị hủy")
    with transaction() as session:
        _again, changed = d.withdraw_decision(session, ADMIN, row.id, "lần nữa", "test")
        assert not changed
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(DisciplineDecision)) == 2  # kept, never deleted
        assert [r.annulled for r in d.decisions(session, ADMIN)] == [False, True]
        assert [r.staff_code for r in d.publication_list(session, ADMIN, "2026-H1")] == ["B1"]
        actions = session.scalars(select(m.AuditLog.action).where(m.AuditLog.entity == "discipline_decision")
                                  .order_by(m.AuditLog.id)).all()
        assert actions == ["create", "create", "annul"]


def test_half_year_edges(tree: str) -> None:
    for number, day in (("1", "2026-01-01"), ("2", "2026-06-30"), ("3", "2026-07-01"), ("4", "2026-12-31"),
                        ("5", "2025-12-31")):
        record(number=f"{number}/QĐ", date=day)
    with transaction() as session:
        first = d.publication_list(session, ADMIN, "2026-H1")
        second = d.publication_list(session, ADMIN, "2026-H2")
    assert [r.number for r in first] == ["1/QĐ", "2/QĐ"]
    assert [r.number for r in second] == ["3/QĐ", "4/QĐ"]
    assert d.parse_half("2026-H2").phrase == "6 tháng cuối năm 2026"
    for bad in ("2026-H3", "2026H1", "2026-h1", "", "x" * 10_000):
        with pytest.raises(InvalidInput, match="^half: "):
            d.parse_half(bad)


def test_the_documents(tree: str) -> None:
    record(date="2026-07-15", form="warning")
    record(staff="B1", number="20/QĐ-UBND", date="2026-09-01", form="salary_grade_delay", issued_by="Chủ tịch UBND xã")
    record(staff="C2", number="21/QĐ-UBND", date="2026-10-01")  # another commune
    record(number="1/QĐ-UBND", date="2026-03-01")  # the first half year
    with transaction() as session:
        word, name = publication_file(session, account("team_lead", "X1"), "2026-H2", None, "docx",
                                      today=dt.date(2027, 1, 5))
        book, book_name = publication_file(session, ADMIN, "2026-H2", "X1", "xlsx", today=dt.date(2027, 1, 5))
        with pytest.raises(InvalidInput, match="^format: "):
            publication_file(session, ADMIN, "2026-H2", "X1", "pdf")
    assert name == "cong-khai-ky-luat-2026-H2-X1.docx" and book_name.endswith("-X1.xlsx")

    doc = Document(io.BytesIO(word))
    section = doc.sections[0]
    assert (round(section.page_width / Mm(1)), round(section.page_height / Mm(1))) == (210, 297)
    assert doc.styles["Normal"].font.name == "Times New Roman" and doc.styles["Normal"].font.size == Pt(14)
    left, right = (c.text for c in doc.tables[0].rows[0].cells)
    assert "UBND HUYỆN THỬ" in left and "/DS-TKTCV" in left
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right and "ngày 05 tháng 01 năm 2027" in right
    texts = [p.text for p in doc.paragraphs]
    assert "DANH SÁCH" in texts
    assert "Công khai cán bộ, công chức bị xử lý kỷ luật 6 tháng cuối năm 2026 tại Xã Một" in texts
    table = doc.tables[1]
    assert [c.text for c in table.rows[0].cells] == ["STT", "Họ và tên", "Chức vụ / đơn vị", "Số và ngày quyết định",
                                                     "Hình thức kỷ luật", "Cơ quan ban hành"]
    body = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert body == [
        ["1", "Nguyễn Văn An", "Công chức Văn phòng - Thống kê, UBND Xã Một", "15/QĐ-UBND\nngày 15/07/2026",
         "Cảnh cáo", "UBND xã Một"],
        ["2", "Trần Thị Bình", "Công chức Tư pháp - Hộ tịch, Xã Một", "20/QĐ-UBND\nngày 01/09/2026", "Hạ bậc lương",
         "Chủ tịch UBND xã"]]
    assert "Nơi nhận:" in doc.tables[2].rows[0].cells[0].text and "TỔ TRƯỞNG" in doc.tables[2].rows[0].cells[1].text

    sheet = load_workbook(io.BytesIO(book)).active
    assert sheet.title == "Công khai kỷ luật" and sheet["A1"].value.startswith("DANH SÁCH CÔNG KHAI")
    assert [c.value for c in sheet[4]] == ["STT", "Họ và tên", "Chức vụ / đơn vị", "Số quyết định", "Ngày quyết định",
                                           "Hình thức kỷ luật", "Cơ quan ban hành"]
    rows = [list(r) for r in sheet.iter_rows(min_row=5, max_row=6, values_only=True)]
    assert [r[1] for r in rows] == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert rows[0][4] == dt.datetime(2026, 7, 15) and sheet["E5"].number_format == "dd/mm/yyyy"
    assert sheet.cell(7, 2).value in (None, "")  # nothing of X2 or of the first half
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:G6"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.print_title_rows == "$4:$4"
    values = [c for r in sheet.iter_rows(values_only=True) for c in r if c]
    assert "NGƯỜI LẬP BIỂU" in values and "THỦ TRƯỞNG ĐƠN VỊ" in values


def test_an_empty_half_year_says_so(tree: str) -> None:
    with transaction() as session:
        word, _name = publication_file(session, ADMIN, "2026-H1", "X1", "docx")
        book, _name = publication_file(session, ADMIN, "2026-H1", "X1", "xlsx")
    assert any("không có cán bộ, công chức nào" in p.text for p in Document(io.BytesIO(word)).paragraphs)
    assert load_workbook(io.BytesIO(book)).active["A5"].value.startswith("Trong kỳ không có")


SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120, env=os.environ.copy(),
                          check=False)


def test_cli_end_to_end(tree: str, tmp_path: Path) -> None:
    add = ["discipline", "add", "--staff", "A1", "--number", "15/QĐ-UBND", "--date", "2026-07-15", "--form",
           "warning", "--issued-by", "UBND xã Một", "--reason", "Vắng mặt không lý do"]
    first = run_cli(*add)
    assert first.returncode == 0, first.stderr
    again = run_cli(*add)
    assert again.returncode == 0 and "đã có" in again.stderr, again.stderr
    bad = run_cli("discipline", "add", "--staff", "A1", "--number", "16/QĐ", "--date", "2026-07-15", "--form",
                  "fine", "--issued-by", "x")
    assert bad.returncode != 0 and bad.stderr.startswith("error: form: ") and "cần một trong" in bad.stderr, bad.stderr
    english = run_cli("--lang", "en", "discipline", "add", "--staff", "NOPE", "--number", "1", "--date", "2026-07-15",
                      "--form", "warning", "--issued-by", "x")
    assert english.returncode != 0 and "no staff member 'NOPE'" in english.stderr, english.stderr
    listed = run_cli("discipline", "list", "--from", "2026-07-01", "--to", "2026-12-31", "--json")
    assert listed.returncode == 0, listed.stderr
    documents = json.loads(listed.stdout)
    assert [(x["staff"], x["number"], x["date"], x["form"]) for x in documents] == [
        ("A1", "15/QĐ-UBND", "2026-07-15", "warning")]
    text = run_cli("discipline", "list")
    assert "15/QĐ-UBND" in text.stdout and "15/07/2026" in text.stdout and "Cảnh cáo" in text.stdout
    output = tmp_path / "ds.xlsx"
    made = run_cli("publication", "--half", "2026-H2", "--unit", "X1", "--format", "xlsx", "-o", str(output))
    assert made.returncode == 0, made.stderr
    assert load_workbook(output).active["B5"].value == "Nguyễn Văn An"
    word = tmp_path / "ds.docx"
    made = run_cli("publication", "--half", "2026-H2", "--format", "docx", "-o", str(word))
    assert made.returncode == 0 and len(Document(str(word)).tables[1].rows) == 2, made.stderr
    refused = run_cli("publication", "--half", "2026-H3", "--format", "docx", "-o", str(word))
    assert refused.returncode != 0 and refused.stderr.startswith("error: half: "), refused.stderr
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(DisciplineDecision)) == 1
        actors = session.scalars(select(m.AuditLog.origin).where(m.AuditLog.entity == "discipline_decision")).all()
        assert actors == ["cli"]


def test_web_page_roles_and_api(tree: str) -> None:
    from test_web_api import token_for
    from web_helpers import csrf_token, signed_in_client

    from attendance import create_app

    app = create_app({"DATABASE_URL": tree, "TESTING": True})
    record(staff="C2", number="7/QĐ-UBND", date="2026-08-01")  # X2's decision
    lead = signed_in_client(app, "lead1", "team_lead", ["X1"])
    page = lead.get("/inspections/discipline")
    assert page.status_code == 200 and 'href="/inspections/discipline"' in page.text  # in the menu
    assert "Lê Văn Cường" not in page.text and "<style" not in page.text and 'style="' not in page.text
    token = csrf_token(lead, "/inspections/discipline")
    form = {"csrf_token": token, "staff": "A1", "number": "15/QĐ-UBND", "date": "2026-07-15", "form": "warning",
            "issued_by": "UBND xã Một", "reason": "Vắng mặt"}
    assert lead.post("/inspections/discipline", data=form).status_code == 303
    assert lead.post("/inspections/discipline", data=form).status_code == 303  # replay: one row
    page = lead.get("/inspections/discipline")
    assert page.text.count("<td>15/QĐ-UBND</td>") == 1 and "Cảnh cáo" in page.text and "15/07/2026" in page.text
    refused = lead.post("/inspections/discipline", data={**form, "number": "16/QĐ", "date": "2099-01-01"})
    assert refused.status_code in (400, 422) and "date" in refused.text
    outside = lead.post("/inspections/discipline", data={**form, "staff": "C2", "number": "17/QĐ"})
    assert outside.status_code == 404
    without_token = lead.post("/inspections/discipline", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert without_token.status_code == 400
    with transaction() as session:
        ids = {r.staff_code: r.id for r in d.decisions(session, ADMIN)}
    assert lead.post(f"/inspections/discipline/{ids['C2']}/annul", data={"csrf_token": token,
                                                                         "reason": "x"}).status_code == 404
    # Roles that may read but not record: the list of their scope, no form, 403 on a post.
    for role in ("inspector", "clerk", "unit_head", "viewer"):
        other = signed_in_client(app, f"w-{role}", role, ["X1"])
        page = other.get("/inspections/discipline")
        assert page.status_code == 200 and "15/QĐ-UBND" in page.text and "7/QĐ-UBND" not in page.text
        assert 'name="issued_by"' not in page.text
        other_token = csrf_token(other, "/inspections/discipline?unit=X1")
        assert other.post("/inspections/discipline", data={**form, "csrf_token": other_token}).status_code == 403
        assert other.post(f"/inspections/discipline/{ids['A1']}/annul",
                          data={"csrf_token": other_token, "reason": "x"}).status_code == 403
        assert other.get("/inspections/discipline?unit=X2").status_code == 404
    answer = lead.post(f"/inspections/discipline/{ids['A1']}/annul", data={"csrf_token": token, "reason": "Sai sót"})
    assert answer.status_code == 303
    page = lead.get("/inspections/discipline")
    assert 'class="annulled"' in page.text and "Sai sót" in page.text
    # Downloads: the annulled decision is left out; a bad half year or format names the parameter.
    word = lead.get("/inspections/discipline/publication?half=2026-H2&format=docx")
    assert word.status_code == 200 and word.headers["Content-Disposition"].endswith('-2026-H2-X1.docx"')
    assert len(Document(io.BytesIO(word.data)).tables) == 2  # header blocks and signature: no table of people
    bad = lead.get("/inspections/discipline/publication?half=2026-H9")
    assert bad.status_code in (400, 422) and "half" in bad.text
    assert lead.get("/inspections/discipline/publication?half=2026-H2&unit=X2").status_code == 404
    admin = signed_in_client(app, "root1", "admin")
    book = admin.get("/inspections/discipline/publication?half=2026-H2&format=xlsx&unit=X2")
    assert book.status_code == 200 and load_workbook(io.BytesIO(book.data)).active["B5"].value == "Lê Văn Cường"
    # The API: bearer token, scope, 422 naming the parameter.
    headers = token_for("lead1")
    listed = lead.get("/api/v1/discipline-decisions?from=2026-01-01&to=2026-12-31", headers=headers)
    assert listed.status_code == 200
    assert [(x["staff"], x["annulled_at"] is not None) for x in listed.get_json()] == [("A1", True)]
    bad = lead.get("/api/v1/discipline-decisions?from=2026-13-01", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["message"].startswith("from: ")
    assert lead.get("/api/v1/discipline-decisions?unit=X2", headers=headers).status_code == 404
    assert lead.get("/api/v1/discipline-decisions").status_code == 401
    admin_headers = token_for("root1")
    file = admin.get("/api/v1/reports/publication?half=2026-H2&unit=X2&format=xlsx", headers=admin_headers)
    assert file.status_code == 200 and load_workbook(io.BytesIO(file.data)).active["B5"].value == "Lê Văn Cường"
    for query, name in (("half=2026-H3", "half"), ("format=docx", "half"), ("half=2026-H1&format=pdf", "format")):
        bad = admin.get(f"/api/v1/reports/publication?{query}", headers=admin_headers)
        assert bad.status_code == 422 and bad.get_json()["error"]["message"].startswith(f"{name}: "), bad.text
