"""A person's month calendar and a unit's grid: day codes and reasons from one evaluation."""

from __future__ import annotations

import copy
import datetime as dt
import random
from pathlib import Path

import pytest
from web_helpers import load_district

from attendance import api
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.errors import InvalidInput, UnknownStaff, UnknownUnit
from attendance.excuses import create_excuse, list_excuses, withdraw_excuse
from attendance.ledger import import_file
from attendance.month_views import person_month, unit_month_grid
from attendance.org import load_bundle
from attendance.synth import generate_district

BUNDLE = {
    "units": [{"code": "H", "name": "Huyện", "kind": "district"},
              {"code": "X", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "H"}],
    "schedules": [{"code": "S", "units": ["H"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "calendar": {"overrides": [{"date": "2026-10-20", "kind": "day_off", "reference": "99/QĐ-UBND"}]},
    "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
    "staff": [{"code": "NV001", "name": "Trần Văn Bình", "unit": "X", "enrollments": [{"device": "TK-01", "user_id": "1"}]},
              {"code": "NV002", "name": "Nguyễn Thị An", "unit": "H", "employed_to": "2026-10-15",
               "enrollments": [{"device": "TK-01", "user_id": "2"}]}],
}
FULL_DAY = ("07:00", "11:30", "13:30", "17:00")
NV001_PUNCHES = {
    1: ("07:00", "11:30", "13:30", "16:40"),  # left 20 min early
    5: ("07:12", "11:30", "13:30", "17:00"),  # late 12 min
    6: FULL_DAY,
    7: ("07:00", "11:30"),  # afternoon absent
    8: ("07:00", "11:30", "13:30"),  # no check-out in the afternoon
    10: ("08:00",),  # Saturday
}
EXPECTED_NV001 = {1: "early", 2: "absent", 3: "weekend", 4: "weekend", 5: "late", 6: "ok", 7: "absent_session",
                  8: "missing", 9: "excused", 10: "weekend", 12: "absent", 20: "day_off"}


@pytest.fixture
def month(db_url: str, tmp_path: Path) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    lines = [f"1\t2026-10-{day:02d} {t}:00\t0\t1\t0\t0" for day, times in NV001_PUNCHES.items() for t in times]
    lines += [f"2\t2026-10-{day:02d} {t}:00\t0\t1\t0\t0" for day in (5, 6) for t in FULL_DAY]
    path = tmp_path / "attlog.dat"
    path.write_text("\n".join(lines) + "\n")
    with transaction() as session:
        import_file(session, "TK-01", path)
        create_excuse(session, "NV001", "annual_leave", dt.datetime(2026, 10, 9, 7), dt.datetime(2026, 10, 9, 17),
                      "5/QĐ", actor="head")
    return db_url


def test_person_month_codes_and_reasons(month: str) -> None:
    with transaction() as session:
        data = person_month(session, "NV001", "2026-10")
    assert (data.staff_code, data.name, data.unit_code, data.month, len(data.days)) == ("NV001", "Trần Văn Bình", "X", "2026-10", 31)
    codes = {d.date.day: d.code for d in data.days}
    assert {day: codes[day] for day in EXPECTED_NV001} == EXPECTED_NV001
    by_day = {d.date.day: d for d in data.days}
    assert by_day[5].vi == "Đi muộn: ca 1 đi muộn 12 phút" and by_day[5].en == "Late: session 1 late 12 min"
    assert by_day[1].en == "Left early: session 2 left early 20 min"
    assert by_day[7].en == "Absent from a session: session 2 absent"
    assert by_day[8].en == "A punch is missing: session 2 no check-out"
    assert by_day[9].vi == "Có lý do: Nghỉ phép năm" and by_day[9].sessions == ((1, ("excused",)), (2, ("excused",)))
    assert by_day[20].vi == "Ngày nghỉ theo quyết định điều chỉnh: 99/QĐ-UBND"
    assert by_day[10].has_punch and not by_day[10].working
    assert by_day[2].en == "Absent all day, without excuse"


def test_person_month_agrees_with_explain_and_the_summary(month: str) -> None:
    with transaction() as session:
        data = person_month(session, "NV001", "2026-10")
        summary = {r["staff_code"]: r for r in api.monthly_summary(session, "2026-10")}
        for day in data.days[:12]:
            explained = api.explain_day(session, "NV001", day.date)
            assert day.working == explained["working_day"], day.date
            assert day.sessions == tuple((s["session_no"], tuple(s["verdicts"])) for s in explained["sessions"]), day.date
    assert data.totals == {k: v for k, v in summary["NV001"].items() if k in data.totals}
    assert data.totals["late_minutes"] == 12 and data.totals["excused_sessions"] == 2


def test_one_evaluation_for_the_whole_month_then_none(month: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from attendance import engine  # verdicts.compute_verdicts takes evaluate from here at each call

    calls: list[tuple[int, dt.date, dt.date]] = []
    real = engine.evaluate

    def counting(inp, first, last, detail=True):  # type: ignore[no-untyped-def]
        calls.append((len(inp.staff), first, last))
        return real(inp, first, last, detail)

    monkeypatch.setattr(engine, "evaluate", counting)
    october = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    with transaction() as session:
        person_month(session, "NV001", "2026-10")
        assert calls == [(1, *october)]
        grid = unit_month_grid(session, "H", "2026-10")
    # The grid evaluates the month once, for the people whose verdicts were not stored yet.
    assert calls == [(1, *october), (len(grid.rows) - 1, *october)]
    with transaction() as session:  # stored now: the same pages evaluate nothing
        person_month(session, "NV001", "2026-10")
        unit_month_grid(session, "H", "2026-10")
    assert len(calls) == 2


def test_a_withdrawn_excuse_no_longer_excuses_the_day(month: str) -> None:
    with transaction() as session:
        [excuse] = list_excuses(session, "NV001")
        withdraw_excuse(session, excuse.id, "nhầm ngày", actor="head")
    with transaction() as session:
        day = person_month(session, "NV001", "2026-10").days[8]
    assert excuse.kind == "annual_leave" and (day.date.day, day.code) == (9, "absent")


def test_unit_grid_people_in_name_order_cells_and_totals(month: str) -> None:
    with transaction() as session:
        grid = unit_month_grid(session, "H", "2026-10")
        alone = person_month(session, "NV001", "2026-10")
        summary = {r["staff_code"]: r for r in api.monthly_summary(session, "2026-10", "H")}
        assert [r.staff_code for r in unit_month_grid(session, "X", "2026-10").rows] == ["NV001"]
    assert [r.name for r in grid.rows] == ["Nguyễn Thị An", "Trần Văn Bình"]  # An before Bình
    an, binh = grid.rows
    assert binh.cells == tuple(d.code for d in alone.days)
    assert an.cells[4:6] == ("ok", "ok") and an.cells[14] == "absent" and an.cells[15:] == ("outside",) * 16
    assert binh.totals == alone.totals and an.totals == {k: summary["NV002"][k] for k in an.totals}
    assert len(grid.days) == 31 and grid.days[0] == dt.date(2026, 10, 1)
    assert grid.day_counts[4] == {"late": 1, "ok": 1} and grid.day_counts[19] == {"day_off": 1, "outside": 1}


def test_unknowns_and_bad_months(month: str) -> None:
    with transaction() as session:
        with pytest.raises(UnknownStaff):
            person_month(session, "NV999", "2026-10")
        with pytest.raises(UnknownUnit):
            unit_month_grid(session, "NOPE", "2026-10")
        with pytest.raises(InvalidInput, match="--month: .*2026-13"):
            person_month(session, "NV001", "2026-13")
        with pytest.raises(InvalidInput, match="9999-12-01"):
            unit_month_grid(session, "H", "9999-12")
        tet = unit_month_grid(session, "X", "2027-02")
        tet_day = person_month(session, "NV001", "2027-02").days[5]
    [row] = tet.rows  # no punch at all: absent on working days, Tết holidays 4 to 10 February
    assert len(tet.days) == 28 and row.cells[3:10] == ("holiday",) * 7
    assert row.cells.count("weekend") == 6 and row.cells.count("absent") == 15 == row.totals["absent_days"]
    assert tet_day.en == "Public holiday: Tết Nguyên Đán" and tet.day_counts[5] == {"holiday": 1}


def test_the_public_interface_gives_the_same_views(month: str) -> None:
    with transaction() as session:
        assert api.person_month(session, "NV001", "2026-10") == person_month(session, "NV001", "2026-10")
        assert api.unit_month_grid(session, "H", "2026-10") == unit_month_grid(session, "H", "2026-10")
        assert [e.kind for e in api.excuse_records(session, "NV001")] == ["annual_leave"]
        assert api.waiting_user_ids(session, "H") == []
        assert [e.entity for e in api.search_audit(session, actor="head").entries] == ["excuse"]


def code_of_explanation(explained: dict) -> str:
    """The day code that ``explain_day``'s account of a day implies, by the precedence of month_views."""
    if not explained["employed"]:
        return "outside"
    if not explained["working_day"]:
        source = explained["calendar"]["source"]
        return source if source in ("no_schedule", "holiday", "weekend") else "day_off"
    if explained["absent_day"]:
        return "absent"
    verdicts = [set(s["verdicts"]) for s in explained["sessions"]]
    for code, found in (("absent_session", {"absent"}), ("missing", {"missing_in", "missing_out"}),
                        ("late", {"late"}), ("early", {"early"})):
        if any(v & found for v in verdicts):
            return code
    return "excused" if verdicts and all("excused" in v for v in verdicts) else "ok"


def test_grid_cells_equal_the_explanation_of_each_day(month: str, tmp_path: Path) -> None:
    with transaction() as session:  # the small unit: every person, every day
        grid = unit_month_grid(session, "H", "2026-10")
        explained = {(row.staff_code, i): code_of_explanation(api.explain_day(session, row.staff_code, day))
                     for row in grid.rows for i, day in enumerate(grid.days)}
    assert {(row.staff_code, i): code for row in grid.rows for i, code in enumerate(row.cells)} == explained
    assert {"outside", "absent_session", "day_off", "excused", "missing", "late", "early"} <= set(explained.values())

    district = generate_district(units=1, staff_per_unit=30, month="2026-09", seed=5)  # 2 September: holidays
    load_district(district, tmp_path)
    commune = next(u["code"] for u in district.bundle["units"] if u.get("kind") == "commune")
    pick = random.Random(7)
    with transaction() as session:
        grid = unit_month_grid(session, commune, "2026-09")
        sample = [(row, i) for row in pick.sample(grid.rows, 8) for i in pick.sample(range(len(grid.days)), 8)]
        sample += [(grid.rows[0], 1)]  # 2 September, National Day
        wanted = [code_of_explanation(api.explain_day(session, row.staff_code, grid.days[i])) for row, i in sample]
    assert [row.cells[i] for row, i in sample] == wanted
    assert wanted[-1] == "holiday" and len(set(wanted)) >= 5
