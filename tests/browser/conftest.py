"""Browser fixtures: the demo data behind a live server, one Chromium per session, a page per test.

Playwright comes from pip; the browser is Debian's Chromium (``make test`` installs it as root).
Without it these tests skip, except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from web_helpers import PASSWORD, ensure_user

from attendance import create_app
from attendance.db import get_engine, transaction
from attendance.demo import load_demo
from attendance.migrate import upgrade
from attendance.terminals import note_unknown_terminal
from attendance.web.server import bound_port, make_server

from .browsing import (
    CHROMIUM,
    LAUNCH_ARGS,
    PENDING_SEEN,
    PENDING_SERIAL,
    SCREENSHOTS,
    VIEWPORTS,
)

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI") == "true"



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a `browser` test (select with -m browser, skip with -m 'not browser')."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite database with the demo district (`attendance demo`) and one terminal waiting for approval."""
    url_folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{url_folder / 'demo.sqlite3'}"
    upgrade(url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTENDANCE_DATABASE_URL", url)  # load_demo works on the configured database
        mp.setenv("ATTENDANCE_INSTANCE", str(url_folder))  # its accounts' password file goes there, not in instance/
        load_demo()
    with transaction(url) as session:
        note_unknown_terminal(session, PENDING_SERIAL, "192.168.1.201", PENDING_SEEN)
    yield url
    get_engine(url).dispose()


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL and the app it serves (for its database and settings)."""

    url: str
    app: Flask


@contextmanager
def serving(database_url: str, instance: Path) -> Iterator[LiveServer]:
    """Serve the app on ``database_url`` with waitress (as `attendance serve`) on a free port."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTENDANCE_INSTANCE", str(instance))  # no developer's config.py in the way
        # Plain http on loopback, as `attendance serve` on 127.0.0.1: no Secure cookie.
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "browser-tests-" + "k" * 40,
                          "SESSION_COOKIE_SECURE": False})

    server = make_server(app, "127.0.0.1", 0, threads=4)
    port = bound_port(server, 0)

    def run() -> None:
        try:
            server.run()
        except OSError:
            pass  # waitress's loop sees its sockets closed under it when it is stopped

    thread = threading.Thread(target=run, name=f"browser-live-server-{port}", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.close()
        thread.join(10)


@pytest.fixture(scope="session")
def live_server(live_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo data served for the whole session (tests must not change it: screenshots show it)."""
    with serving(live_database, tmp_path_factory.mktemp("instance")) as live:
        yield live


@pytest.fixture
def own_server(sqlite_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server on this test's own empty database (``sqlite_url``), for tests that change data."""
    instance = tmp_path / "instance"
    instance.mkdir()
    with serving(sqlite_url, instance) as live:
        yield live
    get_engine(sqlite_url).dispose()


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    """The server the test's page talks to: the demo one (a module overrides it with ``own_server``)."""
    return live_server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: `make test` installs Debian's chromium when run as root "
                 "(apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS,
                                              timeout=60_000)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    """The name of the screen size the test runs at (desktop, tablet, tablet-landscape)."""
    return str(request.param)


@pytest.fixture
def page(browser: Any, server: LiveServer, viewport: str) -> Iterator[Any]:
    """A fresh page (own cookies, signed out) at ``viewport``, in Vietnamese and Vietnam's time, on ``server``."""
    context = browser.new_context(base_url=server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  device_scale_factor=1, **VIEWPORTS[viewport])
    # A page that hangs must fail the test, not the whole run.
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Errors the page reports: console errors (CSP refusals, failed loads) and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"console: {message.text} at {message.location}")
            if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"exception: {exc}"))
    return errors


@pytest.fixture
def screenshot(page: Any, viewport: str) -> Callable[[str], Path]:
    """``screenshot(name)`` saves the window as docs/screenshots/NAME-VIEWPORT.png (the window's size)."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{viewport}.png"
        image = page.screenshot(animations="disabled", caret="hide")
        # Rewrite only a changed picture, so a test run leaves the committed ones alone.
        if not path.exists() or path.read_bytes() != image:
            path.write_bytes(image)
        return path

    return take


@pytest.fixture(scope="session")
def _sessions() -> dict[tuple[str, str], list[Any]]:
    """Session cookies of users already signed in through the form, by (server URL, username)."""
    return {}


@pytest.fixture
def signed_in(server: LiveServer, _sessions: dict[tuple[str, str], list[Any]]) -> Callable[..., str]:
    """``signed_in(page, role, units=())``: make that user through the use case, sign in through the form.

    Returns the username (one per role and units, created once per database, password
    ``web_helpers.PASSWORD``); the page is left on the units page. The first sign-in of a user
    on a server goes through the form; later pages reuse its session cookie, since checking a
    scrypt hash costs a second on a busy machine.
    """

    def sign_in(page: Any, role: str = "admin", units: tuple[str, ...] = ()) -> str:
        username = "-".join(["browser", role, *units])
        key = (server.url, username)
        if key in _sessions:
            page.context.add_cookies(_sessions[key])
            page.goto("/")
        else:
            ensure_user(server.app, username, role, units)
            page.goto("/login")
            page.locator("input[name=username]").fill(username)
            page.locator("input[name=password]").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(lambda url: "/login" not in url)
            _sessions[key] = page.context.cookies()
        assert "/login" not in page.url, f"{username} is not signed in"
        return username

    return sign_in
