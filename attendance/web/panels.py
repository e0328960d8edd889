"""Panels other packages add to attendance pages, without attendance importing them.

A person's day page shows, below its own content, the HTML each registered day panel
renders (spot checks register one to show what inspectors saw that day). Panels are kept
per application, so two apps in one process (tests) never share them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask, current_app
from markupsafe import Markup

#: (staff code, day) -> rendered HTML, or None when the panel has nothing to show that day.
DayPanel = Callable[[str, dt.date], "Markup | str | None"]
KEY = "attendance_day_panels"


def register_day_panel(app: Flask, panel: DayPanel) -> None:
    """Show ``panel``'s HTML on every person's day page of ``app`` (in the order registered)."""
    app.extensions.setdefault(KEY, []).append(panel)


def day_panels(staff_code: str, day: dt.date) -> list[Markup]:
    """The HTML of every registered day panel that has something to show for that person and day."""
    out = []
    for panel in current_app.extensions.get(KEY, []):
        html = panel(staff_code, day)
        if html:
            # Panels render through Jinja templates (autoescaped): their output is HTML already.
            out.append(Markup(html))
    return out
