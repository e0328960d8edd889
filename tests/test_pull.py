"""Pulling from the simulated terminal into the ledger: counts, retries, clearing, health, CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.cli import main
from attendance.db import session_factory, transaction
from attendance.health import device_health
from attendance.pull import PullResult
from attendance.pull import pull_device as pull_use_case
from attendance.pull import pull_with_retry as pull_with_retry_use_case
from devices.zk.codec import records_from_rows
from devices.zk.simulator import Terminal, serve

BASE = dt.datetime(2026, 10, 5, 7, 0, 0)
ROWS = [(f"{100 + i % 7}", BASE + dt.timedelta(minutes=13 * i, seconds=i % 60), i % 2, 1, None) for i in range(600)]


def records() -> list:
    return records_from_rows(ROWS)


@contextmanager
def terminal_at(protocol: str = "tcp", pty: bool = False, **options: object) -> Iterator[tuple[Terminal, dict]]:
    terminal = Terminal(records(), **options)  # type: ignore[arg-type]
    server = serve(protocol, port=0, pty=pty, terminal=terminal, block=False, announce=lambda _line: None)
    try:
        yield terminal, dict(server.settings)
    finally:
        server.stop()


def register(kind: str, settings: dict, comm_key: int | None = None, code: str = "TK-01") -> None:
    from attendance.org import load_bundle

    device = {"code": code, "unit": "X", "kind": kind, **settings}
    if comm_key is not None:
        device["comm_key"] = comm_key
    bundle = {"units": [{"code": "X", "name": "Xã Tân Kỳ"}], "devices": [device],
              "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X",
                         "enrollments": [{"device": code, "user_id": "100"}]}]}
    with transaction() as session:
        load_bundle(session, validate_bundle(bundle))


def pull_device(code: str, **options: object) -> PullResult:
    """The use case in a session of its own, as the CLI and the scheduler run it."""
    with session_factory()() as session:
        return pull_use_case(session, code, **options)  # type: ignore[arg-type]


def pull_with_retry(code: str, **options: object) -> PullResult:
    with session_factory()() as session:
        return pull_with_retry_use_case(session, code, **options)  # type: ignore[arg-type]


def ledger_count() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(m.Punch)) or 0


def test_pull_over_tcp_then_again(db_url: str) -> None:
    with terminal_at(width=16) as (_terminal, settings):
        register("zk_tcp", settings)
        first = pull_device("TK-01")
        again = pull_device("TK-01")
    assert first.ok and (first.records_read, first.inserted, first.duplicates) == (600, 600, 0)
    assert again.ok and (again.inserted, again.duplicates) == (0, 600)
    assert ledger_count() == 600
    with transaction() as session:
        logs = session.scalars(select(m.PullLog).order_by(m.PullLog.id)).all()
        assert [log.ok for log in logs] == [True, True] and abs(logs[0].skew_seconds) <= 1
        assert logs[0].log_used == 600 and logs[0].batch_id is not None
        batch = session.get(m.ImportBatch, logs[0].batch_id)
        assert batch.source == "pull" and batch.format == "zk_binary_16" and batch.read == 600


@pytest.mark.parametrize("drop_after", [0, 1, 3])
def test_interrupted_pull_is_recorded_and_a_retry_stores_everything_once(db_url: str, drop_after: int) -> None:
    with terminal_at(width=40, fault=f"drop-after={drop_after}", direct_limit=256) as (terminal, settings):
        register("zk_tcp", {**settings, "chunk_size": 4096})  # 24,000 bytes: six chunks
        failed = pull_device("TK-01", timeout=2.0, clear=True)
        assert not failed.ok and failed.error and not failed.cleared
        assert terminal.count == 600  # nothing cleared when nothing was committed
        with transaction() as session:
            assert [h.problems for h in device_health(session) if h.device == "TK-01"] == [["never_pulled", "pull_failed", "never_punched"]]
        retried = pull_with_retry("TK-01", attempts=3, sleep=lambda _s: None, timeout=2.0)
    assert retried.ok
    assert ledger_count() == 600


def test_clear_only_after_commit_and_with_the_terminal_disabled(db_url: str) -> None:
    with terminal_at(width=40) as (terminal, settings):
        register("zk_tcp", settings)
        result = pull_device("TK-01", clear=True)
        assert result.ok and result.cleared and terminal.count == 0
        order = [name for name in terminal.log if name in ("DISABLEDEVICE", "CLEAR_ATTLOG", "ENABLEDEVICE")]
        assert order == ["DISABLEDEVICE", "CLEAR_ATTLOG", "ENABLEDEVICE"]
    assert ledger_count() == 600


def test_pull_over_udp_with_comm_key_and_skewed_clock(db_url: str) -> None:
    with terminal_at("udp", width=8, comm_key=4321, fault="skew=+300") as (_terminal, settings):
        register("zk_udp", settings, comm_key=4321)
        result = pull_device("TK-01")
    assert result.ok and result.inserted == 600 and 298 <= result.skew_seconds <= 302
    with transaction() as session:
        assert "clock_skew" in next(h for h in device_health(session) if h.device == "TK-01").problems


def test_wrong_comm_key_is_a_recorded_failure(db_url: str) -> None:
    with terminal_at(width=40, comm_key=4321) as (_terminal, settings):
        register("zk_tcp", settings, comm_key=1111)
        result = pull_device("TK-01", timeout=2.0)
    assert not result.ok and "ZKAuthError" in result.error and ledger_count() == 0


def test_pull_over_a_real_pty(db_url: str) -> None:
    with terminal_at("serial", pty=True, width=49) as (_terminal, settings):
        register("zk_serial", settings)
        result = pull_device("TK-01")
    assert result.ok and result.inserted == 600


def test_cli_pull_json_and_errors(db_url: str) -> None:
    runner = CliRunner()
    with terminal_at(width=40) as (_terminal, settings):
        register("zk_tcp", settings)
        done = runner.invoke(main, ["pull", "--device", "TK-01", "--json"])
        assert done.exit_code == 0, done.output
        data = json.loads(done.output)
        assert data["ok"] and data["inserted"] == 600 and data["records_read"] == 600
        every = json.loads(runner.invoke(main, ["pull", "--all", "--json"]).output)
        assert [r["duplicates"] for r in every] == [600]
    assert runner.invoke(main, ["pull"]).exit_code != 0
    unknown = runner.invoke(main, ["pull", "--device", "NOPE"])
    assert unknown.exit_code != 0 and "'NOPE'" in unknown.output
    status = json.loads(runner.invoke(main, ["devices", "status", "--json"]).output)
    assert status[0]["device"] == "TK-01" and status[0]["last_success"] is not None

