"""Enrollment use cases: enrol, transfer only when confirmed, unenrol, user ids waiting for someone."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from attendance import api
from attendance import models as m
from attendance.batches import void_batch
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.enrollments import WaitingUserId, enrol, unenrol, unit_enrollments, waiting_user_ids
from attendance.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UnknownDevice,
    UnknownStaff,
    UnknownUnit,
)
from attendance.ledger import import_file
from attendance.org import load_bundle

BUNDLE = {
    "units": [{"code": "H", "name": "Huyện Tân Kỳ", "kind": "district"},
              {"code": "X1", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "H"},
              {"code": "X2", "name": "Xã Nghĩa Đồng", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-01", "unit": "X1", "kind": "file", "name": "Máy UBND"},
                {"code": "TK-02", "unit": "X2", "kind": "file"}],
    "staff": [{"code": "NV001", "name": "Trần Văn Bình", "unit": "X1", "enrollments": [{"device": "TK-01", "user_id": "101"}]},
              {"code": "NV002", "name": "Nguyễn Thị An", "unit": "X1"},
              {"code": "NV003", "name": "Lê Văn Cường", "unit": "X2"}],
}

# These tests read what the use cases say in the code's own words (test_i18n checks the Vietnamese).
pytestmark = pytest.mark.usefixtures("english")


def punches(tmp_path: Path, device: str, *lines: str) -> int:
    path = tmp_path / f"{device}-{len(lines)}.dat"
    path.write_text("".join(f"{line}\t0\t1\t0\t0\n" for line in lines))
    with transaction() as session:
        return import_file(session, device, path).batch  # type: ignore[return-value]


def audit(entity: str = "enrollment") -> list[tuple[str, str, str, dict]]:
    """The audit rows of the use cases (the bundle load of the fixture writes as 'cli')."""
    with transaction() as session:
        rows = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == entity, m.AuditLog.actor != "cli")
                               .order_by(m.AuditLog.id))
        return [(r.actor, r.action, r.entity_key, r.changes) for r in rows]


@pytest.fixture
def loaded(db_url: str) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    return db_url


def test_unit_enrollments_in_name_order(loaded: str) -> None:
    with transaction() as session:
        people = unit_enrollments(session, "H", dt.date(2026, 10, 5))
        assert [p.code for p in unit_enrollments(session, "X2", dt.date(2026, 10, 5))] == ["NV003"]
        with pytest.raises(UnknownUnit):
            unit_enrollments(session, "NOPE", dt.date(2026, 10, 5))
    assert [(p.name, p.enrollments) for p in people] == [
        ("Nguyễn Thị An", ()), ("Trần Văn Bình", (("TK-01", "101"),)), ("Lê Văn Cường", ())]


def test_waiting_user_ids_until_enrolled_then_their_punches_count(loaded: str, tmp_path: Path) -> None:
    punches(tmp_path, "TK-01", "101\t2026-10-05 07:00:00", "102\t2026-10-05 07:02:00", "102\t2026-10-06 17:05:00")
    punches(tmp_path, "TK-02", "9\t2026-10-07 07:00:00")
    with transaction() as session:
        everywhere = waiting_user_ids(session)
        commune = waiting_user_ids(session, "X1")
    assert everywhere == [
        WaitingUserId("TK-01", "Máy UBND", "102", 2, dt.datetime(2026, 10, 5, 7, 2), dt.datetime(2026, 10, 6, 17, 5)),
        WaitingUserId("TK-02", "", "9", 1, dt.datetime(2026, 10, 7, 7, 0), dt.datetime(2026, 10, 7, 7, 0)),
    ]
    assert commune == everywhere[:1]
    with transaction() as session:
        info = enrol(session, "TK-01", " 102 ", "NV002", actor="clerk")
    assert (info.device, info.user_id, info.staff_code, info.staff_name) == ("TK-01", "102", "NV002", "Nguyễn Thị An")
    with transaction() as session:
        assert waiting_user_ids(session, "X1") == []
        assert [p.device for p in api.punches_around(session, "NV002", dt.datetime(2026, 10, 6, 0), dt.timedelta(days=1),
                                                     dt.timedelta(days=1))] == ["TK-01", "TK-01"]
    assert audit() == [("clerk", "create", "TK-01:102", {"device": [None, "TK-01"], "user_id": [None, "102"],
                                                         "staff": [None, "NV002"], "staff_id": [None, 2]})]


def test_voided_punches_do_not_wait(loaded: str, tmp_path: Path) -> None:
    batch = punches(tmp_path, "TK-02", "9\t2026-10-07 07:00:00")
    with transaction() as session:
        void_batch(session, batch, "wrong terminal", actor="admin")
    with transaction() as session:
        assert waiting_user_ids(session) == []


def test_moving_an_enrollment_needs_a_confirmed_transfer(loaded: str) -> None:
    with transaction() as session, pytest.raises(Conflict, match="'101' on TK-01 is enrolled for NV001 .*would move NV001's punch"):
        enrol(session, "TK-01", "101", "NV002", actor="clerk")
    assert audit() == []
    with transaction() as session:
        same = enrol(session, "TK-01", "101", "NV001", actor="clerk")  # already theirs: nothing to do
    assert same.staff_code == "NV001" and audit() == []
    with transaction() as session:
        moved = enrol(session, "TK-01", "101", "NV002", actor="clerk", transfer=True)
    assert moved.staff_code == "NV002"
    assert audit() == [("clerk", "update", "TK-01:101", {"staff": ["NV001", "NV002"], "staff_id": [1, 2]})]
    with transaction() as session:
        assert api.staff_of_unit(session, "X1", dt.date(2026, 10, 5))[0].enrollments == ()


def test_unenrol_leaves_the_punches_waiting(loaded: str, tmp_path: Path) -> None:
    punches(tmp_path, "TK-01", "101\t2026-10-05 07:00:00")
    with transaction() as session:
        assert waiting_user_ids(session) == []
        gone = unenrol(session, "TK-01", "101", actor="clerk")
    assert (gone.staff_code, gone.user_id) == ("NV001", "101")
    with transaction() as session:
        assert [(w.device, w.user_id, w.punches) for w in waiting_user_ids(session)] == [("TK-01", "101", 1)]
        with pytest.raises(NotFound, match="'101' is not enrolled on TK-01"):
            unenrol(session, "TK-01", "101", actor="clerk")
    assert [a[1] for a in audit()] == ["delete"]


@pytest.mark.parametrize(("args", "error", "message"), [
    (("TK-09", "1", "NV001"), UnknownDevice, "TK-09"),
    (("TK-01", "1", "NV999"), UnknownStaff, "NV999"),
    (("TK-01", "", "NV001"), InvalidInput, "user_id: must not be empty"),
    (("TK-01", "1" * 40, "NV001"), InvalidInput, "user_id: 40 characters long, at most 32 fit"),
    (("TK-01", "1\n2", "NV001"), InvalidInput, "user_id: contains a control character"),
])
def test_bad_enrollments_are_refused_naming_the_field(loaded: str, english: None, args: tuple, error: type, message: str) -> None:
    with transaction() as session, pytest.raises(error, match=message):
        enrol(session, *args, actor="clerk")
    assert audit() == []
