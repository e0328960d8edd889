"""The demo district of `make run` and `attendance demo`: a packaged bundle and exports (idempotent)."""

from __future__ import annotations

import importlib
from importlib import resources
from importlib.resources.abc import Traversable

from sqlalchemy.orm import Session

from .bundle import read_bundle_file, validate_bundle
from .db import transaction
from .i18n import _, current_language
from .ledger import import_file
from .org import load_bundle
from .services import monthly_summary, summary_headings

#: The demo's files ship inside the package, so a plain ``pip install`` can run the demo;
#: they are byte-for-byte copies of files in the repository's sample_logs/ (a test checks it).
DATA = resources.files("attendance") / "demo_data"
BUNDLE = "demo_bundle.yaml"
#: Packages that add their own records to the demo, as ``attendance.cli.COMMAND_MODULES`` adds
#: commands: each has ``load_demo() -> list[str]`` (idempotent), run once the demo's people,
#: punches and accounts exist. Imported by name when the demo runs, never at module level:
#: those packages build on attendance, not the reverse.
DEMO_MODULES = ("inspections.demo",)
IMPORTS = (
    ("tk01_attlog.dat", "TK-01"),
    ("tk02_1_attlog.dat", "TK-02"),
    ("OIN7030067011301_attlog.dat", "BW-01"),
    ("tk03_named_attlog.dat", "TK-03"),
    ("wiseeye_export.csv", "TK-01"),  # the same punches as tk01 through vendor software: adds nothing
)


def demo_files() -> list[str]:
    """Names of the packaged demo files: the bundle first, then the exports in import order."""
    return [BUNDLE, *(name for name, _device in IMPORTS)]


def _packaged(name: str) -> Traversable:
    entry = DATA / name
    if not entry.is_file():
        raise FileNotFoundError(f"{name}: missing from the installed package (attendance/demo_data)")
    return entry


def load_demo(month: str = "2026-10") -> list[str]:
    """Load the demo bundle and exports; return lines describing what is there now."""
    lines = []
    with resources.as_file(_packaged(BUNDLE)) as path:
        bundle = validate_bundle(read_bundle_file(path))
    with transaction() as session:
        report = load_bundle(session, bundle, actor="demo")
    created = sum(report.created.values())
    lines.append(_("Demo set-up bundle: {count} new records", count=created) if created
                 else _("Demo set-up bundle: already loaded, nothing changed"))
    for name, device in IMPORTS:
        with resources.as_file(_packaged(name)) as path, transaction() as session:
            r = import_file(session, device, path, label=name)  # not the installed path: pages show it
        lines.append(_("  {file} → {device}: read {read}, new {inserted}, duplicates {duplicates}, rejected {rejected}",
                       file=name, device=device, read=r.read, inserted=r.inserted, duplicates=r.duplicates,
                       rejected=r.rejected))
    with transaction() as session:
        table = monthly_summary(session, month, "17830")
    lines.append(_("Summary of {month} — Xã Tân Kỳ ({count} people):", month=f"{month[5:]}/{month[:4]}",
                   count=len(table)))
    # The same column names as the web page's month table.
    headings = summary_headings(current_language())
    columns = ("staff_code", "name", "working_days", "late_count", "late_minutes", "early_count",
               "missing_punch_count", "absent_sessions")
    widths = {c: max(len(headings[c]), 6) for c in columns}
    widths["name"] = 22
    lines.append("  " + "  ".join(headings[c].ljust(widths[c]) if c in ("staff_code", "name")
                                  else headings[c].rjust(widths[c]) for c in columns))
    worst = table.sort_values(["absent_sessions", "late_minutes"], ascending=False).head(6)
    for row in worst.to_dict(orient="records"):
        lines.append("  " + "  ".join(str(row[c])[:widths[c]].ljust(widths[c]) if c in ("staff_code", "name")
                                      else str(row[c]).rjust(widths[c]) for c in columns))
    with transaction() as session:
        lines += demo_accounts(session)
    for name in DEMO_MODULES:
        lines += importlib.import_module(name).load_demo()
    return lines


#: The demo's accounts, one per role and a second inspector (spot checks are made by a team of
#: two): (username, role, units, full name).
DEMO_ACCOUNTS = (
    ("admin", "admin", (), "Quản trị hệ thống"),
    ("totruong", "team_lead", ("40",), "Trưởng đoàn kiểm tra"),
    ("kiemtra", "inspector", ("17830",), "Kiểm tra viên"),
    ("kiemtra2", "inspector", ("17830",), "Kiểm tra viên (thành viên đoàn)"),
    ("truongxa", "unit_head", ("17830",), "Chủ tịch UBND xã Tân Kỳ"),
    ("vanthu", "clerk", ("17830-UB",), "Văn thư UBND xã"),
    ("xem", "viewer", ("17830-YT",), "Trạm y tế (chỉ xem)"),
)
PASSWORD_FILE = "demo-password.txt"


def demo_accounts(session: Session) -> list[str]:
    """Create the demo's accounts (one password, kept in the instance folder) and say how to sign in."""
    import os
    import secrets

    from sqlalchemy import select

    from . import models as m
    from .accounts import add_user, set_password
    from .db import default_instance_path

    path = default_instance_path() / PASSWORD_FILE
    password = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    fresh = not password
    if fresh:
        password = secrets.token_urlsafe(9)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
    existing = set(session.scalars(select(m.User.username)))
    for username, role, units, full_name in DEMO_ACCOUNTS:
        if username not in existing:
            add_user(session, username, role, units, password, actor="demo", full_name=full_name, origin="demo")
        elif fresh:
            set_password(session, username, password, actor="demo", origin="demo")
    names = ", ".join(f"{username} ({role})" for username, role, _units, _name in DEMO_ACCOUNTS)
    return [_("Demo accounts: {names}", names=names),
            _("Password of every demo account: {password} (kept in {file})", password=password, file=str(path))]
