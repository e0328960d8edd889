"""Pull leases: several schedulers share the terminals through the database, one pull per terminal at a time.

A scheduler takes a due terminal by an atomic claim on its ``pull_lease`` row (PostgreSQL:
the rows are picked with ``FOR UPDATE SKIP LOCKED`` inside the claiming UPDATE, so two
schedulers never pick the same row and never wait for each other; SQLite: the same UPDATE,
which SQLite runs one writer at a time). The lease runs until ``expires_at``; the holder
renews it while it pulls and releases it afterwards, writing when the terminal is next due,
so N schedulers together pull each terminal once per interval. A holder that dies stops
renewing; once its lease has expired any other scheduler takes the terminal.

Every time here is the database's clock, so machines with skewed clocks agree. The functions
take a Session and leave the commit to the caller (each is one short transaction of its own).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Interval, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from . import models as m
from .kinds import PULLED_KINDS

DEFAULT_INTERVAL_MINUTES = 30
DEFAULT_LEASE_SECONDS = 300
Lease = m.PullLease


@dataclass(frozen=True)
class Claim:
    """A terminal a scheduler now holds the lease of: pull it, then ``release`` it."""

    device_id: int
    code: str
    interval_minutes: int


def scheduler_id() -> str:
    """A holder name unique to this process: host:pid:random (the random part survives pid reuse)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def interval_minutes(settings: dict[str, Any] | None) -> int:
    """A terminal's pull interval from its settings (``pull_interval_minutes``, default 30, at least 1)."""
    try:
        minutes = int((settings or {}).get("pull_interval_minutes", DEFAULT_INTERVAL_MINUTES))
    except (TypeError, ValueError):
        minutes = DEFAULT_INTERVAL_MINUTES
    return max(1, minutes)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def db_now(session: Session) -> ColumnElement[Any]:
    """The database clock as an SQL expression (UTC text on SQLite, timestamptz on PostgreSQL)."""
    return func.now() if _postgres(session) else func.datetime("now")


def db_in(session: Session, seconds: float) -> ColumnElement[Any]:
    """The database clock plus ``seconds``, as an SQL expression."""
    if _postgres(session):
        return func.now() + literal(dt.timedelta(seconds=seconds), Interval())
    return func.datetime("now", f"{seconds:+.3f} seconds")


def ensure_leases(session: Session) -> int:
    """Give every pullable terminal without a lease row one, due now; return how many were added."""
    if _postgres(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    missing = (select(m.Device.id, db_now(session))
               .where(m.Device.kind.in_([str(k) for k in PULLED_KINDS]),
                      ~exists().where(Lease.device_id == m.Device.id)))
    # Two schedulers starting at once may both see a terminal missing: the second insert does nothing.
    statement = (insert(Lease).from_select(["device_id", "next_due_at"], missing).on_conflict_do_nothing()
                 .returning(Lease.device_id))
    return len(session.scalars(statement).all())


def claim_due(session: Session, holder: str, lease_seconds: float, limit: int = 1) -> list[Claim]:
    """Take the leases of up to ``limit`` due, unleased (or expired) terminals for ``holder``, oldest due first."""
    if limit < 1:
        return []
    now = db_now(session)
    due = (select(Lease.device_id).join(m.Device, m.Device.id == Lease.device_id)
           .where(m.Device.kind.in_([str(k) for k in PULLED_KINDS]), Lease.next_due_at <= now,
                  or_(Lease.expires_at.is_(None), Lease.expires_at < now))
           .order_by(Lease.next_due_at, Lease.device_id).limit(limit)
           # PostgreSQL: rows another scheduler is claiming right now are skipped, not waited
           # for (SQLite ignores the clause: it has one writer at a time anyway).
           .with_for_update(skip_locked=True, of=Lease))
    taken = session.scalars(
        update(Lease).where(Lease.device_id.in_(due.scalar_subquery()))
        .values(holder=holder, acquired_at=now, expires_at=db_in(session, lease_seconds))
        .returning(Lease.device_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not taken:
        return []
    rows = session.execute(select(m.Device.id, m.Device.code, m.Device.settings)
                           .where(m.Device.id.in_(taken)).order_by(m.Device.code)).all()
    return [Claim(device_id, code, interval_minutes(settings)) for device_id, code, settings in rows]


def renew(session: Session, holder: str, lease_seconds: float) -> int:
    """Push back the expiry of every lease ``holder`` still holds; return how many it holds."""
    return int(session.execute(
        update(Lease).where(Lease.holder == holder).values(expires_at=db_in(session, lease_seconds))
        .execution_options(synchronize_session=False)
    ).rowcount or 0)


def release(session: Session, holder: str, claim: Claim) -> bool:
    """Give a terminal back after its pull, due again one interval from now; False if the lease was lost.

    A lease that expired and was taken by another scheduler is left to that one (it will set
    the next due time itself).
    """
    done = session.execute(
        update(Lease).where(Lease.device_id == claim.device_id, Lease.holder == holder)
        .values(holder=None, expires_at=None, last_holder=holder,
                last_released_at=db_now(session), next_due_at=db_in(session, claim.interval_minutes * 60))
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)


def leases(session: Session) -> list[dict[str, Any]]:
    """Every lease as plain data (device code, holder, times as the database keeps them), by device code."""
    rows = session.execute(
        select(m.Device.code, Lease.holder, Lease.acquired_at, Lease.expires_at, Lease.next_due_at,
               Lease.last_holder, Lease.last_released_at)
        .join(m.Device, m.Device.id == Lease.device_id).order_by(m.Device.code)).all()
    keys = ("device", "holder", "acquired_at", "expires_at", "next_due_at", "last_holder", "last_released_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
