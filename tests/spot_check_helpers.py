"""Shared set-up of the spot-check tests: the API tests' organisation and punches, a valid content."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from flask import Flask
from test_web_api import ATTLOG, BUNDLE, token_for

from attendance import create_app
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle

UUID = "0b6f7c1e-2d3a-4c5b-8e9f-101112131415"
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()

__all__ = ["PHOTO", "PHOTO_SHA", "UUID", "content", "make_app", "token_for"]


def make_app(db_url: str, tmp_path: Path) -> Flask:
    """Units 40 > 411 > 17830 (> 17830-01) and 17831; NV001, NV002 in 17830; punches 5-7 Oct 2026."""
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
        log = tmp_path / "tk1.dat"
        log.write_text(ATTLOG)
        import_file(session, "TK-01", log)
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def content(**changes: Any) -> dict[str, Any]:
    """A valid spot check of unit 17830 on 6 Oct 2026 by insp1 (team) and lead1 (lead)."""
    doc: dict[str, Any] = {
        "unit": "17830",
        "started_at": "2026-10-06T08:05:00", "ended_at": "2026-10-06T08:50:00",
        "headcount_at": "2026-10-06T08:10:00",
        "team": ["insp1", "insp2"], "lead": "lead1",
        "legal_basis": "Kế hoạch 15/KH-UBND",
        "gps": {"lat": 19.04, "lon": 105.1, "accuracy_m": 12},
        "template": {"code": "default", "version": 1},
        "headcount": [{"staff": "NV001", "status": "present"},
                      {"staff": "NV002", "status": "absent_unexcused", "note": "không rõ lý do"}],
        "findings": [{"item": "badge_worn", "staff": "NV001", "result": "fail", "note": "không đeo thẻ"},
                     {"item": "hotline_posted", "result": "pass"}],
        "actions": [{"description": "Niêm yết lại số đường dây nóng", "assignee": "NV001", "due": "2026-10-20"}],
        "attachments": [{"name": "bien-ban.jpg", "sha256": PHOTO_SHA, "size": len(PHOTO)}],
    }
    doc.update(changes)
    return doc
