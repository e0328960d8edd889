"""Signing in and out in Chromium: the redirect, the refusal and its reason, the way back out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from web_helpers import PASSWORD, ensure_user

from .browsing import horizontal_overflow
from .conftest import LiveServer


def test_an_anonymous_visitor_is_sent_to_the_sign_in_form(page: Any, console_errors: list[str],
                                                          screenshot: Callable[[str], Path]) -> None:
    page.goto("/devices")
    assert page.url.endswith("/login?next=/devices")
    assert page.get_by_role("heading", level=1).inner_text() == "Đăng nhập"
    assert page.get_by_label("Tên đăng nhập").is_visible() and page.get_by_label("Mật khẩu").is_visible()
    assert page.locator("input[name=csrf_token]").get_attribute("value")
    assert page.get_by_role("link", name="Máy chấm công").count() == 0  # no menu before signing in
    assert horizontal_overflow(page)["excess"] <= 0
    screenshot("login")
    assert console_errors == []


def test_a_wrong_password_says_why_and_keeps_the_name(page: Any, console_errors: list[str], server: LiveServer) -> None:
    ensure_user(server.app, "browser-wrong-password", "viewer", ("17830",))
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("browser-wrong-password")
    page.get_by_label("Mật khẩu").fill(PASSWORD + "!")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Đăng nhập").click()
    assert answer.value.status == 401
    assert page.get_by_role("alert").inner_text() == "sai tên đăng nhập hoặc mật khẩu"
    assert page.get_by_label("Tên đăng nhập").input_value() == "browser-wrong-password"
    assert page.get_by_label("Mật khẩu").input_value() == ""  # the password is never sent back
    page.goto("/")
    assert "/login" in page.url  # still signed out
    # Chromium logs the refusal's 401 itself; nothing else may go wrong.
    assert [e for e in console_errors if "status of 401" not in e] == [] and len(console_errors) == 1


def test_sign_in_leads_to_the_units_page_and_sign_out_ends_the_session(
        page: Any, console_errors: list[str], server: LiveServer) -> None:
    ensure_user(server.app, "browser-sign-out", "admin")
    page.goto("/")
    assert "/login" in page.url
    page.get_by_label("Tên đăng nhập").fill("browser-sign-out")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Đơn vị"
    assert page.get_by_role("cell", name="Xã Tân Kỳ", exact=True).is_visible()
    assert page.get_by_text("browser-sign-out").is_visible()  # who is signed in, in the header

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/login")
    page.goto("/devices")
    assert page.url.endswith("/login?next=/devices")  # the session is over
    assert console_errors == []
