"""The monthly report page and API: role and scope rules, key figures, charts and downloads."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from docx import Document
from flask import Flask
from openpyxl import load_workbook
from test_report_spot import spot  # noqa: F401 - the fixture: October's spot checks in 17830 and 17831
from test_web_api import token_for
from web_helpers import signed_in_client

from attendance import create_app

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _app(db_url: str) -> Flask:
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def test_page_roles_and_scope(spot: str) -> None:  # noqa: F811
    app = _app(spot)
    lead = signed_in_client(app, "leadpage", "team_lead", ["17830"])
    page = lead.get("/inspections/reports?month=2026-10")  # limited to one unit: that unit
    assert page.status_code == 200, page.text
    text = page.text
    assert "Xã Tân Kỳ" in text and "10/2026" in text
    # One check of 17830 in October, its 3 failed items, NV001 again, NV002's mismatch resolved,
    # one open follow-up (due 20/10/2026: overdue since).
    figures = dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", text))
    assert figures["Kiểm tra đột xuất"] == "1" and figures["Số vi phạm phát hiện"] == "3"
    assert figures["Người vi phạm lặp lại"] == "1" and figures["Sai lệch chưa giải quyết"] == "0"
    assert figures["Việc cần khắc phục còn mở"] == "1 (1 quá hạn)"
    assert 'href="/inspections/reports/file?month=2026-10&amp;unit=17830&amp;format=xlsx"' in text
    charts = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', text)
    assert len(charts) == 3 and all(base64.b64decode(png).startswith(b"\x89PNG") for png, _alt in charts)
    assert any("tiêu chí" in alt for _png, alt in charts)  # violations by checklist item
    # Outside the scope: 404, the same as a unit that does not exist.
    outside = lead.get("/inspections/reports?month=2026-10&unit=17831")
    missing = lead.get("/inspections/reports?month=2026-10&unit=NOPE")
    assert outside.status_code == missing.status_code == 404
    assert lead.get("/inspections/reports/file?month=2026-10&unit=17831&format=docx").status_code == 404
    # A bad month or format says which.
    bad = lead.get("/inspections/reports?month=2026-13&unit=17830")
    assert bad.status_code in (400, 422) and "month" in bad.text
    bad = lead.get("/inspections/reports/file?month=2026-10&unit=17830&format=odt")
    assert bad.status_code in (400, 422) and "format" in bad.text
    # Inside the scope, a role without build_reports: 403; outside its scope still 404.
    for role in ("inspector", "clerk", "unit_head", "viewer"):
        other = signed_in_client(app, f"u-{role}", role, ["17830"])
        assert other.get("/inspections/reports?month=2026-10&unit=17830").status_code == 403
        assert other.get("/inspections/reports/file?month=2026-10&unit=17830&format=docx").status_code == 403
        assert other.get("/inspections/reports?month=2026-10&unit=17831").status_code == 404
    # A team lead of several units must choose one.
    several = signed_in_client(app, "leadtwo", "team_lead", ["17830", "17831"])
    assert several.get("/inspections/reports?month=2026-10").status_code in (400, 422)
    assert several.get("/inspections/reports?month=2026-10&unit=17831").status_code == 200


def test_page_menu_and_downloads_for_an_admin(spot: str) -> None:  # noqa: F811
    app = _app(spot)
    admin = signed_in_client(app, "rootpage", "admin")
    page = admin.get("/inspections/reports?month=2026-10")
    assert page.status_code == 200 and 'href="/inspections/reports"' in page.text
    assert "Xã Nghĩa Đồng" in page.text and "<style" not in page.text and "<script>" not in page.text
    word = admin.get("/inspections/reports/file?month=2026-10&unit=411&format=docx")
    assert word.status_code == 200 and word.mimetype == DOCX
    assert 'filename="bao-cao-2026-10-411.docx"' in word.headers["Content-Disposition"]
    body = "\n".join(p.text for p in Document(io.BytesIO(word.data)).paragraphs)
    assert "đã tiến hành 2 cuộc kiểm tra đột xuất tại 2 đơn vị" in body
    book = admin.get("/inspections/reports/file?month=2026-10&unit=17830&format=xlsx")
    assert book.status_code == 200 and book.mimetype == XLSX
    sheet = load_workbook(io.BytesIO(book.data))["Kiểm tra đột xuất"]
    assert sum(1 for row in sheet.iter_rows(values_only=True) if "Xã Tân Kỳ" in row) == 1
    viewer = signed_in_client(app, "viewerpage", "viewer")
    assert 'href="/inspections/reports"' not in viewer.get("/").text


def test_api_monthly_report(spot: str) -> None:  # noqa: F811
    app = _app(spot)
    client = app.test_client()
    lead = token_for("leadapi", "team_lead", ["17830"])
    answer = client.get("/api/v1/reports/monthly?month=2026-10&unit=17830&format=xlsx", headers=lead)
    assert answer.status_code == 200 and answer.mimetype == XLSX
    sheet = load_workbook(io.BytesIO(answer.data))["Kiểm tra đột xuất"]
    assert sum(1 for row in sheet.iter_rows(values_only=True) if "Xã Tân Kỳ" in row) == 1
    word = client.get("/api/v1/reports/monthly?month=2026-10", headers=lead)  # docx, the token's unit
    assert word.status_code == 200 and word.mimetype == DOCX
    assert client.get("/api/v1/reports/monthly?month=2026-10&unit=17830").status_code == 401
    for query, name in (("month=2026-13&unit=17830", "month"), ("unit=17830", "month"),
                        ("month=2026-10&unit=17830&format=odt", "format"),
                        ("month=2026-10&month=2026-11&unit=17830", "month")):
        bad = client.get(f"/api/v1/reports/monthly?{query}", headers=lead)
        assert bad.status_code == 422, (query, bad.text)
        assert bad.get_json()["error"]["message"].startswith(f"{name}:"), bad.get_json()
    outside = client.get("/api/v1/reports/monthly?month=2026-10&unit=17831", headers=lead)
    missing = client.get("/api/v1/reports/monthly?month=2026-10&unit=NOPE", headers=lead)
    assert outside.status_code == missing.status_code == 404
    inspector = token_for("inspapi", "inspector", ["17830"])
    assert client.get("/api/v1/reports/monthly?month=2026-10&unit=17830", headers=inspector).status_code == 403
    assert client.get("/api/v1/reports/monthly?month=2026-10&unit=17831", headers=inspector).status_code == 404
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/reports/monthly"]["get"]
    assert operation["operationId"] == "monthlyReport" and {"403", "404", "422"} <= set(operation["responses"])


def test_pdf_without_libreoffice_is_503_with_the_reason(spot: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                        tmp_path: Path) -> None:
    app = _app(spot)
    lead = signed_in_client(app, "leadpdf", "team_lead", ["17830"])
    token = token_for("leadpdfapi", "team_lead", ["17830"])
    client = app.test_client()
    missing = tmp_path / "no-such-soffice"
    monkeypatch.setenv("ATTENDANCE_SOFFICE", str(missing))
    page = lead.get("/inspections/reports/file?month=2026-10&unit=17830&format=pdf")
    assert page.status_code == 503 and "ATTENDANCE_SOFFICE" in page.text and str(missing) in page.text
    assert "Cơ sở dữ liệu đang bận" not in page.text  # not the busy database's page
    answer = client.get("/api/v1/reports/monthly?month=2026-10&unit=17830&format=pdf", headers=token)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "converter_missing"
    assert "ATTENDANCE_SOFFICE" in answer.get_json()["error"]["message"]
    # Word still works without it.
    assert lead.get("/inspections/reports/file?month=2026-10&unit=17830&format=docx").status_code == 200
    # A file that cannot be run is as missing; a program that runs and fails says what it printed.
    missing.write_text("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 3\n")
    assert client.get("/api/v1/reports/monthly?month=2026-10&unit=17830&format=pdf",
                      headers=token).status_code == 503
    missing.chmod(0o755)
    broken = client.get("/api/v1/reports/monthly?month=2026-10&unit=17830&format=pdf", headers=token)
    assert broken.status_code == 503
    assert broken.get_json()["error"]["message"].endswith("source file could not be loaded"), broken.get_json()
