"""The user table: codec of 28/72-byte user records, and ZKClient mapping 8-byte uids to PINs
against the simulator over TCP, UDP and a real pty (serial transport)."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

import pytest
from test_zk_client import running

from devices.zk import codec
from devices.zk.client import ReadResult, ZKClient
from devices.zk.codec import AttendanceRecord, UserEntry, UserTable
from devices.zk.errors import PayloadSizeError, ZKProtocolError
from devices.zk.simulator import SimulatorServer, Terminal, shuffled_users
from devices.zk.transport import open_transport

START = datetime(2024, 9, 2, 7, 0, 0)
PINS = ["42", "101", "7", "12345", "65000", "3", "4000000", "88"]
NAMES = ["An", "Bình", "Chi", "Dũng", "", "Hà", "Khoa", "Lan"]


def punches(pins: list[str], n: int) -> list[AttendanceRecord]:
    return [AttendanceRecord(pins[(i * 5) % len(pins)], START + timedelta(seconds=83 * i), i % 2,
                             1, None, None, b"") for i in range(n)]


def pull(server: SimulatorServer, **options: object) -> ReadResult:
    transport = open_transport(server.kind, server.settings, 2.0)
    with ZKClient(transport, timeout=2.0) as zk:
        zk.disable()
        try:
            return zk.read_attendance(**options)  # type: ignore[arg-type]
        finally:
            zk.enable()


# --------------------------------------------------------------------------- codec

def test_user_records_round_trip_both_widths() -> None:
    short = [UserEntry(9, "42", "Bình", 14, "123", 9876, "2"), UserEntry(300, "4000000")]
    assert codec.encode_user(short[1], 28)[21] == 0  # no group: 0 on the terminal, "" here
    table = codec.decode_user_table(codec.encode_user_table(short, 28))
    assert table.width == 28 and table.entries == short and table.refused == []
    long = [UserEntry(1, "00042", "Nguyễn Thị Ánh", 0, "pw", 5, "grp"),
            UserEntry(65535, "A-12", "")]
    table = codec.decode_user_table(codec.encode_user_table(long, 72))
    assert table.width == 72 and table.entries == long
    assert table.pin_of(1) == "00042" and table.names() == {"00042": "Nguyễn Thị Ánh",
                                                            "A-12": ""}
    raw = codec.encode_user(long[0], 72)
    assert len(raw) == 72 and raw[48:53] == b"00042" and raw[:2] == b"\x01\x00"
    assert len(codec.encode_user(short[0], 28)) == 28
    assert codec.encode_user(short[0], 28)[24:28] == struct.pack("<I", 42)


def test_a_name_cut_inside_a_character_keeps_the_whole_characters() -> None:
    # 8 bytes of UTF-8: "Dũng Hà" is 9 bytes; a terminal cutting it mid-character
    name = "Dũng Hà".encode()[:8]
    raw = struct.pack("<HB5s8sIxBhI", 4, 0, b"", name, 0, 1, 0, 77)
    table = codec.decode_user_table(struct.pack("<I", 28) + raw, count=1)
    assert table.entries[0].name == "Dũng H"
    # not UTF-8 and not cut: the Windows-1258 fallback of the file imports
    cp1258 = struct.pack("<HB5s8sIxBhI", 4, 0, b"", "Hà".encode("cp1258"), 0, 1, 0, 77)
    assert codec.decode_user_table(struct.pack("<I", 28) + cp1258).entries[0].name == "Hà"


def test_user_table_sizes_are_checked_never_guessed() -> None:
    with pytest.raises(PayloadSizeError, match="not a whole number of 28 or 72-byte"):
        codec.decode_user_table(struct.pack("<I", 30) + bytes(30))
    with pytest.raises(PayloadSizeError, match="announces 100 bytes of records but carries 28"):
        codec.decode_user_table(struct.pack("<I", 100) + bytes(28))
    with pytest.raises(PayloadSizeError, match="lacks its 4-byte size"):
        codec.decode_user_table(b"\x01\x02")
    users28 = [UserEntry(i + 1, str(i + 1)) for i in range(18)]  # 504 bytes: 18x28 or 7x72
    data = codec.encode_user_table(users28, 28)
    with pytest.raises(PayloadSizeError, match="could hold records of 28 or 72 bytes"):
        codec.decode_user_table(data)
    assert codec.decode_user_table(data, count=18).entries == users28
    assert codec.decode_user_table(data, count=7).width == 72  # the terminal's count decides
    with pytest.raises(ValueError, match="cannot be stored in a 28-byte user record"):
        codec.encode_user(UserEntry(1, "A7"), 28)
    with pytest.raises(ValueError, match="does not fit a 8-byte field"):
        codec.encode_user(UserEntry(1, "7", "Nguyễn Văn"), 28)
    with pytest.raises(ValueError, match="does not fit a 24-byte field"):
        codec.encode_user(UserEntry(1, "7", "Nguyễn Thị Ánh Tuyết"), 72)


def test_unusable_entries_are_refused_with_the_reason() -> None:
    good = codec.encode_user(UserEntry(5, "42"), 28)
    no_pin = struct.pack("<HB5s8sIxBhI", 6, 0, b"", b"X", 0, 0, 0, 0)
    table = codec.decode_user_table(struct.pack("<I", 56) + good + no_pin)
    assert [e.uid for e in table.entries] == [5]
    assert table.refused == [(no_pin, "user record 2 (byte 32), uid 6: user id is 0 (not set)")]
    with pytest.raises(codec.CodecError, match="uid 6 has an unusable entry .*user id is 0"):
        table.pin_of(6)
    bad72 = bytearray(codec.encode_user(UserEntry(8, "X"), 72))
    bad72[48:72] = b"\xff" + bytes(23)
    table = codec.decode_user_table(struct.pack("<I", 72) + bytes(bad72))
    assert "uid 8: user id field is not ASCII" in table.refused[0][1]
    twice = UserTable([UserEntry(3, "12"), UserEntry(3, "13")])
    with pytest.raises(codec.CodecError, match=r"uid 3 appears 2 times .*'12', '13'"):
        twice.pin_of(3)
    with pytest.raises(codec.CodecError, match="uid 17 is not in the terminal's user table"):
        twice.pin_of(17)


def test_decode_records_maps_8_byte_uids_and_quarantines_the_rest() -> None:
    recs = [AttendanceRecord("x", START, 1, 0, None, uid, b"") for uid in (5, 17, 5)]
    payload = b"".join(codec.encode_record(r, 8) for r in recs)
    table = UserTable([UserEntry(5, "00042", "An")])
    decoded = codec.decode_records(payload, 8, users=table)
    assert [(r.user_id, r.uid) for r in decoded.records] == [("00042", 5), ("00042", 5)]
    assert [(raw, str(why)) for raw, why in decoded.quarantined] == [
        (payload[8:16], "record 2 (byte 8): uid 17 is not in the terminal's user table")]
    # 16- and 40-byte records carry the PIN themselves: the table is not consulted
    rec40 = AttendanceRecord("00042", START, 1, 0, None, 17, b"")
    assert codec.decode_records(codec.encode_record(rec40, 40), 40,
                                users=table).records[0].user_id == "00042"


# --------------------------------------------------------------------------- over the wire

@pytest.mark.parametrize("protocol", ["tcp", "udp", "serial"])
@pytest.mark.parametrize("n", [10, 6000])  # direct answers / chunked downloads
def test_8_byte_uids_become_pins_with_names(protocol: str, n: int) -> None:
    table = shuffled_users(PINS, NAMES, seed=11, first_uid=1)
    assert all(str(u.uid) != u.user_id for u in table)
    records = punches(PINS, n)
    terminal = Terminal(records, width=8, users=table)
    with running(terminal, protocol) as server:
        result = pull(server)
    slot = {u.user_id: u.uid for u in table}
    assert result.width == 8 and result.quarantined == []
    assert [(r.user_id, r.timestamp, r.status, r.uid) for r in result.records] == [
        (r.user_id, r.timestamp, r.status, slot[r.user_id]) for r in records]
    assert all(len(r.raw) == 8 and r.raw[:2] == struct.pack("<H", r.uid) for r in result.records)
    assert result.users == dict(zip(PINS, NAMES, strict=True))
    assert result.user_table is not None and result.user_table.width == 28
    log = terminal.log
    # the user table is read after the log, while the terminal is still disabled
    assert log.count("PREPARE_BUFFER") == 2 and log.count("FREE_DATA") == 2
    assert log.index("DISABLEDEVICE") < log.index("PREPARE_BUFFER") < log.index("ENABLEDEVICE")


@pytest.mark.parametrize("protocol", ["tcp", "serial"])
def test_uid_missing_from_the_table_is_quarantined_never_stored_as_a_pin(protocol: str) -> None:
    table = shuffled_users(PINS[:4], NAMES[:4], seed=2, first_uid=1)  # slots 1..4
    deleted = AttendanceRecord("17", START + timedelta(hours=3), 0, 1, None, 17, b"")
    records = [*punches(PINS[:4], 20), deleted]
    terminal = Terminal(records, width=8, users=table)
    with running(terminal, protocol) as server:
        result = pull(server)
    assert len(result.records) == 20 and "17" not in {r.user_id for r in result.records}
    [(raw, reason)] = result.quarantined
    assert raw == codec.encode_record(deleted, 8)
    assert str(reason) == "record 21 (byte 160): uid 17 is not in the terminal's user table"


def test_a_refused_user_table_quarantines_every_8_byte_record() -> None:
    terminal = Terminal(punches(PINS, 5), width=8, users=shuffled_users(PINS, NAMES),
                        user_table=False)
    with running(terminal, "tcp") as server:
        result = pull(server)
    assert result.records == [] and len(result.quarantined) == 5
    assert all("cannot be mapped to a PIN: the terminal refused to send its user table"
               " (PREPARE_BUFFER (1503) refused with ACK_ERROR (2001))" in str(why)
               for _, why in result.quarantined)
    assert result.users == {}


def test_wider_records_keep_their_pin_and_read_names_only_when_asked() -> None:
    # the table deliberately maps the records' uid slots to other PINs: the record wins
    records = [AttendanceRecord("00042", START, 0, 1, None, 1, b""),
               AttendanceRecord("101", START + timedelta(minutes=1), 1, 1, None, 2, b"")]
    table = [UserEntry(1, "101", "Bình"), UserEntry(2, "00042", "An")]
    for width in (16, 40, 49):
        terminal = Terminal(records, width=width, users=table)
        with running(terminal, "tcp") as server:
            plain = pull(server)
            named = pull(server, users=True)
        expected = ["42" if width == 16 else "00042", "101"]
        assert [r.user_id for r in plain.records] == expected == [r.user_id for r in named.records]
        assert plain.users == {} and plain.user_table is None
        assert named.users == {"101": "Bình", "00042": "An"}
        assert terminal.log.count("PREPARE_BUFFER") == 3


def test_8_byte_records_without_the_table_when_told_not_to_read_it() -> None:
    table = [UserEntry(9, "42", "An")]
    terminal = Terminal(punches(["42"], 3), width=8, users=table)
    with running(terminal, "tcp") as server:
        result = pull(server, users=False)
    assert [r.user_id for r in result.records] == ["9"] * 3  # the caller asked for raw uids
    assert terminal.log.count("PREPARE_BUFFER") == 1


def test_a_malformed_user_table_fails_the_read_with_the_reason() -> None:
    terminal = Terminal(punches(PINS, 5), width=8)
    terminal._user_buffer = struct.pack("<I", 30) + bytes(30)  # a firmware sending 30-byte users
    with running(terminal, "tcp") as server, pytest.raises(ZKProtocolError) as info:
        pull(server)
    assert "user table: a user table of 30 bytes for 5 users is not a whole number" in str(info.value)


def test_read_users_directly_and_the_users_count() -> None:
    table = shuffled_users([str(1000 + i) for i in range(300)], seed=5)
    terminal = Terminal(punches([u.user_id for u in table], 50), width=40, users=table)
    with running(terminal, "tcp") as server:
        with ZKClient(open_transport(server.kind, server.settings, 2.0), timeout=2.0) as zk:
            assert zk.free_sizes().users == 300
            got = zk.read_users()
    assert got.width == 72 and got.entries == table


def test_run_simulator_with_shuffled_uids(tmp_path) -> None:
    from devices.zk.simulator import run_simulator

    path = tmp_path / "attlog.dat"
    path.write_text("".join(f"{pin}\t2024-03-15 08:{i:02d}:05\t1\t0\t1\t0\r\n"
                            for i, pin in enumerate(["00042", "107", "3", "00042", "9"])))
    server = run_simulator(path, "tcp", 0, False, 8, 0, None, block=False, uid_seed=4)
    try:
        table = server.terminal.users_table()
        assert sorted(u.user_id for u in table) == ["107", "3", "42", "9"]
        assert sorted(u.uid for u in table) == [1, 2, 3, 4]
        assert any(str(u.uid) != u.user_id for u in table)
        result = pull(server)
    finally:
        server.stop()
    assert [r.user_id for r in result.records] == ["42", "107", "3", "42", "9"]


def test_punches_enroll_new_pins_only_on_a_derived_table() -> None:
    later = START + timedelta(days=1)
    eight = Terminal(punches(["42", "042", "7"], 6), width=8)  # '042' is PIN 42 on such a terminal
    assert [(u.uid, u.user_id) for u in eight.users_table()] == [(42, "42"), (7, "7")]
    assert eight.punch(AttendanceRecord("300", later, 0, 1, None, None, b""))
    forty = Terminal(punches(["00042", "7"], 4), width=40)
    assert forty.punch(AttendanceRecord("A-9", later, 0, 1, None, None, b""))
    assert [(u.uid, u.user_id) for u in forty.users_table()] == [(1, "00042"), (2, "7"), (3, "A-9")]
    given = Terminal(punches(["7"], 2), width=8, users=[UserEntry(3, "7", "Chi")])
    with pytest.raises(ValueError, match="'300' .*not in the simulated terminal's user table"):
        given.punch(AttendanceRecord("300", later, 0, 1, None, None, b""))
    assert given.punch(AttendanceRecord("300", later, 0, 1, None, 99, b""))  # a deleted user's slot
    assert len(given.users_table()) == 1
    with running(eight, "tcp") as server:
        result = pull(server)
    assert [r.user_id for r in result.records] == [
        str(int(r.user_id)) for r in punches(["42", "042", "7"], 6)] + ["300"]
    assert {"42", "7"} <= {r.user_id for r in result.records}
    with running(forty, "udp") as server:
        assert [r.user_id for r in pull(server).records][-1] == "A-9"
    with running(given, "tcp") as server:
        result = pull(server)
    assert [r.user_id for r in result.records] == ["7", "7"]
    assert str(result.quarantined[0][1]).endswith("uid 99 is not in the terminal's user table")
