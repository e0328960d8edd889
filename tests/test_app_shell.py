"""The application shell: configuration sources, `attendance init`'s secret key, `attendance serve`."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from attendance import create_app
from attendance.cli import main
from attendance.config import read_config_file, secret_key_problem
from attendance.db import get_engine
from attendance.errors import InvalidInput

KEY = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty instance folder; no ATTENDANCE_* variable but the ones a test sets."""
    folder = tmp_path / "instance"
    folder.mkdir()
    for name in list(os.environ):
        if name.startswith("ATTENDANCE_") and name != "ATTENDANCE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ATTENDANCE_INSTANCE", str(folder))
    return folder


def test_defaults_then_instance_file_then_environment_then_test_config(instance: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()
    assert app.config["SECRET_KEY"] == "dev" and app.config["ADMS_MAX_CONTENT_LENGTH"] == 8 * 1024 * 1024
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'attendance.sqlite3'}"

    (instance / "config.py").write_text("SECRET_KEY = 'from-file'\nADMS_NEW_SERIALS_PER_HOUR = 5\n"
                                        "DEFAULT_MONTH = '2026-09'\nlowercase_ignored = 1\n")
    app = create_app()
    assert (app.config["SECRET_KEY"], app.config["ADMS_NEW_SERIALS_PER_HOUR"]) == ("from-file", 5)
    assert "lowercase_ignored" not in app.config

    monkeypatch.setenv("ATTENDANCE_ADMS_NEW_SERIALS_PER_HOUR", "7")
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    monkeypatch.setenv("ATTENDANCE_SECRET_KEY", "0123456789")  # digits only: still a string key
    app = create_app()
    assert app.config["ADMS_NEW_SERIALS_PER_HOUR"] == 7 and app.config["DEFAULT_MONTH"] == "2026-09"
    assert app.config["DATABASE_URL"] == "sqlite:///elsewhere.sqlite3"
    assert app.config["SECRET_KEY"] == "0123456789"

    app = create_app({"ADMS_NEW_SERIALS_PER_HOUR": 9, "DATABASE_URL": "sqlite:///given.sqlite3"})
    assert app.config["ADMS_NEW_SERIALS_PER_HOUR"] == 9 and app.config["DATABASE_URL"] == "sqlite:///given.sqlite3"
    assert create_app() is not create_app()  # no global app


def test_attendance_config_names_the_file_and_a_missing_one_is_an_error(instance: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (instance / "config.py").write_text("DEFAULT_MONTH = '2026-01'\n")
    named = tmp_path / "etc" / "attendance.py"
    monkeypatch.setenv("ATTENDANCE_CONFIG", str(named))
    with pytest.raises(InvalidInput, match=re.escape(f"ATTENDANCE_CONFIG trỏ tới {named}, tệp này không tồn tại")):
        create_app()
    named.parent.mkdir()
    named.write_text("DEFAULT_MONTH = '2026-02'\n")
    assert create_app().config["DEFAULT_MONTH"] == "2026-02"  # instead of the instance file, not after it


def test_secret_key_problems() -> None:
    assert "SECRET_KEY dành cho phát triển" in secret_key_problem({"SECRET_KEY": "dev"})
    assert "chưa có SECRET_KEY" in secret_key_problem({"SECRET_KEY": None})
    assert "attendance init" in secret_key_problem({"SECRET_KEY": ""})
    assert secret_key_problem({"SECRET_KEY": "dev", "TESTING": True}) is None
    assert secret_key_problem({"SECRET_KEY": "dev", "DEBUG": True}) is None
    assert secret_key_problem({"SECRET_KEY": "a" * 64}) is None


def test_init_writes_a_secret_key_once_and_migrates(instance: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    config = instance / "config.py"
    assert f"đã ghi khóa bí mật vào {config}" in result.output
    key = read_config_file(config)["SECRET_KEY"]
    assert KEY.match(key)
    if os.name == "posix":
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "pending_terminal" in inspect(get_engine()).get_table_names()
    assert create_app().config["SECRET_KEY"] == key

    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0 and f"giữ nguyên khóa bí mật trong {config}" in again.output
    assert read_config_file(config)["SECRET_KEY"] == key and config.read_text().count("SECRET_KEY =") == 1
    get_engine().dispose()


def test_init_adds_a_key_to_an_existing_file_and_never_replaces_one(instance: Path) -> None:
    config = instance / "config.py"
    config.write_text("DEFAULT_MONTH = '2026-10'")  # no final newline
    config.chmod(0o644)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    values = read_config_file(config)
    assert values["DEFAULT_MONTH"] == "2026-10" and KEY.match(values["SECRET_KEY"])
    if os.name == "posix":
        assert stat.S_IMODE(config.stat().st_mode) == 0o600

    config.write_text("SECRET_KEY = 'chosen-by-the-administrator'\n")
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    assert config.read_text() == "SECRET_KEY = 'chosen-by-the-administrator'\n"
    get_engine().dispose()


# --------------------------------------------------------------------------- attendance serve


def _attendance() -> list[str]:
    script = Path(sys.executable).with_name("attendance")
    return [str(script)] if script.exists() else [shutil.which("attendance") or "attendance"]


def _environment(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTENDANCE_")}
    # The worktree first, so the subprocess imports the code under test.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    return {**env, "ATTENDANCE_INSTANCE": str(instance), **extra}


@pytest.fixture
def served(instance: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`attendance serve --port 0` as a real process, after `attendance init` (its address, process)."""
    env = _environment(instance)
    subprocess.run([*_attendance(), "init"], env=env, check=True, capture_output=True, timeout=120)
    process = subprocess.Popen([*_attendance(), "serve", "--port", "0", "--threads", "2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(60)
    try:
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", lines[0] if lines else "")
        assert match, f"no address printed: {lines!r}"
        yield match.group(1), process
    finally:
        process.terminate()
        process.wait(20)


def test_serve_runs_waitress_and_serves_the_pages(served: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = served
    with urllib.request.urlopen(url, timeout=30) as reply:  # redirected to the sign-in form
        page = reply.read().decode()
        assert reply.status == 200 and reply.headers["Server"] == "attendance"  # waitress's ident
        assert reply.url == url + "login?next=/"
        # Plain HTTP on 127.0.0.1: a Secure session cookie would be dropped by the browser.
        cookie = reply.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "<h1>Đăng nhập</h1>" in page and 'name="csrf_token"' in page
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "iclock/cdata?SN=NOT-REGISTERED-1&options=all", timeout=30)
    assert refused.value.code == 401 and refused.value.headers.get_content_type() == "text/plain"
    assert process.poll() is None


@pytest.mark.parametrize("key", [None, "dev"], ids=["no-instance-file", "dev-in-environment"])
def test_serve_refuses_the_development_key(instance: Path, key: str | None) -> None:
    extra = {} if key is None else {"ATTENDANCE_SECRET_KEY": key}
    done = subprocess.run([*_attendance(), "serve", "--port", "0"], env=_environment(instance, **extra),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: không khởi động với SECRET_KEY dành cho phát triển; hãy chạy 'attendance init'")
    assert str(instance / "config.py") in line
