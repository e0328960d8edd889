"""The team lead's screens: spot checks, review (approve, send back, resolve), follow-up actions,
repeat offenders, a unit's history, the panel on a person's day page; scope (404) and role (403)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from spot_check_helpers import PHOTO, UUID, content, make_app
from sqlalchemy import select
from web_helpers import csrf_token, ensure_user, signed_in_client

from attendance import accounts
from attendance import models as m
from attendance.db import transaction
from attendance.errors import Forbidden, InvalidInput, NotFound
from attendance.photos import set_photo
from inspections import review, services

UUID2 = "0b6f7c1e-2d3a-4c5b-8e9f-202122232425"
UUID3 = "0b6f7c1e-2d3a-4c5b-8e9f-303132333435"


def account(username: str) -> accounts.Account:
    with transaction() as session:
        user = session.scalar(select(m.User).where(m.User.username == username))
        assert user is not None
        return accounts._account(user)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Flask:
    app = make_app(db_url, tmp_path)
    for name, role, units in (("lead1", "team_lead", ["411"]), ("lead2", "team_lead", ["17831"]),
                              ("insp1", "inspector", ["17830"]), ("insp3", "inspector", ["17830"]),
                              ("viewer1", "viewer", ["17830"])):
        ensure_user(app, name, role, units)
    return app


def put(uuid: str, submit: bool = True, **changes: Any) -> None:
    """Store (and submit) a spot check through the use cases, as the inspector insp1."""
    with transaction() as session:
        services.put_spot_check(session, account("insp1"), uuid, content(**changes))
        if submit:
            services.submit(session, account("insp1"), uuid)


def state(uuid: str) -> str:
    with transaction() as session:
        return services.get_spot_check(session, account("lead1"), uuid).state


def post(client: FlaskClient, path: str, **data: str) -> int:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data}).status_code


def audit_actions(uuid: str) -> list[str]:
    with transaction() as session:
        return list(session.scalars(select(m.AuditLog.action).where(m.AuditLog.entity == "spot_check",
                                                                    m.AuditLog.entity_key == uuid)
                                    .order_by(m.AuditLog.id)))


def test_list_history_and_review_page_show_the_record(app: Flask) -> None:
    put(UUID)
    with transaction() as session:
        set_photo(session, "NV001", _png(), actor="test")
        services.put_attachment(session, account("insp1"), UUID, "bien-ban.jpg", PHOTO, "image/jpeg")
    lead = signed_in_client(app, "lead1")
    listing = lead.get("/inspections/?month=2026-10").get_data(as_text=True)
    assert f"/inspections/checks/{UUID}" in listing and "badge state-submitted" in listing
    assert "Xã Tân Kỳ" in listing
    assert UUID not in lead.get("/inspections/?month=2026-09").get_data(as_text=True)
    assert UUID not in lead.get("/inspections/?unit=17831").get_data(as_text=True)
    history = lead.get("/inspections/units/17830").get_data(as_text=True)
    assert f"/inspections/checks/{UUID}" in history and "Niêm yết lại số đường dây nóng" in history
    page = lead.get(f"/inspections/checks/{UUID}").get_data(as_text=True)
    # Header, headcount with statuses and the face, checklist with the score, evidence, actions, history, audit.
    assert "Kế hoạch 15/KH-UBND" in page and "06/10/2026 08:05" in page and "insp1, insp2" in page
    assert "Nguyễn Văn An" in page and "vắng không lý do" in page and 'class="staff-thumb"' in page
    assert "Đeo thẻ công chức" in page and "không đeo thẻ" in page
    assert "Điểm 1 trên 2" in page  # badge_worn failed (0 × 1), hotline passed (1 × 1)
    assert f"/inspections/checks/{UUID}/attachments/bien-ban.jpg" in page
    assert "Niêm yết lại số đường dây nóng" in page and "20/10/2026" in page and "badge overdue" in page
    assert "api:insp1" in page and ">submit<" in page
    # The mismatch of NV002 (seen absent, punched 07:20 on a terminal 2 minutes fast) with both sides' evidence and a form.
    assert "Trần Thị Bình" in page and "06/10/2026 07:18 (TK-01)" in page and "/reconciliation/NV002" in page
    assert 'action="/inspections/checks/' + UUID + '/approve"' in page
    image = lead.get(f"/inspections/checks/{UUID}/attachments/bien-ban.jpg")
    assert image.status_code == 200 and image.data == PHOTO and image.mimetype == "image/jpeg"
    assert lead.get(f"/inspections/checks/{UUID}/attachments/other.pdf").status_code == 404


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 50), (10, 200, 10)).save(out, "PNG")
    return out.getvalue()


def test_scope_and_roles_of_every_route(app: Flask) -> None:
    put(UUID)
    outside = signed_in_client(app, "lead2")  # a team lead of another commune
    for path in (f"/inspections/checks/{UUID}", f"/inspections/checks/{UUID}/attachments/bien-ban.jpg",
                 "/inspections/units/17830", "/inspections/?unit=17830", "/inspections/actions?unit=17830",
                 "/inspections/repeat-offenders?unit=17830"):
        assert outside.get(path).status_code == 404, path
    assert UUID not in outside.get("/inspections/").get_data(as_text=True)
    assert "Niêm yết lại" not in outside.get("/inspections/actions").get_data(as_text=True)
    for path in (f"/inspections/checks/{UUID}/approve", f"/inspections/checks/{UUID}/reconciliation/NV002",
                 f"/inspections/checks/{UUID}/actions/0/done"):
        assert post(outside, path, note="x") == 404, path
    assert post(outside, f"/inspections/checks/{UUID}/send-back", comment="x") == 404
    viewer = signed_in_client(app, "viewer1")
    page = viewer.get(f"/inspections/checks/{UUID}").get_data(as_text=True)
    assert "approve" not in page and 'name="note"' not in page and "Mark done" not in page
    assert post(viewer, f"/inspections/checks/{UUID}/approve") == 403
    assert post(viewer, f"/inspections/checks/{UUID}/send-back", comment="x") == 403
    assert post(viewer, f"/inspections/checks/{UUID}/reconciliation/NV002", note="x") == 403
    assert post(viewer, f"/inspections/checks/{UUID}/actions/0/done") == 403
    inspector = signed_in_client(app, "insp1")
    assert post(inspector, f"/inspections/checks/{UUID}/approve") == 403
    assert post(inspector, f"/inspections/checks/{UUID}/send-back", comment="x") == 403
    other = signed_in_client(app, "insp3")  # an inspector, but not of this team
    assert post(other, f"/inspections/checks/{UUID}/reconciliation/NV002", note="x") == 403
    assert post(other, f"/inspections/checks/{UUID}/actions/0/done") == 403
    assert state(UUID) == "submitted"
    # Without the form's token nothing is done.
    lead = signed_in_client(app, "lead1")
    assert lead.post(f"/inspections/checks/{UUID}/approve").status_code == 400
    assert state(UUID) == "submitted"
    for path in ("/inspections/", "/inspections/actions", "/inspections/repeat-offenders?month=2026-10",
                 "/inspections/units/17830", f"/inspections/checks/{UUID}"):
        assert lead.get(path).status_code == 200, path
        assert viewer.get(path).status_code == 200, path
    assert app.test_client().get("/inspections/").status_code in (302, 303)
    assert lead.get("/inspections/checks/not-a-uuid").status_code in (404, 422, 400)
    assert lead.get("/inspections/?month=2026-13").status_code == 400
    assert lead.get("/inspections/actions?show=everything").status_code == 400
    assert lead.get("/inspections/repeat-offenders?months=99").status_code == 400


def test_approve_locks_and_send_back_returns_a_draft_with_the_comment(app: Flask) -> None:
    put(UUID)
    put(UUID2, started_at="2026-10-07T08:05:00", headcount_at="2026-10-07T08:10:00", ended_at="2026-10-07T08:50:00")
    lead = signed_in_client(app, "lead1")
    assert post(lead, f"/inspections/checks/{UUID}/approve") == 303
    assert state(UUID) == "locked"
    page = lead.get(f"/inspections/checks/{UUID}").get_data(as_text=True)
    assert "badge state-locked" in page and "/approve" not in page
    assert post(lead, f"/inspections/checks/{UUID}/approve") == 303  # again: no change
    assert audit_actions(UUID).count("approve") == 1
    assert post(lead, f"/inspections/checks/{UUID2}/send-back", comment="") == 400
    assert post(lead, f"/inspections/checks/{UUID2}/send-back", comment="Thiếu biên bản ký") == 303
    assert state(UUID2) == "draft"
    page = lead.get(f"/inspections/checks/{UUID2}").get_data(as_text=True)
    assert "Thiếu biên bản ký" in page and "badge state-draft" in page
    # A draft cannot be approved: refused with the reason on the page, nothing changes.
    assert post(lead, f"/inspections/checks/{UUID2}/approve") == 303
    assert state(UUID2) == "draft"
    assert "api:lead1" in lead.get(f"/inspections/checks/{UUID2}").get_data(as_text=True)


def test_resolving_a_mismatch_keeps_the_note(app: Flask) -> None:
    put(UUID)
    inspector = signed_in_client(app, "insp1")
    assert post(inspector, f"/inspections/checks/{UUID}/reconciliation/NV002", note="") in (400, 422)
    assert post(inspector, f"/inspections/checks/{UUID}/reconciliation/NV001", note="x") == 404  # no mismatch
    assert post(inspector, f"/inspections/checks/{UUID}/reconciliation/NV002",
                note="Chấm công rồi ra ngoài, đã xác minh") == 303
    page = signed_in_client(app, "lead1").get(f"/inspections/checks/{UUID}").get_data(as_text=True)
    assert "Chấm công rồi ra ngoài, đã xác minh" in page and "api:insp1" in page
    assert 'action="/inspections/checks/' + UUID + '/reconciliation/NV002"' not in page
    assert "resolve" in audit_actions(UUID)


def test_follow_up_actions_overdue_derived_and_marked_done(app: Flask) -> None:
    put(UUID)
    put(UUID2, started_at="2026-10-07T08:05:00", headcount_at="2026-10-07T08:10:00", ended_at="2026-10-07T08:50:00",
        actions=[{"description": "Bố trí lãnh đạo trực một cửa", "due": "2026-12-31"}])
    lead = account("lead1")
    with transaction() as session:
        rows = review.follow_up_actions(session, lead, today=dt.date(2026, 11, 30))
        assert [(r["description"], r["overdue"]) for r in rows] == [
            ("Niêm yết lại số đường dây nóng", True), ("Bố trí lãnh đạo trực một cửa", False)]
        # Before the due date nothing is overdue: derived from the day asked about, never stored.
        assert not any(r["overdue"] for r in review.follow_up_actions(session, lead, today=dt.date(2026, 10, 19)))
        assert [r["spot_check"] for r in review.follow_up_actions(session, lead, which="overdue",
                                                                   today=dt.date(2026, 11, 30))] == [UUID]
        with pytest.raises(InvalidInput):
            review.follow_up_actions(session, lead, which="soon")
    client = signed_in_client(app, "lead1")
    page = client.get("/inspections/actions").get_data(as_text=True)
    assert page.index("Niêm yết lại") < page.index("Bố trí lãnh đạo") and 'class="overdue"' in page
    assert post(client, f"/inspections/checks/{UUID}/actions/0/done", next="actions") == 303
    assert post(client, f"/inspections/checks/{UUID}/actions/7/done") == 404
    assert "Niêm yết lại" not in client.get("/inspections/actions").get_data(as_text=True)
    assert "Niêm yết lại" in client.get("/inspections/actions?show=done").get_data(as_text=True)
    with transaction() as session:
        assert review.mark_action_done(session, lead, UUID, 0, actor="web:lead1") is False  # already done
        with pytest.raises(NotFound):
            review.mark_action_done(session, account("lead2"), UUID, 0, actor="web:lead2")
        with pytest.raises(Forbidden):
            review.mark_action_done(session, account("viewer1"), UUID2, 0, actor="web:viewer1")
    assert audit_actions(UUID).count("action_done") == 1


def test_repeat_offenders_across_months(app: Flask) -> None:
    # October: NV001 fails the badge, NV002 absent (and punched: a mismatch too), hotline fails.
    fail_hotline = [{"item": "badge_worn", "staff": "NV001", "result": "fail"}, {"item": "hotline_posted", "result": "fail"}]
    put(UUID, findings=fail_hotline)
    # August: NV001 fails the badge again, the hotline fails again; NV002 present.
    put(UUID2, started_at="2026-08-04T08:05:00", headcount_at="2026-08-04T08:10:00", ended_at="2026-08-04T08:50:00",
        findings=fail_hotline, headcount=[{"staff": "NV001", "status": "present"}, {"staff": "NV002", "status": "present"}],
        attachments=[])
    # A draft of September counts for nothing.
    put(UUID3, submit=False, started_at="2026-09-04T08:05:00", headcount_at="2026-09-04T08:10:00",
        ended_at="2026-09-04T08:50:00", headcount=[{"staff": "NV001", "status": "present"},
                                                   {"staff": "NV002", "status": "absent_unexcused"}], attachments=[])
    with transaction() as session:
        found = review.repeat_offenders(session, account("lead1"), "2026-10", months=3)
        assert found.months == ("2026-08", "2026-09", "2026-10")
        people = {p["staff"]: p for p in found.people}
        # NV001 failed the badge in August and October. NV002 was absent only in October: the
        # August mismatches (no punches imported for August) are for a person to resolve, not violations.
        assert set(people) == {"NV001"} and people["NV001"]["month_count"] == 2
        assert {v["kind"] for v in people["NV001"]["months"]["2026-10"]} == {"failed_item"}
        assert {v["kind"] for v in people["NV001"]["months"]["2026-08"]} == {"failed_item"}
        assert [(i["unit"], i["item"], i["month_count"]) for i in found.items] == [("17830", "hotline_posted", 2)]
        # Two months back only reaches September and October: nobody twice (the September draft
        # would make NV002 a repeat offender if it counted).
        assert review.repeat_offenders(session, account("lead1"), "2026-10", months=2).people == []
        # Once is enough with min_months=1: October alone lists both.
        once = review.repeat_offenders(session, account("lead1"), "2026-10", months=1, min_months=1)
        assert {p["staff"] for p in once.people} == {"NV001", "NV002"}
        assert {v["kind"] for v in {p["staff"]: p for p in once.people}["NV002"]["months"]["2026-10"]} == {"absence"}
        assert [i["item"] for i in once.items] == ["hotline_posted"]
        # Outside the scope there is nothing to count.
        assert review.repeat_offenders(session, account("lead2"), "2026-10").people == []
        with pytest.raises(NotFound):
            review.repeat_offenders(session, account("lead2"), "2026-10", unit_code="17830")
        with pytest.raises(InvalidInput):
            review.repeat_offenders(session, account("lead1"), "2026-10", months=0)
    page = signed_in_client(app, "lead1").get("/inspections/repeat-offenders?month=2026-10").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and "Niêm yết số điện thoại đường dây nóng" in page
    assert "không đạt tiêu chí kiểm tra (Đeo thẻ công chức)" in page and "badge_worn" not in page
    assert "Trần Thị Bình" not in page and page.count("/inspections/checks/" + UUID2) == 1
    # The instance's report settings are the screen's defaults: one month of one suffices.
    app.config.update(REPORT_REPEAT_MONTHS=1, REPORT_REPEAT_MIN_MONTHS=1)
    page = signed_in_client(app, "lead1").get("/inspections/repeat-offenders?month=2026-10").get_data(as_text=True)
    assert "Trần Thị Bình" in page and "Nguyễn Văn An" in page and 'name="months" min="1" max="24" value="1"' in page


def test_the_person_day_page_shows_what_the_spot_check_saw(app: Flask) -> None:
    put(UUID)
    lead = signed_in_client(app, "lead1")
    page = lead.get("/staff/NV001/days/2026-10-06").get_data(as_text=True)
    assert "spot-check-day" in page and f"/inspections/checks/{UUID}" in page
    assert "Đeo thẻ công chức" in page and "không đeo thẻ" in page
    assert "spot-check-day" not in lead.get("/staff/NV001/days/2026-10-05").get_data(as_text=True)
    absent = lead.get("/staff/NV002/days/2026-10-06").get_data(as_text=True)
    assert "vắng không lý do" in absent and "không rõ lý do" in absent
