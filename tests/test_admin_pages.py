"""Administration pages: staff and enrollments, a terminal, schedules and calendar, the audit log; scope and roles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from web_helpers import CSRF, csrf_token, signed_in_client

from attendance import create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle

BUNDLE = {
    "units": [{"code": "P", "name": "Huyện Thử", "kind": "district"},
              {"code": "C1", "name": "Xã Một", "kind": "commune", "parent": "P"},
              {"code": "C2", "name": "Xã Hai", "kind": "commune", "parent": "P"}],
    "schedules": [{"code": "P-SUMMER", "units": ["P"], "valid_from": "2026-04-16", "valid_to": "2026-10-15",
                   "grace_late_minutes": 7, "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]},
                  {"code": "C2-ONLY", "units": ["C2"], "sessions": [["07:30", "11:30"]]}],
    "calendar": {"country": "VN", "overrides": [{"date": "2026-01-02", "kind": "day_off", "reference": "QĐ-99/UBND"}]},
    "devices": [{"code": "TK-1", "unit": "C1", "kind": "file", "clock_offsets": [{"valid_from": "2026-10-01", "seconds": 42}]},
                {"code": "TK-2", "unit": "C2", "kind": "file"}],
    "staff": [{"code": "NV1", "name": "Trần Văn Bình", "unit": "C1", "position": "Văn phòng",
               "employed_from": "2020-03-01", "enrollments": [{"device": "TK-1", "user_id": "101"}]},
              {"code": "NV3", "name": "Nguyễn Thị An", "unit": "C1"},
              {"code": "NV2", "name": "Lê Văn Cường", "unit": "C2"}],
}


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Flask:
    with transaction() as session:
        load_bundle(session, validate_bundle(BUNDLE))
    for device, user_id in (("TK-1", "999"), ("TK-2", "555")):
        path = tmp_path / f"{device}.dat"
        path.write_text(f"{user_id}\t2026-10-05 07:01:00\t0\t1\t0\t0\n{user_id}\t2026-10-06 17:02:00\t1\t1\t0\t0\n")
        with transaction() as session:
            import_file(session, device, path)
    with transaction() as session:
        device_id = session.scalar(select(m.Device.id).where(m.Device.code == "TK-1"))
        session.add(m.PullLog(device_id=device_id, started_at=dt.datetime(2026, 10, 7, 6, 0), ok=False,
                              error="TimeoutError: no answer from 10.0.0.5:4370", duration_ms=5000))
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def text(client, path: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    answer = client.get(path)
    assert answer.status_code == status, (path, answer.status_code)
    return answer.get_data(as_text=True)


def not_found_alike(client, path: str, missing: str, real: str) -> bool:  # type: ignore[no-untyped-def]
    """The 404 for something outside the scope reads exactly like the one for something that does not exist."""
    def page(p: str) -> str:
        return CSRF.sub("", text(client, p, 404))
    return page(path) == page(path.replace(real, missing)).replace(missing, real)


def audit_rows(entity: str) -> list[tuple[str, str, str, str | None, dict]]:
    with transaction() as session:
        return [(r.action, r.entity_key, r.actor, r.origin, r.changes) for r in session.scalars(
            select(m.AuditLog).where(m.AuditLog.entity == entity).order_by(m.AuditLog.id))]


def test_staff_list_in_scope_name_order_search_and_waiting_user_ids(app: Flask) -> None:
    admin = signed_in_client(app)
    page = text(admin, "/staff?on=2026-10-05")
    # Given name first (An, Bình, Cường), whatever the codes say.
    assert page.index("Nguyễn Thị An") < page.index("Trần Văn Bình") < page.index("Lê Văn Cường")
    assert "TK-1: 101" in page and "01/03/2020" in page and "Văn phòng" in page
    assert "999" in page and "555" in page and "05/10/2026 07:01" in page and "06/10/2026 17:02" in page
    assert "Cường" not in text(admin, "/staff?on=2026-10-05&q=bình") and "NV1" in text(admin, "/staff?q=nv1")
    assert "Trần Văn Bình" not in text(admin, "/staff?unit=C2")

    clerk = signed_in_client(app, "clerk", "clerk", ["C1"])
    page = text(clerk, "/staff")
    assert "Trần Văn Bình" in page and "Lê Văn Cường" not in page
    assert ">999<" in page and ">555<" not in page and 'name="staff"' in page  # the quick enrol form
    assert not_found_alike(clerk, "/staff?unit=C2", "NOPE", "C2")
    assert clerk.get("/staff?on=2026-13-01").status_code == 400
    assert clerk.get("/staff?q=" + "x" * 101).status_code == 400
    viewer = signed_in_client(app, "viewer", "viewer", ["C1"])
    assert 'name="staff"' not in text(viewer, "/staff")


def test_quick_enrol_from_the_waiting_list_is_audited_and_scoped(app: Flask) -> None:
    clerk = signed_in_client(app, "clerk", "clerk", ["C1"])
    token = csrf_token(clerk, "/staff")
    form = {"device": "TK-1", "user_id": "999", "staff": "NV3", "csrf_token": token}
    assert clerk.post("/staff", data={**form, "csrf_token": ""}).status_code == 400
    for outside in ({"device": "TK-2", "user_id": "555"}, {"staff": "NV2"}):
        assert clerk.post("/staff", data={**form, **outside}).status_code == 404
    viewer = signed_in_client(app, "viewer", "viewer", ["C1"])
    viewer_token = csrf_token(viewer, "/")
    assert viewer.post("/staff", data={**form, "csrf_token": viewer_token}).status_code == 403
    # A terminal outside the scope is not there at all, whatever the role.
    assert viewer.post("/staff", data={**form, "device": "TK-2", "csrf_token": viewer_token}).status_code == 404
    assert clerk.post("/staff", data={**form, "staff": " "}).status_code == 400
    done = clerk.post("/staff", data=form)
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff")
    page = text(clerk, "/staff")
    assert "Mã chấm công 999 trên máy TK-1 nay thuộc về NV3 (Nguyễn Thị An)." in page and ">999<" not in page
    assert audit_rows("enrollment")[-1][:4] == ("create", "TK-1:999", "web:clerk", "127.0.0.1")
    # Taking someone else's user id needs the transfer box: the refusal says why.
    clerk.post("/staff", data={**form, "user_id": "101"})
    assert "Chưa gán được" in text(clerk, "/staff") and audit_rows("enrollment")[-1][1] == "TK-1:999"


def test_person_enrollments_enrol_transfer_unenrol(app: Flask) -> None:
    clerk = signed_in_client(app, "clerk", "clerk", ["C1"])
    page = text(clerk, "/staff/NV1/enrollments")
    assert "Trần Văn Bình" in page and "101" in page and "Bỏ gán" in page
    assert not_found_alike(clerk, "/staff/NV2/enrollments", "NV9", "NV2")
    token = csrf_token(clerk, "/staff/NV1/enrollments")
    moved = clerk.post("/staff/NV3/enrollments", data={"action": "enrol", "device": "TK-1", "user_id": "101",
                                                       "transfer": "yes", "csrf_token": token})
    assert moved.status_code == 303
    assert audit_rows("enrollment")[-1][0] == "update" and audit_rows("enrollment")[-1][4]["staff"] == ["NV1", "NV3"]
    gone = clerk.post("/staff/NV3/enrollments", data={"action": "unenrol", "device": "TK-1", "user_id": "101",
                                                      "csrf_token": token})
    assert gone.status_code == 303 and audit_rows("enrollment")[-1][:3] == ("delete", "TK-1:101", "web:clerk")
    assert "101" in text(clerk, "/staff")  # waiting again
    assert clerk.post("/staff/NV3/enrollments", data={"action": "unenrol", "device": "TK-2", "user_id": "555",
                                                      "csrf_token": token}).status_code == 404
    assert clerk.post("/staff/NV3/enrollments", data={"action": "drop", "device": "TK-1", "user_id": "1",
                                                      "csrf_token": token}).status_code == 400
    head = signed_in_client(app, "head", "unit_head", ["C1"])
    assert "Bỏ gán" not in text(head, "/staff/NV3/enrollments")
    assert head.post("/staff/NV3/enrollments", data={"action": "enrol", "device": "TK-1", "user_id": "7",
                                                     "csrf_token": csrf_token(head, "/")}).status_code == 403


def test_terminal_page_shows_health_pulls_batches_offsets_in_scope(app: Flask) -> None:
    head = signed_in_client(app, "head", "unit_head", ["C1"])
    listing = text(head, "/devices")
    assert 'href="/devices/TK-1"' in listing and "TK-2" not in listing and "/devices/pending" not in listing
    page = text(head, "/devices/TK-1")
    assert "TimeoutError: no answer" in page and "07/10/2026 06:00" in page  # the failed pull
    assert "TK-1.dat" in page and "Được tính" in page  # its import batch
    assert "01/10/2026" in page and "+42 giây" in page  # the clock offset
    assert "Nhiều ngày làm việc không có lượt chấm công" in page
    assert not_found_alike(head, "/devices/TK-2", "TK-9", "TK-2")
    head.get("/lang/en")
    assert "No punches for several working days" in text(head, "/devices/TK-1")
    admin = signed_in_client(app)
    assert "/devices/pending" in text(admin, "/devices") and "TK-2" in text(admin, "/devices/TK-2")
    assert text(admin, "/devices/pending").count("<form") >= 1


def test_schedules_and_calendar_read_only_in_the_readers_language(app: Flask) -> None:
    head = signed_in_client(app, "head", "unit_head", ["C1"])
    page = text(head, "/schedules?year=2026")
    assert "P-SUMMER" in page and "C2-ONLY" not in page and "áp dụng từ đơn vị cấp trên" in page
    assert "16/04/2026" in page and "15/10/2026" in page and "07:00–11:30" in page and "7 / 5 phút" in page
    assert "02/01/2026" in page and "QĐ-99/UBND" in page and "Quốc khánh" in page
    assert "<form" in page and 'method="post"' not in page.split("</header>")[1]  # read only
    admin = signed_in_client(app)
    assert "C2-ONLY" in text(admin, "/schedules") and "C2 Xã Hai" in text(admin, "/schedules")
    assert admin.get("/schedules?year=1800").status_code == 400
    assert admin.get("/schedules?year=abc").status_code == 400
    admin.get("/lang/en")
    english = text(admin, "/schedules?year=2026")
    assert "National Day" in english and "day off" in english and "Friday" in english


def test_audit_log_filters_pages_and_roles(app: Flask) -> None:
    clerk = signed_in_client(app, "clerk", "clerk", ["C1"])
    clerk.post("/staff", data={"device": "TK-1", "user_id": "999", "staff": "NV3", "csrf_token": csrf_token(clerk, "/")})
    admin = signed_in_client(app)
    page = text(admin, "/audit")
    assert "web:clerk" in page and "127.0.0.1" in page and "TK-1:999" in page
    assert page.index("TK-1:999") < page.index("P-SUMMER")  # newest first
    assert "<strong>staff</strong>: <span class=\"old\">∅</span> → <span class=\"new\">NV3</span>" in page
    today = dt.date.today()
    assert f"{today:%d/%m/%Y}" in page
    only = text(admin, "/audit?entity=enrollment&actor=web:clerk")
    assert "TK-1:999" in only and "P-SUMMER" not in only and "1 dòng" in only
    assert "TK-1:999" not in text(admin, f"/audit?until={today - dt.timedelta(days=1)}")
    assert "TK-1:999" in text(admin, f"/audit?since={today}&key=tk-1:9")
    assert admin.get("/audit?since=30/11/2026").status_code == 400
    assert admin.get("/audit?page=x").status_code == 400
    first = text(admin, "/audit?entity=unit")
    assert "trang 1/1" in first
    with transaction() as session:
        total = len(session.scalars(select(m.AuditLog.id)).all())
    assert f"{total} dòng" in page and (total > 50) == ("page=2" in page)
    assert signed_in_client(app, "lead", "team_lead", ["C1"]).get("/audit").status_code == 403  # the whole service's trail
    assert clerk.get("/audit").status_code == 403
    assert signed_in_client(app, "viewer", "viewer", ["C1"]).get("/audit").status_code == 403
    assert "/audit" not in text(clerk, "/") and "/audit" in text(admin, "/")
