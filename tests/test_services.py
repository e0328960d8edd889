"""Explanations, recomputation after changes, and mapping-profile imports through the database."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle
from attendance.profiles import read_profile
from attendance.services import explain, explain_text, monthly_summary, summary_records

BUNDLE = {
    "units": [{"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
              {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "40"}],
    "schedules": [{"code": "S", "units": ["40"], "valid_from": "2026-01-01",
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "calendar": {"country": "VN", "overrides": []},
    "devices": [{"code": "TK-01", "unit": "17830", "kind": "file"}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "17830",
               "enrollments": [{"device": "TK-01", "user_id": "101"}]}],
    "excuses": [],
}
# Monday 2026-10-05: a double tap, a late check-in, an early check-out, a stray punch.
MONDAY = [
    "101\t2026-10-05 05:30:00\t1\t0\t1\t0",   # before 06:00: stray
    "101\t2026-10-05 07:12:40\t1\t0\t1\t0",   # late by 12
    "101\t2026-10-05 07:12:55\t1\t0\t1\t0",   # double tap, suppressed
    "101\t2026-10-05 11:31:00\t1\t1\t1\t0",
    "101\t2026-10-05 13:29:00\t1\t0\t1\t0",
    "101\t2026-10-05 16:41:30\t1\t1\t1\t0",   # early by 19
]


def setup(tmp_path: Path, bundle: dict | None = None, lines: list[str] = MONDAY) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(bundle or BUNDLE)))
    if lines:
        path = tmp_path / "attlog.dat"
        path.write_text("\n".join(lines) + "\n")
        with transaction() as session:
            import_file(session, "TK-01", path)


def row(month: str = "2026-10") -> dict:
    with transaction() as session:
        return summary_records(monthly_summary(session, month))[0]


def test_explanation_lists_punches_thresholds_and_schedule(db_url: str, tmp_path: Path) -> None:
    setup(tmp_path)
    with transaction() as session:
        data = explain(session, "NV001", dt.date(2026, 10, 5))
    assert data["working_day"] is True and data["calendar"]["source"] == "weekday"
    assert data["schedule"]["code"] == "S"
    roles = [(p["corrected_time"][11:], p["role"]) for p in data["punches"]]
    assert roles == [("05:30:00", "stray"), ("07:12:40", "checkin"), ("07:12:55", "suppressed"),
                     ("11:31:00", "checkout"), ("13:29:00", "checkin"), ("16:41:30", "checkout")]
    assert data["punches"][2]["suppressed_by"] == data["punches"][1]["punch_id"]
    assert data["punches"][1]["device"] == "TK-01" and data["punches"][1]["device_time"] == "2026-10-05 07:12:40"
    first, second = data["sessions"]
    assert (first["window"], first["midpoint"]) == ({"from": "06:00", "until_before": "12:30"}, "09:15")
    assert first["verdicts"] == ["late"] and first["late_minutes"] == 12
    assert second["verdicts"] == ["early"] and second["early_minutes"] == 19
    assert any("12 min" in line and "07:00 + 5 min grace (threshold missed by 7 min)" in line for line in first["en"])
    assert any("threshold missed by 14 min" in line for line in second["en"])
    assert any("Đi muộn 12 phút" in line for line in first["vi"])
    text = explain_text(data, "vi")
    assert "Ca 1 (07:00–11:30), nhận lượt chấm từ 06:00 đến 12:29: đi muộn" in text
    assert "Ca 2 (13:30–17:00), nhận lượt chấm từ 12:30 đến 19:00: về sớm" in text
    assert "05/10/2026 07:12:55" in text and "chưa tới 60 giây sau lần chấm lúc 07:12:40" in text
    assert "Kết luận: Có vi phạm: ca 1 đi muộn; ca 2 về sớm." in text
    # People read words and dd/mm/yyyy: no verdict codes, no interval notation, no ISO dates.
    for code in ("late", "early", "missing_out", "per_session", "[06:00", "12:30)", "2026-10-05", "#"):
        assert code not in text, code
    english = explain_text(data, "en")
    assert "Session 1 (07:00–11:30), punches counted from 06:00 to 12:29: late" in english
    assert "Conclusion: Violations: session 1 late; session 2 left early." in english


def test_excuse_and_override_changes_are_reflected(db_url: str, tmp_path: Path) -> None:
    setup(tmp_path)
    before = row()
    assert (before["late_count"], before["early_count"], before["absent_days"]) == (1, 1, 21)

    with_excuse = copy.deepcopy(BUNDLE)
    with_excuse["excuses"] = [{"staff": "NV001", "kind": "business_trip", "start": "2026-10-05T06:00",
                               "end": "2026-10-05T09:00", "reference": "12/QĐ-UBND"}]
    with transaction() as session:
        load_bundle(session, validate_bundle(with_excuse))
    after = row()
    assert (after["late_count"], after["late_minutes"], after["early_count"]) == (0, 0, 1)
    with transaction() as session:
        data = explain(session, "NV001", dt.date(2026, 10, 5))
    assert data["sessions"][0]["excuse_ids"] and data["sessions"][0]["verdicts"] == ["ok"]

    day_off = copy.deepcopy(with_excuse)
    day_off["calendar"]["overrides"] = [{"date": "2026-10-05", "kind": "day_off", "reference": "99/QĐ-UBND"}]
    with transaction() as session:
        load_bundle(session, validate_bundle(day_off))
    changed = row()
    assert (changed["working_days"], changed["early_count"], changed["offday_punch_days"]) == (21, 0, 1)
    with transaction() as session:
        data = explain(session, "NV001", dt.date(2026, 10, 5))
    assert data["working_day"] is False and "99/QĐ-UBND" in data["calendar"]["vi"]


def test_schedule_change_is_reflected(db_url: str, tmp_path: Path) -> None:
    setup(tmp_path)
    later = copy.deepcopy(BUNDLE)
    later["schedules"][0]["sessions"] = [["07:30", "11:30"], ["13:30", "16:30"]]
    with transaction() as session:
        load_bundle(session, validate_bundle(later))
    assert (row()["late_count"], row()["early_count"]) == (0, 0)


def test_mapping_profile_import(db_url: str, tmp_path: Path) -> None:
    setup(tmp_path, lines=[])
    export = tmp_path / "other.csv"
    export.write_text("ma;thoigian;loai\n101;05/10/2026 07:20;vao\n101;13/10/2026 07:03;vao\n", encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(json.dumps({"name": "other", "user_id": "ma", "datetime": "thoigian", "delimiter": ";"}))
    with transaction() as session:
        result = import_file(session, "TK-01", export, fmt="csv", profile=read_profile(profile))
    assert (result.read, result.inserted, result.rejected) == (2, 2, 0)
    assert row()["late_minutes"] == 20


def test_saved_profile_by_name_through_the_cli(db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from attendance.cli import main

    setup(tmp_path, lines=[])
    profile = tmp_path / "mitapro_custom.yaml"
    profile.write_text("name: mitapro_custom\nuser_id: ma\ndatetime: thoigian\ndelimiter: ';'\n", encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text("ma;thoigian\n101;13/10/2026 07:31\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["profile", "save", str(profile)]).exit_code == 0
    listed = json.loads(runner.invoke(main, ["profile", "list", "--json"]).output)
    assert listed[0]["name"] == "mitapro_custom" and listed[0]["user_id"] == "ma"
    done = runner.invoke(main, ["import", str(export), "--device", "TK-01", "--profile", "mitapro_custom", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["inserted"] == 1
    missing = runner.invoke(main, ["import", str(export), "--device", "TK-01", "--profile", "nope"])
    assert missing.exit_code != 0 and "không có hồ sơ đã lưu 'nope' (đã lưu: mitapro_custom)" in missing.output
