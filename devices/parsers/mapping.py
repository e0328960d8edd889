"""Saved mapping profiles: a MappingProfile to and from a JSON-ready dict, validated.

``profile_to_dict`` gives every field (None for unset ones); ``profile_from_dict``
accepts that dict back, or a shorter one (missing optional keys take their defaults),
and refuses anything it cannot apply, naming the key::

    profile_from_dict({"name": "x", "user_id": "Mã CC"})
    ProfileError: datetime: give 'datetime', or both 'date' and 'time'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, get_args

from .delimited import DELIMITERS, norm_label
from .refusals import Refusal, refusal
from .types import DateOrder, MappingProfile

#: Keys of a stored profile, in field order.
PROFILE_KEYS: tuple[str, ...] = tuple(f.name for f in fields(MappingProfile))
COLUMN_KEYS = ("user_id", "datetime", "date", "time", "status")
MAX_TEXT = 200
_DATE_ORDERS: tuple[str, ...] = get_args(DateOrder)
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "TAB", "|": "'|'"}


class ProfileError(ValueError):
    """A stored profile that cannot be used; ``errors`` holds one "key: problem" per fault.

    ``problems`` are the same faults as refusal codes and values (``devices.parsers.refusals``),
    for wording them in another language; ``errors`` is their English text.
    """

    def __init__(self, problems: list[Refusal]) -> None:
        self.problems = problems
        self.errors = [str(p) for p in problems]
        super().__init__("; ".join(self.errors))


def profile_to_dict(profile: MappingProfile) -> dict[str, Any]:
    """A JSON-ready dict of every profile field (round-trips through profile_from_dict)."""
    return {key: getattr(profile, key) for key in PROFILE_KEYS}


def _text(key: str, value: object, errors: list[Refusal]) -> str | None:
    if not isinstance(value, str):
        errors.append(refusal("key_not_text", key=key, type=type(value).__name__, value=repr(value)))
        return None
    value = value.strip()
    if not value:
        errors.append(refusal("key_empty", key=key))
        return None
    if len(value) > MAX_TEXT:
        errors.append(refusal("key_too_long", key=key, limit=MAX_TEXT))
        return None
    return value


def _column(key: str, value: object, has_header: bool, errors: list[Refusal]) -> str | None:
    """A header name (with a header row) or a 0-based column index as text (without)."""
    if has_header:
        if isinstance(value, int) and not isinstance(value, bool):
            errors.append(refusal("key_index_with_header", key=key, value=value))
            return None
        return _text(key, value, errors)
    if isinstance(value, int) and not isinstance(value, bool):
        index: int | None = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        index = int(value.strip())
    else:
        index = None
    if index is None or index < 0:
        errors.append(refusal("key_not_index", key=key, value=repr(value)))
        return None
    return str(index)


def profile_from_dict(data: Mapping[str, Any], *, name: str | None = None) -> MappingProfile:
    """A validated MappingProfile from a stored dict (``name`` fills a missing name key)."""
    if not isinstance(data, Mapping):
        raise ProfileError([refusal("profile_not_object", type=type(data).__name__)])
    errors: list[Refusal] = []
    for key in data:
        if key not in PROFILE_KEYS:
            errors.append(refusal("key_unknown", key=key, allowed=", ".join(PROFILE_KEYS)))

    has_header = data.get("has_header", True)
    if not isinstance(has_header, bool):
        errors.append(refusal("has_header_not_bool", value=repr(has_header)))
        has_header = True

    raw_name = data.get("name", name)
    profile_name = None if raw_name is None else _text("name", raw_name, errors)
    if raw_name is None:
        errors.append(refusal("key_missing", key="name"))

    columns: dict[str, str | None] = {}
    for key in COLUMN_KEYS:
        value = data.get(key)
        columns[key] = None if value is None else _column(key, value, has_header, errors)
    if data.get("user_id") is None:
        errors.append(refusal("key_missing", key="user_id"))
    has_dt = data.get("datetime") is not None
    has_date, has_time = data.get("date") is not None, data.get("time") is not None
    if has_dt and (has_date or has_time):
        errors.append(refusal("datetime_and_date"))
    elif not has_dt and not (has_date and has_time):
        missing = "time" if has_date else "date" if has_time else "datetime"
        errors.append(refusal("datetime_missing", key=missing))
    used: dict[str, str] = {}
    for key in COLUMN_KEYS:
        column = columns[key]
        if column is None:
            continue
        same = norm_label(column) if has_header else column  # headers match loosely
        if same in used:
            errors.append(refusal("same_column", key=key, other=used[same], column=repr(column)))
        else:
            used[same] = key

    delimiter = data.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        allowed = ", ".join(_DELIMITER_NAMES[d] for d in DELIMITERS)
        errors.append(refusal("delimiter_invalid", allowed=allowed, value=repr(delimiter)))
    date_order = data.get("date_order")
    if date_order is not None and date_order not in _DATE_ORDERS:
        allowed = ", ".join(repr(o) for o in _DATE_ORDERS)
        errors.append(refusal("date_order_invalid", allowed=allowed, value=repr(date_order)))

    if errors:
        raise ProfileError(errors)
    assert profile_name is not None and columns["user_id"] is not None
    return MappingProfile(
        name=profile_name,
        user_id=columns["user_id"],
        datetime=columns["datetime"],
        date=columns["date"],
        time=columns["time"],
        status=columns["status"],
        delimiter=delimiter,
        has_header=has_header,
        date_order=date_order,
    )
