"""Repeat offenders: the one definition the team lead's screen and the monthly report share.

A repeat offender is a person with at least one violation in each of ``min_months`` or more of
the last ``months`` report periods (the period named and the ones just before it; by default 2
of 3, set by ``REPORT_REPEAT_MIN_MONTHS`` and ``REPORT_REPEAT_MONTHS``). A violation is what a
submitted or locked spot check recorded of the person:

- a failed person-level checklist item (a finding naming the person with result ``fail``);
- at the headcount, an unexcused absence (``absent_unexcused``) or a late arrival (``late``).

Not violations: an absence whose proof is pending (``absent_unverified``: not yet known to be
unexcused; the corrected record counts once it says so), leaving early, and reconciliation
mismatches (a disagreement between punches and the observation that a person must resolve,
not a finding: a month whose punches were never imported would make everyone one). Drafts do
not count: they are the team's unfinished work.

Plain functions of a Session; the callers decide the units (the account's scope, or the
report's units) and the periods (``inspections.report.settings.periods_ending``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import api
from attendance.errors import InvalidInput
from attendance.i18n import _

from .models import Finding, HeadcountLine, SpotCheck

if TYPE_CHECKING:
    from .report.settings import Period

#: Only what the team has handed in counts as a finding (a draft may still change).
COUNTED_STATES = ("submitted", "locked")
#: Headcount statuses that are violations, and the kind each is listed as.
HEADCOUNT_VIOLATIONS = {"absent_unexcused": "absence", "late": "late"}
#: How many periods repeat offenders may look back at most.
MAX_MONTHS = 24


@dataclass(frozen=True)
class Violation:
    """One violation of a person: ``kind`` failed_item (``detail`` the item code), absence or late."""

    kind: str
    detail: str
    spot_check: str  # its UUID
    unit_code: str
    day: dt.date


@dataclass(frozen=True)
class Offender:
    """A repeat offender and their violations per period (the period's month, 'YYYY-MM')."""

    staff_code: str
    name: str
    unit_code: str  # the unit of the latest spot check that found a violation
    unit_name: str
    by_period: dict[str, list[Violation]]

    @property
    def months(self) -> int:
        """In how many of the periods looked at the person had a violation."""
        return len(self.by_period)

    @property
    def violations(self) -> int:
        """How many violations in all those periods."""
        return sum(len(v) for v in self.by_period.values())


def counted_checks(session: Session, first: dt.date, last: dt.date,
                   unit_codes: Collection[str] | None) -> list[SpotCheck]:
    """Submitted and locked spot checks started in the days ``first`` to ``last`` in the units (None: all)."""
    rows = session.scalars(select(SpotCheck).where(
        SpotCheck.started_at >= dt.datetime.combine(first, dt.time()),
        SpotCheck.started_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
        SpotCheck.state.in_(COUNTED_STATES)).order_by(SpotCheck.started_at, SpotCheck.uuid))
    return [c for c in rows if unit_codes is None or c.unit_code in unit_codes]


def period_of(periods: Sequence[Period], day: dt.date) -> str | None:
    """The month naming the period that holds ``day`` (None: none of them)."""
    return next((p.month for p in periods if p.first <= day <= p.last), None)


def repeat_offenders(session: Session, periods: Sequence[Period], unit_codes: Collection[str] | None,
                     min_months: int) -> list[Offender]:
    """People with a violation in ``min_months`` or more of ``periods`` (see the module's definition).

    ``periods`` are consecutive report periods, oldest first; ``unit_codes`` the units whose
    spot checks count (None: every unit). Most months first, then most violations, then by name.
    """
    if not 1 <= len(periods) <= MAX_MONTHS:
        raise InvalidInput(_("months: expected 1 to {n}", n=MAX_MONTHS))
    if isinstance(min_months, bool) or not isinstance(min_months, int) or not 1 <= min_months <= len(periods):
        raise InvalidInput(_("min_months: expected 1 to {n}", n=len(periods)))
    checks = counted_checks(session, periods[0].first, periods[-1].last, unit_codes)
    if not checks:
        return []
    by_id = {c.id: c for c in checks}
    found: list[tuple[str, str, str, SpotCheck]] = []  # staff, kind, detail, check
    for f in session.scalars(select(Finding).where(Finding.spot_check_id.in_(list(by_id)), Finding.result == "fail",
                                                   Finding.staff_code.is_not(None))):
        assert f.staff_code is not None
        found.append((f.staff_code, "failed_item", f.item_code, by_id[f.spot_check_id]))
    for h in session.scalars(select(HeadcountLine).where(HeadcountLine.spot_check_id.in_(list(by_id)),
                                                         HeadcountLine.status.in_(list(HEADCOUNT_VIOLATIONS)))):
        found.append((h.staff_code, HEADCOUNT_VIOLATIONS[h.status], h.status, by_id[h.spot_check_id]))
    # In the order the checks started, so each person's list reads in time and the last check wins.
    found.sort(key=lambda v: (v[3].started_at, v[3].uuid, v[1], v[2]))
    per_person: dict[str, dict[str, list[Violation]]] = defaultdict(lambda: defaultdict(list))
    latest: dict[str, SpotCheck] = {}
    for staff, kind, detail, check in found:
        month = period_of(periods, check.started_at.date())
        assert month is not None  # the checks were read inside the periods
        per_person[staff][month].append(Violation(kind, detail, check.uuid, check.unit_code,
                                                  check.started_at.date()))
        latest[staff] = check
    repeated = {staff: per for staff, per in per_person.items() if len(per) >= min_months}
    names = api.staff_names(session, list(repeated))
    unit_names = {u.code: u.name for u in api.unit_tree(session)}
    order = [p.month for p in periods]
    out = [Offender(staff, names.get(staff, ""), latest[staff].unit_code,
                    unit_names.get(latest[staff].unit_code, latest[staff].unit_code),
                    {m: per[m] for m in order if m in per})
           for staff, per in repeated.items()]
    out.sort(key=lambda o: (-o.months, -o.violations, api.name_sort_key(o.name), o.staff_code))
    return out
