"""Transports of the ZK command protocol: TCP (enveloped), UDP (bare) and serial lines.

All three sit behind one small interface (``Transport``): send a packet, receive one
packet with a timeout, close. ``open_transport`` builds one from a device's settings.
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Any, Protocol

import serial

from .codec import MAX_PACKET, StreamReassembler, envelope
from .errors import FramingError, ZKChecksumError, ZKConnectionError, ZKTimeoutError

DEFAULT_PORT = 4370
DEFAULT_BAUDRATE = 115200
# Chunk sizes for 1504 reads. 0xFFC0 is the largest read publicly reported to work over
# TCP; UDP replies are split into many datagrams, and a serial line is slow, so smaller
# chunks there keep each request short (a lost piece costs one chunk, not the log).
TCP_CHUNK = 0xFFC0
UDP_CHUNK = 16 * 1024
SERIAL_CHUNK = 16 * 1024
_UDP_MAX_DATAGRAM = 65535
_SERIAL_POLL = 0.25  # seconds per serial read; timeouts are checked between reads


class Transport(ABC):
    """One connection to a terminal that moves whole packets."""

    kind: str = ""
    address: str = ""
    default_chunk_size: int = TCP_CHUNK
    retries: int = 0  # how often the client may resend a request that got no answer

    @abstractmethod
    def send(self, packet: bytes) -> None:
        """Send one packet (header + data)."""

    @abstractmethod
    def receive(self, timeout: float) -> bytes:
        """The next packet; ZKTimeoutError if none arrives within ``timeout`` seconds."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    def transfer_time(self, nbytes: int) -> float:
        """Seconds the line needs to carry ``nbytes`` (added to timeouts of big replies)."""
        return 0.0

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.address}>"


def _deadline_left(deadline: float) -> float:
    return deadline - time.monotonic()


class TcpTransport(Transport):
    """TCP: every packet wrapped in the ``50 50 82 7D`` + u32 length envelope."""

    kind = "zk_tcp"
    default_chunk_size = TCP_CHUNK

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout: float = 10.0) -> None:
        self.address = f"tcp://{host}:{port}"
        try:
            self._sock: socket.socket | None = socket.create_connection((host, port), timeout)
        except OSError as exc:
            raise ZKConnectionError(self.address, f"cannot connect: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._stream = StreamReassembler()
        self._ready: deque[bytes] = deque()

    def send(self, packet: bytes) -> None:
        """Send one packet, enveloped."""
        if self._sock is None:
            raise ZKConnectionError(self.address, "connection is closed")
        try:
            self._sock.sendall(envelope(packet))
        except OSError as exc:
            raise ZKConnectionError(self.address, f"connection lost while sending: {exc}") from exc

    def receive(self, timeout: float) -> bytes:
        """The next packet out of the stream."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            if self._sock is None:
                raise ZKConnectionError(self.address, "connection is closed")
            left = _deadline_left(deadline)
            if left <= 0:
                raise ZKTimeoutError(self.address, f"no reply within {timeout:g} s")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(1 << 16)
            except TimeoutError:
                raise ZKTimeoutError(self.address, f"no reply within {timeout:g} s") from None
            except OSError as exc:
                raise ZKConnectionError(self.address, f"connection lost: {exc}") from exc
            if not data:
                raise ZKConnectionError(self.address, "connection closed by the terminal")
            try:
                self._ready.extend(self._stream.feed(data))
            except FramingError as exc:
                raise ZKChecksumError(self.address, f"corrupt reply: {exc}") from exc
        return self._ready.popleft()

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class UdpTransport(Transport):
    """UDP: one bare packet per datagram; requests may be resent (datagrams get lost)."""

    kind = "zk_udp"
    default_chunk_size = UDP_CHUNK
    retries = 2

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout: float = 10.0) -> None:
        self.address = f"udp://{host}:{port}"
        try:
            family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            self._sock: socket.socket | None = socket.socket(family, kind, proto)
            # connect() so that only the terminal's datagrams are received
            self._sock.connect(addr)
        except OSError as exc:
            raise ZKConnectionError(self.address, f"cannot open: {exc}") from exc

    def send(self, packet: bytes) -> None:
        """Send one packet as a datagram."""
        if self._sock is None:
            raise ZKConnectionError(self.address, "socket is closed")
        try:
            self._sock.send(packet)
        except OSError as exc:
            raise ZKConnectionError(self.address, f"cannot send: {exc}") from exc

    def receive(self, timeout: float) -> bytes:
        """The next datagram."""
        if self._sock is None:
            raise ZKConnectionError(self.address, "socket is closed")
        self._sock.settimeout(max(timeout, 1e-3))
        try:
            return self._sock.recv(_UDP_MAX_DATAGRAM)
        except TimeoutError:
            raise ZKTimeoutError(self.address, f"no reply within {timeout:g} s") from None
        except ConnectionRefusedError as exc:
            raise ZKConnectionError(self.address, "nothing listens there (port unreachable)") from exc
        except OSError as exc:
            raise ZKConnectionError(self.address, f"cannot receive: {exc}") from exc

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class SerialFraming(Protocol):
    """How packets travel on a serial line; replace it if a terminal needs another envelope."""

    def wrap(self, packet: bytes) -> bytes:
        """Bytes to write for one packet."""
        ...

    def feed(self, data: bytes) -> list[bytes]:
        """Packets for us completed by ``data`` (frames for other machines are dropped)."""
        ...

    def reset(self) -> None:
        """Forget partial input."""
        ...

    def wanted(self) -> int:
        """How many bytes to read next (at least 1): what completes the current frame."""
        ...


class EnvelopeFraming:
    """The TCP stream envelope on a serial line, optionally with an RS485 address byte.

    UNVERIFIED on hardware: public sources do not document ZK's serial envelope. Without
    ``machine_number`` the bytes are exactly the TCP envelope (which is also what
    serial-to-Ethernet converters forward). With ``machine_number`` (1-255) each frame is
    preceded by one address byte; frames carrying another address are ignored, so several
    terminals can share an RS485 line. Noise between frames is skipped.
    """

    def __init__(self, machine_number: int | None = None) -> None:
        if machine_number is not None and not 1 <= machine_number <= 255:
            raise ValueError(f"machine number {machine_number} is not in 1-255")
        self.machine_number = machine_number
        prefix = 0 if machine_number is None else 1
        self._stream = StreamReassembler(prefix_len=prefix, resync=True, max_packet=MAX_PACKET)

    @property
    def discarded(self) -> int:
        """Bytes skipped as noise so far."""
        return self._stream.discarded

    def wrap(self, packet: bytes) -> bytes:
        """Envelope (and address byte) + packet."""
        framed = envelope(packet)
        if self.machine_number is None:
            return framed
        return bytes((self.machine_number,)) + framed

    def feed(self, data: bytes) -> list[bytes]:
        """Packets addressed to this machine number (or all, without one)."""
        frames = self._stream.feed_frames(data)
        if self.machine_number is None:
            return [packet for _, packet in frames]
        return [packet for prefix, packet in frames if prefix[0] == self.machine_number]

    def reset(self) -> None:
        """Forget partial input."""
        self._stream.reset()

    def wanted(self) -> int:
        """Bytes that complete the current frame."""
        return self._stream.wanted()


def make_framing(settings: dict[str, Any]) -> SerialFraming:
    """The framing named by settings: ``framing`` 'envelope' (default) or 'rs485'.

    'envelope' sends no address (``machine_number`` is checked but not put on the wire);
    'rs485' puts ``machine_number`` (default 1) in an address byte before each frame. A
    SerialFraming object given as ``framing`` is used as is.
    """
    choice = settings.get("framing", "envelope")
    machine = settings.get("machine_number")
    if machine is not None and not 1 <= int(machine) <= 255:
        raise ValueError(f"machine number {machine} is not in 1-255")
    if not isinstance(choice, str):
        return choice  # a framing object supplied by the caller
    if choice == "envelope":
        return EnvelopeFraming()
    if choice == "rs485":
        return EnvelopeFraming(int(machine or 1))
    raise ValueError(f"unknown serial framing {choice!r} (envelope or rs485)")


class SerialTransport(Transport):
    """A serial port or any pyserial URL (``socket://host:port``, ``rfc2217://host:port``)."""

    kind = "zk_serial"
    default_chunk_size = SERIAL_CHUNK

    def __init__(
        self,
        port: str,
        baudrate: int = DEFAULT_BAUDRATE,
        timeout: float = 10.0,
        framing: SerialFraming | None = None,
    ) -> None:
        self.baudrate = baudrate
        self.framing = framing or EnvelopeFraming()
        machine = getattr(self.framing, "machine_number", None)
        where = port if "://" in port else f"serial:{port}"
        self.address = f"{where}@{baudrate}" + (f" #{machine}" if machine else "")
        try:
            self._ser: serial.SerialBase | None = serial.serial_for_url(
                port, baudrate=baudrate, timeout=_SERIAL_POLL, do_not_open=True
            )
            self._ser.open()
            self._ser.reset_input_buffer()  # bytes left over from an earlier session
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ZKConnectionError(self.address, f"cannot open: {exc}") from exc
        self._ready: deque[bytes] = deque()

    def transfer_time(self, nbytes: int) -> float:
        """10 bits per byte at the line's baud rate (sockets behind URLs are faster)."""
        return nbytes * 10 / self.baudrate

    def send(self, packet: bytes) -> None:
        """Write one framed packet."""
        if self._ser is None:
            raise ZKConnectionError(self.address, "port is closed")
        try:
            self._ser.write(self.framing.wrap(packet))
            self._ser.flush()
        except (serial.SerialException, OSError) as exc:
            raise ZKConnectionError(self.address, f"cannot write: {exc}") from exc

    def receive(self, timeout: float) -> bytes:
        """The next packet for us."""
        deadline = time.monotonic() + timeout
        ser = self._ser
        while not self._ready:
            if ser is None:
                raise ZKConnectionError(self.address, "port is closed")
            left = _deadline_left(deadline)
            if left <= 0:
                raise ZKTimeoutError(self.address, f"no reply within {timeout:g} s")
            try:
                # a fixed poll timeout: changing it costs a tcsetattr() per read on POSIX
                data = ser.read(self.framing.wanted())
            except (serial.SerialException, OSError) as exc:
                raise ZKConnectionError(self.address, f"cannot read: {exc}") from exc
            if data:
                self._ready.extend(self.framing.feed(data))
        return self._ready.popleft()

    def close(self) -> None:
        """Close the port."""
        if self._ser is not None:
            try:
                self._ser.close()
            finally:
                self._ser = None


TRANSPORT_KINDS = ("zk_tcp", "zk_udp", "zk_serial")


def open_transport(kind: str, settings: dict[str, Any], timeout: float = 10.0) -> Transport:
    """Open the transport of a device.

    ``kind`` is 'zk_tcp' | 'zk_udp' (settings: host, port=4370) or 'zk_serial' (settings:
    port = device path or pyserial URL, baudrate=115200, machine_number 1-255, framing =
    'envelope' | 'rs485' | a SerialFraming). Other keys (comm_key, ...) are ignored.
    """
    if kind in ("zk_tcp", "zk_udp"):
        host = settings.get("host")
        if not host:
            raise ValueError(f"{kind}: no host configured")
        port = int(settings.get("port") or DEFAULT_PORT)
        cls = TcpTransport if kind == "zk_tcp" else UdpTransport
        return cls(str(host), port, timeout)
    if kind == "zk_serial":
        port = settings.get("port")
        if not port:
            raise ValueError("zk_serial: no serial port (device path or pyserial URL) configured")
        baudrate = int(settings.get("baudrate") or DEFAULT_BAUDRATE)
        return SerialTransport(str(port), baudrate, timeout, make_framing(settings))
    raise ValueError(f"unknown transport kind {kind!r} (one of {', '.join(TRANSPORT_KINDS)})")
