"""The team lead's spot-check screens in Chromium at desktop and tablet sizes (screenshots in docs/)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from spot_check_helpers import UUID, content
from sqlalchemy import select
from test_web_api import ATTLOG, BUNDLE
from web_helpers import ensure_user

from attendance import models as m
from attendance.accounts import account_by_id
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle
from attendance.photos import set_photo
from inspections import services

from .browsing import cells_spilling_over, horizontal_overflow
from .conftest import LiveServer

UUID2 = "0b6f7c1e-2d3a-4c5b-8e9f-202122232425"


@pytest.fixture
def server(own_server: LiveServer, tmp_path: Path) -> LiveServer:
    """A server on this test's own database holding two submitted spot checks of Xã Tân Kỳ."""
    with transaction() as session:
        load_bundle(session, validate_bundle(BUNDLE))
        log = tmp_path / "tk1.dat"
        log.write_text(ATTLOG)
        import_file(session, "TK-01", log)
    ensure_user(own_server.app, "insp1", "inspector", ["17830"])
    record = _jpeg()
    with transaction() as session:
        inspector = account_by_id(session, session.scalar(select(m.User.id).where(m.User.username == "insp1")))
        assert inspector is not None
        fails = [{"item": "badge_worn", "staff": "NV001", "result": "fail", "note": "không đeo thẻ"},
                 {"item": "hotline_posted", "result": "fail", "note": "chưa niêm yết số đường dây nóng"},
                 {"item": "tidy", "result": "pass"}, {"item": "dossier_book", "result": "not_applicable"}]
        announced = [{"name": "bien-ban.jpg", "sha256": hashlib.sha256(record).hexdigest(), "size": len(record)},
                     {"name": "chu-ky.png", "sha256": "0" * 64, "size": 10}]
        services.put_spot_check(session, inspector, UUID, content(findings=fails, attachments=announced))
        services.submit(session, inspector, UUID)
        services.put_attachment(session, inspector, UUID, "bien-ban.jpg", record, "image/jpeg")
        services.put_spot_check(session, inspector, UUID2, content(
            started_at="2026-08-04T08:05:00", headcount_at="2026-08-04T08:10:00", ended_at="2026-08-04T08:50:00",
            findings=fails, attachments=[], headcount=[{"staff": "NV001", "status": "present"},
                                                       {"staff": "NV002", "status": "absent_excused",
                                                        "reference": "12/QĐ-UBND"}]))
        services.submit(session, inspector, UUID2)
        set_photo(session, "NV001", _jpeg(), actor="test")
    return own_server


def _jpeg() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (300, 400), (236, 200, 170))
    image.paste((40, 30, 30), (90, 60, 210, 140))
    image.save(out, "JPEG")
    return out.getvalue()


SCREENS = [
    ("spot-checks", "/inspections/?month=2026-10", "Kiểm tra đột xuất", "Đã nộp"),
    ("spot-check-review", f"/inspections/checks/{UUID}", "Kiểm tra đột xuất Xã Tân Kỳ (17830)",
     "Đối chiếu với dữ liệu chấm công"),
    ("follow-up-actions", "/inspections/actions", "Việc khắc phục", "Niêm yết lại số đường dây nóng"),
    ("repeat-offenders", "/inspections/repeat-offenders?month=2026-10", "Vi phạm lặp lại", "Nguyễn Văn An"),
]


@pytest.mark.parametrize(("name", "path", "heading", "text"), SCREENS, ids=[s[0] for s in SCREENS])
def test_team_lead_screen_renders_cleanly(page: Any, console_errors: list[str], screenshot: Callable[[str], Path],
                                          viewport: str, signed_in: Callable[..., str], name: str, path: str,
                                          heading: str, text: str) -> None:
    signed_in(page, "team_lead", ("411",))
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    assert page.get_by_role("heading", level=1).inner_text().startswith(heading)
    assert page.get_by_text(text).first.is_visible(), f"{path}: {text!r} not visible"
    overflow = horizontal_overflow(page)
    assert overflow["excess"] <= 0, f"{path} at {viewport}: {overflow['excess']}px too wide: {overflow['wide']}"
    assert cells_spilling_over(page) == [], f"{path} at {viewport}"
    screenshot(name)
    assert console_errors == [], f"{path} at {viewport}"
