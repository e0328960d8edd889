"""The ZK binary protocol codec, in one place: packets, checksum, TCP envelope, time, records.

Facts are from docs/terminals.md unless a comment says "public descriptions" (see README.md).
Nothing here does I/O; the client, the transports and the simulator all build on it.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, NamedTuple

from .errors import ChecksumMismatch, CodecError, FramingError, InvalidZKTime, PayloadSizeError


class Cmd(IntEnum):
    """Command and reply codes (decimal values of docs/terminals.md)."""

    USERTEMP_RRQ = 9  # public descriptions: with function FCT_USER, the user table
    OPTIONS_RRQ = 11  # public descriptions: read one "Name=Value" option
    ATTLOG_RRQ = 13
    CLEAR_ATTLOG = 15
    GET_FREE_SIZES = 50
    GET_PINWIDTH = 69  # public descriptions: the number of digits of a PIN
    GET_TIME = 201
    SET_TIME = 202
    REG_EVENT = 500
    CONNECT = 1000
    EXIT = 1001
    ENABLEDEVICE = 1002
    DISABLEDEVICE = 1003
    REFRESHDATA = 1013  # public descriptions: makes SET_TIME / CLEAR_ATTLOG take effect
    GET_VERSION = 1100  # public descriptions: the firmware version text
    AUTH = 1102
    PREPARE_DATA = 1500
    DATA = 1501
    FREE_DATA = 1502
    PREPARE_BUFFER = 1503
    READ_BUFFER = 1504
    ACK_OK = 2000
    ACK_ERROR = 2001
    ACK_DATA = 2002
    ACK_UNAUTH = 2005
    ACK_UNKNOWN = 0xFFFF  # public descriptions: the reply to a command the terminal lacks


def command_name(code: int) -> str:
    """A code as people read it in an error message, e.g. 'GET_FREE_SIZES (50)'."""
    try:
        return f"{Cmd(code).name} ({code})"
    except ValueError:
        return f"command {code}"


# --------------------------------------------------------------------------- packets

HEADER = struct.Struct("<HHHH")  # command, checksum, session id, reply id
HEADER_SIZE = HEADER.size
USHRT = 0xFFFF


def _ones_sum(packet: bytes | bytearray | memoryview, minus_word1: int = 0) -> int:
    """Ones'-complement sum of the packet's little-endian u16 words, carries folded.

    The little-endian integer of the whole packet is sum(w_i * 65536**i), and
    65536 = 1 (mod 65535), so its remainder mod 65535 is the folded word sum; this runs in
    C, which matters for 64 KiB data packets. An odd length needs no padding: in little
    endian the last byte is already the low byte of a zero-padded word. ``minus_word1``
    removes the checksum field (word 1) from the sum instead of copying the packet.
    """
    total = int.from_bytes(packet, "little") - (minus_word1 << 16)
    if total == 0:
        return 0
    folded = total % USHRT
    return folded or USHRT  # folding a non-zero sum never gives 0, it gives 0xFFFF


def checksum(packet: bytes | bytearray | memoryview) -> int:
    """The checksum of a packet whose checksum field (bytes 2-3) is zero."""
    return USHRT - _ones_sum(packet)


@dataclass(frozen=True, slots=True)
class Packet:
    """A decoded packet: header fields and data."""

    command: int
    checksum: int
    session: int
    reply: int
    data: bytes = b""

    @property
    def name(self) -> str:
        """The command or reply code by name."""
        return command_name(self.command)


def pack_packet(command: int, session: int, reply: int, data: bytes = b"") -> bytes:
    """A complete packet (header with checksum, then data), not enveloped."""
    buf = bytearray(HEADER.pack(command, 0, session & USHRT, reply & USHRT))
    buf += data
    struct.pack_into("<H", buf, 2, checksum(buf))
    return bytes(buf)


def unpack_packet(raw: bytes, verify: bool = True) -> Packet:
    """Decode a packet; with ``verify`` a wrong checksum raises ChecksumMismatch."""
    if len(raw) < HEADER_SIZE:
        raise CodecError(f"a packet of {len(raw)} bytes is shorter than the 8-byte header")
    command, carried, session, reply = HEADER.unpack_from(raw)
    if verify:
        expected = USHRT - _ones_sum(raw, minus_word1=carried)
        if expected != carried:
            raise ChecksumMismatch(
                f"{command_name(command)} packet of {len(raw)} bytes carries checksum"
                f" 0x{carried:04X} but its contents give 0x{expected:04X}"
            )
    return Packet(command, carried, session, reply, bytes(raw[HEADER_SIZE:]))


# --------------------------------------------------------------------------- TCP envelope

TCP_MAGIC = b"\x50\x50\x82\x7d"
ENVELOPE = struct.Struct("<4sI")  # magic, u32 length of the packet
# A terminal's largest reply is one read-buffer chunk (<= 64 KiB) or a direct DATA reply;
# a length beyond this means the stream is corrupt, not that a huge packet is coming.
MAX_PACKET = 16 * 1024 * 1024


def envelope(packet: bytes) -> bytes:
    """Wrap a packet for a byte stream: ``50 50 82 7D`` + u32 LE length + packet."""
    return ENVELOPE.pack(TCP_MAGIC, len(packet)) + packet


class StreamReassembler:
    """Cut enveloped packets out of a byte stream fed in arbitrary pieces.

    Handles partial reads (a packet split over several feeds) and several packets in one
    feed. ``prefix_len`` bytes before the magic belong to each frame (e.g. an RS485
    address byte) and are returned with it. Strict mode (TCP) raises FramingError on bytes
    that are not an envelope, because a TCP stream cannot recover its framing by itself;
    with ``resync`` (serial lines, where noise happens) such bytes are skipped up to the
    next magic and counted in ``discarded``.
    """

    def __init__(self, prefix_len: int = 0, resync: bool = False, max_packet: int = MAX_PACKET):
        self._buf = bytearray()
        self.prefix_len = prefix_len
        self.resync = resync
        self.max_packet = max_packet
        self.discarded = 0

    def __len__(self) -> int:
        return len(self._buf)

    def reset(self) -> None:
        """Forget buffered bytes (e.g. after a timeout on a serial line)."""
        self._buf.clear()

    def wanted(self) -> int:
        """Bytes still needed to complete the frame being received (at least 1).

        Lets a serial reader ask for exactly what completes a frame: pyserial's socket://
        handler reports at most 1 byte waiting, so reading "what is waiting" would crawl.
        """
        buf, p = self._buf, self.prefix_len
        head = p + ENVELOPE.size
        if len(buf) < head:
            return head - len(buf)
        if bytes(buf[p: p + 4]) != TCP_MAGIC:
            return 1
        length = int.from_bytes(buf[p + 4: p + 8], "little")
        if not HEADER_SIZE <= length <= self.max_packet:
            return 1
        return max(1, head + length - len(buf))

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the packets completed by them, in order."""
        return [packet for _, packet in self.feed_frames(data)]

    def feed_frames(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Add bytes; return (prefix, packet) of each frame completed by them."""
        buf = self._buf
        buf += data
        out: list[tuple[bytes, bytes]] = []
        p = self.prefix_len
        pos = 0
        while True:
            avail = len(buf) - pos
            head = bytes(buf[pos + p: pos + p + 4])
            if head != TCP_MAGIC[: len(head)]:
                pos = self._bad_bytes(pos, f"expected the envelope magic 50 50 82 7D, got {head.hex(' ')}")
                if pos < 0:
                    pos = 0
                    break
                continue
            if avail < p + ENVELOPE.size:
                break
            length = int.from_bytes(buf[pos + p + 4: pos + p + 8], "little")
            if not HEADER_SIZE <= length <= self.max_packet:
                pos = self._bad_bytes(pos, f"envelope announces a packet of {length} bytes")
                if pos < 0:
                    pos = 0
                    break
                continue
            end = pos + p + ENVELOPE.size + length
            if len(buf) < end:
                break
            out.append((bytes(buf[pos: pos + p]), bytes(buf[pos + p + ENVELOPE.size: end])))
            pos = end
        del buf[:pos]
        return out

    def _bad_bytes(self, pos: int, problem: str) -> int:
        """Strict: raise. Resync: the position of the next candidate frame, or -1 to wait."""
        buf = self._buf
        if not self.resync:
            sample = bytes(buf[pos: pos + 16]).hex(" ")
            buf.clear()
            raise FramingError(f"stream out of sync: {problem} (bytes: {sample})")
        found = buf.find(TCP_MAGIC, pos + self.prefix_len + 1)
        if found < 0:
            # keep a tail that could be the start of a magic (and its prefix)
            keep = self.prefix_len + len(TCP_MAGIC) - 1
            drop = max(pos, len(buf) - keep)
            self.discarded += drop - pos
            del buf[:drop]
            return -1
        start = max(pos + 1, found - self.prefix_len)
        self.discarded += start - pos
        return start


# --------------------------------------------------------------------------- time

_DAY = 86400
_YEAR_SECONDS = 12 * 31 * _DAY
MAX_ZK_TIME = 0xFFFFFFFF


def encode_time(dt: datetime) -> int:
    """ZK time of a naive device-local datetime (not Unix time; docs/terminals.md)."""
    if dt.year < 2000:
        raise InvalidZKTime(f"{dt:%Y-%m-%d %H:%M:%S} is before 2000, which ZK time cannot hold")
    value = (
        ((dt.year - 2000) * 12 * 31 + (dt.month - 1) * 31 + dt.day - 1) * _DAY
        + (dt.hour * 60 + dt.minute) * 60
        + dt.second
    )
    if value > MAX_ZK_TIME:
        raise InvalidZKTime(f"{dt:%Y-%m-%d %H:%M:%S} is beyond the range of ZK time")
    return value


def _split_time(value: int) -> tuple[int, int, int, int, int, int]:
    rest, second = divmod(value, 60)
    rest, minute = divmod(rest, 60)
    rest, hour = divmod(rest, 24)
    rest, day = divmod(rest, 31)
    years, month = divmod(rest, 12)
    return 2000 + years, month + 1, day + 1, hour, minute, second


def _why(code: str, **params: str | int) -> Any:
    """A rejection Reason (devices.parsers.reasons) for a record that cannot be decoded."""
    # Imported here: the parsers' package loads pandas, which decoding good records never needs.
    from devices.parsers.reasons import reason

    return reason(code, **params)


def decode_time(value: int) -> datetime:
    """The naive device-local datetime of a ZK time; InvalidZKTime if the date is impossible."""
    if not 0 <= value <= MAX_ZK_TIME:
        raise InvalidZKTime.because(_why("zk_time_out_of_range", value=value))
    parts = _split_time(value)
    try:
        return datetime(*parts)
    except ValueError:
        y, mo, d, h, mi, s = parts
        date = f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"
        raise InvalidZKTime.because(_why("zk_time_invalid", value=value, date=date)) from None


class _TimeDecoder:
    """decode_time with the calendar part cached per day (records share days)."""

    def __init__(self) -> None:
        self._days: dict[int, tuple[int, int, int] | None] = {}

    def __call__(self, value: int) -> datetime:
        day_index, secs = divmod(value, _DAY)
        ymd = self._days.get(day_index, False)
        if ymd is False:
            y, mo, d, _, _, _ = _split_time(day_index * _DAY)
            try:
                datetime(y, mo, d)
                ymd = (y, mo, d)
            except ValueError:
                ymd = None
            self._days[day_index] = ymd
        if ymd is None:
            return decode_time(value)  # raises with the full explanation
        hm, s = divmod(secs, 60)
        h, mi = divmod(hm, 60)
        return datetime(ymd[0], ymd[1], ymd[2], h, mi, s)


# --------------------------------------------------------------------------- records

RECORD_WIDTHS = (8, 16, 40, 49)
LAYOUT8_TIME3 = "time@3"  # uid u16, verify u8, time u32 at offset 3, status u8
LAYOUT8_TIME4 = "time@4"  # uid u16, verify u8, status u8, time u32 at offset 4 (variant)
LAYOUT8_AUTO = "auto"

_S8_T3 = struct.Struct("<HBIB")
_S8_T4 = struct.Struct("<HBBI")
_S16 = struct.Struct("<IIBB2sI")  # user id, time, status, verify, reserved, work code
_S40 = struct.Struct("<H24sBIB8s")  # uid, user id, verify, time, status, reserved
_S49 = struct.Struct("<H24sBIB8s9s")  # the 40-byte layout + 9 unknown bytes
_USER_ID_FIELD = 24
_EXTRA49 = 9


class AttendanceRecord(NamedTuple):
    """One punch as the terminal stores it; ``timestamp`` is naive device-local time.

    A NamedTuple: immutable and hashable like a frozen dataclass, but four times cheaper
    to build, which counts when a pull decodes 100,000 of them.
    """

    user_id: str
    timestamp: datetime
    status: int
    verify: int
    work_code: int | None
    uid: int | None
    raw: bytes


@dataclass
class DecodedRecords:
    """Records decoded from a payload, the quarantined ones, and the layout used."""

    records: list[AttendanceRecord]
    quarantined: list[tuple[bytes, Any]]  # (raw record, devices.parsers.reasons.Reason)
    width: int
    layout: str  # "8/time@3", "8/time@4", "16", "40" or "49"


def infer_width(size: int, count: int | None = None, width: int | None = None) -> int:
    """The record width of a payload of ``size`` bytes holding ``count`` records.

    A given ``width`` is checked, not trusted. Without one, the width must be the only
    known width that divides the size, or the one that gives exactly ``count`` records;
    anything else is refused (PayloadSizeError) rather than guessed.
    """
    if width is not None:
        if width not in RECORD_WIDTHS:
            raise PayloadSizeError(f"record width {width} is not one of {RECORD_WIDTHS}")
        if size % width:
            raise PayloadSizeError(f"{size} bytes is not a whole number of {width}-byte records")
        return width
    if size == 0:
        return 0
    candidates = [w for w in RECORD_WIDTHS if size % w == 0]
    if not candidates:
        raise PayloadSizeError(
            f"{size} bytes is not a multiple of any known record width {RECORD_WIDTHS}"
        )
    if count:
        exact = [w for w in candidates if size // w == count]
        if exact:
            return exact[0]
    if len(candidates) == 1:
        return candidates[0]
    told = f" for {count} records" if count else ""
    raise PayloadSizeError(
        f"{size} bytes{told} could be records of width {' or '.join(map(str, candidates))};"
        " refusing to guess (configure the width)"
    )


def _plausible_range() -> tuple[int, int]:
    # ZK-family terminals are sold since the mid-2000s; a clock beyond next year is wrong.
    # The bounds only choose between the two 8-byte layouts, they never reject a record.
    upper = datetime.now().year + 2
    return encode_time(datetime(2005, 1, 1)), encode_time(datetime(upper, 1, 1))


def choose_layout8(payload: bytes, sample: int = 2000) -> str:
    """Pick the 8-byte layout whose times are plausible for more records (ties: time@3).

    Read with the wrong layout, times land either in 2000-2002 (the status byte becomes
    the high byte) or all over 2000-2133, so counting the records dated 2005..next year
    in a sample of the payload separates the two layouts.
    """
    n = len(payload) // 8
    if n == 0:
        return LAYOUT8_TIME3
    step = max(1, n // sample)
    lo, hi = _plausible_range()
    decode = _TimeDecoder()
    score = {LAYOUT8_TIME3: 0, LAYOUT8_TIME4: 0}
    for i in range(0, n, step):
        off = i * 8
        for layout, value in (
            (LAYOUT8_TIME3, _S8_T3.unpack_from(payload, off)[2]),
            (LAYOUT8_TIME4, _S8_T4.unpack_from(payload, off)[3]),
        ):
            if lo <= value < hi:
                try:
                    decode(value)
                except InvalidZKTime:
                    continue
                score[layout] += 1
    return LAYOUT8_TIME4 if score[LAYOUT8_TIME4] > score[LAYOUT8_TIME3] else LAYOUT8_TIME3


def _text_user_id(field: bytes) -> str:
    """The PIN of a 24-byte NUL-padded field; CodecError if it is not printable ASCII."""
    value = field.split(b"\0", 1)[0]
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise CodecError.because(_why("zk_user_id_not_ascii", value=repr(value))) from None
    text = text.strip()
    if not text:
        raise CodecError.because(_why("zk_user_id_empty"))
    if not text.isprintable():
        raise CodecError.because(_why("zk_user_id_control", value=repr(value)))
    return text


def _day(day_index: int) -> tuple[int, int, int] | None:
    """(year, month, day) of a ZK day number, None if that date does not exist."""
    y, mo, d, _, _, _ = _split_time(day_index * _DAY)
    try:
        datetime(y, mo, d)
    except ValueError:
        return None
    return y, mo, d


def decode_records(
    payload: bytes,
    width: int | None = None,
    count: int | None = None,
    layout8: str = LAYOUT8_AUTO,
    users: UserTable | None = None,
) -> DecodedRecords:
    """Decode fixed-width attendance records (no size prefix).

    The width is checked or inferred with ``infer_width`` (PayloadSizeError if the size
    fits no known width). A record whose time is not a valid date, or whose user id is not
    readable, is quarantined as (raw bytes, reason) and never guessed. 8-byte records carry
    only the uid: with ``users`` it is mapped to the PIN, and a uid the table cannot map is
    quarantined; without it the uid itself (as text) is the user id.
    """
    width = infer_width(len(payload), count, width)
    if width == 0:
        return DecodedRecords([], [], 0, "")
    layout = str(width)
    # every layout as rows of (user id field, verify, status, time, work code, uid)
    rows: Iterable[tuple[object, int, int, int, int | None, int | None]]
    if width == 8:
        chosen = choose_layout8(payload) if layout8 == LAYOUT8_AUTO else layout8
        if chosen == LAYOUT8_TIME3:
            rows = ((u, v, s, t, None, u) for u, v, t, s in _S8_T3.iter_unpack(payload))
        elif chosen == LAYOUT8_TIME4:
            rows = ((u, v, s, t, None, u) for u, v, s, t in _S8_T4.iter_unpack(payload))
        else:
            raise ValueError(f"layout8 must be auto, {LAYOUT8_TIME3} or {LAYOUT8_TIME4}")
        layout = f"8/{chosen}"
    elif width == 16:
        rows = ((p, v, s, t, w, None) for p, t, s, v, _, w in _S16.iter_unpack(payload))
    else:
        unpack = (_S40 if width == 40 else _S49).iter_unpack(payload)
        rows = ((f[1], f[2], f[4], f[3], None, f[0]) for f in unpack)
    textual = width >= 40
    records: list[AttendanceRecord] = []
    quarantined: list[tuple[bytes, str]] = []
    append = records.append
    # days and user ids repeat across a log: each is worked out once per payload
    days: dict[int, tuple[int, int, int] | None] = {}
    ids: dict[object, str] = {}
    for i, (pin, verify, status, value, work, uid) in enumerate(rows):
        off = i * width
        raw = payload[off: off + width]
        day_index, secs = divmod(value, _DAY)
        ymd = days.get(day_index, False)
        if ymd is False:
            ymd = days[day_index] = _day(day_index)
        user_id = ids.get(pin)
        try:
            if ymd is None:
                decode_time(value)  # raises with the full explanation
            if user_id is None:
                if textual:
                    user_id = _text_user_id(pin)  # type: ignore[arg-type]
                elif width == 8 and users is not None:
                    user_id = users.pin_of(pin)  # type: ignore[arg-type]
                else:
                    user_id = str(pin)
                ids[pin] = user_id
        except CodecError as exc:
            why = exc.reason or _why("zk_time_invalid", value=value, date=str(exc))
            quarantined.append((raw, why.at("record", record=i + 1, byte=off)))
            continue
        hm, second = divmod(secs, 60)
        hour, minute = divmod(hm, 60)
        append(AttendanceRecord(
            user_id, datetime(ymd[0], ymd[1], ymd[2], hour, minute, second),  # type: ignore[index]
            status, verify, work, uid, raw,
        ))
    return DecodedRecords(records, quarantined, width, layout)


def decode_attlog_buffer(
    buffer: bytes,
    count: int | None = None,
    width: int | None = None,
    layout8: str = LAYOUT8_AUTO,
    users: UserTable | None = None,
) -> DecodedRecords:
    """Decode a whole ATTLOG download: ``u32 size of the records`` + the records."""
    if not buffer:
        return DecodedRecords([], [], width or 0, "")
    if len(buffer) < 4:
        raise PayloadSizeError(f"attendance data of {len(buffer)} bytes lacks its 4-byte size")
    announced = int.from_bytes(buffer[:4], "little")
    payload = buffer[4:]
    if announced != len(payload):
        raise PayloadSizeError(
            f"attendance data announces {announced} bytes of records but carries {len(payload)}"
        )
    return decode_records(payload, width, count, layout8, users)


def _numeric_id(rec: AttendanceRecord, limit: int, width: int) -> int:
    if rec.user_id.isdigit() and int(rec.user_id) <= limit:
        return int(rec.user_id)
    raise ValueError(
        f"user id {rec.user_id!r} cannot be stored in a {width}-byte record (a number up to {limit})"
    )


def encode_record(
    rec: AttendanceRecord, width: int, layout8: str = LAYOUT8_TIME3, uid: int | None = None
) -> bytes:
    """The terminal's bytes for one record (what the simulator serves; tests round-trip it).

    Widths 8 and 16 hold the user id as a number, so '00042' is stored as 42, as a real
    terminal with such records would; 40 and 49 hold it as up to 24 ASCII characters.
    """
    value = encode_time(rec.timestamp)
    if width == 8:
        pin = rec.uid if rec.uid is not None else _numeric_id(rec, USHRT, 8)
        if layout8 == LAYOUT8_TIME4:
            return _S8_T4.pack(pin, rec.verify, rec.status, value)
        return _S8_T3.pack(pin, rec.verify, value, rec.status)
    if width == 16:
        pin = _numeric_id(rec, 0xFFFFFFFF, 16)
        return _S16.pack(pin, value, rec.status, rec.verify, b"\0\0", rec.work_code or 0)
    if width in (40, 49):
        text = rec.user_id.encode("ascii")
        if not text or len(text) > _USER_ID_FIELD:
            raise ValueError(f"user id {rec.user_id!r} does not fit the 24-byte user id field")
        slot = rec.uid if rec.uid is not None else (uid or 0)
        body = _S40.pack(slot, text, rec.verify, value, rec.status, bytes(8))
        return body + bytes(_EXTRA49) if width == 49 else body
    raise ValueError(f"record width {width} is not one of {RECORD_WIDTHS}")


def encode_records(
    records: Iterable[AttendanceRecord], width: int, layout8: str = LAYOUT8_TIME3
) -> bytes:
    """Records back to back; 40/49-byte records without a uid get one slot per user id."""
    slots: dict[str, int] = {}
    parts = []
    for rec in records:
        slot = slots.setdefault(rec.user_id, len(slots) + 1)
        parts.append(encode_record(rec, width, layout8, uid=slot))
    return b"".join(parts)


def build_attlog_buffer(payload: bytes) -> bytes:
    """The ATTLOG download of a records payload: u32 size + records."""
    return struct.pack("<I", len(payload)) + payload


# --------------------------------------------------------------------------- command data

FCT_USER = 5  # public descriptions: the function code of the user table in 1503


def prepare_buffer_request(table: int = Cmd.ATTLOG_RRQ, fct: int = 0) -> bytes:
    """Data of 1503 asking for a whole table: (1, table, fct, 0) as u8, u16, u32, u32."""
    return struct.pack("<BHII", 1, table, fct, 0)


def parse_prepare_buffer_request(data: bytes) -> tuple[int, int]:
    """(table, function) asked for by a 1503 request (simulator side); function 0 if absent."""
    if len(data) < 3:
        raise CodecError(f"prepare-buffer request of {len(data)} bytes is too short")
    table = struct.unpack_from("<BH", data)[1]
    fct = int.from_bytes(data[3:7], "little") if len(data) >= 7 else 0
    return table, fct


def read_buffer_request(start: int, size: int) -> bytes:
    """Data of 1504: (start, size) as two u32 (public descriptions: offset, then length)."""
    return struct.pack("<II", start, size)


def parse_read_buffer_request(data: bytes) -> tuple[int, int]:
    """(start, size) of a 1504 request (simulator side)."""
    if len(data) < 8:
        raise CodecError(f"read-buffer request of {len(data)} bytes is too short")
    start, size = struct.unpack_from("<II", data)
    return start, size


def buffer_size_reply(total: int) -> bytes:
    """ACK_OK data answering 1503 for a large result (public descriptions: 0, size, size, ?)."""
    return struct.pack("<BIII", 0, total, total, 0)


def parse_buffer_size_reply(data: bytes) -> int:
    """The total size announced in the ACK_OK answer to 1503."""
    if len(data) < 5:
        raise CodecError(f"prepare-buffer answer of {len(data)} bytes carries no size")
    return int.from_bytes(data[1:5], "little")


@dataclass(frozen=True)
class FreeSizes:
    """GET_FREE_SIZES: counts and capacities (None when the reply is too short to say)."""

    records: int  # attendance log records stored
    records_capacity: int | None
    records_available: int | None
    users: int
    users_capacity: int | None
    fingers: int
    fingers_capacity: int | None
    oplogs: int
    faces: int | None
    faces_capacity: int | None
    raw: bytes


# u32 LE offsets of the 92-byte reply (public descriptions; older firmware sends 80 bytes)
_FS_OFFSETS = {
    "users": 16, "fingers": 24, "records": 32, "oplogs": 40, "fingers_capacity": 56,
    "users_capacity": 60, "records_capacity": 64, "records_available": 76, "faces": 80,
    "faces_capacity": 88,
}


def parse_free_sizes(data: bytes) -> FreeSizes:
    """Decode a GET_FREE_SIZES reply; at least the attendance record count must be there."""
    if len(data) < 36:
        raise CodecError(f"GET_FREE_SIZES reply of {len(data)} bytes lacks the record count")

    def field(name: str) -> int | None:
        off = _FS_OFFSETS[name]
        return int.from_bytes(data[off: off + 4], "little") if len(data) >= off + 4 else None

    return FreeSizes(
        records=field("records") or 0,
        records_capacity=field("records_capacity"),
        records_available=field("records_available"),
        users=field("users") or 0,
        users_capacity=field("users_capacity"),
        fingers=field("fingers") or 0,
        fingers_capacity=field("fingers_capacity"),
        oplogs=field("oplogs") or 0,
        faces=field("faces"),
        faces_capacity=field("faces_capacity"),
        raw=bytes(data),
    )


def build_free_sizes(records: int, records_capacity: int, users: int = 0,
                     users_capacity: int = 3000) -> bytes:
    """A 92-byte GET_FREE_SIZES reply (simulator side)."""
    buf = bytearray(92)
    values = {
        "users": users, "records": records, "users_capacity": users_capacity,
        "records_capacity": records_capacity,
        "records_available": max(0, records_capacity - records),
    }
    for name, value in values.items():
        struct.pack_into("<I", buf, _FS_OFFSETS[name], value)
    return bytes(buf)


def make_commkey(key: int, session_id: int, ticks: int = 50) -> bytes:
    """The 4 data bytes of AUTH for a comm key (public descriptions; unverified on hardware).

    Steps: reverse the 32 bits of the key, add the session id, XOR the four bytes with
    'Z', 'K', 'S', 'O', swap the two 16-bit halves, then XOR bytes 0, 1 and 3 with the
    low byte of ``ticks`` and put that byte itself in byte 2.
    """
    if not 0 <= key <= 0xFFFFFFFF:
        raise ValueError(f"comm key {key} is not an unsigned 32-bit number")
    reversed_key = int(f"{key:032b}"[::-1], 2)
    scrambled = (reversed_key + session_id) & 0xFFFFFFFF
    b = bytearray(scrambled.to_bytes(4, "little"))
    for i, c in enumerate(b"ZKSO"):
        b[i] ^= c
    b = b[2:4] + b[0:2]
    t = ticks & 0xFF
    return bytes((b[0] ^ t, b[1] ^ t, t, b[3] ^ t))


def records_from_rows(rows: Sequence[tuple[str, datetime, int, int, int | None]]) -> list[AttendanceRecord]:
    """AttendanceRecords (raw empty) from (user_id, timestamp, status, verify, work_code) rows."""
    return [AttendanceRecord(u, t, s, v, w, None, b"") for u, t, s, v, w in rows]


# --------------------------------------------------------------------------- user table

USER_WIDTHS = (28, 72)
# public descriptions (and pyzk's reading of them):
# 28 bytes: uid u16, privilege u8, password 5, name 8, card u32, pad, group u8, timezone
#           i16, user id (PIN) u32 -- terminals with 8-byte attendance records
# 72 bytes: uid u16, privilege u8, password 8, name 24, card u32, pad, group 7, pad,
#           user id (PIN) 24 ASCII -- the others
_U28 = struct.Struct("<HB5s8sIxBhI")
_U72 = struct.Struct("<HB8s24sIx7sx24s")


class UserEntry(NamedTuple):
    """One row of a terminal's user table: the slot ``uid`` and the PIN people know."""

    uid: int
    user_id: str
    name: str = ""
    privilege: int = 0
    password: str = ""
    card: int = 0
    group: str = ""


def user_width_for(record_width: int) -> int:
    """The user-record width of a terminal whose attendance records are ``record_width``."""
    return 28 if record_width == 8 else 72


def _field_text(field: bytes, encoding: str) -> str:
    """NUL-terminated text, NFC; a character cut by the end of a full field is dropped.

    Not valid in ``encoding``: Windows-1258 (then 1252's superset of ASCII), the fallback
    of the file imports, since Vietnamese terminal software writes that code page.
    """
    value = field.split(b"\0", 1)[0]
    try:
        text = value.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and len(value) == len(field):
            text = value[: exc.start].decode(encoding, errors="replace")  # cut mid-character
        else:
            text = value.decode("cp1258", errors="replace")
    return unicodedata.normalize("NFC", text).strip()


def _fit(text: str, size: int, encoding: str) -> bytes:
    data = text.encode(encoding)
    if len(data) > size:
        raise ValueError(f"{text!r} does not fit a {size}-byte field")
    return data


def encode_user(user: UserEntry, width: int, encoding: str = "utf-8") -> bytes:
    """The terminal's bytes for one user (what the simulator serves)."""
    if width == 28:
        if not (user.user_id.isdigit() and int(user.user_id) <= 0xFFFFFFFF):
            raise ValueError(
                f"user id {user.user_id!r} cannot be stored in a 28-byte user record"
                " (a number up to 4294967295)"
            )
        group = int(user.group) if user.group.isdigit() else 0
        return _U28.pack(user.uid, user.privilege, _fit(user.password, 5, encoding),
                         _fit(user.name, 8, encoding), user.card, group, 0, int(user.user_id))
    if width == 72:
        return _U72.pack(user.uid, user.privilege, _fit(user.password, 8, encoding),
                         _fit(user.name, 24, encoding), user.card,
                         _fit(user.group, 7, encoding), _fit(user.user_id, 24, "ascii"))
    raise ValueError(f"user record width {width} is not one of {USER_WIDTHS}")


def encode_user_table(users: Iterable[UserEntry], width: int, encoding: str = "utf-8") -> bytes:
    """The user-table download: u32 size + user records."""
    payload = b"".join(encode_user(u, width, encoding) for u in users)
    return struct.pack("<I", len(payload)) + payload


class UserTable:
    """A decoded user table: maps a uid to its PIN, refusing what cannot be mapped."""

    def __init__(self, entries: Sequence[UserEntry] = (), refused: Sequence[tuple[bytes, str]] = (),
                 width: int = 0, unavailable: Any = None, refused_reasons: dict[int, Any] | None = None) -> None:
        self.entries = list(entries)
        self.refused = list(refused)  # (raw user record, why it was not usable)
        self.width = width
        # why the terminal gave no table at all: a Reason (devices.parsers.reasons) or text
        self.unavailable = unavailable
        by_uid: dict[int, list[UserEntry]] = {}
        for entry in self.entries:
            by_uid.setdefault(entry.uid, []).append(entry)
        self._pins = {uid: rows[0].user_id for uid, rows in by_uid.items() if len(rows) == 1}
        self._ambiguous = {uid: rows for uid, rows in by_uid.items() if len(rows) > 1}
        self._refused_uids = {int.from_bytes(raw[:2], "little"): why for raw, why in self.refused}
        self._refused_codes = dict(refused_reasons or {})  # uid -> Reason of the refusal, where known

    def __len__(self) -> int:
        return len(self.entries)

    def pin_of(self, uid: int) -> str:
        """The PIN of slot ``uid``; CodecError saying why when the table cannot tell."""
        pin = self._pins.get(uid)
        if pin is not None:
            return pin
        if self.unavailable is not None:
            cause = getattr(self.unavailable, "code", None)
            if cause is None:  # a table made with the reason as text
                raise CodecError(f"uid {uid} cannot be mapped to a PIN: {self.unavailable}")
            raise CodecError.because(_why("zk_uid_unmapped", uid=uid, cause=cause, **self.unavailable.params))
        if uid in self._ambiguous:
            pins = ", ".join(repr(e.user_id) for e in self._ambiguous[uid])
            raise CodecError.because(_why("zk_uid_ambiguous", uid=uid, count=len(self._ambiguous[uid]), pins=pins))
        if uid in self._refused_uids:
            inner = self._refused_codes.get(uid)
            if inner is None:
                raise CodecError(f"uid {uid} has an unusable entry in the terminal's user table:"
                                 f" {self._refused_uids[uid]}")
            raise CodecError.because(_why("zk_uid_unusable", uid=uid, cause=inner.code, **inner.params))
        raise CodecError.because(_why("zk_uid_unknown", uid=uid))

    def names(self) -> dict[str, str]:
        """{PIN: name} of every usable entry (names may be empty)."""
        return {e.user_id: e.name for e in self.entries}


def decode_user_table(buffer: bytes, count: int | None = None, width: int | None = None,
                      encoding: str = "utf-8") -> UserTable:
    """Decode a user-table download (u32 size + records of 28 or 72 bytes).

    The width is ``width`` if given (checked), else the one giving ``count`` records, else
    the only one dividing the size; anything else is refused (PayloadSizeError). An entry
    without a usable PIN is kept in ``refused`` with the reason, never guessed.
    """
    if not buffer:
        return UserTable(width=width or 0)
    if len(buffer) < 4:
        raise PayloadSizeError(f"user table of {len(buffer)} bytes lacks its 4-byte size")
    announced = int.from_bytes(buffer[:4], "little")
    payload = buffer[4:]
    if announced != len(payload):
        raise PayloadSizeError(
            f"user table announces {announced} bytes of records but carries {len(payload)}")
    size = len(payload)
    if size == 0:
        return UserTable(width=width or 0)
    if width is not None and width not in USER_WIDTHS:
        raise PayloadSizeError(f"user record width {width} is not one of {USER_WIDTHS}")
    candidates = [w for w in ((width,) if width else USER_WIDTHS) if size % w == 0]
    if count:
        candidates = [w for w in candidates if size // w == count] or candidates
    if len(candidates) != 1:
        told = f" for {count} users" if count else ""
        raise PayloadSizeError(
            f"a user table of {size} bytes{told} is not a whole number of"
            f" {' or '.join(map(str, (width,) if width else USER_WIDTHS))}-byte user records"
            if not candidates else
            f"a user table of {size} bytes{told} could hold records of 28 or 72 bytes;"
            " refusing to guess")
    w = candidates[0]
    entries: list[UserEntry] = []
    refused: list[tuple[bytes, str]] = []
    refused_codes: dict[int, Any] = {}
    for i in range(size // w):
        raw = payload[i * w: (i + 1) * w]
        try:
            if w == 28:
                uid, priv, pwd, name, card, group, _tz, pin_number = _U28.unpack(raw)
                if pin_number == 0:
                    raise CodecError.because(_why("zk_user_id_zero"))
                pin, group_text = str(pin_number), str(group) if group else ""
            else:
                uid, priv, pwd, name, card, group_field, pin_field = _U72.unpack(raw)
                pin, group_text = _text_user_id(pin_field), _field_text(group_field, encoding)
        except CodecError as exc:
            uid = int.from_bytes(raw[:2], "little")
            refused.append((raw, f"user record {i + 1} (byte {4 + i * w}), uid {uid}: {exc}"))
            if exc.reason is not None:
                refused_codes[uid] = exc.reason
            continue
        entries.append(UserEntry(uid, pin, _field_text(name, encoding), priv,
                                 _field_text(pwd, encoding), card, group_text))
    return UserTable(entries, refused, w, refused_reasons=refused_codes)
