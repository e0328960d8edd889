"""Hostile traffic on the ADMS endpoints: every refusal bounded, explained, and storing nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from test_push import BODY, BUNDLE, SERIAL, punch_tuples
from web_helpers import csrf_token, signed_in_client
from werkzeug.serving import make_server as make_dev_server

from attendance import create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle
from attendance.terminals import reject_terminal
from attendance.web.server import bound_port, make_server


def make_app(db_url: str, **config: Any) -> Flask:
    return create_app({"DATABASE_URL": db_url, "TESTING": True, **config})


@pytest.fixture
def loaded(db_url: str) -> str:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    return db_url


def count(model: type[m.Base]) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def upload(client: FlaskClient, body: bytes = BODY.encode(), serial: str = SERIAL, **kwargs: Any):
    return client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=1", data=body, content_type="text/plain",
                       **kwargs)


# --------------------------------------------------------------------------- malformed requests


class Exploding(io.RawIOBase):
    """A request body that must never be read."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise AssertionError("the body was read")


class Broken(io.RawIOBase):
    """A body whose transfer breaks, as the development server's chunked decoder reports it."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise OSError("Invalid chunk header")


def test_an_oversized_body_is_413_before_it_is_read(loaded: str) -> None:
    client = make_app(loaded, ADMS_MAX_CONTENT_LENGTH=1024).test_client()
    reply = client.post(f"/iclock/cdata?SN={SERIAL}&table=ATTLOG", content_type="text/plain",
                        environ_overrides={"wsgi.input": Exploding(), "CONTENT_LENGTH": str(50 * 1024 * 1024)})
    assert reply.status_code == 413 and reply.mimetype == "text/plain"
    assert reply.get_data(as_text=True) == (
        "Request body of 52428800 bytes is larger than the 1024 bytes allowed for terminals "
        "(ADMS_MAX_CONTENT_LENGTH)\n")
    # Exactly at the limit is fine.
    body = BODY.encode()
    assert upload(make_app(loaded, ADMS_MAX_CONTENT_LENGTH=len(body)).test_client(), body).status_code == 200
    assert count(m.ImportBatch) == 1


def test_malformed_requests_are_400_with_the_reason(loaded: str) -> None:
    client = make_app(loaded).test_client()
    cases = {
        "/iclock/cdata?options=all": "Bad request: SN missing\n",
        f"/iclock/getrequest?SN={'X' * 65}": "Bad request: SN longer than 64 characters (65)\n",
        "/iclock/getrequest?SN=AB%01CD": "Bad request: SN contains character U+0001 at position 3\n",
        "/iclock/getrequest?SN=AB%E2%80%8BCD": "Bad request: SN contains character U+200B at position 3\n",
        "/iclock/cdata?options=all&SN=%FF%FE": "Bad request: query parameter 2 (SN) is not UTF-8 at byte 4\n",
    }
    for url, reason in cases.items():
        reply = client.get(url)
        assert (reply.status_code, reply.mimetype, reply.get_data(as_text=True)) == (400, "text/plain", reason), url
    broken = client.post(f"/iclock/cdata?SN={SERIAL}&table=ATTLOG", content_type="text/plain",
                         headers={"Transfer-Encoding": "chunked"},
                         environ_overrides={"wsgi.input": Broken(), "wsgi.input_terminated": True})
    assert (broken.status_code, broken.mimetype) == (400, "text/plain")
    assert count(m.PendingTerminal) == 0 and count(m.ImportBatch) == 0


# --------------------------------------------------------------------------- unknown serials


def test_the_waiting_list_is_bounded(loaded: str) -> None:
    client = make_app(loaded, ADMS_MAX_WAITING_TERMINALS=3).test_client()
    answers = [client.get(f"/iclock/getrequest?SN=STRANGER{n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    assert all("waiting for approval\n" == a.get_data(as_text=True)[-21:] for a in answers[:3])
    assert answers[3].get_data(as_text=True) == (
        "Unauthorized: terminal not registered, and 3 terminals already wait for approval "
        "(ADMS_MAX_WAITING_TERMINALS); not recorded\n")
    with transaction() as session:
        assert set(session.scalars(select(m.PendingTerminal.serial))) == {"STRANGER0", "STRANGER1", "STRANGER2"}
    # One already listed is still counted, even with the list full.
    client.get("/iclock/getrequest?SN=STRANGER0")
    with transaction() as session:
        assert session.scalar(select(m.PendingTerminal.requests).where(m.PendingTerminal.serial == "STRANGER0")) == 2
        reject_terminal(session, "STRANGER1", actor="admin")  # decided: no longer waiting
    assert "waiting for approval\n" in client.get("/iclock/getrequest?SN=STRANGER3").get_data(as_text=True)
    assert count(m.PendingTerminal) == 4


def test_new_serials_are_rate_limited_per_address(loaded: str) -> None:
    client = make_app(loaded, ADMS_NEW_SERIALS_PER_HOUR=2).test_client()
    codes = [client.get(f"/iclock/cdata?SN=LOOP{n}&options=all").status_code for n in range(4)]
    assert codes == [401, 401, 429, 429]
    limited = client.get("/iclock/cdata?SN=LOOP9&options=all")
    assert limited.headers["Retry-After"] == "3600" and limited.get_data(as_text=True) == (
        "Too many requests: more than 2 new terminals from 127.0.0.1 in the last hour "
        "(ADMS_NEW_SERIALS_PER_HOUR); not recorded\n")
    assert count(m.PendingTerminal) == 2
    # Another address has its own allowance; a listed serial is not new.
    assert client.get("/iclock/cdata?SN=OTHER1", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 401
    assert client.get("/iclock/cdata?SN=LOOP0").status_code == 401
    with transaction() as session:
        assert session.scalar(select(m.PendingTerminal.requests).where(m.PendingTerminal.serial == "LOOP0")) == 2
        # An hour later the address may introduce new serials again.
        session.execute(update(m.PendingTerminal).values(first_seen=m.PendingTerminal.first_seen - dt.timedelta(hours=2)))
    assert client.get("/iclock/cdata?SN=LOOP5").status_code == 401
    assert count(m.PendingTerminal) == 4


# --------------------------------------------------------------------------- allowed networks


def set_networks(networks: object) -> None:
    with transaction() as session:
        device = session.scalar(select(m.Device).where(m.Device.serial == SERIAL))
        device.settings = {**(device.settings or {}), "allowed_networks": networks}


def test_allowed_networks_refuse_other_addresses_and_store_nothing(loaded: str) -> None:
    client = make_app(loaded).test_client()
    set_networks(["10.1.0.0/16", "2001:db8::/32"])
    refused = upload(client)
    assert refused.status_code == 403 and refused.get_data(as_text=True) == (
        "Forbidden: address 127.0.0.1 is outside the networks allowed for device TK-PUSH\n")
    assert client.get(f"/iclock/getrequest?SN={SERIAL}", environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 403
    assert punch_tuples() == [] and count(m.ImportBatch) == 0
    with transaction() as session:
        assert session.scalar(select(m.Device.last_contact_at).where(m.Device.serial == SERIAL)) is None

    assert upload(client, environ_base={"REMOTE_ADDR": "10.1.200.7"}).get_data(as_text=True) == "OK: 6"
    assert upload(client, environ_base={"REMOTE_ADDR": "2001:db8::5"}).get_data(as_text=True) == "OK: 6"
    set_networks(["not a network"])  # a broken setting allows nobody rather than everybody
    assert upload(client, environ_base={"REMOTE_ADDR": "10.1.200.7"}).status_code == 403
    set_networks([])  # empty: the serial alone, as without the setting
    assert upload(client).status_code == 200


# --------------------------------------------------------------------------- a busy database


def hold_write_lock(db_url: str) -> Any:
    """Another writer holding the locks a request needs (SQLite: the database; PostgreSQL: the rows)."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    conn = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://", 1))
    conn.execute("SELECT id FROM device WHERE serial = %s FOR UPDATE", (SERIAL,))
    conn.execute("SELECT id FROM pending_terminal FOR UPDATE")
    return conn


def test_a_locked_database_answers_503_with_retry_after(loaded: str) -> None:
    # Signed in (and the form's token taken) before the lock: the page's approval is what waits.
    client = signed_in_client(make_app(loaded, DATABASE_LOCK_TIMEOUT=0.3))
    token = csrf_token(client, "/")
    with transaction() as session:
        session.add(m.PendingTerminal(serial="WAITING1", first_seen=dt.datetime(2026, 10, 5),
                                      last_seen=dt.datetime(2026, 10, 5), remote_addr="", requests=1))
    locker = hold_write_lock(loaded)
    try:
        started = time.monotonic()
        reply = upload(client)
        assert time.monotonic() - started < 10  # bounded by the lock timeout, not the driver's 30 s
        assert (reply.status_code, reply.mimetype, reply.headers["Retry-After"]) == (503, "text/plain", "30")
        text = reply.get_data(as_text=True)
        assert text.strip() and text.count("\n") == 1  # one line saying why (the terminal resends anyway)
        # A page's form waiting for a lock gets the Vietnamese page, with Retry-After too.
        page = client.post("/devices/pending/approve", data={"serial": "WAITING1", "device": "TK-NEW", "csrf_token": token})
        assert (page.status_code, page.mimetype, page.headers["Retry-After"]) == (503, "text/html", "30")
        assert "Hệ thống đang bận" in page.get_data(as_text=True)
        assert "cơ sở dữ liệu đang bận (một thao tác ghi khác đang giữ khóa)" in page.get_data(as_text=True)
    finally:
        locker.rollback()
        locker.close()
    assert upload(client).get_data(as_text=True) == "OK: 6"  # the terminal's resend goes through
    assert len(punch_tuples()) == 6 and count(m.ImportBatch) == 1
    assert client.post("/devices/pending/approve", data={"serial": "WAITING1", "device": "TK-NEW", "csrf_token": token}).status_code == 303


# --------------------------------------------------------------------------- real servers


@pytest.fixture(params=["waitress", "werkzeug"])
def server(request: pytest.FixtureRequest, loaded: str) -> Iterator[tuple[str, int]]:
    """The app behind a real HTTP server on 127.0.0.1 (waitress as `serve`; werkzeug as `serve --debug`)."""
    app = make_app(loaded, ADMS_MAX_CONTENT_LENGTH=64 * 1024)
    if request.param == "waitress":
        wsgi = make_server(app, "127.0.0.1", 0, threads=2)
        port, stop = bound_port(wsgi, 0), wsgi.close
    else:
        wsgi = make_dev_server("127.0.0.1", 0, app, threaded=True)
        port, stop = wsgi.server_port, wsgi.shutdown
    def run() -> None:
        try:
            wsgi.run() if request.param == "waitress" else wsgi.serve_forever()
        except OSError:
            pass  # waitress's loop sees its sockets closed under it when the test stops it

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield request.param, port
    finally:
        stop()
        thread.join(10)


def exchange(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send raw bytes, return the status code and the whole answer (the server closes or answers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_real_servers_refuse_oversized_bodies_without_reading_them(server: tuple[str, int]) -> None:
    kind, port = server
    path = f"/iclock/cdata?SN={SERIAL}&table=ATTLOG&Stamp=1"
    # 100 MB announced (more than any route accepts, uploads included), not a byte sent: the answer comes anyway.
    status, _ = exchange(port, f"POST {path} HTTP/1.1\nHost: t\nContent-Type: text/plain\n"
                               f"Content-Length: {100 * 1024 * 1024}\nConnection: close\n")
    assert status == 413
    # Over the terminals' limit but under the pages' one: the app refuses, in plain text.
    status, answer = exchange(port, f"POST {path} HTTP/1.1\nHost: t\nContent-Type: text/plain\n"
                                    f"Content-Length: {100 * 1024}\nConnection: close\n", b"1" * 100 * 1024)
    assert status == 413 and b"allowed for terminals (ADMS_MAX_CONTENT_LENGTH)" in answer
    # Chunked, longer than the limit in total: refused once the limit is passed.
    chunk = b"%x\r\n%s\r\n" % (32 * 1024, b"1" * 32 * 1024)
    status, _ = exchange(port, f"POST {path} HTTP/1.1\nHost: t\nTransfer-Encoding: chunked\nConnection: close\n",
                         chunk * 3 + b"0\r\n\r\n")
    assert status == 413, kind
    assert count(m.ImportBatch) == 0


def test_real_servers_answer_400_to_a_malformed_chunked_body(server: tuple[str, int]) -> None:
    _kind, port = server
    head = (f"POST /iclock/cdata?SN={SERIAL}&table=ATTLOG&Stamp=1 HTTP/1.1\nHost: t\n"
            "Transfer-Encoding: chunked\nConnection: close\n")
    for body in (b"zz\r\n101\r\n0\r\n\r\n", b"5\r\n101\t2026-10-05 07:00:00\r\n0\r\n\r\n"):
        status, _ = exchange(port, head, body)
        assert status == 400, body
    good = BODY.encode()
    status, answer = exchange(port, head, b"%x\r\n%s\r\n0\r\n\r\n" % (len(good), good))
    assert status == 200 and answer.endswith(b"OK: 6")
