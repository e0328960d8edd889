"""Unattended pulls: any number of schedulers, on any number of machines, share the terminals.

Each scheduler process loops: give new terminals a lease row, claim due terminals up to its
free worker threads (``attendance.leases``), pull each with retry and back-off, release it
due one interval later. A keeper thread renews the process's leases while its pulls run, so a
long pull keeps its terminal and a killed process loses its terminals once the lease expires.
Due times live in the database, so restarting a scheduler or adding one keeps each terminal
at one pull per interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from sqlalchemy.orm import Session

from . import leases
from .db import is_busy_error
from .leases import DEFAULT_INTERVAL_MINUTES, DEFAULT_LEASE_SECONDS, Claim
from .pull import PullResult, pull_with_retry

__all__ = ["DEFAULT_INTERVAL_MINUTES", "DEFAULT_LEASE_SECONDS", "PullScheduler"]

DEFAULT_POLL_SECONDS = 15.0
DEFAULT_WORKERS = 4
log = logging.getLogger("attendance.scheduler")

SessionFactory = Callable[[], Session]


class PullScheduler:
    """One scheduler process's loop: claim due terminals, pull them in worker threads, release them.

    ``sessions`` makes a new Session (e.g. ``attendance.db.session_factory()``); each claim,
    renewal, release and pull opens its own. ``report`` is called with each pull's result and
    the holder name.
    """

    def __init__(self, sessions: SessionFactory, report: Callable[[PullResult], None], *,
                 workers: int = DEFAULT_WORKERS, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 poll_seconds: float = DEFAULT_POLL_SECONDS, holder: str | None = None,
                 pull_options: dict[str, object] | None = None) -> None:
        if workers < 1 or lease_seconds <= 0 or poll_seconds <= 0:
            raise ValueError("workers, lease_seconds and poll_seconds must be positive")
        self.sessions, self.report = sessions, report
        self.workers, self.lease_seconds, self.poll_seconds = workers, lease_seconds, poll_seconds
        self.holder = holder or leases.scheduler_id()
        self.pull_options = dict(pull_options or {})
        self.stop = threading.Event()
        self.pulled = 0

    def _transaction(self, work: Callable[[Session], object]) -> object:
        with self.sessions() as session:
            try:
                value = work(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return value

    def claim(self, limit: int) -> list[Claim]:
        """Add lease rows for new terminals and claim up to ``limit`` due ones (one transaction)."""
        def work(session: Session) -> list[Claim]:
            leases.ensure_leases(session)
            return leases.claim_due(session, self.holder, self.lease_seconds, limit)
        try:
            return self._transaction(work)  # type: ignore[return-value]
        except Exception as exc:  # a database that is down or busy: try again next round
            (log.info if is_busy_error(exc) else log.warning)("claiming terminals failed: %s", exc)
            return []

    def _keep_leases(self) -> None:
        # Renew well before expiry: a third of the lease leaves two chances for a slow database.
        while not self.stop.wait(self.lease_seconds / 3):
            try:
                self._transaction(lambda session: leases.renew(session, self.holder, self.lease_seconds))
            except Exception as exc:  # noqa: BLE001 - the keeper must outlive a database hiccup
                log.warning("renewing the leases of %s failed: %s", self.holder, exc)

    def pull(self, claim: Claim) -> PullResult:
        """Pull one claimed terminal (with retry), report it, then release its lease."""
        try:
            with self.sessions() as session:
                result = pull_with_retry(session, claim.code, **self.pull_options)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - e.g. a terminal without a host: reported, not fatal
            result = PullResult(device=claim.code, ok=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            try:
                if not self._transaction(lambda session: leases.release(session, self.holder, claim)):
                    log.warning("%s: the lease had expired and was taken over before the pull ended", claim.code)
            except Exception as exc:  # noqa: BLE001 - the lease then simply expires
                log.warning("%s: releasing the lease failed: %s", claim.code, exc)
        self.pulled += 1
        self.report(result)
        return result

    def run(self, once: bool = False) -> int:
        """Pull until ``stop`` is set (or, with ``once``, until nothing due is left); return the pulls done."""
        keeper = threading.Thread(target=self._keep_leases, name="lease-keeper", daemon=True)
        keeper.start()
        running: set[Future[PullResult]] = set()
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="pull") as pool:
                while not self.stop.is_set():
                    running = {f for f in running if not f.done()}
                    free = self.workers - len(running)
                    claimed = self.claim(free) if free else []
                    running |= {pool.submit(self.pull, claim) for claim in claimed}
                    if once and not running:
                        break
                    if claimed and len(claimed) == free:
                        wait(running, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
                    elif running and once:
                        wait(running, return_when=FIRST_COMPLETED)
                    else:
                        self.stop.wait(self.poll_seconds)
                # Stopping: claim nothing more; the pulls under way finish and release their terminals.
        finally:
            self.stop.set()
            keeper.join(timeout=5)
        return self.pulled
