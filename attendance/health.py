"""Terminal health: last successful pull, clock skew, days without punches, log filling up."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS

from . import models as m
from .batches import live_punch
from .engine.days import unit_working_days
from .kinds import PULLED_KINDS, DeviceKind
from .loader import load_overrides, load_schedules, setting

PROBLEM_TEXT = {
    "never_pulled": ("Chưa lấy được dữ liệu lần nào", "Never pulled successfully"),
    "pull_failed": ("Lần lấy dữ liệu gần nhất bị lỗi", "The last pull failed"),
    "pull_overdue": ("Quá lâu chưa lấy được dữ liệu", "No successful pull for too long"),
    "clock_skew": ("Đồng hồ máy chấm công lệch", "Terminal clock is off"),
    "never_punched": ("Chưa có lượt chấm công nào từ máy này", "No punch has ever come from this terminal"),
    "no_punches": ("Nhiều ngày làm việc không có lượt chấm công", "No punches for several working days"),
    "log_nearly_full": ("Bộ nhớ chấm công sắp đầy", "Attendance log nearly full"),
    "no_contact": ("Máy đẩy dữ liệu không liên lạc", "Push terminal out of contact"),
}


@dataclass
class Thresholds:
    """When a reading becomes a problem."""

    clock_skew_seconds: int = 120
    idle_working_days: int = 2
    log_full_ratio: float = 0.9
    pull_overdue_hours: int = 24
    contact_overdue_hours: int = 24


@dataclass
class DeviceHealth:
    """One terminal's health readings and the problems they show."""

    device: str
    name: str
    kind: str
    unit: str | None
    last_contact: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    clock_skew_seconds: int | None = None
    last_punch: str | None = None
    days_without_punches: int | None = None
    log_used: int | None = None
    log_capacity: int | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain data for --json, with the problems spelled out in both languages."""
        data = asdict(self)
        data["problem_texts"] = [{"code": p, "vi": PROBLEM_TEXT[p][0], "en": PROBLEM_TEXT[p][1]} for p in self.problems]
        return data


def _stamp(value: dt.datetime | None) -> str | None:
    # isoformat pads the year (strftime writes year 1 as "1" on glibc)
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def working_days_between(session: Session, after: dt.date, until: dt.date, unit_id: int | None = None) -> int:
    """Working days d with after < d <= until of a unit, by the schedule in force there (engine.days)."""
    _schedules, versions = load_schedules(session)
    parents = {u.id: u.parent_id for u in session.scalars(select(m.Unit))}
    return unit_working_days(unit_id, after, until, versions, parents, load_overrides(session),
                             setting(session, "country", "VN"))


def device_health(session: Session, now: dt.datetime | None = None, limits: Thresholds | None = None) -> list[DeviceHealth]:
    """Health of every terminal, worst problems first within the device list order."""
    now = now or dt.datetime.now()
    limits = limits or Thresholds()
    units = dict(session.execute(select(m.Unit.id, m.Unit.code)).all())
    last_ok = dict(session.execute(
        select(m.PullLog.device_id, func.max(m.PullLog.started_at)).where(m.PullLog.ok).group_by(m.PullLog.device_id)
    ).all())
    latest_ids = select(func.max(m.PullLog.id)).group_by(m.PullLog.device_id)
    latest = {p.device_id: p for p in session.scalars(select(m.PullLog).where(m.PullLog.id.in_(latest_ids)))}
    # Only plausible times count: one row dated 9999 (or 0001) in an old database would
    # otherwise hide a silent terminal forever (or count every day since year 1).
    first, last = DEFAULT_PLAUSIBLE_YEARS
    last_punch = dict(session.execute(
        select(m.Punch.device_id, func.max(m.Punch.device_time))
        .where(live_punch(session), m.Punch.device_time >= dt.datetime(first, 1, 1),
               m.Punch.device_time < dt.datetime(last + 1, 1, 1))
        .group_by(m.Punch.device_id)
    ).all())
    # Read once for every terminal: the working days of each one's unit (engine.days).
    _schedules, versions = load_schedules(session)
    parents = {u.id: u.parent_id for u in session.scalars(select(m.Unit))}
    overrides = load_overrides(session)
    country = setting(session, "country", "VN")
    out = []
    for device in session.scalars(select(m.Device).order_by(m.Device.code)):
        h = DeviceHealth(device=device.code, name=device.name, kind=device.kind, unit=units.get(device.unit_id))
        h.last_contact = _stamp(device.last_contact_at)
        h.last_success = _stamp(last_ok.get(device.id))
        pull = latest.get(device.id)
        if pull is not None:
            h.clock_skew_seconds = pull.skew_seconds
            h.log_used, h.log_capacity = pull.log_used, pull.log_capacity
            if not pull.ok:
                h.last_error, h.last_error_at = pull.error, _stamp(pull.started_at)
        punched = last_punch.get(device.id)
        h.last_punch = _stamp(punched)
        if punched is not None:
            h.days_without_punches = unit_working_days(device.unit_id, punched.date(), now.date(), versions, parents,
                                                       overrides, country)
        if device.kind in PULLED_KINDS:
            if device.id not in last_ok:
                h.problems.append("never_pulled")
            elif now - last_ok[device.id] > dt.timedelta(hours=limits.pull_overdue_hours):
                h.problems.append("pull_overdue")
            if pull is not None and not pull.ok:
                h.problems.append("pull_failed")
        if device.kind == DeviceKind.ADMS_PUSH and (
            device.last_contact_at is None or now - device.last_contact_at > dt.timedelta(hours=limits.contact_overdue_hours)
        ):
            h.problems.append("no_contact")
        if h.clock_skew_seconds is not None and abs(h.clock_skew_seconds) > limits.clock_skew_seconds:
            h.problems.append("clock_skew")
        if punched is None:  # counted from nothing: a new terminal, or one nobody uses
            h.problems.append("never_punched")
        elif h.days_without_punches is not None and h.days_without_punches >= limits.idle_working_days:
            h.problems.append("no_punches")
        if h.log_used is not None and h.log_capacity and h.log_used >= limits.log_full_ratio * h.log_capacity:
            h.problems.append("log_nearly_full")
        out.append(h)
    return out
