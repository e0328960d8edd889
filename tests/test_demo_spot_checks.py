"""The demo's spot checks: made through the use cases, loaded once, and what the month's report says of them."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from web_helpers import csrf_token, sign_in

from attendance import api, create_app
from attendance import models as m
from attendance.accounts import account_by_username
from attendance.db import transaction
from attendance.demo import PASSWORD_FILE, load_demo
from inspections import demo as spot_demo
from inspections.models import FollowUpAction, SpotCheck
from inspections.report import build_report
from inspections.services import mismatches_of, send_back

MONTH, UNIT = "2026-10", "17830"
TABLES = ("spot_check", "spot_check_version", "spot_check_headcount", "spot_check_finding", "spot_check_action",
          "spot_check_resolution", "spot_check_send_back", "spot_check_attachment")


@pytest.fixture
def demo(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ATTENDANCE_INSTANCE", str(tmp_path / "instance"))  # the demo password lands here
    load_demo(MONTH)
    return db_url


def _snapshot() -> dict[str, Any]:
    """Every row of the spot-check tables, and the audit log's length."""
    with transaction() as session:
        tables = {name: sorted(tuple(map(str, row)) for row in session.execute(text(f"SELECT * FROM {name}")))
                  for name in TABLES}
        tables["audit"] = session.scalar(select(func.count()).select_from(m.AuditLog))
    return tables


def test_the_demo_has_its_spot_checks_and_loading_it_again_changes_nothing(demo: str) -> None:
    with transaction() as session:
        checks = {c.uuid: c for c in session.scalars(select(SpotCheck))}
        assert sorted(checks) == sorted(c.uuid for c in spot_demo.CHECKS)
        for planned in spot_demo.CHECKS:
            row = checks[planned.uuid]
            assert row.state == ("locked" if planned.approved else "submitted") and row.version == 1
            assert row.unit_code == planned.unit and row.lead == "totruong" and list(row.team) == list(planned.team)
            assert row.headcount_at == dt.datetime.fromisoformat(planned.headcount_at)
        # Written against the demo's punches: three observations disagree, the lead resolved one.
        found = {(c.unit_code, m_["staff"], m_["kind"], m_["resolution"] is not None)
                 for c in checks.values() for m_ in mismatches_of(session, c)}
        assert found == {("17830-UB", "NV003", "excused_with_punch", True),
                         ("17830-YT", "NV025", "present_without_punch", False),
                         ("17830-QS", "NV020", "absent_with_punch", False)}
        actions = Counter(a.status for a in session.scalars(select(FollowUpAction)))
        assert actions == {"open": 3, "done": 1}
        # Every step is in the audit trail, by the people the demo signs in as.
        trail = Counter((e.actor, e.action) for e in session.scalars(
            select(m.AuditLog).where(m.AuditLog.entity == "spot_check")))
    assert trail == {("api:kiemtra", "create"): 3, ("api:kiemtra2", "create"): 1, ("api:kiemtra", "submit"): 3,
                     ("api:kiemtra2", "submit"): 1, ("api:totruong", "approve"): 3,
                     ("api:totruong", "resolve"): 1, ("demo:totruong", "action_done"): 1}

    before = _snapshot()
    load_demo(MONTH)
    assert _snapshot() == before

    # A check the lead sent back in the web app since stays a draft: the demo does not submit it again.
    submitted = next(c for c in spot_demo.CHECKS if not c.approved)
    with transaction() as session:
        send_back(session, account_by_username(session, "totruong"), submitted.uuid, "Bổ sung giải trình")
    before = _snapshot()
    load_demo(MONTH)
    assert _snapshot() == before
    with transaction() as session:
        assert session.scalar(select(SpotCheck.state).where(SpotCheck.uuid == submitted.uuid)) == "draft"


def _rows(sheet: Any) -> list[list[Any]]:
    """The data rows under the heading row (4), up to the totals row or the first empty one."""
    out = []
    for row in sheet.iter_rows(min_row=5, values_only=True):
        if row[0] is None or row[0] == "Cộng":
            break
        out.append(list(row))
    return out


def test_the_report_of_the_demo_month_has_the_demo_spot_checks(demo: str, tmp_path: Path) -> None:
    path = tmp_path / "bao-cao.xlsx"
    with transaction() as session:
        build_report(session, MONTH, UNIT, "xlsx", path)
        staff = {c.uuid: [s.code for s in api.staff_of_unit(session, c.unit, dt.date.fromisoformat(c.headcount_at[:10]))]
                 for c in spot_demo.CHECKS}
        units = {u.code: u.name for u in api.unit_tree(session)}
    book = load_workbook(path)

    checks = _rows(book["Kiểm tra đột xuất"])
    planned = sorted(spot_demo.CHECKS, key=lambda c: c.started_at)
    assert len(checks) == len(planned) == 4
    for row, check in zip(checks, planned, strict=True):
        statuses = Counter(line["status"] for line in check.content(staff[check.uuid])["headcount"])
        fails = sum(1 for f in check.findings if f["result"] == "fail")
        assert row[1].date() == dt.date.fromisoformat(check.started_at[:10])
        assert row[2:5] == [check.started_at[11:16], units[check.unit], "totruong"]
        assert row[5:10] == [statuses["present"] + statuses["late"] + statuses["left_early"],
                             statuses["absent_excused"], statuses["absent_unverified"], statuses["absent_unexcused"],
                             fails]
        assert row[10] == ("Đã duyệt" if check.approved else "Chờ duyệt")

    per_item = Counter(f["item"] for c in spot_demo.CHECKS for f in c.findings if f["result"] == "fail")
    assert {r[1]: r[3] for r in _rows(book["Vi phạm theo tiêu chí"])} == per_item
    assert per_item["badge_worn"] == 3 and per_item["overdue_dossiers"] == 2

    # The overdue dossiers are those the latest check of the People's Committee counted.
    assert _rows(book["Hồ sơ quá hạn"]) == [[1, "UBND xã Tân Kỳ", 2, 2]]

    mismatches = {r[2]: r for r in _rows(book["Đối chiếu chấm công"])}
    assert set(mismatches) == {"NV003", "NV020", "NV025"}
    assert mismatches["NV003"][7].startswith(spot_demo.CHECKS[0].resolutions["NV003"] + " (totruong, ")
    # A check is named by its start, as the checks' sheet lists it (not by its UUID).
    assert [mismatches[code][1] for code in ("NV003", "NV025", "NV020")] == [
        f"{row[1]:%d/%m/%Y} {row[2]}" for row in checks[:3]]
    assert mismatches["NV020"][7] == mismatches["NV025"][7] == "Chưa giải quyết"
    assert "06:52 (BW-01)" in mismatches["NV020"][6] and mismatches["NV025"][6] == "Không có lượt chấm công"

    open_actions = [a["description"] for c in spot_demo.CHECKS for i, a in enumerate(c.actions) if i not in c.done]
    assert sorted(r[2] for r in _rows(book["Việc cần khắc phục"])) == sorted(open_actions)
    assert len(open_actions) == 3
    assert len(book["Biểu đồ"]._images) == 3  # units, trend and the violations by item


@pytest.fixture
def demo_app(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, str]:
    """The demo behind the web app, and the demo accounts' password (SQLite: what is tested is the scope)."""
    monkeypatch.setenv("ATTENDANCE_INSTANCE", str(tmp_path / "instance"))
    load_demo(MONTH)
    password = (tmp_path / "instance" / PASSWORD_FILE).read_text(encoding="utf-8").strip()
    return create_app({"DATABASE_URL": sqlite_url, "TESTING": True}), password


def test_the_demo_accounts_see_the_spot_checks_of_their_scope(demo_app: tuple[Flask, str]) -> None:
    app, password = demo_app
    uuids = {c.unit: c.uuid for c in spot_demo.CHECKS}  # one check per unit is enough to tell them apart
    clients = {}
    for username in ("totruong", "kiemtra", "xem"):
        clients[username] = app.test_client()
        sign_in(clients[username], username, password)

    def listed(username: str) -> set[str]:
        page = clients[username].get(f"/inspections/?month={MONTH}")
        assert page.status_code == 200
        return {unit for unit, uuid in uuids.items() if f"/inspections/checks/{uuid}" in page.get_data(as_text=True)}

    # The lead (the province) and the inspector (the commune) see every check of the commune.
    assert listed("totruong") == listed("kiemtra") == {"17830-UB", "17830-YT", "17830-QS"}
    first = spot_demo.CHECKS[0]
    review = clients["totruong"].get(f"/inspections/checks/{first.uuid}").get_data(as_text=True)
    assert html.escape(first.resolutions["NV003"]) in review
    done = clients["totruong"].get("/inspections/actions?show=done").get_data(as_text=True)
    assert html.escape(first.actions[0]["description"]) in done
    # The inspector may not approve the check that waits for the lead; the viewer of the health
    # station sees its check only, and the others do not exist for them.
    waiting = next(c for c in spot_demo.CHECKS if not c.approved)
    token = csrf_token(clients["kiemtra"], "/")
    assert clients["kiemtra"].post(f"/inspections/checks/{waiting.uuid}/approve",
                                   data={"csrf_token": token}).status_code == 403
    assert listed("xem") == {"17830-YT"}
    assert clients["xem"].get(f"/inspections/checks/{first.uuid}").status_code == 404
    assert clients["xem"].get(f"/inspections/checks/{uuids['17830-YT']}").status_code == 200
