"""Serial paths on a real pseudo-terminal (and pyserial's socket:// URL): the binary
protocol through the simulator, and the line-protocol mode through the file parsers."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest

from devices.zk.client import ZKClient
from devices.zk.codec import AttendanceRecord
from devices.zk.errors import ZKAuthError, ZKChecksumError, ZKError, ZKTimeoutError
from devices.zk.line_serial import LineSerialReader, read_line_punches
from devices.zk.simulator import SimulatorServer, Terminal, serve
from devices.zk.transport import EnvelopeFraming, SerialTransport, make_framing, open_transport

START = datetime(2024, 3, 1, 7, 0, 0)


def make_records(n: int, text_ids: bool = False) -> list[AttendanceRecord]:
    users = [f"{i:05d}" if text_ids else str(i) for i in range(1, 51)]
    return [
        AttendanceRecord(users[i % 50], START + timedelta(seconds=61 * i), i % 2, 1, None, None, b"")
        for i in range(n)
    ]


def key(records: list[AttendanceRecord]) -> set[tuple[str, datetime, int, int]]:
    return {(r.user_id, r.timestamp, r.status, r.verify) for r in records}


@contextmanager
def running(terminal: Terminal, pty: bool = True, machine_number: int | None = None
            ) -> Iterator[SimulatorServer]:
    server = serve("serial", port=0, pty=pty, terminal=terminal, machine_number=machine_number,
                   block=False, announce=lambda _: None)
    try:
        yield server
    finally:
        server.stop()


def pull(settings: dict[str, object], comm_key: int = 0, timeout: float = 2.0, **options: object):
    transport = open_transport("zk_serial", settings, timeout)
    with ZKClient(transport, comm_key, timeout, **options) as zk:  # type: ignore[arg-type]
        zk.disable()
        try:
            return zk.read_attendance()
        finally:
            zk.enable()


# --------------------------------------------------------------------------- binary protocol

@pytest.mark.parametrize("width", [8, 16, 40, 49])
@pytest.mark.parametrize("comm_key", [0, 77])
def test_pty_every_width(width: int, comm_key: int) -> None:
    records = make_records(400, text_ids=width >= 40)
    terminal = Terminal(records, width=width, comm_key=comm_key)
    with running(terminal) as server:
        assert server.where.startswith("pty /dev/")
        result = pull(server.settings, comm_key)
    assert result.width == width and key(result.records) == key(records)


def test_pty_wrong_comm_key() -> None:
    terminal = Terminal(make_records(5), comm_key=77)
    with running(terminal) as server:
        with pytest.raises(ZKAuthError, match=f"terminal serial:{server.path}@115200: .*refused"):
            pull(server.settings, comm_key=78)


def test_pty_large_log_in_chunks() -> None:
    records = make_records(20_000)
    terminal = Terminal(records, width=16)
    with running(terminal) as server:
        result = pull(server.settings, chunk_size=64 * 1024)
    assert len(result.records) == 20_000 and key(result.records) == key(records)
    assert terminal.log.count("READ_BUFFER") == -(-(4 + 16 * 20_000) // 65536)


def test_pty_drop_then_retry_yields_every_record_once() -> None:
    records = make_records(1500)
    terminal = Terminal(records, fault="drop-after=2")
    ledger: dict[tuple[str, datetime], int] = {}
    with running(terminal) as server:
        with pytest.raises(ZKTimeoutError, match="no reply to READ_BUFFER"):
            pull(server.settings, timeout=0.5, chunk_size=4096)
        result = pull(server.settings, chunk_size=4096)
    for rec in result.records:
        ledger[(rec.user_id, rec.timestamp)] = ledger.get((rec.user_id, rec.timestamp), 0) + 1
    assert set(ledger) == {(r.user_id, r.timestamp) for r in records} and set(ledger.values()) == {1}


def test_pty_corrupt_chunk_detected() -> None:
    terminal = Terminal(make_records(1500), fault="corrupt-chunk=2")
    with running(terminal) as server:
        with pytest.raises(ZKChecksumError, match="corrupt reply to READ_BUFFER"):
            pull(server.settings, chunk_size=4096)


def test_rs485_machine_number_addresses_one_terminal() -> None:
    records = make_records(300)
    terminal = Terminal(records)
    with running(terminal, machine_number=7) as server:
        assert server.settings["framing"] == "rs485"
        assert key(pull(server.settings).records) == key(records)
        other = {**server.settings, "machine_number": 8}
        with pytest.raises(ZKError, match="no reply to CONNECT"):
            pull(other, timeout=0.5)


def test_socket_url_reaches_a_serial_line_behind_a_converter() -> None:
    records = make_records(3000)
    terminal = Terminal(records, width=49)
    with running(terminal, pty=False) as server:
        assert server.settings["port"].startswith("socket://127.0.0.1:")
        assert server.where.startswith("serial-over-tcp ")
        result = pull(server.settings)
    assert key(result.records) == key(records)


def test_framing_settings() -> None:
    assert make_framing({}).wrap(b"x" * 8)[:4] == b"PP\x82\x7d"
    addressed = make_framing({"framing": "rs485", "machine_number": 3})
    assert addressed.wrap(b"y" * 8)[:5] == b"\x03PP\x82\x7d"
    assert make_framing({"machine_number": 3}).wrap(b"z" * 8)[:4] == b"PP\x82\x7d"
    for bad in ({"machine_number": 0}, {"machine_number": 256}, {"framing": "modbus"}):
        with pytest.raises(ValueError):
            make_framing(bad)
    with pytest.raises(ZKError, match="cannot open"):
        SerialTransport("/dev/does-not-exist-zk", 9600, 1.0, EnvelopeFraming())


# --------------------------------------------------------------------------- line protocol

@contextmanager
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


LINES = [
    b"00042\t2024-03-15 08:30:05\t1\t0\t1\t0\r\n",
    b"  107\t2024-03-15 08:31:00\t1\t1\t1\t0\r\n",
    b"\r\n",
    b"garbage from a noisy line\r\n",
    b"00042\t2024-02-30 17:00:00\t1\t1\t1\t0\r\n",
    b"9\t2024-03-15 17:05:09\t1\t1\t15\t0",  # last line without its newline
]


def test_line_mode_parses_lines_split_across_reads() -> None:
    data = b"".join(LINES)
    with pty_pair() as (master, path):
        with LineSerialReader(path, 9600, chunk_lines=100, flush_after=0.3) as reader:
            for i in range(0, len(data), 7):  # fragments that cut lines anywhere
                os.write(master, data[i: i + 7])
            chunks = list(reader.chunks(idle_timeout=0.5))
    punches = [row for c in chunks for row in c.punches.itertuples(index=False)]
    assert [(p.line_no, p.user_id, str(p.device_time)) for p in punches] == [
        (1, "00042", "2024-03-15 08:30:05"),
        (2, "107", "2024-03-15 08:31:00"),
        (6, "9", "2024-03-15 17:05:09"),
    ]
    assert punches[2].verify == 15
    rejected = [r for c in chunks for r in c.rejected]
    assert [r.line_no for r in rejected] == [4, 5]
    assert "2024-02-30" in rejected[1].reason


def test_line_mode_chunks_keep_line_numbers_running() -> None:
    lines = [f"{i}\t2024-03-15 08:{i:02d}:00\t1\t0\t1\t0\n".encode() for i in range(1, 8)]
    with pty_pair() as (master, path):
        # pyserial empties the input buffer when it opens the port: write once it is open
        writer = threading.Timer(0.2, os.write, (master, b"".join(lines)))
        writer.start()
        chunks = list(read_line_punches(path, 9600, idle_timeout=0.5, chunk_lines=3))
        writer.join()
    assert [len(c.punches) for c in chunks] == [3, 3, 1]
    assert [c.first_line_no for c in chunks] == [1, 4, 7]
    assert [int(n) for c in chunks for n in c.punches["line_no"]] == list(range(1, 8))


def test_line_mode_flushes_a_quiet_line_and_stops_on_request() -> None:
    stop = threading.Event()
    got: list[str] = []
    with pty_pair() as (master, path):
        reader = LineSerialReader(path, 9600, flush_after=0.1)

        def feed() -> None:
            os.write(master, LINES[0])
            time.sleep(0.4)
            os.write(master, LINES[1])
            time.sleep(0.4)
            stop.set()

        writer = threading.Thread(target=feed)
        writer.start()
        arrivals = []
        for chunk in reader.chunks(stop=stop):
            arrivals.append(time.monotonic())
            got.extend(chunk.punches["user_id"])
        writer.join()
        reader.close()
    assert got == ["00042", "107"]
    assert len(arrivals) == 2  # each punch delivered on its own, before the next arrived
