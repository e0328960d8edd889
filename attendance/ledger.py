"""The punch ledger: append-only, idempotent on (device, user id, device time)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from devices.parsers import MappingProfile, ParsedChunk, RejectedLine, open_punch_file

from . import models as m
from .errors import InvalidInput

INSERT_COLUMNS = (
    "device_id", "user_id", "device_time", "corrected_time", "status", "verify", "work_code", "batch_id", "line_no",
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class ImportError_(InvalidInput):
    """An import could not start (unknown device, unreadable file); the message says which."""


@dataclass
class ImportResult:
    """Counts of one import (cli.md: read = inserted + duplicates + rejected)."""

    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unknown_users: int = 0
    skipped: int = 0
    batch: int | None = None
    file: str = ""
    format: str = ""
    encoding: str = ""
    rejects: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain data for --json."""
        return asdict(self)


def device_by_code(session: Session, code: str) -> m.Device:
    """The device with this code, or a clear error."""
    device = session.scalar(select(m.Device).where(m.Device.code == code))
    if device is None:
        raise ImportError_(f"no device {code!r} (load it with 'attendance org load' first)")
    return device


def clock_offsets(session: Session, device_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The device's offsets as (valid_from day numbers, seconds), sorted by date."""
    rows = session.execute(
        select(m.DeviceClockOffset.valid_from, m.DeviceClockOffset.seconds)
        .where(m.DeviceClockOffset.device_id == device_id)
        .order_by(m.DeviceClockOffset.valid_from)
    ).all()
    days = np.array([(r[0] - dt.date(1970, 1, 1)).days for r in rows], dtype=np.int64)
    secs = np.array([r[1] for r in rows], dtype=np.int64)
    return days, secs


def correct_times(device_times: pd.Series, offsets: tuple[np.ndarray, np.ndarray]) -> pd.Series:
    """rules.md §1: corrected = device_time − offset in force on the device date."""
    days, secs = offsets
    if len(days) == 0 or not secs.any():
        return device_times
    values = device_times.to_numpy().astype("datetime64[s]")
    day_no = values.astype("datetime64[D]").astype(np.int64)
    idx = np.searchsorted(days, day_no, side="right") - 1
    shift = np.where(idx >= 0, secs[np.clip(idx, 0, None)], 0)
    return pd.Series(values - shift.astype("timedelta64[s]"), index=device_times.index)


def _as_text(times: pd.Series) -> np.ndarray:
    """Datetimes to 'YYYY-MM-DD HH:MM:SS' strings, the ledger's SQLite storage format."""
    iso = np.datetime_as_string(times.to_numpy().astype("datetime64[s]"), unit="s").astype("U19")
    # Overwrite the ISO 'T' in place (fixed-width UCS-4 cells) instead of a string replace.
    iso.view(np.uint32).reshape(-1, 19)[:, 10] = ord(" ")
    return iso.astype(object)


def _nullable_ints(series: pd.Series) -> list[object]:
    return [None if v is pd.NA else int(v) for v in series.astype("Int64").tolist()] if len(series) else []


class _Writer:
    """Bulk insert of ledger rows through the session's own connection (same transaction)."""

    def __init__(self, session: Session):
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def insert(self, rows: list[tuple[object, ...]]) -> int:
        """Insert rows, ignoring those whose key is already in the ledger; return how many went in."""
        if not rows:
            return 0
        raw = self.session.connection().connection.driver_connection
        cols = ", ".join(INSERT_COLUMNS)
        if self.dialect == "sqlite":
            cur = raw.cursor()
            before = raw.total_changes
            cur.executemany(f"INSERT OR IGNORE INTO punch ({cols}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})", rows)
            return raw.total_changes - before
        # PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING.
        cur = raw.cursor()
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS punch_stage (device_id int, user_id text, device_time timestamp, "
            "corrected_time timestamp, status int, verify int, work_code text, batch_id int, line_no int) "
            "ON COMMIT DROP"
        )
        cur.execute("TRUNCATE punch_stage")
        with cur.copy(f"COPY punch_stage ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO punch ({cols}) SELECT DISTINCT ON (device_id, user_id, device_time) {cols} "
            "FROM punch_stage ORDER BY device_id, user_id, device_time, line_no "
            "ON CONFLICT (device_id, user_id, device_time) DO NOTHING"
        )
        return cur.rowcount


def _rows(chunk: pd.DataFrame, device_id: int, batch_id: int, offsets: tuple[np.ndarray, np.ndarray],
          as_text: bool) -> list[tuple[object, ...]]:
    if chunk.empty:
        return []
    corrected = correct_times(chunk["device_time"], offsets)
    if as_text:
        device_col = _as_text(chunk["device_time"])
        corrected_col = device_col if corrected is chunk["device_time"] else _as_text(corrected)
    else:
        device_col = chunk["device_time"].dt.to_pydatetime()
        corrected_col = pd.Series(corrected).dt.to_pydatetime()
    n = len(chunk)
    return list(zip(
        [device_id] * n,
        chunk["user_id"].tolist(),
        device_col.tolist() if hasattr(device_col, "tolist") else list(device_col),
        corrected_col.tolist() if hasattr(corrected_col, "tolist") else list(corrected_col),
        _nullable_ints(chunk["status"]),
        _nullable_ints(chunk["verify"]),
        [None if (v is None or v is pd.NA or v != v) else str(v) for v in chunk["work_code"].tolist()],
        [batch_id] * n,
        chunk["line_no"].astype(np.int64).tolist(),
        strict=True,
    ))


def _store_rejects(session: Session, batch_id: int, rejects: Iterable[RejectedLine]) -> None:
    session.execute(
        m.RejectedRow.__table__.insert(),
        [{"batch_id": batch_id, "line_no": r.line_no, "raw": r.raw, "reason": r.reason} for r in rejects],
    )


def compress_bytes(data: bytes) -> bytes:
    """Raw bytes as kept with their batch (zlib, fast level: this is audit storage)."""
    return zlib.compress(data, 1)


def content_digest(handle: BinaryIO) -> tuple[str, int, bytes]:
    """sha256, size and zlib-compressed bytes of a stream (a file, a request body), read in blocks."""
    digest = hashlib.sha256()
    packer = zlib.compressobj(1)
    out = io.BytesIO()
    size = 0
    while block := handle.read(1 << 20):
        digest.update(block)
        size += len(block)
        out.write(packer.compress(block))
    out.write(packer.flush())
    return digest.hexdigest(), size, out.getvalue()


def import_chunks(
    session: Session,
    device: m.Device,
    chunks: Iterable[ParsedChunk],
    batch: m.ImportBatch,
    progress: Callable[[int], None] | None = None,
    keep_rejects: int = 50,
) -> ImportResult:
    """Append parsed chunks to the ledger under ``batch``; the caller owns the transaction."""
    result = ImportResult(batch=batch.id)
    writer = _Writer(session)
    offsets = clock_offsets(session, device.id)
    known = set(session.scalars(select(m.Enrollment.user_id).where(m.Enrollment.device_id == device.id)))
    as_text = writer.dialect == "sqlite"
    for chunk in chunks:
        punches = chunk.punches
        result.skipped += chunk.skipped
        result.rejected += len(chunk.rejected)
        result.read += len(punches) + len(chunk.rejected)
        if chunk.rejected:
            _store_rejects(session, batch.id, chunk.rejected)
            for r in chunk.rejected[: max(0, keep_rejects - len(result.rejects))]:
                result.rejects.append({"line": r.line_no, "raw": r.raw, "reason": r.reason})
        if len(punches):
            enrolled = punches["user_id"].isin(known).to_numpy()
            # Inserting known and unknown ids separately tells how many of the new rows
            # belong to nobody yet, without a second pass over the ledger.
            result.inserted += writer.insert(_rows(punches[enrolled], device.id, batch.id, offsets, as_text))
            unknown = writer.insert(_rows(punches[~enrolled], device.id, batch.id, offsets, as_text))
            result.inserted += unknown
            result.unknown_users += unknown
        if progress is not None:
            progress(chunk.bytes_done)
    result.duplicates = result.read - result.inserted - result.rejected
    return result


def import_file(
    session: Session,
    device_code: str,
    path: str | Path,
    fmt: str = "auto",
    profile: MappingProfile | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_lines: int = 100_000,  # bounds memory: ~300 MB peak for any file size
) -> ImportResult:
    """Import one exported punch-log file as one batch (the caller commits)."""
    path = Path(path)
    device = device_by_code(session, device_code)
    punch_file = open_punch_file(path, fmt=fmt, profile=profile, chunk_lines=chunk_lines)
    with path.open("rb") as handle:
        sha, size, packed = content_digest(handle)
    batch = m.ImportBatch(
        device_id=device.id, source="file", filename=str(path), sha256=sha, size=size,
        format=punch_file.info.format, encoding=punch_file.info.encoding,
        started_at=dt.datetime.now().replace(microsecond=0),
    )
    session.add(batch)
    session.flush()
    session.add(m.BatchContent(batch_id=batch.id, data=packed))
    result = import_chunks(session, device, punch_file.chunks(), batch, progress)
    for name in ("read", "inserted", "duplicates", "rejected", "unknown_users", "skipped"):
        setattr(batch, name, getattr(result, name))
    batch.finished_at = dt.datetime.now().replace(microsecond=0)
    result.file, result.format, result.encoding = str(path), batch.format, batch.encoding
    return result


def recompute_corrected_times(session: Session, device_id: int) -> None:
    """Re-derive corrected_time of a device's punches after its clock offsets changed."""
    days, secs = clock_offsets(session, device_id)
    starts = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    # Before the first offset the clock is taken as right; each offset holds until the next.
    spans = [(None, starts[0] if starts else None, 0)]
    spans += [(starts[i], starts[i + 1] if i + 1 < len(starts) else None, int(secs[i])) for i in range(len(starts))]
    sqlite = session.get_bind().dialect.name == "sqlite"
    shifted = (
        "datetime(device_time, printf('%+d seconds', -:secs))" if sqlite
        else "device_time - make_interval(secs => :secs)"
    )
    for start, end, seconds in spans:
        where = ["device_id = :device"]
        params: dict[str, object] = {"device": device_id, "secs": seconds}
        for name, bound, op in (("start", start, ">="), ("end", end, "<")):
            if bound is not None:
                where.append(f"device_time {op} :{name}")
                moment = dt.datetime.combine(bound, dt.time())
                params[name] = moment.strftime(TIME_FORMAT) if sqlite else moment
        session.execute(text(f"UPDATE punch SET corrected_time = {shifted} WHERE {' AND '.join(where)}"), params)


def ledger_rows(session: Session, device_code: str, first: dt.date | None, last: dt.date | None) -> list[dict[str, object]]:
    """The raw ledger of one device (device time, corrected time, status, verify, batch)."""
    device = device_by_code(session, device_code)
    query = select(m.Punch).where(m.Punch.device_id == device.id)
    if first is not None:
        query = query.where(m.Punch.device_time >= dt.datetime.combine(first, dt.time()))
    if last is not None:
        query = query.where(m.Punch.device_time < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
    return [
        {
            "user_id": p.user_id,
            "device_time": p.device_time.strftime(TIME_FORMAT),
            "corrected_time": p.corrected_time.strftime(TIME_FORMAT),
            "status": p.status,
            "verify": p.verify,
            "work_code": p.work_code,
            "batch": p.batch_id,
            "line": p.line_no,
        }
        for p in session.scalars(query.order_by(m.Punch.device_time, m.Punch.user_id))
    ]
