"""ZK push terminals (ADMS / iclock over HTTP): the terminal calls us; every answer is text/plain.

* ``GET  /iclock/cdata?SN=..&options=all&pushver=..``  handshake: ``GET OPTION FROM: <SN>`` + options
* ``POST /iclock/cdata?SN=..&table=ATTLOG&Stamp=..``  punches: stored, then ``OK: <n>``
* ``POST /iclock/cdata?SN=..&table=<other>``          acknowledged with ``OK`` and ignored
* ``GET  /iclock/cdata?SN=..&type=time`` (and ``/iclock/rtdata?SN=..&type=time``)  the clock
* ``GET  /iclock/getrequest?SN=..``                   heartbeat: queued ``C:<id>:<cmd>`` lines or ``OK``
* ``POST /iclock/devicecmd?SN=..``                    command results ``ID=..&Return=..&CMD=..``

Refusals say why in one line: 400 malformed request (SN missing, too long or with control
characters, undecodable query, broken body), 401 unregistered serial (recorded for the
administrator, or not when the waiting list is full), 403 rejected serial or an address
outside the device's ``allowed_networks``, 413 body over ``ADMS_MAX_CONTENT_LENGTH`` (refused
before it is read), 429 too many new serials from one address, 503 + Retry-After when the
database is busy. A terminal resends after any non-200 answer, so refusing loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import NoReturn
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.orm import Session

from devices.parsers import decode_text

from .. import models as m
from .. import terminals
from .session import get_session

bp = Blueprint("adms", __name__, url_prefix="/iclock")


def _text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, mimetype="text/plain", headers=headers)


@bp.before_request
def _check_request() -> None:
    """Refuse oversized bodies before reading them and queries that are not UTF-8."""
    limit = _limit()
    # One byte more than allowed: werkzeug stops a chunked body there without a word (it
    # would hand over a silently truncated upload at exactly the limit); _body() then sees
    # the extra byte and refuses.
    request.max_content_length = limit + 1
    if request.content_length is not None and request.content_length > limit:
        _too_large(f"{request.content_length} bytes")
    for number, part in enumerate(request.query_string.split(b"&"), 1):
        try:
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError as exc:
            # Werkzeug would silently turn the bytes into U+FFFD: a serial must not be guessed.
            raw_name = part.partition(b"=")[0].decode("ascii", "replace")[:20]
            name = "".join(char if char.isprintable() else "?" for char in raw_name)
            abort(400, f"Bad request: query parameter {number} ({name}) is not UTF-8 at byte {exc.start + 1}")


def _limit() -> int:
    return int(current_app.config["ADMS_MAX_CONTENT_LENGTH"])


def _too_large(size: str) -> NoReturn:
    abort(413, f"Request body of {size} is larger than the {_limit()} bytes allowed for terminals "
               "(ADMS_MAX_CONTENT_LENGTH)")


def _body() -> bytes:
    """The request body (at most ADMS_MAX_CONTENT_LENGTH bytes); a broken one is a 400."""
    # A transfer that breaks mid-body is werkzeug's ClientDisconnected, a 400 (and waitress
    # refuses a malformed chunked body itself, before the application sees it).
    body = request.get_data(cache=False)
    if len(body) > _limit():
        _too_large(f"more than {_limit()} bytes")
    return body


def _arg(*names: str) -> str:
    for name in names:
        value = request.args.get(name)
        if value:
            return value.strip()
    return ""


def _serial() -> str:
    serial = _arg("SN", "sn")
    problem = terminals.serial_problem(serial)
    if problem:
        abort(400, f"Bad request: {problem}")
    return serial


def _remote_addr() -> str:
    return (request.remote_addr or "")[:64]  # the column's width


def _refusal(admission: terminals.Admission) -> Response:
    config = current_app.config
    if admission == "rejected":
        return _text("Refused: terminal rejected by the administrator\n", 403)
    if admission == "full":
        return _text(f"Unauthorized: terminal not registered, and {config['ADMS_MAX_WAITING_TERMINALS']} "
                     "terminals already wait for approval (ADMS_MAX_WAITING_TERMINALS); not recorded\n", 401)
    if admission == "rate_limited":
        return _text(f"Too many requests: more than {config['ADMS_NEW_SERIALS_PER_HOUR']} new terminals from "
                     f"{_remote_addr()} in the last hour (ADMS_NEW_SERIALS_PER_HOUR); not recorded\n", 429,
                     {"Retry-After": "3600"})
    return _text("Unauthorized: terminal not registered, waiting for approval\n", 401)


def _terminal_call(handle: Callable[[Session, m.Device], Response]) -> Response:
    """Check SN, resolve the registered terminal, answer with ``handle`` and commit.

    Unknown or rejected terminals get their refusal (and are recorded for the administrator
    within the configured bounds); a terminal calling from outside its allowed networks is
    refused and nothing is written.
    """
    serial = _serial()
    session = get_session()
    device = terminals.terminal_by_serial(session, serial)
    if device is None:
        config = current_app.config
        admission = terminals.note_unknown_terminal(
            session, serial, _remote_addr(), terminals.local_now(),
            max_waiting=config["ADMS_MAX_WAITING_TERMINALS"], new_per_hour=config["ADMS_NEW_SERIALS_PER_HOUR"])
        session.commit()
        return _refusal(admission)
    problem = terminals.network_problem(device, request.remote_addr or "")
    if problem:
        return _text(f"Forbidden: {problem}\n", 403)
    device.last_contact_at = terminals.local_now()
    answer = handle(session, device)
    session.commit()
    return answer


def _timezone_hours(zone: ZoneInfo) -> int:
    offset = terminals.utc_now().astimezone(zone).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() // 3600)


def _time_sync(session: Session, device: m.Device) -> Response:
    style = current_app.config.get("ADMS_TIME_FORMAT") or "zk"
    return _text(terminals.time_sync_text(terminals.utc_now(), terminals.device_zone(session, device), style))


@bp.route("/cdata", methods=["GET", "POST"])
def cdata() -> Response:
    """Handshake and time sync (GET) and data uploads (POST) of a push terminal."""
    if request.method == "GET":
        if _arg("type") == "time":
            return _terminal_call(_time_sync)
        return _terminal_call(lambda session, device: _text(
            terminals.handshake_text(device, _timezone_hours(terminals.device_zone(session, device)))))
    table = _arg("table").upper()
    stamp = _arg("Stamp", "stamp")

    def upload(session: Session, device: m.Device) -> Response:
        if table != "ATTLOG":
            return _text("OK")  # OPERLOG, options, photos...: not ours to keep
        result = terminals.receive_attlog(session, device, _body(), stamp)
        # The stamp moves only once the punches are committed: a failure leaves it where it
        # was, the terminal gets an error and resends the same batch.
        session.commit()
        if stamp:
            terminals.advance_stamp(session, device.id, stamp)
        return _text(f"OK: {result.inserted + result.duplicates}")

    return _terminal_call(upload)


@bp.route("/rtdata", methods=["GET"])
def rtdata() -> Response:
    """Time sync at the push-protocol 3.x address (``type=time``); anything else: OK."""
    if _arg("type") == "time":
        return _terminal_call(_time_sync)
    return _terminal_call(lambda _session, _device: _text("OK"))


@bp.route("/getrequest", methods=["GET"])
def getrequest() -> Response:
    """Heartbeat: the queued commands as ``C:<id>:<command>`` lines, or ``OK``."""

    def heartbeat(session: Session, device: m.Device) -> Response:
        commands = terminals.take_commands(session, device, terminals.local_now())
        return _text("".join(f"C:{c.id}:{c.command}\n" for c in commands) or "OK")

    return _terminal_call(heartbeat)


@bp.route("/devicecmd", methods=["POST"])
def devicecmd() -> Response:
    """Results of commands sent on earlier heartbeats."""

    def results(session: Session, device: m.Device) -> Response:
        terminals.record_command_results(session, device, decode_text(_body()), terminals.local_now())
        return _text("OK")

    return _terminal_call(results)
