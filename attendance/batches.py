"""Import batches as a unit of undo: list them, void a wrong one, restore it.

The ledger is append-only: voiding a batch deletes nothing. Its punches stay stored (and
keep their natural key), but every reader that decides something — the rules engine,
summaries, explanations, device health, the public interface — leaves them out until the
batch is restored. Both changes are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from . import models as m
from .audit import record_change
from .errors import Conflict, InvalidInput, UnknownBatch, UnknownDevice
from .i18n import _
from .verdicts import mark_punches

MAX_REASON = 1000  # characters: a reason is a sentence or a document reference, not a file
COUNTERS = ("read", "inserted", "duplicates", "rejected", "unknown_users", "skipped")
STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class BatchInfo:
    """One import batch as plain data (what `attendance batch list` shows)."""

    id: int
    device: str
    source: str  # file | pull | push | serial
    label: str  # the file name, or pull:/push:/serial: and the terminal and moment
    started: str
    finished: str | None
    read: int
    inserted: int
    duplicates: int
    rejected: int
    unknown_users: int
    skipped: int
    punches: int  # rows of the ledger that carry this batch (the inserted ones)
    state: str  # live | voided
    voided_at: str | None
    voided_by: str | None
    void_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return asdict(self)


def voided_batch_ids(session: Session) -> list[int]:
    """Ids of the batches whose punches count for nothing now (usually none, so this is cheap)."""
    return list(session.scalars(select(m.ImportBatch.id).where(m.ImportBatch.voided_at.is_not(None))))


def live_punch(session: Session) -> ColumnElement[bool]:
    """A condition on ``m.Punch`` that leaves out the punches of voided batches."""
    voided = voided_batch_ids(session)
    # Without voided batches the condition is constant true, so period queries keep their plan.
    return m.Punch.batch_id.not_in(voided) if voided else true()


def _stamp(value: dt.datetime | None) -> str | None:
    # isoformat pads the year (strftime writes year 1 as "1" on glibc): same text as STAMP
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def _info(batch: m.ImportBatch, device_code: str, punches: int) -> BatchInfo:
    return BatchInfo(
        id=batch.id, device=device_code, source=batch.source, label=batch.filename,
        started=_stamp(batch.started_at) or "", finished=_stamp(batch.finished_at),
        **{name: int(getattr(batch, name) or 0) for name in COUNTERS},
        punches=punches, state="voided" if batch.voided_at else "live",
        voided_at=_stamp(batch.voided_at), voided_by=batch.voided_by, void_reason=batch.void_reason,
    )


def list_batches(session: Session, device_code: str | None = None, limit: int | None = None) -> list[BatchInfo]:
    """The batches (of one terminal, or all), oldest first; with ``limit``, only the newest ones."""
    query = select(m.ImportBatch, m.Device.code).join(m.Device, m.Device.id == m.ImportBatch.device_id)
    if device_code is not None:
        if session.scalar(select(m.Device.id).where(m.Device.code == device_code)) is None:
            raise UnknownDevice(_("no device {code!r}", code=device_code))
        query = query.where(m.Device.code == device_code)
    if limit is not None and limit < 0:
        raise InvalidInput(_("--limit: expected 0 or more, got {limit}", limit=limit))
    query = query.order_by(m.ImportBatch.id.desc())
    if limit:
        query = query.limit(limit)
    rows = list(reversed(session.execute(query).all()))
    ids = [batch.id for batch, _code in rows]
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        part = ids[start:start + 500]
        counts.update(session.execute(
            select(m.Punch.batch_id, func.count()).where(m.Punch.batch_id.in_(part)).group_by(m.Punch.batch_id)
        ).all())
    return [_info(batch, code, counts.get(batch.id, 0)) for batch, code in rows]


def get_batch(session: Session, batch_id: int) -> BatchInfo:
    """One batch by id (UnknownBatch when there is none)."""
    row = session.execute(select(m.ImportBatch, m.Device.code).join(m.Device, m.Device.id == m.ImportBatch.device_id)
                          .where(m.ImportBatch.id == batch_id)).first()
    if row is None:
        raise UnknownBatch(_("no import batch {id}", id=batch_id))
    punches = session.scalar(select(func.count()).select_from(m.Punch).where(m.Punch.batch_id == batch_id)) or 0
    return _info(row[0], row[1], int(punches))


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput(_("--reason: a reason is required (why the batch is voided or restored)"))
    if len(text) > MAX_REASON:
        raise InvalidInput(_("--reason: at most {limit} characters, got {length}", limit=MAX_REASON, length=len(text)))
    return text


def _batch(session: Session, batch_id: int) -> tuple[m.ImportBatch, str, int]:
    row = session.execute(
        select(m.ImportBatch, m.Device.code).join(m.Device, m.Device.id == m.ImportBatch.device_id)
        .where(m.ImportBatch.id == batch_id).with_for_update(of=m.ImportBatch)
    ).first()
    if row is None:
        raise UnknownBatch(_("no import batch {id}", id=batch_id))
    punches = session.scalar(select(func.count()).select_from(m.Punch).where(m.Punch.batch_id == batch_id)) or 0
    return row[0], row[1], int(punches)


def void_batch(session: Session, batch_id: int, reason: str, actor: str) -> BatchInfo:
    """Make a batch's punches count for nothing (they stay in the ledger); audited."""
    why = _reason(reason)
    batch, device_code, punches = _batch(session, batch_id)
    if batch.voided_at is not None:
        raise Conflict(_("batch {id} is already voided (at {when} by {who}: {why})", id=batch_id,
                         when=_stamp(batch.voided_at), who=batch.voided_by, why=batch.void_reason))
    batch.voided_at = dt.datetime.now().replace(microsecond=0)
    batch.voided_by, batch.void_reason = actor, why
    mark_punches(session, m.Punch.batch_id == batch.id)
    record_change(session, actor, "void", "import_batch", str(batch.id), {
        "reason": why, "device": device_code, "label": batch.filename, "punches": punches,
        "inserted": batch.inserted, "voided_at": [None, batch.voided_at],
    })
    session.flush()
    return _info(batch, device_code, punches)


def restore_batch(session: Session, batch_id: int, reason: str, actor: str) -> BatchInfo:
    """Make a voided batch's punches count again, exactly as before; audited."""
    why = _reason(reason)
    batch, device_code, punches = _batch(session, batch_id)
    if batch.voided_at is None:
        raise Conflict(_("batch {id} is not voided: nothing to restore", id=batch_id))
    record_change(session, actor, "restore", "import_batch", str(batch.id), {
        "reason": why, "device": device_code, "label": batch.filename, "punches": punches,
        "inserted": batch.inserted, "voided_at": [batch.voided_at, None],
        "voided_by": [batch.voided_by, None], "void_reason": [batch.void_reason, None],
    })
    batch.voided_at = batch.voided_by = batch.void_reason = None
    mark_punches(session, m.Punch.batch_id == batch.id)
    session.flush()
    return _info(batch, device_code, punches)
