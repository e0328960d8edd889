"""What the browser tests share besides fixtures: launch settings, viewports, page checks."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"

#: Debian's Chromium (apt-get install chromium); Playwright never downloads a browser here.
CHROMIUM = Path(os.environ.get("ATTENDANCE_CHROMIUM", "/usr/bin/chromium"))

#: The machine has no network: without these, Chromium's startup waits on background
#: services (updates, sync, QUIC probes) before it answers Playwright. --no-sandbox because
#: tests run as root in CI, where Chromium's sandbox refuses to start.
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

#: Screen sizes the pages must work on: an office desktop and a 10-inch tablet both ways.
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "tablet": {"viewport": {"width": 800, "height": 1280}, "is_mobile": True, "has_touch": True},
    "tablet-landscape": {"viewport": {"width": 1280, "height": 800}, "is_mobile": True, "has_touch": True},
}

#: The demo data's month (attendance/demo_data): the default month of the pages.
DEMO_MONTH = "2026-10"

#: A terminal that called in unannounced, at a fixed time so the screenshots do not change.
PENDING_SERIAL = "CQZ7243560123"
PENDING_SEEN = dt.datetime(2026, 10, 30, 7, 42, 5)

def horizontal_overflow(page: Any) -> dict[str, Any]:
    """How far the document is wider than the window, and the widest elements sticking out."""
    return page.evaluate("""() => {
        const width = window.innerWidth;
        const wide = [];
        for (const el of document.body.querySelectorAll('*')) {
            const right = el.getBoundingClientRect().right;
            if (right > width + 0.5) wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
                + `${el.className ? '.' + String(el.className).replace(/ /g, '.') : ''} right=${Math.round(right)}`);
        }
        return {excess: document.documentElement.scrollWidth - width, wide: wide.slice(0, 5)};
    }""")


def cells_spilling_over(page: Any) -> list[str]:
    """Table cells whose text runs out of the cell over its neighbours (a table that looks broken)."""
    return page.evaluate("""() => {
        const spilled = [];
        for (const cell of document.querySelectorAll('td, th')) {
            if (cell.scrollWidth > cell.clientWidth + 1) spilled.push(
                `${cell.tagName.toLowerCase()}${cell.className ? '.' + cell.className : ''}: ${cell.innerText.slice(0, 40)}`);
        }
        return spilled.slice(0, 5);
    }""")
