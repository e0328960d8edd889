"""The everyday flows of a commune's clerk, in Chromium, on a demo database of the test's own.

Import a terminal's file and void it, read a person's month and a day's explanation, record an
excuse and see the day change, switch the language, and meet the 404 page outside one's units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from attendance.demo import load_demo

from .conftest import LiveServer

CLERK = ("clerk", ("17830",))

#: A small attlog.dat for TK-01 (user 107 is NV007 there): two good lines in November, where the
#: demo has no punch, and one line whose time is not a time.
ATTLOG = ("      107\t2026-11-02 07:01:10\t1\t0\t15\t0\n"
          "      107\t2026-11-02 17:03:44\t1\t0\t15\t0\n"
          "      107\tnot-a-time\t1\t0\t15\t0\n")


@pytest.fixture
def server(own_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """These tests change data: the demo district loaded into a server of their own."""
    demo_instance = tmp_path / "demo-instance"
    demo_instance.mkdir()
    monkeypatch.setenv("ATTENDANCE_INSTANCE", str(demo_instance))  # the demo accounts' password file
    load_demo()  # on ATTENDANCE_DATABASE_URL, which ``sqlite_url`` (own_server's database) set
    yield own_server


def heading(page: Any) -> str:
    """The page's first-level heading as the user reads it."""
    return str(page.get_by_role("heading", level=1).inner_text())


@pytest.mark.parametrize("viewport", ["desktop", "tablet"], indirect=True)
def test_a_clerk_imports_a_file_reads_its_result_and_voids_it(
        page: Any, console_errors: list[str], signed_in: Callable[..., str], tmp_path: Path) -> None:
    attlog = tmp_path / "attlog.dat"
    attlog.write_text(ATTLOG, encoding="ascii")
    username = signed_in(page, *CLERK)

    page.get_by_role("link", name="Nhập dữ liệu").click()
    page.get_by_label("Máy chấm công").select_option("TK-01")
    page.get_by_label("Tệp (attlog.dat, CSV, Excel...)").set_input_files(str(attlog))
    page.get_by_role("button", name="Nhập", exact=True).click()
    page.wait_for_url("**/imports/jobs/*")
    assert heading(page) == "Nhập tệp attlog.dat"
    # The job page polls until the worker has finished, then offers the result.
    page.get_by_role("link", name="Xem kết quả lô").click(timeout=30_000)
    page.wait_for_url("**/imports/batches/*")
    assert heading(page).startswith("Lô ")
    assert page.get_by_text(f"Người tải lên: {username}.").is_visible()
    counts = {name: page.locator(f"#count-{name}").inner_text()
              for name in ("read", "inserted", "duplicates", "rejected", "unknown")}
    assert counts == {"read": "3", "inserted": "2", "duplicates": "0", "rejected": "1", "unknown": "0"}
    rejected = page.locator("table.rejects tr").filter(has_text="not-a-time")
    assert rejected.locator("td").first.inner_text() == "3"  # the file's line number
    reason = rejected.locator("td").nth(2).inner_text()
    assert reason.strip(), "a rejected line says why"

    page.get_by_role("button", name="Hủy lô này").click()
    assert page.locator("#void-reason").evaluate("e => e.validity.valueMissing")  # a reason is required
    page.locator("#void-reason").fill("Tệp của máy khác")
    page.get_by_role("button", name="Hủy lô này").click()
    page.wait_for_load_state()
    assert page.get_by_text("Đã hủy lô").first.is_visible()
    assert page.get_by_text("Tệp của máy khác").is_visible()  # the reason is shown with the voiding
    assert page.get_by_role("button", name="Khôi phục").is_visible()
    page.get_by_role("link", name="Nhập dữ liệu").first.click()
    assert page.locator("tr.voided").filter(has_text="attlog.dat").is_visible()
    assert console_errors == []


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_a_person_month_then_a_day_explained(page: Any, console_errors: list[str],
                                             signed_in: Callable[..., str]) -> None:
    signed_in(page, *CLERK)
    page.goto("/staff/NV007?month=2026-10")
    assert heading(page) == "Đặng Văn Hùng (NV007)"
    day = page.locator("#day-2026-10-05")
    assert day.inner_text().split() == ["5", "✓", "Đủ", "công"]
    day.get_by_role("link").click()
    page.wait_for_url("**/staff/NV007/days/2026-10-05")
    assert heading(page) == "Đặng Văn Hùng (NV007): 05/10/2026"
    assert page.get_by_text("Kết luận: Đủ công, không vi phạm.").is_visible()
    assert page.get_by_text("Giờ vào 06:40").is_visible()
    assert console_errors == []


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_an_excuse_changes_the_day_verdict(page: Any, console_errors: list[str],
                                           signed_in: Callable[..., str]) -> None:
    signed_in(page, *CLERK)
    # 13/10: NV007 did not punch in for the afternoon session.
    page.goto("/staff/NV007/days/2026-10-13")
    before = page.locator(".conclusion").inner_text()
    assert "Thiếu" in before or "thiếu" in before, before

    page.goto("/staff/NV007/excuses")
    page.get_by_label("Loại").select_option("business_trip")
    page.locator("#excuse-start").fill("2026-10-13T13:30")
    page.locator("#excuse-end").fill("2026-10-13T17:00")
    page.get_by_label("Số văn bản").fill("QĐ 17/2026")
    page.get_by_role("button", name="Thêm", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_text("Đã ghi giấy tờ vắng mặt").is_visible()
    assert page.get_by_role("cell", name="QĐ 17/2026").is_visible()

    page.goto("/staff/NV007/days/2026-10-13")
    after = page.locator(".conclusion").inner_text()
    assert after != before
    assert after == "Kết luận: Đủ công, không vi phạm.", after  # the excused session counts as worked
    # The day names the excuse it counted.
    assert "QĐ 17/2026" in page.locator("p.excuse").inner_text()
    assert console_errors == []


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_the_language_switch_goes_to_english_and_back(page: Any, console_errors: list[str],
                                                      signed_in: Callable[..., str]) -> None:
    signed_in(page, *CLERK)
    page.goto("/staff/NV007?month=2026-10")
    page.get_by_role("link", name="EN", exact=True).click()
    page.wait_for_url("**/staff/NV007?month=2026-10")  # back on the same page
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Imports").is_visible()
    assert page.get_by_role("heading", name="Totals of the month").is_visible()
    page.get_by_role("link", name="VI", exact=True).click()
    page.wait_for_url("**/staff/NV007?month=2026-10")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.get_by_role("link", name="Nhập dữ liệu").is_visible()
    assert page.get_by_role("heading", name="Tổng hợp tháng").is_visible()
    assert console_errors == []


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_a_unit_head_gets_the_404_page_outside_her_unit(page: Any, signed_in: Callable[..., str]) -> None:
    signed_in(page, "unit_head", ("17830-YT",))
    response = page.goto("/units/17830-UB")
    assert response is not None and response.status == 404
    assert page.get_by_text("Không tìm thấy trang").is_visible()
    assert page.get_by_text("UBND xã Tân Kỳ").count() == 0  # nothing of the other unit leaks
    response = page.goto("/units/17830-YT")
    assert response is not None and response.status == 200  # her own unit opens


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_a_team_lead_follows_a_report_built_in_the_background(page: Any, console_errors: list[str],
                                                               signed_in: Callable[..., str]) -> None:
    signed_in(page, "team_lead", ("17830",))
    page.goto("/inspections/reports?month=2026-10&unit=17830")
    form = page.locator("form.report-job-form")
    form.locator("select[name=format]").select_option("xlsx")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/inspections/reports/jobs/*")
    # job_progress.js polls the job and reloads the page once it is done: the download appears.
    download_link = page.locator("a.button[href$='/file']")
    download_link.wait_for(timeout=120_000)
    bar = page.locator("#report-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    assert page.locator("#report-percent").inner_text() == "100"
    with page.expect_download() as download:
        download_link.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert console_errors == []
