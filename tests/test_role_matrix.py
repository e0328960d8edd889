"""Every role, over every route and API endpoint, inside and outside its scope: nobody reads or changes what is not theirs.

The routes are read from the application's URL map, so a route added later is walked too;
a path parameter this test does not know fails the test until it is described here.
Two communes: C1 (with the office C1-UB under it) is the users' scope, C2 is not. Each has
a person, a terminal, an import batch and an excuse. For each role a user scoped to C1:

- anonymous: pages go to /login, the API answers 401;
- outside the scope (C2's unit, person, terminal, batch, excuse): 404, for every method and
  role, exactly as for a code that does not exist;
- lists (routes without a scoped parameter) never show C2's names or codes to non-admins;
- a viewer's form posts and API writes inside the scope are refused (403), nothing changes;
- nothing answers 500.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from web_helpers import csrf_token, ensure_user, signed_in_client

from attendance import accounts, create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.excuses import DocumentUpload, edit_excuse
from attendance.import_jobs import create_job
from attendance.ledger import import_file
from attendance.org import load_bundle
from attendance.photos import set_photo
from inspections import discipline
from inspections import models as im
from inspections import services as spot
from inspections.report.jobs import create_report_job

TREE = {
    "units": [{"code": "P", "name": "Tỉnh Thử", "kind": "province"},
              {"code": "C1", "name": "Xã Trong Phạm Vi", "kind": "commune", "parent": "P"},
              {"code": "C1-UB", "name": "UBND Xã Trong", "kind": "office", "parent": "C1"},
              {"code": "C2", "name": "Xã Ngoài Phạm Vi", "kind": "commune", "parent": "P"}],
    "schedules": [{"code": "S", "units": ["P"], "valid_from": "2026-01-01",
                   "weekdays": ["mon", "tue", "wed", "thu", "fri"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TKM-1", "unit": "C1", "kind": "file"}, {"code": "TKX-2", "unit": "C2", "kind": "file"}],
    "staff": [{"code": "NVM1", "name": "Nguyễn Văn Mình", "unit": "C1-UB",
               "enrollments": [{"device": "TKM-1", "user_id": "1"}]},
              {"code": "NVX2", "name": "Trần Thị Người Ngoài", "unit": "C2",
               "enrollments": [{"device": "TKX-2", "user_id": "2"}]}],
    "excuses": [{"staff": "NVM1", "kind": "annual_leave", "start": "2026-10-06T00:00:00", "end": "2026-10-07T00:00:00",
                 "reference": "1/QĐ"},
                {"staff": "NVX2", "kind": "annual_leave", "start": "2026-10-06T00:00:00", "end": "2026-10-07T00:00:00",
                 "reference": "2/QĐ"}],
}
#: A spot check in each commune (the tablet mints these UUIDs), each with one announced photo.
SPOT_CHECKS = {"C1": ("00000000-0000-4000-8000-0000000000c1", "NVM1"),
               "C2": ("00000000-0000-4000-8000-0000000000c2", "NVX2")}


def _picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (90, 20, 20)).save(out, "PNG")
    return out.getvalue()


#: One small picture: the spot checks' photo and each person's portrait.
PHOTO = _picture()
#: What C2 looks like on a page: none of it may reach a user scoped to C1.
OUTSIDE = ("Xã Ngoài Phạm Vi", "NVX2", "Người Ngoài", "TKX-2")
ROLES = [role.value for role in accounts.Role]
SKIPPED_ENDPOINTS = {"static", "auth.login", "auth.logout", "auth.language",
                     # the tablet page's service worker and scripts: public files without data
                     "inspections.service_worker", "inspections.tablet_asset"}


class World:
    """The two communes' records: (inside, outside) values for each kind of path parameter."""

    def __init__(self, app: Flask, tmp_path: Path):
        with transaction() as session:
            load_bundle(session, validate_bundle(json.loads(json.dumps(TREE))))
        batches = {}
        for device, pin in (("TKM-1", "1"), ("TKX-2", "2")):
            log = tmp_path / f"{device}.dat"
            log.write_text(f"{pin}\t2026-10-05 07:01:00\t1\t0\t1\t0\n{pin}\t2026-10-05 17:02:00\t1\t1\t1\t0\n"
                           "bad line\n", encoding="utf-8")
            with transaction() as session:
                batches[device] = import_file(session, device, log).batch
        ensure_user(app, "m-jobs", "admin")
        with transaction() as session:
            owner = accounts.account_by_id(session, session.scalar(select(m.User.id).where(m.User.username == "m-jobs")))
            jobs = {device: create_job(session, owner, device, f"{device}.dat", 100) for device in ("TKM-1", "TKX-2")}
            # A monthly report queued (not built: no worker runs it here) for each commune.
            report_jobs = {unit: create_report_job(session, owner, "2026-10", unit, "docx") for unit in ("C1", "C2")}
        with transaction() as session:
            excuses = dict(session.execute(select(m.Staff.code, m.Excuse.id).join(m.Staff, m.Staff.id == m.Excuse.staff_id)).all())
            for excuse_id in excuses.values():  # each with a scan, so its download route answers
                edit_excuse(session, excuse_id, actor="test",
                            document=DocumentUpload("qd.pdf", "application/pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"))
        with transaction() as session:
            owner = accounts.account_by_id(session, session.scalar(select(m.User.id).where(m.User.username == "m-jobs")))
            for unit, (uuid, person) in SPOT_CHECKS.items():
                spot.put_spot_check(session, owner, uuid, {
                    "unit": unit, "started_at": "2026-10-05T08:00:00", "ended_at": "2026-10-05T08:30:00",
                    "headcount_at": "2026-10-05T08:05:00", "team": ["m-inspector"], "lead": "m-team_lead",
                    "legal_basis": "Kế hoạch 1/KH", "template": {"code": "default", "version": 1},
                    "headcount": [{"staff": person, "status": "absent_unexcused"}], "findings": [],
                    "actions": [{"description": "Khắc phục", "assignee": person, "due": "2026-10-20"}],
                    "attachments": [{"name": "bien-ban.jpg", "sha256": hashlib.sha256(PHOTO).hexdigest(),
                                     "size": len(PHOTO)}]})
                spot.put_attachment(session, owner, uuid, "bien-ban.jpg", PHOTO)
                set_photo(session, person, PHOTO, actor="test")
        with transaction() as session:
            owner = accounts.account_by_id(session, session.scalar(select(m.User.id).where(m.User.username == "m-jobs")))
            decisions = {person: discipline.record_decision(session, owner, {
                "staff": person, "number": f"5/QĐ-{person}", "date": "2026-10-06", "form": "reprimand",
                "issued_by": "UBND xã"}, "test")[0].id for person in ("NVM1", "NVX2")}
        self.values: dict[str, tuple[str, str]] = {
            "unit": ("C1", "C2"), "staff": ("NVM1", "NVX2"), "device": ("TKM-1", "TKX-2"),
            "batch_id": (str(batches["TKM-1"]), str(batches["TKX-2"])),
            "excuse_id": (str(excuses["NVM1"]), str(excuses["NVX2"])),
            "job_id": (str(jobs["TKM-1"]), str(jobs["TKX-2"])),
            "report_job": (str(report_jobs["C1"]), str(report_jobs["C2"])),
            "day": ("2026-10-05", "2026-10-05"), "date": ("2026-10-05", "2026-10-05"),
            "uuid": (SPOT_CHECKS["C1"][0], SPOT_CHECKS["C2"][0]),
            # Within a spot check: its attachment, its first follow-up action (the UUID is what is scoped).
            "name": ("bien-ban.jpg", "bien-ban.jpg"), "position": ("0", "0"),
            "template": ("default", "default"), "version": ("1", "1"),
            "decision_id": (str(decisions["NVM1"]), str(decisions["NVX2"])),
        }
        self.app = app

    def kind(self, rule: str, argument: str) -> str:
        """Which record a path parameter names (`code` depends on where it stands)."""
        if argument != "code":
            return argument
        for prefix, kind in (("/units/", "unit"), ("/staff/", "staff"), ("/devices/", "device"),
                             ("/api/v1/units/", "unit"), ("/api/v1/staff/", "staff"), ("/api/v1/devices/", "device"),
                             ("/inspections/units/", "unit"), ("/api/v1/checklist-templates/", "template")):
            if rule.startswith(prefix):
                return kind
        raise AssertionError(f"{rule}: which record does <code> name? describe it in test_role_matrix.World.kind")

    def urls(self, rule: str, arguments: set[str]) -> tuple[str, str] | None:
        """The rule with inside values and with outside values (None when it has no scoped parameter)."""
        inside, outside, scoped = rule, rule, False
        for argument in arguments:
            kind = self.kind(rule, argument)
            if kind not in self.values:
                raise AssertionError(f"{rule}: unknown path parameter <{argument}>: describe it in test_role_matrix")
            own, other = self.values[kind]
            scoped |= own != other
            pattern = re.compile(r"<(?:[a-z]+:)?" + argument + ">")
            inside, outside = pattern.sub(own, inside), pattern.sub(other, outside)
        return (inside, outside) if scoped else None


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield World(app, tmp_path)


def page_rules(app: Flask) -> list[tuple[str, str, set[str], set[str]]]:
    """(endpoint, rule, arguments, methods) of every page and API route to walk."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS or rule.endpoint.startswith("adms."):
            continue
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        out.append((rule.endpoint, rule.rule, set(rule.arguments), methods))
    assert len(out) >= 5
    return sorted(out, key=lambda r: r[1])


def client_of(app: Flask, role: str) -> FlaskClient:
    return signed_in_client(app, f"m-{role}", role, [] if role == "admin" else ["C1"])


def token_of(app: Flask, role: str) -> str:
    username = f"m-{role}"
    ensure_user(app, username, role, [] if role == "admin" else ["C1"])
    with transaction() as session:
        return accounts.issue_token(session, username, "matrix", actor="test")


def form_token(client: FlaskClient) -> str:
    return csrf_token(client, "/")


def counts() -> dict[str, int]:
    """Rows of the tables people's records live in: a refused request changes none of them."""
    with transaction() as session:
        return {table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
                for table in (m.Punch, m.Excuse, m.Enrollment, m.ImportBatch, m.Staff, m.Device, m.User,
                              im.SpotCheck, im.SpotCheckVersion, im.Attachment, im.Resolution, im.SendBack,
                              im.DisciplineDecision, im.ReportJob)}


def test_anonymous_requests_sign_in_first(world: World) -> None:
    client = world.app.test_client()
    for endpoint, rule, arguments, methods in page_rules(world.app):
        urls = world.urls(rule, arguments)
        url = urls[0] if urls else re.sub(r"<[^>]+>", "x", rule)
        if endpoint == "api.openapi" or rule.endswith("openapi.json"):
            continue
        for method in methods:
            answer = client.open(url, method=method)
            if rule.startswith("/api/"):
                assert answer.status_code == 401, (method, url, answer.status_code)
                assert answer.get_json()["error"]["code"], url
            elif method == "GET":
                assert answer.status_code == 302 and "/login" in answer.headers["Location"], (method, url)
            else:  # a form post without a session or token
                assert answer.status_code in (302, 400), (method, url, answer.status_code)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_outside_the_scope_is_404_and_lists_show_nothing_of_it(world: World, role: str) -> None:
    client = client_of(world.app, role)
    token = form_token(client)
    bearer = {"Authorization": f"Bearer {token_of(world.app, role)}"}
    before = counts()
    for _endpoint, rule, arguments, methods in page_rules(world.app):
        api = rule.startswith("/api/")
        urls = world.urls(rule, arguments)
        for method in methods:
            extra: dict = {"headers": bearer} if api else ({"data": {"csrf_token": token}} if method != "GET" else {})
            if api and method != "GET":
                extra["json"] = {}  # well-formed, so that only the scope can refuse it
            query = {"month": "2026-10"} if method == "GET" else None
            if urls is None:
                if method != "GET" or "<" in rule:
                    continue
                answer = client.open(rule, method=method, query_string=query, **extra)
                assert answer.status_code < 500, (rule, answer.status_code)
                body = answer.get_data()  # bytes: a report answers a document, not text
                for marker in OUTSIDE:
                    assert marker.encode() not in body, f"{role} sees {marker!r} on {rule}"
                continue
            inside, outside = urls
            answer = client.open(outside, method=method, query_string=query, **extra)
            assert answer.status_code == 404, (role, method, outside, answer.status_code)
            answer = client.open(inside, method=method, query_string=query, **extra)
            assert answer.status_code != 404 and answer.status_code < 500, (role, method, inside, answer.status_code)
    assert counts() == before  # empty forms and refusals changed nothing


def test_a_viewer_changes_nothing_inside_its_scope(world: World) -> None:
    client = client_of(world.app, "viewer")
    token = form_token(client)
    bearer = {"Authorization": f"Bearer {token_of(world.app, 'viewer')}"}
    before = counts()
    for _endpoint, rule, arguments, methods in page_rules(world.app):
        urls = world.urls(rule, arguments)
        url = urls[0] if urls else rule
        if "<" in url:
            continue
        for method in methods - {"GET"}:
            # The form names records inside the scope, so that only the role can refuse it.
            fields = {"device": "TKM-1", "staff": "NVM1", "unit": "C1", "user_id": "1", "reason": "thử",
                      "kind": "annual_leave", "start": "2026-10-08T00:00:00", "end": "2026-10-09T00:00:00",
                      "reference": "9/QĐ"}
            if rule.startswith("/api/excuses") or rule == "/api/v1/excuses":
                excuse = {k: fields[k] for k in ("staff", "kind", "start", "end", "reference")}
                answer = client.open(url, method=method, headers=bearer, json=excuse)
            elif rule.startswith("/api/v1/spot-checks"):  # JSON documents (and raw bytes for attachments)
                answer = client.open(url, method=method, headers=bearer, json={})
            elif rule.startswith("/api/"):  # uploads are multipart forms
                upload = (io.BytesIO(b"1\t2026-10-08 07:00:00\t1\t0\t1\t0\n"), "attlog.dat")
                answer = client.open(url, method=method, headers=bearer, data={"device": "TKM-1", "file": upload})
            else:
                answer = client.open(url, method=method, data={"csrf_token": token, **fields})
            assert answer.status_code == 403, (method, url, answer.status_code)
    assert counts() == before


def test_an_administrator_reaches_both_communes(world: World) -> None:
    client = client_of(world.app, "admin")
    for _endpoint, rule, arguments, methods in page_rules(world.app):
        urls = world.urls(rule, arguments)
        if urls is None or "GET" not in methods or rule.startswith("/api/"):
            continue
        for url in urls:
            answer = client.get(url, query_string={"month": "2026-10"})
            assert answer.status_code in (200, 302, 303), (url, answer.status_code)
