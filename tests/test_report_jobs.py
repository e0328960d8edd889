"""The monthly report built in the background: progress to 100 %, the download, the job's role and scope rules."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_report_spot import spot  # noqa: F401 - the fixture: October's spot checks in 17830 and 17831
from web_helpers import csrf_token, ensure_user, signed_in_client

from attendance import accounts, create_app
from attendance.db import session_factory, transaction
from attendance.errors import Conflict, Forbidden, InvalidInput, NotFound
from attendance.models import User
from inspections.models import ReportJob
from inspections.report import jobs

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _account(username: str) -> accounts.Account:
    with transaction() as session:
        found = accounts.account_by_id(session, session.scalar(select(User.id).where(User.username == username)))
    assert found is not None
    return found


def _start(client: FlaskClient, **form: str) -> tuple[int, str]:
    answer = client.post("/inspections/reports/jobs", data={"csrf_token": csrf_token(client, "/"), **form})
    return answer.status_code, answer.headers.get("Location", "") or answer.get_data(as_text=True)


def _wait(client: FlaskClient, job_id: int, seen: list[int]) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = client.get(f"/inspections/reports/jobs/{job_id}.json").get_json()
        seen.append(status["percent"])
        if status["finished"]:
            return status
        time.sleep(0.2)
    raise AssertionError(f"report job {job_id} still not finished: {status}")


@pytest.fixture
def app(spot: str) -> Iterator[Flask]:  # noqa: F811
    app = create_app({"DATABASE_URL": spot, "TESTING": True})
    yield app
    worker = app.extensions.get("report_worker")
    if worker is not None:
        worker.shutdown()


def test_a_job_reaches_100_percent_and_its_file_downloads(app: Flask) -> None:
    lead = signed_in_client(app, "leadjob", "team_lead", ["17830"])
    # The report page offers the background build beside the plain links (which work without JavaScript).
    page = lead.get("/inspections/reports?month=2026-10").get_data(as_text=True)
    assert 'action="/inspections/reports/jobs"' in page and "/inspections/reports/file?month=2026-10" in page
    status, location = _start(lead, month="2026-10", format="docx")  # a lead of one unit: that unit
    assert status == 303, location
    job_id = int(re.fullmatch(r".*/inspections/reports/jobs/(\d+)", location).group(1))
    waiting = lead.get(f"/inspections/reports/jobs/{job_id}").get_data(as_text=True)
    assert '<progress id="report-progress"' in waiting and "<noscript>" in waiting
    assert "<script>" not in waiting and "style=" not in waiting  # the CSP: scripts from files only
    seen: list[int] = []
    final = _wait(lead, job_id, seen)
    assert final["state"] == "done" and final["percent"] == 100 and final["step"] == final["steps"] > 1, final
    assert seen == sorted(seen)  # never goes back
    assert final["file_url"] == f"/inspections/reports/jobs/{job_id}/file" and final["unit_code"] == "17830"
    done = lead.get(f"/inspections/reports/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/inspections/reports/jobs/{job_id}/file"' in done and "job_progress.js" not in done
    file = lead.get(final["file_url"])
    assert file.status_code == 200 and file.mimetype == DOCX
    assert 'filename="bao-cao-2026-10-17830.docx"' in file.headers["Content-Disposition"]
    # The same document as the plain download of the same report.
    plain = lead.get("/inspections/reports/file?month=2026-10&unit=17830&format=docx")
    assert [p.text for p in Document(io.BytesIO(file.data)).paragraphs] == \
        [p.text for p in Document(io.BytesIO(plain.data)).paragraphs]
    # Any application server answers from the table: a second app on the same database serves it too.
    other = signed_in_client(create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True}), "leadjob")
    assert other.get(final["file_url"]).data == file.data


def test_job_routes_follow_the_scope_then_the_role(app: Flask) -> None:
    lead = signed_in_client(app, "lead17830", "team_lead", ["17830"])
    inspector = signed_in_client(app, "insp17831", "inspector", ["17831"])
    lead_other = signed_in_client(app, "lead17831", "team_lead", ["17831"])
    ensure_user(app, "rootjobs", "admin")
    with transaction() as session:
        before = session.scalar(select(func.count()).select_from(ReportJob))
    # Starting: a unit outside the scope is 404 (as one that does not exist), a role without
    # build_reports 403, a bad month or format 400 naming it; none of them queues anything.
    assert _start(lead, month="2026-10", unit="17831")[0] == 404
    assert _start(lead, month="2026-10", unit="NOPE")[0] == 404
    assert _start(inspector, month="2026-10", unit="17831")[0] == 403
    status, body = _start(lead, month="2026-13", unit="17830")
    assert status == 400 and "month" in body
    status, body = _start(lead, month="2026-10", unit="17830", format="odt")
    assert status == 400 and "format" in body
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(ReportJob)) == before
        # Jobs of the administrator: one of 17831, one of every unit (not built: no worker here).
        root = _account("rootjobs")
        of_17831 = jobs.create_report_job(session, root, "2026-10", "17831", "xlsx")
        of_all = jobs.create_report_job(session, root, "2026-10", None, "docx")
    for suffix in ("", ".json", "/file"):
        assert lead.get(f"/inspections/reports/jobs/{of_17831}{suffix}").status_code == 404
        assert lead.get(f"/inspections/reports/jobs/{of_all}{suffix}").status_code == 404
        assert lead.get(f"/inspections/reports/jobs/999999{suffix}").status_code == 404
        assert inspector.get(f"/inspections/reports/jobs/{of_17831}{suffix}").status_code == 403
        assert lead_other.get(f"/inspections/reports/jobs/{of_17831}{suffix}").status_code in (200, 303)
    queued = lead_other.get(f"/inspections/reports/jobs/{of_17831}.json").get_json()
    assert (queued["state"], queued["percent"], queued["file_url"]) == ("queued", 0, None)
    # Not done yet: the file route leads to the progress page.
    early = lead_other.get(f"/inspections/reports/jobs/{of_17831}/file")
    assert early.status_code == 303 and early.headers["Location"].endswith(f"/inspections/reports/jobs/{of_17831}")
    with transaction() as session:
        with pytest.raises(NotFound):
            jobs.report_job_info(session, _account("lead17830"), of_17831)
        with pytest.raises(Forbidden):
            jobs.report_job_info(session, _account("insp17831"), of_17831)


def test_run_report_job_steps_failures_limits_and_interruption(app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    ensure_user(app, "rootrun", "admin")
    root = _account("rootrun")
    with transaction() as session:
        good = jobs.create_report_job(session, root, "2026-10", "411", "xlsx")
        pdf = jobs.create_report_job(session, root, "2026-10", "17830", "pdf")
    steps: list[tuple[int, int, str]] = []
    sessions = session_factory(app.config["DATABASE_URL"])
    jobs.run_report_job(sessions, good, {}, progress=lambda step, total, label: steps.append((step, total, label)))
    # The gathering's steps one by one, then writing the file (the last step, done when it is).
    gathered = len(steps) - 1
    assert [s[0] for s in steps[:-1]] == list(range(1, gathered + 1)) and {s[1] for s in steps} == {gathered + 1}
    assert steps[-1] == (gathered, gathered + 1, "đang ghi tệp xlsx")
    with transaction() as session:
        info = jobs.report_job_info(session, root, good)
        assert (info.state, info.percent, info.step, info.steps) == ("done", 100, gathered + 1, gathered + 1)
        content, name, fmt = jobs.report_job_file(session, root, good) or (b"", "", "")
        assert content.startswith(b"PK") and name == "bao-cao-2026-10-411.xlsx" and fmt == "xlsx"
    # A refusal is kept on the job with its reason: here no LibreOffice for the PDF.
    monkeypatch.setenv("ATTENDANCE_SOFFICE", str(tmp_path / "no-soffice"))
    jobs.run_report_job(sessions, pdf, {})
    with transaction() as session:
        failed = jobs.report_job_info(session, root, pdf)
        assert failed.state == "failed" and "ATTENDANCE_SOFFICE" in failed.error and failed.finished
        assert jobs.report_job_file(session, root, pdf) is None
    # A job already run is not run again.
    jobs.run_report_job(sessions, good, {}, progress=lambda *_a: pytest.fail("ran twice"))
    # At most MAX_PENDING waiting or running per person; a job whose worker stopped beating is
    # interrupted and no longer counts; jobs older than a day are deleted (with their files).
    now = dt.datetime.now().replace(microsecond=0)
    with transaction() as session:
        waiting = [jobs.create_report_job(session, root, "2026-10", "411", "docx", now) for _i in range(jobs.MAX_PENDING)]
        with pytest.raises(Conflict):
            jobs.create_report_job(session, root, "2026-10", "411", "docx", now)
        later = now + jobs.STALE_AFTER + dt.timedelta(seconds=1)
        assert jobs.report_job_info(session, root, waiting[0], later).state == "interrupted"
        newer = jobs.create_report_job(session, root, "2026-10", "411", "docx", later)
        gone = jobs.create_report_job(session, root, "2026-10", "411", "docx", now + jobs.KEEP_FOR + jobs.KEEP_FOR)
        # (SQLite may give a deleted job's id again: compare the rows, not the ids.)
        assert newer and list(session.execute(select(ReportJob.id, ReportJob.created_at))) == [
            (gone, now + jobs.KEEP_FOR + jobs.KEEP_FOR)]
        with pytest.raises(InvalidInput, match="format"):
            jobs.create_report_job(session, root, "2026-10", "411", "odt")
