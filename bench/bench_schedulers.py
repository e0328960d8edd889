"""S simulated terminals pulled by two `attendance scheduler` processes at once, beside the floor.

Run: .venv/bin/python bench/bench_schedulers.py [--terminals 500] [--records 1000] [--workers 4]
     [--database URL]   (default: a fresh SQLite file under bench/data; a PostgreSQL URL is reset first)

The terminals are ZK simulators on real TCP sockets in this process, each with its own staff
punching four times a working day. Both scheduler processes are started and announce
themselves before any terminal is made due, so the time measured is pulling, not start-up.
Afterwards every punch must be stored exactly once, every terminal pulled once, and no
simulator may have seen two clients at once. The floor is one pull's time (the same size of
terminal pulled alone into an empty database of the same kind, best of three) × terminals ÷ concurrency
(2 processes × workers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

from attendance import leases  # noqa: E402
from attendance import models as m  # noqa: E402
from attendance.bundle import validate_bundle  # noqa: E402
from attendance.db import get_engine, session_factory, transaction  # noqa: E402
from attendance.migrate import upgrade  # noqa: E402
from attendance.org import load_bundle  # noqa: E402
from attendance.pull import pull_device  # noqa: E402
from devices.zk.codec import AttendanceRecord  # noqa: E402
from devices.zk.simulator import TcpSimulator, Terminal  # noqa: E402

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"


def punches(terminal: int, count: int, staff: int = 30) -> list[AttendanceRecord]:
    """``count`` punches of a commune office's ``staff``: four a working day, a few minutes either side."""
    out: list[AttendanceRecord] = []
    day = dt.datetime(2026, 9, 1)
    slots = (dt.timedelta(hours=7), dt.timedelta(hours=11, minutes=30), dt.timedelta(hours=13, minutes=30),
             dt.timedelta(hours=17))
    while len(out) < count:
        if day.weekday() < 5:
            for person in range(staff):
                for k, slot in enumerate(slots):
                    jitter = dt.timedelta(seconds=(terminal * 7919 + person * 104729 + k * 31 + day.day * 17) % 1200 - 600)
                    out.append(AttendanceRecord(f"{person + 1:05d}", day + slot + jitter, k % 2, 1, None, None, b""))
        day += dt.timedelta(days=1)
    return out[:count]


def fresh_database(url: str | None) -> str:
    """A migrated, empty database: the URL given (PostgreSQL: its schema is dropped first) or a new SQLite file."""
    if url is None:
        DATA.mkdir(parents=True, exist_ok=True)
        path = DATA / "bench_schedulers.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    elif url.startswith("postgresql"):
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def register(url: str, servers: list[TcpSimulator]) -> list[str]:
    codes = [f"TK-{i:04d}" for i in range(len(servers))]
    devices = [{"code": c, "unit": "X", "kind": "zk_tcp", **s.settings} for c, s in zip(codes, servers, strict=True)]
    with transaction(url) as session:
        load_bundle(session, validate_bundle({"units": [{"code": "X", "name": "Tỉnh"}], "devices": devices}))
    return codes


def one_pull_seconds(records: int, database: str | None = None) -> float:
    """One terminal of this size pulled alone into an empty database of the same kind as the run's
    (the PostgreSQL given, or a scratch SQLite file); best of three, each into a fresh database."""
    folder = Path(tempfile.mkdtemp(prefix="bench-one-pull-"))
    try:
        best = float("inf")
        with TcpSimulator(Terminal(punches(0, records), width=40), port=0) as server:
            for _ in range(3):
                url = fresh_database(database or f"sqlite:///{folder / 'one.sqlite3'}")
                (code,) = register(url, [server])  # type: ignore[list-item]
                with session_factory(url)() as session:
                    t0 = time.perf_counter()
                    result = pull_device(session, code)
                    best = min(best, time.perf_counter() - t0)
                assert result.ok and result.inserted == records, result
                get_engine(url).dispose()
                if database is None:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{folder / 'one.sqlite3'}{suffix}").unlink(missing_ok=True)
        return best
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Scheduler:
    """One `attendance scheduler` process; its standard error is read so it never blocks."""

    def __init__(self, url: str, workers: int) -> None:
        env = {**os.environ, "ATTENDANCE_DATABASE_URL": url, "ATTENDANCE_LANG": "en",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen([SCRIPT, "scheduler", "--workers", str(workers), "--poll", "0.2"],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:  # type: ignore[union-attr]
            self.lines.append(line)
            if line.startswith("attendance scheduler "):
                self.ready.set()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)


def run(terminals: int = 500, records: int = 1000, workers: int = 4, database: str | None = None) -> dict[str, float]:
    """Pull ``terminals`` simulators with two scheduler processes; check the result; return the times."""
    floor_one = one_pull_seconds(records, database)
    url = fresh_database(database)
    servers = [TcpSimulator(Terminal(punches(i, records), width=40), port=0).start() for i in range(terminals)]
    try:
        codes = register(url, servers)
        with transaction(url) as session:  # every terminal waits until both schedulers are up
            leases.ensure_leases(session)
            session.execute(update(m.PullLease).values(next_due_at=leases.db_in(session, 3600)))
        pair = [Scheduler(url, workers) for _ in range(2)]
        try:
            for scheduler in pair:
                assert scheduler.ready.wait(120), "".join(scheduler.lines[-5:])
            with transaction(url) as session:
                session.execute(update(m.PullLease).values(next_due_at=leases.db_now(session)))
            t0 = time.perf_counter()
            while True:
                with transaction(url) as session:
                    left = session.scalar(select(func.count()).select_from(m.PullLease)
                                          .where(m.PullLease.last_released_at.is_(None)))
                if not left:
                    break
                time.sleep(0.1)
            total = time.perf_counter() - t0
        finally:
            exits = [s.stop() for s in pair]
        assert exits == [0, 0], exits
        with transaction(url) as session:
            stored = session.scalar(select(func.count()).select_from(m.Punch))
            distinct = session.scalar(select(func.count()).select_from(
                select(m.Punch.device_id, m.Punch.user_id, m.Punch.device_time).distinct().subquery()))
            pulls = dict(session.execute(select(m.PullLog.device_id, func.count()).group_by(m.PullLog.device_id)).all())
            failed = session.scalar(select(func.count()).select_from(m.PullLog).where(m.PullLog.ok.is_(False)))
            holders = dict(session.execute(select(m.PullLease.last_holder, func.count())
                                           .group_by(m.PullLease.last_holder)).all())
        assert stored == distinct == terminals * records, (stored, distinct, terminals * records)
        assert len(pulls) == terminals and set(pulls.values()) == {1} and not failed, (pulls, failed)
        assert all(s.connections == 1 and s.most_at_once == 1 for s in servers), "a terminal was pulled twice"
    finally:
        for server in servers:
            server.stop()
        get_engine(url).dispose()
    floor = floor_one * terminals / (2 * workers)
    print(f"{terminals} terminals × {records} punches, 2 schedulers × {workers} workers "
          f"({get_engine(url).dialect.name})")
    print(f"  every punch stored once: {stored:,}; each terminal pulled once, never by two at once; "
          f"pulls per scheduler: {sorted(holders.values())}")
    print(f"  one pull alone {floor_one * 1000:.0f} ms; floor (× {terminals} ÷ {2 * workers}) {floor:.2f} s; "
          f"measured {total:.2f} s; ratio {total / floor:.2f}x")
    return {"total": total, "floor": floor, "one_pull": floor_one, "codes": len(codes)}


def main() -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=500)
    parser.add_argument("--records", type=int, default=1000, help="punches per terminal")
    parser.add_argument("--workers", type=int, default=4, help="pull threads per scheduler process")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a fresh SQLite file under bench/data)")
    args = parser.parse_args()
    run(args.terminals, args.records, args.workers, args.database)


if __name__ == "__main__":
    main()
