"""Staff photos: the use case (content checked, re-encoded, audited), the admin form, the page and API images."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterable

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from web_helpers import csrf_token, signed_in_client

from attendance import accounts, create_app
from attendance import api as public
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.errors import InvalidInput, UnknownStaff
from attendance.org import load_bundle
from attendance.photos import LONGEST_SIDE, MAX_BYTES, get_photo, remove_photo, set_photo

BUNDLE = {
    "units": [{"code": "P", "name": "Huyện Thử", "kind": "district"},
              {"code": "C1", "name": "Xã Một", "kind": "commune", "parent": "P"},
              {"code": "C2", "name": "Xã Hai", "kind": "commune", "parent": "P"}],
    "staff": [{"code": "NV1", "name": "Trần Văn Bình", "unit": "C1"},
              {"code": "NV2", "name": "Lê Văn Cường", "unit": "C2"}],
}


def picture(width: int, height: int, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    """An image of that size whose left half is red and right half blue (to see it survive re-encoding)."""
    image = Image.new(mode, (width, height), (200, 20, 20, 255)[:len(mode)] if mode != "L" else 90)
    if mode != "L":
        image.paste((20, 20, 200, 255)[:len(mode)], (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def app(db_url: str) -> Flask:
    with transaction() as session:
        load_bundle(session, validate_bundle(BUNDLE))
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


def audit(entity: str = "staff_photo") -> list[tuple[str, str, str, dict]]:
    with transaction() as session:
        return [(r.action, r.entity_key, r.actor, r.changes) for r in session.scalars(
            select(m.AuditLog).where(m.AuditLog.entity == entity).order_by(m.AuditLog.id))]


def token_for(username: str, role: str, units: Iterable[str] = ()) -> dict[str, str]:
    with transaction() as session:
        if session.scalar(select(m.User.id).where(m.User.username == username)) is None:
            accounts.add_user(session, username, role, list(units), None, actor="test")
        return {"Authorization": f"Bearer {accounts.issue_token(session, username, 'test', actor='test')}"}


def test_a_photo_is_re_encoded_as_a_small_upright_jpeg_and_audited(app: Flask) -> None:
    with transaction() as session:
        stored = set_photo(session, "NV1", picture(1800, 1200), actor="cli:admin")
    assert stored.content_type == "image/jpeg" and (stored.width, stored.height) == (LONGEST_SIDE, 400)
    assert stored.sha256 == hashlib.sha256(stored.content).hexdigest()
    image = Image.open(io.BytesIO(stored.content))
    assert image.format == "JPEG" and image.size == (600, 400)
    red, blue = image.getpixel((100, 200)), image.getpixel((500, 200))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]  # the picture itself, not a blank
    # A transparent PNG becomes white where it was transparent (a JPEG has no alpha).
    clear = Image.new("RGBA", (50, 80), (0, 0, 0, 0))
    out = io.BytesIO()
    clear.save(out, "PNG")
    with transaction() as session:
        again = set_photo(session, "NV1", out.getvalue(), actor="cli:admin")
        assert (again.width, again.height) == (50, 80)  # small pictures are not enlarged
    assert min(Image.open(io.BytesIO(again.content)).getpixel((25, 40))) > 240
    with transaction() as session:
        assert get_photo(session, "NV1").sha256 == again.sha256  # type: ignore[union-attr]
        assert get_photo(session, "NV2") is None
        assert remove_photo(session, "NV1", actor="cli:admin") is True
        assert remove_photo(session, "NV1", actor="cli:admin") is False
        assert get_photo(session, "NV1") is None
    rows = audit()
    assert [(a, k) for a, k, _who, _c in rows] == [("create", "NV1"), ("update", "NV1"), ("delete", "NV1")]
    assert rows[0][3]["sha256"] == [None, stored.sha256] and rows[1][3]["sha256"] == [stored.sha256, again.sha256]
    assert rows[2][3]["sha256"] == [again.sha256, None]


def test_the_same_picture_twice_writes_one_audit_row(app: Flask) -> None:
    data = picture(300, 300, "JPEG")
    with transaction() as session:
        set_photo(session, "NV1", data, actor="a")
    with transaction() as session:
        set_photo(session, "NV1", data, actor="a")
    assert len(audit()) == 1


@pytest.mark.parametrize(("data", "why"), [
    (b"", "empty"),
    (b"GIF89a" + b"\0" * 100, "not a JPEG, PNG or WebP"),
    (b"%PDF-1.4 not a face", "not a JPEG, PNG or WebP"),
    (picture(40, 40, "GIF"), "not a JPEG, PNG or WebP"),  # a real image, of a kind we do not take
    (picture(40, 40, "PNG")[:60], "cannot be read"),  # cut short after the header
    (b"\0" * (MAX_BYTES + 1), "at most"),
])
def test_what_is_not_an_acceptable_image_is_refused_saying_why(app: Flask, english: None, data: bytes,
                                                               why: str) -> None:
    with transaction() as session, pytest.raises(InvalidInput, match=why) as caught:
        set_photo(session, "NV1", data, actor="a")
    assert str(caught.value).startswith("photo:")
    with transaction() as session:
        assert get_photo(session, "NV1") is None
    assert audit() == []


def test_a_decompression_bomb_is_refused_from_its_header_quickly(app: Flask, english: None) -> None:
    # 20,000 x 20,000 pixels of one colour compress to a few hundred kilobytes.
    bomb = Image.new("L", (20000, 20000), 0)
    out = io.BytesIO()
    bomb.save(out, "PNG")
    del bomb
    data = out.getvalue()
    assert len(data) < MAX_BYTES
    started = time.monotonic()
    with transaction() as session, pytest.raises(InvalidInput, match="more than 40000000 pixels"):
        set_photo(session, "NV1", data, actor="a")
    # Below Pillow's own limit but above ours: refused as well, from the header.
    medium = Image.new("L", (8000, 6000), 0)
    out = io.BytesIO()
    medium.save(out, "PNG")
    with transaction() as session, pytest.raises(InvalidInput, match="more than 40000000 pixels"):
        set_photo(session, "NV1", out.getvalue(), actor="a")
    assert time.monotonic() - started < 3


def test_unknown_staff(app: Flask) -> None:
    with transaction() as session:
        with pytest.raises(UnknownStaff):
            set_photo(session, "NOBODY", picture(10, 10), actor="a")
        with pytest.raises(UnknownStaff):
            get_photo(session, "NOBODY")


def test_the_public_helpers_give_a_versioned_api_address(app: Flask) -> None:
    with transaction() as session:
        assert public.staff_photo_url(session, "NV1") is None and not public.has_photo(session, "NV1")
        assert not public.has_photo(session, "NOBODY")
        stored = set_photo(session, "NV1", picture(64, 64), actor="a")
        assert public.has_photo(session, "NV1")
        assert public.staff_photo_url(session, "NV1") == f"/api/v1/staff/NV1/photo?v={stored.sha256[:16]}"
        assert public.staff_photo_urls(session, ["NV1", "NV2", "NOBODY"]) == {
            "NV1": f"/api/v1/staff/NV1/photo?v={stored.sha256[:16]}"}
        assert public.staff_photo_urls(session, []) == {}


def upload(client, code: str, data: bytes, name: str = "face.png"):  # type: ignore[no-untyped-def]
    return client.post(f"/staff/{code}/photo", data={"csrf_token": csrf_token(client, "/"),
                                                     "photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_the_admin_form_uploads_shows_and_removes_a_photo(app: Flask) -> None:
    admin = signed_in_client(app)
    page = admin.get("/staff/NV1/enrollments").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="photo"' in page
    answer = upload(admin, "NV1", picture(900, 300))
    assert answer.status_code == 303
    page = admin.get("/staff/NV1/enrollments").get_data(as_text=True)
    assert 'class="staff-photo" src="/staff/NV1/photo?v=' in page
    image = admin.get("/staff/NV1/photo")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(image.data)).size == (600, 200)
    assert "no-store" not in image.headers["Cache-Control"] and "private" in image.headers["Cache-Control"]
    # The browser revalidates with the ETag and gets no body again.
    assert admin.get("/staff/NV1/photo", headers={"If-None-Match": image.headers["ETag"]}).status_code == 304
    assert audit()[0][2] == "web:admin"
    # A wrong file is refused on the page, saying why; nothing changes.
    refused = upload(admin, "NV1", b"plain text, not an image", "face.jpg")
    assert refused.status_code == 303
    assert "không phải ảnh JPEG, PNG hoặc WebP" in admin.get("/staff/NV1/enrollments").get_data(as_text=True)
    assert admin.get("/staff/NV1/photo").data == image.data
    removed = admin.post("/staff/NV1/photo", data={"csrf_token": csrf_token(admin, "/"), "action": "remove"})
    assert removed.status_code == 303 and admin.get("/staff/NV1/photo").status_code == 404
    # Without the form's token: refused before anything is read.
    assert admin.post("/staff/NV1/photo", data={"photo": (io.BytesIO(picture(9, 9)), "x.png")},
                      content_type="multipart/form-data").status_code == 400


def test_photo_routes_follow_scope_and_role(app: Flask) -> None:
    with transaction() as session:
        set_photo(session, "NV1", picture(30, 30), actor="a")
        set_photo(session, "NV2", picture(30, 30), actor="a")
    clerk = signed_in_client(app, "clerk1", "clerk", ["C1"])
    assert clerk.get("/staff/NV1/photo").status_code == 200
    assert clerk.get("/staff/NV2/photo").status_code == 404  # outside the scope: as if absent
    assert upload(clerk, "NV2", picture(20, 20)).status_code == 404
    assert upload(clerk, "NV1", picture(20, 20)).status_code == 403  # inside, but no manage_org
    assert 'name="photo"' not in clerk.get("/staff/NV1/enrollments").get_data(as_text=True)
    assert app.test_client().get("/staff/NV1/photo").status_code in (302, 303)  # anonymous: sign in first
    api = app.test_client()
    inspector = token_for("insp1", "inspector", ["C1"])
    answer = api.get("/api/v1/staff/NV1/photo", headers=inspector)
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg" and answer.data[:2] == b"\xff\xd8"
    outside = api.get("/api/v1/staff/NV2/photo", headers=inspector)
    absent = api.get("/api/v1/staff/NOBODY/photo", headers=inspector)
    assert outside.status_code == absent.status_code == 404
    # Outside the scope reads exactly like a person who does not exist (not like "has no photo").
    assert outside.json["error"]["message"].replace("NV2", "NOBODY") == absent.json["error"]["message"]
    assert api.get("/api/v1/staff/NV1/photo").status_code == 401
    with transaction() as session:
        remove_photo(session, "NV1", actor="a")
    gone = api.get("/api/v1/staff/NV1/photo", headers=inspector)
    assert gone.status_code == 404 and "NV1" in gone.json["error"]["message"]
