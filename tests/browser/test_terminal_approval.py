"""Approving and refusing a push terminal through the page's forms, in Chromium, on its own database."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle

from .conftest import LiveServer

UNITS = {"units": [{"code": "H1", "name": "Huyện Thử", "kind": "district"},
                   {"code": "X1", "name": "Xã Một", "kind": "commune", "parent": "H1"}]}


@pytest.fixture
def server(own_server: LiveServer) -> LiveServer:
    """These tests change data: their pages go to a server of their own."""
    return own_server


def call_in(server: str, serial: str) -> int:
    """A push terminal's first call (ADMS handshake) over real HTTP; returns the status code."""
    try:
        with urllib.request.urlopen(f"{server}/iclock/cdata?SN={serial}&options=all", timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_an_unknown_terminal_is_approved_into_a_unit_then_answered(
        page: Any, console_errors: list[str], server: LiveServer, sqlite_url: str,
        signed_in: Callable[..., str]) -> None:
    with transaction(sqlite_url) as session:
        load_bundle(session, validate_bundle(UNITS))
    assert call_in(server.url, "NEWSN0001") == 401  # unknown: refused and listed for approval
    signed_in(page, "admin")

    page.goto("/devices/pending")
    assert page.get_by_text("Đang chờ duyệt: 1 máy.").is_visible()
    page.get_by_role("button", name="Duyệt").click()
    # The code is required: the browser keeps the form until it is filled.
    assert page.url.endswith("/devices/pending")
    assert page.get_by_label("Mã máy").evaluate("e => e.validity.valueMissing")

    page.get_by_label("Mã máy").fill("TK-09")
    page.get_by_label("Đơn vị").select_option("X1")
    page.get_by_role("button", name="Duyệt").click()
    page.wait_for_url("**/devices/pending")
    assert page.get_by_text("Đã duyệt máy NEWSN0001 thành máy chấm công TK-09.").is_visible()
    assert page.locator("td", has_text="Đã duyệt").first.is_visible()

    with transaction(sqlite_url) as session:
        unit = session.scalar(select(m.Unit.code).join(m.Device, m.Device.unit_id == m.Unit.id)
                              .where(m.Device.code == "TK-09"))
        assert unit == "X1"
    assert call_in(server.url, "NEWSN0001") == 200  # now a known terminal
    page.get_by_role("link", name="Máy chấm công", exact=True).click()
    assert page.get_by_text("TK-09").is_visible()
    assert console_errors == []


def test_refusing_a_terminal_keeps_it_listed_as_refused(page: Any, console_errors: list[str], server: LiveServer,
                                                        signed_in: Callable[..., str]) -> None:
    assert call_in(server.url, "STRANGER7") == 401
    signed_in(page, "admin")
    page.goto("/devices/pending")
    page.get_by_role("button", name="Từ chối").click()
    page.wait_for_url("**/devices/pending")
    assert page.get_by_text("Đã từ chối máy STRANGER7.").is_visible()
    assert page.locator("td", has_text="Đã từ chối").is_visible()
    assert page.get_by_text("Đang chờ duyệt: 0 máy.").is_visible()
    assert call_in(server.url, "STRANGER7") in (401, 403)  # still refused
    assert console_errors == []
