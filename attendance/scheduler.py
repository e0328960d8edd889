"""Unattended pulls: every terminal on its own interval, with retry and back-off."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .kinds import PULLED_KINDS
from .pull import PullResult, pull_with_retry

DEFAULT_INTERVAL_MINUTES = 30
REFRESH_MINUTES = 10
log = logging.getLogger("attendance.scheduler")

SessionFactory = Callable[[], Session]


def _terminals(sessions: SessionFactory) -> dict[str, int]:
    """Code → pull interval in minutes of every pullable terminal."""
    with sessions() as session:
        rows = session.execute(select(m.Device.code, m.Device.settings).where(m.Device.kind.in_(PULLED_KINDS))).all()
    return {code: int((settings or {}).get("pull_interval_minutes", DEFAULT_INTERVAL_MINUTES)) for code, settings in rows}


def sync_jobs(scheduler: BaseScheduler, sessions: SessionFactory, report: Callable[[PullResult], None]) -> None:
    """Add, reschedule or remove pull jobs so they match the terminals in the database."""
    wanted = _terminals(sessions)
    for job in scheduler.get_jobs():
        if job.id.startswith("pull:") and job.id[5:] not in wanted:
            job.remove()
    for code, minutes in wanted.items():
        job = scheduler.get_job(f"pull:{code}")
        if job is None:
            scheduler.add_job(
                pull_job, "interval", minutes=minutes, args=[sessions, code, report], id=f"pull:{code}",
                max_instances=1, coalesce=True, next_run_time=dt.datetime.now(),
            )
        elif job.trigger.interval != dt.timedelta(minutes=minutes):
            job.reschedule("interval", minutes=minutes)


def pull_job(sessions: SessionFactory, code: str, report: Callable[[PullResult], None]) -> None:
    """One scheduled pull in its own session (the pull commits its batch and its log)."""
    with sessions() as session:
        result = pull_with_retry(session, code)
    report(result)


def build_scheduler(sessions: SessionFactory, report: Callable[[PullResult], None],
                    scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler with one pull job per terminal and a job that keeps that list current.

    ``sessions`` makes a new Session (e.g. ``attendance.db.session_factory()``); every job
    opens its own.
    """
    scheduler = scheduler or BlockingScheduler()
    sync_jobs(scheduler, sessions, report)
    scheduler.add_job(sync_jobs, "interval", minutes=REFRESH_MINUTES, args=[scheduler, sessions, report],
                      id="refresh-terminals", max_instances=1, coalesce=True)
    return scheduler
