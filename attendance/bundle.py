"""Validation of the set-up bundle (docs/cli.md): plain data in, typed records out, errors by path.

A bundle comes from an administrator's file, so reading it is bounded: at most
MAX_BUNDLE_BYTES, MAX_DEPTH levels of nesting, MAX_VALUES values, YAML aliases that repeat
at most MAX_ALIAS_VALUES values in all (unbounded expansion is what makes a 1 KB "billion
laughs" file take gigabytes) and no key given twice in one mapping. YAML is built from the parser's event stream, not through
PyYAML's recursive composer, so a deep file is refused instead of exhausting the stack.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import re
import reprlib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from . import models as m
from .engine.types import WEEKDAY_NAMES
from .errors import InvalidInput
from .i18n import _
from .kinds import DeviceKind

MAX_BUNDLE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 20
MAX_VALUES = 2_000_000
MAX_ALIAS_VALUES = 10_000  # values that YAML aliases may repeat, all aliases together


class BundleError(InvalidInput):
    """The bundle is not valid; ``errors`` lists every problem, each naming its path."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = _(" (and {count} more)", count=len(errors) - 1) if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


class _Invalid(ValueError):
    pass


class _Refused(Exception):
    pass


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = _SHORT.maxtuple = _SHORT.maxset = 4
_SHORT.maxlevel = 2


def _too_many_values() -> str:
    return _("more than {count} values in one bundle", count=f"{MAX_VALUES:,}")


def _too_deep() -> str:
    return _("nested deeper than {depth} levels", depth=MAX_DEPTH)


def _show(value: Any) -> str:
    """A value for an error message, cut short so a hostile value cannot flood the message."""
    return _SHORT.repr(value)


# ---------------------------------------------------------------- reading files


class _TextDatesResolver(yaml.resolver.Resolver):
    """YAML without implicit timestamps: dates stay text so a bad one is reported by its path."""


_TextDatesResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


class _Scalars(yaml.constructor.SafeConstructor, _TextDatesResolver):
    """Resolves and constructs one scalar at a time (the bundle builder keeps no node graph)."""

    def __init__(self) -> None:
        yaml.constructor.SafeConstructor.__init__(self)
        _TextDatesResolver.__init__(self)


_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_YAML}{t}" for t in ("str", "int", "float", "bool", "null")}
_COLLECTION_TAGS = {None, "!", f"{_YAML}map", f"{_YAML}seq"}
# YAML 1.1 reads 0101 as octal 65; a device user id written so means "0101", not 65.
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_YAML_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _where(event: Any) -> str:
    mark = event.start_mark
    return _("line {line}", line=mark.line + 1) if mark is not None else _("somewhere")


def _scalar(scalars: _Scalars, event: Any) -> Any:
    tag = event.tag
    if tag is None and not event.implicit[0]:
        return event.value  # quoted: text, whatever it looks like (the common case, kept fast)
    if tag in (None, "!"):
        tag = scalars.resolve(ScalarNode, event.value, event.implicit) if tag is None else f"{_YAML}str"
    if tag == f"{_YAML}merge":
        raise _Refused(f"{_where(event)}: " + _("merge keys (<<) are not accepted in a bundle: write the keys out"))
    if tag not in _SCALAR_TAGS:
        raise _Refused(f"{_where(event)}: " + _("the tag {tag} is not accepted in a bundle", tag=_show(tag)))
    if tag == f"{_YAML}int":
        if _OCTAL.fullmatch(event.value):
            return event.value
        if len(event.value) > 40:  # sexagesimal 1:2:3:... costs quadratic time to build
            raise _Refused(f"{_where(event)}: " + _("the number {value} is too long", value=_show(event.value)))
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return scalars.yaml_constructors[tag](scalars, node)
    except (ValueError, yaml.YAMLError):
        raise _Refused(f"{_where(event)}: " + _("{value} is not a valid {type}", value=_show(event.value),
                                                  type=tag.rsplit(':', 1)[-1])) from None


@dataclass
class _Frame:
    """A mapping or sequence being built from YAML events."""

    container: Any
    opened: Any  # the start event, for its line and anchor
    first_value: int  # the value count when it opened: its size is the count when it closes minus this
    key: Any = None
    has_key: bool = False
    height: int = 1  # levels of nesting from here down


def _load_yaml(text: str) -> Any:
    """Build plain data from YAML events, with bounded aliases, depth and number of values."""
    scalars = _Scalars()
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (value, values in it, height)
    result: Any = None
    documents = values = expanded = 0

    def add(value: Any, height: int, event: Any) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        frame = stack[-1]
        frame.height = max(frame.height, height + 1)
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif not frame.has_key:
            if isinstance(value, (dict, list)):
                raise _Refused(f"{_where(event)}: " + _("a mapping key must be a plain value"))
            if value in frame.container:
                raise _Refused(f"{_where(event)}: " + _("the key {key} is given twice in one mapping", key=_show(value)))
            frame.key, frame.has_key = value, True
        else:
            frame.container[frame.key] = value
            frame.has_key = False

    def count(event: Any, more: int = 1) -> None:
        nonlocal values
        values += more
        if values > MAX_VALUES:
            raise _Refused(f"{_where(event)}: " + _too_many_values())

    for event in yaml.parse(text, Loader=_YAML_PARSER):
        if type(event) is yaml.ScalarEvent:
            count(event)
            value = _scalar(scalars, event)
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1, 0)
            add(value, 0, event)
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Refused(f"{_where(event)}: " + _("a bundle is one YAML document, found a second"))
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                open_ = any(f.opened.anchor == event.anchor for f in stack)
                raise _Refused(f"{_where(event)}: " + (
                    _("the alias *{anchor} is inside the value it names", anchor=event.anchor) if open_
                    else _("the alias *{anchor} names no anchor before it", anchor=event.anchor)))
            value, size, height = anchors[event.anchor]
            # An alias repeats its value: "billion laughs" files nest aliases of aliases.
            expanded += size
            if expanded > MAX_ALIAS_VALUES:
                raise _Refused(f"{_where(event)}: " + _("YAML aliases expand to more than {count} values; "
                                                        "write the values out", count=f"{MAX_ALIAS_VALUES:,}"))
            count(event, size)
            if len(stack) + height > MAX_DEPTH:
                raise _Refused(f"{_where(event)}: " + _too_deep())
            add(copy.deepcopy(value), height, event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            count(event)
            if event.tag not in _COLLECTION_TAGS:
                raise _Refused(f"{_where(event)}: " + _("the tag {tag} is not accepted in a bundle", tag=_show(event.tag)))
            if len(stack) >= MAX_DEPTH:
                raise _Refused(f"{_where(event)}: " + _too_deep())
            anchors.pop(event.anchor, None)  # a redefined anchor is not usable until it is complete
            container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
            stack.append(_Frame(container, event, values - 1))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            if frame.opened.anchor is not None:
                anchors[frame.opened.anchor] = (frame.container, values - frame.first_value, frame.height)
            add(frame.container, frame.height, frame.opened)
    return result


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _check_json_shape(text: str) -> None:
    """Refuse JSON with too many values or too deep before json.loads recurses into it."""
    if text.count(",") + 1 > MAX_VALUES:  # a list of n values has n - 1 commas
        raise _Refused(_too_many_values())
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if len(brackets) > 2 * MAX_VALUES + 2:
        raise _Refused(_too_many_values())
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(_too_deep())
        else:
            depth -= 1
            if depth < 0:
                return  # unbalanced: json.loads says where


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(_("the key {key} is given twice in one object", key=_show(key)))
        out[key] = value
    return out


def _load_json(text: str) -> Any:
    _check_json_shape(text)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise _Refused(_("line {line}: not valid JSON: {problem}", line=exc.lineno, problem=exc.msg)) from None
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise _Refused(_("not valid JSON: a number has too many digits")) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: where, and what the parser expected."""
    mark = getattr(exc, "problem_mark", None)
    where = _("line {line}, column {column}: ", line=mark.line + 1, column=mark.column + 1) if mark is not None else ""
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    if "maximum nesting depth" in problem:  # libyaml's own guard, met before ours for deep [[[[
        return where + _too_deep()
    context = getattr(exc, "context", None)
    # the parser's own words (context, problem) are English: they name YAML syntax
    return where + _("not valid YAML: {problem}", problem=f"{context + ', ' if context else ''}{problem}")


def parse_bundle_bytes(data: bytes, name: str) -> dict[str, Any]:
    """Parse the bytes of a YAML or JSON bundle (JSON when ``name`` ends in .json) into plain data."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError([f"{name}: " + _("larger than {size} MB, the most a set-up bundle may be",
                                           size=MAX_BUNDLE_BYTES // (1024 * 1024))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BundleError([f"{name}: " + _("not UTF-8 text (byte {offset})", offset=exc.start)]) from None
    try:
        parsed = _load_json(text) if name.lower().endswith(".json") else _load_yaml(text)
    except _Refused as exc:
        raise BundleError([f"{name}: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise BundleError([f"{name}: {_yaml_problem(exc)}"]) from None
    if parsed is None:
        parsed = {}
    if not isinstance(parsed, dict):
        raise BundleError([f"{name}: " + _("the bundle must be a mapping with units, staff, ...")])
    return parsed


def read_bundle_file(path: str | Path) -> dict[str, Any]:
    """Read and parse a YAML or JSON bundle file (at most MAX_BUNDLE_BYTES) into plain data."""
    try:
        with open(path, "rb") as handle:
            # Read one byte past the limit: a device such as /dev/zero reports size 0 but never ends.
            data = handle.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise BundleError([_("{path}: cannot be read: {why}", path=path, why=exc.strerror or exc)]) from None
    return parse_bundle_bytes(data, str(path))


# ---------------------------------------------------------------- value parsers

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)


def column_limit(column: Any) -> int:
    """The length of a String column of the models (what PostgreSQL enforces and SQLite does not)."""
    return int(column.property.columns[0].type.length)


def _text(value: Any, limit: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Invalid(_("expected text, got {value}", value=_show(value)))
    text = str(value).strip()
    if not text:
        raise _Invalid(_("must not be empty"))
    if _CONTROL.search(text):
        raise _Invalid(_("contains a control character: {value}", value=_show(text)))
    if limit is not None and len(text) > limit:
        raise _Invalid(_("{length} characters long, at most {limit} fit", length=len(text), limit=limit))
    return text


def _text_of(column: Any) -> Callable[[Any], str]:
    """Text that fits the given model column."""
    limit = column_limit(column)
    return lambda value: _text(value, limit)


def _opt_text_of(column: Any) -> Callable[[Any], str]:
    """Optional text (None is empty) that fits the given model column."""
    limit = column_limit(column)
    return lambda value: "" if value is None else _text(value, limit)


def _ref_of(column: Any) -> Callable[[Any], str | None]:
    """A code referring to another record (None: no reference)."""
    limit = column_limit(column)
    return lambda value: None if value is None else _text(value, limit)


def _in_range(day: dt.date, value: Any) -> None:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise _Invalid(_("{value} is outside {first}-{last}", value=_show(value), first=FIRST_DATE.year, last=LAST_DATE.year))


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _Invalid(_("expected a date YYYY-MM-DD, got {value}", value=_show(value)))
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value)) if isinstance(value, str) and len(value) <= 10 else None
        except ValueError:
            day = None
        if day is None:
            raise _Invalid(_("expected a date YYYY-MM-DD, got {value}", value=_show(value)))
    _in_range(day, value)
    return day


def _opt_date(value: Any) -> dt.date | None:
    return None if value is None else _date(value)


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    else:
        try:
            moment = dt.datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 32 else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is not None:
            raise _Invalid(_("expected a local date-time YYYY-MM-DDTHH:MM, got {value}", value=_show(value)))
    _in_range(moment.date(), value)
    return moment


def minutes_of(value: Any) -> int:
    """'07:30' (or YAML's sexagesimal 450 for an unquoted 07:30) to minutes after midnight."""
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
    else:
        try:
            if not isinstance(value, str) or len(value) > 5:
                raise ValueError
            hours, mins = value.split(":")
            minutes = int(hours) * 60 + int(mins)
            if not (0 <= int(mins) < 60):
                raise ValueError
        except ValueError:
            raise _Invalid(_("expected a time HH:MM, got {value}", value=_show(value))) from None
    if not 0 <= minutes <= 24 * 60:
        raise _Invalid(_("expected a time HH:MM, got {value}", value=_show(value)))
    return minutes


def _hhmm(value: Any) -> str:
    minutes = minutes_of(value)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _int(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(_("expected a whole number, got {value}", value=_show(value)))
        if not low <= value <= high:
            raise _Invalid(_("must be between {low} and {high}, got {value}", low=low, high=high, value=value))
        return value

    return parse


def _choice(*options: Any) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool) or value not in options:
            raise _Invalid(_("must be one of {options}, got {value}", options=", ".join(map(str, options)),
                             value=_show(value)))
        return value

    return parse


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(_("expected a list, got {value}", value=_show(value)))
    return value


def _weekdays(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Invalid(_("expected a list of weekdays such as [mon, tue, wed, thu, fri]"))
    out = []
    for item in value:
        name = str(item).strip().lower()[:3] if isinstance(item, str) else ""
        if name not in WEEKDAY_NAMES:
            raise _Invalid(_("unknown weekday {value} (use mon, tue, wed, thu, fri, sat, sun)", value=_show(item)))
        out.append(name)
    return sorted(set(out), key=WEEKDAY_NAMES.index)


def _sessions(value: Any) -> list[list[str]]:
    if not isinstance(value, list) or not value:
        raise _Invalid(_('expected a list of sessions such as [["07:00", "11:30"], ["13:30", "17:00"]]'))
    out: list[list[str]] = []
    previous_end = -1
    for i, pair in enumerate(value):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _Invalid(_("session {number}: expected [start, end], got {value}", number=i + 1, value=_show(pair)))
        start, end = minutes_of(pair[0]), minutes_of(pair[1])
        if end <= start:
            raise _Invalid(_("session {number}: end {end} is not after start {start}", number=i + 1, end=_hhmm(end),
                              start=_hhmm(start)))
        if start < previous_end:
            raise _Invalid(_("session {number}: starts before session {previous} ends", number=i + 1, previous=i))
        previous_end = end
        out.append([_hhmm(start), _hhmm(end)])
    return out


def _code_list(column: Any) -> Callable[[Any], list[str]]:
    limit = column_limit(column)

    def parse(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise _Invalid(_("expected a list of codes, got {value}", value=_show(value)))
        return [_text(v, limit) for v in value]

    return parse


def _timezone(value: Any) -> str:
    name = _text(value, column_limit(m.Unit.timezone))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _Invalid(_("unknown time zone {value} (e.g. Asia/Ho_Chi_Minh)", value=_show(name))) from None
    return name


def _country(value: Any) -> str:
    code = _text(value).upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise _Invalid(_("expected a two-letter country code such as VN, got {value}", value=_show(value)))
    return code


# A serial device is a path (/dev/ttyUSB0, /dev/serial/by-id/...), COMn, or a pyserial URL.
SERIAL_URL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")
_SERIAL_PATH = re.compile(r"/\S+|COM[1-9][0-9]{0,2}|\\\\\.\\COM[1-9][0-9]{0,2}", re.IGNORECASE)
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _port(value: Any) -> int | str:
    """A network port (1-65535) or a serial device: which one the kind needs is checked later."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _int(1, 65535)(value)
    if isinstance(value, str):
        return _text(value, 200)
    raise _Invalid(_("expected a serial device or pyserial URL (text) or a network port 1-65535, got {value}",
                     value=_show(value)))


def _serial_port(value: str) -> str:
    scheme, sep, _rest = value.partition("://")
    if sep:
        if scheme.lower() not in SERIAL_URL_SCHEMES:
            raise _Invalid(_("unknown pyserial URL scheme {scheme} (use {schemes})", scheme=repr(scheme),
                             schemes=", ".join(SERIAL_URL_SCHEMES)))
    elif not _SERIAL_PATH.fullmatch(value):
        raise _Invalid(_("expected a serial device such as /dev/ttyUSB0 or COM3, or a pyserial URL "
                         "such as socket://host:port, got {value}", value=_show(value)))
    return value


def _host(value: Any) -> str:
    host = _text(value, 253)
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise _Invalid(_("expected a host name or IP address, got {value}", value=_show(host)))
    return host


def _networks(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Invalid(_('expected a list of networks such as ["192.168.1.0/24"]'))
    if len(value) > 64:
        raise _Invalid(_("at most 64 networks, got {count}", count=len(value)))
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _Invalid(f"[{i}]: " + _("expected a network such as 192.168.1.0/24, got {value}", value=_show(item)))
        try:
            out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise _Invalid(f"[{i}]: " + _("{value} is not an IP network such as 192.168.1.0/24", value=_show(item))) from None
    return out


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
    "code": (_text_of(m.Unit.code), True), "name": (_text_of(m.Unit.name), True),
    "kind": (_opt_text_of(m.Unit.kind), False), "parent": (_ref_of(m.Unit.code), False),
    "timezone": (_timezone, False),
}
SCHEDULE: Spec = {
    "code": (_text_of(m.Schedule.code), True), "units": (_code_list(m.Unit.code), False),
    "valid_from": (_opt_date, False), "valid_to": (_opt_date, False), "weekdays": (_weekdays, False),
    "sessions": (_sessions, True),
    "grace_late_minutes": (_int(0, 600), False), "grace_early_minutes": (_int(0, 600), False),
    "checkin_window_before_minutes": (_int(0, 1440), False),
    "checkout_window_after_minutes": (_int(0, 1440), False),
    "punch_policy": (_choice("per_session", "first_last"), False),
}
OVERRIDE: Spec = {
    "date": (_date, True), "kind": (_choice("working_day", "day_off"), True),
    "reference": (_opt_text_of(m.CalendarOverride.reference), False),
    "note": (_opt_text_of(m.CalendarOverride.reference), False),
}
# A terminal's clock may be off by its time zone or a wrong date; a larger offset is a typo.
MAX_CLOCK_OFFSET_SECONDS = 86400
OFFSET: Spec = {"valid_from": (_date, True),
                "seconds": (_int(-MAX_CLOCK_OFFSET_SECONDS, MAX_CLOCK_OFFSET_SECONDS), True)}
DEVICE: Spec = {
    "code": (_text_of(m.Device.code), True), "unit": (_ref_of(m.Unit.code), False),
    "kind": (_choice(*(kind.value for kind in DeviceKind)), False),
    "name": (_opt_text_of(m.Device.name), False), "serial": (_text_of(m.Device.serial), False),
    "port": (_port, False), "baudrate": (_choice(*BAUDRATES), False),
    "machine_number": (_int(1, 255), False), "framing": (_choice("envelope", "rs485"), False),
    "host": (_host, False), "comm_key": (_int(0, 999999), False),
    "pull_interval_minutes": (_int(1, 10080), False), "chunk_size": (_int(256, 65472), False),
    "allowed_networks": (_networks, False), "clock_offsets": (_list, False),
}
# The settings each kind of device uses; any other is refused rather than silently ignored.
_PULLED = ("comm_key", "pull_interval_minutes", "chunk_size")
KIND_SETTINGS: dict[str, tuple[str, ...]] = {
    DeviceKind.ZK_TCP: ("host", "port", *_PULLED),
    DeviceKind.ZK_UDP: ("host", "port", *_PULLED),
    DeviceKind.ZK_SERIAL: ("port", "baudrate", "machine_number", "framing", *_PULLED),
    DeviceKind.SERIAL_LINES: ("port", "baudrate"),
    DeviceKind.ADMS_PUSH: ("allowed_networks",),
    DeviceKind.FILE: (),
}
DEVICE_SETTING_KEYS = tuple(dict.fromkeys(key for keys in KIND_SETTINGS.values() for key in keys))
ENROLLMENT: Spec = {"device": (_text_of(m.Device.code), True), "user_id": (_text_of(m.Enrollment.user_id), True),
                    "transfer_from": (_text_of(m.Staff.code), False)}
ASSIGNMENT: Spec = {"unit": (_text_of(m.Unit.code), True), "valid_from": (_opt_date, False),
                    "valid_to": (_opt_date, False)}
STAFF: Spec = {
    "code": (_text_of(m.Staff.code), True), "name": (_text_of(m.Staff.name), True),
    "unit": (_text_of(m.Unit.code), False), "position": (_opt_text_of(m.Staff.position), False),
    "employed_from": (_opt_date, False), "employed_to": (_opt_date, False),
    "schedule": (_ref_of(m.Schedule.code), False),
    "enrollments": (_list, False), "assignments": (_list, False),
}
EXCUSE: Spec = {
    "staff": (_text_of(m.Staff.code), True), "kind": (_text_of(m.Excuse.kind), True),
    "start": (_datetime, True), "end": (_datetime, True),
    "reference": (_opt_text_of(m.Excuse.reference), False), "note": (_opt_text_of(m.Excuse.reference), False),
}
# Alert thresholds of the monthly report: a person whose monthly count reaches ``at_least`` is
# listed with the action the rule suggests and its reference. They only flag; no penalty follows.
MAX_ALERT_THRESHOLDS = 50
ALERT_THRESHOLD_KEYS = ("field", "at_least", "action", "reference")
ALERT_FIELDS = ("late_count", "late_minutes", "early_count", "early_minutes", "missing_punch_count",
                "absent_sessions", "absent_days", "offday_punch_days")


def check_alert_thresholds(value: Any, path: str = "report_thresholds") -> list[dict[str, Any]]:
    """Validate alert thresholds (a list of {field, at_least, action, reference}); InvalidInput names the path."""
    if not isinstance(value, list):
        raise InvalidInput(f"{path}: " + _("expected a list, got {value}", value=_show(value)))
    if len(value) > MAX_ALERT_THRESHOLDS:
        raise InvalidInput(f"{path}: " + _("at most {count} thresholds", count=MAX_ALERT_THRESHOLDS))
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}: " + _("expected a mapping, got {value}", value=_show(item)))
        for key in item:
            if key not in ALERT_THRESHOLD_KEYS:
                raise InvalidInput(f"{where}.{_key(key)}: "
                                   + _("unknown key (allowed: {keys})", keys=", ".join(ALERT_THRESHOLD_KEYS)))
        parsers: dict[str, Callable[[Any], Any]] = {
            "field": _choice(*ALERT_FIELDS), "at_least": _int(1, 100_000),
            "action": lambda v: _text(v, 200), "reference": lambda v: _text(v, 300)}
        record: dict[str, Any] = {}
        for key, parse in parsers.items():
            if key not in item:
                raise InvalidInput(f"{where}.{key}: " + _("missing"))
            try:
                record[key] = parse(item[key])
            except _Invalid as exc:
                raise InvalidInput(f"{where}.{key}: {exc}") from None
        out.append(record)
    return out


def _alert_thresholds(value: Any) -> list[dict[str, Any]]:
    try:
        return check_alert_thresholds(value, "")
    except InvalidInput as exc:
        raise _Invalid(str(exc).lstrip(": ")) from None


SETTINGS: Spec = {"dedupe_seconds": (_int(0, 3600), False), "timezone": (_timezone, False),
                  "report_month_start_day": (_int(1, 28), False),
                  "report_thresholds": (_alert_thresholds, False)}
TOP = {"units", "schedules", "calendar", "devices", "staff", "excuses", "settings"}


def _record(value: Any, spec: Spec, path: str, errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors.append(f"{path}: " + _("expected a mapping, got {value}", value=_show(value)))
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in spec:
            errors.append(f"{path}.{_key(key)}: " + _("unknown key (allowed: {keys})", keys=", ".join(spec)))
            continue
        parser, _required = spec[key]
        try:
            out[key] = parser(item)
        except _Invalid as exc:
            errors.append(f"{path}.{key}: {exc}")
        except (TypeError, ValueError):
            errors.append(f"{path}.{key}: " + _("bad value {value}", value=_show(item)))
    for key, (_parser, required) in spec.items():
        if required and key not in value:
            errors.append(f"{path}.{key}: " + _("missing"))
    return out


def _key(key: Any) -> str:
    return key if isinstance(key, str) and len(key) <= 60 and not _CONTROL.search(key) else _show(key)


def _records(items: Any, spec: Spec, path: str, errors: list[str]) -> list[dict[str, Any]]:
    """Validate a list of records, each remembering its path for later error messages."""
    if not isinstance(items, list):
        errors.append(f"{path}: " + _("expected a list, got {value}", value=_show(items)))
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


def _duplicates(records: list[dict[str, Any]] | None, keys: tuple[str, ...], errors: list[str],
                what: str | None = None) -> None:
    """Report a record whose value of ``keys`` (a unique column in the database) repeats an earlier one."""
    seen: dict[Any, str] = {}
    for record in records or []:
        if all(key in record for key in keys):
            value = tuple(record[key] for key in keys)
            if value in seen:
                shown = _show(value[0]) if len(keys) == 1 else _("the same {what}", what=what or ", ".join(keys))
                errors.append(f"{record['_path']}.{keys[0] if len(keys) == 1 else ''}".rstrip(".")
                              + ": " + _("{value} already given at {path}", value=shown, path=seen[value]))
            else:
                seen[value] = record["_path"]


def _not_before(record: dict[str, Any], first: str, last: str, errors: list[str]) -> None:
    if record.get(first) is not None and record.get(last) is not None and record[last] < record[first]:
        errors.append(f"{record['_path']}.{last}: " + _("{value} is before {key} {other}", value=record[last].isoformat(),
                                                        key=first, other=record[first].isoformat()))


def _check_device(device: dict[str, Any], errors: list[str]) -> None:
    """Settings that the device's kind uses, with the type that kind needs."""
    kind = device.get("kind", DeviceKind.FILE.value)
    path = device["_path"]
    used = KIND_SETTINGS.get(kind, ())
    for key in DEVICE_SETTING_KEYS:
        if key in device and key not in used:
            users = [str(k) for k, keys in KIND_SETTINGS.items() if key in keys]
            errors.append(f"{path}.{key}: " + _("not used by a {kind} device (only by {kinds})", kind=kind,
                                                kinds=", ".join(users)))
    port = device.get("port")
    if port is None or "port" not in used:
        return
    if kind in (DeviceKind.ZK_TCP, DeviceKind.ZK_UDP):
        if not isinstance(port, int):
            errors.append(f"{path}.port: " + _("a {kind} device needs a network port 1-65535, got {value}", kind=kind,
                                                value=_show(port)))
    elif not isinstance(port, str):
        errors.append(f"{path}.port: " + _("a {kind} device needs a serial device such as /dev/ttyUSB0 "
                                           "or a pyserial URL, got {value}", kind=kind, value=_show(port)))
    else:
        try:
            _serial_port(port)
        except _Invalid as exc:
            errors.append(f"{path}.port: {exc}")


def validate_bundle(data: dict[str, Any]) -> Bundle:
    """Check a parsed bundle; raise BundleError naming every bad path."""
    errors: list[str] = []
    for key in data:
        if key not in TOP:
            errors.append(f"{_key(key)}: " + _("unknown key (allowed: {keys})", keys=", ".join(sorted(TOP))))
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
            errors.append("calendar: " + _("expected a mapping with country and overrides"))
        else:
            for key in calendar:
                if key not in ("country", "overrides"):
                    errors.append(f"calendar.{_key(key)}: " + _("unknown key (allowed: {keys})", keys="country, overrides"))
            if "country" in calendar:
                try:
                    bundle.country = _country(calendar["country"])
                except _Invalid as exc:
                    errors.append(f"calendar.country: {exc}")
            if "overrides" in calendar:
                bundle.overrides = _records(calendar["overrides"] or [], OVERRIDE, "calendar.overrides", errors)
    for device in bundle.devices or []:
        _check_device(device, errors)
        _sub_list(device, "clock_offsets", OFFSET, errors)
        _duplicates(device.get("clock_offsets"), ("valid_from",), errors)
    for person in bundle.staff or []:
        _not_before(person, "employed_from", "employed_to", errors)
        _sub_list(person, "enrollments", ENROLLMENT, errors)
        _sub_list(person, "assignments", ASSIGNMENT, errors)
        if "unit" in person and "assignments" in person:
            errors.append(f"{person['_path']}.unit: " + _("give either unit or assignments, not both"))
        for assignment in person.get("assignments", []):
            _not_before(assignment, "valid_from", "valid_to", errors)
        for enrollment in person.get("enrollments", []):
            if enrollment.get("transfer_from") is not None and enrollment["transfer_from"] == person.get("code"):
                errors.append(f"{enrollment['_path']}.transfer_from: "
                              + _("names {code} itself", code=person["code"]))
    for schedule in bundle.schedules or []:
        _not_before(schedule, "valid_from", "valid_to", errors)
    for excuse in bundle.excuses or []:
        if "start" in excuse and "end" in excuse and excuse["end"] <= excuse["start"]:
            errors.append(f"{excuse['_path']}.end: " + _("{end} is not after start {start}",
                                                         end=f"{excuse['end']:%Y-%m-%dT%H:%M}",
                                                         start=f"{excuse['start']:%Y-%m-%dT%H:%M}"))
    for name, key in (("units", "code"), ("schedules", "code"), ("devices", "code"), ("staff", "code"),
                      ("devices", "serial")):
        _duplicates(getattr(bundle, name), (key,), errors)
    _duplicates(bundle.overrides, ("date",), errors)
    _duplicates(bundle.excuses, ("staff", "kind", "start", "end"), errors, _("staff, kind, start and end"))
    if errors:
        raise BundleError(errors)
    return bundle
