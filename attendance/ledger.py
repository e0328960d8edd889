"""The punch ledger: append-only, idempotent on (device, user id, device time)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from devices.parsers import MappingProfile, ParsedChunk, RejectedLine, open_punch_file

from . import copytext
from . import models as m
from .db import deferred_checkpoint
from .errors import Busy, InvalidInput, NothingRead, UnknownDevice
from .i18n import _
from .verdicts import mark_punches

INSERT_COLUMNS = (
    "device_id", "user_id", "device_time", "corrected_time", "status", "verify", "work_code", "batch_id", "line_no",
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
COUNTERS = ("read", "inserted", "duplicates", "rejected", "unknown_users", "skipped")
KEEP_REJECTS = 50  # rejected lines carried in a result (all are stored)
SHOWN_CHARS = 300  # of a rejected line or reason in a report
HEAD_BYTES = 4096  # of the raw content, kept to describe a file nothing was read from


@dataclass
class ImportResult:
    """Counts of one import (docs/cli.md: read = inserted + duplicates + rejected)."""

    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unknown_users: int = 0
    skipped: int = 0
    batch: int | None = None
    file: str = ""  # the file, or the label of a pull, push or run of serial lines
    format: str = ""
    encoding: str = ""
    source: str = ""
    sha256: str = ""
    size: int = 0
    rejects: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain data for --json."""
        return asdict(self)


def device_by_code(session: Session, code: str) -> m.Device:
    """The device with this code, or UnknownDevice."""
    device = session.scalar(select(m.Device).where(m.Device.code == code))
    if device is None:
        raise UnknownDevice(_("no device {code!r} (load it with 'attendance org load' first)", code=code))
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


_TIMES_OF_DAY: np.ndarray | None = None  # "HH:MM:SS" for each second of a day, made on first use


def _times_of_day() -> np.ndarray:
    global _TIMES_OF_DAY
    if _TIMES_OF_DAY is None:
        # Joined as whole arrays (a tenth of the time of formatting 86,400 strings one by one;
        # every import and pull pays it once per process).
        two = np.array([f"{i:02d}" for i in range(60)], dtype=object)
        hours_minutes = (two[:24, None] + ":" + two[None, :]).ravel()
        _TIMES_OF_DAY = (hours_minutes[:, None] + ":" + two[None, :]).ravel()
    return _TIMES_OF_DAY


def _as_text(times: pd.Series) -> np.ndarray:
    """Datetimes to 'YYYY-MM-DD HH:MM:SS' strings, the ledger's SQLite storage format."""
    seconds = times.to_numpy().astype("datetime64[s]").astype(np.int64)
    days, second_of_day = np.divmod(seconds, 86400)
    # A chunk spans few days: format each distinct day once and join it to a ready-made
    # time of day (about a third faster than numpy's datetime_as_string on every row).
    codes, distinct = pd.factorize(days)
    dates = np.datetime_as_string(distinct.astype("datetime64[D]"), unit="D").astype(object) + " "
    return dates[codes] + _times_of_day()[second_of_day]


def _texts_or_none(series: pd.Series) -> list[object]:
    """An optional text column as str or None per row (None, NaN, NaT and pd.NA are None)."""
    values = series.to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    if missing.all():
        return [None] * len(values)
    values[missing] = None
    # Parsers already give str: convert only a column that holds something else.
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return [None if v is None else str(v) for v in values.tolist()]
    return values.tolist()


def _nullable_ints(series: pd.Series) -> list[object]:
    if not len(series):
        return []
    values = series.astype("Int64").array
    if not values._mask.any():  # the usual case: one C-level conversion instead of a loop per row
        return values._data.tolist()
    return [None if v is pd.NA else int(v) for v in values.tolist()]


class _Writer:
    """Bulk insert of ledger rows through the session's own connection (same transaction)."""

    def __init__(self, session: Session):
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def insert(self, chunk: pd.DataFrame, device_id: int, batch_id: int, offsets: tuple[np.ndarray, np.ndarray]) -> int:
        """Insert a chunk's rows, ignoring those whose key is already in the ledger; return how many went in."""
        raw = self.session.connection().connection.driver_connection
        cols = ", ".join(INSERT_COLUMNS)
        if self.dialect == "sqlite":
            cur = raw.cursor()
            before = raw.total_changes
            cur.executemany(f"INSERT OR IGNORE INTO punch ({cols}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})",
                            _rows(chunk, device_id, batch_id, offsets))
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
            copy.write(copy_text(chunk, device_id, batch_id, offsets).encode())
        cur.execute(
            f"INSERT INTO punch ({cols}) SELECT DISTINCT ON (device_id, user_id, device_time) {cols} "
            "FROM punch_stage ORDER BY device_id, user_id, device_time, line_no "
            "ON CONFLICT (device_id, user_id, device_time) DO NOTHING"
        )
        return cur.rowcount


def _rows(chunk: pd.DataFrame, device_id: int, batch_id: int,
          offsets: tuple[np.ndarray, np.ndarray]) -> Iterator[tuple[object, ...]]:
    """The ledger rows of a chunk as SQLite stores them (times as text), made as they are consumed.

    An iterator rather than a list: zip reuses its tuple once the driver has bound it, so
    100,000 rows cost neither 100,000 live tuples nor the garbage collections they set off.
    """
    # One Series object: pandas 3 builds a new one at each chunk["device_time"], and the
    # identity test below is what spares converting the times twice.
    device_times = chunk["device_time"]
    corrected = correct_times(device_times, offsets)
    device_col = _as_text(device_times).tolist()
    corrected_col = device_col if corrected is device_times else _as_text(corrected).tolist()
    n = len(chunk)
    return zip(
        [device_id] * n,
        chunk["user_id"].tolist(),
        device_col,
        corrected_col,
        _nullable_ints(chunk["status"]),
        _nullable_ints(chunk["verify"]),
        _texts_or_none(chunk["work_code"]),
        [batch_id] * n,
        chunk["line_no"].astype(np.int64).tolist(),
        strict=True,
    )


def copy_text(chunk: pd.DataFrame, device_id: int, batch_id: int, offsets: tuple[np.ndarray, np.ndarray]) -> str:
    """The ledger rows of a chunk in COPY's text format, in INSERT_COLUMNS order.

    Built column by column: psycopg's write_row costs about ten microseconds a row in
    Python, which at ten million punches is most of an import's own time.
    """
    n = len(chunk)
    if not n:
        return ""
    device_times = chunk["device_time"]
    corrected = correct_times(device_times, offsets)
    device_text = _as_text(device_times)
    return copytext.lines([
        copytext.same(int(device_id), n),
        copytext.texts(chunk["user_id"].tolist()),
        device_text,
        device_text if corrected is device_times else _as_text(corrected),
        copytext.ints(chunk["status"]),
        copytext.ints(chunk["verify"]),
        copytext.texts(_texts_or_none(chunk["work_code"])),
        copytext.same(int(batch_id), n),
        copytext.ints(chunk["line_no"]),
    ])


def _store_rejects(session: Session, batch_id: int, rejects: Iterable[RejectedLine]) -> None:
    session.execute(
        m.RejectedRow.__table__.insert(),
        [{"batch_id": batch_id, "line_no": r.line_no, "raw": r.raw, "reason": r.reason, "reason_code": r.code,
          "reason_params": dict(r.params) if r.code else None} for r in rejects],
    )


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters for reports, saying how long it really is."""
    if len(text) <= limit:
        return text
    return text[:limit] + _("… ({length} characters in all)", length=f"{len(text):,}")


def compress_bytes(data: bytes) -> bytes:
    """Raw bytes as kept for audit (zlib, fast level: this is audit storage)."""
    return zlib.compress(data, 1)


def _digest(handle: BinaryIO, compress: bool) -> tuple[str, int, bytes | None, bytes]:
    """sha256, size, compressed bytes (when ``compress``) and the first block of a stream, in one pass."""
    digest = hashlib.sha256()
    packer = zlib.compressobj(1) if compress else None
    out = io.BytesIO()
    size = 0
    head = b""
    while block := handle.read(1 << 20):
        if not size:
            head = block[:HEAD_BYTES]
        digest.update(block)
        size += len(block)
        if packer is not None:
            out.write(packer.compress(block))
    if packer is None:
        return digest.hexdigest(), size, None, head
    out.write(packer.flush())
    return digest.hexdigest(), size, out.getvalue(), head


class _BackgroundPacker:
    """The zlib-compressed content of a stream, made in a thread while the file is parsed.

    zlib and hashlib release the GIL on large blocks, so on a machine with two cores the
    compression (the slowest part of keeping the raw content) costs the import no time.
    The thread hashes what it compresses: if the file changed since ``sha`` was taken, the
    stored content would not match its digest, and ``__call__`` refuses it.
    """

    def __init__(self, handle: BinaryIO, sha: str, label: str):
        self._handle, self._sha, self._label = handle, sha, label
        self._stop = threading.Event()
        self._packed: bytes | None = None
        self._seen = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="raw-content-packer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            digest = hashlib.sha256()
            packer = zlib.compressobj(1)
            parts: list[bytes] = []
            while not self._stop.is_set() and (block := self._handle.read(1 << 20)):
                digest.update(block)
                parts.append(packer.compress(block))
            parts.append(packer.flush())
            self._packed, self._seen = b"".join(parts), digest.hexdigest()
        except BaseException as exc:  # handed to the caller by __call__
            self._error = exc

    def __call__(self) -> bytes:
        """The compressed content (waits for the thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._stop.is_set() or self._packed is None:
            raise RuntimeError("raw content asked for after the packer was stopped")
        if self._seen != self._sha:
            raise InvalidInput(_("{file}: the file changed while it was being imported; import it again", file=self._label))
        return self._packed

    def close(self) -> None:
        """Stop the thread if its result is no longer needed, and wait for it."""
        if self._packed is None:
            self._stop.set()
        self._thread.join()


def _insert_ignore(session: Session, table: Table, values: dict[str, object]) -> None:
    """INSERT that does nothing when the key is already there (both databases)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing())


def _keep_raw(session: Session, sha: str, size: int, packed: bytes | Callable[[], bytes]) -> None:
    """Store raw content under its digest unless it is already there (a replay stores nothing)."""
    # Ask for the key only: loading the row would read the whole blob.
    if session.scalar(select(m.RawContent.sha256).where(m.RawContent.sha256 == sha)) is not None:
        return
    data = packed() if callable(packed) else packed
    _insert_ignore(session, m.RawContent.__table__, {"sha256": sha, "size": size, "data": data})


def _first_line(head: bytes, encoding: str) -> str | None:
    """The first non-blank line of ``head`` as text (None: only blank lines)."""
    codec = encoding if encoding and encoding != "binary" else "utf-8"
    try:
        text = head.decode(codec, errors="replace")
    except LookupError:
        text = head.decode("utf-8", errors="replace")
    for line in text.lstrip("\ufeff").splitlines():
        if line.strip():
            return line
    return None


def _nothing_read(label: str, fmt: str, encoding: str, size: int, head: bytes) -> NothingRead:
    line = _first_line(head, encoding)
    if line is not None:
        looked = _("the first line is {line!r}", line=clip(line, 80))
    elif size <= len(head):
        looked = _("it holds only blank lines")
    else:
        looked = _("its first {count} bytes are blank lines", count=f"{len(head):,}")
    read_as = fmt or _("unknown format")
    if encoding and encoding != "binary":
        read_as += f" ({encoding})"
    return NothingRead(_("{file}: nothing read from {size} bytes read as {format}: {looked}; nothing stored",
                         file=label, size=f"{size:,}", format=read_as, looked=looked))


def _is_locked(exc: BaseException) -> bool:
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def _set_counts(batch: m.ImportBatch, result: ImportResult) -> None:
    for name in COUNTERS:
        setattr(batch, name, getattr(result, name))


def ingest(
    session: Session,
    device: m.Device,
    *,
    source: str,
    raw: bytes | BinaryIO,
    chunks: Iterable[ParsedChunk],
    label: str,
    fmt: str,
    encoding: str,
    progress: Callable[[int], None] | None = None,
    started_at: dt.datetime | None = None,
    commit_rows: int | None = None,
    resume: bool = False,
) -> ImportResult:
    """Store punches that arrived any way (file, pull, push, serial lines) as one batch.

    Every path records the same batch (source, label, sha256 and size of ``raw``, format,
    encoding, start and finish, the counters) and keeps ``raw`` once per sha256 in
    ``raw_content``: replaying a push body or re-importing a file stores no second copy.
    ``read = inserted + duplicates + rejected`` always.

    Commit points: with ``commit_rows`` None the caller owns the transaction and commits
    (pull, push, serial). With ``commit_rows`` set (file imports) the session is committed
    after every ``commit_rows`` lines read, with the batch unfinished (``finished_at``
    NULL), so SQLite's write lock is never held for long; the caller commits the last
    part, which finishes the batch. With ``resume`` an unfinished batch of the same device,
    source and sha256 (an import that was killed) is completed instead of starting anew.

    A non-empty ``raw`` from which not one line was read (nor a header or other structure
    recognised) raises ``NothingRead`` before anything is committed.

    ADMS push calls it per upload with the request body::

        chunk = parse_push_body(decode_text(body, encoding))
        ingest(session, device, source="push", raw=body, chunks=[chunk],
               label=f"push:{device.serial}:{stamp or '-'}", fmt="zk_push", encoding=encoding)

    and commits before answering ``OK``.
    """
    background: _BackgroundPacker | None = None
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
        sha, size, head = hashlib.sha256(data).hexdigest(), len(data), data[:HEAD_BYTES]
        packed: bytes | Callable[[], bytes] = lambda: compress_bytes(data)  # noqa: E731 (only if new)
    elif getattr(raw, "seekable", lambda: False)():
        # Hashing is quick; compressing is not, so it runs beside the parsing (then rewound).
        start = raw.tell()
        sha, size, _none, head = _digest(raw, compress=False)
        raw.seek(start)
        packed = background = _BackgroundPacker(raw, sha, label)
    else:
        sha, size, packed_now, head = _digest(raw, compress=True)
        packed = packed_now or b""
    try:
        return _ingest(session, device, source, sha, size, head, packed, chunks, label, fmt, encoding,
                       progress, started_at, commit_rows, resume)
    except (OperationalError, sqlite3.OperationalError) as exc:
        if _is_locked(exc):
            raise Busy(_("database busy: another import, load or push holds the write lock; try again shortly")) from exc
        raise
    finally:
        if background is not None:
            background.close()  # never leave a thread reading a handle the caller closes


def _ingest(
    session: Session, device: m.Device, source: str, sha: str, size: int, head: bytes,
    packed: bytes | Callable[[], bytes], chunks: Iterable[ParsedChunk], label: str, fmt: str, encoding: str,
    progress: Callable[[int], None] | None, started_at: dt.datetime | None, commit_rows: int | None, resume: bool,
) -> ImportResult:
    device_id = device.id
    started = started_at or _now()
    result = ImportResult(file=label, format=fmt, encoding=encoding, source=source, sha256=sha, size=size)
    prior: m.ImportBatch | None = None
    if resume:
        prior = session.scalar(
            select(m.ImportBatch)
            .where(m.ImportBatch.device_id == device_id, m.ImportBatch.source == source,
                   m.ImportBatch.sha256 == sha, m.ImportBatch.finished_at.is_(None))
            .order_by(m.ImportBatch.id.desc()).limit(1)
        )
    batch: m.ImportBatch | None = None
    base = ImportResult()  # what an interrupted run of this batch already stored

    def open_batch() -> m.ImportBatch:
        # Created only when the first parsed part is ready: on SQLite the write lock is
        # taken by the first INSERT, so it is not held while the file is being read.
        nonlocal base
        if prior is not None:
            base = ImportResult(inserted=prior.inserted, unknown_users=prior.unknown_users)
            # Its rejects come again with the lines that produced them.
            session.execute(delete(m.RejectedRow).where(m.RejectedRow.batch_id == prior.id))
            prior.format, prior.encoding = fmt, encoding
            return prior
        fresh = m.ImportBatch(device_id=device_id, source=source, filename=label[:500], sha256=sha, size=size,
                              format=fmt, encoding=encoding, started_at=started)
        session.add(fresh)
        session.flush()
        return fresh

    offsets = clock_offsets(session, device_id)
    known = set(session.scalars(select(m.Enrollment.user_id).where(m.Enrollment.device_id == device_id)))
    writer = _Writer(session)
    since_commit = 0
    with deferred_checkpoint(session) if commit_rows is not None else nullcontext():
        for chunk in chunks:
            if batch is None:
                batch = open_batch()
            _store_chunk(session, writer, device_id, batch.id, chunk, offsets, known, result)
            since_commit += len(chunk.punches) + len(chunk.rejected)
            if commit_rows is not None and since_commit >= commit_rows:
                _set_counts(batch, _with_base(result, base))
                session.commit()  # a bounded part: other writers get the lock between parts
                since_commit = 0
            if progress is not None:
                progress(chunk.bytes_done)
    if size and result.read == 0 and result.skipped == 0:
        raise _nothing_read(label, fmt, encoding, size, head)
    if batch is None:
        batch = open_batch()
    _keep_raw(session, sha, size, packed)
    result = _with_base(result, base)
    _set_counts(batch, result)
    batch.content_sha256 = sha
    batch.finished_at = _now()
    result.batch = batch.id
    return result


def _with_base(result: ImportResult, base: ImportResult) -> ImportResult:
    """The counters of a resumed batch: what the interrupted run stored plus this run."""
    if not base.inserted and not base.unknown_users:
        return result
    merged = ImportResult(**{**result.as_dict(), "rejects": result.rejects})
    merged.inserted += base.inserted
    merged.unknown_users += base.unknown_users
    merged.duplicates = merged.read - merged.inserted - merged.rejected
    return merged


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _store_chunk(
    session: Session, writer: _Writer, device_id: int, batch_id: int, chunk: ParsedChunk,
    offsets: tuple[np.ndarray, np.ndarray], known: set[str], result: ImportResult,
) -> None:
    """Append one parsed chunk to the ledger and add its counts to ``result``."""
    punches = chunk.punches
    result.skipped += chunk.skipped
    result.rejected += len(chunk.rejected)
    result.read += len(punches) + len(chunk.rejected)
    if chunk.rejected:
        _store_rejects(session, batch_id, chunk.rejected)
        for r in chunk.rejected[: max(0, KEEP_REJECTS - len(result.rejects))]:
            # Reports show a few hundred characters; the whole line stays in rejected_row.
            result.rejects.append({"line": r.line_no, "raw": clip(r.raw), "reason": clip(r.reason),
                                   "code": r.code, "params": dict(r.params)})
    if len(punches):
        enrolled = punches["user_id"].isin(known).to_numpy()
        # Inserting known and unknown ids separately tells how many of the new rows
        # belong to nobody yet, without a second pass over the ledger. Usually one side is
        # the whole chunk: it is then used as it is, not copied.
        for mask, of_nobody in ((enrolled, False), (~enrolled, True)):
            if not mask.any():
                continue
            part = punches if mask.all() else punches[mask]
            # Ids only grow: the rows inserted now are this batch's above the highest id before.
            before = session.scalar(select(func.max(m.Punch.id))) or 0
            inserted = writer.insert(part, device_id, batch_id, offsets)
            if inserted and not of_nobody:  # a user id of nobody changes no verdict until enrolled
                mark_punches(session, m.Punch.id > before, m.Punch.batch_id == batch_id)
            result.inserted += inserted
            if of_nobody:
                result.unknown_users += inserted
    result.duplicates = result.read - result.inserted - result.rejected


def import_file(
    session: Session,
    device_code: str,
    path: str | Path,
    fmt: str = "auto",
    profile: MappingProfile | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_lines: int = 100_000,  # bounds memory: ~300 MB peak for any file size
    commit_rows: int | None = 100_000,
    label: str | None = None,
) -> ImportResult:
    """Import one exported punch-log file as one batch, committed in parts (see ``ingest``).

    The caller commits the last part. An import that was interrupted (its batch left
    unfinished) is completed by importing the same file again. ``label`` names the file in
    the batch (default: the path; an upload kept in a temporary file gives its own name).
    """
    path = Path(path)
    device = device_by_code(session, device_code)
    if path.is_dir():
        raise InvalidInput(_("{path}: is a directory, not a file", path=path))
    if not path.exists():
        raise InvalidInput(_("{path}: no such file", path=path))
    try:
        punch_file = open_punch_file(path, fmt=fmt, profile=profile, chunk_lines=chunk_lines)
        handle = path.open("rb")
    except PermissionError as exc:
        raise InvalidInput(_("{path}: cannot be read ({why})", path=path, why=exc.strerror)) from exc
    with handle:
        return ingest(
            session, device, source="file", raw=handle, chunks=punch_file.chunks(), label=label or str(path),
            fmt=punch_file.info.format, encoding=punch_file.info.encoding, progress=progress,
            commit_rows=commit_rows, resume=True,
        )


def import_report(results: list[ImportResult], failures: list[str]) -> dict[str, object]:
    """What ``attendance import --json`` and ``POST /api/v1/imports`` answer: totals, batches, files."""
    total: dict[str, object] = {k: sum(getattr(r, k) for r in results) for k in COUNTERS}
    return {**total, "batch": results[-1].batch if results else None, "batches": [r.batch for r in results],
            "files": [r.as_dict() for r in results], "failed": failures}


def recompute_corrected_times(session: Session, device_id: int) -> None:
    """Re-derive corrected_time of a device's punches after its clock offsets changed."""
    days, secs = clock_offsets(session, device_id)
    starts = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    # Before the first offset the clock is taken as right; each offset holds until the next.
    spans = [(None, starts[0] if starts else None, 0)]
    spans += [(starts[i], starts[i + 1] if i + 1 < len(starts) else None, int(secs[i])) for i in range(len(starts))]
    mark_punches(session, m.Punch.device_id == device_id)  # the days the punches leave...
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
    mark_punches(session, m.Punch.device_id == device_id)  # ...and those they arrive in


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
            # isoformat pads every year to four digits (strftime writes year 1 as "1-01-01").
            "device_time": p.device_time.isoformat(sep=" ", timespec="seconds"),
            "corrected_time": p.corrected_time.isoformat(sep=" ", timespec="seconds"),
            "status": p.status,
            "verify": p.verify,
            "work_code": p.work_code,
            "batch": p.batch_id,
            "line": p.line_no,
        }
        for p in session.scalars(query.order_by(m.Punch.device_time, m.Punch.user_id))
    ]
