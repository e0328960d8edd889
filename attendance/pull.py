"""Pulling punches from terminals over the network or a serial line, and recording each pull."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from operator import attrgetter

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS, ParsedChunk, RejectedLine
from devices.parsers.common import punch_frame
from devices.parsers.reasons import Reason, reason
from devices.zk.codec import AttendanceRecord

from . import models as m
from .errors import InvalidInput
from .i18n import _
from .kinds import PULLED_KINDS, DeviceKind
from .ledger import device_by_code, ingest


@dataclass
class PullResult:
    """What one pull did (docs/cli.md `pull --json`)."""

    device: str
    ok: bool
    records_read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    device_clock: str | None = None
    server_clock: str | None = None
    skew_seconds: int | None = None
    duration_ms: int = 0
    cleared: bool = False
    batch: int | None = None
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain data for --json."""
        return asdict(self)


def records_to_chunk(
    records: Sequence[AttendanceRecord],
    quarantined: Sequence[tuple[bytes, Reason | str]],
    plausible_years: tuple[int, int] = DEFAULT_PLAUSIBLE_YEARS,
) -> ParsedChunk:
    """Terminal records (and quarantined raw records) as a ParsedChunk for the ledger.

    Record numbers stand in for line numbers: record i of the download is line i; the
    quarantined records follow. A record whose time falls outside ``plausible_years``
    (inclusive) is rejected with its raw bytes and why, never stored as a punch: a ZK time
    decodes to any year 2000-2136, and a terminal whose clock was reset writes nonsense.
    """
    first, last = plausible_years
    n = len(records)
    # Whole columns at once: a pull holds up to a few hundred thousand records, and a loop
    # per record cost more than the SQL insert of them.
    seconds = (pd.DatetimeIndex(list(map(attrgetter("timestamp"), records))).to_numpy()
               .astype("datetime64[s]").view(np.int64))
    years = seconds.view("datetime64[s]").astype("datetime64[Y]").view(np.int64) + 1970
    keep = (years >= first) & (years <= last)
    rejected: list[RejectedLine] = []
    for i in np.flatnonzero(~keep).tolist():  # rare: a terminal whose clock was reset
        r = records[i]
        rejected.append(RejectedLine.because(i + 1, r.raw.hex(" "), reason(
            "record_implausible_year", record=i + 1, user=repr(r.user_id),
            time=f"{r.timestamp:%Y-%m-%d %H:%M:%S}", first=first, last=last)))
    codes = list(map(attrgetter("work_code"), records))
    # 40/49-byte records carry no work code and 16-byte ones mostly 0: both mean none.
    work_code = [None if w in (None, 0) else str(w) for w in codes] if any(codes) else [None] * n
    frame = punch_frame(
        np.arange(1, n + 1, dtype=np.int64)[keep],
        np.array(list(map(attrgetter("user_id"), records)), dtype=object)[keep],
        seconds[keep],
        pd.array(np.fromiter(map(attrgetter("status"), records), dtype=np.int64, count=n)[keep], dtype="Int64"),
        pd.array(np.fromiter(map(attrgetter("verify"), records), dtype=np.int64, count=n)[keep], dtype="Int64"),
        np.array(work_code, dtype=object)[keep],
    )
    start = n + 1
    # A quarantine reason comes with its code (worded in the reader's language from the ledger).
    rejected += [RejectedLine.because(start + i, raw.hex(" "), why) if isinstance(why, Reason)
                 else RejectedLine(start + i, raw.hex(" "), why) for i, (raw, why) in enumerate(quarantined)]
    return ParsedChunk(punches=frame, rejected=rejected)


def connection_settings(device: m.Device) -> dict[str, object]:
    """The transport settings of a terminal, with the protocol defaults filled in."""
    settings = dict(device.settings or {})
    if device.kind in (DeviceKind.ZK_TCP, DeviceKind.ZK_UDP):
        settings.setdefault("port", 4370)
        if "host" not in settings:
            raise InvalidInput(_("device {device}: no host configured for {kind}", device=device.code, kind=device.kind))
    elif device.kind == DeviceKind.ZK_SERIAL:
        settings.setdefault("baudrate", 115200)
        settings.setdefault("machine_number", 1)
        if "port" not in settings:
            raise InvalidInput(_("device {device}: no serial port configured", device=device.code))
    else:
        raise InvalidInput(_("device {device} is a {kind!r} source: only {kinds} can be pulled", device=device.code,
                             kind=str(device.kind), kinds=", ".join(sorted(PULLED_KINDS))))
    return settings


def pull_device(
    session: Session,
    device_code: str,
    clear: bool = False,
    timeout: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> PullResult:
    """Pull every record of one terminal into the ledger; record the pull, success or not.

    Commit points: the batch is committed as soon as it is stored, before the terminal may
    be cleared; the pull's log row is committed last (a failure rolls back what was not
    committed and is then recorded). The terminal is disabled while it is read; its log is
    cleared only when asked, only after that commit, and before it is enabled again.
    Unknown device: UnknownDevice; a device that cannot be pulled: InvalidInput.
    """
    from devices.zk.client import ZKClient
    from devices.zk.transport import open_transport

    started = dt.datetime.now().replace(microsecond=0)
    clock = time.perf_counter()
    device = device_by_code(session, device_code)
    settings = connection_settings(device)
    device_id, kind = device.id, device.kind
    # End the read transaction: nothing should stay open while the terminal is talked to.
    session.commit()
    result = PullResult(device=device_code, ok=False)
    sizes = None
    try:
        transport = open_transport(kind, settings, timeout)
        chunk_size = int(settings["chunk_size"]) if settings.get("chunk_size") else None
        with ZKClient(transport, comm_key=int(settings.get("comm_key", 0) or 0), timeout=timeout,
                      chunk_size=chunk_size) as client:
            server_before = dt.datetime.now()
            device_clock = client.get_time()
            server_after = dt.datetime.now()
            server_clock = server_before + (server_after - server_before) / 2
            result.device_clock = device_clock.strftime("%Y-%m-%d %H:%M:%S")
            result.server_clock = server_clock.strftime("%Y-%m-%d %H:%M:%S")
            # The terminal reports whole seconds (truncated): on average it reads 0.5 s behind.
            result.skew_seconds = round((device_clock - server_clock).total_seconds() + 0.5)
            sizes = client.free_sizes()
            client.disable()
            try:
                read = client.read_attendance(progress=progress)
                raw = b"".join(map(attrgetter("raw"), read.records)) + b"".join(q[0] for q in read.quarantined)
                stored = ingest(
                    session, device, source="pull", raw=raw,
                    chunks=[records_to_chunk(read.records, read.quarantined)],
                    label=f"pull:{device_code}:{started:%Y-%m-%dT%H:%M:%S}", fmt=f"zk_binary_{read.width}",
                    encoding="binary", started_at=started,
                )
                device.last_contact_at = dt.datetime.now().replace(microsecond=0)
                session.commit()
                result.records_read, result.inserted = stored.read, stored.inserted
                result.duplicates, result.rejected, result.batch = stored.duplicates, stored.rejected, stored.batch
                # Committed: only now may the terminal forget what it gave us.
                if clear and read.records:
                    client.clear_attendance()
                    result.cleared = True
            finally:
                client.enable()
        result.ok = True
    except Exception as exc:  # any failure is recorded on the device's history, then reported
        session.rollback()
        result.error = f"{type(exc).__name__}: {exc}"
    result.duration_ms = round((time.perf_counter() - clock) * 1000)
    session.add(m.PullLog(
        device_id=device_id, started_at=started, finished_at=dt.datetime.now().replace(microsecond=0),
        ok=result.ok, records_read=result.records_read, inserted=result.inserted,
        duplicates=result.duplicates, rejected=result.rejected,
        device_clock=dt.datetime.fromisoformat(result.device_clock) if result.device_clock else None,
        server_clock=dt.datetime.fromisoformat(result.server_clock) if result.server_clock else None,
        skew_seconds=result.skew_seconds, duration_ms=result.duration_ms,
        log_capacity=getattr(sizes, "records_capacity", None), log_used=getattr(sizes, "records", None),
        cleared=result.cleared, batch_id=result.batch, error=result.error,
    ))
    session.commit()
    return result


def pullable_devices(session: Session) -> list[str]:
    """Codes of every terminal that can be pulled."""
    return list(session.scalars(select(m.Device.code).where(m.Device.kind.in_(PULLED_KINDS)).order_by(m.Device.code)))


def pull_with_retry(session: Session, device_code: str, attempts: int = 3, first_delay: float = 10.0,
                    sleep: Callable[[float], None] = time.sleep, **kwargs: object) -> PullResult:
    """Pull, retrying failures with exponential back-off (10 s, 30 s, 90 s by default).

    Retrying is safe: the ledger ignores what it already holds, and nothing is cleared
    on the terminal unless a batch was committed. Each attempt commits as ``pull_device``.
    """
    delay = first_delay
    result = pull_device(session, device_code, **kwargs)  # type: ignore[arg-type]
    for _attempt in range(attempts - 1):
        if result.ok:
            break
        sleep(delay)
        delay *= 3
        result = pull_device(session, device_code, **kwargs)  # type: ignore[arg-type]
    return result
