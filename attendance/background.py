"""Jobs a page hands to a worker thread, with their state and progress kept in a table.

The job row is the only state that matters, so any application server answers for a job
(progress, result) and a job whose process was killed reads as interrupted once its
heartbeat stops. ``JobWorker`` is the thread side that the import jobs
(``attendance.import_jobs``) and the report jobs (``inspections.report.jobs``) share; each
says what one job does in ``work``. Nothing here imports Flask.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from .db import is_busy_error, session_factory

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # how often a worker says its jobs are alive
STALE_AFTER = dt.timedelta(minutes=2)  # no heartbeat for this long: the process is gone
PROGRESS_LOCK_SECONDS = 0.5  # progress is best effort: never wait long for the job's own lock
PENDING_STATES = ("queued", "running")
FINISHED_STATES = ("done", "failed", "interrupted")


class JobView:
    """What a job's dataclass view adds to its fields: whether it is finished, and plain data for JSON."""

    state: str

    @property
    def finished(self) -> bool:
        """Whether the job will change no more (done, failed or interrupted)."""
        return self.state in FINISHED_STATES

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {**asdict(self), "finished": self.finished}  # type: ignore[call-overload]


def job_now() -> dt.datetime:
    """The time stamps of job rows: local, whole seconds."""
    return dt.datetime.now().replace(microsecond=0)


def stamp(value: dt.datetime | None) -> str | None:
    """A job time as the pages and the JSON show it ('YYYY-MM-DD HH:MM:SS')."""
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def job_state(state: str, heartbeat_at: dt.datetime, now: dt.datetime) -> str:
    """The stored state, or 'interrupted' for a pending job whose heartbeat stopped."""
    if state in PENDING_STATES and now - heartbeat_at > STALE_AFTER:
        return "interrupted"
    return state


class JobWorker:
    """One application's worker: jobs run one at a time, in submission order, and a second
    thread beats ``heartbeat_at`` of the jobs it holds.

    One at a time on purpose: imports and reports both read or write a great deal, two at
    once would only share the same cores, and on SQLite one writer holds the lock anyway.
    Subclasses set ``model`` (the job table) and ``kind`` (log and thread names) and define
    ``work``; ``finish`` runs after each job whatever happened.
    """

    model: Any = None
    kind = "job"

    def __init__(self, database_url: str, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.database_url = database_url
        self._sessions = session_factory(database_url)
        self._beats = session_factory(database_url, lock_timeout=PROGRESS_LOCK_SECONDS)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.kind}-worker")
        self._mine: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat_seconds = heartbeat_seconds
        self._heart = threading.Thread(target=self._beat_forever, name=f"{self.kind}-heartbeat", daemon=True)
        self._heart.start()

    def submit(self, job_id: int, *args: Any) -> None:
        """Run the queued (committed) job in the worker thread: ``work(job_id, *args)``."""
        with self._lock:
            self._mine.add(job_id)
        self._pool.submit(self._run, job_id, args)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs and, with ``wait``, let the queued ones finish."""
        self._pool.shutdown(wait=wait)
        self._stop.set()

    def progress(self, job_id: int, **values: Any) -> None:
        """Best-effort update of a job's progress columns (with its heartbeat)."""
        self._write([job_id], values)

    def work(self, job_id: int, *args: Any) -> None:
        """Do one job and record its outcome on its row."""
        raise NotImplementedError

    def finish(self, job_id: int, *args: Any) -> None:
        """Clean-up after a job, whatever its outcome."""

    def _beat_forever(self) -> None:
        while not self._stop.wait(self._heartbeat_seconds):
            with self._lock:
                ids = sorted(self._mine)
            if ids:
                self._write(ids, {})

    def _write(self, ids: Iterable[int], values: dict[str, Any]) -> None:
        try:
            with self._beats() as session:
                session.execute(update(self.model).where(self.model.id.in_(list(ids)))
                                .values(heartbeat_at=job_now(), **values))
                session.commit()
        except DBAPIError as exc:
            # The job itself may hold SQLite's write lock between its commits: skip this beat.
            if not is_busy_error(exc):
                log.warning("%s job progress not written: %s", self.kind, exc)

    def _run(self, job_id: int, args: tuple[Any, ...]) -> None:
        try:
            self.work(job_id, *args)
        except Exception:  # noqa: BLE001 - a worker thread must survive any one job
            log.exception("%s job %s failed unexpectedly", self.kind, job_id)
        finally:
            with self._lock:
                self._mine.discard(job_id)
            self.finish(job_id, *args)
