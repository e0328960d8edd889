"""What the team lead's screens read and do beyond the sync API: one spot check laid out for
review, follow-up actions, a unit's history, and repeat offenders across months.

Plain functions taking a Session and the acting Account (scope and role come from it), no
Flask; repeat offenders are ``inspections.offenders``, as in the monthly report. Built on ``inspections.services``
(which finds a spot check in the scope) and the spot-check tables.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import api as public
from attendance.accounts import Account, Permission, in_scope, require_unit, scope_unit_codes
from attendance.audit import record_change
from attendance.errors import Conflict, Forbidden, InvalidInput, NotFound
from attendance.i18n import _

from . import offenders, services
from .checklists import find_template
from .models import (
    Attachment,
    Finding,
    FollowUpAction,
    HeadcountLine,
    SpotCheck,
    SpotCheckVersion,
)
from .offenders import MAX_MONTHS
from .report.settings import periods_ending, report_settings

#: Headcount statuses grouped as the screens and the report count them.
PRESENT = ("present", "late", "left_early")
EXCUSED = ("absent_excused",)
UNEXCUSED = ("absent_unexcused", "absent_unverified")


def _row(session: Session, account: Account, uuid: str) -> SpotCheck:
    record = services.get_spot_check(session, account, uuid)  # NotFound outside the scope
    row = session.scalar(select(SpotCheck).where(SpotCheck.uuid == record.uuid))
    assert row is not None
    return row


def may_resolve(account: Account, row: SpotCheck) -> bool:
    """A team lead, or an inspector named in the spot check's team (or its lead)."""
    return account.may(Permission.REVIEW_SPOT_CHECKS) or (
        account.may(Permission.EDIT_SPOT_CHECKS)
        and (account.username in list(row.team) or account.username == row.lead))


def headcount_counts(session: Session, spot_check_ids: list[int]) -> dict[int, dict[str, int]]:
    """Spot check id -> {"present", "excused", "unexcused", "total"} of its current headcount."""
    out: dict[int, dict[str, int]] = {i: {"present": 0, "excused": 0, "unexcused": 0, "total": 0}
                                      for i in spot_check_ids}
    if not spot_check_ids:
        return out
    for check_id, status in session.execute(select(HeadcountLine.spot_check_id, HeadcountLine.status)
                                            .where(HeadcountLine.spot_check_id.in_(spot_check_ids))):
        counts = out[check_id]
        counts["total"] += 1
        group = "present" if status in PRESENT else "excused" if status in EXCUSED else "unexcused"
        counts[group] += 1
    return out


def _fails(session: Session, spot_check_ids: list[int]) -> dict[int, int]:
    counts: Counter[int] = Counter()
    if spot_check_ids:
        counts.update(session.scalars(select(Finding.spot_check_id).where(
            Finding.spot_check_id.in_(spot_check_ids), Finding.result == "fail")))
    return dict(counts)


def spot_check_rows(session: Session, account: Account, unit_code: str | None = None,
                    month: str | None = None) -> list[dict[str, Any]]:
    """Spot checks in the scope (of a unit's subtree, of a month if given), newest first, with counts."""
    from attendance.services import parse_month

    scope = scope_unit_codes(session, account)
    query = select(SpotCheck).order_by(SpotCheck.started_at.desc(), SpotCheck.uuid)
    if unit_code is not None:
        require_unit(session, account, unit_code)
        query = query.where(SpotCheck.unit_code.in_([u.code for u in public.unit_subtree(session, unit_code)]))
    if month is not None:
        first, last = parse_month(month)
        query = query.where(SpotCheck.started_at >= dt.datetime.combine(first, dt.time()),
                            SpotCheck.started_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
    rows = [r for r in session.scalars(query) if in_scope(scope, r.unit_code)]
    ids = [r.id for r in rows]
    counts, fails = headcount_counts(session, ids), _fails(session, ids)
    names = {u.code: u.name for u in public.unit_tree(session)}
    return [{**services.summary(r), "unit_name": names.get(r.unit_code, r.unit_code), "counts": counts[r.id],
             "fails": fails.get(r.id, 0)} for r in rows]


# ------------------------------------------------------------------ one spot check for review


@dataclass
class Review:
    """Everything the review page shows of one spot check, as plain data."""

    header: dict[str, Any]
    content: dict[str, Any]
    unit_name: str
    headcount: list[dict[str, Any]]
    counts: dict[str, int]
    checklist: list[dict[str, Any]]
    score: dict[str, float]
    attachments: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    send_backs: list[dict[str, Any]]
    mismatches: list[dict[str, Any]]
    audit: list[Any]
    may_review: bool
    may_resolve: bool
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # item code -> (vi, en)


def _points(finding: Finding) -> float:
    """A finding's score: the one given, else 1 for a pass and 0 for a fail."""
    if finding.score is not None:
        return float(finding.score)
    return 1.0 if finding.result == "pass" else 0.0


def review(session: Session, account: Account, uuid: str, today: dt.date | None = None) -> Review:
    """One spot check laid out for the team lead (NotFound when absent or outside the scope)."""
    today = today or dt.date.today()
    row = _row(session, account, uuid)
    record = services.get_spot_check(session, account, uuid)
    lines = list(session.scalars(select(HeadcountLine).where(HeadcountLine.spot_check_id == row.id)
                                 .order_by(HeadcountLine.position)))
    findings = list(session.scalars(select(Finding).where(Finding.spot_check_id == row.id)
                                    .order_by(Finding.position)))
    actions = list(session.scalars(select(FollowUpAction).where(FollowUpAction.spot_check_id == row.id)
                                   .order_by(FollowUpAction.position)))
    codes = [h.staff_code for h in lines] + [f.staff_code for f in findings if f.staff_code] + [
        a.assignee_code for a in actions if a.assignee_code]
    names = public.staff_names(session, codes)
    photos = public.staff_photo_urls(session, [h.staff_code for h in lines])
    fails_of: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        if f.staff_code and f.result == "fail":
            fails_of[f.staff_code].append(f.item_code)
    headcount = [{"staff": h.staff_code, "name": names.get(h.staff_code, ""), "status": h.status,
                  "reference": h.reference, "note": h.note, "arrived_at": h.arrived_at, "left_at": h.left_at,
                  "photo": h.staff_code in photos, "fails": fails_of.get(h.staff_code, [])} for h in lines]
    template = find_template(session, row.template_code, row.template_version)
    items = list(template.items) if template is not None else []
    by_item: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_item[f.item_code].append(f)
    checklist, earned, weight_total = [], 0.0, 0.0
    known = set()
    for item in items:
        known.add(item.code)
        mine = by_item.get(item.code, [])
        applicable = [f for f in mine if f.result != "not_applicable"]
        points = sum(_points(f) * item.weight for f in applicable) if item.scored else 0.0
        weight = item.weight * len(applicable) if item.scored else 0.0
        earned, weight_total = earned + points, weight_total + weight
        checklist.append({"code": item.code, "label_vi": item.label_vi, "label_en": item.label_en,
                          "scope": item.scope, "weight": item.weight, "scored": item.scored,
                          "findings": [_finding(f, names) for f in mine], "points": points, "possible": weight,
                          "fails": sum(1 for f in mine if f.result == "fail")})
    for code, mine in by_item.items():  # findings naming an item the template lacks stay visible
        if code not in known:
            checklist.append({"code": code, "label_vi": code, "label_en": code, "scope": "", "weight": 0.0,
                              "scored": False, "findings": [_finding(f, names) for f in mine], "points": 0.0,
                              "possible": 0.0, "fails": sum(1 for f in mine if f.result == "fail")})
    attachments = [{"name": a.name, "size": a.size, "sha256": a.sha256, "item": a.item_code,
                    "content_type": a.content_type, "uploaded": a.uploaded_at is not None,
                    "image": a.uploaded_at is not None and (a.content_type or "").startswith("image/")}
                   for a in session.scalars(select(Attachment).where(Attachment.spot_check_id == row.id)
                                            .order_by(Attachment.name))]
    versions = [{"version": v.version, "actor": v.actor, "tablet": v.tablet_id, "received_at": v.received_at,
                 "reason": v.reason, "replaces_version": v.replaces_version}
                for v in session.scalars(select(SpotCheckVersion).where(SpotCheckVersion.spot_check_id == row.id)
                                         .order_by(SpotCheckVersion.version))]
    mismatches = services.reconciliation(session, account, uuid)
    for found in mismatches:
        found["name"] = names.get(found["staff"], "")
    trail = public.search_audit(session, entity="spot_check", key_contains=row.uuid, per_page=500).entries
    unit = public.unit_subtree(session, row.unit_code)[0]
    return Review(
        header={**services.summary(row), "submitted_at": row.submitted_at, "locked_at": row.locked_at},
        content=record.content, unit_name=unit.name, headcount=headcount,
        counts=headcount_counts(session, [row.id])[row.id], checklist=checklist,
        score={"earned": earned, "possible": weight_total}, attachments=attachments,
        actions=[_action(a, row, today, names) for a in actions], versions=versions,
        send_backs=services.send_backs(session, account, uuid), mismatches=mismatches,
        audit=[e for e in trail if e.key == row.uuid], may_review=account.may(Permission.REVIEW_SPOT_CHECKS),
        may_resolve=may_resolve(account, row), names=names,
        labels={i.code: (i.label_vi, i.label_en) for i in items})


def _finding(f: Finding, names: dict[str, str]) -> dict[str, Any]:
    return {"staff": f.staff_code, "name": names.get(f.staff_code or "", ""), "result": f.result, "score": f.score,
            "note": f.note, "count": f.count, "apology_sent": f.apology_sent}


def _action(a: FollowUpAction, row: SpotCheck, today: dt.date, names: dict[str, str]) -> dict[str, Any]:
    return {"spot_check": row.uuid, "unit": row.unit_code, "position": a.position, "description": a.description,
            "assignee": a.assignee_code, "assignee_name": names.get(a.assignee_code or "", ""), "due": a.due,
            "status": a.status, "done_at": a.done_at,
            # Derived, never stored: an open action past its due date.
            "overdue": a.status == "open" and a.due is not None and a.due < today}


# ------------------------------------------------------------------ follow-up actions


ACTION_FILTERS = ("open", "overdue", "done", "all")


def follow_up_actions(session: Session, account: Account, unit_code: str | None = None, which: str = "open",
                      today: dt.date | None = None) -> list[dict[str, Any]]:
    """Follow-up actions in the scope (or a unit's subtree): open, overdue, done or all; by due date."""
    if which not in ACTION_FILTERS:
        raise InvalidInput(_("show: one of {values}", values=", ".join(ACTION_FILTERS)))
    today = today or dt.date.today()
    scope = scope_unit_codes(session, account)
    units = None
    if unit_code is not None:
        require_unit(session, account, unit_code)
        units = {u.code for u in public.unit_subtree(session, unit_code)}
    query = (select(FollowUpAction, SpotCheck).join(SpotCheck, SpotCheck.id == FollowUpAction.spot_check_id)
             .order_by(FollowUpAction.due.is_(None), FollowUpAction.due, SpotCheck.uuid, FollowUpAction.position))
    if which in ("open", "overdue"):
        query = query.where(FollowUpAction.status == "open")
    elif which == "done":
        query = query.where(FollowUpAction.status == "done")
    rows = [(a, c) for a, c in session.execute(query)
            if in_scope(scope, c.unit_code) and (units is None or c.unit_code in units)]
    names = public.staff_names(session, [a.assignee_code for a, _c in rows if a.assignee_code])
    out = [_action(a, c, today, names) for a, c in rows]
    return [a for a in out if a["overdue"]] if which == "overdue" else out


def mark_action_done(session: Session, account: Account, uuid: str, position: int, actor: str,
                     now: dt.datetime | None = None) -> bool:
    """Mark one follow-up action done (a team lead, or an inspector of the team); False if it already was.

    Audited on the spot check (action ``action_done``). The action belongs to the unit's
    follow-up, not to the record's content, so a locked spot check's actions can be closed.
    """
    row = _row(session, account, uuid)
    if not may_resolve(account, row):
        raise Forbidden(_("only a team lead or an inspector of the team may close follow-up actions"))
    action = session.scalar(select(FollowUpAction).where(FollowUpAction.spot_check_id == row.id,
                                                         FollowUpAction.position == position))
    if action is None:
        raise NotFound(_("no follow-up action {n} in spot check {uuid}", n=position, uuid=row.uuid))
    if action.status == "done":
        return False
    if action.status != "open":
        raise Conflict(_("follow-up action {n} is {status}", n=position, status=action.status))
    when = (now or dt.datetime.now()).replace(microsecond=0)
    action.status, action.done_at = "done", when
    record_change(session, actor, "action_done", "spot_check", row.uuid,
                  {"action": [None, position], "status": ["open", "done"], "description": [None, action.description]})
    session.flush()
    return True


# ------------------------------------------------------------------ repeat offenders


@dataclass(frozen=True)
class RepeatOffenders:
    """Repeat offenders (``inspections.offenders``) and unit items failed in ``min_months`` of the periods."""

    months: tuple[str, ...]  # the periods looked at, oldest first, each named 'YYYY-MM' by its month
    min_months: int
    people: list[dict[str, Any]]  # staff, name, unit, unit_name, months: {month: [violation, ...]}, month_count, total
    items: list[dict[str, Any]]  # unit, unit_name, item, label_vi, label_en, months: {month: count}, month_count


def repeat_offenders(session: Session, account: Account, month: str, unit_code: str | None = None,
                     months: int | None = None, min_months: int | None = None,
                     config: Mapping[str, Any] | None = None) -> RepeatOffenders:
    """Repeat offenders of the ``months`` report periods ending with ``month``, in the account's scope.

    People: ``inspections.offenders.repeat_offenders``, the definition the monthly report uses
    too (same periods: the report's start day; ``months`` and ``min_months`` default to the
    report settings). A unit's repeated items: unit-level items failed in ``min_months`` of
    the periods. Only submitted and locked spot checks count.
    """
    settings = report_settings(session, config)
    months = settings.repeat_months if months is None else months
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(_("months: expected 1 to {n}", n=MAX_MONTHS))
    min_months = min(settings.repeat_min_months, months) if min_months is None else min_months
    if isinstance(min_months, bool) or not isinstance(min_months, int) or not 1 <= min_months <= months:
        raise InvalidInput(_("min_months: expected 1 to {n}", n=months))
    periods = periods_ending(month, months, settings.start_day)
    scope = scope_unit_codes(session, account)
    units: frozenset[str] | None = scope
    if unit_code is not None:
        require_unit(session, account, unit_code)
        subtree = frozenset(u.code for u in public.unit_subtree(session, unit_code))
        units = subtree if scope is None else subtree & scope
    found = offenders.repeat_offenders(session, periods, units, min_months)
    checks = offenders.counted_checks(session, periods[0].first, periods[-1].last, units)
    labels = _labels(session, checks)
    people = []
    for o in found:
        per_month = {m: [{"kind": v.kind, "detail": v.detail, "spot_check": v.spot_check, "date": v.day,
                          # The item's words for a failed item; the status is the detail otherwise.
                          "label_vi": labels.get(v.detail, (v.detail, v.detail))[0],
                          "label_en": labels.get(v.detail, (v.detail, v.detail))[1]} for v in found_in]
                     for m, found_in in o.by_period.items()}
        people.append({"staff": o.staff_code, "name": o.name, "unit": o.unit_code, "unit_name": o.unit_name,
                       "months": per_month, "month_count": o.months, "total": o.violations})
    item_months: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    by_id = {c.id: c for c in checks}
    if by_id:
        for f in session.scalars(select(Finding).where(Finding.spot_check_id.in_(list(by_id)),
                                                       Finding.result == "fail", Finding.staff_code.is_(None))):
            check = by_id[f.spot_check_id]
            period = offenders.period_of(periods, check.started_at.date())
            assert period is not None
            item_months[(check.unit_code, f.item_code)][period] += 1
    unit_names = {u.code: u.name for u in public.unit_tree(session)}
    items = []
    for (unit, item), per_month in item_months.items():
        if len(per_month) >= min_months:
            vi, en = labels.get(item, (item, item))
            items.append({"unit": unit, "unit_name": unit_names.get(unit, unit), "item": item, "label_vi": vi,
                          "label_en": en, "months": dict(per_month), "month_count": len(per_month),
                          "total": sum(per_month.values())})
    items.sort(key=lambda i: (-i["month_count"], -i["total"], i["unit"], i["item"]))
    return RepeatOffenders(tuple(p.month for p in periods), min_months, people, items)


def _labels(session: Session, checks: list[SpotCheck]) -> dict[str, tuple[str, str]]:
    labels: dict[str, tuple[str, str]] = {}
    for code, version in sorted({(c.template_code, c.template_version) for c in checks}):
        template = find_template(session, code, version)
        for item in template.items if template is not None else []:
            labels.setdefault(item.code, (item.label_vi, item.label_en))
    return labels


# ------------------------------------------------------------------ a person's day


def day_observations(session: Session, account: Account, staff_code: str, day: dt.date) -> list[dict[str, Any]]:
    """The spot checks of that day that observed the person (in the account's scope), with labels."""
    scope = scope_unit_codes(session, account)
    seen = [o for o in services.observations_of(session, staff_code, day) if in_scope(scope, o["unit"])]
    labels = _labels(session, list(session.scalars(select(SpotCheck).where(
        SpotCheck.uuid.in_([o["spot_check"] for o in seen]))))) if seen else {}
    for o in seen:
        for f in o["findings"]:
            f["label_vi"], f["label_en"] = labels.get(f["item"], (f["item"], f["item"]))
    return seen
