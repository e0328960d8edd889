"""Line-protocol serial mode: terminals (or RS232 converters) that print one punch per line.

Lines are read from a pyserial port or URL and parsed with the file parsers
(``devices.parsers.parse_lines``, ZK attlog format by default), so a line a file import
would reject is rejected here with the same reason. Chunks keep physical line numbers
running across the whole session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import serial

from devices.parsers import ParsedChunk, decode_text, parse_lines

from .errors import ZKConnectionError

# A "line" longer than this without a newline is noise (or the wrong baud rate); it is
# handed to the parser as one line, which rejects it, instead of growing without bound.
MAX_LINE_BYTES = 4096


class LineSerialReader:
    """Read punch lines from a serial port (path or pyserial URL) and yield ParsedChunks."""

    def __init__(
        self,
        port: str | serial.SerialBase,
        baudrate: int = 9600,
        *,
        fmt: str = "zk_attlog",
        encoding: str | None = None,
        chunk_lines: int = 500,
        flush_after: float = 0.5,
        first_line_no: int = 1,
    ) -> None:
        self.fmt = fmt
        self.encoding = encoding  # None: detected per line (UTF-8, else Windows-1258/1252)
        self.chunk_lines = chunk_lines
        self.flush_after = flush_after  # pending lines are parsed after this much quiet
        self.next_line_no = first_line_no
        if isinstance(port, str):
            self.address = port
            try:
                self._ser: serial.SerialBase | None = serial.serial_for_url(
                    port, baudrate=baudrate, timeout=0.1
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                raise ZKConnectionError(port, f"cannot open: {exc}") from exc
            self._owned = True
        else:
            self.address = str(port.port)
            self._ser, self._owned = port, False
        self._partial = bytearray()

    def __enter__(self) -> LineSerialReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the port if this reader opened it."""
        if self._ser is not None and self._owned:
            self._ser.close()
        self._ser = None

    def _parse(self, lines: list[bytes]) -> ParsedChunk:
        texts = [decode_text(line.removesuffix(b"\r"), self.encoding) for line in lines]
        chunk = parse_lines(texts, fmt=self.fmt, first_line_no=self.next_line_no)
        chunk.raw = b"\n".join(lines)  # kept with the batch, as a file's bytes are
        self.next_line_no += len(lines)
        return chunk

    def chunks(
        self,
        stop: threading.Event | None = None,
        idle_timeout: float | None = None,
    ) -> Iterator[ParsedChunk]:
        """Yield a ParsedChunk per run of lines until ``stop`` is set or no byte arrives for
        ``idle_timeout`` seconds (None: forever). A partial last line is parsed at the end."""
        if self._ser is None:
            raise ZKConnectionError(self.address, "port is closed")
        ser = self._ser
        ser.timeout = 0.1
        pending: list[bytes] = []
        last_byte = time.monotonic()
        while stop is None or not stop.is_set():
            try:
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise ZKConnectionError(self.address, f"cannot read: {exc}") from exc
            now = time.monotonic()
            if data:
                last_byte = now
                self._partial += data
                *lines, rest = bytes(self._partial).split(b"\n")
                if len(rest) > MAX_LINE_BYTES:
                    lines.append(rest)
                    rest = b""
                self._partial = bytearray(rest)
                pending.extend(lines)
                while len(pending) >= self.chunk_lines:
                    yield self._parse(pending[: self.chunk_lines])
                    del pending[: self.chunk_lines]
            elif pending and now - last_byte >= self.flush_after:
                yield self._parse(pending)
                pending = []
            if idle_timeout is not None and now - last_byte >= idle_timeout:
                break
        if self._partial:
            pending.append(bytes(self._partial))
            self._partial.clear()
        if pending:
            yield self._parse(pending)


def read_line_punches(
    port: str | serial.SerialBase,
    baudrate: int = 9600,
    *,
    stop: threading.Event | None = None,
    idle_timeout: float | None = None,
    **options: object,
) -> Iterator[ParsedChunk]:
    """Open ``port``, yield ParsedChunks of its punch lines (see LineSerialReader), close it."""
    with LineSerialReader(port, baudrate, **options) as reader:  # type: ignore[arg-type]
        yield from reader.chunks(stop=stop, idle_timeout=idle_timeout)
