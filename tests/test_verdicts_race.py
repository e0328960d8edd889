"""PostgreSQL: a wide change (a person's record, a schedule without an end) made while another
session computes never-stored verdicts must not leave those rows stale."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from conftest import POSTGRES_URL
from sqlalchemy import select

from attendance import models as m
from attendance import verdicts
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only")]

FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
TODAY = dt.date(2026, 11, 20)
BUNDLE = {
    "units": [{"code": "X", "name": "Xã Tân Kỳ"}],
    "schedules": [{"code": "S", "units": ["X"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
    "staff": [{"code": "NV001", "name": "Trần Văn Bình", "unit": "X",
               "enrollments": [{"device": "TK-01", "user_id": "1"}]}],
}


def test_a_wide_change_waits_for_a_first_computation_and_queues_what_it_stored(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite: one writer at a time, the two cannot overlap")
    with transaction() as session:
        load_bundle(session, validate_bundle(BUNDLE))
        staff_id = session.scalar(select(m.Staff.id))
    computed, release = threading.Event(), threading.Event()
    real_compute = verdicts.compute_verdicts

    def slow_compute(*args, **kwargs):  # type: ignore[no-untyped-def]
        frame = real_compute(*args, **kwargs)
        computed.set()
        assert release.wait(30)
        return frame

    monkeypatch.setattr(verdicts, "compute_verdicts", slow_compute)
    failures: list[BaseException] = []

    def first_read() -> None:
        try:
            with transaction() as session:  # nothing stored yet: the month is computed for the first time
                assert verdicts.refresh_verdicts(session, FIRST, LAST, today=TODAY) == 31
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    def wide_change() -> None:
        try:
            with transaction() as session:  # e.g. the person's own schedule changed from October on
                verdicts.mark_dirty(session, [staff_id], FIRST, None)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    reader = threading.Thread(target=first_read)
    reader.start()
    assert computed.wait(30), failures
    changer = threading.Thread(target=wide_change)
    changer.start()
    changer.join(1.0)
    # The change computed nothing stale yet: it waits for the first computation to commit.
    assert changer.is_alive(), "the wide change did not wait for the first computation"
    release.set()
    reader.join(30)
    changer.join(30)
    assert not failures, failures
    with transaction() as session:
        queued = set(session.scalars(select(m.VerdictDirty.day).where(m.VerdictDirty.staff_id == staff_id)))
        stored = set(session.scalars(select(m.DayVerdict.day).where(m.DayVerdict.staff_id == staff_id)))
    # Every row the first computation stored from data older than the change is queued again.
    assert len(stored) == 31 and stored <= queued


def test_a_first_computation_waits_for_a_wide_change_in_progress(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite: one writer at a time, the two cannot overlap")
    with transaction() as session:
        load_bundle(session, validate_bundle(BUNDLE))
        staff_id = session.scalar(select(m.Staff.id))
    done = threading.Event()
    failures: list[BaseException] = []

    def first_read() -> None:
        try:
            with transaction() as session:
                verdicts.refresh_verdicts(session, FIRST, LAST, today=TODAY)
            done.set()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    with transaction() as session:  # the change holds its lock until it commits
        verdicts.mark_dirty(session, [staff_id], FIRST, None)
        reader = threading.Thread(target=first_read)
        reader.start()
        assert not done.wait(1.0), "the first computation read inputs a wide change was still altering"
    reader.join(30)
    assert done.is_set() and not failures, failures
