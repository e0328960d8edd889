"""Push (ADMS) terminals: the use cases behind /iclock/... and the administrator's decisions.

Every function takes a Session and leaves committing to its caller (one transaction per
request or command); nothing here knows about HTTP. The ADMS routes live in
``attendance.web.adms``, the page of pending terminals in ``attendance.web.pages`` and the
commands in ``attendance devices pending/approve/reject/backfill``.

Only serials registered on a Device (any kind) are served. Any other serial is recorded in
PendingTerminal for an administrator to approve or reject, within bounds: at most
``max_waiting`` rows wait at once and one remote address may introduce at most
``new_per_hour`` new serials an hour (a script looping over made-up serials must not fill
the table). A refused terminal keeps its punches and resends them later, so nothing is lost
between first contact and approval.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from devices.parsers import decode_text, detect_encoding
from devices.parsers.zk_push import parse_push_body
from devices.zk.codec import encode_time

from . import ledger
from . import models as m
from .audit import record_change
from .errors import InvalidInput
from .i18n import _
from .kinds import DeviceKind

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Answers to GET /iclock/cdata?type=time, chosen with app.config["ADMS_TIME_FORMAT"].
TIME_FORMATS = ("zk", "zk-local", "iso")
STATUS_VI = {"pending": "Chờ duyệt", "approved": "Đã duyệt", "rejected": "Đã từ chối",
             "registered": "Đã đăng ký qua bộ thiết lập"}


class PushAdminError(InvalidInput):
    """An administrator's push-terminal request cannot be done; the message says why."""


# --------------------------------------------------------------------------- clocks


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (tests replace this function)."""
    return dt.datetime.now(dt.UTC)


def local_now() -> dt.datetime:
    """Naive server-local time to the second, as the ledger stamps its batches."""
    return dt.datetime.now().replace(microsecond=0)


def device_zone(session: Session, device: m.Device) -> ZoneInfo:
    """The terminal's time zone: its unit's, else the 'timezone' setting, else Vietnam."""
    name = None
    if device.unit_id is not None:
        unit = session.get(m.Unit, device.unit_id)
        name = unit.timezone if unit is not None else None
    if not name:
        setting = session.get(m.Setting, "timezone")
        name = setting.value if setting is not None else None
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        # A misspelt zone must not stop punches from flowing; Vietnam is the deployment.
        return ZoneInfo(DEFAULT_TIMEZONE)


def utc_offset_text(moment: dt.datetime) -> str:
    """The UTC offset of an aware datetime as ±HHMM (e.g. +0700)."""
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def time_sync_text(now: dt.datetime, zone: ZoneInfo, style: str = "zk") -> str:
    """The body of the time-sync answer for an aware ``now`` (see TIME_FORMATS).

    ``zk``: ``DateTime=<ZK-packed UTC>,ServerTZ=+0700`` — push-protocol 3.x answer to
    ``/iclock/rtdata?type=time`` as public ADMS servers implement it (which cite the
    protocol's appendix for "DateTime is GMT"); ``zk-local`` packs local time instead
    (other public servers do that); ``iso``: ``Time=2026-10-05T07:00:00+07:00``.
    Which one a given firmware expects is *unverified*: hence the setting.
    """
    local = now.astimezone(zone)
    if style == "iso":
        return f"Time={local.replace(microsecond=0).isoformat()}"
    if style not in TIME_FORMATS:
        raise ValueError(f"ADMS_TIME_FORMAT must be one of {', '.join(TIME_FORMATS)}, not {style!r}")
    packed = local if style == "zk-local" else now.astimezone(dt.UTC)
    # ZK's packed clock (docs/terminals.md) of the wall-clock reading, without its zone.
    return f"DateTime={encode_time(packed.replace(tzinfo=None))},ServerTZ={utc_offset_text(local)}"


# --------------------------------------------------------------------------- terminals


SERIAL_MAX_LENGTH = 64  # PendingTerminal.serial and what a registered serial can be
#: What note_unknown_terminal answers: recorded (waiting), refused by the administrator, or
#: not recorded because the waiting list is full or the address introduced too many serials.
Admission = Literal["pending", "rejected", "full", "rate_limited"]


def serial_problem(serial: str) -> str | None:
    """Why a serial number sent by a terminal cannot be one (missing, too long, control characters)."""
    if not serial:
        return "SN missing"
    if len(serial) > SERIAL_MAX_LENGTH:
        return f"SN longer than {SERIAL_MAX_LENGTH} characters ({len(serial)})"
    for position, char in enumerate(serial, 1):
        # Serials are printed on a label and typed by an administrator: no control or
        # invisible characters, and no U+FFFD left by undecodable bytes.
        if not char.isprintable() or char == "\ufffd":
            return f"SN contains character U+{ord(char):04X} at position {position}"
    return None


def network_problem(device: m.Device, remote_addr: str) -> str | None:
    """Why ``remote_addr`` may not speak for this terminal (its ``allowed_networks``), or None.

    Without the setting any address may: the serial is then the only credential.
    """
    allowed = (device.settings or {}).get("allowed_networks")
    if not allowed:
        return None
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return f"address {remote_addr!r} is not an IP address"
    networks = []
    for text in allowed if isinstance(allowed, list) else [allowed]:
        try:
            networks.append(ipaddress.ip_network(str(text), strict=False))
        except ValueError:
            continue  # a bad entry allows nothing: refusing is the safe side
    if any(address.version == net.version and address in net for net in networks):
        return None
    return f"address {remote_addr} is outside the networks allowed for device {device.code}"


def terminal_by_serial(session: Session, serial: str) -> m.Device | None:
    """The registered device with this serial number (any kind), or None."""
    return session.scalar(select(m.Device).where(m.Device.serial == serial))


def _waiting() -> ColumnElement[bool]:
    """Pending rows nobody has registered since (the bundle may have registered a serial)."""
    registered = select(m.Device.serial).where(m.Device.serial.is_not(None))
    return (m.PendingTerminal.status == "pending") & m.PendingTerminal.serial.not_in(registered)


def note_unknown_terminal(session: Session, serial: str, remote_addr: str, now: dt.datetime, *,
                          max_waiting: int | None = None, new_per_hour: int | None = None) -> Admission:
    """Record a request from an unregistered serial in PendingTerminal; return its admission.

    A serial already listed is only counted again. A new one is stored unless ``max_waiting``
    rows already wait or ``remote_addr`` introduced ``new_per_hour`` serials in the last hour;
    then nothing is stored and the answer says which bound was hit.
    """
    table = m.PendingTerminal.__table__
    known = session.scalar(select(m.PendingTerminal.id).where(m.PendingTerminal.serial == serial))
    if known is None:
        if new_per_hour is not None:
            recent = session.scalar(select(func.count()).select_from(m.PendingTerminal).where(
                m.PendingTerminal.remote_addr == remote_addr,
                m.PendingTerminal.first_seen >= now - dt.timedelta(hours=1)))
            if (recent or 0) >= new_per_hour:
                return "rate_limited"
        if max_waiting is not None:
            waiting = session.scalar(select(func.count()).select_from(m.PendingTerminal).where(_waiting()))
            if (waiting or 0) >= max_waiting:
                return "full"
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(serial=serial, first_seen=now, last_seen=now, remote_addr=remote_addr,
                                requests=1, status="pending")
    # One atomic upsert: two requests of a new terminal arriving together must not collide
    # on the unique serial (the bounds above may then be passed by a request or two: they
    # are there against floods, not to count exactly). An "approved" terminal whose device
    # has since lost the serial is pending again; a rejected one stays rejected.
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.serial],
        set_={
            "last_seen": stmt.excluded.last_seen,
            "remote_addr": stmt.excluded.remote_addr,
            "requests": table.c.requests + 1,
            "status": case((table.c.status == "approved", "pending"), else_=table.c.status),
        },
    )
    session.execute(stmt)
    status = session.scalar(select(m.PendingTerminal.status).where(m.PendingTerminal.serial == serial))
    return "rejected" if status == "rejected" else "pending"


def handshake_text(device: m.Device, timezone_hours: int = 7) -> str:
    """The options a terminal gets at start-up (docs/terminals.md, plus public ADMS defaults)."""
    lines = [
        f"GET OPTION FROM: {device.serial}",
        f"ATTLOGStamp={device.push_stamp or 0}",
        "OPERLOGStamp=9999",  # a stamp far ahead: we do not want user/fingerprint operations
        "ErrorDelay=60",  # seconds before retrying after a failed request
        "Delay=30",  # seconds between heartbeats
        "TransTimes=00:00;14:05",  # fixed upload times, besides real-time uploads
        "TransInterval=1",  # minutes between checks for new records
        "TransFlag=AttLog",  # punches only
        "Realtime=1",  # upload each punch as it happens
        f"TimeZone={timezone_hours}",
        "Encrypt=0",
    ]
    return "\n".join(lines) + "\n"


def _stamp_key(stamp: str) -> int | None:
    return int(stamp) if stamp.isdigit() else None


def advance_stamp(session: Session, device_id: int, stamp: str) -> None:
    """Remember the ATTLOG stamp of a stored upload (never moving a numeric stamp back)."""
    device = session.get(m.Device, device_id)
    if device is None or not stamp:
        return
    new, old = _stamp_key(stamp), _stamp_key(device.push_stamp or "")
    # A late resend of an older batch must not rewind the stamp (the terminal would resend
    # everything since then: harmless, but wasteful).
    if new is not None and old is not None and new < old:
        return
    device.push_stamp = stamp[:40]


def receive_attlog(session: Session, device: m.Device, body: bytes, stamp: str = "") -> ledger.ImportResult:
    """Store one ATTLOG upload through the common ingest path (source push); caller commits."""
    encoding = detect_encoding(body) if body else "utf-8"
    chunk = parse_push_body(decode_text(body, encoding))
    return ledger.ingest(session, device, source="push", raw=body, chunks=[chunk],
                         label=f"push:{device.serial}:{stamp or '-'}", fmt="zk_push", encoding=encoding,
                         started_at=local_now())


# --------------------------------------------------------------------------- commands


def queue_command(session: Session, device: m.Device, command: str) -> m.DeviceCommand:
    """Queue a command for the terminal's next heartbeat."""
    if not command or "\n" in command or "\r" in command:
        # One command is one line of the heartbeat answer: a line break would forge another.
        raise PushAdminError(_("a terminal command must be one non-empty line"))
    row = m.DeviceCommand(device_id=device.id, command=command, status="queued", created_at=local_now())
    session.add(row)
    session.flush()
    return row


def backfill_command(start: dt.datetime, end: dt.datetime) -> str:
    """The ADMS command asking a terminal to upload again its punches between two device times."""
    return f"DATA QUERY ATTLOG StartTime={start.strftime(TIME_FORMAT)}\tEndTime={end.strftime(TIME_FORMAT)}"


def queue_backfill(session: Session, device: m.Device, start: dt.datetime, end: dt.datetime) -> m.DeviceCommand:
    """Queue a DATA QUERY ATTLOG command: the terminal re-uploads that period as ATTLOG."""
    if end < start:
        raise PushAdminError(_("backfill end {end} is before its start {start}", end=f"{end:%Y-%m-%d %H:%M:%S}",
                               start=f"{start:%Y-%m-%d %H:%M:%S}"))
    return queue_command(session, device, backfill_command(start, end))


def take_commands(session: Session, device: m.Device, now: dt.datetime) -> list[m.DeviceCommand]:
    """The device's queued commands in order, marked sent (each goes out once)."""
    rows = list(session.scalars(
        select(m.DeviceCommand)
        .where(m.DeviceCommand.device_id == device.id, m.DeviceCommand.status == "queued")
        .order_by(m.DeviceCommand.id)
        # PostgreSQL: two overlapping heartbeats must not both send a command.
        .with_for_update(skip_locked=True)
    ))
    for row in rows:
        row.status, row.sent_at = "sent", now
    return rows


def _result_fields(line: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in line.split("&"))
    return {key.strip(): value.strip() for key, sep, value in pairs if sep}


def record_command_results(session: Session, device: m.Device, text: str, now: dt.datetime) -> int:
    """Apply ``ID=..&Return=..&CMD=..`` result lines of this device; return how many matched.

    Return 0 or more is done, a negative code is failed. Lines that do not start with
    ``ID=`` (data some commands append) are kept in the result of the line above.
    """
    results: list[tuple[int, int | None, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("ID="):
            fields = _result_fields(line)
            try:
                command_id = int(fields.get("ID", ""))
            except ValueError:
                continue
            code = fields.get("Return", "")
            results.append((command_id, int(code) if code.lstrip("-").isdigit() else None, [line]))
        elif results and line.strip():
            results[-1][2].append(line)
    matched = 0
    for command_id, code, lines in results:
        row = session.get(m.DeviceCommand, command_id)
        if row is None or row.device_id != device.id:
            continue  # another terminal's id, or a command deleted since: never touch it
        row.status = "done" if code is not None and code >= 0 else "failed"
        row.return_code, row.done_at, row.result = code, now, "\n".join(lines)
        matched += 1
    return matched


# --------------------------------------------------------------------------- administrator


def pending_terminals(session: Session, include_decided: bool = False) -> list[dict[str, Any]]:
    """Unregistered terminals that called in (pending first, most recent first), as plain data.

    With ``include_decided`` approved and rejected rows are listed too, and a pending row
    whose serial the set-up bundle has registered since shows the status ``registered``.
    """
    registered = select(m.Device.serial).where(m.Device.serial.is_not(None))
    # A terminal registered through the set-up bundle after it first called is no longer
    # waiting for anybody, although its row still says pending.
    waiting = _waiting()
    query = select(m.PendingTerminal)
    if not include_decided:
        query = query.where(waiting)
    rows = session.scalars(query.order_by(
        case((waiting, 0), else_=1), m.PendingTerminal.last_seen.desc(), m.PendingTerminal.serial,
    )).all()
    known = set(session.scalars(registered))
    return [
        {"serial": r.serial, "status": "registered" if r.status == "pending" and r.serial in known else r.status,
         "first_seen": r.first_seen.strftime(TIME_FORMAT),
         "last_seen": r.last_seen.strftime(TIME_FORMAT), "remote_addr": r.remote_addr, "requests": r.requests}
        for r in rows
    ]


def _pending_row(session: Session, serial: str) -> m.PendingTerminal:
    row = session.scalar(select(m.PendingTerminal).where(m.PendingTerminal.serial == serial))
    if row is None:
        raise PushAdminError(_("no terminal with serial {serial!r} has called in (register known terminals "
                               "in the set-up bundle: devices with kind adms_push and serial)", serial=serial))
    return row


def _set_status(session: Session, row: m.PendingTerminal, status: str, actor: str) -> None:
    if row.status != status:
        record_change(session, actor, "update", "pending_terminal", row.serial, {"status": [row.status, status]})
        row.status = status


def approve_terminal(session: Session, serial: str, device_code: str, unit_code: str | None,
                     actor: str) -> m.Device:
    """Register a pending terminal as device ``device_code`` (kind adms_push) of a unit."""
    row = _pending_row(session, serial)
    unit = None
    if unit_code is not None:
        unit = session.scalar(select(m.Unit).where(m.Unit.code == unit_code))
        if unit is None:
            raise PushAdminError(_("no unit {code!r}", code=unit_code))
    holder = terminal_by_serial(session, serial)
    if holder is not None and holder.code != device_code:
        raise PushAdminError(_("serial {serial!r} already belongs to device {device!r}", serial=serial,
                               device=holder.code))
    device = session.scalar(select(m.Device).where(m.Device.code == device_code))
    values: dict[str, Any] = {"kind": DeviceKind.ADMS_PUSH.value, "serial": serial}
    if unit is not None:
        values["unit_id"] = unit.id
    if device is None:
        values = {"code": device_code, "name": "", "unit_id": None, "settings": {}, **values}
        device = m.Device(**values)
        session.add(device)
        session.flush()
        record_change(session, actor, "create", "device", device_code, {k: [None, v] for k, v in values.items()})
    else:
        changes = {k: [getattr(device, k), v] for k, v in values.items() if getattr(device, k) != v}
        if changes:
            record_change(session, actor, "update", "device", device_code, changes)
            for key, (_old, new) in changes.items():
                setattr(device, key, new)
            session.flush()
    _set_status(session, row, "approved", actor)
    return device


def reject_terminal(session: Session, serial: str, actor: str) -> None:
    """Mark a pending terminal rejected: it keeps being refused (403) and stays listed."""
    row = _pending_row(session, serial)
    holder = terminal_by_serial(session, serial)
    if holder is not None:
        raise PushAdminError(_("serial {serial!r} is registered as device {device!r}; remove the serial from "
                               "that device instead", serial=serial, device=holder.code))
    _set_status(session, row, "rejected", actor)
