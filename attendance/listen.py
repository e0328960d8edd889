"""Terminals that print one punch per line on a serial port: listen and store as lines arrive."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from .errors import InvalidInput, NothingRead
from .i18n import _
from .kinds import DeviceKind
from .ledger import COUNTERS, ImportResult, device_by_code, ingest

LINE_FORMAT = "zk_attlog_lines"


def listen_device(
    session: Session,
    device_code: str,
    idle_timeout: float | None = None,
    stop: threading.Event | None = None,
    report: Callable[[ImportResult], None] | None = None,
    refused: Callable[[NothingRead], None] | None = None,
) -> ImportResult:
    """Store the punch lines of a ``serial_lines`` terminal until stopped or idle; totals.

    Commit points: each run of lines is its own batch, committed as soon as it is stored,
    so punches are usable at once. A run from which nothing could be read (noise on the
    line) is rolled back and handed to ``refused``; listening goes on.
    Unknown device: UnknownDevice; not a serial_lines terminal or no port: InvalidInput.
    """
    from devices.zk.line_serial import read_line_punches

    device = device_by_code(session, device_code)
    if device.kind != DeviceKind.SERIAL_LINES:
        raise InvalidInput(_("device {device} is a {kind!r} terminal, not {wanted}", device=device_code,
                             kind=str(device.kind), wanted=str(DeviceKind.SERIAL_LINES)))
    settings = dict(device.settings or {})
    if "port" not in settings:
        raise InvalidInput(_("device {device}: no serial port configured", device=device_code))
    session.commit()  # no read transaction stays open while waiting for lines
    total = ImportResult(source="serial", format=LINE_FORMAT)
    for chunk in read_line_punches(str(settings["port"]), int(settings.get("baudrate", 9600)),
                                   stop=stop, idle_timeout=idle_timeout):
        now = dt.datetime.now().replace(microsecond=0)
        try:
            result = ingest(session, device, source="serial", raw=chunk.raw or b"", chunks=[chunk],
                            label=f"serial:{device_code}:{now:%Y-%m-%dT%H:%M:%S}", fmt=LINE_FORMAT,
                            encoding="", started_at=now)
        except NothingRead as exc:
            session.rollback()
            if refused is not None:
                refused(exc)
            continue
        device.last_contact_at = dt.datetime.now().replace(microsecond=0)
        session.commit()
        for name in COUNTERS:
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if report is not None:
            report(result)
    return total
