"""Unattended pulls: every terminal on its own interval, with retry and back-off."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from . import models as m
from .db import transaction
from .pull import PULL_KINDS, PullResult, pull_with_retry

DEFAULT_INTERVAL_MINUTES = 30
REFRESH_MINUTES = 10
log = logging.getLogger("attendance.scheduler")


def _terminals(url: str | None) -> dict[str, int]:
    """Code → pull interval in minutes of every pullable terminal."""
    from sqlalchemy import select

    with transaction(url) as session:
        rows = session.execute(select(m.Device.code, m.Device.settings).where(m.Device.kind.in_(PULL_KINDS))).all()
    return {code: int((settings or {}).get("pull_interval_minutes", DEFAULT_INTERVAL_MINUTES)) for code, settings in rows}


def sync_jobs(scheduler: BaseScheduler, url: str | None, report: Callable[[PullResult], None]) -> None:
    """Add, reschedule or remove pull jobs so they match the terminals in the database."""
    wanted = _terminals(url)
    for job in scheduler.get_jobs():
        if job.id.startswith("pull:") and job.id[5:] not in wanted:
            job.remove()
    for code, minutes in wanted.items():
        job = scheduler.get_job(f"pull:{code}")
        if job is None:
            scheduler.add_job(
                _pull_job, "interval", minutes=minutes, args=[url, code, report], id=f"pull:{code}",
                max_instances=1, coalesce=True, next_run_time=dt.datetime.now(),
            )
        elif job.trigger.interval != dt.timedelta(minutes=minutes):
            job.reschedule("interval", minutes=minutes)


def _pull_job(url: str | None, code: str, report: Callable[[PullResult], None]) -> None:
    report(pull_with_retry(url, code))


def build_scheduler(url: str | None, report: Callable[[PullResult], None],
                    scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler with one pull job per terminal and a job that keeps that list current."""
    scheduler = scheduler or BlockingScheduler()
    sync_jobs(scheduler, url, report)
    scheduler.add_job(sync_jobs, "interval", minutes=REFRESH_MINUTES, args=[scheduler, url, report],
                      id="refresh-terminals", max_instances=1, coalesce=True)
    return scheduler
