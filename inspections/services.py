"""Spot-check use cases: each takes a Session (the caller commits), never Flask.

Public signatures (stable; other parts build on them):

- ``put_spot_check(session, account, uuid, content, tablet_id=None) -> (SpotCheckRecord, created)``
- ``get_spot_check(session, account, uuid) -> SpotCheckRecord``
- ``list_spot_checks(session, account, unit_code: str | None, month: str) -> list[dict]``
- ``put_attachment(session, account, uuid, name, data, content_type=None, tablet_id=None) -> (dict, created)``
- ``attachment_content(session, account, uuid, name) -> (bytes, content_type)``
- ``submit(session, account, uuid, tablet_id=None) -> (SpotCheckRecord, changed)``
- ``approve(session, account, uuid, tablet_id=None) -> (SpotCheckRecord, changed)``
- ``send_back(session, account, uuid, comment, tablet_id=None) -> SpotCheckRecord``
- ``correct(session, account, uuid, replaces_version, content, reason, tablet_id=None) -> (SpotCheckRecord, created)``
- ``reconciliation(session, account, uuid) -> list[dict]`` (see ``inspections.reconciliation``)
- ``resolve(session, account, uuid, staff_code, note) -> (dict, created)``
- ``open_actions(session, account, unit_code=None, today=None) -> list[dict]`` (``overdue`` derived)
- ``observations_of(session, staff_code, day) -> list[dict]`` (no scope check: the caller guards)
- ``send_backs(session, account, uuid) -> list[dict]``

Errors: ``InvalidInput`` (422, the message starts with the field, e.g. ``headcount[3].status``),
``NotFound`` (absent or outside the scope), ``Forbidden`` (the role or the team), ``Conflict``
with a ``code`` saying why (``already_submitted``, ``locked``, ``not_submitted``,
``not_locked``, ``stale_version``, ``already_resolved``, ``not_reviewable``).
Every change is written with ``attendance.audit.record_change`` (entity ``spot_check``,
key the UUID; the tablet's install id as ``device``).

A first PUT that loses a race (UNIQUE uuid, or UNIQUE (spot check, version)) rolls the
session back and is tried again, so it then sees the winner's record: the same content
answers as a replay. The caller's session must hold nothing else uncommitted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attendance import api as public
from attendance.accounts import Account, Permission, in_scope, require_unit, scope_unit_codes
from attendance.audit import record_change
from attendance.errors import Busy, Conflict, Forbidden, InvalidInput, NotFound
from attendance.i18n import _

from . import reconciliation as rec
from .checklists import find_template
from .models import (
    Attachment,
    Finding,
    FollowUpAction,
    HeadcountLine,
    Resolution,
    SendBack,
    SpotCheck,
    SpotCheckVersion,
)

STATES = ("draft", "submitted", "locked")
STATUSES = ("present", "late", "left_early", "absent_excused", "absent_unverified", "absent_unexcused")
RESULTS = ("pass", "fail", "not_applicable")
ACTION_STATUSES = ("open", "done", "cancelled")
FIELDS = ("unit", "started_at", "ended_at", "headcount_at", "team", "lead", "legal_basis", "gps", "template",
          "headcount", "findings", "actions", "attachments")
REQUIRED = ("unit", "started_at", "headcount_at", "team", "lead", "template", "headcount")
HEADCOUNT_FIELDS = ("staff", "status", "reference", "note", "arrived_at", "left_at")
FINDING_FIELDS = ("item", "staff", "result", "score", "note", "count", "apology_sent", "attachment")
ACTION_FIELDS = ("description", "assignee", "due", "status", "done_at")
ATTACHMENT_FIELDS = ("name", "sha256", "size", "content_type", "item")

# Bounds: hostile content stays cheap to check and to store.
MAX_HEADCOUNT = 2000
MAX_FINDINGS = 5000
MAX_ACTIONS = 500
MAX_ATTACHMENTS = 200
MAX_TEAM = 30
MAX_TEXT = 2000
MAX_SHORT = 200
MAX_CODE = 40
MAX_USERNAME = 64
MAX_ATTACHMENT = 16 * 1024 * 1024
MAX_SCORE = 1000.0
MAX_COUNT = 1_000_000
T = TypeVar("T")
RACE_RETRIES = 3

DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
SHA256 = re.compile(r"[0-9a-f]{64}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _show(value: Any) -> str:
    """A value sent by the client, for a message: short, and quoted unless it is a plain name."""
    text = str(value)
    # repr escapes lone surrogates and control characters, which could not be sent back as UTF-8.
    return text if re.fullmatch(r"[\w.-]{1,40}", text, re.ASCII) else repr(text[:40])


def _conflict(code: str, message: str) -> NoReturn:
    exc = Conflict(message)
    exc.code = code  # the API's error code says which transition was refused
    raise exc


def _invalid(path: str, problem: str) -> NoReturn:
    raise InvalidInput(f"{path}: {problem}")


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def content_digest(content: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces): equal content, equal digest."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check_uuid(value: str) -> str:
    """The spot check's UUID in its canonical lower-case form (422 when it is none)."""
    try:
        parsed = uuidlib.UUID(value) if isinstance(value, str) and len(value) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value.lower():
        _invalid("uuid", _("not a UUID (8-4-4-4-12 hexadecimal digits)"))
    return str(parsed)


def _tablet(tablet_id: str | None) -> str | None:
    if tablet_id is None or not tablet_id.strip():
        return None
    return CONTROL.sub("", tablet_id.strip())[:100]


# ------------------------------------------------------------------ validation


@dataclass
class Parsed:
    """Content checked and converted, ready for the derived rows."""

    unit: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    headcount_at: dt.datetime
    team: list[str]
    lead: str
    template: tuple[str, int]
    headcount: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    attachments: list[dict[str, Any]]


def _object(path: str, value: Any, fields: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        _invalid(path, _("expected a JSON object"))
    unknown = sorted(set(value) - set(fields))
    if unknown:
        _invalid(f"{path}.{_show(unknown[0])}" if path else _show(unknown[0]),
                 _("unknown field; expected {fields}", fields=", ".join(fields)))
    for key in required:
        if value.get(key) is None:
            _invalid(f"{path}.{key}" if path else key, _("required"))
    return value


def _list(path: str, value: Any, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        _invalid(path, _("expected a list"))
    if len(value) > limit:
        _invalid(path, _("at most {n} entries, got {count}", n=limit, count=len(value)))
    return value


def _text(path: str, value: Any, limit: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            _invalid(path, _("required"))
        return None
    if not isinstance(value, str):
        _invalid(path, _("expected text"))
    if len(value) > limit:
        _invalid(path, _("at most {n} characters, got {count}", n=limit, count=len(value)))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _invalid(path, _("contains a character that is not Unicode text"))
    if required and not value.strip():
        _invalid(path, _("required"))
    return value


def _code(path: str, value: Any, limit: int = MAX_CODE) -> str:
    text = _text(path, value, limit, required=True)
    assert text is not None
    if CONTROL.search(text) or text != text.strip():
        _invalid(path, _("not a code: {value!r}", value=text[:40]))
    return text


def _moment(path: str, value: Any, required: bool = False) -> dt.datetime | None:
    if value is None:
        if required:
            _invalid(path, _("required (YYYY-MM-DDTHH:MM:SS)"))
        return None
    if not isinstance(value, str) or not DATETIME.fullmatch(value):
        _invalid(path, _("expected YYYY-MM-DDTHH:MM:SS, got {value!r}", value=str(value)[:40]))
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        _invalid(path, str(exc))
    if not 2000 <= moment.year <= 2100:
        _invalid(path, _("the year {year} is not plausible", year=moment.year))
    return moment


def _day(path: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str) or not DATE.fullmatch(value):
        _invalid(path, _("expected YYYY-MM-DD, got {value!r}", value=str(value)[:40]))
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        _invalid(path, str(exc))
    if not 2000 <= day.year <= 2100:
        _invalid(path, _("the year {year} is not plausible", year=day.year))
    return day


def _number(path: str, value: Any, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:  # NaN never equals itself
        _invalid(path, _("expected a number"))
    if not low <= value <= high:
        _invalid(path, _("expected a number from {low} to {high}", low=low, high=high))
    return float(value)


def _integer(path: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _invalid(path, _("expected a whole number"))
    if not low <= value <= high:
        _invalid(path, _("expected a whole number from {low} to {high}", low=low, high=high))
    return value


def _head(session: Session, account: Account, content: Any) -> tuple[dict[str, Any], str]:
    """The content as an object and its unit, in the account's scope (404 otherwise)."""
    data = _object("", content, FIELDS)
    unit = _code("unit", data.get("unit"))
    require_unit(session, account, unit)
    return data, unit


def _team(data: dict[str, Any]) -> tuple[list[str], str]:
    team = []
    for i, member in enumerate(_list("team", data.get("team"), MAX_TEAM)):
        team.append(_code(f"team[{i}]", member, MAX_USERNAME))
    if not team:
        _invalid("team", _("at least one inspector"))
    return team, _code("lead", data.get("lead"), MAX_USERNAME)


def validate(session: Session, data: dict[str, Any], unit: str) -> Parsed:
    """Check every field of a spot check's content (after ``_head``); 422 naming the first wrong one."""
    for key in REQUIRED:
        if data.get(key) is None:
            _invalid(key, _("required"))
    team, lead = _team(data)
    started = _moment("started_at", data.get("started_at"), required=True)
    ended = _moment("ended_at", data.get("ended_at"))
    at = _moment("headcount_at", data.get("headcount_at"), required=True)
    assert started is not None and at is not None
    if ended is not None and ended < started:
        _invalid("ended_at", _("before started_at"))
    if at.date() != started.date():
        _invalid("headcount_at", _("not on the day the spot check started"))
    _text("legal_basis", data.get("legal_basis"), MAX_TEXT)
    gps = data.get("gps")
    if gps is not None:
        _object("gps", gps, ("lat", "lon", "accuracy_m"), ("lat", "lon"))
        _number("gps.lat", gps.get("lat"), -90, 90)
        _number("gps.lon", gps.get("lon"), -180, 180)
        _number("gps.accuracy_m", gps.get("accuracy_m"), 0, 1_000_000)
    pinned = _object("template", data.get("template"), ("code", "version"), ("code", "version"))
    template_code = _code("template.code", pinned.get("code"))
    template_version = _integer("template.version", pinned.get("version"), 1, 1_000_000)
    assert template_version is not None
    template = find_template(session, template_code, template_version)
    if template is None:
        _invalid("template", _("no checklist template {code!r} version {version}", code=template_code,
                               version=template_version))
    items = {item.code: item for item in template.items}

    # The headcount: exactly the people of the unit employed on the day of the headcount.
    expected = {s.code for s in public.staff_of_unit(session, unit, at.date())}
    headcount: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(_list("headcount", data.get("headcount"), MAX_HEADCOUNT)):
        path = f"headcount[{i}]"
        line = _object(path, raw, HEADCOUNT_FIELDS, ("staff", "status"))
        staff = _code(f"{path}.staff", line["staff"])
        if staff in seen:
            _invalid(f"{path}.staff", _("{staff} is already listed at headcount[{index}]", staff=staff,
                                        index=seen[staff]))
        if staff not in expected:
            _invalid(f"{path}.staff", _("{staff} is not a staff member of unit {unit} on {day}", staff=staff,
                                        unit=unit, day=at.date().isoformat()))
        seen[staff] = i
        status = line["status"]
        if status not in STATUSES:
            _invalid(f"{path}.status", _("one of {values}", values=", ".join(STATUSES)))
        reference = _text(f"{path}.reference", line.get("reference"), MAX_SHORT)
        if status == "absent_excused" and not (reference or "").strip():
            _invalid(f"{path}.reference", _("required for absent_excused (the decision or document)"))
        headcount.append({"staff_code": staff, "status": status, "reference": reference,
                          "note": _text(f"{path}.note", line.get("note"), MAX_TEXT),
                          "arrived_at": _moment(f"{path}.arrived_at", line.get("arrived_at")),
                          "left_at": _moment(f"{path}.left_at", line.get("left_at")), "position": i})
    missing = sorted(expected - set(seen))
    if missing:
        _invalid("headcount", _("missing {count} staff member(s) of unit {unit} on {day}: {codes}",
                                count=len(missing), unit=unit, day=at.date().isoformat(),
                                codes=", ".join(missing[:20])))

    attachments: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, raw in enumerate(_list("attachments", data.get("attachments"), MAX_ATTACHMENTS)):
        path = f"attachments[{i}]"
        entry = _object(path, raw, ATTACHMENT_FIELDS, ("name", "sha256", "size"))
        name = entry["name"]
        if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or ".." in name:
            _invalid(f"{path}.name", _("use 1-120 letters, digits, '.', '_' or '-', not starting with '.'"))
        if name in names:
            _invalid(f"{path}.name", _("{name} is announced twice", name=name))
        names.add(name)
        sha = entry["sha256"]
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            _invalid(f"{path}.sha256", _("expected 64 lower-case hexadecimal digits"))
        size = _integer(f"{path}.size", entry["size"], 0, MAX_ATTACHMENT)
        item = entry.get("item")
        if item is not None and item not in items:
            _invalid(f"{path}.item", _("{item} is not an item of template {code} version {version}",
                                       item=_show(item), code=template_code, version=template_version))
        attachments.append({"name": name, "sha256": sha, "size": size, "item_code": item,
                            "content_type": _text(f"{path}.content_type", entry.get("content_type"), 100)})

    findings: list[dict[str, Any]] = []
    for i, raw in enumerate(_list("findings", data.get("findings"), MAX_FINDINGS)):
        path = f"findings[{i}]"
        entry = _object(path, raw, FINDING_FIELDS, ("item", "result"))
        code = entry["item"]
        if not isinstance(code, str) or code not in items:
            _invalid(f"{path}.item", _("{item} is not an item of template {code} version {version}",
                                       item=_show(code), code=template_code, version=template_version))
        item = items[code]
        staff = entry.get("staff")
        if staff is not None:
            staff = _code(f"{path}.staff", staff)
            if item.scope == "unit":
                _invalid(f"{path}.staff", _("{item} is about the unit, not a person", item=code))
            if staff not in seen:
                _invalid(f"{path}.staff", _("{staff} is not in the headcount", staff=staff))
        result = entry["result"]
        if result not in RESULTS:
            _invalid(f"{path}.result", _("one of {values}", values=", ".join(RESULTS)))
        score = _number(f"{path}.score", entry.get("score"), 0, MAX_SCORE)
        if score is not None and not item.scored:
            _invalid(f"{path}.score", _("{item} is not scored", item=code))
        apology = entry.get("apology_sent")
        if apology is not None and not isinstance(apology, bool):
            _invalid(f"{path}.apology_sent", _("expected true or false"))
        attachment = entry.get("attachment")
        if attachment is not None and attachment not in names:
            _invalid(f"{path}.attachment", _("{name} is not announced in attachments", name=_show(attachment)))
        findings.append({"item_code": code, "staff_code": staff, "result": result, "score": score,
                         "note": _text(f"{path}.note", entry.get("note"), MAX_TEXT),
                         "count": _integer(f"{path}.count", entry.get("count"), 0, MAX_COUNT),
                         "apology_sent": apology, "position": i})

    actions: list[dict[str, Any]] = []
    for i, raw in enumerate(_list("actions", data.get("actions"), MAX_ACTIONS)):
        path = f"actions[{i}]"
        entry = _object(path, raw, ACTION_FIELDS, ("description",))
        assignee = entry.get("assignee")
        if assignee is not None:
            assignee = _code(f"{path}.assignee", assignee)
            if assignee not in seen:
                _invalid(f"{path}.assignee", _("{staff} is not in the headcount", staff=assignee))
        status = entry.get("status", "open")
        if status not in ACTION_STATUSES:
            _invalid(f"{path}.status", _("one of {values}", values=", ".join(ACTION_STATUSES)))
        done_at = _moment(f"{path}.done_at", entry.get("done_at"))
        if done_at is not None and status != "done":
            _invalid(f"{path}.done_at", _("only for an action that is done"))
        actions.append({"description": _text(f"{path}.description", entry["description"], MAX_TEXT, required=True),
                        "assignee_code": assignee, "due": _day(f"{path}.due", entry.get("due")),
                        "status": status, "done_at": done_at, "position": i})
    return Parsed(unit, started, ended, at, team, lead, (template_code, template_version), headcount, findings,
                  actions, attachments)


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class SpotCheckRecord:
    """A spot check as the API answers it (``document()``), with its header for screens."""

    uuid: str
    unit: str
    state: str
    version: int
    missing_attachments: list[str]
    content: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    locked_at: dt.datetime | None

    def document(self) -> dict[str, Any]:
        """``{"uuid", "state", "version", "missing_attachments", "content"}``."""
        return {"uuid": self.uuid, "state": self.state, "version": self.version,
                "missing_attachments": list(self.missing_attachments), "content": self.content}


def _current(session: Session, row: SpotCheck) -> SpotCheckVersion:
    found = session.scalar(select(SpotCheckVersion).where(SpotCheckVersion.spot_check_id == row.id,
                                                          SpotCheckVersion.version == row.version))
    assert found is not None, "a spot check always has its current version"
    return found


def _missing(session: Session, row: SpotCheck, content: dict[str, Any]) -> list[str]:
    waiting = set(session.scalars(select(Attachment.name).where(Attachment.spot_check_id == row.id,
                                                                Attachment.content.is_(None))))
    # In the order the content announces them.
    return [a["name"] for a in content.get("attachments") or [] if a.get("name") in waiting]


def _record(session: Session, row: SpotCheck) -> SpotCheckRecord:
    content = _current(session, row).content
    return SpotCheckRecord(row.uuid, row.unit_code, row.state, row.version, _missing(session, row, content), content,
                           row.created_at, row.updated_at, row.submitted_at, row.locked_at)


def _find(session: Session, account: Account, uuid: str) -> SpotCheck:
    """The spot check, if it exists and its unit is in the account's scope (NotFound otherwise)."""
    uuid = check_uuid(uuid)
    row = session.scalar(select(SpotCheck).where(SpotCheck.uuid == uuid))
    if row is None or not in_scope(scope_unit_codes(session, account), row.unit_code):
        raise NotFound(_("no spot check {uuid}", uuid=uuid))
    return row


def _in_team(account: Account, team: list[str], lead: str) -> bool:
    return account.username in team or account.username == lead


def _require_editor(account: Account, team: list[str], lead: str) -> None:
    if account.is_admin:
        return
    if not account.may(Permission.EDIT_SPOT_CHECKS):
        raise Forbidden(_("your role ({role}) may not do this", role=account.role.value))
    if not _in_team(account, team, lead):
        raise Forbidden(_("only the team of this spot check ({team}) or its lead may change it",
                          team=", ".join(team)[:200]))


def _require_reviewer(account: Account) -> None:
    if not account.may(Permission.REVIEW_SPOT_CHECKS):
        raise Forbidden(_("your role ({role}) may not do this", role=account.role.value))


def _actor(account: Account) -> str:
    return f"api:{account.username}"


def _audit(session: Session, account: Account, action: str, row: SpotCheck, changes: dict[str, Any],
           tablet_id: str | None, actor: str | None = None) -> None:
    if tablet_id:
        changes = {**changes, "device": tablet_id}
    record_change(session, actor or _actor(account), action, "spot_check", row.uuid, changes)


def _derive(session: Session, row: SpotCheck, parsed: Parsed) -> None:
    """Replace the rows derived from the current version (attachments keep uploaded bytes)."""
    row.unit_code, row.started_at, row.ended_at, row.headcount_at = (parsed.unit, parsed.started_at, parsed.ended_at,
                                                                      parsed.headcount_at)
    row.team, row.lead = parsed.team, parsed.lead
    row.template_code, row.template_version = parsed.template
    for model in (HeadcountLine, Finding, FollowUpAction):
        session.execute(delete(model).where(model.spot_check_id == row.id))
    session.add_all([HeadcountLine(spot_check_id=row.id, **line) for line in parsed.headcount])
    session.add_all([Finding(spot_check_id=row.id, **finding) for finding in parsed.findings])
    session.add_all([FollowUpAction(spot_check_id=row.id, **action) for action in parsed.actions])
    stored = {a.name: a for a in session.scalars(select(Attachment).where(Attachment.spot_check_id == row.id))}
    wanted = {a["name"]: a for a in parsed.attachments}
    for name, attachment in stored.items():
        announced = wanted.get(name)
        if announced is None or (announced["sha256"], announced["size"]) != (attachment.sha256, attachment.size):
            session.delete(attachment)  # no longer announced, or announced with other bytes
    session.flush()
    for name, announced in wanted.items():
        attachment = stored.get(name)
        if attachment is not None and (announced["sha256"], announced["size"]) == (attachment.sha256, attachment.size):
            attachment.item_code = announced["item_code"]
            attachment.content_type = announced["content_type"] or attachment.content_type
        else:
            session.add(Attachment(spot_check_id=row.id, **announced))
    session.flush()


def _add_version(session: Session, row: SpotCheck, account: Account, content: dict[str, Any], digest: str,
                 tablet_id: str | None, now: dt.datetime, reason: str | None = None,
                 replaces: int | None = None) -> None:
    session.add(SpotCheckVersion(spot_check_id=row.id, version=row.version, content=content, digest=digest,
                                 actor=_actor(account), tablet_id=tablet_id, reason=reason, replaces_version=replaces,
                                 received_at=now))
    session.flush()  # the UNIQUE (spot check, version) decides a race here


def retry_on_race(session: Session, attempt: Callable[[], T], busy: str) -> T:
    """``attempt()``, started again after an IntegrityError (another request stored the same
    row first: the next attempt finds and compares it); Busy with ``busy`` after a few tries."""
    for _try in range(RACE_RETRIES):
        try:
            return attempt()
        except IntegrityError:
            session.rollback()
    raise Busy(busy)


def put_spot_check(session: Session, account: Account, uuid: str, content: Any,
                   tablet_id: str | None = None) -> tuple[SpotCheckRecord, bool]:
    """Store a spot check's content: created (True) the first time, a replay or a new draft version after."""
    uuid = check_uuid(uuid)
    tablet_id = _tablet(tablet_id)
    return retry_on_race(session, lambda: _put(session, account, uuid, content, tablet_id), _("the spot check is being changed by another request; try again shortly"))


def _put(session: Session, account: Account, uuid: str, content: Any,
         tablet_id: str | None) -> tuple[SpotCheckRecord, bool]:
    row = session.scalar(select(SpotCheck).where(SpotCheck.uuid == uuid))
    now = _now()
    if row is None:
        data, unit = _head(session, account, content)
        if not account.is_admin and not account.may(Permission.EDIT_SPOT_CHECKS):
            raise Forbidden(_("your role ({role}) may not do this", role=account.role.value))
        team, lead = _team(data)
        _require_editor(account, team, lead)
        parsed = validate(session, data, unit)
        digest = content_digest(data)
        row = SpotCheck(uuid=uuid, unit_code=unit, state="draft", version=1, template_code=parsed.template[0],
                        template_version=parsed.template[1], started_at=parsed.started_at,
                        headcount_at=parsed.headcount_at, lead=parsed.lead, team=parsed.team,
                        created_by=_actor(account), created_at=now, updated_at=now)
        session.add(row)
        session.flush()  # the UNIQUE uuid decides a race of first PUTs here
        _add_version(session, row, account, data, digest, tablet_id, now)
        _derive(session, row, parsed)
        _audit(session, account, "create", row, {"state": [None, "draft"], "version": [None, 1],
                                                 "digest": [None, digest], "unit": [None, unit]}, tablet_id)
        return _record(session, row), True
    if not in_scope(scope_unit_codes(session, account), row.unit_code):
        raise NotFound(_("no spot check {uuid}", uuid=uuid))
    _require_editor(account, list(row.team), row.lead)
    current = _current(session, row)
    digest = content_digest(content)
    if digest == current.digest:
        return _record(session, row), False  # a replay: the same answer, nothing changes
    if row.state != "draft":
        _conflict("already_submitted" if row.state == "submitted" else "locked",
                  _("spot check {uuid} is {state}: its content can no longer be replaced", uuid=uuid,
                    state=row.state))
    data, unit = _head(session, account, content)
    if unit != row.unit_code:
        _invalid("unit", _("a spot check stays with its unit ({unit})", unit=row.unit_code))
    parsed = validate(session, data, unit)
    old = row.version
    row.version, row.updated_at = old + 1, now
    _add_version(session, row, account, data, digest, tablet_id, now)
    _derive(session, row, parsed)
    _audit(session, account, "update", row, {"version": [old, row.version], "digest": [current.digest, digest]},
           tablet_id)
    return _record(session, row), False


def get_spot_check(session: Session, account: Account, uuid: str) -> SpotCheckRecord:
    """The spot check with its current content (NotFound when absent or outside the scope)."""
    return _record(session, _find(session, account, uuid))


def list_spot_checks(session: Session, account: Account, unit_code: str | None, month: str) -> list[dict[str, Any]]:
    """Spot checks started in the month, of a unit and the units under it (or the whole scope)."""
    from attendance.services import parse_month

    first, last = parse_month(month)
    scope = scope_unit_codes(session, account)
    if unit_code is not None:
        require_unit(session, account, unit_code)
        units = {u.code for u in public.unit_subtree(session, unit_code)}
    else:
        units = None
    rows = session.scalars(select(SpotCheck).where(
        SpotCheck.started_at >= dt.datetime.combine(first, dt.time()),
        SpotCheck.started_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
        .order_by(SpotCheck.started_at, SpotCheck.uuid))
    out = []
    for row in rows:
        if not in_scope(scope, row.unit_code) or (units is not None and row.unit_code not in units):
            continue
        out.append(summary(row))
    return out


def summary(row: SpotCheck) -> dict[str, Any]:
    """A spot check's header as a list shows it."""
    def iso(value: dt.datetime | None) -> str | None:
        return None if value is None else value.isoformat(timespec="seconds")

    return {"uuid": row.uuid, "unit": row.unit_code, "state": row.state, "version": row.version,
            "started_at": iso(row.started_at), "ended_at": iso(row.ended_at), "headcount_at": iso(row.headcount_at),
            "lead": row.lead, "team": list(row.team), "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}


# ------------------------------------------------------------------ attachments


def put_attachment(session: Session, account: Account, uuid: str, name: str, data: bytes,
                   content_type: str | None = None, tablet_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """Store an announced attachment's bytes: created (True) the first time, a replay after.

    The bytes must have the announced size and SHA-256 (422 otherwise). Allowed in every
    state: the content pinned the bytes by their hash, so uploading them changes nothing.
    """
    row = _find(session, account, uuid)
    _require_editor(account, list(row.team), row.lead)
    attachment = session.scalar(select(Attachment).where(Attachment.spot_check_id == row.id,
                                                         Attachment.name == name[:200]))
    if attachment is None:
        _invalid("name", _("{name} is not announced by the current version", name=_show(name)))
    if len(data) != attachment.size:
        _invalid("size", _("{size} bytes received, {announced} announced", size=len(data),
                           announced=attachment.size))
    digest = hashlib.sha256(data).hexdigest()
    if digest != attachment.sha256:
        _invalid("sha256", _("the bytes have SHA-256 {digest}, {announced} was announced", digest=digest,
                             announced=attachment.sha256))
    now = _now()
    kind = CONTROL.sub("", content_type or "")[:100] or attachment.content_type or "application/octet-stream"
    # Conditional on the bytes still missing: of two racing uploads exactly one writes them.
    done = session.execute(update(Attachment).where(Attachment.id == attachment.id, Attachment.content.is_(None))
                           .values(content=data, uploaded_at=now, content_type=kind)
                           .execution_options(synchronize_session=False))
    created = done.rowcount == 1
    if created:
        _audit(session, account, "attachment", row, {"name": [None, name], "sha256": [None, digest],
                                                     "size": [None, len(data)]}, _tablet(tablet_id))
    session.expire(attachment)
    session.flush()
    record = _record(session, row)
    return {"name": attachment.name, "sha256": attachment.sha256, "size": attachment.size,
            "content_type": attachment.content_type, "missing_attachments": record.missing_attachments}, created


def attachment_content(session: Session, account: Account, uuid: str, name: str) -> tuple[bytes, str]:
    """An uploaded attachment's bytes and type (NotFound when absent or not yet uploaded)."""
    row = _find(session, account, uuid)
    attachment = session.scalar(select(Attachment).where(Attachment.spot_check_id == row.id,
                                                         Attachment.name == name[:200]))
    if attachment is None or attachment.content is None:
        raise NotFound(_("no attachment {name} uploaded", name=_show(name)))
    return attachment.content, attachment.content_type or "application/octet-stream"


# ------------------------------------------------------------------ states


def submit(session: Session, account: Account, uuid: str,
           tablet_id: str | None = None) -> tuple[SpotCheckRecord, bool]:
    """draft → submitted by the team; submitted again is no change (False); locked: 409."""
    row = _find(session, account, uuid)
    _require_editor(account, list(row.team), row.lead)
    if row.state == "submitted":
        return _record(session, row), False
    if row.state == "locked":
        _conflict("locked", _("spot check {uuid} is locked", uuid=row.uuid))
    now = _now()
    row.state, row.submitted_at, row.updated_at = "submitted", now, now
    _audit(session, account, "submit", row, {"state": ["draft", "submitted"], "version": [row.version, row.version]},
           _tablet(tablet_id))
    session.flush()
    return _record(session, row), True


def approve(session: Session, account: Account, uuid: str,
            tablet_id: str | None = None) -> tuple[SpotCheckRecord, bool]:
    """submitted → locked by a team lead; locked again is no change (False); a draft: 409."""
    row = _find(session, account, uuid)
    _require_reviewer(account)
    if row.state == "locked":
        return _record(session, row), False
    if row.state != "submitted":
        _conflict("not_submitted", _("spot check {uuid} is a draft: it must be submitted first", uuid=row.uuid))
    now = _now()
    row.state, row.locked_at, row.updated_at = "locked", now, now
    _audit(session, account, "approve", row, {"state": ["submitted", "locked"]}, _tablet(tablet_id))
    session.flush()
    return _record(session, row), True


def send_back(session: Session, account: Account, uuid: str, comment: Any,
              tablet_id: str | None = None) -> SpotCheckRecord:
    """submitted → draft with the lead's comment (kept); a draft or a locked record: 409."""
    row = _find(session, account, uuid)
    _require_reviewer(account)
    text = _text("comment", comment, MAX_TEXT, required=True)
    assert text is not None
    if row.state != "submitted":
        _conflict("locked" if row.state == "locked" else "not_submitted",
                  _("spot check {uuid} is {state}: only a submitted one can be sent back", uuid=row.uuid,
                    state=row.state))
    now = _now()
    row.state, row.submitted_at, row.updated_at = "draft", None, now
    session.add(SendBack(spot_check_id=row.id, version=row.version, comment=text, by=_actor(account), at=now))
    _audit(session, account, "send_back", row, {"state": ["submitted", "draft"], "comment": [None, text]},
           _tablet(tablet_id))
    session.flush()
    return _record(session, row)


def send_backs(session: Session, account: Account, uuid: str) -> list[dict[str, Any]]:
    """The comments of every send-back of a spot check, oldest first."""
    row = _find(session, account, uuid)
    return [{"version": s.version, "comment": s.comment, "by": s.by, "at": s.at.isoformat(timespec="seconds")}
            for s in session.scalars(select(SendBack).where(SendBack.spot_check_id == row.id).order_by(SendBack.id))]


def correct(session: Session, account: Account, uuid: str, replaces_version: Any, content: Any, reason: Any,
            tablet_id: str | None = None) -> tuple[SpotCheckRecord, bool]:
    """A correction of a locked record by a team lead: a new version; it stays locked.

    ``replaces_version`` must be the current version (409 ``stale_version`` otherwise); the
    same correction sent again answers the record unchanged (False).
    """
    uuid = check_uuid(uuid)
    tablet = _tablet(tablet_id)
    return retry_on_race(session, lambda: _correct(
        session, account, uuid, replaces_version, content, reason, tablet), _("the spot check is being changed by another request; try again shortly"))


def _correct(session: Session, account: Account, uuid: str, replaces_version: Any, content: Any, reason: Any,
             tablet_id: str | None) -> tuple[SpotCheckRecord, bool]:
    row = _find(session, account, uuid)
    _require_reviewer(account)
    replaces = _integer("replaces_version", replaces_version, 1, 1_000_000)
    if replaces is None:
        _invalid("replaces_version", _("required"))
    text = _text("reason", reason, MAX_TEXT, required=True)
    if row.state != "locked":
        _conflict("not_locked", _("spot check {uuid} is {state}: corrections are made to locked records",
                                  uuid=row.uuid, state=row.state))
    current = _current(session, row)
    digest = content_digest(content)
    if current.replaces_version == replaces and current.digest == digest and current.reason == text:
        return _record(session, row), False  # this very correction, sent again
    if replaces != row.version:
        _conflict("stale_version", _("version {n} is not the current version ({current})", n=replaces,
                                     current=row.version))
    data, unit = _head(session, account, content)
    if unit != row.unit_code:
        _invalid("content.unit", _("a spot check stays with its unit ({unit})", unit=row.unit_code))
    parsed = validate(session, data, unit)
    now = _now()
    row.version, row.updated_at = replaces + 1, now
    _add_version(session, row, account, data, digest, tablet_id, now, reason=text, replaces=replaces)
    _derive(session, row, parsed)
    _audit(session, account, "correct", row, {"version": [replaces, row.version], "reason": [None, text],
                                              "digest": [current.digest, digest]}, tablet_id)
    return _record(session, row), True


# ------------------------------------------------------------------ reconciliation


def _observations(session: Session, row: SpotCheck) -> list[rec.Observation]:
    lines = session.scalars(select(HeadcountLine).where(HeadcountLine.spot_check_id == row.id)
                            .order_by(HeadcountLine.position))
    return [rec.Observation(h.staff_code, h.status, h.note, h.reference, h.arrived_at) for h in lines]


def mismatches_of(session: Session, row: SpotCheck) -> list[dict[str, Any]]:
    """The reconciliation of one stored spot check (no scope check: for callers that already chose the rows)."""
    observations = [o for o in _observations(session, row)
                    if o.status in ("present", "late", "absent_excused", "absent_unverified", "absent_unexcused")]
    at = row.headcount_at
    windows = {code: [(w.opens, w.closes) for w in found]
               for code, found in public.session_windows(session, row.unit_code, at.date()).items()}
    punches: dict[str, list[rec.Punch]] = {}
    for seen in observations:
        session_span = rec.session_of(at, windows.get(seen.staff, []))
        before, after = max(at - session_span[0], dt.timedelta(0)), max(session_span[1] - at, dt.timedelta(0))
        punches[seen.staff] = [rec.Punch(p.corrected_time, p.device, p.device_time)
                               for p in public.punches_around(session, seen.staff, at, before, after)]
    resolutions = {(r.staff_code, r.kind): rec.Resolution(r.note, r.by, r.at)
                   for r in session.scalars(select(Resolution).where(Resolution.spot_check_id == row.id))}
    return rec.reconcile(at, observations, punches, windows, resolutions)


def reconciliation(session: Session, account: Account, uuid: str) -> list[dict[str, Any]]:
    """The mismatches between the current headcount and the punch ledger (any state)."""
    return mismatches_of(session, _find(session, account, uuid))


def resolve(session: Session, account: Account, uuid: str, staff_code: str, note: Any) -> tuple[dict[str, Any], bool]:
    """Resolve a person's mismatch with a note (a team lead, or an inspector of the team).

    Only while submitted or locked (409 ``not_reviewable``); the same note again is no change
    (False); another note for a resolved mismatch is 409 ``already_resolved``.
    """
    row = _find(session, account, uuid)
    if not (account.may(Permission.REVIEW_SPOT_CHECKS)
            or (account.may(Permission.EDIT_SPOT_CHECKS) and _in_team(account, list(row.team), row.lead))):
        raise Forbidden(_("only a team lead or an inspector of the team may resolve mismatches"))
    text = _text("note", note, MAX_TEXT, required=True)
    if row.state == "draft":
        _conflict("not_reviewable", _("spot check {uuid} is a draft: mismatches are resolved once it is submitted",
                                      uuid=row.uuid))
    found = next((m for m in mismatches_of(session, row) if m["staff"] == staff_code), None)
    if found is None:
        raise NotFound(_("no mismatch for {staff} in spot check {uuid}", staff=_show(staff_code), uuid=row.uuid))
    if found["resolution"] is not None:
        if found["resolution"]["note"] == text:
            return found, False
        _conflict("already_resolved", _("the mismatch of {staff} is already resolved", staff=staff_code))
    now = _now()
    session.add(Resolution(spot_check_id=row.id, staff_code=staff_code, kind=found["kind"], note=text,
                           by=_actor(account), at=now))
    try:
        session.flush()  # UNIQUE (spot check, staff, kind): of two racing resolutions one is kept
    except IntegrityError:
        session.rollback()
        _conflict("already_resolved", _("the mismatch of {staff} is already resolved", staff=staff_code))
    _audit(session, account, "resolve", row, {"staff": [None, staff_code], "kind": [None, found["kind"]],
                                              "note": [None, text]}, None)
    found = {**found, "resolution": {"note": text, "by": _actor(account), "at": now.isoformat(timespec="seconds")}}
    return found, True


# ------------------------------------------------------------------ read helpers for screens and reports


def open_actions(session: Session, account: Account, unit_code: str | None = None,
                 today: dt.date | None = None) -> list[dict[str, Any]]:
    """Open follow-up actions in the scope (or a unit's subtree), by due date; ``overdue`` derived."""
    today = today or dt.date.today()
    scope = scope_unit_codes(session, account)
    units = None
    if unit_code is not None:
        require_unit(session, account, unit_code)
        units = {u.code for u in public.unit_subtree(session, unit_code)}
    rows = session.execute(select(FollowUpAction, SpotCheck).join(SpotCheck, SpotCheck.id == FollowUpAction.spot_check_id)
                           .where(FollowUpAction.status == "open").order_by(FollowUpAction.due, SpotCheck.uuid,
                                                                            FollowUpAction.position))
    out = []
    for action, check in rows:
        if not in_scope(scope, check.unit_code) or (units is not None and check.unit_code not in units):
            continue
        out.append({"spot_check": check.uuid, "unit": check.unit_code, "description": action.description,
                    "assignee": action.assignee_code, "due": action.due.isoformat() if action.due else None,
                    "status": action.status, "overdue": action.due is not None and action.due < today})
    return out


def observations_of(session: Session, staff_code: str, day: dt.date) -> list[dict[str, Any]]:
    """What spot checks saw of a person on a day: status, note, and the findings about them."""
    low = dt.datetime.combine(day, dt.time())
    rows = session.execute(select(HeadcountLine, SpotCheck).join(SpotCheck, SpotCheck.id == HeadcountLine.spot_check_id)
                           .where(HeadcountLine.staff_code == staff_code, SpotCheck.headcount_at >= low,
                                  SpotCheck.headcount_at < low + dt.timedelta(days=1))
                           .order_by(SpotCheck.headcount_at, SpotCheck.uuid))
    out = []
    for line, check in rows:
        findings = session.scalars(select(Finding).where(Finding.spot_check_id == check.id,
                                                         Finding.staff_code == staff_code).order_by(Finding.position))
        out.append({"spot_check": check.uuid, "unit": check.unit_code, "state": check.state,
                    "headcount_at": check.headcount_at.isoformat(timespec="seconds"), "status": line.status,
                    "reference": line.reference, "note": line.note,
                    "arrived_at": line.arrived_at.isoformat(timespec="seconds") if line.arrived_at else None,
                    "left_at": line.left_at.isoformat(timespec="seconds") if line.left_at else None,
                    "findings": [{"item": f.item_code, "result": f.result, "score": f.score, "note": f.note}
                                 for f in findings]})
    return out
