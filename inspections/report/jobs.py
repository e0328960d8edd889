"""Monthly reports built in the background for the page: a job row with its progress, then the file.

The page queues a job (scope and role checked as for a download, ``report_unit``); a worker
thread of the application gathers and writes the report, writing each step to the job's row,
and keeps the finished file in the row. The job lives in the ``report_job`` table, so any
application server answers for its progress and its download. A worker beats
``heartbeat_at`` of its jobs every few seconds; a job whose heartbeat stopped (its process
was killed) reads as interrupted. The same pattern as the import jobs of ``attendance.import_jobs``.
Nothing here imports Flask.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from attendance.accounts import Account, Permission, in_scope, require_permission, scope_unit_codes
from attendance.db import is_busy_error, session_factory
from attendance.errors import Conflict, DomainError, InvalidInput, NotFound
from attendance.i18n import _, use_request_language

from ..models import ReportJob
from . import FORMATS, report_file_name, report_unit, write_report
from .data import gather_report
from .settings import report_period, report_settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # how often a worker says its jobs are alive
STALE_AFTER = dt.timedelta(minutes=2)  # no heartbeat for this long: the process is gone
KEEP_FOR = dt.timedelta(days=1)  # jobs (and their files) are deleted after this
MAX_PENDING = 3  # reports one person may have waiting or running at once
PROGRESS_LOCK_SECONDS = 0.5  # progress is best effort: never wait long for a lock

Progress = Callable[[int, int, str], None]


class UnknownReportJob(NotFound):
    """No report job with that id (or not one the user may see)."""


@dataclass(frozen=True)
class ReportJobInfo:
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

    @property
    def finished(self) -> bool:
        """Whether the job will change no more (done, failed or interrupted)."""
        return self.state in ("done", "failed", "interrupted")

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {**asdict(self), "finished": self.finished}


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def _state(job: ReportJob, now: dt.datetime) -> str:
    if job.state in ("queued", "running") and now - job.heartbeat_at > STALE_AFTER:
        return "interrupted"
    return job.state


def _info(job: ReportJob, now: dt.datetime) -> ReportJobInfo:
    state = _state(job, now)
    steps = max(1, job.steps)
    step = min(max(0, job.step), steps)
    return ReportJobInfo(
        id=job.id, username=job.username, unit_code=job.unit_code, month=job.month, format=job.format,
        state=state, step=steps if state == "done" else step, steps=steps,
        percent=100 if state == "done" else step * 100 // steps, label=job.label, error=job.error,
        filename=job.filename, created_at=_stamp(job.created_at) or "", finished_at=_stamp(job.finished_at))


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
    now = now or _now()
    session.execute(delete(ReportJob).where(ReportJob.created_at < now - KEEP_FOR))
    pending = session.scalar(select(func.count()).select_from(ReportJob).where(
        ReportJob.username == account.username[:64], ReportJob.state.in_(("queued", "running")),
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
    return _info(_visible_job(session, account, job_id), now or _now())


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
        job.state, job.started_at, job.heartbeat_at = "running", _now(), _now()
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
                steps=writing[0], label="", finished_at=_now(), heartbeat_at=_now()))
            session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            session.rollback()
            expected = isinstance(exc, DomainError) and str(exc).strip()
            why = str(exc).strip().splitlines()[0] if expected else _(
                "the report failed unexpectedly; the server's log has the details")
            if not expected:
                log.exception("report job %s", job_id)
            session.execute(update(ReportJob).where(ReportJob.id == job_id).values(
                state="failed", error=why[:1000], finished_at=_now(), heartbeat_at=_now()))
            session.commit()


class ReportWorker:
    """The background report builder of one application: jobs run one at a time, in submission order.

    One at a time on purpose: a province's report reads a great deal, and two at once would
    only share the same cores (and SQLite's single writer for the progress).
    """

    def __init__(self, database_url: str, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self._sessions = session_factory(database_url)
        self._beats = session_factory(database_url, lock_timeout=PROGRESS_LOCK_SECONDS)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-worker")
        self._mine: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat_seconds = heartbeat_seconds
        self._heart = threading.Thread(target=self._beat_forever, name="report-heartbeat", daemon=True)
        self._heart.start()

    def submit(self, job_id: int, config: Mapping[str, Any] | None = None, language: str | None = None) -> None:
        """Build the queued (committed) job in the worker thread, its labels and errors in ``language``."""
        with self._lock:
            self._mine.add(job_id)
        self._pool.submit(self._run, job_id, dict(config or {}), language)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs and, with ``wait``, let the queued ones finish."""
        self._pool.shutdown(wait=wait)
        self._stop.set()

    def _beat_forever(self) -> None:
        while not self._stop.wait(self._heartbeat_seconds):
            with self._lock:
                ids = sorted(self._mine)
            if ids:
                self._write(ids, {})

    def _write(self, ids: Iterable[int], values: dict[str, Any]) -> None:
        """Best-effort update of jobs (progress, heartbeat) in its own short transaction."""
        try:
            with self._beats() as session:
                session.execute(update(ReportJob).where(ReportJob.id.in_(list(ids))).values(
                    heartbeat_at=_now(), **values))
                session.commit()
        except DBAPIError as exc:
            if not is_busy_error(exc):
                log.warning("report job progress not written: %s", exc)

    def _run(self, job_id: int, config: dict[str, Any], language: str | None) -> None:
        # A pool thread keeps its context between jobs: each job sets its requester's language.
        use_request_language(language)
        try:
            run_report_job(self._sessions, job_id, config, progress=lambda step, steps, label: self._write(
                [job_id], {"step": step, "steps": steps, "label": label[:200]}))
        except Exception:  # noqa: BLE001 - a worker thread must survive any one job
            log.exception("report job %s failed unexpectedly", job_id)
        finally:
            with self._lock:
                self._mine.discard(job_id)
