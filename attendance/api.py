"""The public interface of the attendance package, for the spot-check and report packages.

Each function takes an open ``Session`` (the caller owns the transaction), and takes and
returns plain data: codes, dates, dataclasses and dicts, never models or DataFrames.
Errors are those of ``attendance.errors`` (``UnknownUnit``, ``UnknownStaff``,
``InvalidInput``). Punches of voided batches are never returned or counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from . import models as m
from .batches import live_punch
from .errors import InvalidInput, UnknownStaff, UnknownUnit
from .i18n import _
from .names import name_sort_key, sort_by_name

if TYPE_CHECKING:
    from .audit import AuditPage
    from .enrollments import WaitingUserId
    from .excuses import ExcuseRecord
    from .month_views import MonthCounts, MonthGrid, PersonMonth

__all__ = [
    "Base", "ExcuseInfo", "PunchInfo", "SessionWindow", "StaffInfo", "UnitInfo", "check_alert_thresholds",
    "excuse_records", "excuses", "explain_day", "has_photo", "month_has_punches", "monthly_summary",
    "name_sort_key", "period_summary", "person_month", "punches_around", "search_audit", "service_setting",
    "session_windows", "sort_by_name", "staff_member", "staff_names", "staff_of_unit", "staff_photo_url", "staff_photo_urls",
    "summary_headings", "unit_month_counts", "unit_month_grid", "unit_subtree", "unit_tree", "waiting_user_ids",
]

# The declarative base, re-exported so that other packages' tables (spot checks) join the one
# metadata, the one Alembic chain and the one schema without importing attendance internals.
Base = m.Base

#: The longest span ``punches_around`` looks at: it answers "what happened near this moment".
MAX_AROUND = dt.timedelta(days=31)


@dataclass(frozen=True)
class UnitInfo:
    """A unit of the tree; ``depth`` counts from the root of the walk (0)."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int


@dataclass(frozen=True)
class StaffInfo:
    """A staff member on a date: the unit they belong to then, and their terminal enrollments."""

    code: str
    name: str
    position: str
    unit_code: str
    unit_name: str
    employed_from: dt.date | None
    employed_to: dt.date | None
    enrollments: tuple[tuple[str, str], ...]  # (device code, device user id), sorted


@dataclass(frozen=True)
class ExcuseInfo:
    """Leave, business trip, ...: the half-open local interval [start, end) with its reference."""

    kind: str
    start: dt.datetime
    end: dt.datetime
    reference: str


@dataclass(frozen=True)
class PunchInfo:
    """One punch as stored: the terminal's raw time and the corrected local time."""

    device: str
    user_id: str
    device_time: dt.datetime
    corrected_time: dt.datetime  # device time minus the terminal's clock offset
    status: int | None
    verify: int | None
    batch: int


@dataclass(frozen=True)
class SessionWindow:
    """One session of a person's working day and the span in which the engine counts its punches.

    ``opens`` is inclusive and ``closes`` exclusive (local time, whole minutes): the windows of
    a day tile [S1 − checkin_window_before, En + checkout_window_after] without gaps.
    """

    session_no: int
    start: dt.datetime
    end: dt.datetime
    opens: dt.datetime
    closes: dt.datetime


def _walk(session: Session, root_code: str | None) -> list[UnitInfo]:
    """The one walk of the unit tree: depth first, children by code, from one root or all."""
    rows = session.execute(select(m.Unit.id, m.Unit.code, m.Unit.name, m.Unit.kind, m.Unit.parent_id)
                           .order_by(m.Unit.code)).all()
    by_id = {r.id: r for r in rows}
    children: dict[int | None, list[Any]] = {}
    for r in rows:
        # A parent that does not exist makes a root, so no unit is ever lost from the tree.
        children.setdefault(r.parent_id if r.parent_id in by_id else None, []).append(r)
    if root_code is None:
        starts = children.get(None, [])
    else:
        starts = [r for r in rows if r.code == root_code]
        if not starts:
            raise UnknownUnit(_("no unit {code!r}", code=root_code))
    out: list[UnitInfo] = []
    seen: set[int] = set()
    stack = [(r, 0) for r in reversed(starts)]
    while stack:  # explicit stack: a deep or cyclic tree in bad data cannot blow the recursion limit
        row, depth = stack.pop()
        if row.id in seen:
            continue
        seen.add(row.id)
        parent = by_id.get(row.parent_id)
        out.append(UnitInfo(row.code, row.name, row.kind, parent.code if parent else None, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(row.id, [])))
    return out


def unit_tree(session: Session) -> list[UnitInfo]:
    """Every unit, depth first from the roots: each unit is followed by the units under it."""
    return _walk(session, None)


def unit_subtree(session: Session, unit_code: str) -> list[UnitInfo]:
    """The unit and every unit under it, depth first (the unit itself first, depth 0)."""
    return _walk(session, unit_code)


def _staff_id(session: Session, staff_code: str) -> int:
    staff_id = session.scalar(select(m.Staff.id).where(m.Staff.code == staff_code))
    if staff_id is None:
        raise UnknownStaff(_("no staff member {code!r}", code=staff_code))
    return staff_id


def staff_of_unit(session: Session, unit_code: str, on: dt.date) -> list[StaffInfo]:
    """People assigned on ``on`` to the unit or a unit under it, and employed that day, by code."""
    codes = {u.code for u in unit_subtree(session, unit_code)}
    units = {u.id: u for u in session.scalars(select(m.Unit))}
    valid = and_((m.StaffAssignment.valid_from.is_(None)) | (m.StaffAssignment.valid_from <= on),
                 (m.StaffAssignment.valid_to.is_(None)) | (m.StaffAssignment.valid_to >= on))
    unit_of: dict[int, tuple[dt.date, int]] = {}
    for staff_id, unit_id, valid_from in session.execute(
        select(m.StaffAssignment.staff_id, m.StaffAssignment.unit_id, m.StaffAssignment.valid_from).where(valid)
    ):
        # Overlapping assignments: the latest start wins, as in the rules engine.
        key = (valid_from or dt.date.min, unit_id)
        if staff_id not in unit_of or key[0] >= unit_of[staff_id][0]:
            unit_of[staff_id] = key
    members = {s: u for s, (_start, u) in unit_of.items() if units[u].code in codes}
    if not members:
        return []
    employed = and_((m.Staff.employed_from.is_(None)) | (m.Staff.employed_from <= on),
                    (m.Staff.employed_to.is_(None)) | (m.Staff.employed_to >= on))
    people = session.scalars(select(m.Staff).where(m.Staff.id.in_(list(members)), employed).order_by(m.Staff.code)).all()
    enrolled: dict[int, list[tuple[str, str]]] = {}
    for staff_id, device, user_id in session.execute(
        select(m.Enrollment.staff_id, m.Device.code, m.Enrollment.user_id)
        .join(m.Device, m.Device.id == m.Enrollment.device_id).where(m.Enrollment.staff_id.in_(list(members)))
    ):
        enrolled.setdefault(staff_id, []).append((device, user_id))
    return [
        StaffInfo(p.code, p.name, p.position, units[members[p.id]].code, units[members[p.id]].name,
                  p.employed_from, p.employed_to, tuple(sorted(enrolled.get(p.id, []))))
        for p in people
    ]


def staff_member(session: Session, staff_code: str, on: dt.date) -> StaffInfo:
    """One person and the unit they belonged to on ``on`` (UnknownStaff when there is no such person).

    Not assigned that day: the assignment that started last before it (else the first one after),
    so a decision dated just after a transfer or the end of employment still names a unit.
    """
    person = session.scalar(select(m.Staff).where(m.Staff.code == staff_code))
    if person is None:
        raise UnknownStaff(_("no staff member {code!r}", code=staff_code[:40]))
    rows = session.execute(select(m.StaffAssignment.valid_from, m.StaffAssignment.valid_to, m.Unit.code, m.Unit.name)
                           .join(m.Unit, m.Unit.id == m.StaffAssignment.unit_id)
                           .where(m.StaffAssignment.staff_id == person.id)).all()
    if not rows:
        raise UnknownStaff(_("staff member {code!r} belongs to no unit", code=staff_code[:40]))

    def rank(row: Any) -> tuple[int, int]:
        start, end = row.valid_from or dt.date.min, row.valid_to or dt.date.max
        if start <= on <= end:
            return (0, -start.toordinal())  # overlapping assignments: the latest start wins
        return (1, -start.toordinal()) if start <= on else (2, start.toordinal())

    unit = min(rows, key=rank)
    enrolled = session.execute(select(m.Device.code, m.Enrollment.user_id)
                               .join(m.Device, m.Device.id == m.Enrollment.device_id)
                               .where(m.Enrollment.staff_id == person.id)).all()
    return StaffInfo(person.code, person.name, person.position, unit.code, unit.name, person.employed_from,
                     person.employed_to, tuple(sorted((d, u) for d, u in enrolled)))


def excuses(session: Session, staff_code: str, first: dt.date, last: dt.date) -> list[ExcuseInfo]:
    """One person's live excuses that overlap the days ``first`` to ``last`` (inclusive), by start.

    Withdrawn excuses count for nothing and are left out (``excuses.list_excuses`` shows them).
    """
    if last < first:
        raise InvalidInput(_("excuses: last day {last} is before first day {first}", last=last, first=first))
    staff_id = _staff_id(session, staff_code)
    low = dt.datetime.combine(first, dt.time())
    high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    rows = session.scalars(select(m.Excuse).where(m.Excuse.staff_id == staff_id, m.Excuse.end > low,
                                                  m.Excuse.start < high, m.Excuse.withdrawn_at.is_(None))
                          .order_by(m.Excuse.start, m.Excuse.id))
    return [ExcuseInfo(e.kind, e.start, e.end, e.reference) for e in rows]


def punches_around(
    session: Session, staff_code: str, moment: dt.datetime, before: dt.timedelta, after: dt.timedelta
) -> list[PunchInfo]:
    """A person's punches, every terminal merged, with corrected time in [moment − before, moment + after].

    A moment outside the plausible years (widened by one) is refused: InvalidInput.
    """
    from .loader import check_period, device_time_bounds

    check_period(moment.date(), moment.date())  # no punch is dated 9999 or 0001; no day arithmetic there
    if before < dt.timedelta(0) or after < dt.timedelta(0):
        raise InvalidInput(_("punches_around: before and after must not be negative"))
    if before + after > MAX_AROUND:
        raise InvalidInput(_("punches_around: at most {days} days around a moment", days=MAX_AROUND.days))
    staff_id = _staff_id(session, staff_code)
    low, high = moment - before, moment + after
    dev_low, dev_high = device_time_bounds(session, low, high + dt.timedelta(seconds=1))
    rows = session.execute(
        select(m.Device.code, m.Punch.user_id, m.Punch.device_time, m.Punch.corrected_time, m.Punch.status,
               m.Punch.verify, m.Punch.batch_id)
        .join(m.Enrollment, and_(m.Enrollment.device_id == m.Punch.device_id, m.Enrollment.user_id == m.Punch.user_id))
        .join(m.Device, m.Device.id == m.Punch.device_id)
        .where(m.Enrollment.staff_id == staff_id, m.Punch.device_time >= dev_low, m.Punch.device_time < dev_high,
               m.Punch.corrected_time >= low, m.Punch.corrected_time <= high, live_punch(session))
        .order_by(m.Punch.corrected_time, m.Device.code, m.Punch.id)
    ).all()
    return [PunchInfo(*r) for r in rows]


def monthly_summary(session: Session, month: str, unit_code: str | None = None) -> list[dict[str, Any]]:
    """rules.md §7 for everyone (or a unit and the units under it): one dict per person, by code."""
    from . import services

    return services.summary_records(services.monthly_summary(session, month, unit_code))


def period_summary(session: Session, first: dt.date, last: dt.date,
                   unit_code: str | None = None) -> list[dict[str, Any]]:
    """rules.md §7 over the days ``first`` to ``last`` (inclusive): one dict per person, by code."""
    from . import services

    return services.summary_records(services.period_summary(session, first, last, unit_code))


def service_setting(session: Session, key: str) -> str | None:
    """A service-wide setting as stored (the set-up bundle's ``settings``), or None when unset."""
    row = session.get(m.Setting, key)
    return row.value if row is not None else None


def check_alert_thresholds(value: Any, path: str = "report_thresholds") -> list[dict[str, Any]]:
    """Validate report alert thresholds ({field, at_least, action, reference} each); InvalidInput names the path."""
    from . import bundle  # imported here: the bundle's checks load the engine, and with it pandas

    return bundle.check_alert_thresholds(value, path)


def summary_headings(language: str = "vi") -> dict[str, str]:
    """Headings for people of the summary's columns (rules.md §7 fields, code, name, unit)."""
    from . import services

    return dict(services.summary_headings(language))


def month_has_punches(session: Session, month: str, unit_code: str | None = None) -> bool:
    """Whether the month's summary (of everyone, or of a unit) rests on at least one punch."""
    from . import services

    return services.month_has_punches(session, month, unit_code)


def explain_day(session: Session, staff_code: str, day: dt.date) -> dict[str, Any]:
    """One person's verdicts of one date with their reasons (vi/en texts), as plain data."""
    from . import services

    return services.explain(session, staff_code, day)


def person_month(session: Session, staff_code: str, month: str) -> PersonMonth:
    """One person's month calendar: each day's code and short reason, and the summary totals."""
    from . import month_views

    return month_views.person_month(session, staff_code, month)


def unit_month_counts(session: Session, unit_code: str, month: str) -> MonthCounts:
    """Per day how many people of a unit (and the units under it) have each day code, and the month's totals."""
    from . import month_views

    return month_views.unit_month_counts(session, unit_code, month)


def unit_month_grid(session: Session, unit_code: str, month: str) -> MonthGrid:
    """People (in Vietnamese name order) x days of a unit and the units under it, with totals."""
    from . import month_views

    return month_views.unit_month_grid(session, unit_code, month)


def excuse_records(session: Session, staff_code: str, first: dt.date | None = None,
                   last: dt.date | None = None) -> list[ExcuseRecord]:
    """A person's excuses with their ids, documents and withdrawals (withdrawn ones included)."""
    from . import excuses as use_cases

    return use_cases.list_excuses(session, staff_code, first, last)


def waiting_user_ids(session: Session, unit_code: str | None = None) -> list[WaitingUserId]:
    """Device user ids with punches but no enrollment on the terminals of a unit (or all)."""
    from . import enrollments

    return enrollments.waiting_user_ids(session, unit_code)


def search_audit(session: Session, **filters: Any) -> AuditPage:
    """The audit log, newest first, filtered and paged (see ``audit.search_audit``)."""
    from . import audit

    return audit.search_audit(session, **filters)


def session_windows(session: Session, unit_code: str, day: dt.date) -> dict[str, list[SessionWindow]]:
    """The session windows of ``day`` of everyone in a unit (and the units under it), by staff code.

    Computed by the rules engine itself, so they are the windows its verdicts use. A person
    without sessions that day (day off, holiday, no schedule, not employed) has an empty list.
    """
    from .engine import evaluate
    from .loader import load_input

    inp, _ctx = load_input(session, day, day, unit_code=unit_code)
    out: dict[str, list[SessionWindow]] = {s.code: [] for s in inp.staff}
    if not inp.staff:
        return out
    codes = {s.id: s.code for s in inp.staff}
    midnight = dt.datetime.combine(day, dt.time())
    sessions = evaluate(inp, day, day, detail=False).sessions
    for staff_id, no, start, end, low, high in zip(
            sessions["staff_id"], sessions["session_no"], sessions["s"], sessions["e"], sessions["lo"],
            sessions["hi"], strict=True):
        # The engine's minutes of the day, which may reach into the neighbouring days.
        at = [midnight + dt.timedelta(minutes=int(v)) for v in (start, end, low, high)]
        out[codes[int(staff_id)]].append(SessionWindow(int(no), *at))
    for windows in out.values():
        windows.sort(key=lambda w: w.session_no)
    return out


#: Where the API serves a person's photo (bearer token, scope-checked); ``v`` changes with the photo.
PHOTO_PATH = "/api/v1/staff/{code}/photo?v={version}"


def _photo_path(staff_code: str, digest: str) -> str:
    from urllib.parse import quote

    # The version is part of the address so that a tablet's cache never shows a replaced face.
    return PHOTO_PATH.format(code=quote(staff_code, safe=""), version=digest[:16])


def has_photo(session: Session, staff_code: str) -> bool:
    """Whether the person has a photo (False also for a code nobody has)."""
    from .photos import photo_digests

    return staff_code in photo_digests(session, [staff_code])


def staff_photo_url(session: Session, staff_code: str) -> str | None:
    """The API path of the person's photo (``/api/v1/staff/CODE/photo?v=…``), or None without one."""
    return staff_photo_urls(session, [staff_code]).get(staff_code)


def staff_photo_urls(session: Session, staff_codes: list[str]) -> dict[str, str]:
    """Staff code -> API path of the photo, for those of the people given who have one (one query)."""
    from .photos import photo_digests

    return {code: _photo_path(code, digest) for code, digest in photo_digests(session, staff_codes).items()}


def staff_names(session: Session, staff_codes: list[str]) -> dict[str, str]:
    """Staff code -> name for those of the codes given that exist (one query; employment not checked)."""
    if not staff_codes:
        return {}
    return {code: name for code, name in session.execute(
        select(m.Staff.code, m.Staff.name).where(m.Staff.code.in_(sorted(set(staff_codes)))))}
