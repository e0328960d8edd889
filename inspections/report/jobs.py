"""Monthly reports built in the background for the page: a job row with its progress, then the file.

The page queues a job (scope and role checked as for a download, ``report_unit``); a worker
thread of the application gathers and writes the report, writing each step to the job's row,
and keeps the finished file in the row. The job lives in the ``report_job`` table, so any
application server answers for its progress and its download. A worker beats
``heartbeat_at`` of its jobs every few seconds; a job whose heartbeat stopped (its process
was killed) reads as interrupted: ``attendance.background``, which the import jobs use too.
Nothing here imports Flask.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from attendance.accounts import Account, Permission, in_scope, require_permission, scope_unit_codes
from attendance.background import (
    PENDING_STATES,
    STALE_AFTER,
    JobView,
    JobWorker,
    job_now,
    job_state,
    stamp,
)
from attendance.errors import Conflict, DomainError, InvalidInput, NotFound
from attendance.i18n import _, use_request_language

from ..models import ReportJob
from . import FORMATS, report_file_name, report_unit, write_report
from .data import gather_report
from .settings import report_period, report_settings

log = logging.getLogger(__name__)

KEEP_FOR = dt.timedelta(days=1)  # jobs (and their files) are deleted after this
MAX_PENDING = 3  # reports one person may have waiting or running at once

Progress = Callable[[int, int, str], None]


class UnknownReportJob(NotFound):
    """No report job with that id (or not one the user may see)."""


@dataclass(frozen=True)
class ReportJobInfo(JobView):
    """One report job as plain data (what its page and its JSON show)."""

    id: int
    username: str
    unit_code: str | None
    month: str
    format: str
    state: str  # queued | running | done | failed | interrupted
    step: int
    steps: int
    percent: int
    label: str
    error: str
    filename: str
    created_at: str
    finished_at: str | None


def _info(job: ReportJob, now: dt.datetime) -> ReportJobInfo:
    state = job_state(job.state, job.heartbeat_at, now)
    steps = max(1, job.steps)
    step = min(max(0, job.step), steps)
    return ReportJobInfo(
        id=job.id, username=job.username, unit_code=job.unit_code, month=job.month, format=job.format,
        state=state, step=steps if state == "done" else step, steps=steps,
        percent=100 if state == "done" else step * 100 // steps, label=job.label, error=job.error,
        filename=job.filename, created_at=stamp(job.created_at) or "", finished_at=stamp(job.finished_at))


def create_report_job(session: Session, account: Account, month: str, unit_code: str | None, fmt: str,
                      now: dt.datetime | None = None) -> int:
    """Queue the report of ``month`` for a unit the account may report on (the caller commits); its id.

    The same rules as a download: outside the scope NotFound, a role without ``build_reports``
    Forbidden, a limited account without a unit gets its own. Conflict when the account already
    has ``MAX_PENDING`` reports waiting or running. Jobs older than a day are deleted.
    """
    unit = report_unit(session, account, unit_code)
    if fmt not in FORMATS:
        raise InvalidInput(_("format: expected one of {formats}, got {value!r}", formats=", ".join(FORMATS),
                             value=fmt[:20]))
    period = report_period(month)  # InvalidInput naming the month
    now = now or job_now()
    session.execute(delete(ReportJob).where(ReportJob.created_at < now - KEEP_FOR))
    pending = session.scalar(select(func.count()).select_from(ReportJob).where(
        ReportJob.username == account.username[:64], ReportJob.state.in_(PENDING_STATES),
        ReportJob.heartbeat_at >= now - STALE_AFTER)) or 0
    if pending >= MAX_PENDING:
        raise Conflict(_("{n} of your reports are still being built: wait for one of them to finish", n=pending))
    job = ReportJob(username=account.username[:64], unit_code=unit, month=period.month, format=fmt, state="queued",
                    step=0, steps=1, label="", error="", filename="", created_at=now, heartbeat_at=now)
    session.add(job)
    session.flush()
    return job.id


def _visible_job(session: Session, account: Account, job_id: int) -> ReportJob:
    """The job if its unit lies in the account's scope (else UnknownReportJob), then the role's check."""
    job = session.get(ReportJob, job_id)
    # A report of every unit (unit None) is only in the scope of an account without limits.
    if job is None or not in_scope(scope_unit_codes(session, account), job.unit_code):
        raise UnknownReportJob(_("no report job {id}", id=job_id))
    require_permission(account, Permission.BUILD_REPORTS)
    return job


def report_job_info(session: Session, account: Account, job_id: int, now: dt.datetime | None = None) -> ReportJobInfo:
    """One report job, for an account whose scope covers its unit and who may build reports."""
    return _info(_visible_job(session, account, job_id), now or job_now())


def report_job_file(session: Session, account: Account, job_id: int) -> tuple[bytes, str, str] | None:
    """The finished job's file: (bytes, download name, format); None while it is not done."""
    job = _visible_job(session, account, job_id)
    if job.state != "done" or job.content is None:
        return None
    return job.content, job.filename, job.format


def run_report_job(sessions: sessionmaker[Session], job_id: int, config: Mapping[str, Any] | None = None,
                   progress: Progress | None = None) -> None:
    """Build a queued job's report and record the outcome (done with its file, or failed with why)."""
    with sessions() as session:
        job = session.get(ReportJob, job_id)
        if job is None or job.state != "queued":
            return
        job.state, job.started_at, job.heartbeat_at = "running", job_now(), job_now()
        month, unit, fmt = job.month, job.unit_code, job.format
        session.commit()
        try:
            writing = [0]

            def step(done: int, total: int, label: str) -> None:
                # One step more than the gathering: writing the file (and converting it to PDF).
                writing[0] = total + 1
                if progress is not None:
                    progress(done, total + 1, label)

            data = gather_report(session, month, unit, report_settings(session, config), step)
            if progress is not None:
                progress(writing[0] - 1, writing[0], _("writing the {format} file", format=fmt))
            with tempfile.TemporaryDirectory(prefix="attendance-report-job-") as work:
                content = write_report(data, fmt, Path(work) / f"report.{fmt}").read_bytes()
            # The gathering only read: end its transaction so that the write starts from now.
            session.rollback()
            session.execute(update(ReportJob).where(ReportJob.id == job_id).values(
                state="done", content=content, filename=report_file_name(data, fmt), step=writing[0],
                steps=writing[0], label="", finished_at=job_now(), heartbeat_at=job_now()))
            session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            session.rollback()
            expected = isinstance(exc, DomainError) and str(exc).strip()
            why = str(exc).strip().splitlines()[0] if expected else _(
                "the report failed unexpectedly; the server's log has the details")
            if not expected:
                log.exception("report job %s", job_id)
            session.execute(update(ReportJob).where(ReportJob.id == job_id).values(
                state="failed", error=why[:1000], finished_at=job_now(), heartbeat_at=job_now()))
            session.commit()


class ReportWorker(JobWorker):
    """The background report builder of one application (``JobWorker``: one job at a time, heartbeats)."""

    model = ReportJob
    kind = "report"

    def submit(self, job_id: int, config: Mapping[str, Any] | None = None,  # type: ignore[override]
               language: str | None = None) -> None:
        """Build the queued (committed) job in the worker thread, its labels and errors in ``language``."""
        super().submit(job_id, dict(config or {}), language)

    def work(self, job_id: int, config: dict[str, Any], language: str | None) -> None:  # type: ignore[override]
        """Gather and write the report, writing each step as progress."""
        # A pool thread keeps its context between jobs: each job sets its requester's language.
        use_request_language(language)
        run_report_job(self._sessions, job_id, config, progress=lambda step, steps, label: self.progress(
            job_id, step=step, steps=steps, label=label[:200]))
