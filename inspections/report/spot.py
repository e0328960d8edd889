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
from ..offenders import COUNTED_STATES, Offender, counted_checks, repeat_offenders
from ..services import mismatches_of
from .settings import Period, ReportSettings, periods_ending


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
    repeat_offenders: list[Offender] = field(default_factory=list)  # see inspections.offenders
    mismatches: list[Mismatch] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    overdue_dossiers: list[OverdueDossiers] = field(default_factory=list)
    available: bool = False  # False: this installation records no spot checks yet


STATE_LABELS = {"submitted": "Chờ duyệt", "locked": "Đã duyệt"}
PRESENT = ("present", "late", "left_early")  # the person was there at some point of the check
KIND_LABELS = {"present_without_punch": "Có mặt nhưng không chấm công",
               "absent_with_punch": "Vắng nhưng có chấm công",
               "excused_with_punch": "Vắng có lý do nhưng có chấm công"}
STATUS_LABELS = {"present": "Có mặt", "late": "Đi muộn", "left_early": "Về sớm", "absent_excused": "Vắng có lý do",
                 "absent_unverified": "Vắng chưa xác minh", "absent_unexcused": "Vắng không lý do"}
OVERDUE_ITEM = "overdue_dossiers"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _labels(session: Session, checks: Iterable[SpotCheck]) -> dict[str, str]:
    """Each item code's Vietnamese label in the templates the checks pinned."""
    labels: dict[str, str] = {}
    for code, version in sorted({(c.template_code, c.template_version) for c in checks}):
        template = find_template(session, code, version)
        for item in template.items if template is not None else []:
            labels.setdefault(item.code, item.label_vi)
    return labels


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


def spot_check_section(session: Session, period: Period, unit_codes: frozenset[str],
                       settings: ReportSettings | None = None, today: dt.date | None = None) -> SpotChecks:
    """The spot checks of the units in the report period, as the report's rows.

    Follow-up actions are those still open of any check up to ``last`` in the units, overdue
    when their due day is before ``today``; overdue dossiers are the count the unit's latest
    check of the period found (checks of one month see mostly the same dossiers).
    """
    today = today or dt.date.today()
    settings = settings or ReportSettings()
    first, last = period.first, period.last
    checks = counted_checks(session, first, last, unit_codes)
    unit_names = {u.code: u.name for u in api.unit_tree(session)}
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
    found = [(c, m) for c in checks for m in mismatches_of(session, c)]
    open_actions = (select(FollowUpAction, SpotCheck).join(SpotCheck, SpotCheck.id == FollowUpAction.spot_check_id)
                    .where(FollowUpAction.status == "open", SpotCheck.state.in_(COUNTED_STATES),
                           SpotCheck.started_at < _day_start(last + dt.timedelta(days=1)))
                    .order_by(FollowUpAction.due, SpotCheck.uuid, FollowUpAction.position))
    actions = [(a, c) for a, c in session.execute(open_actions) if c.unit_code in unit_codes]
    # One lookup of every name the section prints (attendance's own code -> name).
    names = api.staff_names(session, [m["staff"] for _c, m in found]
                            + [a.assignee_code for a, _c in actions if a.assignee_code])
    # On paper a check is known by its day and time (appendix of the checks), not its UUID.
    mismatches = [Mismatch(f"{c.started_at:%d/%m/%Y %H:%M}", m["staff"], names.get(m["staff"], ""), KIND_LABELS.get(m["kind"], m["kind"]),
                           STATUS_LABELS.get(m["observed"]["status"], m["observed"]["status"]),
                           _punches_text(m["punches"]), _resolution_text(m["resolution"])) for c, m in found]
    follow_ups = []
    for action, check in actions:
        assignee = action.assignee_code
        name = names.get(assignee, "") if assignee else ""
        follow_ups.append(FollowUp(unit_names.get(check.unit_code, check.unit_code), action.description,
                                   f"{name} ({assignee})" if name else (assignee or ""), action.due,
                                   action.due is not None and action.due < today))
    return SpotChecks(checks=rows, violations=violations,
                      repeat_offenders=repeat_offenders(
                          session, periods_ending(period.month, settings.repeat_months, period.start_day),
                          unit_codes, settings.repeat_min_months),
                      mismatches=mismatches, follow_ups=follow_ups, overdue_dossiers=overdue, available=True)
