"""The spot-check half of the monthly report, as plain data.

The spot-check records themselves belong to ``inspections`` (models and use cases); this module
only turns what they hold for a period and a set of units into the rows the report prints.

Only submitted and locked spot checks count: a draft is the team's unfinished work, not yet a
finding. Reconciliation mismatches are those ``inspections.services`` computes for the review
screens (the same function), with the resolutions recorded there.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import api

from ..checklists import find_template
from ..models import Finding, FollowUpAction, HeadcountLine, SpotCheck
from ..services import mismatches_of


@dataclass(frozen=True)
class SpotCheckRow:
    """One spot check of the period with its headcount."""

    uuid: str
    unit_code: str
    unit_name: str
    started: dt.datetime
    lead: str
    present: int
    absent_excused: int
    absent_unverified: int
    absent_unexcused: int
    violations: int
    state: str


@dataclass(frozen=True)
class ItemViolations:
    """How often one checklist item was found not met in the period."""

    item_code: str
    label: str
    count: int


@dataclass(frozen=True)
class RepeatOffender:
    """A person found in violation in several months (this one included)."""

    staff_code: str
    name: str
    unit_name: str
    months: int
    violations: int


@dataclass(frozen=True)
class Mismatch:
    """A headcount observation that the punches contradict, and how a person resolved it."""

    spot_check: str  # the check's start, dd/mm/yyyy HH:MM
    staff_code: str
    name: str
    kind: str
    observed: str
    punches: str
    resolution: str | None


@dataclass(frozen=True)
class FollowUp:
    """A corrective action not done yet."""

    unit_name: str
    action: str
    assignee: str
    due: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class OverdueDossiers:
    """Overdue administrative dossiers counted by the checks of one unit."""

    unit_name: str
    count: int
    apologies_sent: int


@dataclass
class SpotChecks:
    """Everything the report says about the spot checks of the period (empty: none recorded)."""

    checks: list[SpotCheckRow] = field(default_factory=list)
    violations: list[ItemViolations] = field(default_factory=list)
    repeat_offenders: list[RepeatOffender] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    overdue_dossiers: list[OverdueDossiers] = field(default_factory=list)
    available: bool = False  # False: this installation records no spot checks yet


#: Spot-check states the report counts.
COUNTED_STATES = ("submitted", "locked")
STATE_LABELS = {"submitted": "Chờ duyệt", "locked": "Đã duyệt"}
PRESENT = ("present", "late", "left_early")  # the person was there at some point of the check
KIND_LABELS = {"present_without_punch": "Có mặt nhưng không chấm công",
               "absent_with_punch": "Vắng nhưng có chấm công",
               "excused_with_punch": "Vắng có lý do nhưng có chấm công"}
STATUS_LABELS = {"present": "Có mặt", "late": "Đi muộn", "left_early": "Về sớm", "absent_excused": "Vắng có lý do",
                 "absent_unverified": "Vắng chưa xác minh", "absent_unexcused": "Vắng không lý do"}
#: Repeat offenders: violations in at least REPEAT_MIN_MONTHS of the REPEAT_MONTHS months ending with the period.
REPEAT_MONTHS = 3
REPEAT_MIN_MONTHS = 2
OVERDUE_ITEM = "overdue_dossiers"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _checks(session: Session, first: dt.date, last: dt.date, unit_codes: frozenset[str]) -> list[SpotCheck]:
    """Submitted and locked spot checks started in the days ``first`` to ``last`` in the units."""
    rows = session.scalars(select(SpotCheck).where(
        SpotCheck.started_at >= _day_start(first), SpotCheck.started_at < _day_start(last + dt.timedelta(days=1)),
        SpotCheck.state.in_(COUNTED_STATES)).order_by(SpotCheck.started_at, SpotCheck.uuid))
    return [c for c in rows if c.unit_code in unit_codes]


class _Names:
    """People's names as the unit of a check knew them that day (read through ``attendance.api``)."""

    def __init__(self, session: Session):
        self.session = session
        self.seen: dict[tuple[str, dt.date], dict[str, str]] = {}

    def of(self, unit_code: str, day: dt.date, staff_code: str | None) -> str:
        if staff_code is None:
            return ""
        key = (unit_code, day)
        if key not in self.seen:
            self.seen[key] = {s.code: s.name for s in api.staff_of_unit(self.session, unit_code, day)}
        return self.seen[key].get(staff_code, "")


def _labels(session: Session, checks: Iterable[SpotCheck]) -> dict[str, str]:
    """Each item code's Vietnamese label in the templates the checks pinned."""
    labels: dict[str, str] = {}
    for code, version in sorted({(c.template_code, c.template_version) for c in checks}):
        template = find_template(session, code, version)
        for item in template.items if template is not None else []:
            labels.setdefault(item.code, item.label_vi)
    return labels


def _month_windows(first: dt.date, last: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """The period and the ``count - 1`` periods before it, each the same days one month earlier."""
    windows = [(first, last)]
    for _i in range(count - 1):
        start = windows[0][0]
        windows.insert(0, (_month_before(start), start - dt.timedelta(days=1)))
    return windows


def _month_before(day: dt.date) -> dt.date:
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return day.replace(year=year, month=month)  # report periods start on day 1 to 28


def repeat_offenders(session: Session, first: dt.date, last: dt.date, unit_codes: frozenset[str],
                     months: int = REPEAT_MONTHS, min_months: int = REPEAT_MIN_MONTHS) -> list[RepeatOffender]:
    """People with violations in ``min_months`` or more of the ``months`` periods ending with this one.

    A violation: a failed person-level checklist item, or an unexcused absence at a headcount.
    """
    windows = _month_windows(first, last, months)
    checks = _checks(session, windows[0][0], last, unit_codes)
    if not checks:
        return []
    by_id = {c.id: c for c in checks}

    def window_of(check: SpotCheck) -> int:
        day = check.started_at.date()
        return next(i for i, (low, high) in enumerate(windows) if low <= day <= high)

    found: dict[str, Counter[int]] = defaultdict(Counter)
    latest: dict[str, SpotCheck] = {}
    ids = list(by_id)
    failed = session.scalars(select(Finding).where(Finding.spot_check_id.in_(ids), Finding.result == "fail",
                                                   Finding.staff_code.is_not(None)))
    absent = session.scalars(select(HeadcountLine).where(HeadcountLine.spot_check_id.in_(ids),
                                                         HeadcountLine.status == "absent_unexcused"))
    for staff, check_id in [(f.staff_code, f.spot_check_id) for f in failed] + \
                           [(h.staff_code, h.spot_check_id) for h in absent]:
        assert staff is not None
        check = by_id[check_id]
        found[staff][window_of(check)] += 1
        if staff not in latest or check.started_at > latest[staff].started_at:
            latest[staff] = check
    names = _Names(session)
    unit_names = {u.code: u.name for u in api.unit_tree(session)}
    out = []
    for staff, per_window in found.items():
        if len(per_window) >= min_months:
            check = latest[staff]
            out.append(RepeatOffender(staff, names.of(check.unit_code, check.started_at.date(), staff),
                                      unit_names.get(check.unit_code, check.unit_code), len(per_window),
                                      sum(per_window.values())))
    out.sort(key=lambda r: (-r.months, -r.violations, api.name_sort_key(r.name), r.staff_code))
    return out


def _punches_text(punches: list[dict[str, Any]]) -> str:
    if not punches:
        return "Không có lượt chấm công"
    return "; ".join(f"{dt.datetime.fromisoformat(p['time']):%H:%M} ({p['device']})" for p in punches)


def _resolution_text(resolution: dict[str, Any] | None) -> str | None:
    if resolution is None:
        return None
    at = dt.datetime.fromisoformat(resolution["at"])
    # The audit actor says through which channel ("api:", "web:"): the printed report names the person.
    by = resolution["by"].partition(":")[2] or resolution["by"]
    return f"{resolution['note']} ({by}, {at:%d/%m/%Y})"


def spot_check_section(session: Session, first: dt.date, last: dt.date, unit_codes: frozenset[str],
                       today: dt.date | None = None) -> SpotChecks:
    """The spot checks of the units in the days ``first`` to ``last``, as the report's rows.

    Follow-up actions are those still open of any check up to ``last`` in the units, overdue
    when their due day is before ``today``; overdue dossiers are the count the unit's latest
    check of the period found (checks of one month see mostly the same dossiers).
    """
    today = today or dt.date.today()
    checks = _checks(session, first, last, unit_codes)
    unit_names = {u.code: u.name for u in api.unit_tree(session)}
    names = _Names(session)
    ids = [c.id for c in checks]
    statuses: dict[int, Counter[str]] = defaultdict(Counter)
    findings: list[Finding] = []
    if ids:
        for line in session.scalars(select(HeadcountLine).where(HeadcountLine.spot_check_id.in_(ids))):
            statuses[line.spot_check_id][line.status] += 1
        findings = list(session.scalars(select(Finding).where(Finding.spot_check_id.in_(ids))
                                        .order_by(Finding.spot_check_id, Finding.position)))
    fails = Counter(f.spot_check_id for f in findings if f.result == "fail")
    rows = []
    for c in checks:
        seen = statuses[c.id]
        rows.append(SpotCheckRow(c.uuid, c.unit_code, unit_names.get(c.unit_code, c.unit_code), c.started_at,
                                 c.lead, sum(seen[s] for s in PRESENT), seen["absent_excused"],
                                 seen["absent_unverified"], seen["absent_unexcused"], fails[c.id],
                                 STATE_LABELS.get(c.state, c.state)))
    labels = _labels(session, checks)
    per_item = Counter(f.item_code for f in findings if f.result == "fail")
    violations = [ItemViolations(code, labels.get(code, code), n) for code, n in sorted(per_item.items())]
    # The latest check of each unit that counted the overdue dossiers says how many there are.
    dossiers: dict[str, tuple[dt.datetime, int, int]] = {}
    by_id = {c.id: c for c in checks}
    for f in findings:
        if f.item_code != OVERDUE_ITEM or f.count is None:
            continue
        check = by_id[f.spot_check_id]
        if check.unit_code not in dossiers or check.started_at >= dossiers[check.unit_code][0]:
            dossiers[check.unit_code] = (check.started_at, f.count, f.count if f.apology_sent else 0)
    overdue = [OverdueDossiers(unit_names.get(code, code), count, sent)
               for code, (_at, count, sent) in sorted(dossiers.items()) if count > 0]
    mismatches = []
    for c in checks:
        for m in mismatches_of(session, c):
            # On paper a check is known by its day and time (appendix of the checks), not its UUID.
            mismatches.append(Mismatch(f"{c.started_at:%d/%m/%Y %H:%M}", m["staff"], names.of(c.unit_code, c.headcount_at.date(), m["staff"]),
                                       KIND_LABELS.get(m["kind"], m["kind"]),
                                       STATUS_LABELS.get(m["observed"]["status"], m["observed"]["status"]),
                                       _punches_text(m["punches"]), _resolution_text(m["resolution"])))
    follow_ups = []
    actions = session.execute(select(FollowUpAction, SpotCheck).join(SpotCheck, SpotCheck.id == FollowUpAction.spot_check_id)
                              .where(FollowUpAction.status == "open", SpotCheck.state.in_(COUNTED_STATES),
                                     SpotCheck.started_at < _day_start(last + dt.timedelta(days=1)))
                              .order_by(FollowUpAction.due, SpotCheck.uuid, FollowUpAction.position))
    for action, check in actions:
        if check.unit_code not in unit_codes:
            continue
        assignee = action.assignee_code
        name = names.of(check.unit_code, check.started_at.date(), assignee)
        follow_ups.append(FollowUp(unit_names.get(check.unit_code, check.unit_code), action.description,
                                   f"{name} ({assignee})" if name else (assignee or ""), action.due,
                                   action.due is not None and action.due < today))
    return SpotChecks(checks=rows, violations=violations,
                      repeat_offenders=repeat_offenders(session, first, last, unit_codes),
                      mismatches=mismatches, follow_ups=follow_ups, overdue_dossiers=overdue, available=True)
