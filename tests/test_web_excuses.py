"""A person's excuses through the pages: list, add with a scan, edit, withdraw, download; scope and roles."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from attendance import api, create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle
from tests.web_helpers import csrf_token, signed_in_client

BUNDLE = {
    "units": [{"code": "H", "name": "Huyện Tân Kỳ", "kind": "district"},
              {"code": "X", "name": "Xã Tân An", "kind": "commune", "parent": "H"},
              {"code": "Y", "name": "Xã Tân Bình", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "valid_from": "2026-01-01",
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X"},
              {"code": "NV002", "name": "Trần Thị Bình", "unit": "Y"}],
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MONDAY = dt.date(2026, 10, 5)


@pytest.fixture
def app(db_url: str) -> Flask:
    with transaction(db_url) as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def verdicts(db_url: str, code: str = "NV001", day: dt.date = MONDAY) -> list[list[str]]:
    with transaction(db_url) as session:
        return [s["verdicts"] for s in api.explain_day(session, code, day)["sessions"]]


def audit(db_url: str) -> list[tuple[str, str, str]]:
    with transaction(db_url) as session:
        rows = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "excuse").order_by(m.AuditLog.id))
        return [(r.action, r.actor, r.entity_key) for r in rows]


def add(client: FlaskClient, code: str = "NV001", document: tuple[bytes, str, str] | None = None, **fields: str):
    data: dict[str, object] = {"csrf_token": csrf_token(client, "/"), "kind": "business_trip",
                               "start": "2026-10-05T07:00", "end": "2026-10-05T17:00", "reference": "12/QĐ-UBND",
                               **fields}
    if document is not None:
        body, name, content_type = document
        data["document"] = (io.BytesIO(body), name, content_type)
    return client.post(f"/staff/{code}/excuses", data=data, content_type="multipart/form-data")


def test_add_edit_withdraw_an_excuse_changes_the_day_and_is_audited(app: Flask, db_url: str) -> None:
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    assert clerk.get("/staff/NV001/excuses").status_code == 200
    assert verdicts(db_url) == [["absent"], ["absent"]]

    answer = add(clerk, document=(PDF, "quyet dinh.pdf", "application/pdf"))
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]
    assert all(v != ["absent"] for v in verdicts(db_url))  # the day is excused now
    page = clerk.get("/staff/NV001/excuses").get_data(as_text=True)
    excuse_id = int(re.search(r'id="excuse-(\d+)"', page).group(1))
    assert "12/QĐ-UBND" in page and "quyet dinh.pdf" in page and "05/10/2026 07:00" in page

    download = clerk.get(f"/staff/NV001/excuses/{excuse_id}/document")
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")

    form = clerk.get(f"/staff/NV001/excuses/{excuse_id}/edit").get_data(as_text=True)
    assert 'value="2026-10-05T07:00"' in form and 'value="12/QĐ-UBND"' in form
    token = csrf_token(clerk, "/")
    edited = clerk.post(f"/staff/NV001/excuses/{excuse_id}/edit", data={
        "csrf_token": token, "kind": "business_trip", "start": "2026-10-05T07:00", "end": "2026-10-05T12:00",
        "reference": "12/QĐ-UBND (sửa)"}, content_type="multipart/form-data")
    assert edited.status_code == 303
    assert verdicts(db_url)[1] == ["absent"] and verdicts(db_url)[0] != ["absent"]  # the afternoon counts again

    refused = clerk.post(f"/staff/NV001/excuses/{excuse_id}/withdraw", data={"csrf_token": token, "reason": " "})
    assert refused.status_code == 400 and "reason" in refused.get_data(as_text=True)
    withdrawn = clerk.post(f"/staff/NV001/excuses/{excuse_id}/withdraw",
                           data={"csrf_token": token, "reason": "chuyến công tác bị hủy"})
    assert withdrawn.status_code == 303
    assert verdicts(db_url) == [["absent"], ["absent"]]
    page = clerk.get("/staff/NV001/excuses").get_data(as_text=True)
    assert 'class="withdrawn"' in page and "chuyến công tác bị hủy" in page
    assert f"/staff/NV001/excuses/{excuse_id}/edit" not in page  # a withdrawn excuse is not edited
    assert audit(db_url) == [("create", "web:clerk_x", f"NV001:{excuse_id}"), ("update", "web:clerk_x", f"NV001:{excuse_id}"),
                             ("withdraw", "web:clerk_x", f"NV001:{excuse_id}")]


def test_refusals_say_which_field(app: Flask, db_url: str) -> None:
    head = signed_in_client(app, "head_x", "unit_head", ["X"])
    cases = [
        ({"start": ""}, "start"),
        ({"end": "hôm qua"}, "end"),
        ({"end": "2" * 5000}, "end"),
        ({"end": "2026-10-05T06:00"}, "end"),
        ({"kind": "holiday"}, "kind"),
        ({"reference": ""}, "reference"),
    ]
    for fields, field in cases:
        answer = add(head, **fields)
        assert answer.status_code == 400, fields
        assert f"{field}:" in answer.get_data(as_text=True), fields
    fake = add(head, document=(b"MZ\x90\x00 not a scan", "virus.pdf", "application/pdf"))
    # The page words the refusal in Vietnamese (the field's name stays as the form names it).
    assert fake.status_code == 400 and "document: không phải tệp PDF, JPEG hay PNG" in fake.get_data(as_text=True)
    assert audit(db_url) == []
    assert add(head).status_code == 303
    assert add(head).status_code == 409  # the same excuse twice


def test_scope_and_roles_of_the_excuse_pages(app: Flask, db_url: str) -> None:
    clerk_y = signed_in_client(app, "clerk_y", "clerk", ["Y"])
    assert add(clerk_y, "NV002", document=(PDF, "a.pdf", "application/pdf")).status_code == 303
    with transaction(db_url) as session:
        other = session.scalar(select(m.Excuse.id))
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    viewer = signed_in_client(app, "viewer_x", "viewer", ["X"])
    inspector = signed_in_client(app, "inspector_h", "inspector", ["H"])
    for path in ("/staff/NV002/excuses", f"/staff/NV002/excuses/{other}/edit", f"/staff/NV002/excuses/{other}/document",
                 "/staff/NOBODY/excuses"):
        assert clerk.get(path).status_code == 404, path
    assert add(clerk, "NV002").status_code == 404
    # The id of somebody else's excuse under a person in scope: as if it did not exist.
    assert clerk.get(f"/staff/NV001/excuses/{other}/edit").status_code == 404
    assert clerk.get(f"/staff/NV001/excuses/{other}/document").status_code == 404
    token = csrf_token(clerk, "/")
    assert clerk.post(f"/staff/NV001/excuses/{other}/withdraw", data={"csrf_token": token, "reason": "x"}).status_code == 404
    assert viewer.get("/staff/NV001/excuses").status_code == 403
    assert viewer.get("/staff/NV002/excuses").status_code == 404  # outside first
    assert add(viewer).status_code == 403
    assert inspector.get(f"/staff/NV002/excuses/{other}/document").status_code == 403
    assert add(inspector, "NV002").status_code == 403
    admin = signed_in_client(app, "admin", "admin")
    assert admin.get(f"/staff/NV002/excuses/{other}/document").data == PDF
    with transaction(db_url) as session:
        assert session.scalar(select(m.Excuse.withdrawn_at).where(m.Excuse.id == other)) is None
    assert [a[0] for a in audit(db_url)] == ["create"]
