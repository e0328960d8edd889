"""What the administration screens read: staff in scope, one terminal in detail, schedules, audit changes.

Plain functions taking a Session (no Flask). Scopes are those of ``accounts.scope_unit_codes``
(None: every unit); the callers check the record-level guards (``require_*``) first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import models as m
from .api import StaffInfo, UnitInfo, unit_tree
from .batches import BatchInfo, list_batches
from .enrollments import WaitingUserId, unit_enrollments, waiting_user_ids
from .errors import InvalidInput, UnknownDevice
from .health import DeviceHealth, device_health
from .i18n import _
from .names import sort_by_name

MAX_SEARCH = 100  # characters of a staff search: a code or a name, not a document
PULL_HISTORY = 50  # pulls shown on a terminal's page (the newest)
BATCH_HISTORY = 50


def _top_units(tree: list[UnitInfo], scope: frozenset[str] | None) -> list[str]:
    """The units in scope whose parent is not in scope: their subtrees together are the scope."""
    inside = [u for u in tree if scope is None or u.code in scope]
    codes = {u.code for u in inside}
    return [u.code for u in inside if u.parent_code not in codes]


def scope_units(session: Session, scope: frozenset[str] | None) -> list[UnitInfo]:
    """The units of a scope, depth first (for unit filters)."""
    return [u for u in unit_tree(session) if scope is None or u.code in scope]


def staff_in_scope(session: Session, scope: frozenset[str] | None, on: dt.date, unit_code: str | None = None,
                   search: str | None = None) -> list[StaffInfo]:
    """People assigned on ``on`` to the units of the scope (or of one unit in it), in Vietnamese name order.

    ``search`` matches the code or any part of the name, ignoring case.
    """
    text = (search or "").strip()
    if len(text) > MAX_SEARCH:
        raise InvalidInput(_("search: at most {n} characters", n=MAX_SEARCH))
    roots = [unit_code] if unit_code else _top_units(unit_tree(session), scope)
    people: dict[str, StaffInfo] = {}
    for root in roots:
        for person in unit_enrollments(session, root, on):
            people.setdefault(person.code, person)
    needle = text.casefold()
    found = [p for p in people.values() if not needle or needle in p.code.casefold() or needle in p.name.casefold()]
    return sort_by_name(found, lambda p: p.name)


def waiting_in_scope(session: Session, scope: frozenset[str] | None) -> list[WaitingUserId]:
    """Device user ids with punches but no enrollment on the terminals of the scope."""
    if scope is None:
        return waiting_user_ids(session)
    seen: dict[tuple[str, str], WaitingUserId] = {}
    for root in _top_units(unit_tree(session), scope):
        for row in waiting_user_ids(session, root):
            seen.setdefault((row.device, row.user_id), row)
    return [seen[key] for key in sorted(seen)]


def devices_in_scope(session: Session, scope: frozenset[str] | None) -> list[tuple[str, str]]:
    """(code, name) of the terminals of the scope's units (admin: every terminal), by code."""
    rows = session.execute(select(m.Device.code, m.Device.name, m.Unit.code)
                           .outerjoin(m.Unit, m.Unit.id == m.Device.unit_id).order_by(m.Device.code))
    return [(code, name) for code, name, unit in rows if scope is None or unit in scope]


@dataclass(frozen=True)
class PullRow:
    """One pull of a terminal as the page shows it."""

    started: dt.datetime
    ok: bool
    records_read: int
    inserted: int
    duplicates: int
    rejected: int
    skew_seconds: int | None
    duration_ms: int
    log_used: int | None
    log_capacity: int | None
    cleared: bool
    batch_id: int | None
    error: str


@dataclass(frozen=True)
class DeviceDetail:
    """One terminal: what it is, its health, its recent pulls and batches, its clock offsets."""

    code: str
    name: str
    kind: str
    unit_code: str | None
    unit_name: str | None
    serial: str | None
    settings: dict[str, Any]
    health: DeviceHealth
    pulls: list[PullRow]
    batches: list[BatchInfo]  # newest first
    clock_offsets: list[tuple[dt.date, int]]  # (valid from, seconds), oldest first
    enrolled: int


# Settings that are secrets of the terminal: never shown on a page.
SECRET_SETTINGS = frozenset({"comm_key", "password"})


def device_detail(session: Session, device_code: str) -> DeviceDetail:
    """The terminal ``device_code`` in detail (UnknownDevice if there is none)."""
    device = session.scalar(select(m.Device).where(m.Device.code == device_code))
    if device is None:
        raise UnknownDevice(_("no device {code!r}", code=device_code[:40]))
    unit = session.get(m.Unit, device.unit_id) if device.unit_id is not None else None
    health = next(h for h in device_health(session) if h.device == device.code)
    pulls = [PullRow(p.started_at, p.ok, p.records_read, p.inserted, p.duplicates, p.rejected, p.skew_seconds,
                     p.duration_ms, p.log_used, p.log_capacity, p.cleared, p.batch_id, p.error)
             for p in session.scalars(select(m.PullLog).where(m.PullLog.device_id == device.id)
                                      .order_by(m.PullLog.started_at.desc(), m.PullLog.id.desc()).limit(PULL_HISTORY))]
    offsets = [(o.valid_from, o.seconds) for o in session.scalars(
        select(m.DeviceClockOffset).where(m.DeviceClockOffset.device_id == device.id)
        .order_by(m.DeviceClockOffset.valid_from))]
    enrolled = session.scalar(select(func.count()).select_from(m.Enrollment).where(m.Enrollment.device_id == device.id))
    settings = {k: v for k, v in (device.settings or {}).items() if k not in SECRET_SETTINGS}
    return DeviceDetail(device.code, device.name, device.kind, unit.code if unit else None, unit.name if unit else None,
                        device.serial, settings, health, pulls,
                        list(reversed(list_batches(session, device.code, limit=BATCH_HISTORY))), offsets, int(enrolled or 0))


@dataclass(frozen=True)
class ScheduleView:
    """One schedule version with the units of the reader's scope it is attached to."""

    code: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    weekdays: list[str]
    sessions: list[list[str]]
    grace_late_minutes: int
    grace_early_minutes: int
    checkin_window_before_minutes: int
    checkout_window_after_minutes: int
    punch_policy: str
    units: list[tuple[str, str]]  # (code, name) attached and visible to the reader
    inherited: bool  # attached above the reader's scope: applies to it from a higher unit


def schedules_in_scope(session: Session, scope: frozenset[str] | None) -> list[ScheduleView]:
    """Schedules that apply to some unit of the scope (attached to it or to a unit above it), by code."""
    units = {u.id: u for u in session.scalars(select(m.Unit))}
    above: set[int] = set()  # the scope's units and every unit above them
    for unit in units.values():
        if scope is None or unit.code in scope:
            current: m.Unit | None = unit
            while current is not None and current.id not in above:
                above.add(current.id)
                current = units.get(current.parent_id) if current.parent_id is not None else None
    attached: dict[int, list[int]] = {}
    for schedule_id, unit_id in session.execute(select(m.ScheduleUnit.schedule_id, m.ScheduleUnit.unit_id)):
        attached.setdefault(schedule_id, []).append(unit_id)
    out = []
    for s in session.scalars(select(m.Schedule).order_by(m.Schedule.code)):
        ids = attached.get(s.id, [])
        if scope is not None and not any(i in above for i in ids):
            continue
        visible = sorted((units[i].code, units[i].name) for i in ids if scope is None or units[i].code in scope)
        out.append(ScheduleView(s.code, s.valid_from, s.valid_to, list(s.weekdays or []),
                                [list(x) for x in s.sessions or []], s.grace_late_minutes, s.grace_early_minutes,
                                s.checkin_window_before_minutes, s.checkout_window_after_minutes, s.punch_policy,
                                visible, bool(ids) and not visible))
    return out


@dataclass(frozen=True)
class Change:
    """One field of an audit row: its old and new value, or a plain fact (a reason, a count)."""

    field: str
    old: Any
    new: Any
    is_change: bool


def describe_changes(changes: dict[str, Any]) -> list[Change]:
    """The fields of an audit row's ``changes`` in their stored order: [old, new] pairs as changes."""
    out = []
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            out.append(Change(field, value[0], value[1], True))
        else:
            out.append(Change(field, None, value, False))
    return out


def audit_entities(session: Session) -> list[str]:
    """The entity names the audit log holds (for its filter)."""
    return list(session.scalars(select(m.AuditLog.entity).distinct().order_by(m.AuditLog.entity)))


def person_enrollments(session: Session, staff_code: str) -> list[tuple[str, str, str]]:
    """(device code, device name, user id) of every enrollment of a person, by device and user id."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(m.Device.code, m.Device.name, m.Enrollment.user_id)
        .join(m.Device, m.Device.id == m.Enrollment.device_id).join(m.Staff, m.Staff.id == m.Enrollment.staff_id)
        .where(m.Staff.code == staff_code).order_by(m.Device.code, m.Enrollment.user_id))]
