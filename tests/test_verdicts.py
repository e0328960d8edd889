"""Stored day verdicts: each input change queues what it alters, and a refresh makes the stored rows
equal to a full evaluation of the month from scratch (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from attendance import models as m
from attendance.batches import void_batch
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.enrollments import enrol, unenrol
from attendance.excuses import create_excuse, edit_excuse, list_excuses, withdraw_excuse
from attendance.ledger import import_file
from attendance.month_views import person_month, unit_month_grid
from attendance.org import load_bundle
from attendance.services import monthly_summary
from attendance.verdicts import (
    VALUE_COLUMNS,
    _plain,
    compute_verdicts,
    mark_dirty,
    refresh_verdicts,
    stored_verdicts,
)

FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
TODAY = dt.date(2026, 11, 20)  # October is over: no provisional day
BUNDLE = {
    "units": [{"code": "H", "name": "Huyện", "kind": "district"},
              {"code": "X", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "H"},
              {"code": "Y", "name": "Xã Hòa Bình", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]},
                  {"code": "SY", "units": ["Y"], "sessions": [["07:30", "11:30"], ["13:00", "16:30"]]}],
    "calendar": {"overrides": [{"date": "2026-10-20", "kind": "day_off", "reference": "99/QĐ-UBND"}]},
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}, {"code": "TK-02", "unit": "Y", "kind": "file"}],
    "staff": [{"code": "NV001", "name": "Trần Văn Bình", "unit": "X", "enrollments": [{"device": "TK-01", "user_id": "1"}]},
              {"code": "NV002", "name": "Nguyễn Thị An", "unit": "X", "employed_to": "2026-10-25",
               "enrollments": [{"device": "TK-01", "user_id": "2"}]},
              {"code": "NV003", "name": "Lê Văn Cường", "unit": "Y", "enrollments": [{"device": "TK-02", "user_id": "3"}]}],
}
TIMES = ("07:00", "07:20", "11:25", "11:31", "13:28", "16:40", "17:02", "23:50", "00:10")


def _attlog(path: Path, rng: random.Random, pins: tuple[str, ...], days: range) -> Path:
    """Punches at times near the sessions' edges (and midnight), on working days and off days."""
    lines = [f"{pin}\t2026-10-{day:02d} {t}:00\t0\t1\t0\t0" for pin in pins for day in days
             for t in rng.sample(TIMES, rng.randint(0, 4))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(frame) -> list[dict]:  # type: ignore[no-untyped-def]
    columns = ["staff_id", "day", *VALUE_COLUMNS, "provisional"]
    ordered = frame.sort_values(["staff_id", "day"])
    return [dict(zip(columns, map(_plain, values), strict=True)) for values in zip(
        *(ordered[c].tolist() for c in columns), strict=True)]


def _everyone(session) -> list[int]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(m.Staff.id)))


def stored_equals_full_recomputation() -> list[dict]:
    """Refresh the month, then compare every stored row with the engine run from scratch."""
    with transaction() as session:
        refresh_verdicts(session, FIRST, LAST, today=TODAY)
    with transaction() as session:
        ids = _everyone(session)
        stored = _rows(stored_verdicts(session, ids, FIRST, LAST))
        fresh = _rows(compute_verdicts(session, ids, FIRST, LAST, TODAY))
        assert session.scalar(select(func.count()).select_from(m.VerdictDirty)
                              .where(m.VerdictDirty.day >= FIRST, m.VerdictDirty.day <= LAST)) == 0
    assert len(stored) == len(ids) * 31
    assert stored == fresh
    return stored


@pytest.fixture
def stored(db_url: str, tmp_path: Path) -> list[dict]:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    rng = random.Random(7)
    with transaction() as session:
        import_file(session, "TK-01", _attlog(tmp_path / "a.dat", rng, ("1", "2", "9"), range(1, 20)))
        import_file(session, "TK-02", _attlog(tmp_path / "b.dat", rng, ("3",), range(1, 20)))
        create_excuse(session, "NV001", "annual_leave", dt.datetime(2026, 10, 9, 7), dt.datetime(2026, 10, 9, 17),
                      "5/QĐ", actor="head")
    return stored_equals_full_recomputation()


def _queued(first: dt.date = FIRST, last: dt.date = LAST) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(m.VerdictDirty).where(
            m.VerdictDirty.day >= first, m.VerdictDirty.day <= last)) or 0


def _bundle_with(**sections: object) -> Callable[[Path], None]:
    def change(_tmp: Path) -> None:
        data = copy.deepcopy(BUNDLE)
        data.update(copy.deepcopy(sections))
        with transaction() as session:
            load_bundle(session, validate_bundle(data))
    return change


def _new_punches(tmp: Path) -> None:
    with transaction() as session:
        import_file(session, "TK-01", _attlog(tmp / "more.dat", random.Random(3), ("1", "2"), range(20, 31)))


def _void_first_batch(_tmp: Path) -> None:
    with transaction() as session:
        first = session.scalar(select(func.min(m.ImportBatch.id)))
        void_batch(session, first, "nhầm máy", actor="tester")


def _excuse_added(_tmp: Path) -> None:
    with transaction() as session:
        create_excuse(session, "NV002", "sick_leave", dt.datetime(2026, 10, 5, 13), dt.datetime(2026, 10, 7, 11),
                      "12/GCN", actor="head")


def _excuse_withdrawn(_tmp: Path) -> None:
    with transaction() as session:
        [excuse] = list_excuses(session, "NV001")
        withdraw_excuse(session, excuse.id, "nhầm ngày", actor="head")


def _excuse_moved(_tmp: Path) -> None:
    with transaction() as session:
        [excuse] = list_excuses(session, "NV001")
        edit_excuse(session, excuse.id, actor="head", start=dt.datetime(2026, 10, 12, 7),
                    end=dt.datetime(2026, 10, 13, 17))


def _enrolled(_tmp: Path) -> None:
    with transaction() as session:  # user id 9 punched without an owner: now NV003's
        enrol(session, "TK-01", "9", "NV003", actor="head")


def _transferred(_tmp: Path) -> None:
    with transaction() as session:
        enrol(session, "TK-01", "2", "NV003", actor="head", transfer=True)


def _unenrolled(_tmp: Path) -> None:
    with transaction() as session:
        unenrol(session, "TK-01", "1", actor="head")


CHANGES: dict[str, Callable[[Path], None]] = {
    "new punches": _new_punches,
    "batch voided": _void_first_batch,
    "excuse added": _excuse_added,
    "excuse withdrawn": _excuse_withdrawn,
    "excuse moved": _excuse_moved,
    "enrolled": _enrolled,
    "enrollment transferred": _transferred,
    "unenrolled": _unenrolled,
    "schedule changed": _bundle_with(schedules=[
        {"code": "S", "units": ["H"], "sessions": [["07:30", "11:30"], ["13:00", "16:30"]], "grace_late_minutes": 0},
        BUNDLE["schedules"][1]]),
    "schedule moved to another unit": _bundle_with(schedules=[BUNDLE["schedules"][0],
                                                              {**BUNDLE["schedules"][1], "units": ["X"]}]),
    "calendar override": _bundle_with(calendar={"overrides": [
        {"date": "2026-10-20", "kind": "day_off", "reference": "99/QĐ-UBND"},
        {"date": "2026-10-06", "kind": "day_off", "reference": "100/QĐ-UBND"},
        {"date": "2026-10-10", "kind": "working_day", "reference": "101/QĐ-UBND"}]}),
    "clock offset": _bundle_with(devices=[{"code": "TK-01", "unit": "X", "kind": "file",
                                           "clock_offsets": [{"valid_from": "2026-10-08", "seconds": 1500}]},
                                          BUNDLE["devices"][1]]),
    "employment ended": _bundle_with(staff=[BUNDLE["staff"][0], {**BUNDLE["staff"][1], "employed_to": "2026-10-10"},
                                            BUNDLE["staff"][2]]),
    "double-tap window": _bundle_with(settings={"dedupe_seconds": 3600}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_input_change_is_queued_and_refreshed_to_the_full_recomputation(
        stored: list[dict], tmp_path: Path, change: str) -> None:
    CHANGES[change](tmp_path)
    assert _queued() > 0, "the change queued nothing"
    after = stored_equals_full_recomputation()
    assert after != stored, "the change altered no verdict: the test would prove nothing"


def test_a_random_sequence_of_changes(stored: list[dict], tmp_path: Path) -> None:
    rng = random.Random(11)
    names = list(CHANGES)
    rng.shuffle(names)
    done: list[str] = []
    for name in names[:6]:
        try:
            CHANGES[name](tmp_path)
        except Exception as exc:  # noqa: BLE001 - an earlier change may make this one impossible
            if "already" not in str(exc) and "not enrolled" not in str(exc) and "withdrawn" not in str(exc):
                raise
            continue
        done.append(name)
        stored_equals_full_recomputation()
    assert len(done) >= 4


def test_readers_refresh_then_read_and_today_is_provisional(stored: list[dict], tmp_path: Path) -> None:
    with transaction() as session:
        ids = _everyone(session)
        before = monthly_summary(session, "2026-10")
    _new_punches(tmp_path)
    with transaction() as session:  # the readers refresh what the batch queued, nothing else
        grid = unit_month_grid(session, "H", "2026-10")
        month = person_month(session, "NV001", "2026-10")
        after = monthly_summary(session, "2026-10")
    assert _queued() == 0 and not before.equals(after)
    fresh = {(r["staff_id"], r["day"]): r for r in stored_equals_full_recomputation()}
    with transaction() as session:
        nv001 = session.scalar(select(m.Staff.id).where(m.Staff.code == "NV001"))
    assert [d.code for d in month.days] == [fresh[(nv001, d.date)]["code"] for d in month.days]
    assert {r.staff_code for r in grid.rows} == {"NV001", "NV002", "NV003"}
    # A day still in progress is stored as provisional and computed again once it is over.
    with transaction() as session:
        refresh_verdicts(session, FIRST, LAST, ids, today=dt.date(2026, 10, 30))  # nothing stale: no-op
        mark_dirty(session, ids, dt.date(2026, 10, 30), dt.date(2026, 10, 31))
        refresh_verdicts(session, FIRST, LAST, ids, today=dt.date(2026, 10, 30))
    with transaction() as session:
        rows = stored_verdicts(session, ids, dt.date(2026, 10, 29), LAST, columns=["provisional"])
        assert rows.groupby("day")["provisional"].all().to_dict() == {
            dt.date(2026, 10, 29): False, dt.date(2026, 10, 30): True, dt.date(2026, 10, 31): True}
        assert refresh_verdicts(session, FIRST, LAST, ids, today=dt.date(2026, 11, 1)) == 2 * len(ids)
    with transaction() as session:
        assert not stored_verdicts(session, ids, FIRST, LAST, columns=["provisional"])["provisional"].any()


def test_a_new_person_and_an_untouched_month_are_computed_when_read(stored: list[dict]) -> None:
    with transaction() as session:
        assert refresh_verdicts(session, FIRST, LAST, today=TODAY) == 0  # nothing stale
        november = refresh_verdicts(session, dt.date(2026, 11, 1), dt.date(2026, 11, 30), today=TODAY)
    assert november == 3 * 30


@pytest.mark.parametrize("unit", ["H", "X", "Y"])
def test_a_units_month_counts_equal_its_grid_added_up(stored: list[dict], tmp_path: Path, unit: str) -> None:
    """The dashboard's counts come from the database; the month page's grid from the rows: they agree,
    also right after a change left rows stale."""
    from attendance.dashboard import COUNTED_FIELDS
    from attendance.month_views import unit_month_counts

    CHANGES["excuse added"](tmp_path)  # something stale, refreshed by whichever reads first
    with transaction() as session:
        counts = unit_month_counts(session, unit, "2026-10")
    with transaction() as session:
        grid = unit_month_grid(session, unit, "2026-10")
    assert counts.days == grid.days
    # The grid counts people with no stored row as "outside"; every pair is stored here.
    assert counts.day_counts == grid.day_counts
    assert sum(sum(day.values()) for day in counts.day_counts) == len(grid.rows) * len(grid.days)
    for field in COUNTED_FIELDS:
        assert counts.totals[field] == sum(row.totals[field] for row in grid.rows), field
    assert any(counts.totals[f] for f in COUNTED_FIELDS)
