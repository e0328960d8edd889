"""ZK binary protocol codec: docs/terminals.md vectors, envelope, time, record layouts."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.zk import codec
from devices.zk.codec import AttendanceRecord, Cmd, StreamReassembler
from devices.zk.errors import (
    ChecksumMismatch,
    FramingError,
    InvalidZKTime,
    PayloadSizeError,
)

T0 = datetime(2024, 3, 15, 8, 30, 5)
T0_LE = "8d f9 5e 2e"  # 777976205 little-endian


# --------------------------------------------------------------------------- checksum

@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (bytes.fromhex("0b00 0000 f38d 0300") + b"ZKFaceVersion\0", 0x175A),
        (bytes.fromhex("d007 0000 f38d 0a00 09"), 0x6A29),  # odd length
        (bytes.fromhex("0b00 0000 c5c0 0500") + b"~OS\0", 0xEF58),
    ],
)
def test_checksum_vectors(packet: bytes, expected: int) -> None:
    assert codec.checksum(packet) == expected


def test_captured_options_packet_verifies() -> None:
    captured = bytes.fromhex("0b00 58ef c5c0 0500") + b"~OS\0"
    packet = codec.unpack_packet(captured)
    assert (packet.command, packet.checksum, packet.session, packet.reply) == (11, 0xEF58, 0xC0C5, 5)
    assert packet.data == b"~OS\0"


def test_pack_packet_fills_checksum_and_round_trips() -> None:
    raw = codec.pack_packet(Cmd.CONNECT, 0, 0)
    assert raw[:2] == b"\xe8\x03" and len(raw) == 8
    back = codec.unpack_packet(raw)
    assert (back.command, back.session, back.reply, back.data) == (1000, 0, 0, b"")
    assert codec.pack_packet(11, 0xC0C5, 5, b"~OS\0") == bytes.fromhex("0b00 58ef c5c0 0500") + b"~OS\0"


def test_bad_checksum_and_short_packet_are_refused() -> None:
    raw = bytearray(codec.pack_packet(Cmd.DATA, 7, 9, b"hello world"))
    raw[10] ^= 0x01
    with pytest.raises(ChecksumMismatch, match="DATA"):
        codec.unpack_packet(bytes(raw))
    assert codec.unpack_packet(bytes(raw), verify=False).data[2:3] == b"m"
    with pytest.raises(codec.CodecError, match="shorter than the 8-byte header"):
        codec.unpack_packet(b"\x01\x02\x03")


def test_checksum_of_a_sum_that_folds_to_ffff() -> None:
    # words summing to 0xFFFF (not 0): NOT gives 0
    assert codec.checksum(b"\xff\xff") == 0
    assert codec.checksum(b"\x00\x00") == 0xFFFF
    assert codec.checksum(b"\xff\xff\x01\x00") == 0xFFFE  # 0x10000 folds to 1


# --------------------------------------------------------------------------- envelope

def _packets(n: int) -> list[bytes]:
    return [codec.pack_packet(Cmd.DATA, 1, i, bytes(range(i % 50))) for i in range(n)]


def test_envelope_layout() -> None:
    packet = codec.pack_packet(Cmd.CONNECT, 0, 0)
    assert codec.envelope(packet) == bytes.fromhex("50 50 82 7d 08 00 00 00") + packet


def test_reassembler_byte_by_byte_and_many_per_read() -> None:
    packets = _packets(20)
    stream = b"".join(codec.envelope(p) for p in packets)
    one = StreamReassembler()
    got = [p for b in stream for p in one.feed(bytes([b]))]
    assert got == packets and len(one) == 0
    many = StreamReassembler()
    assert many.feed(stream[:100]) + many.feed(stream[100:]) == packets


def test_reassembler_wanted_asks_for_exactly_the_rest() -> None:
    packet = codec.pack_packet(Cmd.DATA, 1, 1, b"x" * 100)
    framed = codec.envelope(packet)
    stream = StreamReassembler()
    assert stream.wanted() == 8
    stream.feed(framed[:5])
    assert stream.wanted() == 3
    stream.feed(framed[5:20])
    assert stream.wanted() == len(framed) - 20
    assert stream.feed(framed[20:]) == [packet]


def test_reassembler_strict_refuses_garbage() -> None:
    stream = StreamReassembler()
    with pytest.raises(FramingError, match="out of sync"):
        stream.feed(b"\xde\xad\xbe\xef" + codec.envelope(_packets(1)[0]))
    with pytest.raises(FramingError, match="announces a packet of 3 bytes"):
        StreamReassembler().feed(b"PP\x82\x7d\x03\x00\x00\x00")


def test_reassembler_resync_skips_noise_and_keeps_address_prefix() -> None:
    a, b = _packets(2)
    noise = b"\x00\xffPP\x82garbage"
    stream = StreamReassembler(prefix_len=1, resync=True)
    frames = stream.feed_frames(noise + b"\x07" + codec.envelope(a) + b"zz" + b"\x09" + codec.envelope(b))
    assert frames == [(b"\x07", a), (b"\x09", b)]
    assert stream.discarded == len(noise) + 2


# --------------------------------------------------------------------------- time

def test_time_vector_both_ways() -> None:
    assert codec.encode_time(T0) == 777976205
    assert codec.decode_time(777976205) == T0


@pytest.mark.parametrize(
    ("value", "shown"),
    [(776592000, "2024-02-30 08:00:00"), (782067601, "2024-04-31 17:00:01")],
)
def test_invalid_dates_raise(value: int, shown: str) -> None:
    with pytest.raises(InvalidZKTime, match=shown):
        codec.decode_time(value)


def test_unencodable_times_raise() -> None:
    with pytest.raises(InvalidZKTime, match="before 2000"):
        codec.encode_time(datetime(1999, 12, 31, 23, 59, 59))
    with pytest.raises(InvalidZKTime, match="range"):
        codec.encode_time(datetime(2140, 1, 1))
    with pytest.raises(InvalidZKTime):
        codec.decode_time(-1)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2133, 1, 1)))
def test_time_round_trip(dt: datetime) -> None:
    dt = dt.replace(microsecond=0)
    assert codec.decode_time(codec.encode_time(dt)) == dt


# --------------------------------------------------------------------------- records

def test_decode_8_byte_time_at_3() -> None:
    # uid 258, verify 1, time, status 0
    payload = bytes.fromhex(f"02 01 01 {T0_LE} 00")
    out = codec.decode_records(payload, width=8, layout8="time@3")
    assert out.layout == "8/time@3" and out.quarantined == []
    assert out.records == [AttendanceRecord("258", T0, 0, 1, None, 258, payload)]


def test_decode_8_byte_time_at_4() -> None:
    # uid 258, verify 1, status 4, time
    payload = bytes.fromhex(f"02 01 01 04 {T0_LE}")
    rec = codec.decode_records(payload, width=8, layout8="time@4").records[0]
    assert (rec.user_id, rec.timestamp, rec.status, rec.verify, rec.uid) == ("258", T0, 4, 1, 258)


def test_8_byte_layout_is_chosen_by_plausibility() -> None:
    t3 = bytes.fromhex(f"02 01 01 {T0_LE} 00") + bytes.fromhex(f"03 00 0f {T0_LE} 01")
    t4 = bytes.fromhex(f"02 01 01 04 {T0_LE}") + bytes.fromhex(f"03 00 0f 01 {T0_LE}")
    auto3 = codec.decode_records(t3, width=8)
    auto4 = codec.decode_records(t4, width=8)
    assert auto3.layout == "8/time@3" and [r.timestamp for r in auto3.records] == [T0, T0]
    assert auto4.layout == "8/time@4" and [r.timestamp for r in auto4.records] == [T0, T0]
    # read with the wrong layout, the same bytes give dates in 2000: implausible
    wrong = codec.decode_records(t3, width=8, layout8="time@4")
    assert all(r.timestamp.year == 2000 for r in wrong.records)


def test_decode_16_byte() -> None:
    # user id 12345, time, status 1, verify 15, reserved, work code 7
    payload = bytes.fromhex(f"39 30 00 00 {T0_LE} 01 0f 00 00 07 00 00 00")
    rec = codec.decode_records(payload, width=16).records[0]
    assert rec == AttendanceRecord("12345", T0, 1, 15, 7, None, payload)


def _record40(uid: str, pin: bytes, verify: str, status: str) -> bytes:
    return (
        bytes.fromhex(uid) + pin + bytes(24 - len(pin)) + bytes.fromhex(verify)
        + bytes.fromhex(T0_LE) + bytes.fromhex(status) + bytes(8)
    )


def test_decode_40_byte_keeps_leading_zeros() -> None:
    payload = _record40("05 00", b"00042", "01", "02")
    assert len(payload) == 40
    out = codec.decode_records(payload, count=1)  # 40 bytes could also be 5 x 8: count decides
    assert out.width == 40
    rec = out.records[0]
    assert rec == AttendanceRecord("00042", T0, 2, 1, None, 5, payload)


def test_decode_49_byte() -> None:
    payload = _record40("07 01", b"A17", "0f", "01") + b"\xaa" * 9
    out = codec.decode_records(payload, count=1)
    assert out.width == 49
    assert out.records == [AttendanceRecord("A17", T0, 1, 15, None, 263, payload)]


def test_width_from_count_and_refused_sizes() -> None:
    assert codec.infer_width(80, count=2) == 40
    assert codec.infer_width(80, count=5) == 16
    assert codec.infer_width(80, count=10) == 8
    assert codec.infer_width(98) == 49
    with pytest.raises(PayloadSizeError, match="not a multiple of any known record width"):
        codec.decode_records(bytes(13))
    with pytest.raises(PayloadSizeError, match="refusing to guess"):
        codec.infer_width(80)
    with pytest.raises(PayloadSizeError, match="not a whole number of 40-byte records"):
        codec.decode_records(bytes(48), width=40)


def test_attlog_buffer_size_prefix_is_checked() -> None:
    payload = bytes.fromhex(f"39 30 00 00 {T0_LE} 01 0f 00 00 07 00 00 00")
    assert len(codec.decode_attlog_buffer(codec.build_attlog_buffer(payload), count=1).records) == 1
    with pytest.raises(PayloadSizeError, match="announces 32 bytes of records but carries 16"):
        codec.decode_attlog_buffer(b"\x20\x00\x00\x00" + payload)


def test_invalid_date_is_quarantined_with_raw_bytes() -> None:
    good = bytes.fromhex(f"39 30 00 00 {T0_LE} 01 0f 00 00 07 00 00 00")
    feb30 = bytes.fromhex("3a 30 00 00 80 da 49 2e 00 01 00 00 00 00 00 00")
    out = codec.decode_records(good + feb30 + good, width=16)
    assert len(out.records) == 2
    assert len(out.quarantined) == 1
    raw, why = out.quarantined[0]
    reason = str(why)  # the English wording; the code and values travel beside it
    assert (why.code, why.params["record"], why.params["byte"]) == ("zk_time_invalid", 2, 16)
    assert raw == feb30
    assert "record 2" in reason and "2024-02-30" in reason and "not a valid date" in reason


def test_unreadable_user_id_is_quarantined() -> None:
    bad = _record40("05 00", b"\xff\xfe", "01", "00")
    empty = _record40("06 00", b"", "01", "00")
    out = codec.decode_records(bad + empty, width=40)
    assert out.records == []
    assert [str(r) for _, r in out.quarantined][0].endswith("user id field is not ASCII: b'\\xff\\xfe'")
    assert "empty" in str(out.quarantined[1][1]) and out.quarantined[1][1].code == "zk_user_id_empty"


def test_encode_refuses_ids_the_width_cannot_hold() -> None:
    rec = AttendanceRecord("A17", T0, 0, 1, None, None, b"")
    with pytest.raises(ValueError, match="cannot be stored in a 16-byte record"):
        codec.encode_record(rec, 16)
    with pytest.raises(ValueError, match="24-byte"):
        codec.encode_record(AttendanceRecord("9" * 25, T0, 0, 1, None, None, b""), 40)


# --------------------------------------------------------------------------- command data

def test_commkey_from_the_public_description() -> None:
    # derived by hand from the published steps (not captured from a terminal)
    assert codec.make_commkey(0, 0) == bytes.fromhex("61 7d 32 79")
    assert codec.make_commkey(1, 0) == bytes.fromhex("61 fd 32 79")
    assert codec.make_commkey(123456, 0x4C2A) == bytes.fromhex("26 7f 32 b5")


def test_free_sizes_round_trip_and_short_replies() -> None:
    raw = codec.build_free_sizes(records=1234, records_capacity=100_000, users=56)
    sizes = codec.parse_free_sizes(raw)
    assert (sizes.records, sizes.records_capacity, sizes.users) == (1234, 100_000, 56)
    assert sizes.records_available == 100_000 - 1234
    old = codec.parse_free_sizes(raw[:40])  # old firmware: counts only
    assert old.records == 1234 and old.records_capacity is None
    with pytest.raises(codec.CodecError):
        codec.parse_free_sizes(raw[:20])


def test_buffer_requests() -> None:
    assert codec.prepare_buffer_request() == bytes.fromhex("01 0d 00 00 00 00 00 00 00 00 00")
    assert codec.parse_read_buffer_request(codec.read_buffer_request(65472, 16384)) == (65472, 16384)
    assert codec.parse_buffer_size_reply(codec.buffer_size_reply(4_000_004)) == 4_000_004


# --------------------------------------------------------------------------- round trips

_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2130, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
_byte = st.integers(0, 255)
_pin_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=24
)


def _rec8() -> st.SearchStrategy[AttendanceRecord]:
    return st.builds(
        lambda uid, t, s, v: AttendanceRecord(str(uid), t, s, v, None, uid, b""),
        st.integers(0, 0xFFFF), _times, _byte, _byte,
    )


def _rec16() -> st.SearchStrategy[AttendanceRecord]:
    return st.builds(
        lambda pin, t, s, v, w: AttendanceRecord(str(pin), t, s, v, w, None, b""),
        st.integers(0, 0xFFFFFFFF), _times, _byte, _byte, st.integers(0, 0xFFFFFFFF),
    )


def _rec40() -> st.SearchStrategy[AttendanceRecord]:
    return st.builds(
        lambda uid, pin, t, s, v: AttendanceRecord(pin, t, s, v, None, uid, b""),
        st.integers(0, 0xFFFF), _pin_text, _times, _byte, _byte,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([(8, "time@3"), (8, "time@4"), (16, ""), (40, ""), (49, "")]).flatmap(
        lambda wl: st.tuples(
            st.just(wl),
            st.lists({8: _rec8(), 16: _rec16()}.get(wl[0], _rec40()), min_size=1, max_size=20),
        )
    )
)
def test_records_round_trip(case: tuple[tuple[int, str], list[AttendanceRecord]]) -> None:
    (width, layout8), records = case
    encoded = [codec.encode_record(r, width, layout8 or "time@3") for r in records]
    out = codec.decode_attlog_buffer(
        codec.build_attlog_buffer(b"".join(encoded)), count=len(records), layout8=layout8 or "auto"
    )
    assert out.width == width and out.quarantined == []
    assert [r.raw for r in out.records] == encoded
    expected = [
        AttendanceRecord(r.user_id, r.timestamp, r.status, r.verify, r.work_code, r.uid, raw)
        for r, raw in zip(records, encoded, strict=True)
    ]
    assert out.records == expected
