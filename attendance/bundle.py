"""Validation of the set-up bundle (cli.md): plain data in, typed records out, errors by path."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .engine.types import WEEKDAY_NAMES
from .errors import InvalidInput


class BundleError(InvalidInput):
    """The bundle is not valid; ``errors`` lists every problem, each naming its path."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


class _Invalid(ValueError):
    pass


class _TextDatesLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay text so a bad one is reported by its path."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_bundle_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML or JSON bundle file into plain data."""
    text = Path(path).read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text) if str(path).lower().endswith(".json") else yaml.load(text, Loader=_TextDatesLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise BundleError([f"{path}: not valid YAML/JSON: {exc}".replace("\n", " ")]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BundleError([f"{path}: the bundle must be a mapping with units, staff, ..."])
    return data


# ---------------------------------------------------------------- value parsers


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Invalid(f"expected text, got {value!r}")
    text = str(value).strip()
    if not text:
        raise _Invalid("must not be empty")
    return text


def _opt_text(value: Any) -> str:
    return "" if value is None else _text(value)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _Invalid(f"expected a date YYYY-MM-DD, got {value!r}")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _Invalid(f"expected a date YYYY-MM-DD, got {value!r}") from None


def _opt_date(value: Any) -> dt.date | None:
    return None if value is None else _date(value)


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise _Invalid(f"expected a date-time YYYY-MM-DDTHH:MM, got {value!r}") from None


def minutes_of(value: Any) -> int:
    """'07:30' (or YAML's sexagesimal 450 for an unquoted 07:30) to minutes after midnight."""
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
    else:
        try:
            hours, mins = str(value).split(":")
            minutes = int(hours) * 60 + int(mins)
            if not (0 <= int(mins) < 60):
                raise ValueError
        except ValueError:
            raise _Invalid(f"expected a time HH:MM, got {value!r}") from None
    if not 0 <= minutes <= 24 * 60:
        raise _Invalid(f"expected a time HH:MM, got {value!r}")
    return minutes


def _hhmm(value: Any) -> str:
    minutes = minutes_of(value)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _int(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise _Invalid(f"must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return parse


def _weekdays(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Invalid("expected a list of weekdays such as [mon, tue, wed, thu, fri]")
    out = []
    for item in value:
        name = str(item).strip().lower()[:3]
        if name not in WEEKDAY_NAMES:
            raise _Invalid(f"unknown weekday {item!r} (use mon, tue, wed, thu, fri, sat, sun)")
        out.append(name)
    return sorted(set(out), key=WEEKDAY_NAMES.index)


def _sessions(value: Any) -> list[list[str]]:
    if not isinstance(value, list) or not value:
        raise _Invalid('expected a list of sessions such as [["07:00", "11:30"], ["13:30", "17:00"]]')
    out: list[list[str]] = []
    previous_end = -1
    for i, pair in enumerate(value):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _Invalid(f"session {i + 1}: expected [start, end], got {pair!r}")
        start, end = minutes_of(pair[0]), minutes_of(pair[1])
        if end <= start:
            raise _Invalid(f"session {i + 1}: end {_hhmm(end)} is not after start {_hhmm(start)}")
        if start < previous_end:
            raise _Invalid(f"session {i + 1}: starts before session {i} ends")
        previous_end = end
        out.append([_hhmm(start), _hhmm(end)])
    return out


def _code_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _Invalid(f"expected a list of codes, got {value!r}")
    return [_text(v) for v in value]


# ---------------------------------------------------------------- records


@dataclass
class Bundle:
    """A validated bundle: each section is a list of plain dicts, or None when absent."""

    units: list[dict[str, Any]] | None = None
    schedules: list[dict[str, Any]] | None = None
    country: str | None = None
    overrides: list[dict[str, Any]] | None = None
    devices: list[dict[str, Any]] | None = None
    staff: list[dict[str, Any]] | None = None
    excuses: list[dict[str, Any]] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


Spec = dict[str, tuple[Callable[[Any], Any], bool]]  # key -> (parser, required)

UNIT: Spec = {
    "code": (_text, True), "name": (_text, True), "kind": (_opt_text, False),
    "parent": (lambda v: None if v is None else _text(v), False),
    "timezone": (_text, False),
}
SCHEDULE: Spec = {
    "code": (_text, True), "units": (_code_list, False), "valid_from": (_opt_date, False),
    "valid_to": (_opt_date, False), "weekdays": (_weekdays, False), "sessions": (_sessions, True),
    "grace_late_minutes": (_int(0, 600), False), "grace_early_minutes": (_int(0, 600), False),
    "checkin_window_before_minutes": (_int(0, 1440), False),
    "checkout_window_after_minutes": (_int(0, 1440), False),
    "punch_policy": (_choice("per_session", "first_last"), False),
}
OVERRIDE: Spec = {
    "date": (_date, True), "kind": (_choice("working_day", "day_off"), True),
    "reference": (_opt_text, False), "note": (_opt_text, False),
}
OFFSET: Spec = {"valid_from": (_date, True), "seconds": (_int(-86400, 86400), True)}
DEVICE: Spec = {
    "code": (_text, True), "unit": (lambda v: None if v is None else _text(v), False),
    "kind": (_choice("zk_serial", "zk_tcp", "zk_udp", "adms_push", "file", "serial_lines"), False),
    "name": (_opt_text, False), "port": (lambda v: v, False), "baudrate": (_int(300, 921600), False),
    "machine_number": (_int(1, 255), False), "host": (_text, False), "comm_key": (_int(0, 999999), False),
    "serial": (_text, False), "pull_interval_minutes": (_int(1, 10080), False),
    "chunk_size": (_int(256, 65472), False),
    "clock_offsets": (list, False),
}
ENROLLMENT: Spec = {"device": (_text, True), "user_id": (_text, True)}
ASSIGNMENT: Spec = {"unit": (_text, True), "valid_from": (_opt_date, False), "valid_to": (_opt_date, False)}
STAFF: Spec = {
    "code": (_text, True), "name": (_text, True), "unit": (_text, False), "position": (_opt_text, False),
    "employed_from": (_opt_date, False), "employed_to": (_opt_date, False),
    "schedule": (lambda v: None if v is None else _text(v), False),
    "enrollments": (list, False), "assignments": (list, False),
}
EXCUSE: Spec = {
    "staff": (_text, True), "kind": (_text, True), "start": (_datetime, True), "end": (_datetime, True),
    "reference": (_opt_text, False), "note": (_opt_text, False),
}
SETTINGS: Spec = {"dedupe_seconds": (_int(0, 3600), False), "timezone": (_text, False)}
TOP = {"units", "schedules", "calendar", "devices", "staff", "excuses", "settings"}


def _record(value: Any, spec: Spec, path: str, errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a mapping, got {value!r}")
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in spec:
            errors.append(f"{path}.{key}: unknown key (allowed: {', '.join(spec)})")
            continue
        parser, _required = spec[key]
        try:
            out[key] = parser(item)
        except _Invalid as exc:
            errors.append(f"{path}.{key}: {exc}")
        except (TypeError, ValueError):
            errors.append(f"{path}.{key}: bad value {item!r}")
    for key, (_parser, required) in spec.items():
        if required and key not in value:
            errors.append(f"{path}.{key}: missing")
    return out


def _records(items: Any, spec: Spec, path: str, errors: list[str]) -> list[dict[str, Any]]:
    """Validate a list of records, each remembering its path for later error messages."""
    if not isinstance(items, list):
        errors.append(f"{path}: expected a list")
        return []
    out = []
    for i, item in enumerate(items):
        record = _record(item, spec, f"{path}[{i}]", errors)
        if record is not None:
            record["_path"] = f"{path}[{i}]"
            out.append(record)
    return out


def _section(data: dict[str, Any], name: str, spec: Spec, errors: list[str]) -> list[dict[str, Any]] | None:
    return _records(data[name] or [], spec, name, errors) if name in data else None


def _sub_list(record: dict[str, Any], key: str, spec: Spec, errors: list[str]) -> None:
    if key in record:
        record[key] = _records(record[key], spec, f"{record['_path']}.{key}", errors)


def _duplicates(records: list[dict[str, Any]] | None, key: str, errors: list[str]) -> None:
    seen: dict[Any, str] = {}
    for record in records or []:
        if key in record:
            value = record[key]
            if value in seen:
                errors.append(f"{record['_path']}.{key}: {value!r} already given at {seen[value]}")
            seen[value] = record["_path"]


def validate_bundle(data: dict[str, Any]) -> Bundle:
    """Check a parsed bundle; raise BundleError naming every bad path."""
    errors: list[str] = []
    for key in data:
        if key not in TOP:
            errors.append(f"{key}: unknown key (allowed: {', '.join(sorted(TOP))})")
    bundle = Bundle()
    bundle.units = _section(data, "units", UNIT, errors)
    bundle.schedules = _section(data, "schedules", SCHEDULE, errors)
    bundle.devices = _section(data, "devices", DEVICE, errors)
    bundle.staff = _section(data, "staff", STAFF, errors)
    bundle.excuses = _section(data, "excuses", EXCUSE, errors)
    if "settings" in data:
        bundle.settings = _record(data["settings"] or {}, SETTINGS, "settings", errors) or {}
    if "calendar" in data:
        calendar = data["calendar"] or {}
        if not isinstance(calendar, dict):
            errors.append("calendar: expected a mapping with country and overrides")
        else:
            for key in calendar:
                if key not in ("country", "overrides"):
                    errors.append(f"calendar.{key}: unknown key (allowed: country, overrides)")
            if "country" in calendar:
                try:
                    bundle.country = _text(calendar["country"]).upper()
                except _Invalid as exc:
                    errors.append(f"calendar.country: {exc}")
            if "overrides" in calendar:
                bundle.overrides = _records(calendar["overrides"] or [], OVERRIDE, "calendar.overrides", errors)
    for device in bundle.devices or []:
        _sub_list(device, "clock_offsets", OFFSET, errors)
    for person in bundle.staff or []:
        _sub_list(person, "enrollments", ENROLLMENT, errors)
        _sub_list(person, "assignments", ASSIGNMENT, errors)
    for schedule in bundle.schedules or []:
        if schedule.get("valid_from") and schedule.get("valid_to") and schedule["valid_to"] < schedule["valid_from"]:
            errors.append(f"{schedule['_path']}.valid_to: before valid_from")
    for excuse in bundle.excuses or []:
        if "start" in excuse and "end" in excuse and excuse["end"] <= excuse["start"]:
            errors.append(f"{excuse['_path']}.end: not after start")
    for name, key in (("units", "code"), ("schedules", "code"), ("devices", "code"), ("staff", "code")):
        _duplicates(getattr(bundle, name), key, errors)
    _duplicates(bundle.overrides, "date", errors)
    if errors:
        raise BundleError(errors)
    return bundle
