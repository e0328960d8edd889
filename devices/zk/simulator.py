"""A ZK-protocol terminal simulator over TCP, UDP, a pseudo-terminal or serial-over-TCP.

It serves a list of punches as 8/16/40/49-byte records, with an optional comm key, a
settable clock and injected faults (``--fault`` spec, see ``parse_fault_spec``). Tests run
it in threads; ``run_simulator`` backs ``attendance simulate-terminal``.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from . import codec
from .codec import HEADER_SIZE, LAYOUT8_TIME3, AttendanceRecord, Cmd, UserEntry
from .errors import CodecError
from .transport import DEFAULT_PORT, EnvelopeFraming

GARBAGE = b"\xde\xad\xbe\xef" * 8
# Public clients read the answer to 1503 and to option reads with a 1024-byte buffer, so
# over UDP (where a short buffer truncates the datagram) a direct answer must fit in it.
UDP_DIRECT_PACKET = 1024
_POLL = 0.05  # seconds between checks of the stop flag in server threads


# --------------------------------------------------------------------------- faults

@dataclass
class FaultSpec:
    """Faults to inject; drop and corrupt faults fire ``times`` times (None: always)."""

    drop_after: int | None = None  # drop the connection instead of sending data chunk N+1
    drop_on: int | None = None  # drop the connection when this command arrives
    corrupt_chunk: int | None = None  # corrupt data chunk N (1-based, per connection)
    corrupt_mode: str = "checksum"  # "checksum": flip a data byte; "garbage": non-packet bytes
    lose_chunk: int | None = None  # send nothing for data chunk N (a lost UDP reply)
    skew: float = 0.0  # terminal clock minus real clock, seconds
    slow: float = 0.0  # delay before each reply, seconds
    times: int | None = 1


def parse_fault_spec(spec: str | None) -> FaultSpec:
    """Parse e.g. 'drop-after=3,corrupt-chunk=2:garbage,skew=+300,slow=0.2,times=2'.

    Items: drop-after=N, drop-on=CODE|NAME (e.g. 1503 or FREE_DATA), corrupt-chunk=N[:checksum|
    :garbage], lose-chunk=N, skew=[+-]SECONDS, slow=SECONDS, times=N|always. Unknown items
    are an error.
    """
    fault = FaultSpec()
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        try:
            if not sep:
                raise ValueError("expected NAME=VALUE")
            if key == "drop-after":
                fault.drop_after = _non_negative(int(value))
            elif key == "drop-on":
                fault.drop_on = int(value) if value.isdigit() else int(Cmd[value.upper()])
            elif key == "corrupt-chunk":
                number, _, mode = value.partition(":")
                fault.corrupt_chunk = _non_negative(int(number))
                fault.corrupt_mode = mode or "checksum"
                if fault.corrupt_mode not in ("checksum", "garbage"):
                    raise ValueError("mode must be checksum or garbage")
            elif key == "lose-chunk":
                fault.lose_chunk = _non_negative(int(value))
            elif key == "skew":
                fault.skew = float(value)
            elif key == "slow":
                fault.slow = float(_non_negative(float(value)))
            elif key == "times":
                fault.times = None if value == "always" else _non_negative(int(value))
            else:
                raise ValueError("unknown fault")
        except (ValueError, KeyError) as exc:
            raise ValueError(f"fault spec item {item!r}: {exc}") from None
    return fault


def _non_negative(value: float) -> int | float:
    if value < 0:
        raise ValueError("must not be negative")
    return value


# --------------------------------------------------------------------------- terminal

class Terminal:
    """The state of one simulated terminal, shared by every connection to it."""

    def __init__(
        self,
        records: Sequence[AttendanceRecord] = (),
        *,
        width: int = 40,
        comm_key: int = 0,
        fault: FaultSpec | str | None = None,
        layout8: str = LAYOUT8_TIME3,
        raw_records: Sequence[bytes] = (),
        capacity: int = 100_000,
        direct_limit: int = 1024,
        udp_piece: int = 1024,
        users: Sequence[UserEntry] | None = None,
        user_table: bool = True,
        options: dict[str, str] | None = None,
    ) -> None:
        if width not in codec.RECORD_WIDTHS:
            raise ValueError(f"record width {width} is not one of {codec.RECORD_WIDTHS}")
        self.width = width
        self.layout8 = layout8
        self.comm_key = comm_key
        self.fault = fault if isinstance(fault, FaultSpec) else parse_fault_spec(fault)
        self.skew = self.fault.skew
        self.capacity = capacity
        self.direct_limit = direct_limit  # results up to this size come back as DATA at once
        self.udp_piece = udp_piece  # bytes of data per UDP datagram
        self.enabled = True
        self.log: list[str] = []  # names of the commands received, in order
        self.lock = threading.RLock()
        self._records = list(records)
        self._raw = [bytes(r) for r in raw_records]  # e.g. records with impossible dates
        for raw in self._raw:
            if len(raw) != width:
                raise ValueError(f"raw record of {len(raw)} bytes in a {width}-byte log")
        self._fired: dict[str, int] = {}
        self._buffer: bytes | None = None
        self.serves_user_table = user_table  # False: refuses 1503 for it (older firmware?)
        self.options = {**default_options(width), **(options or {})}
        self._derived_users = users is None  # then a punch by a new PIN enrolls it
        self._users = list(users) if users is not None else derive_users(self._records, width)
        self._uid_of = {self._pin_key(u.user_id): u.uid for u in self._users}
        self.user_width = codec.user_width_for(width)
        self._user_buffer: bytes | None = None
        self.user_buffer()  # a PIN the user-record width cannot hold fails at start
        self.buffer()  # encode now: a user id the width cannot hold fails at start

    @property
    def count(self) -> int:
        """Records in the log."""
        return len(self._records) + len(self._raw)

    def clock(self) -> datetime:
        """The terminal's clock (real local time + skew)."""
        return datetime.now() + timedelta(seconds=self.skew)

    def set_clock(self, when: datetime) -> None:
        """Set the terminal's clock."""
        self.skew = (when - datetime.now()).total_seconds()

    def buffer(self) -> bytes:
        """The ATTLOG download (u32 size + records), encoded once per change."""
        with self.lock:
            if self._buffer is None:
                payload = b"".join(
                    codec.encode_record(self._slotted(r), self.width, self.layout8)
                    for r in self._records
                )
                self._buffer = codec.build_attlog_buffer(payload + b"".join(self._raw))
            return self._buffer

    def _slotted(self, record: AttendanceRecord) -> AttendanceRecord:
        """The record with the uid slot its PIN has in the user table (unless it has one)."""
        if record.uid is not None:
            return record  # a test may give a uid the table lacks, as after a deleted user
        uid = self._uid_of.get(self._pin_key(record.user_id))
        if uid is None:
            raise ValueError(
                f"punch of user id {record.user_id!r} at {record.timestamp:%Y-%m-%d %H:%M:%S}:"
                " that PIN is not in the simulated terminal's user table (give the record a uid)"
            )
        return record._replace(uid=uid)

    def _pin_key(self, pin: str) -> str:
        # 8-byte terminals hold PINs as numbers (28-byte user records): '042' is 42
        return str(int(pin)) if self.width == 8 and pin.isdigit() else pin

    def user_buffer(self) -> bytes:
        """The user-table download (u32 size + 28- or 72-byte user records)."""
        with self.lock:
            if self._user_buffer is None:
                self._user_buffer = codec.encode_user_table(self._users, self.user_width)
            return self._user_buffer

    def users_table(self) -> list[UserEntry]:
        """The user table (uid slot, PIN, name ...), as served."""
        with self.lock:
            return list(self._users)

    def punch(self, record: AttendanceRecord) -> bool:
        """A person punches; refused (False) while the terminal is disabled.

        With a derived user table a new PIN is enrolled on the way; with a given table a
        PIN without a slot is refused (ValueError) unless the record carries its uid.
        """
        with self.lock:
            if not self.enabled:
                return False
            key = self._pin_key(record.user_id)
            added = None
            if record.uid is None and key not in self._uid_of and self._derived_users:
                added = derive_users([record], self.width)[0]
                if self.width != 8:  # the next free slot
                    added = added._replace(uid=max((u.uid for u in self._users), default=0) + 1)
                codec.encode_user(added, self.user_width)
            uid = record.uid if record.uid is not None else added.uid if added else None
            rec = record._replace(uid=uid) if uid is not None else self._slotted(record)
            codec.encode_record(rec, self.width, self.layout8)  # fail now if it cannot fit
            if added is not None:
                self._users.append(added)
                self._uid_of[key] = added.uid
                self._user_buffer = None
            self._records.append(record)
            self._buffer = None
            return True

    def clear(self) -> None:
        """CLEAR_ATTLOG: forget every record."""
        with self.lock:
            self._records.clear()
            self._raw.clear()
            self._buffer = None

    def records(self) -> list[AttendanceRecord]:
        """The records held (decoded form, as given)."""
        with self.lock:
            return list(self._records)

    def fire(self, fault: str) -> bool:
        """Whether an armed fault fires now (counts it)."""
        with self.lock:
            times = self.fault.times
            done = self._fired.get(fault, 0)
            if times is not None and done >= times:
                return False
            self._fired[fault] = done + 1
            return True

    def users(self) -> int:
        """Entries of the user table (for GET_FREE_SIZES)."""
        with self.lock:
            return len(self._users)


def derive_users(records: Sequence[AttendanceRecord], width: int) -> list[UserEntry]:
    """A user table for punches given without one: one entry per distinct PIN, unnamed.

    8-byte terminals get uid = the PIN's number (as the simulator always served them);
    the others get uid slots 1..N in order of first appearance.
    """
    users: dict[str, UserEntry] = {}
    for rec in records:
        key = str(int(rec.user_id)) if width == 8 and rec.user_id.isdigit() else rec.user_id
        if key in users:
            continue
        if width == 8:
            number = int(rec.user_id) if rec.user_id.isdigit() else -1
            uid = rec.uid if rec.uid is not None else number
            if not (0 < uid <= 0xFFFF and 0 < number <= 0xFFFFFFFF):
                raise ValueError(f"user id {rec.user_id!r} cannot be stored in a 8-byte record"
                                 " (a number up to 65535)")
            users[key] = UserEntry(uid, str(number))
        else:
            users[key] = UserEntry(len(users) + 1, rec.user_id)
    return list(users.values())


def shuffled_users(pins: Sequence[str], names: Sequence[str] = (), seed: int = 0,
                   first_uid: int = 1) -> list[UserEntry]:
    """A user table whose uid slots differ from the PINs: slots first_uid.. in shuffled order."""
    slots = list(range(first_uid, first_uid + len(pins)))
    random.Random(seed).shuffle(slots)
    return [UserEntry(uid, pin, names[i] if i < len(names) else "")
            for i, (uid, pin) in enumerate(zip(slots, pins, strict=True))]


def default_options(width: int) -> dict[str, str]:
    """Option values the simulator answers to OPTIONS_RRQ (public clients ask for these)."""
    return {
        "~SerialNumber": "SIM0000000001", "~Platform": "ZEM560_TFT", "~DeviceName": "SIM-ZK",
        "MAC": "00:17:61:00:00:01", "~OS": "1", "~ZKFPVersion": "9" if width == 8 else "10",
        "ZKFaceVersion": "0", "~ExtendFmt": "0" if width == 8 else "1", "~UserExtFmt": "0",
        "FaceFunOn": "0", "CompatOldFirmware": "0", "IPAddress": "127.0.0.1",
        "NetMask": "255.255.255.0", "GATEIPAddress": "0.0.0.0", "~PIN2Width": "9",
    }


@dataclass
class Reply:
    """Bytes to send: a packet (framed by the transport) or raw garbage (sent as is)."""

    data: bytes
    framed: bool = True


DROP = None  # handle() result: drop the connection


@dataclass
class Session:
    """One client session: protocol state machine of the terminal side."""

    terminal: Terminal
    datagram: bool = False  # UDP: split data chunks into datagram-sized pieces
    session_id: int = field(default_factory=lambda: random.randint(1, 0xFFFE))
    authed: bool = False
    chunks_sent: int = 0
    buffer: bytes | None = None
    closed: bool = False

    def __post_init__(self) -> None:
        self.authed = not self.terminal.comm_key

    def _packet(self, code: int, request: codec.Packet, data: bytes = b"") -> Reply:
        return Reply(codec.pack_packet(code, self.session_id, request.reply, data))

    def handle(self, raw: bytes) -> list[Reply] | None:
        """Replies to one request packet; None means drop the connection."""
        term = self.terminal
        try:
            req = codec.unpack_packet(raw)
        except CodecError:
            return []  # a corrupt request gets no answer, as on a noisy line
        cmd = req.command
        with term.lock:
            term.log.append(_name(cmd))
        if term.fault.drop_on == cmd and term.fire("drop-on"):
            return DROP
        ok = Cmd.ACK_OK
        if cmd == Cmd.CONNECT:
            return [self._packet(ok if self.authed else Cmd.ACK_UNAUTH, req)]
        if cmd == Cmd.AUTH:
            self.authed = req.data[:4] == codec.make_commkey(term.comm_key, self.session_id)
            return [self._packet(ok if self.authed else Cmd.ACK_UNAUTH, req)]
        if cmd == Cmd.EXIT:
            self.closed = True
            return [self._packet(ok, req)]
        if not self.authed:
            return [self._packet(Cmd.ACK_UNAUTH, req)]
        if req.session != self.session_id:
            return [self._packet(Cmd.ACK_ERROR, req)]
        handler = _HANDLERS.get(cmd)
        if handler is None:
            return [self._packet(Cmd.ACK_UNKNOWN, req)]
        return handler(self, req)

    # -- commands

    def _free_sizes(self, req: codec.Packet) -> list[Reply]:
        term = self.terminal
        data = codec.build_free_sizes(term.count, max(term.capacity, term.count), term.users())
        return [self._packet(Cmd.ACK_OK, req, data)]

    def _get_time(self, req: codec.Packet) -> list[Reply]:
        value = codec.encode_time(self.terminal.clock())
        return [self._packet(Cmd.ACK_OK, req, struct.pack("<I", value))]

    def _set_time(self, req: codec.Packet) -> list[Reply]:
        try:
            self.terminal.set_clock(codec.decode_time(int.from_bytes(req.data[:4], "little")))
        except CodecError:
            return [self._packet(Cmd.ACK_ERROR, req)]
        return [self._packet(Cmd.ACK_OK, req)]

    def _enable(self, req: codec.Packet) -> list[Reply]:
        self.terminal.enabled = req.command == Cmd.ENABLEDEVICE
        return [self._packet(Cmd.ACK_OK, req)]

    def _ack(self, req: codec.Packet) -> list[Reply]:
        return [self._packet(Cmd.ACK_OK, req)]

    def _clear(self, req: codec.Packet) -> list[Reply]:
        self.terminal.clear()
        return [self._packet(Cmd.ACK_OK, req)]

    def _prepare_buffer(self, req: codec.Packet) -> list[Reply] | None:
        try:
            table, fct = codec.parse_prepare_buffer_request(req.data)
        except CodecError:
            return [self._packet(Cmd.ACK_ERROR, req)]
        if table == Cmd.ATTLOG_RRQ:
            self.buffer = self.terminal.buffer()
        elif table == Cmd.USERTEMP_RRQ and fct == codec.FCT_USER and self.terminal.serves_user_table:
            self.buffer = self.terminal.user_buffer()
        else:
            return [self._packet(Cmd.ACK_ERROR, req)]
        limit = self.terminal.direct_limit
        if self.datagram:
            limit = min(limit, UDP_DIRECT_PACKET - HEADER_SIZE)
        if len(self.buffer) <= limit:
            return self._chunk(req, [], self.buffer, [])
        return [self._packet(Cmd.ACK_OK, req, codec.buffer_size_reply(len(self.buffer)))]

    def _read_buffer(self, req: codec.Packet) -> list[Reply] | None:
        try:
            start, size = codec.parse_read_buffer_request(req.data)
        except CodecError:
            return [self._packet(Cmd.ACK_ERROR, req)]
        if self.buffer is None or size == 0 or start + size > len(self.buffer):
            return [self._packet(Cmd.ACK_ERROR, req)]
        data = self.buffer[start: start + size]
        before = [self._packet(Cmd.PREPARE_DATA, req, struct.pack("<II", size, 0))]
        return self._chunk(req, before, data, [self._packet(Cmd.ACK_OK, req)])

    def _options(self, req: codec.Packet) -> list[Reply]:
        name = req.data.split(b"\0", 1)[0].decode("ascii", errors="replace")
        value = self.terminal.options.get(name)
        if value is None:
            return [self._packet(Cmd.ACK_ERROR, req)]
        return [self._packet(Cmd.ACK_OK, req, f"{name}={value}\0".encode("ascii"))]

    def _version(self, req: codec.Packet) -> list[Reply]:
        return [self._packet(Cmd.ACK_OK, req, b"Ver 6.60 Sim\0")]

    def _pin_width(self, req: codec.Packet) -> list[Reply]:
        return [self._packet(Cmd.ACK_OK, req, bytes([int(self.terminal.options["~PIN2Width"])]))]

    def _free_data(self, req: codec.Packet) -> list[Reply]:
        self.buffer = None
        return [self._packet(Cmd.ACK_OK, req)]

    def _chunk(
        self, req: codec.Packet, before: list[Reply], data: bytes, after: list[Reply]
    ) -> list[Reply] | None:
        """One data chunk, where the drop-after and corrupt-chunk faults strike."""
        term = self.terminal
        fault = term.fault
        if fault.drop_after is not None and self.chunks_sent >= fault.drop_after:
            if term.fire("drop-after"):
                return DROP
        self.chunks_sent += 1
        if fault.lose_chunk == self.chunks_sent and term.fire("lose"):
            return []
        step = term.udp_piece if self.datagram else max(1, len(data))
        pieces = [self._packet(Cmd.DATA, req, data[i: i + step]) for i in range(0, len(data), step)]
        if fault.corrupt_chunk == self.chunks_sent and term.fire("corrupt"):
            if fault.corrupt_mode == "garbage":
                pieces[0] = Reply(GARBAGE, framed=False)
            else:
                broken = bytearray(pieces[0].data)
                broken[HEADER_SIZE + (len(broken) - HEADER_SIZE) // 2] ^= 0xFF
                pieces[0] = Reply(bytes(broken))
        return before + pieces + after


_HANDLERS: dict[int, Callable[[Session, codec.Packet], list[Reply] | None]] = {
    Cmd.GET_FREE_SIZES: Session._free_sizes,
    Cmd.GET_TIME: Session._get_time,
    Cmd.SET_TIME: Session._set_time,
    Cmd.DISABLEDEVICE: Session._enable,
    Cmd.ENABLEDEVICE: Session._enable,
    Cmd.REFRESHDATA: Session._ack,
    Cmd.CLEAR_ATTLOG: Session._clear,
    Cmd.PREPARE_BUFFER: Session._prepare_buffer,
    Cmd.READ_BUFFER: Session._read_buffer,
    Cmd.FREE_DATA: Session._free_data,
    Cmd.OPTIONS_RRQ: Session._options,
    Cmd.GET_VERSION: Session._version,
    Cmd.GET_PINWIDTH: Session._pin_width,
}


# --------------------------------------------------------------------------- servers

class SimulatorServer:
    """A running simulator endpoint; ``where`` says where it listens."""

    protocol = ""
    kind = ""  # the transport kind a client uses to reach it

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def where(self) -> str:
        """E.g. 'tcp 127.0.0.1:4370' or 'pty /dev/pts/5'."""
        raise NotImplementedError

    @property
    def settings(self) -> dict[str, object]:
        """Device settings that reach this endpoint with ``open_transport(self.kind, ...)``."""
        raise NotImplementedError

    def start(self) -> SimulatorServer:
        """Start serving in background threads."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and join the threads."""
        self._stop.set()
        self._close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _close(self) -> None:
        pass

    def wait(self) -> None:
        """Block until stop(), SIGINT (Ctrl-C) or SIGTERM, then stop the server."""
        with _signals_as_flag() as stopping:
            self._wait(stopping)

    def _wait(self, stopping: list[int]) -> None:
        try:
            while not stopping and not self._stop.is_set():
                time.sleep(0.2)
        finally:
            self.stop()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"zk-sim-{self.protocol}")
        self._threads.append(thread)
        thread.start()

    def _pause(self) -> None:
        if self.terminal.fault.slow:
            time.sleep(self.terminal.fault.slow)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpSimulator(SimulatorServer):
    """TCP with the stream envelope; with ``serial_framing`` it stands in for a serial line
    behind a serial-to-Ethernet converter (clients use ``socket://host:port``)."""

    protocol = "tcp"
    kind = "zk_tcp"

    def __init__(self, terminal: Terminal, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 machine_number: int | None = None, serial_framing: bool = False) -> None:
        super().__init__(terminal)
        self.host = host
        self.machine_number = machine_number
        if serial_framing:
            self.protocol, self.kind = "serial", "zk_serial"
        self._listener = socket.create_server((host, port), reuse_port=False)
        self._listener.settimeout(_POLL)
        self.port = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        # Clients served so far and the most at once: a terminal pulled by two clients at the
        # same time shows here (tests and benchmarks of several schedulers read them).
        self.connections = 0
        self.most_at_once = 0
        self._open = 0
        self._count_lock = threading.Lock()

    @property
    def open_now(self) -> int:
        """Clients connected right now."""
        with self._count_lock:
            return self._open

    @property
    def where(self) -> str:
        """'tcp HOST:PORT' (or 'serial-over-tcp HOST:PORT')."""
        label = "serial-over-tcp" if self.kind == "zk_serial" else "tcp"
        return f"{label} {self.host}:{self.port}"

    @property
    def settings(self) -> dict[str, object]:
        """Settings of a client of this endpoint."""
        if self.kind == "zk_serial":
            out: dict[str, object] = {"port": f"socket://{self.host}:{self.port}"}
            if self.machine_number:
                out.update(framing="rs485", machine_number=self.machine_number)
            return out
        return {"host": self.host, "port": self.port}

    def start(self) -> TcpSimulator:
        """Accept connections in a background thread."""
        self._spawn(self._accept)
        return self

    def _close(self) -> None:
        self._listener.close()
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        framing = EnvelopeFraming(self.machine_number)
        session = Session(self.terminal)
        conn.settimeout(_POLL)
        with self._count_lock:
            self.connections += 1
            self._open += 1
            self.most_at_once = max(self.most_at_once, self._open)
        try:
            while not self._stop.is_set() and not session.closed:
                try:
                    data = conn.recv(1 << 16)
                except TimeoutError:
                    continue
                if not data:
                    return
                for packet in framing.feed(data):
                    replies = session.handle(packet)
                    if replies is DROP:
                        return  # closing the socket is the fault
                    self._pause()
                    out = b"".join(framing.wrap(r.data) if r.framed else r.data for r in replies)
                    conn.sendall(out)
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
            with contextlib.suppress(ValueError):
                self._conns.remove(conn)
            with self._count_lock:
                self._open -= 1


class UdpSimulator(SimulatorServer):
    """UDP: bare packets; one session per client address; data split into datagrams."""

    protocol = "udp"
    kind = "zk_udp"

    def __init__(self, terminal: Terminal, host: str = "127.0.0.1", port: int = DEFAULT_PORT):
        super().__init__(terminal)
        self.host = host
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(_POLL)
        self.port = self._sock.getsockname()[1]
        self._sessions: dict[object, Session] = {}
        self._dropped: set[object] = set()

    @property
    def where(self) -> str:
        """'udp HOST:PORT'."""
        return f"udp {self.host}:{self.port}"

    @property
    def settings(self) -> dict[str, object]:
        """Settings of a client of this endpoint."""
        return {"host": self.host, "port": self.port}

    def start(self) -> UdpSimulator:
        """Serve datagrams in a background thread."""
        self._spawn(self._serve)
        return self

    def _close(self) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, addr = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(packet) >= 2 and int.from_bytes(packet[:2], "little") == Cmd.CONNECT:
                current = self._sessions.get(addr)
                if current is None or addr in self._dropped:
                    self._sessions[addr] = Session(self.terminal, datagram=True)
                    self._dropped.discard(addr)
                else:
                    # public descriptions: a repeated CONNECT keeps the session id, so a
                    # client that resent CONNECT can use either answer
                    current.authed = not self.terminal.comm_key
            session = self._sessions.get(addr)
            if session is None or addr in self._dropped:
                continue  # no session, or "dropped": the terminal stays silent
            replies = session.handle(packet)
            if replies is DROP:
                self._dropped.add(addr)
                continue
            self._pause()
            for reply in replies:
                with contextlib.suppress(OSError):
                    self._sock.sendto(reply.data, addr)


class PtySimulator(SimulatorServer):
    """A pseudo-terminal: clients open ``path`` with pyserial like a real serial port."""

    protocol = "serial"
    kind = "zk_serial"

    def __init__(self, terminal: Terminal, machine_number: int | None = None) -> None:
        super().__init__(terminal)
        self.machine_number = machine_number
        self._master, self._slave = os.openpty()
        # raw mode from the start, so nothing is echoed back before a client configures it;
        # the simulator keeps the slave open so the master never reads EIO between clients
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)

    @property
    def where(self) -> str:
        """'pty /dev/pts/N'."""
        return f"pty {self.path}"

    @property
    def settings(self) -> dict[str, object]:
        """Settings of a client of this endpoint."""
        out: dict[str, object] = {"port": self.path, "baudrate": 115200}
        if self.machine_number:
            out.update(framing="rs485", machine_number=self.machine_number)
        return out

    def start(self) -> PtySimulator:
        """Serve the line in a background thread."""
        self._spawn(self._serve)
        return self

    def _close(self) -> None:
        pass  # the thread closes the descriptors when it sees the stop flag

    def _write(self, data: bytes) -> bool:
        """Write everything unless the client stops reading for 5 s (it went away)."""
        view = memoryview(data)
        deadline = time.monotonic() + 5
        while view and not self._stop.is_set():
            if time.monotonic() > deadline:
                return False
            _, writable, _ = select.select([], [self._master], [], _POLL)
            if writable:
                try:
                    view = view[os.write(self._master, view):]
                except BlockingIOError:
                    continue
        return True

    def _serve(self) -> None:
        framing = EnvelopeFraming(self.machine_number)
        session: Session | None = None
        dropped = False
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([self._master], [], [], _POLL)
                if not readable:
                    continue
                try:
                    data = os.read(self._master, 1 << 16)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    return
                for packet in framing.feed(data):
                    if int.from_bytes(packet[:2], "little") == Cmd.CONNECT:
                        session, dropped = Session(self.terminal), False
                    if session is None or dropped:
                        continue  # a dropped line stays silent until the next CONNECT
                    replies = session.handle(packet)
                    if replies is DROP:
                        dropped = True
                        framing.reset()
                        continue
                    self._pause()
                    out = b"".join(framing.wrap(r.data) if r.framed else r.data for r in replies)
                    if not self._write(out):
                        # the reader went away: discard what it left unread on the line
                        termios.tcflush(self._slave, termios.TCIFLUSH)
        finally:
            os.close(self._master)
            os.close(self._slave)


# --------------------------------------------------------------------------- entry points

def load_records(path: str | os.PathLike[str]) -> tuple[list[AttendanceRecord], int]:
    """Punches of an attlog (or other punch) file as records, and the number of rejected lines."""
    import pandas as pd

    from devices.parsers import open_punch_file, read_all

    chunk = read_all(open_punch_file(path))
    frame = chunk.punches
    records = []
    for row in frame.itertuples(index=False):
        work = row.work_code
        records.append(AttendanceRecord(
            user_id=str(row.user_id),
            timestamp=pd.Timestamp(row.device_time).to_pydatetime(),
            status=0 if pd.isna(row.status) else int(row.status),
            verify=0 if pd.isna(row.verify) else int(row.verify),
            work_code=int(work) if isinstance(work, str) and work.isdigit() else None,
            uid=None,
            raw=b"",
        ))
    return records, len(chunk.rejected)


def serve(
    protocol: str,
    host: str = "127.0.0.1",
    port: int | None = DEFAULT_PORT,
    pty: bool = False,
    *,
    terminal: Terminal,
    machine_number: int | None = None,
    block: bool = True,
    announce: Callable[[str], None] | None = None,
) -> SimulatorServer:
    """Start a simulator endpoint and announce 'listening on ...'; with ``block`` run until
    Ctrl-C (or stop()), else return the running server (tests; use it as a context manager).

    protocol 'tcp' | 'udp' | 'serial'; 'serial' with ``pty`` opens a pseudo-terminal,
    'serial' with a port listens on TCP with the serial framing (for socket:// URLs).
    Port 0 picks a free port.
    """
    if pty and protocol != "serial":
        raise ValueError(f"--pty is for the serial protocol, not {protocol}")
    port = DEFAULT_PORT if port is None else port
    server: SimulatorServer
    if protocol == "tcp":
        server = TcpSimulator(terminal, host, port)
    elif protocol == "udp":
        server = UdpSimulator(terminal, host, port)
    elif protocol == "serial" and pty:
        server = PtySimulator(terminal, machine_number)
    elif protocol == "serial":
        server = TcpSimulator(terminal, host, port, machine_number, serial_framing=True)
    else:
        raise ValueError(f"unknown protocol {protocol!r} (tcp, udp or serial)")
    if not block:
        server.start()
        (announce or _print)(f"listening on {server.where}")
        return server
    # The handlers are in place before 'listening' is announced: whoever reads that line may
    # signal at once, and the default SIGTERM action would kill the process without stopping.
    with _signals_as_flag() as stopping:
        server.start()
        (announce or _print)(f"listening on {server.where}")
        server._wait(stopping)
    return server


@contextlib.contextmanager
def _signals_as_flag() -> Iterator[list[int]]:
    """SIGINT and SIGTERM append to the yielded list instead of raising (main thread only).

    A flag rather than KeyboardInterrupt: an exception raised at an arbitrary bytecode (say
    inside a lock's with-block) can leave the lock held and the shutdown hanging on it.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # only the main thread may set handlers; stop() still works
        return
    previous = {signum: signal.signal(signum, lambda number, _frame: caught.append(number))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _print(line: str) -> None:
    print(line, flush=True)


def run_simulator(
    records_path: str | os.PathLike[str],
    protocol: str = "tcp",
    port: int | None = None,
    use_pty: bool = False,
    width: int = 40,
    comm_key: int = 0,
    fault: str | None = None,
    *,
    host: str = "127.0.0.1",
    machine_number: int | None = None,
    block: bool = True,
    uid_seed: int | None = None,
) -> SimulatorServer:
    """``attendance simulate-terminal``: serve the punches of a file until interrupted.

    Prints 'listening on tcp 127.0.0.1:4370' (or 'udp ...', 'pty /dev/pts/N',
    'serial-over-tcp ...') on stdout, and how many punches were loaded on stderr. The
    serial protocol uses a pseudo-terminal unless a port is given. With ``uid_seed`` the
    user table gives the PINs uid slots 1..N in an order shuffled by that seed, so a client
    that stores uids instead of PINs (8-byte records) shows wrong user ids.
    """
    records, rejected = load_records(records_path)
    users = None
    if uid_seed is not None:
        # 28-byte user records (width 8) hold the PIN as a number: '00042' is 42 there
        pins = [u.user_id for u in derive_users(records, width)]
        users = shuffled_users(pins, seed=uid_seed)
    terminal = Terminal(records, width=width, comm_key=comm_key, fault=fault, users=users)
    skipped = f", {rejected} rejected lines skipped" if rejected else ""
    print(f"serving {len(records)} punches from {Path(records_path).name} as {width}-byte records"
          f"{skipped}", file=sys.stderr, flush=True)
    pty = use_pty or (protocol == "serial" and port is None)
    return serve(protocol, host, port, pty, terminal=terminal, machine_number=machine_number,
                 block=block)


def _name(code: int) -> str:
    try:
        return Cmd(code).name
    except ValueError:
        return str(code)
