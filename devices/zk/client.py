"""A client of the ZK command protocol: connect (and AUTH), clock, log download and clear.

Typical pull (the caller commits the batch before clearing; see clear_attendance)::

    with ZKClient(open_transport("zk_tcp", {"host": "10.0.0.5"}, 10), comm_key=0) as zk:
        device_now = zk.get_time()
        zk.disable()                      # no punches while the log is read and cleared
        result = zk.read_attendance()
        ...commit result.records...
        zk.clear_attendance()             # optional, only after the commit
        zk.enable()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import codec
from .codec import (
    LAYOUT8_AUTO,
    AttendanceRecord,
    Cmd,
    FreeSizes,
    Packet,
    UserTable,
    command_name,
)
from .errors import (
    ChecksumMismatch,
    CodecError,
    ZKAuthError,
    ZKChecksumError,
    ZKCommandRefused,
    ZKConnectionError,
    ZKError,
    ZKProtocolError,
    ZKTimeoutError,
    ZKUnsafeClearError,
)
from .transport import Transport, open_transport

Progress = Callable[[int, int], None]
# Replies that belong to an earlier request (a late UDP answer, the ACK_OK trailing a
# chunk) are skipped; this many in a row means the conversation is lost.
_MAX_STRAY = 64
USHRT_START = 0xFFFF  # the first request (CONNECT) then carries reply id 0


@dataclass
class ReadResult:
    """A downloaded attendance log."""

    records: list[AttendanceRecord]
    quarantined: list[tuple[bytes, Any]]  # (raw record, why: a devices.parsers.reasons.Reason)
    width: int  # record width in bytes (0 when the log was empty)
    layout: str = ""  # e.g. "40" or "8/time@3" (which 8-byte variant was chosen)
    expected: int | None = None  # record count announced by GET_FREE_SIZES
    users: dict[str, str] = field(default_factory=dict)  # {PIN: name} from the user table
    user_table: UserTable | None = None  # None when the user table was not read


class ZKClient:
    """One session with a ZK-family terminal over any Transport.

    Use as a context manager: entering connects, leaving re-enables the terminal if this
    client disabled it and sends EXIT. Errors are ZKError subclasses naming the terminal.
    After a transport failure (timeout, lost connection, corrupt reply) every further
    command raises that same error again, so a ``finally: enable()`` does not hide it.
    """

    def __init__(
        self,
        transport: Transport,
        comm_key: int = 0,
        timeout: float = 10.0,
        *,
        chunk_size: int | None = None,
        width: int | None = None,
        layout8: str = LAYOUT8_AUTO,
        verify_checksum: bool = True,
        retries: int | None = None,
    ) -> None:
        self.transport = transport
        self.comm_key = int(comm_key or 0)
        self.timeout = timeout
        self.chunk_size = chunk_size or transport.default_chunk_size
        self.width = width  # configured record width, checked against the payload
        self.layout8 = layout8
        self.verify_checksum = verify_checksum
        self.retries = transport.retries if retries is None else retries
        self.session = 0
        self._reply = USHRT_START
        self.connected = False
        self.disabled = False
        self._broken: ZKError | None = None
        self._read_while_disabled: int | None = None  # records+quarantined of the last read

    @property
    def address(self) -> str:
        """The terminal's address, as used in error messages."""
        return self.transport.address

    def __enter__(self) -> ZKClient:
        try:
            self.connect()
        except BaseException:
            self.transport.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _fail(self, exc: ZKError) -> ZKError:
        self._broken = exc
        return exc

    def _send(self, command: int, data: bytes) -> tuple[bytes, int]:
        self._reply = (self._reply + 1) & 0xFFFF
        packet = codec.pack_packet(command, self.session, self._reply, data)
        self.transport.send(packet)
        return packet, self._reply

    def _receive(self, command: int, reply_id: int, deadline: float) -> Packet:
        """The next packet answering request ``reply_id`` (strays are skipped)."""
        what = command_name(command)
        for _ in range(_MAX_STRAY):
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise ZKTimeoutError(self.address, "deadline passed")
                raw = self.transport.receive(left)
            except ZKTimeoutError:
                raise ZKTimeoutError(
                    self.address, f"no reply to {what} within {self.timeout:g} s"
                ) from None
            except ZKConnectionError as exc:
                raise ZKConnectionError(self.address, f"{exc.detail} (during {what})") from exc
            except ZKChecksumError as exc:
                raise ZKChecksumError(self.address, f"{exc.detail} (during {what})", command) from exc
            try:
                packet = codec.unpack_packet(raw, self.verify_checksum)
            except ChecksumMismatch as exc:
                raise ZKChecksumError(self.address, f"corrupt reply to {what}: {exc}", command) from exc
            except CodecError as exc:
                raise ZKProtocolError(self.address, f"bad reply to {what}: {exc}", command) from exc
            if packet.reply == reply_id:
                return packet
        raise ZKProtocolError(self.address, f"replies to {what} carry the wrong reply id", command)

    def _guard(self) -> None:
        if self._broken is not None:
            raise self._broken
        if not self.connected:
            raise ZKConnectionError(self.address, "not connected (call connect() first)")

    def _request(
        self, command: int, data: bytes = b"", extra_time: float = 0.0
    ) -> Packet:
        """Send a command and return its reply (any code; callers check it)."""
        try:
            _, reply_id = self._send(command, data)
            attempts = self.retries
            while True:
                deadline = time.monotonic() + self.timeout + extra_time
                try:
                    return self._receive(command, reply_id, deadline)
                except ZKTimeoutError:
                    if attempts <= 0:
                        raise
                    attempts -= 1
                    # same reply id: an answer to either copy is the answer
                    self.transport.send(
                        codec.pack_packet(command, self.session, reply_id, data)
                    )
        except (ZKTimeoutError, ZKConnectionError, ZKChecksumError) as exc:
            raise self._fail(exc) from None

    def _check(self, command: int, packet: Packet, *ok: int) -> Packet:
        """Raise the right ZKError unless the reply code is one of ``ok``."""
        if packet.command in ok:
            return packet
        if packet.command == Cmd.ACK_UNAUTH:
            raise ZKAuthError(self.address, f"{command_name(command)} refused: not authenticated")
        if packet.command in (Cmd.ACK_ERROR, Cmd.ACK_UNKNOWN):
            raise ZKCommandRefused(
                self.address,
                f"{command_name(command)} refused with {packet.name}",
                command,
                packet.command,
            )
        raise ZKProtocolError(
            self.address,
            f"unexpected {packet.name} in reply to {command_name(command)}",
            command,
            packet.command,
        )

    def _command(self, command: int, data: bytes = b"", extra_time: float = 0.0) -> Packet:
        self._guard()
        return self._check(command, self._request(command, data, extra_time), Cmd.ACK_OK)

    # ------------------------------------------------------------------ session

    def connect(self) -> None:
        """CONNECT; if the terminal answers ACK_UNAUTH, AUTH with the comm key."""
        if self._broken is not None:
            raise self._broken
        self.session = 0
        self._reply = USHRT_START
        reply = self._request(Cmd.CONNECT)
        self.session = reply.session  # assigned by the terminal in its reply
        if reply.command == Cmd.ACK_OK:
            self.connected = True
            return
        if reply.command != Cmd.ACK_UNAUTH:
            self._check(Cmd.CONNECT, reply, Cmd.ACK_OK)
        auth = self._request(Cmd.AUTH, codec.make_commkey(self.comm_key, self.session))
        if auth.command == Cmd.ACK_OK:
            self.connected = True
            return
        if auth.command == Cmd.ACK_UNAUTH:
            if self.comm_key:
                raise ZKAuthError(self.address, "the terminal refused the comm key")
            raise ZKAuthError(
                self.address, "the terminal requires a comm key and none is configured"
            )
        self._check(Cmd.AUTH, auth, Cmd.ACK_OK)

    def close(self) -> None:
        """Re-enable the terminal if this client disabled it, send EXIT, close; never raises."""
        try:
            if self.connected and self._broken is None:
                if self.disabled:
                    self.enable()
                self._request(Cmd.EXIT)
        except ZKError:
            pass  # best effort: the terminal drops the session on its own
        finally:
            self.connected = False
            self.transport.close()

    # ------------------------------------------------------------------ commands

    def free_sizes(self) -> FreeSizes:
        """GET_FREE_SIZES: record count, capacity and other counters."""
        reply = self._command(Cmd.GET_FREE_SIZES)
        try:
            return codec.parse_free_sizes(reply.data)
        except CodecError as exc:
            raise ZKProtocolError(self.address, str(exc), Cmd.GET_FREE_SIZES) from exc

    def get_time(self) -> datetime:
        """The terminal's clock (naive device-local time)."""
        reply = self._command(Cmd.GET_TIME)
        if len(reply.data) < 4:
            raise ZKProtocolError(self.address, "GET_TIME reply carries no time", Cmd.GET_TIME)
        try:
            return codec.decode_time(int.from_bytes(reply.data[:4], "little"))
        except CodecError as exc:
            raise ZKProtocolError(self.address, f"terminal clock: {exc}", Cmd.GET_TIME) from exc

    def clock_skew(self) -> float:
        """Seconds the terminal clock is ahead of this computer (negative: behind)."""
        before = datetime.now()
        device = self.get_time()
        after = datetime.now()
        return (device - (before + (after - before) / 2)).total_seconds()

    def set_time(self, dt: datetime) -> None:
        """Set the terminal clock (naive device-local time), then REFRESHDATA."""
        try:
            value = codec.encode_time(dt.replace(microsecond=0))
        except CodecError as exc:
            raise ValueError(str(exc)) from exc
        self._command(Cmd.SET_TIME, value.to_bytes(4, "little"))
        self._refresh()

    def _refresh(self) -> None:
        # public descriptions: REFRESHDATA makes the change take effect; firmwares that
        # lack it answer ACK_ERROR / ACK_UNKNOWN, which is harmless here
        try:
            self._command(Cmd.REFRESHDATA)
        except ZKCommandRefused:
            pass

    def disable(self) -> None:
        """DISABLEDEVICE: the terminal stops taking punches until enable()."""
        self._command(Cmd.DISABLEDEVICE)
        self.disabled = True
        self._read_while_disabled = None

    def enable(self) -> None:
        """ENABLEDEVICE: the terminal takes punches again."""
        self._command(Cmd.ENABLEDEVICE)
        self.disabled = False
        self._read_while_disabled = None

    def read_attendance(self, progress: Progress | None = None,
                        users: bool | None = None) -> ReadResult:
        """Download the whole attendance log (and the user table when it is needed).

        1503 (1, ATTLOG_RRQ, 0, 0); a small log comes back as DATA at once, a large one as
        a size read in ``chunk_size`` pieces with 1504 (each: PREPARE_DATA, DATA..., ACK_OK);
        then FREE_DATA. ``progress(bytes_done, bytes_total)`` is called after each piece of
        the log. 8-byte records carry only the terminal's internal uid, so the user table is
        then read too and each uid mapped to its PIN; a record whose uid the table cannot
        map is quarantined with the reason. ``users=True`` reads the table (for the names)
        whatever the width, ``users=False`` never (8-byte user ids then stay uids).
        Call disable() first if the log may be cleared afterwards.
        """
        sizes = self.free_sizes()
        buffer = self._read_buffer(Cmd.ATTLOG_RRQ, progress)
        table: UserTable | None = None
        try:
            width = codec.infer_width(max(0, len(buffer) - 4), sizes.records, self.width)
        except CodecError:
            width = 0  # decode_attlog_buffer below raises with the full explanation
        if users or (users is None and width == 8):
            table = self._user_table(sizes.users)
        try:
            decoded = codec.decode_attlog_buffer(
                buffer, sizes.records, self.width, self.layout8, table
            )
        except CodecError as exc:
            raise ZKProtocolError(
                self.address, f"attendance log: {exc}", Cmd.PREPARE_BUFFER
            ) from exc
        if self.disabled:
            self._read_while_disabled = len(decoded.records) + len(decoded.quarantined)
        return ReadResult(
            decoded.records, decoded.quarantined, decoded.width, decoded.layout, sizes.records,
            table.names() if table is not None else {}, table,
        )

    def read_users(self, count: int | None = None) -> UserTable:
        """Download the user table (1503 with USERTEMP_RRQ / FCT_USER): uid, PIN, name.

        ``count`` (users announced by GET_FREE_SIZES) decides between 28- and 72-byte
        records when the size alone cannot; it is asked for when not given.
        """
        if count is None:
            count = self.free_sizes().users
        data = self._read_buffer(Cmd.USERTEMP_RRQ, None, codec.FCT_USER)
        try:
            return codec.decode_user_table(data, count)
        except CodecError as exc:
            raise ZKProtocolError(self.address, f"user table: {exc}", Cmd.PREPARE_BUFFER) from exc

    def _user_table(self, count: int) -> UserTable:
        """The user table, or an empty one saying why when the terminal refuses to send it."""
        try:
            return self.read_users(count)
        except ZKCommandRefused as exc:
            # records that need the table are then quarantined with this reason, not guessed
            from devices.parsers.reasons import reason  # loads pandas: only on this rare path

            return UserTable(unavailable=reason("zk_user_table_refused", detail=exc.detail))

    def _read_buffer(self, table: int, progress: Progress | None, fct: int = 0) -> bytes:
        self._guard()
        request = codec.prepare_buffer_request(table, fct)
        first = self._check(
            Cmd.PREPARE_BUFFER, self._request(Cmd.PREPARE_BUFFER, request), Cmd.ACK_OK, Cmd.DATA
        )
        if first.command == Cmd.DATA:  # small result: the data itself
            data = first.data
            if progress:
                progress(len(data), len(data))
        else:
            try:
                total = codec.parse_buffer_size_reply(first.data)
            except CodecError as exc:
                raise ZKProtocolError(self.address, str(exc), Cmd.PREPARE_BUFFER) from exc
            parts = bytearray()
            if progress:
                progress(0, total)
            while len(parts) < total:
                size = min(self.chunk_size, total - len(parts))
                parts += self._read_chunk(len(parts), size)
                if progress:
                    progress(len(parts), total)
            data = bytes(parts)
        self._command(Cmd.FREE_DATA)
        return data

    def _read_chunk(self, start: int, size: int) -> bytes:
        """1504 (start, size); a piece lost on the way is asked for again (``retries``)."""
        command = Cmd.READ_BUFFER
        extra = self.transport.transfer_time(size)
        request = codec.read_buffer_request(start, size)
        attempts = self.retries
        try:
            while True:
                try:
                    chunk = self._read_chunk_once(request, extra)
                    break
                except ZKTimeoutError:
                    if attempts <= 0:
                        raise
                    attempts -= 1
        except (ZKTimeoutError, ZKConnectionError, ZKChecksumError) as exc:
            raise self._fail(exc) from None
        if not 0 < len(chunk) <= size:
            raise self._fail(ZKProtocolError(
                self.address,
                f"read of {size} bytes at offset {start} returned {len(chunk)} bytes",
                command,
            ))
        return chunk

    def _read_chunk_once(self, request: bytes, extra: float) -> bytes:
        """PREPARE_DATA(size), DATA piece(s), ACK_OK, all with the request's reply id; or DATA."""
        command = Cmd.READ_BUFFER
        _, reply_id = self._send(command, request)
        deadline = time.monotonic() + self.timeout + extra
        first = self._check(
            command, self._receive(command, reply_id, deadline), Cmd.PREPARE_DATA, Cmd.DATA
        )
        if first.command == Cmd.DATA:
            return first.data
        if len(first.data) < 4:
            raise ZKProtocolError(self.address, "PREPARE_DATA carries no size", command)
        announced = int.from_bytes(first.data[:4], "little")
        pieces = bytearray()
        # UDP terminals split a chunk over several DATA datagrams
        while len(pieces) < announced:
            pieces += self._check(command, self._receive(command, reply_id, deadline), Cmd.DATA).data
        self._check(command, self._receive(command, reply_id, deadline), Cmd.ACK_OK)
        return bytes(pieces)

    def clear_attendance(self) -> None:
        """CLEAR_ATTLOG: erase the terminal's whole log (all or nothing on ZK devices).

        Only for a caller that has COMMITTED the records of read_attendance(). Refused
        (ZKUnsafeClearError) unless this client disabled the terminal before that read and
        kept it disabled since, and the terminal still holds exactly the records that were
        read, so no punch can be lost between read and clear.
        """
        self._guard()
        if not self.disabled or self._read_while_disabled is None:
            raise ZKUnsafeClearError(
                self.address,
                "refusing to clear the log: disable(), read_attendance() and commit first",
            )
        now = self.free_sizes().records
        if now != self._read_while_disabled:
            raise ZKUnsafeClearError(
                self.address,
                f"refusing to clear the log: it holds {now} records but {self._read_while_disabled}"
                " were read",
            )
        self._command(Cmd.CLEAR_ATTLOG)
        self._read_while_disabled = None
        self._refresh()



def connect_device(kind: str, settings: dict[str, Any], timeout: float = 10.0,
                   **options: Any) -> ZKClient:
    """Open the transport of a device and return a connected ZKClient (comm_key from settings)."""
    transport = open_transport(kind, settings, timeout)
    client = ZKClient(transport, int(settings.get("comm_key", 0) or 0), timeout, **options)
    return client.__enter__()
