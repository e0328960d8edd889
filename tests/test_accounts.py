"""Accounts, sign-in, scopes and the protections every page has (CSRF, headers, cookies, limits)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from web_helpers import PASSWORD, csrf_token, ensure_user, sign_in, signed_in_client
from werkzeug.test import TestResponse

from attendance import accounts, create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.cli import main
from attendance.db import transaction
from attendance.errors import Conflict, Forbidden, InvalidInput, TooManyAttempts, UnknownUnit
from attendance.org import load_bundle

TREE = {
    "units": [{"code": "P", "name": "Tỉnh Thử", "kind": "province"},
              {"code": "C1", "name": "Xã Một", "kind": "commune", "parent": "P"},
              {"code": "C1-UB", "name": "UBND xã Một", "kind": "office", "parent": "C1"},
              {"code": "C2", "name": "Xã Hai", "kind": "commune", "parent": "P"}],
    "devices": [{"code": "TK-1", "unit": "C1", "kind": "file"}, {"code": "TK-2", "unit": "C2", "kind": "file"}],
    "staff": [{"code": "NV1", "name": "Nguyễn Văn Một", "unit": "C1-UB"},
              {"code": "NV2", "name": "Trần Thị Hai", "unit": "C2"}],
}


@pytest.fixture
def app(db_url: str) -> Flask:
    with transaction() as session:
        load_bundle(session, validate_bundle(TREE))
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_users_commands_add_token_list_disable(app: Flask) -> None:
    code, out, err = cli("users", "add", "lan", "--role", "clerk", "--unit", "C1", "--password-stdin",
                         stdin="mật-khẩu-dài\n")
    assert (code, err) == (0, "") and "lan" in out and "C1" in out
    code, token, _err = cli("users", "token", "lan", "--label", "máy tính bảng")
    assert code == 0 and token.startswith("att_") and len(token.strip()) > 40
    with transaction() as session:
        stored = session.scalars(select(m.ApiToken.token_sha256)).all()
        assert stored == [accounts.token_digest(token.strip())]  # only the digest is kept
        assert accounts.account_by_token(session, token.strip()).username == "lan"
        assert accounts.account_by_token(session, token.strip() + "x") is None
        assert accounts.sign_in(session, "lan", "mật-khẩu-dài", "10.0.0.1").role is accounts.Role.CLERK
    [row] = json.loads(cli("users", "list", "--json")[1])
    assert (row["username"], row["role"], row["units"], row["tokens"], row["disabled"]) == ("lan", "clerk", ["C1"], 1, False)
    assert cli("users", "disable", "lan")[0] == 0
    with transaction() as session:
        assert accounts.account_by_token(session, token.strip()) is None  # a disabled user's tokens stop
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity.in_(["user", "api_token"]))
                                .order_by(m.AuditLog.id)).all()
        assert [(a.action, a.entity, a.origin) for a in audit] == [
            ("create", "user", "cli"), ("create", "api_token", "cli"), ("update", "user", "cli")]
        assert "password_hash" not in json.dumps([a.changes for a in audit])


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "boss"], "long enough 1\n", "vai trò 'boss': phải là một trong admin, team_lead"),
    (["--role", "viewer", "--unit", "NOPE"], "long enough 1\n", "không có đơn vị 'NOPE'"),
    (["--role", "viewer"], "short\n", "mật khẩu phải có ít nhất 8 ký tự"),
])
def test_users_add_refuses_with_one_line(app: Flask, args: list[str], stdin: str, message: str) -> None:
    code, out, err = cli("users", "add", "x1", *args, "--password-stdin", stdin=stdin)
    assert code == 1 and out == "" and err.startswith("error: " + message) and err.count("\n") == 1


def test_use_cases_refuse_duplicates_bad_names_and_unknown_units(app: Flask) -> None:
    with transaction() as session:
        accounts.add_user(session, "an", "viewer", ["C1"], PASSWORD, actor="test")
    with transaction() as session, pytest.raises(Conflict):
        accounts.add_user(session, "an", "viewer", ["C1"], PASSWORD, actor="test")
    with transaction() as session, pytest.raises(InvalidInput):
        accounts.add_user(session, "an có dấu", "viewer", [], PASSWORD, actor="test")
    with transaction() as session, pytest.raises(UnknownUnit):
        accounts.add_user(session, "binh", "viewer", ["C9"], PASSWORD, actor="test")
    with transaction() as session:
        account = accounts.account_by_id(session, session.scalar(select(m.User.id)))
        assert accounts.scope_unit_codes(session, account) == {"C1", "C1-UB"}
        with pytest.raises(Forbidden):
            accounts.require_permission(account, accounts.Permission.IMPORT)


def test_anonymous_pages_go_to_sign_in_and_sign_out_ends_the_session(app: Flask) -> None:
    client = app.test_client()
    for path in ["/", "/units/C1", "/units/C1/summary?month=2026-10", "/devices", "/devices/pending"]:
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    ensure_user(app, "an", "viewer", ["C1"])
    sign_in(client, "an")
    assert client.get("/").status_code == 200
    assert client.get("/logout").status_code == 303
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_why_and_counts(app: Flask) -> None:
    ensure_user(app, "an", "viewer", ["C1"])
    client = app.test_client()
    token = csrf_token(client)
    answer = client.post("/login", data={"username": "an", "password": "nope", "csrf_token": token})
    assert answer.status_code == 401 and "sai tên đăng nhập hoặc mật khẩu" in answer.get_data(as_text=True)
    unknown = client.post("/login", data={"username": "ghost", "password": "nope", "csrf_token": token})
    assert unknown.get_data(as_text=True).count("sai tên đăng nhập hoặc mật khẩu") == 1  # the same answer
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.SignInAttempt)) == 2


def test_ten_failures_lock_the_account_for_a_while_even_with_the_right_password(app: Flask) -> None:
    ensure_user(app, "an", "viewer", ["C1"])
    client = app.test_client()
    token = csrf_token(client)
    for _ in range(accounts.ACCOUNT_FAILURES):
        assert client.post("/login", data={"username": "an", "password": "bad", "csrf_token": token}).status_code == 401
    locked = client.post("/login", data={"username": "an", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and "thử lại sau 15 phút" in locked.get_data(as_text=True)
    # Five minutes later it is still refused; once the failures leave the window it works again.
    with transaction() as session:
        with pytest.raises(TooManyAttempts):
            accounts.sign_in(session, "an", PASSWORD, "10.9.9.9", now=dt.datetime.now() + dt.timedelta(minutes=5))
    with transaction() as session:
        later = dt.datetime.now() + accounts.WINDOW + dt.timedelta(seconds=5)
        assert accounts.sign_in(session, "an", PASSWORD, "10.9.9.9", now=later).username == "an"


def test_one_address_is_limited_across_accounts(app: Flask) -> None:
    with transaction() as session:
        for i in range(accounts.ADDRESS_FAILURES):
            with pytest.raises(InvalidInput):
                accounts.sign_in(session, f"guess{i}", "bad", "10.1.1.1")
    ensure_user(app, "an", "viewer", ["C1"])
    with transaction() as session, pytest.raises(TooManyAttempts):
        accounts.sign_in(session, "an", PASSWORD, "10.1.1.1")
    with transaction() as session:
        assert accounts.sign_in(session, "an", PASSWORD, "10.1.1.2").username == "an"


def test_forms_without_a_csrf_token_change_nothing(app: Flask) -> None:
    client = signed_in_client(app)
    answer = client.post("/devices/pending/reject", data={"serial": "X1"})
    assert answer.status_code == 400 and "tải lại trang" in answer.get_data(as_text=True)
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 400
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.PendingTerminal)) == 0


def test_headers_and_cookies(db_url: str) -> None:
    production = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "k" * 32})
    answer = production.test_client().get("/login")
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["X-Content-Type-Options"] == "nosniff"
    page = answer.get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page and "<style" not in page


def test_scope_hides_other_units_and_roles_limit_actions(app: Flask) -> None:
    head = signed_in_client(app, "truong", "unit_head", ["C1"])
    home = head.get("/").get_data(as_text=True)
    assert "Xã Một" in home and "UBND xã Một" in home and "Xã Hai" not in home and "Tỉnh Thử" not in home
    assert head.get("/units/C1").status_code == 200 and head.get("/units/C1-UB/month").status_code == 200
    # Another unit answers exactly like a unit that does not exist.
    other, missing = head.get("/units/C2"), head.get("/units/C9")
    assert other.status_code == missing.status_code == 404
    # The form tokens carry a timestamp in seconds: two requests may straddle a second.
    def page(answer: TestResponse) -> str:
        return re.sub(r'name="csrf_token" value="[^"]*"', "", answer.get_data(as_text=True))

    assert page(other).replace("C2", "C9") == page(missing)
    devices = head.get("/devices").get_data(as_text=True)
    assert "TK-1" in devices and "TK-2" not in devices
    assert head.get("/devices/pending").status_code == 403
    token = csrf_token(head, "/")
    assert head.post("/devices/pending/reject", data={"serial": "X1", "csrf_token": token}).status_code == 403
    admin = signed_in_client(app)
    assert admin.get("/units/C2").status_code == 200 and admin.get("/devices/pending").status_code == 200


def test_a_disabled_user_is_signed_out_and_an_old_session_expires(app: Flask) -> None:
    client = signed_in_client(app, "an", "viewer", ["C1"])
    assert client.get("/").status_code == 200
    with transaction() as session:
        accounts.disable_user(session, "an", actor="test")
    assert client.get("/").status_code == 302
    ensure_user(app, "binh", "viewer", ["C1"])
    client = app.test_client()
    sign_in(client, "binh")
    app.config["SESSION_ABSOLUTE_LIFETIME"] = 0
    with client.session_transaction() as cookie_session:
        cookie_session["signed_in_at"] -= 5
    assert client.get("/").status_code == 302


def test_language_switch_and_safe_redirects(app: Flask) -> None:
    client = signed_in_client(app)
    assert "Đăng xuất" in client.get("/").get_data(as_text=True)
    assert client.get("/lang/en?next=/devices").headers["Location"] == "/devices"
    assert "Sign out" in client.get("/").get_data(as_text=True)
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example"]:
        assert client.get("/lang/vi", query_string={"next": target}).headers["Location"] == "/"
    assert "Đăng xuất" in client.get("/").get_data(as_text=True)


def test_a_request_works_out_each_scope_once_and_the_next_sees_changes(app: Flask,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    head = signed_in_client(app, "truong", "unit_head", ["C1"])
    walks: list[str] = []
    real = accounts.unit_subtree

    def counting(session, code):  # type: ignore[no-untyped-def]
        walks.append(code)
        return real(session, code)

    monkeypatch.setattr(accounts, "unit_subtree", counting)
    with transaction() as session:  # outside a request: nothing is kept, every guard walks the tree
        account = accounts.account_by_id(session, session.scalar(select(m.User.id).where(m.User.username == "truong")))
        assert account is not None
        accounts.require_unit(session, account, "C1")
        accounts.require_staff(session, account, "NV1")
        assert walks == ["C1", "C1"]
        accounts.keep_scopes(True)  # as the web app does for a request
        try:
            accounts.require_unit(session, account, "C1-UB")
            accounts.require_staff(session, account, "NV1")
            with pytest.raises(UnknownUnit):
                accounts.require_unit(session, account, "C2")
        finally:
            accounts.keep_scopes(False)
        assert walks == ["C1"] * 3
    walks.clear()
    assert head.get("/units/C1").status_code == 200 and walks == ["C1"]
    with transaction() as session:  # a unit added under C1 between two requests is in the next one's scope
        load_bundle(session, validate_bundle({**TREE, "units": [*TREE["units"], {
            "code": "C1-CA", "name": "Công an xã Một", "kind": "office", "parent": "C1"}]}))
    assert head.get("/units/C1-CA").status_code == 200
