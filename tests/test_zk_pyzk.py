"""pyzk (an independent ZK client, imported as ``zk``) against our simulator over real sockets.

pyzk reads the user table before the log and maps 8-byte records' uids itself, so these
tests check that the simulator answers what a widely used client asks, in the shapes it
expects: options, sizes, the user table (28/72-byte records), the log in every width pyzk
reads (8, 16, 40), direct and chunked, over TCP and UDP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest

from devices.zk import codec
from devices.zk.codec import AttendanceRecord, UserEntry
from devices.zk.simulator import SimulatorServer, Terminal, serve, shuffled_users

zk = pytest.importorskip("zk")

START = datetime(2024, 5, 6, 6, 45, 0)
# 28-byte user records hold the PIN as a number and 16-byte records as a number too, so
# those terminals cannot keep leading zeros; 40-byte ones can.
NUMERIC_PINS = ["42", "101", "7", "12345", "999", "3", "65000", "4000000"]
TEXT_PINS = ["00042", "101", "7", "A-12", "000123456789012345678901", "x"]
NAMES_SHORT = ["An", "Bình", "Chi", "Dũng", "", "Hà", "Khoa", "Lan"]  # fit 8 bytes of UTF-8
NAMES_LONG = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Chi", "", "Phạm Dũng", "Hồ Thị Hà"]


def punches(pins: list[str], n: int) -> list[AttendanceRecord]:
    """n punches spread over the PINs, 97 s apart (crossing days), mixed statuses."""
    return [
        AttendanceRecord(pins[(i * 7) % len(pins)], START + timedelta(seconds=97 * i), i % 2,
                         1 + i % 2, None, None, b"")
        for i in range(n)
    ]


def table_for(width: int, users: int = 0, seed: int = 3) -> list[UserEntry]:
    """Users whose uid slots are a shuffled range that never equals their PIN's number."""
    pins, names = (NUMERIC_PINS, NAMES_SHORT) if width in (8, 16) else (TEXT_PINS, NAMES_LONG)
    pins = list(pins) + [str(900_000 + i) for i in range(users)]
    table = shuffled_users(pins, names, seed=seed, first_uid=200)
    assert all(str(u.uid) != u.user_id for u in table)
    return table


@contextmanager
def running(terminal: Terminal, protocol: str) -> Iterator[SimulatorServer]:
    server = serve(protocol, port=0, terminal=terminal, block=False, announce=lambda _: None)
    try:
        yield server
    finally:
        server.stop()


def pyzk_pull(server: SimulatorServer, protocol: str) -> tuple[list, list, dict[str, object]]:
    """What a pyzk user typically does: connect, disable, read users and log, enable, exit."""
    client = zk.ZK("127.0.0.1", port=server.port, timeout=5, ommit_ping=True,
                   force_udp=protocol == "udp")
    conn = client.connect()
    try:
        info = {
            "serial": conn.get_serialnumber(),
            "platform": conn.get_platform(),
            "fp": conn.get_fp_version(),
            "firmware": conn.get_firmware_version(),
            "time": conn.get_time(),
            "now": datetime.now(),
        }
        conn.disable_device()
        users = conn.get_users()
        attendance = conn.get_attendance()
        conn.enable_device()
    finally:
        conn.disconnect()
    return users, attendance, info


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
@pytest.mark.parametrize("width", [8, 16, 40])
@pytest.mark.parametrize("size", ["small", "large"])
def test_pyzk_reads_every_punch(protocol: str, width: int, size: str) -> None:
    # small: log and user table come back directly; large: both in 1504 chunks (several
    # per download over TCP's 0xFFC0 and UDP's 16 KiB, many datagrams each over UDP)
    user_width = 28 if width == 8 else 72
    extra_users, n = (0, 12) if size == "small" else (
        0xFFC0 // user_width + 20, 0xFFC0 // width + 300)
    table = table_for(width, extra_users)
    pins = [u.user_id for u in table[:8]]
    records = punches(pins, n)
    terminal = Terminal(records, width=width, users=table)
    if size == "small":
        assert len(terminal.buffer()) <= 1016 and len(terminal.user_buffer()) <= 1016
    else:
        assert len(terminal.buffer()) > 0xFFC0 and len(terminal.user_buffer()) > 0xFFC0
    with running(terminal, protocol) as server:
        users, attendance, info = pyzk_pull(server, protocol)

    assert [(a.user_id, a.timestamp) for a in attendance] == [
        (r.user_id, r.timestamp) for r in records]
    # pyzk names unnamed users "NN-<PIN>"
    assert sorted((u.uid, u.user_id, u.name) for u in users) == sorted(
        (e.uid, e.user_id, e.name or f"NN-{e.user_id}") for e in table)
    if width == 8:  # pyzk mapped each uid slot through the user table, as we must
        slots = {e.user_id: e.uid for e in table}
        assert [a.uid for a in attendance] == [slots[r.user_id] for r in records]
    assert info["serial"] == "SIM0000000001" and info["platform"] == "ZEM560_TFT"
    assert info["fp"] == (9 if width == 8 else 10)
    assert abs((info["time"] - info["now"]).total_seconds()) < 3
    log = terminal.log
    assert log[0] == "CONNECT" and log[-1] == "EXIT"
    assert log.count("PREPARE_BUFFER") == 3  # get_users, then get_attendance: users + log
    assert ("READ_BUFFER" in log) == (size == "large")
    assert terminal.enabled is True


def test_pyzk_requests_pass_our_strict_checksum_check() -> None:
    # pyzk's checksum routine gives one less than the spec algorithm, but it checksums the
    # header before incrementing the reply id it then sends, which adds the one back: on
    # the wire its packets carry the spec value. The simulator drops any request whose
    # checksum is wrong, so a session that gets answers proves it.
    create = zk.ZK("127.0.0.1")._ZK__create_checksum
    packet = bytes.fromhex("0b00 0000 f38d 0300") + b"ZKFaceVersion\0"
    assert int.from_bytes(create(packet), "little") == codec.checksum(packet) - 1
    terminal = Terminal(punches(NUMERIC_PINS, 5), width=16)
    with running(terminal, "udp") as server:
        _, attendance, _ = pyzk_pull(server, "udp")
        assert len(attendance) == 5
        # and a request pyzk would build with its routine on the final reply id is ignored
        client = zk.ZK("127.0.0.1", port=server.port, timeout=0.5, ommit_ping=True,
                       force_udp=True)
        bad = bytearray(codec.pack_packet(codec.Cmd.CONNECT, 0, 0))
        bad[2:4] = create(bytes(bad[:2]) + b"\0\0" + bytes(bad[4:]))
        client._ZK__sock.sendto(bytes(bad), ("127.0.0.1", server.port))
        with pytest.raises(TimeoutError):
            client._ZK__sock.recv(1024)
    assert terminal.log.count("CONNECT") == 1


def test_pyzk_sees_a_refused_user_table_and_unknown_uids_as_bare_numbers() -> None:
    # what pyzk does with a uid missing from the table: it prints the uid as the user id,
    # which is exactly what our client refuses to do (see test_zk_users.py)
    table = [UserEntry(5, "42", "An")]
    records = [*punches(["42"], 3),
               AttendanceRecord("ghost", START, 0, 1, None, 17, b"")]
    terminal = Terminal(records, width=8, users=table)
    with running(terminal, "tcp") as server:
        _, attendance, _ = pyzk_pull(server, "tcp")
    assert [a.user_id for a in attendance] == ["42", "42", "42", "17"]
