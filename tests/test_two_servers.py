"""Two `attendance serve` processes on one database share nothing else: a session and a form move between them."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import select

from attendance import models as m
from attendance.accounts import add_user
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


class Server:
    """`attendance serve --port 0` as a real process; ``port`` is read from the line it prints."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([SCRIPT, "serve", "--port", "0", "--threads", "2"], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err: list[str] = []
        threading.Thread(target=lambda: self.err.extend(self.process.stderr), daemon=True).start()  # type: ignore[arg-type]
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, (line, self.err)
        self.port = int(found.group(1))

    def request(self, method: str, path: str, cookie: str = "", form: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], str]:
        """One request (no redirect followed): status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode("utf-8")
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class Browser:
    """Keeps the session cookie as a browser does, whichever server set it last."""

    def __init__(self) -> None:
        self.cookie = ""

    def go(self, server: Server, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """One request to ``server`` with the cookie; status and body."""
        status, headers, body = server.request(method, path, self.cookie, form)
        found = re.search(r"(attendance_session=[^;]*)", headers.get("set-cookie", ""))
        if found:
            self.cookie = found.group(1)
        return status, body


def test_two_servers_share_sessions_forms_and_changes_through_the_database(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "ATTENDANCE_INSTANCE": str(tmp_path / "instance"), "ATTENDANCE_DATABASE_URL": db_url,
           "PYTHONUNBUFFERED": "1", "ATTENDANCE_LANG": "en"}
    env.pop("ATTENDANCE_SECRET_KEY", None)
    env.pop("ATTENDANCE_CONFIG", None)
    init = subprocess.run([SCRIPT, "init"], env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    config = (tmp_path / "instance" / "config.py").read_text(encoding="utf-8")
    assert re.search(r"SECRET_KEY = '[0-9a-f]{64}'", config)  # one key, written once, read by every server
    with transaction() as session:
        load_bundle(session, validate_bundle({
            "units": [{"code": "X", "name": "Xã Tân Kỳ"}],
            "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
            "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "X"}]}))
        add_user(session, "admin", "admin", [], PASSWORD, actor="test")
    first, second = Server(env), Server(env)
    browser = Browser()
    try:
        # Sign in on the first server.
        page = browser.go(first, "GET", "/login")[1]
        status, _page = browser.go(first, "POST", "/login", {
            "username": "admin", "password": PASSWORD, "csrf_token": CSRF.search(page).group(1)})  # type: ignore[union-attr]
        assert status == 303, _page[:300]
        # The second server knows the session: no redirect to /login.
        status, page = browser.go(second, "GET", "/staff/NV001/enrollments")
        assert status == 200 and "NV001" in page
        assert Browser().go(second, "GET", "/staff/NV001/enrollments")[0] == 302  # without it: sign in first
        # A form token the first server gave is good on the second.
        token = CSRF.search(browser.go(first, "GET", "/staff/NV001/enrollments")[1]).group(1)  # type: ignore[union-attr]
        form = {"action": "enrol", "device": "TK-01", "user_id": "4242", "csrf_token": token}
        assert browser.go(second, "POST", "/staff/NV001/enrollments", {**form, "csrf_token": "x"})[0] == 400
        status, _page = browser.go(second, "POST", "/staff/NV001/enrollments", form)
        assert status == 303, _page[:300]
        # The change made through the second is seen through the first at once.
        status, page = browser.go(first, "GET", "/staff/NV001/enrollments")
        assert status == 200 and "4242" in page
        # Signing out on the second ends the session on the first too.
        assert browser.go(second, "POST", "/logout", {"csrf_token": token})[0] == 303
        assert browser.go(first, "GET", "/staff/NV001/enrollments")[0] == 302
    finally:
        first.stop()
        second.stop()
    with transaction() as session:
        assert session.scalars(select(m.Enrollment.user_id)).all() == ["4242"]
        assert session.scalars(select(m.AuditLog.entity).where(m.AuditLog.entity == "enrollment")).all()
