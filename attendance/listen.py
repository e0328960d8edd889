"""Terminals that print one punch per line on a serial port: listen and store as lines arrive."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from sqlalchemy import select

from . import models as m
from .db import transaction
from .ledger import ImportResult, compress_bytes, import_chunks
from .loader import UnknownCode


def listen_device(
    url: str | None,
    device_code: str,
    idle_timeout: float | None = None,
    stop: threading.Event | None = None,
    report: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Store the punch lines of a ``serial_lines`` terminal until stopped or idle; totals."""
    from devices.zk.line_serial import read_line_punches

    with transaction(url) as session:
        device = session.scalar(select(m.Device).where(m.Device.code == device_code))
        if device is None:
            raise UnknownCode(f"no device {device_code!r}")
        if device.kind != "serial_lines":
            raise ValueError(f"device {device_code} is a {device.kind!r} terminal, not serial_lines")
        settings = dict(device.settings or {})
        if "port" not in settings:
            raise ValueError(f"device {device_code}: no serial port configured")
        device_id = device.id
    total = ImportResult()
    for chunk in read_line_punches(str(settings["port"]), int(settings.get("baudrate", 9600)),
                                   stop=stop, idle_timeout=idle_timeout):
        # Each run of lines is its own batch and transaction: punches are usable at once.
        with transaction(url) as session:
            device = session.get(m.Device, device_id)
            assert device is not None
            now = dt.datetime.now().replace(microsecond=0)
            batch = m.ImportBatch(device_id=device_id, source="serial", filename=f"serial:{device_code}:{now:%Y-%m-%dT%H:%M:%S}",
                                  format="zk_attlog_lines", encoding="", started_at=now, size=len(chunk.raw or b""))
            session.add(batch)
            session.flush()
            session.add(m.BatchContent(batch_id=batch.id, data=compress_bytes(chunk.raw or b"")))
            result = import_chunks(session, device, [chunk], batch)
            for name in ("read", "inserted", "duplicates", "rejected", "unknown_users", "skipped"):
                setattr(batch, name, getattr(result, name))
                setattr(total, name, getattr(total, name) + getattr(result, name))
            batch.finished_at = dt.datetime.now().replace(microsecond=0)
            device.last_contact_at = batch.finished_at
        if report is not None:
            report(result)
    return total
