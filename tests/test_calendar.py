"""The country calendar for Vietnam: the holiday library plus the government's public-sector
decisions (attendance/engine/vn_public_sector.py), the precedence of bundle overrides, and the
`attendance calendar` command."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_services import BUNDLE as SERVICES_BUNDLE

from attendance.bundle import validate_bundle
from attendance.calendar_days import calendar_of_year, year_lines
from attendance.db import transaction
from attendance.engine.calendar import country_calendar
from attendance.engine.vn_public_sector import DECIDED_YEARS, DECISIONS
from attendance.org import load_bundle
from attendance.services import explain, monthly_summary, summary_records

try:  # tests/ is not a package today; keep working if it becomes one
    from rules_helpers import day_row, make_input, override, run
except ImportError:  # pragma: no cover
    from tests.rules_helpers import day_row, make_input, override, run

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"
D = dt.date.fromisoformat

# What the public sector's calendar is, year by year, as the decisions state it: the weekdays
# off and the Saturdays worked (written out by hand from the announcements, not computed).
WEEKDAYS_OFF = {
    2024: ["2024-01-01", "2024-02-08", "2024-02-09", "2024-02-12", "2024-02-13", "2024-02-14",
           "2024-04-18", "2024-04-29", "2024-04-30", "2024-05-01", "2024-09-02", "2024-09-03"],
    2025: ["2025-01-01", "2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31",
           "2025-04-07", "2025-04-30", "2025-05-01", "2025-05-02", "2025-09-01", "2025-09-02"],
    # 24/11/2026, Ngày Văn hóa Việt Nam, comes from the library (Resolution 80-NQ/TW).
    2026: ["2026-01-01", "2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
           "2026-02-20", "2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01",
           "2026-09-02", "2026-11-24"],
}
WEEKENDS_WORKED = {2024: ["2024-05-04"], 2025: ["2025-04-26"], 2026: ["2026-01-10", "2026-08-22"]}
DOCUMENT = re.compile(r"^\d+/[A-ZĐ]+(-[A-ZĐ]+)+$")


def set_apart(year: int) -> tuple[list[str], list[str]]:
    """(weekdays off, weekend days worked) of ``year`` under country VN, no override."""
    entries = country_calendar("VN", dt.date(year, 1, 1), dt.date(year, 12, 31))
    off = sorted(d.isoformat() for d, e in entries.items() if e.kind == "holiday" and d.weekday() < 5)
    worked = sorted(d.isoformat() for d, e in entries.items() if e.kind == "makeup" and d.weekday() >= 5)
    return off, worked


# ------------------------------------------------------------------ the decision table


def test_every_decision_has_a_document_number_and_a_public_source() -> None:
    assert DECISIONS
    for decision in DECISIONS:
        assert decision.kind in ("day_off", "working_day"), decision
        assert DOCUMENT.match(decision.reference), decision
        assert decision.source.startswith("https://"), decision
        assert decision.name_vi and decision.name_en, decision
        assert decision.date.year in DECIDED_YEARS, decision
    dates = [d.date for d in DECISIONS]
    assert len(dates) == len(set(dates)), "one decision per date"


def test_swaps_pair_a_weekday_off_with_a_weekend_day_worked_under_one_reference() -> None:
    by_date = {d.date: d for d in DECISIONS}
    swaps = [d for d in DECISIONS if d.swapped_with is not None]
    assert swaps
    for decision in swaps:
        other = by_date[decision.swapped_with]
        assert other.swapped_with == decision.date and other.reference == decision.reference
        assert {decision.kind, other.kind} == {"day_off", "working_day"}
        worked = decision if decision.kind == "working_day" else other
        assert worked.date.weekday() >= 5 and (other if worked is decision else decision).date.weekday() < 5
    # A make-up working day is always the half of a swap.
    assert all(d.swapped_with is not None for d in DECISIONS if d.kind == "working_day")


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_known_years_are_pinned(year: int) -> None:
    off, worked = set_apart(year)
    assert off == WEEKDAYS_OFF[year]
    assert worked == WEEKENDS_WORKED[year]


def test_new_year_2026_swap_without_any_override() -> None:
    entries = country_calendar("VN", dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert entries[D("2026-01-02")].kind == "holiday"
    assert entries[D("2026-01-10")].kind == "makeup"
    for day in ("2026-01-02", "2026-01-10"):
        entry = entries[D(day)]
        assert entry.source == "decision" and entry.reference == "12729/VPCP-KGVX"
        assert "12729/VPCP-KGVX" in entry.name_vi and "12729/VPCP-KGVX" in entry.name_en


def test_every_decided_entry_names_its_reference() -> None:
    for year in sorted(DECIDED_YEARS):
        entries = country_calendar("VN", dt.date(year, 1, 1), dt.date(year, 12, 31))
        decided = {d: e for d, e in entries.items() if e.source == "decision"}
        assert set(decided) == {d.date for d in DECISIONS if d.date.year == year}
        for entry in decided.values():
            assert entry.reference in entry.name_vi and entry.reference in entry.name_en


def test_library_days_carry_the_labour_code_or_their_own_basis() -> None:
    entries = country_calendar("VN", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert entries[D("2026-09-02")].source == "law" and "Điều 112" in entries[D("2026-09-02")].reference
    assert entries[D("2026-04-27")].source == "law"  # Giỗ Tổ on Sunday 26/4: Monday in lieu
    assert entries[D("2026-11-24")].source == "library"
    assert entries[D("2026-11-24")].reference == "Nghị quyết 80-NQ/TW"


def test_the_table_is_for_vietnam_only() -> None:
    entries = country_calendar("FR", dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert D("2026-01-02") not in entries and D("2026-01-10") not in entries
    assert entries[D("2026-01-01")].kind == "holiday"


# ------------------------------------------------------------------ through the engine


def test_engine_applies_the_new_year_swap_and_shows_its_reference() -> None:
    ev = run(make_input([]), "2026-01-01", "2026-01-11")
    friday, saturday = day_row(ev, "2026-01-02"), day_row(ev, "2026-01-10")
    assert bool(friday["working"]) is False and friday["day_source"] == "holiday"
    assert bool(saturday["working"]) is True and saturday["day_source"] == "makeup"
    assert "12729/VPCP-KGVX" in friday["day_reference"] and "12729/VPCP-KGVX" in saturday["day_reference"]
    assert bool(day_row(ev, "2026-01-09")["working"]) is True


def test_engine_override_beats_the_decision_table() -> None:
    inp = make_input([], overrides=[override("2026-01-10", "day_off", "01/QĐ-UBND"),
                                    override("2026-01-02", "working_day", "01/QĐ-UBND")])
    ev = run(inp, "2026-01-02", "2026-01-10")
    assert bool(day_row(ev, "2026-01-02")["working"]) is True
    assert bool(day_row(ev, "2026-01-10")["working"]) is False
    assert {day_row(ev, d)["day_source"] for d in ("2026-01-02", "2026-01-10")} == {"override"}
    assert day_row(ev, "2026-01-10")["day_reference"] == "01/QĐ-UBND"


BUNDLE = SERVICES_BUNDLE  # one commune, one schedule from 2026-01-01, one enrolled person


def load(overrides: list[dict[str, str]]) -> None:
    bundle = copy.deepcopy(BUNDLE)
    bundle["calendar"]["overrides"] = overrides
    with transaction() as session:
        load_bundle(session, validate_bundle(bundle))


def january_working_days() -> int:
    with transaction() as session:
        return summary_records(monthly_summary(session, "2026-01"))[0]["working_days"]


def test_monthly_summary_follows_the_table_and_a_bundle_override_beats_it(db_url: str) -> None:
    # January 2026: 22 weekdays, 1/1 off by law, 2/1 off and Saturday 10/1 worked by 12729/VPCP-KGVX.
    load([])
    assert january_working_days() == 21
    load([{"date": "2026-01-10", "kind": "day_off", "reference": "05/TB-UBND"}])
    assert january_working_days() == 20
    with transaction() as session:
        data = explain(session, "NV001", dt.date(2026, 1, 10))
    assert data["working_day"] is False and data["calendar"]["source"] == "override"


# ------------------------------------------------------------------ the listing


def test_year_lines_list_only_what_the_week_does_not_say() -> None:
    lines = year_lines(2026, "VN")
    assert [line.date.isoformat() for line in lines] == sorted(WEEKDAYS_OFF[2026] + WEEKENDS_WORKED[2026])
    assert all(line.differs for line in lines)
    everything = {line.date for line in year_lines(2026, "VN", everything=True)}
    assert D("2026-04-26") in everything  # Giỗ Tổ on a Sunday changes nothing by itself
    assert D("2026-04-26") not in {line.date for line in lines}


def test_year_lines_show_which_country_entry_an_override_replaced() -> None:
    lines = {line.date: line for line in year_lines(
        2026, "VN", {D("2026-01-10"): ("day_off", "05/TB-UBND"), D("2026-03-03"): ("day_off", "06/TB-UBND")})}
    saturday = lines[D("2026-01-10")]
    assert saturday.source == "override" and saturday.reference == "05/TB-UBND"
    # A day off on a Saturday is what the week says, yet an override is always listed.
    assert saturday.beaten is not None and saturday.beaten.reference == "12729/VPCP-KGVX"
    assert lines[D("2026-03-03")].working is False and lines[D("2026-03-03")].beaten is None


def test_calendar_of_year_reads_the_database_overrides(db_url: str) -> None:
    load([{"date": "2026-03-03", "kind": "day_off", "reference": "06/TB-UBND"},
          {"date": "2025-03-03", "kind": "day_off", "reference": "07/TB-UBND"}])
    with transaction() as session:
        country, lines = calendar_of_year(session, 2026)
    assert country == "VN"
    found = {line.date: line for line in lines}
    assert found[D("2026-03-03")].source == "override" and D("2025-03-03") not in found


def command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, "calendar", *args], capture_output=True, text=True, env=env, timeout=120)


def no_database_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ATTENDANCE_DATABASE_URL"}
    env["ATTENDANCE_INSTANCE"] = str(tmp_path / "instance")
    return env


def test_command_without_a_database_lists_the_country_calendar(tmp_path: Path) -> None:
    env = no_database_env(tmp_path)
    done = command("--year", "2026", env=env)
    assert done.returncode == 0, done.stderr
    text = done.stdout.splitlines()
    assert text[0].startswith("Lịch năm 2026")
    rows = {line[:10]: line for line in text[1:]}
    assert list(rows) == [dt.date.fromisoformat(d).strftime("%d/%m/%Y")
                          for d in sorted(WEEKDAYS_OFF[2026] + WEEKENDS_WORKED[2026])]
    assert "Thứ Sáu" in rows["02/01/2026"] and "nghỉ" in rows["02/01/2026"]
    assert "12729/VPCP-KGVX" in rows["02/01/2026"] and "bảng quyết định" in rows["02/01/2026"]
    assert "làm việc" in rows["10/01/2026"] and "Thứ Bảy" in rows["10/01/2026"]
    assert "luật" in rows["02/09/2026"]
    assert not (tmp_path / "instance" / "attendance.sqlite3").exists()

    english = command("--year", "2026", "--lang", "en", env=env).stdout.splitlines()
    assert english[0].startswith("Calendar 2026")
    assert any(line.startswith("10/01/2026 Saturday") and "working day" in line and "decision table" in line
               for line in english)

    data = json.loads(command("--year", "2025", "--json", env=env).stdout)
    assert data["year"] == 2025 and data["database"] is False
    assert [d["date"] for d in data["days"]] == sorted(WEEKDAYS_OFF[2025] + WEEKENDS_WORKED[2025])
    saturday = next(d for d in data["days"] if d["date"] == "2025-04-26")
    assert saturday["kind"] == "working_day" and saturday["reference"] == "8726/VPCP-KGVX"


def test_command_refuses_a_year_out_of_range(tmp_path: Path) -> None:
    done = command("--year", "99999", env=no_database_env(tmp_path))
    assert done.returncode != 0
    assert "năm 99999" in done.stderr and "1995" in done.stderr


def test_command_with_a_database_shows_its_overrides(db_url: str) -> None:
    load([{"date": "2026-01-10", "kind": "day_off", "reference": "05/TB-UBND"}])
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url}
    data = json.loads(command("--year", "2026", "--json", env=env).stdout)
    assert data["database"] is True
    saturday = next(d for d in data["days"] if d["date"] == "2026-01-10")
    assert saturday["source"] == "override" and saturday["kind"] == "day_off"
    assert saturday["replaces"]["source"] == "decision" and saturday["replaces"]["reference"] == "12729/VPCP-KGVX"
    text = command("--year", "2026", env=env).stdout
    line = next(t for t in text.splitlines() if t.startswith("10/01/2026"))
    assert "05/TB-UBND" in line and "ghi đè" in line and "thay cho" in line
