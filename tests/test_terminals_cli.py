"""Terminal commands as docs/cli.md drives them: simulate-terminal and pull as processes; listen on a pty."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from sqlalchemy import select

from attendance import models as m
from attendance.db import transaction
from attendance.listen import listen_device

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"
SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url}
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120)


def load(db_url: str, tmp_path: Path, devices: list[dict]) -> None:
    bundle = {"units": [{"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune"}], "devices": devices}
    path = tmp_path / "devices.yaml"
    path.write_text(yaml.safe_dump(bundle), encoding="utf-8")
    assert cli(db_url, "org", "load", str(path)).returncode == 0


def start_simulator(*args: str) -> subprocess.Popen[str]:
    # faulthandler: a simulator that does not stop can be made to print where its threads are
    return subprocess.Popen([SCRIPT, "simulate-terminal", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})


def stop_simulator(simulator: subprocess.Popen[str], signum: int = signal.SIGINT) -> int:
    """Send the signal; the exit code, or a failure that shows the threads of a simulator that hangs."""
    simulator.send_signal(signum)
    try:
        return simulator.wait(timeout=10)
    except subprocess.TimeoutExpired:
        simulator.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack on stderr
        _, stderr = simulator.communicate(timeout=10)
        raise AssertionError(f"the simulator did not stop within 10 s of signal {signum}:\n{stderr}") from None


def test_simulate_terminal_and_pull_as_processes(db_url: str, tmp_path: Path) -> None:
    simulator = start_simulator("--records", str(SAMPLES / "tk01_attlog.dat"), "--protocol", "tcp",
                                "--port", "0", "--width", "16", "--comm-key", "123", "--fault", "skew=+600")
    try:
        line = simulator.stdout.readline().strip()  # type: ignore[union-attr]
        assert line.startswith("listening on tcp 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        load(db_url, tmp_path, [{"code": "TK-01", "unit": "17830", "kind": "zk_tcp", "host": "127.0.0.1",
                                 "port": port, "comm_key": 123}])
        done = cli(db_url, "pull", "--device", "TK-01", "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert (result["records_read"], result["inserted"], result["rejected"]) == (986, 986, 0)
        assert 599 <= result["skew_seconds"] <= 601
        status = json.loads(cli(db_url, "devices", "status", "--json").stdout)
        assert status[0]["problems"] == ["clock_skew", "no_punches"]  # October sample, skewed clock
        punches = json.loads(cli(db_url, "punches", "--device", "TK-01", "--from", "2026-10-01", "--to", "2026-10-01").stdout)
        assert punches and all(p["device_time"].startswith("2026-10-01") for p in punches)
    finally:
        assert stop_simulator(simulator) == 0
    failed = cli(db_url, "pull", "--device", "TK-01", "--timeout", "1")  # the terminal is gone
    assert failed.returncode != 0 and failed.stderr.strip().splitlines()[-1].startswith("error: không lấy được dữ liệu từ TK-01")


def test_simulator_stops_on_sigterm_as_a_service_manager_sends_it() -> None:
    simulator = start_simulator("--records", str(SAMPLES / "tk01_attlog.dat"), "--port", "0")
    try:
        assert simulator.stdout.readline().startswith("listening on tcp 127.0.0.1:")  # type: ignore[union-attr]
    finally:
        assert stop_simulator(simulator, signal.SIGTERM) == 0


def test_listen_stores_punch_lines_from_a_real_pty(db_url: str) -> None:
    master, slave = os.openpty()
    from attendance.bundle import validate_bundle
    from attendance.org import load_bundle

    with transaction() as session:
        load_bundle(session, validate_bundle({
            "units": [{"code": "X", "name": "Xã"}],
            "devices": [{"code": "LINE-1", "unit": "X", "kind": "serial_lines", "port": os.ttyname(slave), "baudrate": 9600}],
        }))
    lines = b"101\t2026-10-05 07:01:02\t1\t0\t1\t0\r\ngarbage here\r\n0042\t2026-10-05 07:03:04\t1\t0\t1\t0\r\n"

    def terminal() -> None:
        time.sleep(0.5)  # after the port is opened (opening flushes its input)
        os.write(master, lines)

    threading.Thread(target=terminal, daemon=True).start()
    with transaction() as session:
        total = listen_device(session, "LINE-1", idle_timeout=2.0)
    os.close(master)
    os.close(slave)
    assert (total.read, total.inserted, total.rejected) == (3, 2, 1)
    with transaction() as session:
        got = sorted(session.execute(select(m.Punch.user_id, m.Punch.device_time)).all())
        assert [(u, t.strftime("%H:%M:%S")) for u, t in got] == [("0042", "07:03:04"), ("101", "07:01:02")]
        bad = session.scalars(select(m.RejectedRow)).one()
        assert (bad.line_no, bad.raw) == (2, "garbage here")
