"""The spot-check sync API on SQLite and PostgreSQL: replays, versions, states, attachments, roles, races."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from spot_check_helpers import PHOTO, PHOTO_SHA, UUID, content, make_app, token_for
from sqlalchemy import func, select

from attendance import models as m
from attendance.accounts import account_by_token
from attendance.db import session_factory, transaction
from inspections import services
from inspections.models import Finding, FollowUpAction, HeadcountLine, SpotCheckVersion

BASE = f"/api/v1/spot-checks/{UUID}"


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Flask:
    return make_app(db_url, tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def tokens() -> dict[str, dict[str, str]]:
    return {"insp1": {**token_for("insp1", "inspector", ["17830"]), "X-Tablet-Id": "tablet-A"},
            "insp9": token_for("insp9", "inspector", ["17830"]),  # an inspector, not of this team
            "lead1": token_for("lead1", "team_lead", ["411"]),
            "viewer": token_for("viewer", "viewer", ["17830"]),
            "outsider": token_for("outsider", "inspector", ["17831"])}


def audit(action: str | None = None) -> list[m.AuditLog]:
    with transaction() as session:
        query = select(m.AuditLog).where(m.AuditLog.entity == "spot_check", m.AuditLog.entity_key == UUID)
        if action:
            query = query.where(m.AuditLog.action == action)
        return list(session.scalars(query.order_by(m.AuditLog.id)))


def test_put_replay_new_version_and_conflict_once_submitted(client: FlaskClient) -> None:
    t = tokens()
    first = client.put(BASE, json=content(), headers=t["insp1"])
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["uuid"], body["state"], body["version"]) == (UUID, "draft", 1)
    assert body["missing_attachments"] == ["bien-ban.jpg"]
    assert body["content"] == content()
    replay = client.put(BASE, json=content(), headers=t["insp1"])
    assert (replay.status_code, replay.get_json()) == (200, body)
    assert client.get(BASE, headers=t["viewer"]).get_json() == body
    changed = content(legal_basis="Quyết định 20/QĐ-UBND")
    second = client.put(BASE, json=changed, headers=t["insp1"])
    assert (second.status_code, second.get_json()["version"]) == (200, 2)
    assert client.put(BASE, json=changed, headers=t["insp1"]).get_json()["version"] == 2
    assert client.post(f"{BASE}/submit", headers=t["insp1"]).get_json()["state"] == "submitted"
    again = client.post(f"{BASE}/submit", headers=t["insp1"])
    assert (again.status_code, again.get_json()["state"]) == (200, "submitted")
    refused = client.put(BASE, json=content(legal_basis="khác"), headers=t["insp1"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "already_submitted"
    assert client.put(BASE, json=changed, headers=t["insp1"]).status_code == 200  # still a replay
    stored = client.get(BASE, headers=t["insp1"]).get_json()
    assert (stored["version"], stored["content"]["legal_basis"]) == (2, "Quyết định 20/QĐ-UBND")
    rows = audit()
    assert [r.action for r in rows] == ["create", "update", "submit"]
    assert all(r.actor == "api:insp1" for r in rows)
    assert rows[0].changes["device"] == "tablet-A"


def test_approve_send_back_lock_and_corrections(client: FlaskClient) -> None:
    t = tokens()
    client.put(BASE, json=content(), headers=t["insp1"])
    draft_approve = client.post(f"{BASE}/approve", headers=t["lead1"])
    assert (draft_approve.status_code, draft_approve.get_json()["error"]["code"]) == (409, "not_submitted")
    assert client.post(f"{BASE}/approve", headers=t["insp1"]).status_code == 403
    client.post(f"{BASE}/submit", headers=t["insp1"])
    assert client.post(f"{BASE}/send-back", json={}, headers=t["lead1"]).status_code == 422
    back = client.post(f"{BASE}/send-back", json={"comment": "Thiếu chữ ký"}, headers=t["lead1"])
    assert (back.status_code, back.get_json()["state"]) == (200, "draft")
    assert client.put(BASE, json=content(legal_basis="KH 16"), headers=t["insp1"]).get_json()["version"] == 2
    client.post(f"{BASE}/submit", headers=t["insp1"])
    locked = client.post(f"{BASE}/approve", headers=t["lead1"])
    assert locked.get_json()["state"] == "locked"
    assert client.post(f"{BASE}/approve", headers=t["lead1"]).status_code == 200
    assert client.post(f"{BASE}/submit", headers=t["insp1"]).get_json()["error"]["code"] == "locked"
    assert client.put(BASE, json=content(legal_basis="KH 17"), headers=t["insp1"]).status_code == 409
    fixed = content(legal_basis="KH 16", headcount=[{"staff": "NV001", "status": "present"},
                                                   {"staff": "NV002", "status": "absent_excused",
                                                    "reference": "12/QĐ-UBND"}])
    correction = {"replaces_version": 2, "content": fixed, "reason": "Có quyết định cử đi công tác"}
    assert client.post(f"{BASE}/corrections", json=correction, headers=t["insp1"]).status_code == 403
    made = client.post(f"{BASE}/corrections", json=correction, headers=t["lead1"])
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["state"], made.get_json()["version"]) == ("locked", 3)
    assert client.post(f"{BASE}/corrections", json=correction, headers=t["lead1"]).status_code == 200  # resent
    stale = client.post(f"{BASE}/corrections", json={**correction, "reason": "khác"}, headers=t["lead1"])
    assert (stale.status_code, stale.get_json()["error"]["code"]) == (409, "stale_version")
    with transaction() as session:
        versions = session.execute(select(SpotCheckVersion.version, SpotCheckVersion.replaces_version,
                                          SpotCheckVersion.reason).order_by(SpotCheckVersion.version)).all()
        statuses = dict(session.execute(select(HeadcountLine.staff_code, HeadcountLine.status)).all())
    assert [tuple(v) for v in versions] == [(1, None, None), (2, None, None), (3, 2, "Có quyết định cử đi công tác")]
    assert statuses == {"NV001": "present", "NV002": "absent_excused"}  # derived rows follow the correction
    assert [r.action for r in audit()] == ["create", "submit", "send_back", "update", "submit", "approve", "correct"]
    assert audit("send_back")[0].changes["comment"] == [None, "Thiếu chữ ký"]


def test_corrections_on_a_draft_are_refused(client: FlaskClient) -> None:
    t = tokens()
    client.put(BASE, json=content(), headers=t["insp1"])
    answer = client.post(f"{BASE}/corrections", json={"replaces_version": 1, "content": content(), "reason": "x"},
                         headers=t["lead1"])
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "not_locked")


def test_attachments_missing_wrong_hash_size_replay(client: FlaskClient) -> None:
    t = tokens()
    client.put(BASE, json=content(), headers=t["insp1"])
    url = f"{BASE}/attachments/bien-ban.jpg"
    wrong_size = client.put(url, data=PHOTO + b"x", headers=t["insp1"])
    assert wrong_size.status_code == 422 and wrong_size.get_json()["error"]["message"].startswith("size:")
    wrong_hash = client.put(url, data=PHOTO[:-1] + b"?", headers=t["insp1"])
    assert wrong_hash.status_code == 422 and wrong_hash.get_json()["error"]["message"].startswith("sha256:")
    unknown = client.put(f"{BASE}/attachments/other.jpg", data=PHOTO, headers=t["insp1"])
    assert unknown.status_code == 422 and unknown.get_json()["error"]["message"].startswith("name:")
    assert client.get(BASE, headers=t["insp1"]).get_json()["missing_attachments"] == ["bien-ban.jpg"]
    first = client.put(url, data=PHOTO, headers=t["insp1"], content_type="image/jpeg")
    assert first.status_code == 201
    assert first.get_json() == {"name": "bien-ban.jpg", "sha256": PHOTO_SHA, "size": len(PHOTO),
                                "content_type": "image/jpeg", "missing_attachments": []}
    assert client.put(url, data=PHOTO, headers=t["insp1"]).status_code == 200
    assert client.get(BASE, headers=t["insp1"]).get_json()["missing_attachments"] == []
    assert len(audit("attachment")) == 1
    # A new version announcing other bytes under the name waits for them again.
    other = content(attachments=[{"name": "bien-ban.jpg", "sha256": "0" * 64, "size": 3}])
    assert client.put(BASE, json=other, headers=t["insp1"]).get_json()["missing_attachments"] == ["bien-ban.jpg"]
    with transaction() as session:
        account = account_by_token(session, t["insp1"]["Authorization"].split()[1])
        assert account is not None
        with pytest.raises(Exception, match="no attachment"):
            services.attachment_content(session, account, UUID, "bien-ban.jpg")


def test_scope_roles_and_tokens(client: FlaskClient) -> None:
    t = tokens()
    assert client.put(BASE, json=content()).status_code == 401
    assert client.put(BASE, json=content(), headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.put(BASE, json=content(), headers=t["outsider"]).status_code == 404  # unit outside the scope
    assert client.put(BASE, json=content(), headers=t["viewer"]).status_code == 403
    assert client.put(BASE, json=content(), headers=t["lead1"]).status_code == 403  # leads do not write records
    assert client.put(BASE, json=content(), headers=t["insp9"]).status_code == 403  # not in the team
    assert client.put(BASE, json=content(), headers=t["insp1"]).status_code == 201
    for who, status in (("outsider", 404), ("viewer", 200), ("lead1", 200)):
        assert client.get(BASE, headers=t[who]).status_code == status, who
    assert client.post(f"{BASE}/submit", headers=t["outsider"]).status_code == 404
    assert client.post(f"{BASE}/submit", headers=t["insp9"]).status_code == 403
    assert client.post(f"{BASE}/submit", headers=t["viewer"]).status_code == 403
    assert client.put(f"{BASE}/attachments/bien-ban.jpg", data=PHOTO, headers=t["viewer"]).status_code == 403
    assert client.get(f"{BASE}/reconciliation", headers=t["outsider"]).status_code == 404
    assert client.get("/api/v1/spot-checks?month=2026-10", headers=t["outsider"]).get_json() == []
    assert [s["uuid"] for s in client.get("/api/v1/spot-checks?month=2026-10&unit=411", headers=t["lead1"])
            .get_json()] == [UUID]
    assert client.get("/api/v1/spot-checks?month=2026-11", headers=t["lead1"]).get_json() == []
    assert client.get("/api/v1/spot-checks?month=2026-10&unit=17831", headers=t["insp1"]).status_code == 404
    bad = client.get("/api/v1/spot-checks?month=10-2026", headers=t["lead1"])
    assert bad.status_code == 422 and bad.get_json()["error"]["message"].startswith("month:")
    assert client.get("/api/v1/spot-checks/not-a-uuid", headers=t["lead1"]).status_code == 422
    assert client.get("/api/v1/spot-checks/0b6f7c1e-2d3a-4c5b-8e9f-000000000000", headers=t["lead1"]).status_code == 404


def test_staff_of_the_day_and_templates(client: FlaskClient) -> None:
    t = tokens()
    staff = client.get("/api/v1/units/17830/staff?date=2026-10-06", headers=t["insp1"])
    assert [p["code"] for p in staff.get_json()] == ["NV001", "NV002"]  # An before Bình
    assert staff.get_json()[0] == {"code": "NV001", "name": "Nguyễn Văn An", "position": "", "photo": None}
    assert client.get("/api/v1/units/17831/staff?date=2026-10-06", headers=t["insp1"]).status_code == 404
    assert client.get("/api/v1/units/17830/staff?date=06/10/2026", headers=t["insp1"]).status_code == 422
    templates = client.get("/api/v1/checklist-templates", headers=t["viewer"]).get_json()
    assert [(x["code"], x["version"]) for x in templates] == [("default", 1)]
    one = client.get("/api/v1/checklist-templates/default/1", headers=t["viewer"]).get_json()
    assert [i["code"] for i in one["items"]] == [
        "badge_worn", "attire", "nameplate", "attitude", "smoking_drinking", "hours_posted", "procedures_posted",
        "hotline_posted", "reception_schedule", "onestop_staffed", "dossier_book", "overdue_dossiers", "tidy"]
    assert one["items"][0]["label_vi"] == "Đeo thẻ công chức" and one["items"][0]["scope"] == "person"
    assert client.get("/api/v1/checklist-templates/default/2", headers=t["viewer"]).status_code == 404
    assert client.get("/api/v1/checklist-templates/default/x", headers=t["viewer"]).status_code == 422


@pytest.mark.parametrize(("change", "field"), [
    ({"headcount": [{"staff": "NV001", "status": "present"}]}, "headcount: missing 1"),
    ({"headcount": [{"staff": "NV001", "status": "present"}, {"staff": "NV002", "status": "present"},
                    {"staff": "NV003", "status": "present"}]}, "headcount[2].staff"),
    ({"headcount": [{"staff": "NV001", "status": "present"}, {"staff": "NV002", "status": "asleep"}]},
     "headcount[1].status"),
    ({"headcount": [{"staff": "NV001", "status": "present"}, {"staff": "NV002", "status": "absent_excused"}]},
     "headcount[1].reference"),
    ({"headcount": [{"staff": "NV001", "status": "present"}, {"staff": "NV001", "status": "present"}]},
     "headcount[1].staff"),
    ({"headcount_at": "2026-10-06 08:10"}, "headcount_at"),
    ({"started_at": "2026-02-30T08:00:00"}, "started_at"),
    ({"template": {"code": "default", "version": 9}}, "template"),
    ({"findings": [{"item": "flying", "result": "pass"}]}, "findings[0].item"),
    ({"findings": [{"item": "hotline_posted", "staff": "NV001", "result": "pass"}]}, "findings[0].staff"),
    ({"findings": [{"item": "tidy", "result": "maybe"}]}, "findings[0].result"),
    ({"attachments": [{"name": "../etc/passwd", "sha256": PHOTO_SHA, "size": 1}]}, "attachments[0].name"),
    ({"attachments": [{"name": "a.jpg", "sha256": "XYZ", "size": 1}]}, "attachments[0].sha256"),
    ({"attachments": [{"name": "a.jpg", "sha256": PHOTO_SHA, "size": -1}]}, "attachments[0].size"),
    ({"actions": [{"description": "x", "due": "soon"}]}, "actions[0].due"),
    ({"team": []}, "team"),
    ({"surprise": 1}, "surprise"),
    ({"gps": {"lat": 91, "lon": 0}}, "gps.lat"),
    ({"headcount": [{"staff": "NV001", "status": "present", "mood": "ok"},
                    {"staff": "NV002", "status": "present"}]}, "headcount[0].mood"),
    ({"headcount": [{"staff": "NV001", "status": "present"}] * 2001}, "headcount: at most 2000"),
])
def test_content_is_refused_naming_the_field(client: FlaskClient, change: dict[str, Any], field: str) -> None:
    answer = client.put(BASE, json=content(**change), headers=tokens()["insp1"])
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["message"].startswith(field), answer.get_json()
    assert client.get(BASE, headers=tokens()["insp1"]).status_code == 404  # nothing was stored


def test_bodies_that_are_not_json_objects(client: FlaskClient) -> None:
    t = tokens()
    assert client.put(BASE, data=b"{not json", headers=t["insp1"]).status_code == 400
    assert client.put(BASE, json=[1, 2], headers=t["insp1"]).status_code == 422
    deep = "[" * 100_000 + "]" * 100_000
    assert client.put(BASE, data=deep, headers=t["insp1"], content_type="application/json").status_code in (400, 422)


def test_employment_ends_inclusive(client: FlaskClient) -> None:
    with transaction() as session:
        person = session.scalar(select(m.Staff).where(m.Staff.code == "NV002"))
        assert person is not None
        person.employed_to = __import__("datetime").date(2026, 10, 5)
    t = tokens()
    only = content(headcount=[{"staff": "NV001", "status": "present"}])
    assert client.put(BASE, json=only, headers=t["insp1"]).status_code == 201  # gone since the 5th
    day_before = content(started_at="2026-10-05T08:00:00", headcount_at="2026-10-05T08:10:00",
                         ended_at="2026-10-05T09:00:00", headcount=[{"staff": "NV001", "status": "present"}])
    other = "0b6f7c1e-2d3a-4c5b-8e9f-aaaaaaaaaaaa"
    refused = client.put(f"/api/v1/spot-checks/{other}", json=day_before, headers=t["insp1"])
    assert refused.status_code == 422 and "NV002" in refused.get_json()["error"]["message"]


def test_racing_identical_first_puts_make_one_record(app: Flask, db_url: str) -> None:
    headers = tokens()["insp1"]
    token = headers["Authorization"].split()[1]
    factory = session_factory(db_url, lock_timeout=30)
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def put() -> None:
        session = factory()
        try:
            account = account_by_token(session, token)
            session.commit()
            assert account is not None
            barrier.wait()
            record, created = services.put_spot_check(session, account, UUID, copy.deepcopy(content()), "t")
            session.commit()
            results.append((created, record.document()))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=put) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for created, _doc in results) == [False, False, False, True]
    assert len({str(doc) for _created, doc in results}) == 1
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(SpotCheckVersion)) == 1
        assert session.scalar(select(func.count()).select_from(HeadcountLine)) == 2
        assert session.scalar(select(func.count()).select_from(Finding)) == 2
        assert session.scalar(select(func.count()).select_from(FollowUpAction)) == 1
    assert len(audit("create")) == 1


def test_open_actions_and_observations(client: FlaskClient) -> None:
    import datetime as dt

    t = tokens()
    client.put(BASE, json=content(), headers=t["insp1"])
    with transaction() as session:
        lead = account_by_token(session, t["lead1"]["Authorization"].split()[1])
        assert lead is not None
        early = services.open_actions(session, lead, "17830", today=dt.date(2026, 10, 20))
        late = services.open_actions(session, lead, today=dt.date(2026, 10, 21))
        seen = services.observations_of(session, "NV001", dt.date(2026, 10, 6))
    assert [(a["assignee"], a["overdue"]) for a in early] == [("NV001", False)]
    assert [a["overdue"] for a in late] == [True]
    assert [(o["spot_check"], o["status"], [f["item"] for f in o["findings"]]) for o in seen] == [
        (UUID, "present", ["badge_worn"])]
