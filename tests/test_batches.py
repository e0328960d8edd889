"""Undoing a wrong import: a voided batch's punches stay in the ledger but count for nothing."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from attendance import models as m
from attendance.batches import list_batches, restore_batch, void_batch
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.errors import Conflict, InvalidInput, UnknownBatch, UnknownDevice
from attendance.health import device_health
from attendance.ledger import import_file, ledger_rows
from attendance.org import load_bundle
from attendance.services import explain, monthly_summary, summary_records

BUNDLE = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ", "kind": "commune"}],
    "schedules": [{"code": "S", "units": ["X"], "valid_from": "2026-01-01",
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}, {"code": "TK-02", "unit": "X", "kind": "file"}],
    # The same device user id 101 is a different person on each terminal.
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X", "enrollments": [{"device": "TK-01", "user_id": "101"}]},
              {"code": "NV002", "name": "Trần Thị Bình", "unit": "X", "enrollments": [{"device": "TK-02", "user_id": "101"}]}],
}
# NV001's week on TK-01: Monday late by 12, Tuesday on time, Wednesday morning only.
LINES = [
    "101\t2026-10-05 07:12:00\t0\t1\t0\t0", "101\t2026-10-05 11:31:00\t1\t1\t0\t0",
    "101\t2026-10-05 13:29:00\t0\t1\t0\t0", "101\t2026-10-05 17:01:00\t1\t1\t0\t0",
    "101\t2026-10-06 06:58:00\t0\t1\t0\t0", "101\t2026-10-06 11:30:00\t1\t1\t0\t0",
    "101\t2026-10-06 13:25:00\t0\t1\t0\t0", "101\t2026-10-06 17:00:00\t1\t1\t0\t0",
    "101\t2026-10-07 07:00:00\t0\t1\t0\t0", "101\t2026-10-07 11:35:00\t1\t1\t0\t0",
]


def summary() -> dict[str, dict]:
    with transaction() as session:
        return {r["staff_code"]: r for r in summary_records(monthly_summary(session, "2026-10"))}


@pytest.fixture
def attlog(db_url: str, tmp_path: Path) -> Path:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    path = tmp_path / "attlog.dat"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_void_and_restore_a_file_imported_onto_the_wrong_terminal(attlog: Path) -> None:
    empty = summary()
    assert empty["NV002"]["absent_days"] == 22 and empty["NV002"]["late_count"] == 0
    with transaction() as session:
        wrong = import_file(session, "TK-02", attlog).batch  # meant for TK-01
    imported = summary()
    assert imported["NV002"]["late_count"] == 1 and imported["NV002"]["absent_days"] == 19
    assert imported["NV001"] == empty["NV001"]

    with transaction() as session:
        info = void_batch(session, wrong, "  nhầm máy:\n file của TK-01 ", actor="tester")
    assert (info.state, info.voided_by, info.void_reason, info.punches) == ("voided", "tester", "nhầm máy: file của TK-01", 10)
    assert summary() == empty  # the punches are gone from every verdict
    with transaction() as session:
        assert len(ledger_rows(session, "TK-02", None, None)) == 10  # ...but still in the ledger
        day = explain(session, "NV002", dt.date(2026, 10, 5))
        assert day["punches"] == [] and day["sessions"][0]["verdicts"] == ["absent"]
        assert {h.device: h.last_punch for h in device_health(session, now=dt.datetime(2026, 10, 9, 12))}["TK-02"] is None

    with transaction() as session:
        restored = restore_batch(session, wrong, "kiểm tra lại: đúng máy", actor="tester")
    assert restored.state == "live" and restored.voided_at is None and restored.void_reason is None
    assert summary() == imported  # back exactly

    with transaction() as session:
        void_batch(session, wrong, "nhầm máy", actor="tester")
        right = import_file(session, "TK-01", attlog)  # same file, right terminal: a new natural key
    assert right.inserted == 10 and right.duplicates == 0
    fixed = summary()
    assert fixed["NV002"] == empty["NV002"]
    assert (fixed["NV001"]["late_count"], fixed["NV001"]["late_minutes"], fixed["NV001"]["absent_days"]) == (1, 12, 19)

    with transaction() as session:
        audit = session.execute(select(m.AuditLog.action, m.AuditLog.actor, m.AuditLog.changes)
                                .where(m.AuditLog.entity == "import_batch", m.AuditLog.entity_key == str(wrong))
                                .order_by(m.AuditLog.id)).all()
    assert [(a.action, a.actor) for a in audit] == [("void", "tester"), ("restore", "tester"), ("void", "tester")]
    assert audit[0].changes["reason"] == "nhầm máy: file của TK-01" and audit[0].changes["punches"] == 10
    assert audit[1].changes["reason"] == "kiểm tra lại: đúng máy" and audit[1].changes["void_reason"][0].startswith("nhầm")


def test_refusals_say_why(attlog: Path) -> None:
    with transaction() as session:
        batch = import_file(session, "TK-02", attlog).batch
    with transaction() as session, pytest.raises(UnknownBatch, match="không có lô nhập số 999"):
        void_batch(session, 999, "x", actor="t")
    for reason in ("", "   \n "):
        with transaction() as session, pytest.raises(InvalidInput, match="cần ghi lý do"):
            void_batch(session, batch, reason, actor="t")
    with transaction() as session, pytest.raises(InvalidInput, match="tối đa 1000"):
        void_batch(session, batch, "x" * 1001, actor="t")
    with transaction() as session, pytest.raises(Conflict, match="chưa bị hủy"):
        restore_batch(session, batch, "why", actor="t")
    with transaction() as session:
        void_batch(session, batch, "first", actor="t")
    with transaction() as session, pytest.raises(Conflict, match="đã bị hủy rồi .* bởi t: first"):
        void_batch(session, batch, "second", actor="t")
    with transaction() as session, pytest.raises(UnknownDevice):
        list_batches(session, "NOPE")
    with transaction() as session:  # refusals changed nothing
        assert session.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.entity == "import_batch")) == 1


def test_list_filters_and_limits(attlog: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.dat"
    other.write_text("101\t2026-10-08 07:00:00\t0\t1\t0\t0\n")
    with transaction() as session:
        first = import_file(session, "TK-02", attlog).batch
        second = import_file(session, "TK-01", other).batch
        third = import_file(session, "TK-01", attlog).batch
    with transaction() as session:
        assert [b.id for b in list_batches(session)] == [first, second, third]
        assert [b.id for b in list_batches(session, "TK-01")] == [second, third]
        assert [b.id for b in list_batches(session, limit=2)] == [second, third]
        listed = list_batches(session, "TK-02")[0]
    assert (listed.source, listed.label, listed.read, listed.inserted, listed.punches, listed.state) == \
        ("file", str(attlog), 10, 10, 10, "live")


SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url}
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120)


def test_batch_commands_through_the_installed_script(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump(BUNDLE, allow_unicode=True), encoding="utf-8")
    (tmp_path / "attlog.dat").write_text("\n".join(LINES) + "\n")
    assert cli(db_url, "org", "load", str(tmp_path / "bundle.yaml")).returncode == 0
    done = cli(db_url, "import", str(tmp_path / "attlog.dat"), "--device", "TK-02", "--json")
    batch = str(json.loads(done.stdout)["batch"])
    assert summary()["NV002"]["late_count"] == 1

    done = cli(db_url, "batch", "void", batch, "--reason", "nhầm máy TK-02")
    assert done.returncode == 0 and "10 lượt chấm không còn được tính" in done.stdout, done.stderr
    rows = json.loads(cli(db_url, "summary", "--month", "2026-10").stdout)
    assert next(r["late_count"] for r in rows if r["staff_code"] == "NV002") == 0
    listed = json.loads(cli(db_url, "batch", "list", "--device", "TK-02", "--json").stdout)
    assert [(b["id"], b["state"], b["void_reason"], b["read"]) for b in listed] == [(int(batch), "voided", "nhầm máy TK-02", 10)]
    assert listed[0]["voided_by"].startswith("cli")
    done = cli(db_url, "batch", "restore", batch, "--reason", "đúng máy")
    assert done.returncode == 0 and "10 lượt chấm được tính lại" in done.stdout, done.stderr
    assert summary()["NV002"]["late_count"] == 1

    # Refusals: one line on standard error, non-zero exit (in-process: each start of the
    # script costs seconds on a loaded machine, and the code path is the same).
    from click.testing import CliRunner

    from attendance.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["batch", "void", batch, "--reason", "lần hai"]).exit_code == 0
    text = runner.invoke(main, ["batch", "list"]).output
    assert "ĐÃ HỦY" in text and "lần hai" in text and "attlog.dat" in text
    for args, message in [
        (("void", batch, "--reason", "again"), f"error: lô {batch} đã bị hủy rồi"),
        (("restore", "4242", "--reason", "x"), "error: không có lô nhập số 4242"),
        (("void", "abc", "--reason", "x"), "error: batch id: cần một số, nhận được 'abc'"),
        (("void", batch, "--reason", " "), "error: --reason: cần ghi lý do"),
        (("list", "--device", "NOPE"), "error: không có máy chấm công 'NOPE'"),
    ]:
        done = runner.invoke(main, ["batch", *args])
        assert done.exit_code == 1 and done.output.startswith(message) and len(done.output.splitlines()) == 1, done.output
    assert runner.invoke(main, ["batch", "void", batch]).exit_code != 0  # --reason is required
    assert runner.invoke(main, ["batch", "restore", batch, "--reason", "ok"]).exit_code == 0
    done = runner.invoke(main, ["batch", "restore", batch, "--reason", "again"])
    assert done.exit_code == 1 and done.output.startswith(f"error: lô {batch} chưa bị hủy")
