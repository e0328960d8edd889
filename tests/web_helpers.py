"""Signing in from tests: accounts made through the use case, sign-in through the real form."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from attendance import models as m
from attendance.accounts import add_user
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle
from attendance.synth import District

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of a form page (the session cookie keeps its pair)."""
    page = client.get(path).get_data(as_text=True)
    found = CSRF.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def ensure_user(app: Flask, username: str, role: str = "admin", units: Iterable[str] = ()) -> None:
    """Create the account unless it exists (password PASSWORD)."""
    with transaction(app.config["DATABASE_URL"]) as session:
        if session.scalar(select(m.User.id).where(m.User.username == username)) is None:
            add_user(session, username, role, list(units), PASSWORD, actor="test")


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, CSRF token and all; fail the test if it does not work."""
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf_token(client)})
    assert answer.status_code == 303, (answer.status_code, answer.get_data(as_text=True)[:300])


def signed_in_client(app: Flask, username: str = "admin", role: str = "admin",
                     units: Iterable[str] = ()) -> FlaskClient:
    """A test client signed in as a (created if needed) user of that role and units."""
    ensure_user(app, username, role, units)
    client = app.test_client()
    sign_in(client, username)
    return client


def load_district(district: District, folder: Path) -> None:
    """Load a synthetic district's bundle, then import each terminal's attlog written under ``folder``."""
    with transaction() as session:
        load_bundle(session, validate_bundle(district.bundle))
    for device, lines in district.attlogs.items():
        path = folder / f"{device}.dat"
        path.write_text("\n".join(lines) + "\n")
        with transaction() as session:
            import_file(session, device, path)
