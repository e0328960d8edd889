"""Reading a punch-log file as runs of physical lines, in bounded memory.

Physical lines are split on LF only; a CR before the LF belongs to the line ending, any
other CR is an ordinary (bad) character of the line. Lines are numbered from 1.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from .encoding import BOM_UTF8, EncodingSniffer, Utf16ToUtf8Reader, bom_encoding

HEAD_BYTES = 256 * 1024  # enough lines to recognise a format and sniff a CSV dialect
_WS_NL = b" \t\r\x0b\x0c\n"  # bytes of blank lines (see common.BLANK_CHARS) plus LF
_MAX_BLOCK = 4 * 1024 * 1024
_MIN_BLOCK = 64 * 1024


@dataclass(frozen=True)
class Source:
    """A file on disk or bytes in memory, with a name for messages."""

    name: str
    path: str | None = None
    data: bytes | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Source:
        """A source reading the file at ``path``."""
        return cls(name=os.fspath(path), path=os.fspath(path))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> Source:
        """A source over bytes already in memory (an upload, a serial capture)."""
        return cls(name=name, data=bytes(data))

    def open(self) -> BinaryIO:
        """Open a fresh binary stream positioned at the start."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def size(self) -> int:
        """Size in bytes."""
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return os.path.getsize(self.path)


@dataclass(frozen=True)
class ScanResult:
    """What one streamed pass over the file found."""

    encoding: str
    size: int
    n_lines: int
    first_content_line: int | None  # first non-blank line (an old B&W serial-number line?)
    last_content_line: int | None  # last non-blank line (a checksum footer?)
    head: bytes  # first bytes after the BOM (transcoded to UTF-8 for UTF-16 files)


class _Stream:
    """The file's bytes after the BOM, as UTF-8 for UTF-16 files, with the raw offset."""

    def __init__(self, source: Source) -> None:
        self._raw = source.open()
        start = self._raw.read(4)
        self.encoding = bom_encoding(start)
        self._raw.seek(0)
        self._utf16: Utf16ToUtf8Reader | None = None
        self.bom_len = 0
        if self.encoding == "utf-16":
            self._utf16 = Utf16ToUtf8Reader(self._raw)
        elif self.encoding == "utf-8-sig":
            self.bom_len = len(BOM_UTF8)
            self._raw.seek(self.bom_len)

    def read(self, size: int) -> bytes:
        if self._utf16 is not None:
            return self._utf16.read(size)
        return self._raw.read(size)

    def raw_offset(self) -> int | None:
        """Bytes of the original file consumed so far (UTF-16 only; None otherwise)."""
        return None if self._utf16 is None else self._utf16.raw_consumed

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def scan(source: Source) -> ScanResult:
    """Stream the file once: encoding, line count, first and last non-blank line."""
    size = source.size()
    with _Stream(source) as stream:
        sniffer = EncodingSniffer() if stream.encoding is None else None
        head = bytearray()
        carry = b""
        lines_before = 0
        first: int | None = None
        last: int | None = None
        while True:
            block = stream.read(_MAX_BLOCK)
            if not block:
                break
            if sniffer is not None:
                sniffer.feed(block)
            if len(head) < HEAD_BYTES:
                head += block[: HEAD_BYTES - len(head)]
            buf = carry + block if carry else block
            cut = buf.rfind(b"\n") + 1
            part, carry = buf[:cut], buf[cut:]
            if part:
                first, last, count = _content_lines(part, lines_before, first, last)
                lines_before += count
        n_lines = lines_before
        if carry:
            first, last, _ = _content_lines(carry + b"\n", lines_before, first, last)
            n_lines += 1
        encoding = stream.encoding or (sniffer.result() if sniffer else "utf-8")
    return ScanResult(encoding, size, n_lines, first, last, bytes(head))


def _content_lines(
    part: bytes, lines_before: int, first: int | None, last: int | None
) -> tuple[int | None, int | None, int]:
    """Update first/last non-blank line numbers with a run of complete lines (and count them)."""
    count = part.count(b"\n")
    if first is None:
        rest = part.lstrip(_WS_NL)
        if rest:
            first = lines_before + part.count(b"\n", 0, len(part) - len(rest)) + 1
    body_len = len(part.rstrip(_WS_NL))
    if body_len:
        # LFs inside the content = all LFs minus those in the blank tail (one full count only)
        last = lines_before + count - part.count(b"\n", body_len) + 1
    return first, last, count


def iter_blocks(source: Source, size: int) -> Iterator[tuple[bytes, int]]:
    """The file's bytes after the BOM (UTF-8 for UTF-16 files) in blocks, with the bytes
    of the original file consumed so far."""
    with _Stream(source) as stream:
        done = stream.bom_len
        while block := stream.read(size):
            done += len(block)
            raw = stream.raw_offset()
            yield block, raw if raw is not None else done


@dataclass(frozen=True)
class RawChunk:
    """A run of complete physical lines, in the file's encoding (UTF-8 for UTF-16 files)."""

    first_line_no: int
    data: bytes  # lines with their LF; the file's last line may lack it
    n_lines: int
    bytes_done: int  # bytes of the original file consumed up to the end of this chunk


def _nth_newline(block: bytes, n: int) -> int:
    """Index of the n-th (1-based) LF in ``block``, which must hold at least n of them."""
    if n <= 64:
        pos = -1
        for _ in range(n):
            pos = block.index(b"\n", pos + 1)
        return pos
    # one vectorised scan instead of n Python-level find() calls
    return int(np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)[n - 1])


def iter_chunks(source: Source, chunk_lines: int) -> Iterator[RawChunk]:
    """Yield runs of at most ``chunk_lines`` physical lines, reading the file block by block."""
    if chunk_lines < 1:
        raise ValueError("chunk_lines must be at least 1")
    block_size = max(_MIN_BLOCK, min(_MAX_BLOCK, chunk_lines * 64))
    size = source.size()
    with _Stream(source) as stream:
        parts: list[bytes] = []
        counts: list[int] = []  # LFs in each pending part
        pending = 0
        line_no = 1
        done = stream.bom_len
        eof = False
        while True:
            while pending < chunk_lines and not eof:
                block = stream.read(block_size)
                if not block:
                    eof = True
                    break
                c = block.count(b"\n")
                parts.append(block)
                counts.append(c)
                pending += c
            if pending >= chunk_lines:
                need, i = chunk_lines, 0
                while counts[i] < need:
                    need -= counts[i]
                    i += 1
                cut = _nth_newline(parts[i], need) + 1
                head, rest = parts[i][:cut], parts[i][cut:]
                data = b"".join([*parts[:i], head])
                parts = ([rest] if rest else []) + parts[i + 1 :]
                counts = ([counts[i] - need] if rest else []) + counts[i + 1 :]
                pending -= chunk_lines
                done += len(data)
                raw = stream.raw_offset()
                yield RawChunk(line_no, data, chunk_lines, min(size, raw if raw else done))
                line_no += chunk_lines
                continue
            data = b"".join(parts)
            if data:
                n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
                yield RawChunk(line_no, data, n, size)
            return
