"""The spot-check half of the monthly report, as plain data.

The spot-check records themselves belong to ``inspections`` (models and use cases); this module
only turns what they hold for a period and a set of units into the rows the report prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session


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

    spot_check: str
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


def spot_check_section(session: Session, first: dt.date, last: dt.date, unit_codes: frozenset[str]) -> SpotChecks:
    """The spot checks of the units in the days ``first`` to ``last``, as the report's rows.

    The spot-check records are not part of this build yet: the report says so instead of
    pretending that no check took place.
    """
    return SpotChecks()
