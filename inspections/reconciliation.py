"""Reconciliation of a headcount with the punch ledger: a pure function on plain data.

``reconcile(headcount_at, observations, punches, windows, resolutions) -> list[dict]``

- ``observations``: what the inspectors saw (``Observation``), one per person;
- ``punches``: each person's punches after clock correction (``Punch``), voided batches left out;
- ``windows``: each person's session windows that day, ``(opens, closes)`` with ``closes``
  exclusive, as the rules engine computes them (``attendance.api.session_windows``);
- ``resolutions``: ``{(staff, kind): Resolution}`` already recorded.

The session is the window containing ``headcount_at``. Decided here: before the first
window or after the last one of a working day, the nearest window is the session (an
inspector at 06:30 checks the morning); on a day without sessions (day off, holiday, no
schedule) the whole calendar day of ``headcount_at`` is the session, so that a person
marked present on a Sunday without any punch that day is still listed.

Kinds: ``present_without_punch`` (present or late, no punch in the session),
``absent_with_punch`` (absent_unexcused or absent_unverified, a punch in the session at or
before ``headcount_at``), ``excused_with_punch`` (absent_excused, any punch in the session).
``left_early`` is never a mismatch: the person was there and left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("present_without_punch", "absent_with_punch", "excused_with_punch")
Window = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Observation:
    """One headcount line."""

    staff: str
    status: str
    note: str | None = None
    reference: str | None = None
    arrived_at: dt.datetime | None = None


@dataclass(frozen=True)
class Punch:
    """One punch: the corrected local time, the terminal and its raw time."""

    time: dt.datetime
    device: str
    device_time: dt.datetime | None = None


@dataclass(frozen=True)
class Resolution:
    """How a person resolved a mismatch."""

    note: str
    by: str
    at: dt.datetime


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def session_of(headcount_at: dt.datetime, windows: Sequence[Window]) -> Window:
    """The window containing ``headcount_at``, else the nearest one, else the calendar day."""
    if not windows:
        midnight = dt.datetime.combine(headcount_at.date(), dt.time())
        return midnight, midnight + dt.timedelta(days=1)
    for opens, closes in windows:
        if opens <= headcount_at < closes:
            return opens, closes

    def distance(window: Window) -> dt.timedelta:
        opens, closes = window
        return opens - headcount_at if headcount_at < opens else headcount_at - closes

    return min(windows, key=distance)


def kind_of(status: str, headcount_at: dt.datetime, session: Window, times: Sequence[dt.datetime]) -> str | None:
    """The mismatch kind of one observation given the punch times in its session, or None."""
    opens, closes = session
    inside = [t for t in times if opens <= t < closes]
    if status in ("present", "late") and not inside:
        return "present_without_punch"
    if status in ("absent_unexcused", "absent_unverified") and any(t <= headcount_at for t in inside):
        return "absent_with_punch"
    if status == "absent_excused" and inside:
        return "excused_with_punch"
    return None


def reconcile(headcount_at: dt.datetime, observations: Sequence[Observation],
              punches: Mapping[str, Sequence[Punch]], windows: Mapping[str, Sequence[Window]],
              resolutions: Mapping[tuple[str, str], Resolution] | None = None) -> list[dict[str, Any]]:
    """The mismatches, in the order of the observations, each with both sides' evidence."""
    resolutions = resolutions or {}
    out: list[dict[str, Any]] = []
    for seen in observations:
        session = session_of(headcount_at, windows.get(seen.staff, ()))
        opens, closes = session
        mine = sorted((p for p in punches.get(seen.staff, ()) if opens <= p.time < closes),
                      key=lambda p: (p.time, p.device))
        kind = kind_of(seen.status, headcount_at, session, [p.time for p in mine])
        if kind is None:
            continue
        resolution = resolutions.get((seen.staff, kind))
        out.append({
            "staff": seen.staff,
            "kind": kind,
            "observed": {"status": seen.status, "note": seen.note, "reference": seen.reference,
                         "arrived_at": _iso(seen.arrived_at)},
            "session": {"opens": _iso(opens), "closes": _iso(closes)},
            "punches": [{"time": _iso(p.time), "device": p.device, "device_time": _iso(p.device_time)}
                        for p in mine],
            "resolution": None if resolution is None else {
                "note": resolution.note, "by": resolution.by, "at": _iso(resolution.at)},
        })
    return out
