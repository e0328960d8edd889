"""The inspectors' tablet page: who may open it, the API token it asks for, its service worker."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from sqlalchemy import select
from web_helpers import csrf_token, signed_in_client

from attendance import create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle

TREE = {
    "units": [{"code": "P", "name": "Tỉnh Thử", "kind": "province"},
              {"code": "C1", "name": "Xã Một", "kind": "commune", "parent": "P"},
              {"code": "C2", "name": "Xã Hai", "kind": "commune", "parent": "P"}],
    "devices": [],
    "staff": [{"code": "NV1", "name": "Nguyễn Văn Một", "unit": "C1"}],
}
CONFIG = re.compile(r'<script type="application/json" id="tablet-config">(.*?)</script>', re.S)
TABLET_ID = "0f6f1a62-5b8e-4d0e-9a51-7d3c2b1e0a99"


@pytest.fixture
def app(db_url: str) -> Flask:
    with transaction() as session:
        load_bundle(session, validate_bundle(TREE))
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def page_config(html: str) -> dict[str, object]:
    found = CONFIG.search(html)
    assert found, "the page carries its settings as a JSON data block"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_only_roles_that_edit_spot_checks_open_the_page(app: Flask) -> None:
    anonymous = app.test_client().get("/inspections/tablet")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in ("clerk", "viewer", "team_lead", "unit_head"):
        client = signed_in_client(app, f"u-{role}", role, ["C1"])
        assert client.get("/inspections/tablet").status_code == 403, role
        token = csrf_token(client, "/")
        assert client.post("/inspections/tablet/token", data={"csrf_token": token,
                                                              "tablet": TABLET_ID}).status_code == 403, role
    for username, role in (("thanh-tra", "inspector"), ("quan-tri", "admin")):
        answer = signed_in_client(app, username, role, ["C1"] if role == "inspector" else []).get("/inspections/tablet")
        assert answer.status_code == 200, role
        html = answer.get_data(as_text=True)
        config = page_config(html)
        assert config["username"] == username and config["api"] == "/api/v1"
        assert config["worker_url"] == "/inspections/sw.js" and config["worker_scope"] == "/inspections/"
        # No inline script or style: the only <script> without src is the JSON data block.
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [
            '<script type="application/json" id="tablet-config">']
        assert "style=" not in html and "onclick" not in html
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


def test_the_page_speaks_vietnamese_first_and_english_on_request(app: Flask) -> None:
    client = signed_in_client(app, "thanh-tra", "inspector", ["C1"])
    vietnamese = client.get("/inspections/tablet").get_data(as_text=True)
    config = page_config(vietnamese)
    assert config["language"] == "vi"
    assert config["texts"]["present"] == "Có mặt"  # type: ignore[index]
    assert "Tải đơn vị để dùng khi không có mạng" in vietnamese
    client.get("/lang/en")
    english = client.get("/inspections/tablet").get_data(as_text=True)
    assert page_config(english)["language"] == "en"
    assert page_config(english)["texts"]["present"] == "Present"  # type: ignore[index]
    assert "Load a unit for offline use" in english


def test_the_page_gives_the_tablet_an_api_token_of_the_signed_in_inspector(app: Flask) -> None:
    client = signed_in_client(app, "thanh-tra", "inspector", ["C1"])
    # Without the form's CSRF token nothing is issued.
    assert client.post("/inspections/tablet/token", data={"tablet": TABLET_ID}).status_code == 400
    config = page_config(client.get("/inspections/tablet").get_data(as_text=True))
    answer = client.post("/inspections/tablet/token", data={"tablet": TABLET_ID},
                         headers={"X-CSRFToken": str(config["csrf"])})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    assert body["username"] == "thanh-tra" and body["label"] == f"tablet {TABLET_ID}"
    assert answer.headers["Cache-Control"] == "no-store"
    # The token is the inspector's: the API answers with the inspector's scope, cookies or not.
    api = app.test_client()
    units = api.get("/api/v1/units", headers={"Authorization": f"Bearer {body['token']}"})
    assert units.status_code == 200 and [u["code"] for u in units.get_json()] == ["C1"]
    with transaction(app.config["DATABASE_URL"]) as session:
        labels = session.scalars(select(m.ApiToken.label)).all()
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "api_token")).all()
    assert labels == [f"tablet {TABLET_ID}"]
    assert [(row.actor, row.entity_key) for row in audit] == [("web:thanh-tra", "thanh-tra")]
    # A tablet id that is not one is not written into the label.
    odd = client.post("/inspections/tablet/token", data={"tablet": "<script>" * 20, "csrf_token": config["csrf"]})
    assert odd.status_code == 200 and odd.get_json()["label"] == "tablet ?"


def test_the_service_worker_and_its_scripts_are_served_to_anyone(app: Flask) -> None:
    client = app.test_client()
    worker = client.get("/inspections/sw.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/inspections/"
    assert worker.headers["Cache-Control"] == "no-cache"
    assert "importScripts('tablet/assets/tablet-core.js')" in worker.get_data(as_text=True)
    for name in ("tablet-core.js", "tablet.js", "tablet.css"):
        assert client.get(f"/inspections/tablet/assets/{name}").status_code == 200, name
    # Only the page's files: not the service worker's source under another name, nor anything else.
    assert client.get("/inspections/tablet/assets/tablet-sw.js").status_code == 404
    assert client.get("/inspections/tablet/assets/..%2Ftablet_web.py").status_code == 404
    # The page itself is not public.
    assert client.get("/inspections/tablet").status_code == 302
