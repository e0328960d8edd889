"""The minimal web pages: unit tree and a unit's month."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import has_app_context
from sqlalchemy import select
from web_helpers import csrf_token, load_district, signed_in_client

from attendance import create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import get_engine, transaction
from attendance.org import load_bundle
from attendance.synth import generate_district
from attendance.web import get_session


def test_units_and_summary_pages(db_url: str, tmp_path: Path) -> None:
    district = generate_district(units=2, staff_per_unit=3, month="2026-10", seed=5)
    load_district(district, tmp_path)
    client = signed_in_client(create_app({"DATABASE_URL": db_url, "TESTING": True}))

    page = client.get("/").get_data(as_text=True)
    assert "Xã Tân 1" in page and "Huyện Tân Kỳ" in page
    assert "month=2026-10" in page  # the month of the newest punch is the default
    assert "Tổng hợp tháng 10/2026" in page and "<td>Huyện</td>" in page
    assert '<td class="num">6</td>' in page  # the district counts the people of its communes

    # The former summary address shows the unit's month (people x days with the summary's totals).
    page = client.get("/units/17830/summary?month=2026-10").get_data(as_text=True)
    assert "Tổng hợp chấm công tháng 10/2026" in page
    assert "Từ 01/10/2026 đến 31/10/2026" in page
    for code, want in district.expected.items():
        if code.startswith("NV001"):
            row = re.search(rf'<tr id="staff-{code}">(.*?)</tr>', page, re.S)
            assert row, code
            assert f'data-field="working_days">{want["working_days"]}<' in row.group(1)
    assert "NV002001" not in page  # another commune

    assert client.get("/units/404/summary").status_code == 404
    assert client.get("/units/17830/summary?month=2026-13").status_code == 400


MOVED = {
    "units": [{"code": "D1", "name": "Huyện Thử", "kind": "district"},
              {"code": "C1", "name": "Xã Một", "kind": "commune", "parent": "D1"},
              {"code": "C2", "name": "Xã Hai", "kind": "commune", "parent": "D1"},
              {"code": "X9", "name": "Xã Ngoài", "kind": "commune"}],
    "staff": [
        # Moved from C1 to C2 in July: one person, two assignment rows.
        {"code": "NV1", "name": "Nguyễn Văn Chuyển", "assignments": [
            {"unit": "C1", "valid_to": "2026-06-30"}, {"unit": "C2", "valid_from": "2026-07-01"}]},
        {"code": "NV2", "name": "Trần Thị Ở", "unit": "C1"},
        {"code": "NV3", "name": "Lê Văn Khác", "unit": "X9"},
    ],
}


def _count_cells(page: str) -> dict[str, str]:
    """Unit code → the number in its row's people column."""
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>.*?<td class=\"num\">(\d+)</td>", page, re.S)
    return dict(rows)


def test_units_page_counts_people_once_per_subtree(db_url: str) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(MOVED))
    page = signed_in_client(create_app({"DATABASE_URL": db_url, "TESTING": True})).get("/?month=2026-10")
    assert page.status_code == 200
    # D1 has two people, not three assignment rows; each commune counts whoever was there.
    assert _count_cells(page.get_data(as_text=True)) == {"D1": "2", "C1": "2", "C2": "1", "X9": "1"}


def test_error_pages_are_vietnamese_and_terminals_get_plain_text(db_url: str) -> None:
    client = signed_in_client(create_app({"DATABASE_URL": db_url, "TESTING": True}))
    missing = client.get("/units/404/summary?month=2026-10")
    assert (missing.status_code, missing.mimetype) == (404, "text/html")
    text = missing.get_data(as_text=True)
    assert "Không tìm thấy" in text and "không có đơn vị &#39;404&#39;" in text and "Về trang đơn vị" in text
    bad = client.get("/?month=2026-13")
    assert bad.status_code == 400 and "Yêu cầu không hợp lệ" in bad.get_data(as_text=True)
    assert "Tháng không hợp lệ: 2026-13" in bad.get_data(as_text=True)
    assert client.get("/no-such-page").status_code == 404
    plain = client.get("/iclock/no-such-endpoint")
    assert (plain.status_code, plain.mimetype) == (404, "text/plain")
    small = create_app({"DATABASE_URL": db_url, "TESTING": True})
    client = signed_in_client(small)
    small.config["MAX_CONTENT_LENGTH"] = 10
    too_large = client.post("/devices/pending/approve", data={"serial": "X" * 100, "device": "Y"})
    assert too_large.status_code == 413 and "Dữ liệu gửi lên quá lớn" in too_large.get_data(as_text=True)


def test_unexpected_errors_answer_the_500_page(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app({"DATABASE_URL": db_url})  # not TESTING: errors are answered, not raised

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("attendance.terminals.pending_terminals", broken)
    reply = signed_in_client(app).get("/devices/pending")
    assert reply.status_code == 500 and "Lỗi máy chủ" in reply.get_data(as_text=True)
    assert "a bug" not in reply.get_data(as_text=True)


def test_pending_terminals_page_approves_and_rejects_with_forms(db_url: str) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(MOVED))
    client = signed_in_client(create_app({"DATABASE_URL": db_url, "TESTING": True}))
    for serial in ("NEWTERM1", "NEWTERM2"):
        assert client.get(f"/iclock/cdata?SN={serial}&options=all").status_code == 401
    page = client.get("/devices/pending").get_data(as_text=True)
    assert page.count('name="serial" value="NEWTERM1"') == 2 and '<option value="C1">' in page
    token = csrf_token(client, "/devices/pending")
    assert client.post("/devices/pending/approve", data={"serial": "NEWTERM1", "device": "TK-9"}).status_code == 400

    empty = client.post("/devices/pending/approve", data={"serial": "NEWTERM1", "device": " ", "csrf_token": token})
    assert empty.status_code == 400 and "ô &#39;device&#39; (mã máy) đang trống" in empty.get_data(as_text=True)
    wrong = client.post("/devices/pending/approve", data={"serial": "NEWTERM1", "device": "TK-9", "unit": "ZZ",
                                                                 "csrf_token": token})
    assert wrong.status_code == 400 and "không có đơn vị &#39;ZZ&#39;" in wrong.get_data(as_text=True)

    done = client.post("/devices/pending/approve", data={"serial": "NEWTERM1", "device": "TK-9", "unit": "C2",
                                                                "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/devices/pending")
    assert "Đã duyệt máy NEWTERM1 thành máy chấm công TK-9." in client.get("/devices/pending").get_data(as_text=True)
    assert client.post("/devices/pending/reject", data={"serial": "NEWTERM2", "csrf_token": token}).status_code == 303
    with transaction() as session:
        device = session.scalar(select(m.Device).where(m.Device.code == "TK-9"))
        assert (device.serial, device.kind, device.unit_id is not None) == ("NEWTERM1", "adms_push", True)
        statuses = dict(session.execute(select(m.PendingTerminal.serial, m.PendingTerminal.status)).all())
        assert statuses == {"NEWTERM1": "approved", "NEWTERM2": "rejected"}
        approvals = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "device")).all()
        assert {(a.actor, a.origin) for a in approvals} == {("web:admin", "127.0.0.1")}
    assert client.get("/iclock/cdata?SN=NEWTERM1&options=all").status_code == 200
    assert client.get("/iclock/cdata?SN=NEWTERM2&options=all").status_code == 403


def test_one_session_per_request_closed_at_teardown(db_url: str) -> None:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    with app.test_request_context("/"):
        session = get_session()
        assert get_session() is session  # the same one for the whole request
        session.add(m.Setting(key="timezone", value="Asia/Bangkok"))  # never committed
    assert not has_app_context()
    assert get_engine(db_url).pool.checkedout() == 0  # returned to the pool at teardown
    with transaction() as check:
        assert check.get(m.Setting, "timezone") is None  # rolled back, not committed
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").status_code == 302  # to the sign-in page
    assert get_engine(db_url).pool.checkedout() == 0
