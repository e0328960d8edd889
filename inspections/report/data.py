"""Gathering a monthly report: attendance summaries, totals, alerts and trends as plain data.

Everything about attendance is read through ``attendance.api``; the writers (docx, xlsx,
charts) only format a ``ReportData`` and never touch the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from attendance import api
from attendance.errors import InvalidInput
from attendance.i18n import _

from .settings import Period, ReportSettings, Threshold, report_period
from .spot import SpotChecks, spot_check_section

#: The counts the report adds up per unit and compares with the previous period.
COUNTED = ("working_days", "working_sessions", "excused_sessions", "late_count", "late_minutes", "early_count",
           "early_minutes", "missing_punch_count", "absent_sessions", "absent_days", "offday_punch_days")
TREND_MONTHS = 6
#: Unit kinds as they open a unit's name ("Xã Tân Kỳ"): left out where the place is named.
NAME_PREFIXES = ("Thành phố ", "Thị trấn ", "Thị xã ", "Tỉnh ", "Huyện ", "Quận ", "Phường ", "Xã ", "TP. ")

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PersonRow:
    """One person's counts of the period (rules.md §7) and the report group they are counted in."""

    staff_code: str
    name: str
    unit_code: str
    unit_name: str
    group_code: str
    group_name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class UnitRow:
    """The totals of one report group (a commune of a province report, an office of a commune's)."""

    code: str
    name: str
    people: int
    counts: dict[str, int]
    alerts: int


@dataclass(frozen=True)
class Alert:
    """A person whose count reached a threshold; ``previous`` is the same count a period before."""

    person: PersonRow
    threshold: Threshold
    value: int
    previous: int | None


@dataclass(frozen=True)
class TrendPoint:
    """The totals of one period of the trend."""

    period: Period
    people: int
    counts: dict[str, int]

    @property
    def has_data(self) -> bool:
        """Whether the period rests on punches (without any, everyone would read as absent)."""
        return has_data(self.counts)


@dataclass
class ReportData:
    """Everything a monthly report shows, ready for the writers."""

    period: Period
    previous: Period
    unit_code: str | None
    unit_name: str
    unit_kind: str
    issuer_parent: str   # the header's upper line, "UBND TỈNH NGHỆ AN"
    parent_body: str     # the same in a sentence, "UBND tỉnh Nghệ An"
    place: str
    settings: ReportSettings
    generated: dt.date
    people: list[PersonRow]
    units: list[UnitRow]
    totals: dict[str, int]
    previous_people: int
    previous_totals: dict[str, int]
    alerts: list[Alert]
    previous_alerts: int
    trend: list[TrendPoint]
    has_punches: bool
    previous_has_punches: bool
    spot: SpotChecks = field(default_factory=SpotChecks)

    @property
    def period_phrase(self) -> str:
        """'tháng 10/2026', or 'kỳ từ 15/09/2026 đến 14/10/2026' for another window."""
        if self.period.start_day == 1:
            return f"tháng {self.period.label}"
        return f"kỳ từ {self.period.first:%d/%m/%Y} đến {self.period.last:%d/%m/%Y}"

    @property
    def repeat_alerts(self) -> list[Alert]:
        """Alerts of people who were over the same threshold in the previous period too."""
        return [a for a in self.alerts if a.previous is not None and a.previous >= a.threshold.at_least]


def place_name(name: str) -> str:
    """A unit's name as a place ("Tỉnh Nghệ An" -> "Nghệ An")."""
    for prefix in NAME_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def has_data(totals: dict[str, int]) -> bool:
    """Whether totals rest on at least one punch: some session neither excused nor absent.

    A period before the terminals' data was imported reads as everyone absent every day;
    the report shows it as "no data" rather than comparing with it.
    """
    worked = totals["working_sessions"] - totals["excused_sessions"] - totals["absent_sessions"]
    return worked > 0 or totals["working_sessions"] == 0


def _totals(rows: list[dict[str, int]] | list[PersonRow]) -> dict[str, int]:
    out = dict.fromkeys(COUNTED, 0)
    for row in rows:
        counts = row.counts if isinstance(row, PersonRow) else row
        for key in COUNTED:
            out[key] += int(counts[key])
    return out


def alerts_of(people: list[PersonRow], thresholds: tuple[Threshold, ...],
              previous: dict[str, dict[str, int]]) -> list[Alert]:
    """Each person over a threshold, once per counted field (the highest threshold they reached)."""
    out: list[Alert] = []
    for person in people:
        best: dict[str, Threshold] = {}
        for threshold in thresholds:
            value = person.counts.get(threshold.field, 0)
            if value >= threshold.at_least and (threshold.field not in best
                                                or threshold.at_least > best[threshold.field].at_least):
                best[threshold.field] = threshold
        for name, threshold in best.items():
            before = previous.get(person.staff_code)
            out.append(Alert(person, threshold, person.counts[name], before.get(name) if before else None))
    return out


def issuer_names(tree: list[api.UnitInfo], root: api.UnitInfo | None,
                 settings: ReportSettings) -> tuple[str, str, str]:
    """The header's upper line, the same in a sentence, and the place: from the top unit above
    ``root`` ("UBND TỈNH NGHỆ AN", "UBND tỉnh Nghệ An", "Nghệ An") unless the settings name them."""
    by_code = {u.code: u for u in tree}
    top = root
    while top is not None and top.parent_code in by_code:
        top = by_code[top.parent_code]
    top_name = top.name if top is not None else ""
    issuer_parent = settings.issuer_parent or (f"UBND {top_name}".upper() if top_name else "")
    parent_body = settings.issuer_parent or (f"UBND {top_name[:1].lower()}{top_name[1:]}"
                                             if top_name.startswith(NAME_PREFIXES) else f"UBND {top_name}")
    return issuer_parent, parent_body, settings.place or place_name(top_name) or "…"


class _Groups:
    """Which report group each unit is counted in: the unit right under the report's unit."""

    def __init__(self, session: Session, unit_code: str | None):
        tree = api.unit_tree(session) if unit_code is None else api.unit_subtree(session, unit_code)
        self.names = {u.code: u.name for u in tree}
        self.group: dict[str, str] = {}
        top = 0 if unit_code is None else 1
        current: list[str] = []
        for unit in tree:  # depth first: a unit's ancestors are the path above it
            del current[unit.depth:]
            current.append(unit.code)
            self.group[unit.code] = current[min(top, len(current) - 1)]
        self.order = list(dict.fromkeys(self.group[u.code] for u in tree))

    def of(self, unit_code: str) -> str:
        return self.group.get(unit_code, unit_code)


def _people(session: Session, period: Period, unit_code: str | None, groups: _Groups) -> list[PersonRow]:
    rows = api.period_summary(session, period.first, period.last, unit_code)
    people = [PersonRow(r["staff_code"], r["name"], r["unit_code"], r["unit_name"], groups.of(r["unit_code"]),
                        groups.names.get(groups.of(r["unit_code"]), r["unit_name"]),
                        {k: int(r[k]) for k in COUNTED}) for r in rows]
    order = {code: i for i, code in enumerate(groups.order)}
    by_name = api.sort_by_name(people, lambda p: p.name)
    return sorted(by_name, key=lambda p: order.get(p.group_code, len(order)))


def gather_report(session: Session, month: str, unit_code: str | None, settings: ReportSettings,
                  progress: Progress | None = None, today: dt.date | None = None) -> ReportData:
    """Everything the report of ``month`` for the unit (and the units under it; None: all) shows."""
    period = report_period(month, settings.start_day)
    tree = api.unit_tree(session)
    if unit_code is not None:
        root = api.unit_subtree(session, unit_code)[0]  # UnknownUnit when there is no such unit
    else:
        roots = [u for u in tree if u.depth == 0]
        if not roots:
            raise InvalidInput(_("there are no units yet: load a set-up bundle first"))
        root = roots[0] if len(roots) == 1 else None
        unit_code = root.code if root is not None else None
    groups = _Groups(session, unit_code)
    steps = TREND_MONTHS + 1  # six summaries and the spot checks
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(step, steps, label)

    people = _people(session, period, unit_code, groups)
    tick(_("summary of {period}", period=period.label))
    previous_period = period.previous()
    previous_rows = _people(session, previous_period, unit_code, groups)
    tick(_("summary of {period}", period=previous_period.label))
    previous_totals = _totals(previous_rows)
    # Without punches in the period before, every person "was absent" then: nothing to compare with.
    previous = {p.staff_code: p.counts for p in previous_rows} if has_data(previous_totals) else {}
    trend = [TrendPoint(previous_period, len(previous_rows), previous_totals),
             TrendPoint(period, len(people), _totals(people))]
    earlier = previous_period
    for _i in range(TREND_MONTHS - 2):
        earlier = earlier.previous()
        rows = api.period_summary(session, earlier.first, earlier.last, unit_code)
        trend.insert(0, TrendPoint(earlier, len(rows), _totals(rows)))
        tick(_("summary of {period}", period=earlier.label))
    alerts = alerts_of(people, settings.thresholds, previous)
    previous_alerts = alerts_of(previous_rows, settings.thresholds, {}) if previous else []
    units = []
    for code in groups.order:
        members = [p for p in people if p.group_code == code]
        if members:
            units.append(UnitRow(code, groups.names.get(code, code), len(members), _totals(members),
                                 sum(1 for a in alerts if a.person.group_code == code)))
    codes = frozenset(groups.group)
    spot = spot_check_section(session, period, codes, settings, today)
    tick(_("spot checks"))
    issuer_parent, parent_body, place = issuer_names(tree, root, settings)
    return ReportData(
        period=period, previous=previous_period, unit_code=unit_code,
        unit_name=root.name if root is not None else "các đơn vị",
        unit_kind=root.kind if root is not None else "",
        issuer_parent=issuer_parent, parent_body=parent_body, place=place,
        settings=settings, generated=today or dt.date.today(), people=people, units=units,
        totals=_totals(people), previous_people=len(previous_rows), previous_totals=previous_totals,
        alerts=alerts, previous_alerts=len(previous_alerts), trend=trend,
        has_punches=has_data(_totals(people)), previous_has_punches=bool(previous),
        spot=spot,
    )
