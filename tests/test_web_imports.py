"""Imports through the pages: upload, background job with progress, result page, void and restore."""

from __future__ import annotations

import copy
import datetime as dt
import html
import io
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from attendance import api, create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle
from attendance.rejections import rejection_text
from tests.web_helpers import csrf_token, signed_in_client

BUNDLE = {
    "units": [{"code": "H", "name": "Huyện Tân Kỳ", "kind": "district"},
              {"code": "X", "name": "Xã Tân An", "kind": "commune", "parent": "H"},
              {"code": "Y", "name": "Xã Tân Bình", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "valid_from": "2026-01-01",
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-X", "unit": "X", "kind": "file"}, {"code": "TK-Y", "unit": "Y", "kind": "file"}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X", "enrollments": [{"device": "TK-X", "user_id": "101"}]},
              {"code": "NV002", "name": "Trần Thị Bình", "unit": "Y", "enrollments": [{"device": "TK-Y", "user_id": "201"}]}],
}
# NV001's Monday late by 12 minutes, a punch of an unknown user 999, and two broken lines.
LINES = [
    "101\t2026-10-05 07:12:00\t0\t1\t0\t0", "101\t2026-10-05 11:31:00\t1\t1\t0\t0",
    "101\t2026-10-05 13:29:00\t0\t1\t0\t0", "101\t2026-10-05 17:01:00\t1\t1\t0\t0",
    "999\t2026-10-05 07:00:00\t0\t1\t0\t0",
    "101\t2026-13-45 07:00:00\t0\t1\t0\t0",
    "101\tnot a time\t0\t1\t0\t0",
]
ATTLOG = ("\n".join(LINES) + "\n").encode()


@pytest.fixture
def app(db_url: str) -> Flask:
    with transaction(db_url) as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    application = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield application
    found = application.extensions.get("import_worker")
    if found is not None:
        found.shutdown()


def upload(client: FlaskClient, device: str, files: list[tuple[bytes, str]], **form: str):
    data: dict[str, object] = {"csrf_token": csrf_token(client, "/"), "device": device, **form,
                               "files": [(io.BytesIO(body), name) for body, name in files]}
    return client.post("/imports", data=data, content_type="multipart/form-data")


def wait_for(client: FlaskClient, job_url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"{job_url}.json")
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        job = answer.get_json()
        if job["finished"]:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def imported(client: FlaskClient, device: str = "TK-X", body: bytes = ATTLOG, name: str = "attlog.dat") -> dict:
    answer = upload(client, device, [(body, name)])
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return wait_for(client, answer.headers["Location"])


def late_count(db_url: str, code: str = "NV001") -> int:
    with transaction(db_url) as session:
        return {r["staff_code"]: r for r in api.monthly_summary(session, "2026-10")}[code]["late_count"]


def test_upload_runs_in_the_background_and_the_result_lists_rejected_rows(app: Flask, db_url: str) -> None:
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    page = clerk.get("/imports").get_data(as_text=True)
    assert 'value="TK-X"' in page and 'value="TK-Y"' not in page  # only the terminals in scope
    answer = upload(clerk, "TK-X", [(ATTLOG, "tải về/ke toan/attlog.dat")])
    assert answer.status_code == 303
    job_url = answer.headers["Location"]
    assert re.fullmatch(r"/imports/jobs/\d+", job_url)
    assert clerk.get(job_url).status_code == 200  # queued, running or done already: the page answers
    job = wait_for(clerk, job_url)
    assert (job["state"], job["filename"], job["device"], job["username"]) == ("done", "attlog.dat", "TK-X", "clerk_x")
    assert job["done"] == job["total"] == len(ATTLOG) and job["percent"] == 100
    done_page = clerk.get(job_url).get_data(as_text=True)
    assert "job_progress.js" not in done_page and f"/imports/batches/{job['batch']}" in done_page

    result = clerk.get(job["batch_url"])
    assert result.status_code == 200
    text = result.get_data(as_text=True)
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', text))
    assert counts == {"read": "7", "inserted": "5", "duplicates": "0", "rejected": "2", "unknown": "1", "skipped": "0"}
    with transaction(db_url) as session:
        rows = session.execute(select(m.RejectedRow.line_no, m.RejectedRow.reason_code, m.RejectedRow.reason_params)
                               .where(m.RejectedRow.batch_id == job["batch"])).all()
        label = session.scalar(select(m.ImportBatch.filename).where(m.ImportBatch.id == job["batch"]))
    assert sorted(line for line, _code, _params in rows) == [6, 7] and label == "attlog.dat"  # the browser's name
    for line, code, params in rows:  # each reason in the page's language, from its stored code and values
        reason = rejection_text(code, params, "vi")
        assert f'<td class="num">{line}</td>' in text and reason.replace("'", "&#39;") in text
    assert "không phải ngày giờ hợp lệ" in text
    assert "not a time" in text and "999" in text  # the raw line, the unknown device user
    assert late_count(db_url) == 1

    listing = clerk.get("/imports").get_data(as_text=True)
    assert f"/imports/batches/{job['batch']}" in listing and "clerk_x" in listing

    again = imported(clerk)  # the same file again: nothing new
    assert again["state"] == "done" and again["batch"] != job["batch"]
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', clerk.get(again["batch_url"]).get_data(as_text=True)))
    assert (counts["read"], counts["inserted"], counts["duplicates"], counts["rejected"]) == ("7", "0", "5", "2")
    assert late_count(db_url) == 1


def test_void_from_the_result_page_makes_the_punches_count_for_nothing_and_is_audited(app: Flask, db_url: str) -> None:
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    job = imported(clerk)
    batch = job["batch"]
    assert late_count(db_url) == 1
    token = csrf_token(clerk, job["batch_url"])
    refused = clerk.post(f"/imports/batches/{batch}/void", data={"csrf_token": token, "reason": "  "})
    assert refused.status_code == 400 and "reason" in refused.get_data(as_text=True)
    voided = clerk.post(f"/imports/batches/{batch}/void", data={"csrf_token": token, "reason": "file của máy khác"})
    assert voided.status_code == 303
    assert late_count(db_url) == 0
    page = clerk.get(job["batch_url"]).get_data(as_text=True)
    assert "file của máy khác" in page and f"/imports/batches/{batch}/restore" in page
    with transaction(db_url) as session:
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "import_batch")).all()
    assert [(a.action, a.actor, a.entity_key, a.changes["reason"]) for a in audit] == [
        ("void", "web:clerk_x", str(batch), "file của máy khác")]
    assert audit[0].origin  # the client address of the request
    again = clerk.post(f"/imports/batches/{batch}/void", data={"csrf_token": token, "reason": "lần nữa"})
    assert again.status_code == 409
    restored = clerk.post(f"/imports/batches/{batch}/restore", data={"csrf_token": token, "reason": "nhầm lẫn"})
    assert restored.status_code == 303 and late_count(db_url) == 1


def test_scope_and_roles_of_every_import_route(app: Flask, db_url: str) -> None:
    admin = signed_in_client(app, "admin", "admin")
    job_y = imported(admin, "TK-Y", ATTLOG.replace(b"101\t", b"201\t"))
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    job_x = imported(clerk)
    viewer = signed_in_client(app, "viewer_x", "viewer", ["X"])
    head = signed_in_client(app, "head_h", "unit_head", ["H"])

    outside = upload(clerk, "TK-Y", [(ATTLOG, "attlog.dat")])
    assert outside.status_code == 404  # as if the terminal did not exist
    assert upload(clerk, "NOPE", [(ATTLOG, "attlog.dat")]).status_code == 404
    assert upload(viewer, "TK-X", [(ATTLOG, "attlog.dat")]).status_code == 403
    assert upload(viewer, "TK-Y", [(ATTLOG, "attlog.dat")]).status_code == 404  # outside first
    for path in ("/imports", f"/imports/jobs/{job_x['id']}", f"/imports/jobs/{job_x['id']}.json"):
        assert viewer.get(path).status_code == 403, path
        assert head.get(path).status_code == 403, path
    for path in (f"/imports/jobs/{job_y['id']}", f"/imports/jobs/{job_y['id']}.json", job_y["batch_url"]):
        assert clerk.get(path).status_code == 404, path
        assert viewer.get(path).status_code == 404, path
    assert clerk.get("/imports/batches/99999").status_code == 404
    # Reading a result is reading attendance of the scope; voiding it is the import role's.
    assert viewer.get(job_x["batch_url"]).status_code == 200
    assert head.get(job_y["batch_url"]).status_code == 200
    token = csrf_token(viewer, "/")
    assert viewer.post(f"/imports/batches/{job_x['batch']}/void", data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert viewer.post(f"/imports/batches/{job_y['batch']}/void", data={"csrf_token": token, "reason": "x"}).status_code == 404
    token = csrf_token(clerk, "/")
    assert clerk.post(f"/imports/batches/{job_y['batch']}/void", data={"csrf_token": token, "reason": "x"}).status_code == 404
    menus = {who: re.search(r"<nav>(.*?)</nav>", c.get("/").get_data(as_text=True), re.S).group(1)
             for who, c in (("viewer", viewer), ("clerk", clerk))}
    assert 'href="/imports"' in menus["clerk"] and 'href="/imports"' not in menus["viewer"]
    with transaction(db_url) as session:
        assert session.scalar(select(m.ImportBatch.voided_at).where(m.ImportBatch.id == job_y["batch"])) is None
        assert len(session.scalars(select(m.ImportJob)).all()) == 2  # the refused uploads queued nothing


def test_refused_uploads_say_why_and_leave_nothing(app: Flask, db_url: str, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    app.config["IMPORT_UPLOAD_FOLDER"] = str(uploads)
    app.config["IMPORT_MAX_CONTENT_LENGTH"] = 64 * 1024
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    none = clerk.post("/imports", data={"csrf_token": csrf_token(clerk, "/"), "device": "TK-X"},
                      content_type="multipart/form-data")
    assert none.status_code == 400 and "ít nhất một tệp" in none.get_data(as_text=True)
    bad_format = upload(clerk, "TK-X", [(ATTLOG, "a.dat")], format="bogus")
    assert bad_format.status_code == 400 and "bogus" in bad_format.get_data(as_text=True)
    no_profile = upload(clerk, "TK-X", [(ATTLOG, "a.dat")], profile="không có")
    assert no_profile.status_code == 400 and "không có" in no_profile.get_data(as_text=True)
    big = upload(clerk, "TK-X", [(b"x" * (65 * 1024), "big.dat")])
    assert big.status_code == 413
    no_token = clerk.post("/imports", data={"device": "TK-X", "files": [(io.BytesIO(ATTLOG), "a.dat")]},
                          content_type="multipart/form-data")
    assert no_token.status_code == 400
    assert list(uploads.iterdir()) == []  # no temporary file left behind
    with transaction(db_url) as session:
        assert session.scalars(select(m.ImportJob)).all() == []

    # A file nothing can be read from: the job fails and says why, with the browser's file name.
    job = imported(clerk, body="\x00\x01 rác \n".encode() * 20, name="rác.txt")
    assert job["state"] == "failed" and job["batch"] is None
    assert "rác.txt" in job["error"] and str(uploads) not in job["error"]
    assert job["error"] in html.unescape(clerk.get(f"/imports/jobs/{job['id']}").get_data(as_text=True))
    assert list(uploads.iterdir()) == []


def test_several_files_at_once_and_a_job_whose_process_died_reads_as_interrupted(app: Flask, db_url: str) -> None:
    clerk = signed_in_client(app, "clerk_x", "clerk", ["X"])
    second = ATTLOG.replace(b"2026-10-05", b"2026-10-06")
    answer = upload(clerk, "TK-X", [(ATTLOG, "mon.dat"), (second, "tue.dat")])
    assert answer.status_code == 303 and answer.headers["Location"] == "/imports"
    with transaction(db_url) as session:
        ids = list(session.scalars(select(m.ImportJob.id).order_by(m.ImportJob.id)))
    results = [wait_for(clerk, f"/imports/jobs/{i}") for i in ids]
    assert [(r["filename"], r["state"]) for r in results] == [("mon.dat", "done"), ("tue.dat", "done")]
    assert late_count(db_url) == 2

    with transaction(db_url) as session:  # a job some killed server left running long ago
        device = session.scalar(select(m.Device.id).where(m.Device.code == "TK-X"))
        job = m.ImportJob(username="clerk_x", device_id=device, filename="lost.dat", format="auto", state="running",
                          done=10, total=100, error="", created_at=dt.datetime(2026, 1, 1),
                          heartbeat_at=dt.datetime(2026, 1, 1))
        session.add(job)
        session.flush()
        lost = job.id
    info = clerk.get(f"/imports/jobs/{lost}.json").get_json()
    assert (info["state"], info["finished"], info["percent"]) == ("interrupted", True, 10)
    assert "lost.dat" in clerk.get("/imports").get_data(as_text=True)
    with transaction(db_url) as session:  # a fresh heartbeat: still running
        session.execute(update(m.ImportJob).where(m.ImportJob.id == lost).values(
            heartbeat_at=dt.datetime.now()))
    assert clerk.get(f"/imports/jobs/{lost}.json").get_json()["state"] == "running"
    page = clerk.get(f"/imports/jobs/{lost}").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh"' in page and 'max="100" value="10"' in page
    assert "job_progress.js" in page
