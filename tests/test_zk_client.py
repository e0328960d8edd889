"""ZKClient against the simulator over real TCP and UDP sockets on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devices.zk.client import ZKClient, connect_device
from devices.zk.codec import AttendanceRecord, Cmd
from devices.zk.errors import (
    ZKAuthError,
    ZKChecksumError,
    ZKConnectionError,
    ZKError,
    ZKTimeoutError,
    ZKUnsafeClearError,
)
from devices.zk.simulator import (
    SimulatorServer,
    Terminal,
    load_records,
    parse_fault_spec,
    run_simulator,
    serve,
)
from devices.zk.transport import open_transport

START = datetime(2024, 3, 1, 7, 0, 0)


def make_records(n: int, text_ids: bool = False) -> list[AttendanceRecord]:
    """n punches of 50 people, one per 61 s; text ids keep leading zeros (40/49 widths)."""
    users = [f"{i:05d}" if text_ids else str(i) for i in range(1, 51)]
    return [
        AttendanceRecord(users[i % 50], START + timedelta(seconds=61 * i), i % 2, 1 + i % 3, None,
                         None, b"")
        for i in range(n)
    ]


def key(records: list[AttendanceRecord]) -> set[tuple[str, datetime, int, int]]:
    return {(r.user_id, r.timestamp, r.status, r.verify) for r in records}


@contextmanager
def running(terminal: Terminal, protocol: str = "tcp") -> Iterator[SimulatorServer]:
    server = serve(protocol, port=0, pty=protocol == "serial", terminal=terminal, block=False,
                   announce=lambda _: None)
    try:
        yield server
    finally:
        server.stop()


def client_for(server: SimulatorServer, comm_key: int = 0, timeout: float = 2.0,
               **options: object) -> ZKClient:
    return ZKClient(open_transport(server.kind, server.settings, timeout), comm_key=comm_key,
                    timeout=timeout, **options)  # type: ignore[arg-type]


def pull(server: SimulatorServer, comm_key: int = 0, **options: object):
    with client_for(server, comm_key, **options) as zk:
        zk.disable()
        try:
            return zk.read_attendance()
        finally:
            zk.enable()


# --------------------------------------------------------------------------- every width

@pytest.mark.parametrize("protocol", ["tcp", "udp"])
@pytest.mark.parametrize("width", [8, 16, 40, 49])
@pytest.mark.parametrize("comm_key", [0, 4321])
def test_read_every_width(protocol: str, width: int, comm_key: int) -> None:
    records = make_records(300, text_ids=width >= 40)
    terminal = Terminal(records, width=width, comm_key=comm_key)
    with running(terminal, protocol) as server:
        result = pull(server, comm_key)
    assert result.width == width and result.expected == 300
    assert result.quarantined == []
    assert key(result.records) == key(records) and len(result.records) == 300
    if width >= 40:
        assert result.records[0].user_id == "00001"  # leading zeros kept
    assert all(len(r.raw) == width for r in result.records)
    assert terminal.log[:2] == (["CONNECT", "AUTH"] if comm_key else ["CONNECT", "DISABLEDEVICE"])


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_wrong_or_missing_comm_key_is_refused(protocol: str) -> None:
    terminal = Terminal(make_records(5), comm_key=4321)
    with running(terminal, protocol) as server:
        with pytest.raises(ZKAuthError, match="refused the comm key") as wrong:
            with client_for(server, comm_key=1234):
                pass
        assert f"127.0.0.1:{server.port}" in str(wrong.value)
        with pytest.raises(ZKAuthError, match="requires a comm key and none is configured"):
            with client_for(server, comm_key=0):
                pass
    assert "GET_FREE_SIZES" not in terminal.log


def test_small_log_comes_back_directly_large_log_in_chunks() -> None:
    small = Terminal(make_records(10), width=40)
    with running(small) as server:
        assert len(pull(server).records) == 10
    assert "PREPARE_BUFFER" in small.log and "READ_BUFFER" not in small.log
    assert small.log.index("FREE_DATA") > small.log.index("PREPARE_BUFFER")

    records = make_records(20_000, text_ids=True)
    large = Terminal(records, width=40)
    seen: list[tuple[int, int]] = []
    with running(large) as server:
        result = pull(server, chunk_size=64 * 1024)
        with client_for(server, chunk_size=16 * 1024) as zk:
            again = zk.read_attendance(progress=lambda done, total: seen.append((done, total)))
    total = 4 + 40 * 20_000
    assert key(result.records) == key(records) == key(again.records)
    assert large.log.count("READ_BUFFER") == -(-total // 65536) + -(-total // 16384)
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert len(seen) == 1 + -(-total // 16384)


def test_udp_chunks_arrive_in_many_datagrams() -> None:
    records = make_records(3000)
    terminal = Terminal(records, width=16, udp_piece=512)
    with running(terminal, "udp") as server:
        result = pull(server, chunk_size=8192)
    assert key(result.records) == key(records)


def test_clock_skew_and_set_time() -> None:
    terminal = Terminal(make_records(3), fault="skew=+300")
    with running(terminal) as server, client_for(server) as zk:
        assert 298 <= zk.clock_skew() <= 302
        assert abs((zk.get_time() - datetime.now()).total_seconds() - 300) < 3
        target = datetime.now().replace(microsecond=0) - timedelta(hours=1)
        zk.set_time(target)
        assert abs((zk.get_time() - target).total_seconds()) < 3
    assert "REFRESHDATA" in terminal.log


def test_free_sizes() -> None:
    terminal = Terminal(make_records(120), capacity=50_000)
    with running(terminal) as server, client_for(server) as zk:
        sizes = zk.free_sizes()
    assert (sizes.records, sizes.records_capacity, sizes.users) == (120, 50_000, 50)


def test_invalid_dates_are_quarantined_over_the_wire() -> None:
    feb30 = bytes.fromhex("3a 30 00 00 80 da 49 2e 00 01 00 00 00 00 00 00")
    terminal = Terminal(make_records(50), width=16, raw_records=[feb30])
    with running(terminal) as server:
        result = pull(server)
    assert len(result.records) == 50
    assert result.quarantined[0][0] == feb30 and "2024-02-30" in str(result.quarantined[0][1])


# --------------------------------------------------------------------------- disable / clear

def test_clear_only_after_a_read_while_disabled() -> None:
    records = make_records(2000)
    terminal = Terminal(records)
    with running(terminal) as server, client_for(server, chunk_size=16384) as zk:
        with pytest.raises(ZKUnsafeClearError, match="disable"):
            zk.clear_attendance()
        zk.disable()
        assert terminal.enabled is False
        assert terminal.punch(make_records(1)[0]) is False  # a disabled terminal takes no punches
        with pytest.raises(ZKUnsafeClearError):
            zk.clear_attendance()  # disabled but not read yet
        result = zk.read_attendance()
        assert len(result.records) == 2000
        # ... the caller commits the batch here ...
        zk.clear_attendance()
        zk.enable()
        assert terminal.enabled is True
        assert zk.free_sizes().records == 0
    log = terminal.log
    assert log.index("DISABLEDEVICE") < log.index("PREPARE_BUFFER") < log.index("FREE_DATA")
    assert log.index("FREE_DATA") < log.index("CLEAR_ATTLOG") < log.index("ENABLEDEVICE")
    assert log.count("CLEAR_ATTLOG") == 1


def test_clear_refused_when_records_arrived_after_the_read() -> None:
    terminal = Terminal(make_records(100))
    with running(terminal) as server, client_for(server) as zk:
        zk.disable()
        zk.read_attendance()
        terminal.enabled = True  # a firmware that keeps taking punches while "disabled"
        terminal.punch(AttendanceRecord("7", datetime(2024, 4, 1, 7, 0), 0, 1, None, None, b""))
        with pytest.raises(ZKUnsafeClearError, match="holds 101 records but 100 were read"):
            zk.clear_attendance()
        zk.enable()
    assert "CLEAR_ATTLOG" not in terminal.log and terminal.count == 101


def test_reenable_then_read_cannot_clear() -> None:
    terminal = Terminal(make_records(10))
    with running(terminal) as server, client_for(server) as zk:
        zk.disable()
        zk.read_attendance()
        zk.enable()
        with pytest.raises(ZKUnsafeClearError):
            zk.clear_attendance()


def test_leaving_the_context_re_enables_the_terminal() -> None:
    terminal = Terminal(make_records(10))
    with running(terminal) as server:
        with client_for(server) as zk:
            zk.disable()
        assert terminal.enabled is True
    assert terminal.log[-2:] == ["ENABLEDEVICE", "EXIT"]


# --------------------------------------------------------------------------- faults

N_FAULT = 1200  # 40-byte records in 4 KiB chunks: 12 chunks
DROP_ON = ["CONNECT", "GET_FREE_SIZES", "DISABLEDEVICE", "PREPARE_BUFFER", "READ_BUFFER",
           "FREE_DATA", "ENABLEDEVICE"]


def pull_until_success(server: SimulatorServer, ledger: dict[tuple[str, datetime], int],
                       attempts: int = 5) -> list[ZKError]:
    """Retry whole pulls like the scheduler; store into a ledger keyed like the real one."""
    errors: list[ZKError] = []
    for _ in range(attempts):
        try:
            result = pull(server, timeout=1.0, chunk_size=4096)
        except ZKError as exc:
            errors.append(exc)
            continue
        for rec in result.records:
            ledger[(rec.user_id, rec.timestamp)] = ledger.get((rec.user_id, rec.timestamp), 0) + 1
        return errors
    raise AssertionError(f"no successful pull in {attempts} attempts: {errors}")


@pytest.mark.parametrize("fault", [f"drop-after={n}" for n in (0, 1, 2, 5, 11)]
                         + [f"drop-on={name}" for name in DROP_ON])
def test_interrupted_pull_fails_clearly_and_retry_yields_each_record_once(fault: str) -> None:
    records = make_records(N_FAULT, text_ids=True)
    terminal = Terminal(records, fault=fault + ",times=2")
    ledger: dict[tuple[str, datetime], int] = {}
    with running(terminal) as server:
        errors = pull_until_success(server, ledger)
    assert len(errors) == 2
    for exc in errors:
        assert isinstance(exc, ZKConnectionError)
        assert "closed by the terminal" in str(exc)
        assert str(exc).startswith(f"terminal tcp://127.0.0.1:{server.port}: ")
    assert set(ledger) == {(r.user_id, r.timestamp) for r in records}
    assert set(ledger.values()) == {1}
    assert terminal.enabled is True


def test_drop_while_reading_is_reported_with_the_command() -> None:
    terminal = Terminal(make_records(N_FAULT), fault="drop-after=3")
    with running(terminal) as server, pytest.raises(ZKConnectionError) as info:
        pull(server, chunk_size=4096)
    assert "READ_BUFFER (1504)" in str(info.value)


def test_udp_drop_times_out_then_retry_succeeds() -> None:
    records = make_records(N_FAULT)
    terminal = Terminal(records, fault="drop-after=2")
    with running(terminal, "udp") as server:
        with pytest.raises(ZKTimeoutError, match=r"udp://127\.0\.0\.1:\d+: no reply to READ_BUFFER"):
            pull(server, timeout=0.3, chunk_size=4096)
        assert key(pull(server, chunk_size=4096).records) == key(records)


def test_udp_lost_chunk_is_asked_for_again() -> None:
    records = make_records(N_FAULT)
    terminal = Terminal(records, fault="lose-chunk=4")
    with running(terminal, "udp") as server:
        result = pull(server, timeout=0.3, chunk_size=4096)
    assert key(result.records) == key(records)
    assert terminal.log.count("READ_BUFFER") == -(-(4 + 40 * N_FAULT) // 4096) + 1


@pytest.mark.parametrize(("protocol", "mode"), [("tcp", "checksum"), ("tcp", "garbage"),
                                                ("udp", "checksum")])
def test_corrupt_chunk_is_detected(protocol: str, mode: str) -> None:
    records = make_records(N_FAULT)
    terminal = Terminal(records, fault=f"corrupt-chunk=3:{mode}")
    with running(terminal, protocol) as server:
        with pytest.raises(ZKChecksumError, match="corrupt reply") as info:
            pull(server, chunk_size=4096, timeout=1.0)
        assert info.value.command == Cmd.READ_BUFFER
        assert key(pull(server, chunk_size=4096).records) == key(records)


def test_slow_terminal_within_timeout() -> None:
    terminal = Terminal(make_records(500), fault="slow=0.02")
    with running(terminal) as server:
        assert len(pull(server, chunk_size=8192).records) == 500


def test_slow_terminal_beyond_timeout() -> None:
    terminal = Terminal(make_records(5), fault="slow=0.5")
    with running(terminal) as server:
        with pytest.raises(ZKTimeoutError, match="no reply to CONNECT"):
            client_for(server, timeout=0.2).connect()


def test_fault_spec_parsing() -> None:
    spec = parse_fault_spec("drop-after=3, corrupt-chunk=2:garbage,skew=-90,slow=0.2,times=always")
    assert (spec.drop_after, spec.corrupt_chunk, spec.corrupt_mode) == (3, 2, "garbage")
    assert (spec.skew, spec.slow, spec.times) == (-90.0, 0.2, None)
    assert parse_fault_spec("drop-on=free_data").drop_on == 1502
    assert parse_fault_spec("drop-on=1503").drop_on == 1503
    for bad in ("explode=1", "drop-after=-1", "drop-after", "corrupt-chunk=1:fire"):
        with pytest.raises(ValueError, match="fault spec item"):
            parse_fault_spec(bad)


# --------------------------------------------------------------------------- errors, entry points

def test_nothing_listening() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ZKConnectionError, match=f"terminal tcp://127.0.0.1:{port}: cannot connect"):
        open_transport("zk_tcp", {"host": "127.0.0.1", "port": port}, 1.0)
    with pytest.raises(ValueError, match="unknown transport kind"):
        open_transport("zk_usb", {}, 1.0)
    with pytest.raises(ValueError, match="no host"):
        open_transport("zk_tcp", {}, 1.0)


def test_broken_session_keeps_raising_the_original_error() -> None:
    terminal = Terminal(make_records(N_FAULT), fault="drop-after=1")
    with running(terminal) as server:
        zk = client_for(server, chunk_size=4096)
        with zk:
            zk.disable()
            with pytest.raises(ZKConnectionError) as first:
                zk.read_attendance()
            with pytest.raises(ZKConnectionError) as again:
                zk.enable()  # as in a `finally:` after the failed read
            assert again.value is first.value


def test_connect_device_reads_comm_key_from_settings() -> None:
    terminal = Terminal(make_records(5), comm_key=99)
    with running(terminal) as server:
        zk = connect_device("zk_tcp", {**server.settings, "comm_key": 99}, timeout=2.0)
        with zk:
            assert zk.free_sizes().records == 5


def test_run_simulator_prints_where_it_listens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "attlog.dat"
    path.write_text(
        "00042\t2024-03-15 08:30:05\t1\t0\t1\t0\r\n"
        "  107\t2024-03-15 17:02:00\t1\t1\t1\t0\r\n"
        "bad line\r\n",
        encoding="ascii",
    )
    records, rejected = load_records(path)
    assert [(r.user_id, r.timestamp) for r in records] == [
        ("00042", datetime(2024, 3, 15, 8, 30, 5)), ("107", datetime(2024, 3, 15, 17, 2))]
    assert rejected == 1
    server = run_simulator(path, "tcp", 0, False, 40, 0, None, block=False)
    try:
        out = capsys.readouterr()
        assert out.out == f"listening on tcp 127.0.0.1:{server.port}\n"
        assert "serving 2 punches" in out.err
        result = pull(server)
        assert [(r.user_id, r.timestamp) for r in result.records] == [
            (r.user_id, r.timestamp) for r in records]
    finally:
        server.stop()
    udp = run_simulator(path, "udp", 0, False, 16, 5, "skew=60", block=False)
    try:
        assert capsys.readouterr().out.startswith("listening on udp 127.0.0.1:")
        with client_for(udp, comm_key=5) as zk:
            assert {r.user_id for r in zk.read_attendance().records} == {"42", "107"}
    finally:
        udp.stop()
    with pytest.raises(ValueError, match="cannot be stored in a 8-byte record"):
        Terminal([AttendanceRecord("A1", datetime(2024, 1, 1), 0, 0, None, None, b"")], width=8)
