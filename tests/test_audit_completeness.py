"""Every kind of change to people's records writes its audit row: who, from where, what changed."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from attendance import models as m
from attendance.audit import current_origin
from attendance.batches import restore_batch, void_batch
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle
from attendance.terminals import approve_terminal, note_unknown_terminal, reject_terminal

BUNDLE: dict[str, Any] = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ", "kind": "commune"},
              {"code": "Y", "name": "Xã Nghĩa Đồng", "kind": "commune"}],
    "schedules": [{"code": "S", "units": ["X"], "valid_from": "2026-01-01", "grace_late_minutes": 5,
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "calendar": {"country": "VN", "overrides": [{"date": "2026-01-02", "kind": "day_off", "reference": "12729/VPCP"}]},
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file",
                 "clock_offsets": [{"valid_from": "2026-10-01", "seconds": 30}]}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X", "position": "Văn phòng",
               "enrollments": [{"device": "TK-01", "user_id": "101"}]}],
    "excuses": [{"staff": "NV001", "kind": "leave", "start": "2026-10-05T07:00", "end": "2026-10-06T17:00",
                 "reference": "12/QĐ"}],
}


@contextmanager
def acting_from(origin: str) -> Iterator[None]:
    """Changes made inside carry ``origin``, as the web layer sets it per request."""
    token = current_origin.set(origin)
    try:
        yield
    finally:
        current_origin.reset(token)


def rows_since(last_id: int) -> list[m.AuditLog]:
    with transaction() as session:
        return list(session.scalars(select(m.AuditLog).where(m.AuditLog.id > last_id).order_by(m.AuditLog.id)))


def last_id() -> int:
    with transaction() as session:
        return session.scalar(select(m.AuditLog.id).order_by(m.AuditLog.id.desc()).limit(1)) or 0


def by_kind(rows: list[m.AuditLog]) -> dict[tuple[str, str], list[m.AuditLog]]:
    out: dict[tuple[str, str], list[m.AuditLog]] = {}
    for row in rows:
        out.setdefault((row.entity, row.action), []).append(row)
    return out


def load(bundle: dict[str, Any], actor: str) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(bundle)), actor=actor)


def test_bundle_loads_audit_every_created_changed_and_removed_record(db_url: str) -> None:
    with acting_from("10.0.0.7"):
        load(BUNDLE, "web:clerk")
    created = by_kind(rows_since(0))
    for entity in ("unit", "schedule", "calendar_override", "device", "clock_offset", "staff", "assignment",
                   "enrollment", "excuse", "setting"):
        rows = created.get((entity, "create"))
        assert rows, f"no audit row for creating a {entity}"
        assert {(r.actor, r.origin) for r in rows} == {("web:clerk", "10.0.0.7")}, entity
    [staff] = created[("staff", "create")]
    assert staff.entity_key == "NV001" and staff.changes["name"] == [None, "Nguyễn Văn An"]
    [enrollment] = created[("enrollment", "create")]
    assert enrollment.entity_key == "TK-01:101"
    [excuse] = created[("excuse", "create")]
    assert excuse.entity_key == "NV001:leave:2026-10-05T07:00" and excuse.changes["reference"] == [None, "12/QĐ"]

    changed = copy.deepcopy(BUNDLE)
    changed["schedules"][0]["grace_late_minutes"] = 10
    changed["schedules"][0]["units"] = ["X", "Y"]
    changed["calendar"]["overrides"] = [{"date": "2026-01-02", "kind": "day_off", "reference": "12729/VPCP-KGVX"}]
    changed["devices"][0]["clock_offsets"] = [{"valid_from": "2026-10-01", "seconds": -15}]
    changed["staff"][0].update(position="Tư pháp - Hộ tịch", unit="Y", enrollments=[])
    changed["excuses"] = []
    before = last_id()
    with acting_from("192.0.2.4"):
        load(changed, "cli")
    rows = rows_since(before)
    assert rows and {(r.actor, r.origin) for r in rows} == {("cli", "192.0.2.4")}
    kinds = by_kind(rows)
    grace = [r.changes for r in kinds[("schedule", "update")] if "grace_late_minutes" in r.changes]
    assert grace == [{"grace_late_minutes": [5, 10]}]
    assert any("unit_ids" in r.changes for r in kinds[("schedule", "update")])
    assert kinds[("calendar_override", "update")][0].changes == {"reference": ["12729/VPCP", "12729/VPCP-KGVX"]}
    assert kinds[("clock_offset", "update")][0].changes == {"seconds": [30, -15]}
    assert kinds[("staff", "update")][0].changes == {"position": ["Văn phòng", "Tư pháp - Hộ tịch"]}
    assert {r.action for r in rows if r.entity == "assignment"} == {"create", "delete"}
    [gone] = kinds[("enrollment", "delete")]
    assert gone.entity_key == "TK-01:101" and gone.changes["staff"] == ["NV001", None]
    [withdrawn] = kinds[("excuse", "delete")]
    # The same key as when it was created: the person's code, not a database id.
    assert withdrawn.entity_key == "NV001:leave:2026-10-05T07:00"
    assert withdrawn.changes["reference"] == ["12/QĐ", None]

    final = copy.deepcopy(changed)
    final["calendar"]["overrides"] = []
    final["devices"][0]["clock_offsets"] = []
    before = last_id()
    load(final, "cli")
    kinds = by_kind(rows_since(before))
    assert kinds[("calendar_override", "delete")][0].entity_key == "2026-01-02"
    assert kinds[("clock_offset", "delete")][0].changes == {"seconds": [-15, None]}


def test_batch_void_restore_and_terminal_decisions_are_audited(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, "cli")
    path = tmp_path / "attlog.dat"
    path.write_text("101\t2026-10-05 07:12:00\t0\t1\t0\t0\n")
    with transaction() as session:
        batch = import_file(session, "TK-01", path).batch
    before = last_id()
    with acting_from("10.0.0.8"):
        with transaction() as session:
            void_batch(session, batch, "nhầm máy", actor="web:clerk")
        with transaction() as session:
            restore_batch(session, batch, "đúng máy", actor="web:clerk")
        with transaction() as session:
            now = dt.datetime(2026, 11, 30, 8)
            note_unknown_terminal(session, "SN-NEW", "10.0.0.50", now)
            note_unknown_terminal(session, "SN-BAD", "10.0.0.51", now)
        with transaction() as session:
            approve_terminal(session, "SN-NEW", "TK-09", "X", actor="web:admin")
            reject_terminal(session, "SN-BAD", actor="web:admin")
    rows = rows_since(before)
    assert all(r.origin == "10.0.0.8" for r in rows)
    got = [(r.entity, r.action, r.entity_key, r.actor) for r in rows]
    assert got == [
        ("import_batch", "void", str(batch), "web:clerk"),
        ("import_batch", "restore", str(batch), "web:clerk"),
        ("device", "create", "TK-09", "web:admin"),
        ("pending_terminal", "update", "SN-NEW", "web:admin"),
        ("pending_terminal", "update", "SN-BAD", "web:admin"),
    ]
    assert rows[0].changes["reason"] == "nhầm máy" and rows[1].changes["reason"] == "đúng máy"
    assert rows[2].changes["serial"] == [None, "SN-NEW"]
    assert rows[4].changes == {"status": ["pending", "rejected"]}


def test_imports_add_punches_without_touching_the_audit_log_or_earlier_punches(db_url: str, tmp_path: Path) -> None:
    """Raw punches are never edited: a second import of an overlapping file only adds the new lines."""
    load(BUNDLE, "cli")
    first, second = tmp_path / "a.dat", tmp_path / "b.dat"
    first.write_text("101\t2026-10-05 07:12:00\t0\t1\t0\t0\n")
    second.write_text("101\t2026-10-05 07:12:00\t1\t15\t0\t0\n101\t2026-10-05 17:01:00\t1\t1\t0\t0\n")
    with transaction() as session:
        import_file(session, "TK-01", first)
    with transaction() as session:
        kept = session.execute(select(m.Punch.id, m.Punch.status, m.Punch.verify, m.Punch.batch_id)).one()
    with transaction() as session:
        result = import_file(session, "TK-01", second)
    assert (result.inserted, result.duplicates) == (1, 1)
    with transaction() as session:
        again = session.execute(select(m.Punch.id, m.Punch.status, m.Punch.verify, m.Punch.batch_id)
                                .where(m.Punch.id == kept.id)).one()
    assert tuple(again) == tuple(kept)
