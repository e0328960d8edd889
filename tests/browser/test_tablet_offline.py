"""The inspectors' tablet page in Chromium: load a unit, go offline, record a spot check with a
photo from a (fake) camera, reload without a network, come back online and see it arrive once.

Chromium gets a fake camera (``--use-fake-device-for-media-stream``) and the page a fixed clock
(6 October 2026, the demo month), so the screenshots in docs/screenshots stay the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.request
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from attendance import models as m
from attendance.accounts import issue_token
from attendance.db import transaction
from attendance.demo import load_demo
from inspections.demo import CHECKS
from inspections.models import Attachment, SpotCheck, SpotCheckVersion

from .browsing import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, VIEWPORTS
from .conftest import LiveServer

DEMO_CHECKS = [c.uuid for c in CHECKS]  # the demo's own spot checks (inspections/demo.py) are not the tablet's
INSPECTOR = ("inspector", ("17830",))
UNIT = "17830-UB"
VIETNAM = dt.timezone(dt.timedelta(hours=7))  # the pages' clock is Vietnam's (timezone_id below)
CHECK_TIME = dt.datetime(2026, 10, 6, 8, 5, tzinfo=VIETNAM)
END_TIME = dt.datetime(2026, 10, 6, 8, 50, tzinfo=VIETNAM)
# A fake camera that needs no permission prompt.
CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
POSITION = {"latitude": 19.0412, "longitude": 105.1034, "accuracy": 12}


@pytest.fixture
def server(own_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """These tests write spot checks: the demo district in a server of their own."""
    demo_instance = tmp_path / "demo-instance"
    demo_instance.mkdir()
    monkeypatch.setenv("ATTENDANCE_INSTANCE", str(demo_instance))
    load_demo()
    yield own_server


@pytest.fixture(scope="module")
def camera_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium, with a fake camera that needs no permission prompt (from the session's Playwright)."""
    chromium = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True,
                                           args=LAUNCH_ARGS + CAMERA_ARGS, timeout=60_000)
    yield chromium
    chromium.close()


def tablet_context(browser: Any, server: LiveServer, viewport: str, **options: Any) -> Any:
    context = browser.new_context(base_url=server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  device_scale_factor=1, geolocation=POSITION,
                                  permissions=["geolocation", "camera"], **VIEWPORTS[viewport], **options)
    context.set_default_timeout(15_000)
    return context


def shoot(page: Any, name: str, viewport: str) -> None:
    """docs/screenshots/NAME-VIEWPORT.png, rewritten only when it changed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{viewport}.png"
    page.evaluate("() => window.scrollTo(0, 0)")  # the screen as it opens: bar, tabs, first rows
    image = page.screenshot(animations="disabled", caret="hide")
    if not path.exists() or path.read_bytes() != image:
        path.write_bytes(image)


def open_tablet(page: Any) -> None:
    page.goto("/inspections/tablet")
    page.wait_for_selector("body[data-ready=true]")


def stored_photo(page: Any, uuid: str, name: str) -> bytes:
    """The bytes of a photo as the tablet keeps them in IndexedDB."""
    numbers = page.evaluate("""async ([uuid, name]) => {
        const photo = await TabletCore.get('photos', uuid + '/' + name);
        return Array.from(new Uint8Array(photo.data));
    }""", [uuid, name])
    return bytes(numbers)


def api_get(server: LiveServer, path: str) -> Any:
    """GET on the JSON API as an administrator (a token made through the use case)."""
    with transaction(server.app.config["DATABASE_URL"]) as session:
        if session.scalar(select(m.User.id).where(m.User.username == "api-admin")) is None:
            from attendance.accounts import add_user
            add_user(session, "api-admin", "admin", [], None, actor="test")
        token = issue_token(session, "api-admin", "test", actor="test")
    request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def stored_rows(server: LiveServer) -> dict[str, Any]:
    """What the database holds of spot checks besides the demo's: records, versions, attachments (with bytes)."""
    with transaction(server.app.config["DATABASE_URL"]) as session:
        ours = select(SpotCheck.id).where(SpotCheck.uuid.not_in(DEMO_CHECKS))
        attachments = [(a.name, a.sha256, a.content) for a in session.scalars(
            select(Attachment).where(Attachment.spot_check_id.in_(ours)))]
        return {"checks": session.scalar(select(func.count()).select_from(SpotCheck).where(SpotCheck.id.in_(ours))),
                "versions": session.scalar(select(func.count()).select_from(SpotCheckVersion).where(
                    SpotCheckVersion.spot_check_id.in_(ours))),
                "attachments": attachments,
                "audit": sorted(session.scalars(select(m.AuditLog.action).where(
                    m.AuditLog.entity == "spot_check", m.AuditLog.entity_key.not_in(DEMO_CHECKS))).all())}


def start_check(page: Any) -> str:
    """From the list of spot checks: Start on the loaded unit; the new check's UUID."""
    page.locator(".main-tabs .tab[data-view=checks]").click()
    page.get_by_role("button", name="Bắt đầu", exact=True).click()
    page.wait_for_selector("#view-editor:not([hidden])")
    return str(page.evaluate("() => TabletCore.setting('openCheck')"))


def load_unit(page: Any) -> None:
    page.locator("#unit-select").select_option(UNIT)
    page.get_by_role("button", name="Tải về máy").click()
    page.wait_for_selector("#load-message.ok")


@pytest.mark.parametrize("viewport", ["tablet", "tablet-landscape"])
def test_a_spot_check_recorded_offline_arrives_once_with_its_photo(
        camera_browser: Any, server: LiveServer, signed_in: Callable[..., str], viewport: str) -> None:
    context = tablet_context(camera_browser, server, viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.clock.set_fixed_time(CHECK_TIME)
    username = signed_in(page, *INSPECTOR)
    open_tablet(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the page is cached from now on
    page.wait_for_selector(f"#unit-select option[value='{UNIT}']", state="attached")
    assert page.locator("#key-state").inner_text() == f"Máy tính bảng này gửi dưới tên {username}"
    assert page.locator("#unit-date").input_value() == "2026-10-06"
    load_unit(page)
    assert "UBND xã Tân Kỳ" in page.locator("#loaded-units").inner_text()
    shoot(page, "tablet-load", viewport)

    context.set_offline(True)
    page.wait_for_selector("#net-state.offline")
    uuid = start_check(page)
    page.locator("#f-lead").fill("lead1")
    page.locator("#f-legal").fill("Kế hoạch 15/KH-UBND")
    page.get_by_role("button", name="Ghi vị trí").click()
    page.wait_for_function("() => document.getElementById('f-gps').textContent.includes('19.04120')")
    shoot(page, "tablet-record", viewport)

    page.locator(".editor-tabs .tab[data-pane=headcount]").click()
    people = page.locator("#headcount-list li.person")
    count = people.count()
    assert count >= 3
    for i in range(count):
        people.nth(i).locator("[data-action=cycle]").click()  # one tap: present
    people.nth(1).locator("[data-action=cycle]").click()  # a second tap: late
    people.nth(1).locator("input[data-field=arrived_at]").fill("08:40")
    people.nth(2).locator("select.status-choose").select_option("absent_excused")
    people.nth(2).locator("input[data-field=reference]").fill("12/QĐ-UBND")
    assert page.locator("#headcount-progress").inner_text() == f"Đã đánh dấu {count}/{count}"
    shoot(page, "tablet-headcount", viewport)

    page.locator(".editor-tabs .tab[data-pane=checklist]").click()
    page.locator("li[data-item=hotline_posted] .result-pass").click()
    page.locator("li[data-item=tidy] .result-fail").click()
    page.locator("li[data-item=tidy] input.note").fill("Hành lang bừa bộn")
    first_badge = page.locator("#checklist-person tbody tr").first.locator("button.cell").first
    first_badge.click()
    first_badge.click()  # not recorded -> pass -> fail
    shoot(page, "tablet-checklist", viewport)

    page.locator(".editor-tabs .tab[data-pane=photos]").click()
    page.get_by_role("button", name="Mở máy ảnh").click()
    page.wait_for_function("() => document.getElementById('camera-view').videoWidth > 0")
    page.get_by_role("button", name="Chụp ảnh").click()
    page.wait_for_selector("#photo-list li.photo img[src^='blob:']")
    shoot(page, "tablet-photos", viewport)

    # Offline, the reload is answered by the service worker and the check comes back from IndexedDB.
    answer = page.reload()
    assert answer is not None and answer.from_service_worker
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#editor-title").inner_text().startswith("UBND xã Tân Kỳ")
    page.locator(".editor-tabs .tab[data-pane=headcount]").click()
    assert page.locator("#headcount-progress").inner_text() == f"Đã đánh dấu {count}/{count}"
    assert page.locator("#headcount-list li.person").nth(2).locator("input[data-field=reference]").input_value() \
        == "12/QĐ-UBND"
    assert page.locator("#photos-count").inner_text() == "(1)"

    page.clock.set_fixed_time(END_TIME)
    page.locator(".editor-tabs .tab[data-pane=send]").click()
    page.get_by_role("button", name="Kết thúc và gửi").click()
    page.wait_for_selector("#editor-status.status-queued")
    assert page.locator("#editor-status").inner_text() == "Đang chờ có mạng"
    assert stored_rows(server)["checks"] == 0  # nothing left the tablet yet
    shoot(page, "tablet-queue", viewport)

    context.set_offline(False)
    page.wait_for_selector("#editor-status.status-server", timeout=30_000)
    assert page.locator("#editor-status").inner_text() == "Đã lên máy chủ (đã nộp)"
    shoot(page, "tablet-sent", viewport)

    photo = stored_photo(page, uuid, "photo-001.jpg")
    assert photo[:2] == b"\xff\xd8"  # a JPEG made on the tablet
    rows = stored_rows(server)
    assert rows["checks"] == 1 and rows["versions"] == 1
    assert rows["attachments"] == [("photo-001.jpg", hashlib.sha256(photo).hexdigest(), photo)]
    listed = api_get(server, "/api/v1/spot-checks?unit=17830&month=2026-10")
    assert [entry["uuid"] for entry in listed if entry["uuid"] not in DEMO_CHECKS] == [uuid]
    record = api_get(server, f"/api/v1/spot-checks/{uuid}")
    assert record["state"] == "submitted" and record["version"] == 1 and record["missing_attachments"] == []
    content = record["content"]
    assert content["started_at"] == "2026-10-06T08:05:00" and content["ended_at"] == "2026-10-06T08:50:00"
    assert content["team"] == [username] and content["lead"] == "lead1"
    assert content["gps"] == {"lat": 19.0412, "lon": 105.1034, "accuracy_m": 12}
    statuses = [line["status"] for line in content["headcount"]]
    assert statuses[:3] == ["present", "late", "absent_excused"] and set(statuses[3:]) <= {"present"}
    assert content["headcount"][1]["arrived_at"] == "2026-10-06T08:40:00"
    assert content["headcount"][2]["reference"] == "12/QĐ-UBND"
    assert {(f["item"], f.get("staff"), f["result"]) for f in content["findings"]} == {
        ("hotline_posted", None, "pass"), ("tidy", None, "fail"),
        ("badge_worn", content["headcount"][0]["staff"], "fail")}
    assert content["attachments"] == [{"name": "photo-001.jpg", "sha256": hashlib.sha256(photo).hexdigest(),
                                       "size": len(photo), "content_type": "image/jpeg"}]
    with Image(photo) as size:
        assert max(size) <= 1600
    assert errors == []
    context.close()


class Image:
    """The pixel size of a JPEG (Pillow), as a context manager for brevity."""

    def __init__(self, data: bytes):
        from PIL import Image as PILImage

        self.image = PILImage.open(BytesIO(data))

    def __enter__(self) -> tuple[int, int]:
        return self.image.size  # type: ignore[no-any-return]

    def __exit__(self, *_exc: object) -> None:
        self.image.close()


def test_lost_answers_and_a_replayed_queue_do_not_duplicate(
        camera_browser: Any, server: LiveServer, signed_in: Callable[..., str], tmp_path: Path) -> None:
    # Request interception and service workers do not mix: this test runs without the worker.
    context = tablet_context(camera_browser, server, "tablet", service_workers="block")
    page = context.new_page()
    page.clock.set_fixed_time(CHECK_TIME)
    signed_in(page, *INSPECTOR)
    open_tablet(page)
    page.wait_for_selector(f"#unit-select option[value='{UNIT}']", state="attached")
    load_unit(page)
    uuid = start_check(page)
    page.locator("#f-lead").fill("lead1")
    page.locator(".editor-tabs .tab[data-pane=headcount]").click()
    people = page.locator("#headcount-list li.person")
    for i in range(people.count()):
        people.nth(i).locator("[data-action=cycle]").click()
    # This time the photo comes from the tablet's camera app (the file input).
    from PIL import Image as PILImage

    picture = tmp_path / "camera.jpg"
    PILImage.new("RGB", (3200, 2400), (120, 160, 90)).save(picture, "JPEG")
    page.locator(".editor-tabs .tab[data-pane=photos]").click()
    page.locator("#photo-file").set_input_files(str(picture))
    page.wait_for_selector("#photo-list li.photo")

    # The server does its work, but the tablet never hears the answer (once for each kind of call).
    lost: list[str] = []

    def lose_answer(route: Any) -> None:
        request = route.request
        kind = f"{request.method} {request.url.rsplit('/', 1)[-1] if 'attachments' in request.url or 'submit' in request.url else 'content'}"
        if request.method == "GET" or kind in lost:
            route.continue_()
            return
        lost.append(kind)
        route.fetch()  # reaches the server ...
        route.abort("connectionreset")  # ... and the answer is lost on the way back

    page.route(f"**/api/v1/spot-checks/{uuid}**", lose_answer)
    page.locator(".editor-tabs .tab[data-pane=send]").click()
    page.get_by_role("button", name="Kết thúc và gửi").click()
    for _attempt in range(6):
        if page.locator("#editor-status.status-server").count():
            break
        page.wait_for_function("() => !document.getElementById('editor-status').classList.contains('status-sending')")
        page.locator(".main-tabs .tab[data-view=checks]").click()
        page.get_by_role("button", name="Gửi ngay").click()
        page.wait_for_timeout(300)
        page.locator(f"#check-list li[data-uuid='{uuid}'] button").click()
    page.wait_for_selector("#editor-status.status-server")
    assert lost == ["PUT content", "PUT photo-001.jpg", "POST submit"]

    # The whole queue once more, as after a crash between sending and noting it: all replays.
    page.evaluate("""async (uuid) => {
        await TabletCore.update(uuid, c => { c.queued = true; c.sync = {state: 'queued'}; });
        await TabletCore.sendAll();
    }""", uuid)
    page.wait_for_function("uuid => TabletCore.get('checks', uuid).then(c => c.sync.state === 'server')", arg=uuid)
    rows = stored_rows(server)
    photo = stored_photo(page, uuid, "photo-001.jpg")
    assert rows["checks"] == 1 and rows["versions"] == 1
    assert rows["attachments"] == [("photo-001.jpg", hashlib.sha256(photo).hexdigest(), photo)]
    with Image(photo) as size:
        assert size == (1600, 1200)  # resized on the tablet, proportions kept
    # One creation, one attachment, one submission in the audit log: the replays changed nothing.
    assert len(rows["audit"]) == 3, rows["audit"]
    context.close()
