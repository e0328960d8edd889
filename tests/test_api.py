"""The public interface (attendance.api): plain data in and out, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from attendance import api
from attendance.batches import void_batch
from attendance.bundle import validate_bundle
from attendance.cli import main
from attendance.db import transaction
from attendance.errors import InvalidInput, UnknownStaff, UnknownUnit
from attendance.ledger import import_file
from attendance.loader import UnknownCode
from attendance.org import load_bundle

BUNDLE = {
    "units": [{"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
              {"code": "411", "name": "Huyện Tân Kỳ", "kind": "district", "parent": "40"},
              {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "411"},
              {"code": "17831", "name": "Xã Nghĩa Đồng", "kind": "commune", "parent": "411"},
              {"code": "17830-01", "name": "Thôn 1", "kind": "hamlet", "parent": "17830"},
              {"code": "42", "name": "Tỉnh Hà Tĩnh", "kind": "province"}],
    "schedules": [{"code": "S", "units": ["40"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-01", "unit": "17830", "kind": "file", "clock_offsets": [{"valid_from": "2026-01-01", "seconds": 120}]},
                {"code": "TK-02", "unit": "17831", "kind": "file"}],
    "staff": [
        {"code": "NV001", "name": "Nguyễn Văn An", "unit": "17830", "position": "Văn phòng",
         "enrollments": [{"device": "TK-01", "user_id": "101"}, {"device": "TK-02", "user_id": "7"}]},
        {"code": "NV002", "name": "Trần Thị Bình", "unit": "17830-01", "employed_to": "2026-10-15",
         "enrollments": [{"device": "TK-01", "user_id": "102"}]},
        {"code": "NV003", "name": "Lê Văn Cường", "unit": "17831", "employed_from": "2026-10-20",
         "enrollments": [{"device": "TK-02", "user_id": "103"}]},
    ],
    "excuses": [
        {"staff": "NV001", "kind": "annual_leave", "start": "2026-10-12T07:00", "end": "2026-10-13T17:00", "reference": "5/QĐ"},
        {"staff": "NV001", "kind": "training", "start": "2026-09-28T07:00", "end": "2026-10-01T12:00", "reference": "6/QĐ"},
        {"staff": "NV002", "kind": "sick_leave", "start": "2026-10-12T07:00", "end": "2026-10-12T17:00"},
    ],
}


@pytest.fixture
def loaded(db_url: str) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    return db_url


def attlog(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\t0\t1\t0\t0\n" for line in lines))
    return path


def test_unit_subtree_and_tree(loaded: str) -> None:
    with transaction() as session:
        sub = api.unit_subtree(session, "411")
        tree = api.unit_tree(session)
        with pytest.raises(UnknownUnit, match="không có đơn vị 'nope'"):
            api.unit_subtree(session, "nope")
    assert [(u.code, u.depth, u.parent_code) for u in sub] == [
        ("411", 0, "40"), ("17830", 1, "411"), ("17830-01", 2, "17830"), ("17831", 1, "411")]
    assert sub[2] == api.UnitInfo("17830-01", "Thôn 1", "hamlet", "17830", 2)
    assert [(u.code, u.depth) for u in tree] == [
        ("40", 0), ("411", 1), ("17830", 2), ("17830-01", 3), ("17831", 2), ("42", 0)]


def test_staff_of_unit_on_a_date(loaded: str) -> None:
    with transaction() as session:
        early = api.staff_of_unit(session, "411", dt.date(2026, 10, 10))
        late = api.staff_of_unit(session, "411", dt.date(2026, 10, 20))
        commune = api.staff_of_unit(session, "17830", dt.date(2026, 10, 10))
        assert api.staff_of_unit(session, "42", dt.date(2026, 10, 10)) == []
        with pytest.raises(UnknownUnit):
            api.staff_of_unit(session, "nope", dt.date(2026, 10, 10))
    assert [s.code for s in early] == ["NV001", "NV002"]  # NV003 not yet employed
    assert [s.code for s in late] == ["NV001", "NV003"]  # NV002 no longer employed
    assert [s.code for s in commune] == ["NV001", "NV002"]  # the hamlet is under the commune
    first = early[0]
    assert (first.unit_code, first.unit_name, first.position) == ("17830", "Xã Tân Kỳ", "Văn phòng")
    assert first.enrollments == (("TK-01", "101"), ("TK-02", "7"))
    assert early[1].employed_to == dt.date(2026, 10, 15) and early[1].unit_code == "17830-01"


def test_excuses_overlapping_a_period(loaded: str) -> None:
    with transaction() as session:
        october = api.excuses(session, "NV001", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        one_day = api.excuses(session, "NV001", dt.date(2026, 10, 13), dt.date(2026, 10, 13))
        assert api.excuses(session, "NV001", dt.date(2026, 10, 2), dt.date(2026, 10, 11)) == []
        with pytest.raises(UnknownStaff):
            api.excuses(session, "NV999", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        with pytest.raises(InvalidInput, match="trước ngày đầu"):
            api.excuses(session, "NV001", dt.date(2026, 10, 31), dt.date(2026, 10, 1))
    assert [(e.kind, e.reference) for e in october] == [("training", "6/QĐ"), ("annual_leave", "5/QĐ")]
    assert one_day == [api.ExcuseInfo("annual_leave", dt.datetime(2026, 10, 12, 7), dt.datetime(2026, 10, 13, 17), "5/QĐ")]


def test_punches_around_a_moment(loaded: str, tmp_path: Path) -> None:
    # TK-01 runs 2 minutes fast: its 07:05:30 is 07:03:30 in true time.
    tk1 = attlog(tmp_path, "tk1.dat", "101\t2026-10-05 07:05:30", "101\t2026-10-05 06:40:00", "102\t2026-10-05 07:04:00",
                 "101\t2026-10-05 11:45:00")
    tk2 = attlog(tmp_path, "tk2.dat", "7\t2026-10-05 07:10:00")
    with transaction() as session:
        import_file(session, "TK-01", tk1)
        second = import_file(session, "TK-02", tk2).batch
    moment = dt.datetime(2026, 10, 5, 7, 0)
    with transaction() as session:
        near = api.punches_around(session, "NV001", moment, dt.timedelta(minutes=22), dt.timedelta(minutes=10))
        edge = api.punches_around(session, "NV001", moment, dt.timedelta(0), dt.timedelta(minutes=3, seconds=30))
    assert [(p.device, p.user_id, p.device_time.strftime("%H:%M:%S"), p.corrected_time.strftime("%H:%M:%S")) for p in near] == [
        ("TK-01", "101", "06:40:00", "06:38:00"), ("TK-01", "101", "07:05:30", "07:03:30"), ("TK-02", "7", "07:10:00", "07:10:00")]
    assert near[2].batch == second and near[0].status == 1 and near[0].verify == 0
    assert [p.corrected_time.strftime("%H:%M:%S") for p in edge] == ["07:03:30"]  # both ends included
    with transaction() as session:
        void_batch(session, second, "nhầm", actor="t")
    with transaction() as session:
        after_void = api.punches_around(session, "NV001", moment, dt.timedelta(minutes=22), dt.timedelta(minutes=10))
        with pytest.raises(InvalidInput, match="không được âm"):
            api.punches_around(session, "NV001", moment, dt.timedelta(minutes=-1), dt.timedelta(0))
        with pytest.raises(InvalidInput, match="tối đa 31 ngày"):
            api.punches_around(session, "NV001", moment, dt.timedelta(days=20), dt.timedelta(days=20))
        with pytest.raises(UnknownStaff):
            api.punches_around(session, "NV404", moment, dt.timedelta(0), dt.timedelta(0))
    assert [p.device for p in after_void] == ["TK-01", "TK-01"]


def test_summary_explanation_and_month_without_punches(loaded: str, tmp_path: Path) -> None:
    with transaction() as session:
        assert api.month_has_punches(session, "2026-10") is False
        rows = api.monthly_summary(session, "2026-10", "17830")
    assert [r["staff_code"] for r in rows] == ["NV001", "NV002"]
    assert all(isinstance(r["absent_days"], int) for r in rows)
    runner = CliRunner()
    done = runner.invoke(main, ["summary", "--month", "2026-10", "--unit", "17830"])
    assert done.exit_code == 0
    warning = "Không có lượt chấm công nào trong tháng 10/2026 của đơn vị Xã Tân Kỳ (17830)"
    assert done.stderr.startswith(warning) and warning not in done.stdout
    assert [r["staff_code"] for r in __import__("json").loads(done.stdout)] == ["NV001", "NV002"]  # JSON unchanged

    batch = import_file_one(tmp_path, "TK-02", "103\t2026-10-21 07:20:00")  # NV003, commune 17831
    with transaction() as session:
        assert api.month_has_punches(session, "2026-10") is True
        assert api.month_has_punches(session, "2026-10", "17831") is True
        assert api.month_has_punches(session, "2026-10", "17830") is False  # someone else's punch
        assert api.month_has_punches(session, "2026-11", "17831") is False
        day = api.explain_day(session, "NV003", dt.date(2026, 10, 21))
        with pytest.raises(UnknownUnit):
            api.month_has_punches(session, "2026-10", "nope")
        with pytest.raises(UnknownCode):
            api.monthly_summary(session, "2026-10", "nope")
        with pytest.raises(UnknownStaff):
            api.explain_day(session, "NV404", dt.date(2026, 10, 21))
        with pytest.raises(InvalidInput, match="YYYY-MM"):
            api.monthly_summary(session, "2026-13")
    assert day["sessions"][0]["verdicts"] == ["late", "missing_out"] and day["sessions"][0]["late_minutes"] == 20
    done = runner.invoke(main, ["summary", "--month", "2026-10", "--unit", "17831"])
    assert done.exit_code == 0 and done.stderr == ""
    with transaction() as session:
        void_batch(session, batch, "nhầm", actor="t")
    with transaction() as session:
        assert api.month_has_punches(session, "2026-10") is False  # voided punches count for nothing
    done = runner.invoke(main, ["summary", "--month", "2026-10"])
    assert done.stderr.startswith("Không có lượt chấm công nào trong tháng 10/2026 của tất cả các đơn vị")


def import_file_one(tmp_path: Path, device: str, line: str) -> int:
    with transaction() as session:
        return import_file(session, device, attlog(tmp_path, f"{device}.dat", line)).batch  # type: ignore[return-value]
