"""Text encoding detection and decoding of punch-log files (docs/terminals.md).

Order: BOM (UTF-8 / UTF-16), else UTF-8, else Windows-1258 (Vietnamese ANSI code page),
else Windows-1252, decided by counting what each candidate decodes (``EncodingSniffer``)
so one stray byte cannot flip a whole file. Lines are then decoded one by one in the file's
encoding, falling back to the other candidates for a line that is not valid in it; only
a line no candidate reads is rejected. Decoded text is normalised to NFC, because
Windows-1258 spells tone marks as combining characters.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from typing import BinaryIO

from .reasons import Reason, reason

BOM_UTF8 = codecs.BOM_UTF8
_BOMS_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_FALLBACKS = ("utf-8", "cp1258", "cp1252")

# Bytes that cannot be part of a clean line in the C tokenizer: ASCII controls except TAB
# and LF (CR is checked separately), DEL, and the UTF-8 form of the C1 controls.
_BAD_LINE_BYTES_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
_C1_RE = re.compile(rb"\xc2[\x80-\x9f]")
_NON_CONTROL_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))


def bom_encoding(head: bytes) -> str | None:
    """The encoding named by a byte-order mark at the start of ``head``, if any."""
    if head.startswith(BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(_BOMS_UTF16):
        return "utf-16"
    return None


_HIGH_BYTES = bytes(range(0x80, 0x100))


class EncodingSniffer:
    """Decide the encoding of a byte stream fed block by block (bounded memory).

    Undecodable bytes are counted, not just noticed, so one stray byte never flips the
    file (its line falls back on its own, see ``decode_line``): UTF-8 unless the bytes it
    cannot decode outnumber the non-ASCII characters it does decode more than four to one
    (random code-page text is almost never valid UTF-8); else Windows-1258, unless
    Windows-1252 decodes more than 1 % of the non-ASCII bytes better. All counting is
    done by C-level decodes and ``str.count``: no per-line Python work.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._utf8_bad = 0  # bytes UTF-8 cannot decode (U+FFFD produced)
        self._utf8_chars = 0  # non-ASCII characters the UTF-8 decoder produced (U+FFFD too)
        self._cp1258_seen = False  # UTF-8 failed somewhere: the code pages are counted
        self._compare = False  # cp1258 failed somewhere: cp1252 is counted against it
        self._cp_bad = {"cp1258": 0, "cp1252": 0}  # undecodable bytes since _compare
        self._cp_high = 0  # non-ASCII bytes since _compare

    def feed(self, block: bytes) -> None:
        """Check one more block of the stream."""
        pending = self._utf8.getstate()[0]
        # pure ASCII decodes the same under every candidate: the common case costs one scan
        if block.isascii() and not pending:
            return
        ascii_bytes = len(block.translate(None, _HIGH_BYTES))
        text = self._utf8.decode(block)
        bad = text.count("\ufffd")
        self._utf8_bad += bad
        # characters beyond the block's ASCII bytes (boundary-split characters shift this by
        # at most one per block)
        self._utf8_chars += max(0, len(text) - ascii_bytes)
        if not (bad or self._cp1258_seen):
            return
        self._cp1258_seen = True
        # a clean Windows-1258 file costs one decode per block, as a strict check would;
        # only once it fails is Windows-1252 decoded and both counted on the same bytes
        bad_1258 = block.decode("cp1258", errors="replace").count("\ufffd")
        if bad_1258 or self._compare:
            self._compare = True
            self._cp_high += len(block) - ascii_bytes
            self._cp_bad["cp1258"] += bad_1258
            self._cp_bad["cp1252"] += block.decode("cp1252", errors="replace").count("\ufffd")

    def result(self) -> str:
        """The file's encoding by the rules in the class docstring."""
        tail = self._utf8.decode(b"", final=True).count("\ufffd")
        bad = self._utf8_bad + tail
        good = self._utf8_chars + tail - bad
        if good * 4 >= bad:
            return "utf-8"
        if self._cp_bad["cp1258"] - self._cp_bad["cp1252"] > self._cp_high / 100:
            return "cp1252"
        return "cp1258"


def detect_encoding(data: bytes) -> str:
    """Detect the encoding of a whole file's bytes per docs/terminals.md (BOM, UTF-8, cp1258, cp1252)."""
    bom = bom_encoding(data)
    if bom is not None:
        return bom
    sniffer = EncodingSniffer()
    sniffer.feed(data)
    return sniffer.result()


def nfc(text: str) -> str:
    """Normalise text to NFC (cheap when it already is)."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Decode bytes (detecting the encoding when not given) to NFC text, never raising.

    Lines that are not valid in ``encoding`` fall back line by line (see ``decode_line``);
    bytes no candidate reads become U+FFFD.
    """
    enc = encoding or detect_encoding(data)
    try:
        return nfc(data.decode(enc))
    except UnicodeDecodeError:
        if enc.startswith("utf-16"):  # LF is not one byte in UTF-16: no line split here
            return nfc(data.decode(enc, errors="replace"))
    codec = enc
    return "\n".join(decode_line(line, codec)[0] for line in data.split(b"\n"))


def undecodable_reason(line: bytes, exc: UnicodeDecodeError, encoding: str) -> Reason:
    """Reject reason for a line that no candidate encoding decodes."""
    bad = line[exc.start : exc.start + 1]
    others = [e for e in _FALLBACKS if e != encoding]
    return reason("undecodable", encoding=encoding, others=" nor ".join(others), byte=bad.hex(),
                  offset=exc.start)


def decode_line(raw: bytes, codec: str) -> tuple[str, Reason | None]:
    """Decode one line in the file's codec, else in the other candidates; NFC.

    Returns (text, None), or (text with U+FFFD, reason) when no candidate decodes it: one
    stray byte costs only its own line, never the file's encoding.
    """
    try:
        return nfc(raw.decode(codec)), None
    except UnicodeDecodeError as exc:
        first = exc
    for other in _FALLBACKS:
        if other != codec:
            try:
                return nfc(raw.decode(other)), None
            except UnicodeDecodeError:
                continue
    return nfc(raw.decode(codec, errors="replace")), undecodable_reason(raw, first, codec)


@dataclass
class DecodedLines:
    """A run of physical lines decoded to NFC text (trailing CR removed)."""

    lines: list[str]
    errors: dict[int, Reason] = field(default_factory=dict)  # index -> reason (undecodable)


def _codec(encoding: str) -> str:
    # the chunk readers strip BOMs and transcode UTF-16 to UTF-8 before lines get here
    return "utf-8" if encoding in ("utf-8-sig", "utf-16") else encoding


def decode_lines(data: bytes, encoding: str) -> DecodedLines:
    """Split ``data`` into physical lines on LF and decode each one (undecodable ones noted)."""
    codec = _codec(encoding)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        text = None
    if text is not None:
        lines = nfc(text).split("\n")
        if data.endswith(b"\n"):
            lines.pop()
        return DecodedLines([ln[:-1] if ln.endswith("\r") else ln for ln in lines])
    raw_lines = data.split(b"\n")
    if data.endswith(b"\n"):
        raw_lines.pop()
    out: list[str] = []
    errors: dict[int, Reason] = {}
    for i, raw in enumerate(raw_lines):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text, reason = decode_line(raw, codec)
        out.append(text)
        if reason is not None:
            errors[i] = reason
    return DecodedLines(out, errors)


@dataclass
class TokenizerBuffer:
    """UTF-8 bytes safe for the pandas C tokenizer: exactly one row per physical line.

    Lines the tokenizer could mis-split (control bytes, a stray CR, a BOM, undecodable
    bytes) are blanked in ``data`` and listed in ``special`` for the per-line parser.
    The text is *not* NFC-normalised here (too slow on whole chunks): NFC never touches
    the ASCII spaces/tabs the tokenizer splits on, so callers normalise the distinct
    tokens they keep instead (``is_ascii`` tells when that is unnecessary).
    """

    data: bytes
    special: dict[int, Reason | None]  # line index -> undecodable reason, or None
    is_ascii: bool = False
    text_lines: list[str] | None = None  # decoded lines, filled lazily by line_text()

    def line_text(self, index: int, original: bytes, encoding: str) -> str:
        """Decoded NFC text of one line of the original chunk (for the per-line parser)."""
        if self.text_lines is None:
            self.text_lines = decode_lines(original, encoding).lines
        return self.text_lines[index]


def tokenizer_buffer(data: bytes, encoding: str) -> TokenizerBuffer:
    """Turn a chunk of complete lines into UTF-8 bytes the C tokenizer splits safely."""
    codec = _codec(encoding)
    is_ascii = data.isascii()
    utf8: bytes | None
    if is_ascii:
        utf8 = data
    else:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            utf8 = None
        else:
            utf8 = data if codec == "utf-8" else text.encode("utf-8")
    if utf8 is not None and _looks_clean(utf8):
        return TokenizerBuffer(utf8, {}, is_ascii)
    buf = _blank_special_lines(data, utf8, codec)
    buf.is_ascii = is_ascii
    return buf


def _looks_clean(buf: bytes) -> bool:
    """Fast whole-buffer check that no line needs the per-line parser."""
    if buf.startswith(BOM_UTF8):
        # the C parser silently drops a BOM at the start of its input
        return False
    controls = buf.translate(None, _NON_CONTROL_BYTES)  # one pass; keeps TAB/LF/CR/...
    if controls.translate(None, b"\t\n\r"):
        return False  # some other control byte
    if b"\r" in controls and controls.count(b"\r") != buf.count(b"\r\n"):
        return False  # a lone CR would end a row early in the tokenizer
    if not buf.isascii() and b"\xc2" in buf and _C1_RE.search(buf):
        return False
    return True


def _blank_special_lines(data: bytes, utf8: bytes | None, codec: str) -> TokenizerBuffer:
    special: dict[int, Reason | None] = {}
    if utf8 is None:
        # some lines do not decode: decode line by line, blanking the bad ones
        lines: list[bytes] = []
        for i, raw in enumerate(data.split(b"\n")):
            body = raw[:-1] if raw.endswith(b"\r") else raw
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                # another candidate may read the line (decode_line); the per-line parser
                # re-decodes it the same way, so the line goes there
                text, reason = decode_line(body, codec)
                special[i] = reason
                lines.append(b"")
                continue
            lines.append(raw if codec == "utf-8" else text.encode("utf-8") + raw[len(body) :])
    else:
        lines = utf8.split(b"\n")
    for i, raw in enumerate(lines):
        if i in special:
            continue
        body = raw[:-1] if raw.endswith(b"\r") else raw
        if b"\r" in body or _BAD_LINE_BYTES_RE.search(body) or (i == 0 and body[:3] == BOM_UTF8):
            special[i] = None
            lines[i] = b""
    return TokenizerBuffer(b"\n".join(lines), special)


class Utf16ToUtf8Reader:
    """A binary stream view that transcodes a UTF-16 file (BOM first) to UTF-8."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        # undecodable code units become U+FFFD; user-id checks refuse that character
        self._decoder = codecs.getincrementaldecoder("utf-16")("replace")
        self._done = False
        self.raw_consumed = 0

    def read(self, size: int = -1) -> bytes:
        """Read about ``size`` bytes of UTF-8 (b'' at end of file)."""
        while not self._done:
            block = self._raw.read(size if size > 0 else -1)
            self.raw_consumed += len(block)
            final = not block or size <= 0
            text = self._decoder.decode(block, final=final)
            if final:
                self._done = True
            if text:
                return text.encode("utf-8")  # NFC is applied later, per line or per token
        return b""
