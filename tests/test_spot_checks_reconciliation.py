"""Reconciliation of headcounts with punches: hand-made cases of the pure function, then the ledger's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from spot_check_helpers import UUID, content, make_app, token_for

from attendance.accounts import account_by_token
from attendance.api import session_windows
from attendance.batches import void_batch
from attendance.db import transaction
from attendance.ledger import import_file
from inspections import services
from inspections.reconciliation import Observation, Punch, Resolution, reconcile, session_of

DAY = dt.date(2026, 10, 8)


def at(hm: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hm))


# Sessions 07:00-11:30 and 13:30-17:00, check-in window 60 min before, check-out 120 min after:
# the engine's windows are [06:00, 12:30) and [12:30, 19:01).
WINDOWS = [(at("06:00"), at("12:30")), (at("12:30"), at("19:01"))]
HEADCOUNT_AT = at("08:10")


def kinds(status: str, *punch_times: str, headcount_at: dt.datetime = HEADCOUNT_AT,
          windows: list[tuple[dt.datetime, dt.datetime]] | None = None) -> list[str]:
    found = reconcile(headcount_at, [Observation("NV1", status)],
                      {"NV1": [Punch(at(t), "TK-01") for t in punch_times]},
                      {"NV1": WINDOWS if windows is None else windows})
    return [m["kind"] for m in found]


@pytest.mark.parametrize(("status", "punches", "expected"), [
    ("present", ("07:02",), []),
    ("present", (), ["present_without_punch"]),
    ("present", ("13:25",), ["present_without_punch"]),  # a punch of the afternoon says nothing of 08:10
    ("present", ("05:59",), ["present_without_punch"]),  # before the window opens
    ("late", ("08:40",), []),  # arrived after the headcount, punched in the same session
    ("late", ("13:31",), ["present_without_punch"]),
    ("absent_unexcused", ("07:20",), ["absent_with_punch"]),  # punched, then was not there
    ("absent_unexcused", ("08:10",), ["absent_with_punch"]),  # at the very moment counts as before
    ("absent_unexcused", ("08:30",), []),  # came after the count
    ("absent_unverified", ("06:00",), ["absent_with_punch"]),
    ("absent_unexcused", (), []),
    ("absent_excused", ("11:00",), ["excused_with_punch"]),
    ("absent_excused", ("14:00",), []),  # the afternoon is another session
    ("absent_excused", (), []),
    ("left_early", (), []),
])
def test_kinds_of_mismatch(status: str, punches: tuple[str, ...], expected: list[str]) -> None:
    assert kinds(status, *punches) == expected


def test_headcount_outside_every_window_takes_the_nearest_session() -> None:
    assert session_of(at("05:30"), WINDOWS) == WINDOWS[0]
    assert session_of(at("20:00"), WINDOWS) == WINDOWS[1]
    assert kinds("present", "07:00", headcount_at=at("05:30")) == []
    assert kinds("present", "07:00", headcount_at=at("20:00")) == ["present_without_punch"]


def test_a_day_without_sessions_is_checked_over_the_whole_day() -> None:
    sunday = dt.date(2026, 10, 11)
    assert session_of(at("09:00", sunday), []) == (at("00:00", sunday), at("00:00", sunday + dt.timedelta(days=1)))
    found = reconcile(at("09:00", sunday), [Observation("NV1", "present"), Observation("NV2", "present")],
                      {"NV1": [Punch(at("08:55", sunday), "TK-01")], "NV2": [Punch(at("09:00"), "TK-01")]},
                      {})
    assert [(m["staff"], m["kind"]) for m in found] == [("NV2", "present_without_punch")]


def test_mismatch_carries_both_sides_and_the_resolution() -> None:
    seen = Observation("NV7", "absent_unexcused", note="không rõ lý do", reference=None)
    found = reconcile(HEADCOUNT_AT, [seen], {"NV7": [Punch(at("07:01"), "TK-02", at("07:03")),
                                                     Punch(at("17:02"), "TK-02", at("17:04"))]},
                      {"NV7": WINDOWS},
                      {("NV7", "absent_with_punch"): Resolution("nhờ người chấm hộ", "api:lead1", at("15:00"))})
    assert found == [{
        "staff": "NV7", "kind": "absent_with_punch",
        "observed": {"status": "absent_unexcused", "note": "không rõ lý do", "reference": None, "arrived_at": None},
        "session": {"opens": "2026-10-08T06:00:00", "closes": "2026-10-08T12:30:00"},
        "punches": [{"time": "2026-10-08T07:01:00", "device": "TK-02", "device_time": "2026-10-08T07:03:00"}],
        "resolution": {"note": "nhờ người chấm hộ", "by": "api:lead1", "at": "2026-10-08T15:00:00"},
    }]


# ------------------------------------------------------------------ against the ledger


def test_windows_come_from_the_engine(db_url: str, tmp_path: Path) -> None:
    make_app(db_url, tmp_path)
    with transaction() as session:
        windows = session_windows(session, "17830", DAY)
        sunday = session_windows(session, "17830", dt.date(2026, 10, 11))
    assert [(w.session_no, w.opens, w.closes) for w in windows["NV001"]] == [
        (1, at("06:00"), at("12:30")), (2, at("12:30"), at("19:01"))]
    assert windows["NV001"][0].start == at("07:00") and windows["NV001"][1].end == at("17:00")
    assert sunday["NV001"] == []


def test_clock_correction_and_voided_batches(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)
    # TK-01 runs 120 s fast: NV002's 08:11 on the terminal is 08:09 in fact, before the 08:10 count.
    late_log = tmp_path / "late.dat"
    late_log.write_text("102\t2026-10-08 08:11:00\t1\t0\t1\t0\n")
    voided_log = tmp_path / "voided.dat"
    voided_log.write_text("101\t2026-10-08 07:05:00\t1\t0\t1\t0\n")
    with transaction() as session:
        import_file(session, "TK-01", late_log)
        batch = import_file(session, "TK-01", voided_log)
        assert batch.batch is not None
        void_batch(session, batch.batch, "wrong terminal", actor="test")
    headers = token_for("insp1", "inspector", ["17830"])
    lead = token_for("lead1", "team_lead", ["17830"])
    client = app.test_client()
    record = content(started_at="2026-10-08T08:05:00", headcount_at="2026-10-08T08:10:00",
                     ended_at="2026-10-08T08:50:00")
    assert client.put(f"/api/v1/spot-checks/{UUID}", json=record, headers=headers).status_code == 201
    found = client.get(f"/api/v1/spot-checks/{UUID}/reconciliation", headers=headers).get_json()
    assert [(m["staff"], m["kind"]) for m in found] == [("NV001", "present_without_punch"),
                                                        ("NV002", "absent_with_punch")]
    assert found[0]["punches"] == []  # the voided batch's punch does not count
    assert found[1]["punches"] == [{"time": "2026-10-08T08:09:00", "device": "TK-01",
                                    "device_time": "2026-10-08T08:11:00"}]
    url = f"/api/v1/spot-checks/{UUID}/reconciliation/NV002"
    assert client.post(url, json={"note": "x"}, headers=headers).get_json()["error"]["code"] == "not_reviewable"
    client.post(f"/api/v1/spot-checks/{UUID}/submit", headers=headers)
    assert client.post(url, json={"note": "x"}, headers=token_for("viewer", "viewer", ["17830"])).status_code == 403
    first = client.post(url, json={"note": "Chấm công rồi ra ngoài"}, headers=headers)
    assert first.status_code == 201
    assert first.get_json()["resolution"]["by"] == "api:insp1"
    assert client.post(url, json={"note": "Chấm công rồi ra ngoài"}, headers=headers).status_code == 200
    other = client.post(url, json={"note": "khác"}, headers=lead)
    assert (other.status_code, other.get_json()["error"]["code"]) == (409, "already_resolved")
    assert client.post(f"/api/v1/spot-checks/{UUID}/reconciliation/NV009", json={"note": "x"},
                       headers=lead).status_code == 404
    again = client.get(f"/api/v1/spot-checks/{UUID}/reconciliation", headers=lead).get_json()
    assert again[1]["resolution"]["note"] == "Chấm công rồi ra ngoài" and again[0]["resolution"] is None
    with transaction() as session:
        account = account_by_token(session, lead["Authorization"].split()[1])
        assert account is not None
        assert services.reconciliation(session, account, UUID) == again
