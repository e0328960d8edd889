"""Files uploaded through the pages, imported in the background with their progress in the database.

A job is queued by the request that received the file (kept in a temporary file), then a
worker thread of the application imports it through ``ledger.import_file`` (the one ingest
path), writing how many bytes it has read. The job lives in the ``import_job`` table, so any
application server can answer for it; a worker beats ``heartbeat_at`` of its jobs every few
seconds, and a job whose heartbeat stopped (its process was killed) reads as interrupted.
Nothing here imports Flask.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from devices.parsers import FORMATS, UnsupportedFile

from . import models as m
from .accounts import Account, in_scope, scope_unit_codes
from .background import JobView, JobWorker, job_now, job_state, stamp
from .batches import BatchInfo, list_batches
from .errors import DomainError, InvalidInput, NotFound
from .i18n import _
from .ledger import clip, device_by_code, import_file
from .rejections import file_error_text, rejection_text

log = logging.getLogger(__name__)

STATES = ("queued", "running", "done", "failed")
MAX_FILES = 20  # per upload: a day's exports of a commune's terminals, not a file dump
MAX_NAME = 255


class UnknownJob(NotFound):
    """No import job with that id (or not one the user may see)."""


@dataclass(frozen=True)
class JobInfo(JobView):
    """One import job as plain data (what the progress page and its JSON show)."""

    id: int
    username: str
    device: str
    filename: str
    format: str
    profile: str | None
    state: str  # queued | running | done | failed | interrupted
    done: int  # bytes read
    total: int  # bytes of the file
    percent: int
    batch: int | None
    error: str
    created_at: str
    finished_at: str | None


def clean_filename(name: str | None) -> str:
    """The last part of a browser's file name, without control characters, bounded."""
    # Browsers on Windows may send a whole path; only its last part names the file.
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:MAX_NAME] or "upload"


def _info(job: m.ImportJob, device_code: str, now: dt.datetime) -> JobInfo:
    total = int(job.total or 0)
    done = min(int(job.done or 0), total) if total else 0
    state = job_state(job.state, job.heartbeat_at, now)
    percent = 100 if state == "done" else (done * 100 // total if total else 0)
    return JobInfo(
        id=job.id, username=job.username, device=device_code, filename=job.filename, format=job.format,
        profile=job.profile, state=state, done=done, total=total, percent=percent, batch=job.batch_id,
        error=job.error or "", created_at=stamp(job.created_at) or "", finished_at=stamp(job.finished_at),
    )


def _check_format(fmt: str, profile: str | None) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(_("format: {value} is not one of {formats}", value=repr(fmt[:40]), formats=", ".join(FORMATS)))
    if profile is not None and (not profile.strip() or len(profile) > 60):
        raise InvalidInput(_("profile: {value} is not a profile name", value=repr(profile[:80])))


def create_job(session: Session, account: Account, device_code: str, filename: str, total: int,
               fmt: str = "auto", profile: str | None = None) -> int:
    """Queue the import of one uploaded file for a device (the caller commits); the job's id."""
    _check_format(fmt, profile)
    if profile is not None and session.scalar(select(m.SavedProfile.id).where(m.SavedProfile.name == profile)) is None:
        raise InvalidInput(_("profile: no saved profile {name}", name=repr(profile[:60])))
    device = device_by_code(session, device_code)
    now = job_now()
    job = m.ImportJob(username=account.username[:64], device_id=device.id, filename=clean_filename(filename),
                      format=fmt, profile=profile, state="queued", done=0, total=max(0, int(total)), error="",
                      created_at=now, heartbeat_at=now)
    session.add(job)
    session.flush()
    return job.id


def _job_row(session: Session, job_id: int) -> tuple[m.ImportJob, str, str | None]:
    row = session.execute(
        select(m.ImportJob, m.Device.code, m.Unit.code).join(m.Device, m.Device.id == m.ImportJob.device_id)
        .outerjoin(m.Unit, m.Unit.id == m.Device.unit_id).where(m.ImportJob.id == job_id)
    ).first()
    if row is None:
        raise UnknownJob(_("no import job {id}", id=job_id))
    return row[0], row[1], row[2]


def job_info(session: Session, account: Account, job_id: int) -> JobInfo:
    """One job, if its device lies in the account's scope (else UnknownJob, like a missing one)."""
    job, device_code, unit_code = _job_row(session, job_id)
    if not in_scope(scope_unit_codes(session, account), unit_code):
        raise UnknownJob(_("no import job {id}", id=job_id))
    return _info(job, device_code, job_now())


def devices_in_scope(session: Session, account: Account) -> list[tuple[str, str]]:
    """(code, name) of the terminals of the units in the account's scope, by code."""
    scope = scope_unit_codes(session, account)
    rows = session.execute(select(m.Device.code, m.Device.name, m.Unit.code)
                           .outerjoin(m.Unit, m.Unit.id == m.Device.unit_id).order_by(m.Device.code))
    return [(code, name) for code, name, unit in rows if in_scope(scope, unit)]


def profile_names(session: Session) -> list[str]:
    """The names of the saved column-mapping profiles, in order."""
    return list(session.scalars(select(m.SavedProfile.name).order_by(m.SavedProfile.name)))


@dataclass(frozen=True)
class RecentBatch:
    """A batch in the list of recent imports, with who uploaded it when it came through the pages."""

    batch: BatchInfo
    uploaded_by: str | None


def recent_batches(session: Session, account: Account, limit: int = 50) -> list[RecentBatch]:
    """The newest batches of the terminals in scope (every source), newest first."""
    found: list[BatchInfo] = []
    for code, _name in devices_in_scope(session, account):
        found.extend(list_batches(session, code, limit=limit))
    found.sort(key=lambda b: b.id, reverse=True)
    found = found[:limit]
    who = dict(session.execute(select(m.ImportJob.batch_id, m.ImportJob.username)
                               .where(m.ImportJob.batch_id.in_([b.id for b in found]))).all()) if found else {}
    return [RecentBatch(b, who.get(b.id)) for b in found]


def recent_jobs(session: Session, account: Account, limit: int = 20) -> list[JobInfo]:
    """The newest jobs of the terminals in scope that did not end in a batch (waiting, running, failed)."""
    scope = scope_unit_codes(session, account)
    rows = session.execute(
        select(m.ImportJob, m.Device.code, m.Unit.code).join(m.Device, m.Device.id == m.ImportJob.device_id)
        .outerjoin(m.Unit, m.Unit.id == m.Device.unit_id).where(m.ImportJob.batch_id.is_(None))
        .order_by(m.ImportJob.id.desc()).limit(limit * 5)
    ).all()
    now = job_now()
    return [_info(job, code, now) for job, code, unit in rows if in_scope(scope, unit)][:limit]


def batch_uploader(session: Session, batch_id: int) -> str | None:
    """Who uploaded the file of a batch through the pages (None: command line, pull, push...)."""
    return session.scalar(select(m.ImportJob.username).where(m.ImportJob.batch_id == batch_id).limit(1))


def rejected_rows(session: Session, batch_id: int, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """The first rejected lines of a batch (line, raw line cut short, reason) and how many there are."""
    count = session.scalar(select(func.count()).select_from(m.RejectedRow).where(m.RejectedRow.batch_id == batch_id))
    # Only the start of each raw line is read: a hostile file may hold megabyte lines.
    head = func.substr(m.RejectedRow.raw, 1, 201)
    rows = session.execute(
        select(m.RejectedRow.line_no, head, func.length(m.RejectedRow.raw), m.RejectedRow.reason,
               m.RejectedRow.reason_code, m.RejectedRow.reason_params)
        .where(m.RejectedRow.batch_id == batch_id).order_by(m.RejectedRow.line_no).limit(limit)
    ).all()
    # The stored English reason stands only for rows stored before reasons had codes.
    return [{"line": line, "raw": _cut(raw or "", int(length or 0)),
             "reason": clip(rejection_text(code, params, fallback=reason or ""))}
            for line, raw, length, reason, code, params in rows], int(count or 0)


def _cut(head: str, length: int, limit: int = 200) -> str:
    if length <= limit:
        return head
    return head[:limit] + _("… ({length} characters in all)", length=length)


def unknown_user_punches(session: Session, batch_id: int, limit: int = 200) -> tuple[list[dict[str, Any]], int]:
    """Punches of a batch whose device user id belongs to nobody (yet), and how many there are."""
    enrolled = select(m.Enrollment.user_id).where(m.Enrollment.device_id == m.Punch.device_id)
    where = (m.Punch.batch_id == batch_id, m.Punch.user_id.not_in(enrolled.scalar_subquery()))
    count = session.scalar(select(func.count()).select_from(m.Punch).where(*where))
    rows = session.execute(select(m.Punch.user_id, m.Punch.device_time, m.Punch.line_no).where(*where)
                           .order_by(m.Punch.user_id, m.Punch.device_time).limit(limit)).all()
    return [{"user_id": user, "device_time": stamp(moment), "line": line} for user, moment, line in rows], int(count or 0)


class ImportWorker(JobWorker):
    """The background importer of one application (``JobWorker``: one job at a time, heartbeats).

    The caller hands over a temporary file, which the worker deletes after the job.
    """

    model = m.ImportJob
    kind = "import"

    def submit(self, job_id: int, path: str | Path) -> None:  # type: ignore[override]
        """Import the queued job's file (already committed as a job) in the worker thread."""
        super().submit(job_id, Path(path))

    def work(self, job_id: int, path: Path) -> None:  # type: ignore[override]
        """Import the file, writing the bytes read as progress."""
        run_job(self._sessions, job_id, path, progress=lambda done: self.progress(job_id, done=done))

    def finish(self, job_id: int, path: Path) -> None:  # type: ignore[override]
        """Delete the temporary file."""
        try:
            os.unlink(path)
        except OSError:
            pass


def run_job(sessions: Any, job_id: int, path: Path, progress: Any = None) -> None:
    """Import a queued job's file and record its outcome (done with its batch, or failed with why)."""
    with sessions() as session:
        job = session.get(m.ImportJob, job_id)
        if job is None or job.state != "queued":
            return
        job.state, job.started_at, job.heartbeat_at = "running", job_now(), job_now()
        filename, fmt, profile_name = job.filename, job.format, job.profile
        device_code = session.scalar(select(m.Device.code).where(m.Device.id == job.device_id)) or ""
        session.commit()
        try:
            mapping = None
            if profile_name:
                from .profiles import saved_profile  # YAML and the bundle schema: only when asked

                mapping = saved_profile(session, profile_name)
            result = import_file(session, device_code, path, fmt=fmt, profile=mapping, progress=progress,
                                 label=filename)
            # The batch's last part and the job's outcome in one transaction.
            session.execute(update(m.ImportJob).where(m.ImportJob.id == job_id).values(
                state="done", batch_id=result.batch, done=m.ImportJob.total, finished_at=job_now(), heartbeat_at=job_now()))
            session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            session.rollback()
            # Refusals of the file (domain errors, unknown formats, bad values) are the user's to
            # read; anything else is a bug, logged, and only named on the page.
            expected = isinstance(exc, DomainError | UnsupportedFile | ValueError) and str(exc).strip()
            why = file_error_text(exc).strip().splitlines()[0] if expected else _(
                "the import failed unexpectedly; the server's log has the details")
            if not expected:
                log.exception("import job %s", job_id)
            # The temporary file's path means nothing to the person who uploaded the file.
            why = clip(why.replace(str(path), filename), 1000)
            session.execute(update(m.ImportJob).where(m.ImportJob.id == job_id).values(
                state="failed", error=why, finished_at=job_now(), heartbeat_at=job_now()))
            session.commit()
