"""The pages people open, in Chromium at desktop and tablet sizes: they render, in Vietnamese, cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .browsing import DEMO_MONTH, PENDING_SERIAL, cells_spilling_over, horizontal_overflow

PAGES = [
    # (screenshot name, path, heading, Vietnamese text that must be visible)
    ("units", "/", "Đơn vị", "Xã Tân Kỳ"),
    ("dashboard", f"/units/17830?month={DEMO_MONTH}", "Xã Tân Kỳ (17830)", "Ban Chỉ huy quân sự xã"),
    ("month", f"/units/17830/month?month={DEMO_MONTH}", "Tổng hợp chấm công tháng 10/2026: Xã Tân Kỳ",
     "Từ 01/10/2026 đến 31/10/2026"),
    ("person-month", f"/staff/NV007?month={DEMO_MONTH}", "Đặng Văn Hùng (NV007)", "Tổng hợp tháng"),
    ("day", "/staff/NV007/days/2026-10-05", "Đặng Văn Hùng (NV007): 05/10/2026", "Đủ công, không vi phạm."),
    ("staff", "/staff", "Cán bộ", "Nguyễn Văn An"),
    ("imports", "/imports", "Nhập dữ liệu", "Các lô nhập gần đây"),
    ("audit", "/audit", "Nhật ký thay đổi", "Các dòng nhật ký không bao giờ bị sửa hay xóa."),
    ("schedules", "/schedules", "Lịch làm việc", "NA-SUMMER-2026"),
    ("devices", "/devices", "Máy chấm công", "Sảnh UBND (máy khuôn mặt)"),
    ("pending", "/devices/pending", "Máy chấm công chờ duyệt", PENDING_SERIAL),
]


@pytest.mark.parametrize(("name", "path", "heading", "text"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_in_vietnamese_without_errors_or_overflow(
        page: Any, console_errors: list[str], screenshot: Callable[[str], Path], viewport: str,
        signed_in: Callable[..., str], name: str, path: str, heading: str, text: str) -> None:
    signed_in(page, "admin")
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    # The console check below then also catches anything the policy refuses (inline style or script).
    assert "style-src 'self'" in response.headers["content-security-policy"]
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert page.get_by_text(text).first.is_visible(), f"{path}: {text!r} not visible"
    # The stylesheet applied: the header's colour comes from app.css, not from the browser.
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(139, 26, 26)"
    overflow = horizontal_overflow(page)
    assert overflow["excess"] <= 0, f"{path} at {viewport}: {overflow['excess']}px too wide: {overflow['wide']}"
    assert cells_spilling_over(page) == [], f"{path} at {viewport}"
    screenshot(name)
    assert console_errors == [], f"{path} at {viewport}"


def test_from_the_unit_tree_to_a_month_grid_and_another_month(page: Any, console_errors: list[str],
                                                               signed_in: Callable[..., str]) -> None:
    signed_in(page, "viewer", ("17830",))  # reading needs no more than the viewer's role
    page.get_by_role("row").filter(has=page.get_by_role("cell", name="Xã Tân Kỳ", exact=True)).get_by_role(
        "link", name="Xem tổng hợp").click()
    page.wait_for_url(f"**/units/17830/month?month={DEMO_MONTH}")
    assert page.get_by_role("heading", level=1).inner_text() == "Tổng hợp chấm công tháng 10/2026: Xã Tân Kỳ"
    assert page.get_by_role("link", name="Nguyễn Văn An").is_visible()

    page.get_by_role("textbox", name="Tháng").fill("2026-09")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**/units/17830/month?month=2026-09")
    assert page.get_by_role("heading", level=1).inner_text() == "Tổng hợp chấm công tháng 09/2026: Xã Tân Kỳ"
    # No punch in September: the page says so rather than showing everyone absent silently.
    assert page.get_by_role("alert").is_visible()

    # The former address of the summary still answers with the same page (old bookmarks).
    page.goto(f"/units/17830/summary?month={DEMO_MONTH}")
    assert page.get_by_role("heading", level=1).inner_text() == "Tổng hợp chấm công tháng 10/2026: Xã Tân Kỳ"
    assert console_errors == []
