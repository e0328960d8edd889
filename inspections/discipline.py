"""The register of discipline decisions and the half-yearly publication list (Session, no Flask).

Public signatures:

- ``record_decision(session, account, fields, actor, today=None) -> (DecisionRow, created)``
- ``withdraw_decision(session, account, decision_id, reason, actor) -> (DecisionRow, changed)``
- ``decisions(session, account, first=None, last=None, unit_code=None) -> list[DecisionRow]``
- ``publication_list(session, account, half, unit_code=None) -> list[PublicationRow]``
- ``parse_half("2026-H2") -> HalfYear``

People and units are read through ``attendance.api``. A decision stays with the unit the
person belonged to on its date, and the scope is that unit's: outside it a decision does not
exist (NotFound); inside it, recording or annulling needs ``review_spot_checks`` or
``build_reports`` (Forbidden). A decision is never deleted: annulling marks it, and the
publication list leaves it out. Every refusal names the field.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import api as public
from attendance.accounts import (
    Account,
    Permission,
    in_scope,
    require_staff,
    require_unit,
    scope_unit_codes,
)
from attendance.audit import record_change
from attendance.errors import Conflict, Forbidden, InvalidInput, NotFound
from attendance.i18n import _

from .models import DisciplineDecision
from .services import retry_on_race

#: The forms of discipline of the law on cadres and civil servants, by code, with their Vietnamese names.
FORMS: dict[str, str] = {
    "reprimand": "Khiển trách",
    "warning": "Cảnh cáo",
    "salary_grade_delay": "Hạ bậc lương",
    "demotion": "Giáng chức",
    "dismissal_from_post": "Cách chức",
    "forced_resignation": "Buộc thôi việc",
}
FIELDS = ("staff", "number", "date", "form", "issued_by", "reason", "spot_check")
ENTITY = "discipline_decision"
#: Before this day a date is a typing mistake, not a decision still worth publishing.
EARLIEST = dt.date(1990, 1, 1)
MAX_NUMBER = 60
MAX_ISSUER = 200
MAX_REASON = 2000
MAX_CODE = 40
HALF = re.compile(r"(\d{4})-H([12])")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")



@dataclass(frozen=True)
class DecisionRow:
    """One decision of the register as the screens, the CLI and the API show it."""

    id: int
    staff_code: str
    name: str
    position: str
    unit_code: str
    unit_name: str
    number: str
    decided_on: dt.date
    form: str
    form_label: str
    issued_by: str
    reason: str
    spot_check: str | None
    created_at: dt.datetime
    created_by: str
    annulled_at: dt.datetime | None
    annulled_by: str | None
    annul_reason: str | None

    @property
    def annulled(self) -> bool:
        """Whether the decision was annulled (kept in the register, left out of the list)."""
        return self.annulled_at is not None

    def document(self) -> dict[str, Any]:
        """The JSON form (CLI ``--json`` and the API): dates as ISO text."""
        return {"id": self.id, "staff": self.staff_code, "name": self.name, "position": self.position,
                "unit": self.unit_code, "unit_name": self.unit_name, "number": self.number,
                "date": self.decided_on.isoformat(), "form": self.form, "form_label": self.form_label,
                "issued_by": self.issued_by, "reason": self.reason, "spot_check": self.spot_check,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by,
                "annulled_at": self.annulled_at.isoformat() if self.annulled_at else None,
                "annulled_by": self.annulled_by, "annul_reason": self.annul_reason}


@dataclass(frozen=True)
class PublicationRow:
    """One line of the publication list: who, which decision, which form, issued by whom."""

    staff_code: str
    name: str
    position: str
    unit_name: str
    number: str
    decided_on: dt.date
    form_label: str
    issued_by: str


@dataclass(frozen=True)
class HalfYear:
    """A half year: H1 is January to June, H2 July to December."""

    year: int
    half: int

    @property
    def first(self) -> dt.date:
        """Its first day."""
        return dt.date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def last(self) -> dt.date:
        """Its last day."""
        return dt.date(self.year, 6, 30) if self.half == 1 else dt.date(self.year, 12, 31)

    @property
    def label(self) -> str:
        """'2026-H2'."""
        return f"{self.year}-H{self.half}"

    @property
    def phrase(self) -> str:
        """'6 tháng đầu năm 2026' or '6 tháng cuối năm 2026', as the list's title says it."""
        return f"6 tháng {'đầu' if self.half == 1 else 'cuối'} năm {self.year}"


def parse_half(text: str, field: str = "half") -> HalfYear:
    """'2026-H1' or '2026-H2' as a HalfYear (InvalidInput naming ``field``)."""
    match = HALF.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not 1990 <= int(match.group(1)) <= 2999:
        raise InvalidInput(_("{field}: expected YYYY-H1 or YYYY-H2, got {value!r}", field=field,
                             value=str(text)[:20]))
    return HalfYear(int(match.group(1)), int(match.group(2)))


def current_half(today: dt.date | None = None) -> HalfYear:
    """The half year ``today`` falls in."""
    today = today or dt.date.today()
    return HalfYear(today.year, 1 if today.month <= 6 else 2)


def _invalid(field: str, problem: str) -> NoReturn:
    raise InvalidInput(f"{field}: {problem}")


def _text(fields: Mapping[str, Any], field: str, limit: int, required: bool) -> str:
    value = fields.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            _invalid(field, _("required"))
        return ""
    if not isinstance(value, str):
        _invalid(field, _("expected text"))
    # One spelling of each Vietnamese letter (keyboards send composed or decomposed accents), so
    # that the same decision typed twice is the same text.
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if CONTROL.search(value):
        _invalid(field, _("control characters are not allowed"))
    if len(text) > limit:
        _invalid(field, _("at most {n} characters, got {length}", n=limit, length=len(text)))
    return text


def _date(fields: Mapping[str, Any], today: dt.date) -> dt.date:
    value = fields.get("date")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()
        if not DATE.fullmatch(text):
            _invalid("date", _("expected YYYY-MM-DD, got {value!r}", value=text[:20]))
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            _invalid("date", _("no such day: {value}", value=text))
    if not isinstance(value, dt.date):
        _invalid("date", _("required (YYYY-MM-DD)"))
    if value > today:
        _invalid("date", _("{day} is in the future", day=f"{value:%d/%m/%Y}"))
    if value < EARLIEST:
        _invalid("date", _("{day} is before {earliest}", day=f"{value:%d/%m/%Y}", earliest=f"{EARLIEST:%d/%m/%Y}"))
    return value


def _require_recorder(account: Account) -> None:
    if not (account.may(Permission.REVIEW_SPOT_CHECKS) or account.may(Permission.BUILD_REPORTS)):
        raise Forbidden(_("your role ({role}) may not do this", role=account.role.value))


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _row(session: Session, decision: DisciplineDecision, units: dict[str, str] | None = None) -> DecisionRow:
    person = public.staff_member(session, decision.staff_code, decision.decided_on)
    if units is None:
        units = {u.code: u.name for u in public.unit_tree(session)}
    return DecisionRow(decision.id, decision.staff_code, person.name, person.position, decision.unit_code,
                       units.get(decision.unit_code, decision.unit_code), decision.number, decision.decided_on,
                       decision.form, FORMS.get(decision.form, decision.form), decision.issued_by, decision.reason,
                       decision.spot_check_uuid, decision.created_at, decision.created_by, decision.annulled_at,
                       decision.annulled_by, decision.annul_reason)


def record_decision(session: Session, account: Account, fields: Mapping[str, Any], actor: str,
                    today: dt.date | None = None) -> tuple[DecisionRow, bool]:
    """Record a decision: created (True), or the same one entered again (False, nothing changes).

    The same number for the same person with other details is a Conflict naming the fields.
    """
    if not isinstance(fields, Mapping):
        _invalid("decision", _("expected an object with fields {fields}", fields=", ".join(FIELDS)))
    unknown = sorted(str(k)[:40] for k in fields if k not in FIELDS)
    if unknown:
        _invalid(unknown[0], _("unknown field (expected {fields})", fields=", ".join(FIELDS)))
    staff = _text(fields, "staff", MAX_CODE, required=True)
    require_staff(session, account, staff)  # outside the scope: 404 before anything else is said
    _require_recorder(account)
    values = {
        "number": _text(fields, "number", MAX_NUMBER, required=True),
        "decided_on": _date(fields, today or dt.date.today()),
        "form": _text(fields, "form", 40, required=True),
        "issued_by": _text(fields, "issued_by", MAX_ISSUER, required=True),
        "reason": _text(fields, "reason", MAX_REASON, required=False),
        "spot_check_uuid": None,
    }
    if values["form"] not in FORMS:
        _invalid("form", _("expected one of {forms}, got {value!r}", forms=", ".join(FORMS), value=values["form"][:40]))
    spot_check = _text(fields, "spot_check", 40, required=False)
    if spot_check:
        from .services import check_uuid, get_spot_check

        try:
            values["spot_check_uuid"] = get_spot_check(session, account, check_uuid(spot_check)).uuid
        except (InvalidInput, NotFound) as exc:
            _invalid("spot_check", str(exc))
    unit_code = public.staff_member(session, staff, values["decided_on"]).unit_code
    return retry_on_race(session, lambda: _record(session, staff, unit_code, values, actor),
                         _("the decision is being recorded by another request; try again shortly"))


def _record(session: Session, staff: str, unit_code: str, values: dict[str, Any],
            actor: str) -> tuple[DecisionRow, bool]:
    stored = session.scalar(select(DisciplineDecision).where(DisciplineDecision.number == values["number"],
                                                             DisciplineDecision.staff_code == staff))
    if stored is not None:
        differing = [name for name in ("decided_on", "form", "issued_by", "reason", "spot_check_uuid")
                     if getattr(stored, name) != values[name]]
        if differing:
            raise Conflict(_("decision {number} of {staff} is already recorded with another {fields}",
                             number=values["number"], staff=staff,
                             fields=", ".join(FIELD_NAMES.get(f, f) for f in differing)))
        return _row(session, stored), False
    decision = DisciplineDecision(staff_code=staff, unit_code=unit_code, created_at=_now(), created_by=actor,
                                  **values)
    session.add(decision)
    session.flush()  # the UNIQUE (number, staff) decides a race here
    record_change(session, actor, "create", ENTITY, f"{staff} {values['number']}",
                  {"number": [None, values["number"]], "date": [None, values["decided_on"]],
                   "form": [None, values["form"]], "issued_by": [None, values["issued_by"]],
                   "reason": [None, values["reason"]], "spot_check": [None, values["spot_check_uuid"]],
                   "unit": [None, unit_code]})
    return _row(session, decision), True


#: The stored columns by the field names callers use.
FIELD_NAMES = {"decided_on": "date", "spot_check_uuid": "spot_check"}


def _find(session: Session, account: Account, decision_id: int) -> DisciplineDecision:
    row = session.get(DisciplineDecision, decision_id) if 0 < decision_id < 2**63 else None
    if row is None or not in_scope(scope_unit_codes(session, account), row.unit_code):
        raise NotFound(_("no discipline decision {id}", id=decision_id))
    return row


def withdraw_decision(session: Session, account: Account, decision_id: int, reason: Any,
                      actor: str) -> tuple[DecisionRow, bool]:
    """Mark a decision annulled with the reason (kept, never deleted); False when it already was."""
    row = _find(session, account, decision_id)
    _require_recorder(account)
    text = _text({"reason": reason}, "reason", MAX_REASON, required=True)
    if row.annulled_at is not None:
        return _row(session, row), False
    row.annulled_at, row.annulled_by, row.annul_reason = _now(), actor, text
    record_change(session, actor, "annul", ENTITY, f"{row.staff_code} {row.number}",
                  {"annulled": [False, True], "annul_reason": [None, text]})
    return _row(session, row), True


def _units(session: Session, account: Account, unit_code: str | None) -> frozenset[str] | None:
    """The unit codes to read (a unit and those under it, else the scope; None: every unit)."""
    if unit_code is None:
        return scope_unit_codes(session, account)
    require_unit(session, account, unit_code)
    return frozenset(u.code for u in public.unit_subtree(session, unit_code))


def decisions(session: Session, account: Account, first: dt.date | None = None, last: dt.date | None = None,
              unit_code: str | None = None) -> list[DecisionRow]:
    """Decisions dated ``first`` to ``last`` (inclusive, open when None) in the scope, annulled ones too."""
    if first is not None and last is not None and last < first:
        _invalid("to", _("{last} is before {first}", last=f"{last:%d/%m/%Y}", first=f"{first:%d/%m/%Y}"))
    units = _units(session, account, unit_code)
    query = select(DisciplineDecision)
    if units is not None:
        query = query.where(DisciplineDecision.unit_code.in_(sorted(units)))
    if first is not None:
        query = query.where(DisciplineDecision.decided_on >= first)
    if last is not None:
        query = query.where(DisciplineDecision.decided_on <= last)
    names = {u.code: u.name for u in public.unit_tree(session)}
    rows = session.scalars(query.order_by(DisciplineDecision.decided_on, DisciplineDecision.number,
                                          DisciplineDecision.id))
    return [_row(session, r, names) for r in rows]


def publication_list(session: Session, account: Account, half: str, unit_code: str | None = None) -> list[PublicationRow]:
    """The half year's decisions in force (annulled ones left out), by date, number and name."""
    period = parse_half(half)
    rows = [r for r in decisions(session, account, period.first, period.last, unit_code) if not r.annulled]
    return [PublicationRow(r.staff_code, r.name, r.position, r.unit_name, r.number, r.decided_on, r.form_label,
                           r.issued_by)
            for r in sorted(rows, key=lambda r: (r.decided_on, r.number, public.name_sort_key(r.name)))]
