"""Several schedulers share the terminals through the database: leases, real processes, a killed holder."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from attendance import leases
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import get_engine, session_factory, transaction
from attendance.org import load_bundle
from devices.zk.codec import records_from_rows
from devices.zk.simulator import TcpSimulator, Terminal

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"
BASE = dt.datetime(2026, 10, 5, 7, 0, 0)


def rows_of(terminal: int, count: int) -> list[tuple]:
    """``count`` distinct punches of a terminal's own people (every terminal a different set)."""
    return [(f"{terminal}{i % 9:02d}", BASE + dt.timedelta(minutes=7 * i, seconds=terminal), i % 2, 1, None)
            for i in range(count)]


@contextmanager
def terminals(counts: list[int], slow: float = 0.0) -> Iterator[list[TcpSimulator]]:
    """Simulated TCP terminals (real sockets), ``counts[i]`` punches each, every reply ``slow`` s late."""
    servers = [TcpSimulator(Terminal(records_from_rows(rows_of(i, n)), width=40, fault=f"slow={slow}"), port=0).start()
               for i, n in enumerate(counts)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def register(servers: list[TcpSimulator], extra: list[dict] | None = None) -> list[str]:
    """Load the terminals (TK-00, TK-01...) as zk_tcp devices; return their codes."""
    codes = [f"TK-{i:02d}" for i in range(len(servers))]
    devices = [{"code": code, "unit": "X", "kind": "zk_tcp", **server.settings} for code, server in zip(codes, servers, strict=True)]
    with transaction() as session:
        load_bundle(session, validate_bundle({"units": [{"code": "X", "name": "Xã Tân Kỳ"}],
                                              "devices": devices + (extra or [])}))
    return codes


def punch_counts() -> dict[str, int]:
    with transaction() as session:
        return dict(session.execute(select(m.Device.code, func.count(m.Punch.id)).join(m.Punch, m.Punch.device_id == m.Device.id)
                                    .group_by(m.Device.code)).all())


def pull_logs() -> dict[str, list[m.PullLog]]:
    with transaction() as session:
        found: dict[str, list[m.PullLog]] = {}
        for code, log in session.execute(select(m.Device.code, m.PullLog).join(m.Device, m.Device.id == m.PullLog.device_id)
                                         .order_by(m.PullLog.started_at)).all():
            found.setdefault(code, []).append(log)
        return found


def lease_of(code: str) -> dict:
    with transaction() as session:
        return next(row for row in leases.leases(session) if row["device"] == code)


def hold_back(seconds: float) -> None:
    """Give every terminal its lease row, due only ``seconds`` from now (database clock)."""
    with transaction() as session:
        leases.ensure_leases(session)
        session.execute(update(m.PullLease).values(next_due_at=leases.db_in(session, seconds)))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class SchedulerProcess:
    """`attendance scheduler` as a real process; its output lines are collected as they come."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "ATTENDANCE_LANG": "en"}
        self.process = subprocess.Popen([SCRIPT, "scheduler", "--poll", "0.2", *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            lines.append(line.rstrip("\n"))

    @property
    def holder(self) -> str:
        """The scheduler id it announced ('' before it has)."""
        for line in self.err:
            if line.startswith("attendance scheduler ") and ":" in line:
                return line.split(" ")[2].rstrip(":")
        return ""

    def results(self) -> list[dict]:
        """The pulls it reported (one JSON line each, failures on standard error)."""
        return [json.loads(line) for line in self.out + self.err if line.startswith("{")]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        """Its exit code once it has ended on its own (all its output read)."""
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code


# --------------------------------------------------------------------------- leases, in one process

def test_leases_claim_renew_release_and_expire(db_url: str) -> None:
    with terminals([3, 3]) as servers:
        codes = register(servers, extra=[{"code": "FILE-1", "unit": "X", "kind": "file"}])
    sessions = session_factory()

    def run(work: Callable) -> object:
        with sessions() as session:
            value = work(session)
            session.commit()
            return value

    assert run(leases.ensure_leases) == 2  # the file source is not pulled: no lease
    assert run(leases.ensure_leases) == 0
    taken = run(lambda s: leases.claim_due(s, "a", 60, limit=5))
    assert [c.code for c in taken] == codes and all(c.interval_minutes == 30 for c in taken)
    assert run(lambda s: leases.claim_due(s, "b", 60, limit=5)) == []  # held by a
    assert run(lambda s: leases.renew(s, "a", 60)) == 2 and run(lambda s: leases.renew(s, "b", 60)) == 0
    assert run(lambda s: leases.release(s, "a", taken[0])) is True
    assert run(lambda s: leases.claim_due(s, "b", 60, limit=5)) == []  # released, but due in 30 minutes
    first = lease_of(codes[0])
    assert first["holder"] is None and first["last_holder"] == "a"
    with sessions() as session:  # a's process died: its other lease ran out a while ago
        session.execute(update(m.PullLease).where(m.PullLease.holder == "a").values(expires_at=leases.db_in(session, -5)))
        session.commit()
    assert [c.code for c in run(lambda s: leases.claim_due(s, "b", 60, limit=5))] == [codes[1]]
    assert run(lambda s: leases.release(s, "a", taken[1])) is False  # a came back too late: b keeps it
    assert lease_of(codes[1])["holder"] == "b"
    assert run(lambda s: leases.release(s, "b", taken[1])) is True
    with sessions() as session:
        due = session.scalars(select(m.PullLease.next_due_at).order_by(m.PullLease.device_id)).all()
        now = session.scalar(select(leases.db_now(session)))
    # Each is due one interval after its release, by the database's clock.
    for moment in due:
        ahead = (moment.replace(tzinfo=None) - now.replace(tzinfo=None)) if isinstance(now, dt.datetime) else None
        if ahead is None:  # SQLite answers datetime('now') as text
            ahead = moment - dt.datetime.fromisoformat(now)
        assert dt.timedelta(minutes=29) < ahead <= dt.timedelta(minutes=30)


def test_postgresql_claims_skip_rows_another_scheduler_is_claiming(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: a second claim waits instead of skipping")
    with terminals([1, 1]) as servers:
        codes = register(servers)
    first = session_factory()()
    second = session_factory(lock_timeout=2)()  # a wait would fail after 2 s instead of skipping
    try:
        leases.ensure_leases(first)
        first.commit()
        mine = leases.claim_due(first, "a", 60, limit=1)  # not committed: its row stays locked
        theirs = leases.claim_due(second, "b", 60, limit=5)
        assert [c.code for c in mine] == [codes[0]] and [c.code for c in theirs] == [codes[1]]
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    assert [lease_of(code)["holder"] for code in codes] == ["a", "b"]


# --------------------------------------------------------------------------- real scheduler processes

def test_scheduler_once_pulls_what_is_due_then_nothing_until_the_interval(db_url: str) -> None:
    with terminals([40, 50, 60]) as servers:
        codes = register(servers)
        first = SchedulerProcess("--once", "--workers", "2")
        assert first.wait(60) == 0, first.err
        again = SchedulerProcess("--once")
        assert again.wait(60) == 0, again.err
    assert sorted(r["device"] for r in first.results()) == codes and all(r["ok"] for r in first.results())
    assert again.results() == []  # every terminal is due again only in 30 minutes
    assert punch_counts() == dict(zip(codes, [40, 50, 60], strict=True))
    assert {code: len(logs) for code, logs in pull_logs().items()} == dict.fromkeys(codes, 1)


def test_two_scheduler_processes_pull_each_terminal_once_and_never_together(db_url: str) -> None:
    counts = [80 + 5 * i for i in range(12)]
    with terminals(counts, slow=0.03) as servers:
        codes = register(servers)
        hold_back(3600)  # nothing is due until both processes are up
        both = [SchedulerProcess("--workers", "2", "--lease-seconds", "30") for _ in range(2)]
        try:
            wait_for(lambda: all(p.holder for p in both), 60, "both schedulers to start")
            with transaction() as session:
                session.execute(update(m.PullLease).values(next_due_at=leases.db_now(session)))
            wait_for(lambda: all(lease_of(c)["last_holder"] for c in codes), 120, "every terminal to be pulled")
        finally:
            exits = [p.stop() for p in both]
        assert exits == [0, 0], [p.err[-5:] for p in both]
        assert [s.connections for s in servers] == [1] * len(codes)  # one pull each ...
        assert [s.most_at_once for s in servers] == [1] * len(codes)  # ... and never two clients at once
    assert punch_counts() == dict(zip(codes, counts, strict=True))  # every punch stored exactly once
    logs = pull_logs()
    assert {code: [(log.ok, log.inserted) for log in logs[code]] for code in codes} == {
        code: [(True, n)] for code, n in zip(codes, counts, strict=True)}
    by = {p.holder: sorted(r["device"] for r in p.results()) for p in both}
    assert all(by.values()), by  # both took part ...
    assert sorted(by[both[0].holder] + by[both[1].holder]) == codes  # ... and no terminal twice
    assert all(r["scheduler"] == p.holder for p in both for r in p.results())
    assert {code: lease_of(code)["last_holder"] for code in codes} == {
        r["device"]: p.holder for p in both for r in p.results()}


def test_a_killed_scheduler_leaves_its_terminal_to_the_other_after_the_lease(db_url: str) -> None:
    counts = [300, 50, 60]
    with terminals(counts) as servers:
        codes = register(servers)
        slow = servers[0]
        slow.terminal.fault.slow = 1.5  # a long pull: about ten replies, each 1.5 s late
        hold_back(3600)
        doomed = SchedulerProcess("--workers", "4", "--lease-seconds", "4")
        survivor: SchedulerProcess | None = None
        try:
            wait_for(lambda: bool(doomed.holder), 60, "the first scheduler to start")
            with transaction() as session:
                session.execute(update(m.PullLease).values(next_due_at=leases.db_now(session)))
            wait_for(lambda: slow.open_now == 1 and lease_of(codes[0])["holder"] == doomed.holder, 30,
                     "the first scheduler to be pulling the slow terminal")
            survivor = SchedulerProcess("--workers", "2", "--lease-seconds", "4")
            wait_for(lambda: bool(survivor.holder), 60, "the second scheduler to start")
            assert slow.open_now == 1 and lease_of(codes[0])["holder"] == doomed.holder  # still mid-pull
            assert doomed.stop(signal.SIGKILL) == -signal.SIGKILL
            expired_at = lease_of(codes[0])["expires_at"]  # nobody renews it any more
            slow.terminal.fault.slow = 0.0
            wait_for(lambda: lease_of(codes[0])["last_holder"] == survivor.holder, 60,
                     "the second scheduler to pull the slow terminal")
            taken = lease_of(codes[0])
        finally:
            if doomed.process.poll() is None:
                doomed.stop(signal.SIGKILL)
            exit_code = survivor.stop() if survivor else None
        assert exit_code == 0, survivor.err[-5:] if survivor else ""
        assert taken["acquired_at"] >= expired_at  # taken over only once the dead holder's lease ran out
        assert slow.connections == 2 and slow.most_at_once == 1  # the cut pull, then the other's: never together
    assert punch_counts() == dict(zip(codes, counts, strict=True))  # nothing lost, nothing doubled
    logs = pull_logs()
    assert [(log.ok, log.inserted) for log in logs[codes[0]]] == [(True, 300)]  # the killed pull left no log
    assert [r["device"] for r in survivor.results()] == [codes[0]]  # the others were done, not due again
    assert all(len(logs[code]) == 1 for code in codes)


@pytest.fixture(autouse=True)
def _dispose_engines(db_url: str) -> Iterator[None]:
    yield
    get_engine(db_url).dispose()  # the subprocesses' connections are theirs; ours go back before the reset
