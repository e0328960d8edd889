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
from .types import DateOrder, MappingProfile

#: Keys of a stored profile, in field order.
PROFILE_KEYS: tuple[str, ...] = tuple(f.name for f in fields(MappingProfile))
COLUMN_KEYS = ("user_id", "datetime", "date", "time", "status")
MAX_TEXT = 200
_DATE_ORDERS: tuple[str, ...] = get_args(DateOrder)
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "TAB", "|": "'|'"}


class ProfileError(ValueError):
    """A stored profile that cannot be used; ``errors`` holds one "key: problem" per fault."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def profile_to_dict(profile: MappingProfile) -> dict[str, Any]:
    """A JSON-ready dict of every profile field (round-trips through profile_from_dict)."""
    return {key: getattr(profile, key) for key in PROFILE_KEYS}


def _text(key: str, value: object, errors: list[str]) -> str | None:
    if not isinstance(value, str):
        errors.append(f"{key}: must be text, not {type(value).__name__} {value!r}")
        return None
    value = value.strip()
    if not value:
        errors.append(f"{key}: must not be empty")
        return None
    if len(value) > MAX_TEXT:
        errors.append(f"{key}: longer than {MAX_TEXT} characters")
        return None
    return value


def _column(key: str, value: object, has_header: bool, errors: list[str]) -> str | None:
    """A header name (with a header row) or a 0-based column index as text (without)."""
    if has_header:
        if isinstance(value, int) and not isinstance(value, bool):
            errors.append(
                f"{key}: {value} is a column index; give the header name, or set has_header"
                " to false to map columns by 0-based index"
            )
            return None
        return _text(key, value, errors)
    if isinstance(value, int) and not isinstance(value, bool):
        index: int | None = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        index = int(value.strip())
    else:
        index = None
    if index is None or index < 0:
        errors.append(
            f"{key}: must be a 0-based column index (0 is the first column) when has_header"
            f" is false, not {value!r}"
        )
        return None
    return str(index)


def profile_from_dict(data: Mapping[str, Any], *, name: str | None = None) -> MappingProfile:
    """A validated MappingProfile from a stored dict (``name`` fills a missing name key)."""
    if not isinstance(data, Mapping):
        raise ProfileError([f"profile: must be an object of keys, not {type(data).__name__}"])
    errors: list[str] = []
    for key in data:
        if key not in PROFILE_KEYS:
            errors.append(f"{key}: unknown key (allowed: {', '.join(PROFILE_KEYS)})")

    has_header = data.get("has_header", True)
    if not isinstance(has_header, bool):
        errors.append(f"has_header: must be true or false, not {has_header!r}")
        has_header = True

    raw_name = data.get("name", name)
    profile_name = None if raw_name is None else _text("name", raw_name, errors)
    if raw_name is None:
        errors.append("name: missing")

    columns: dict[str, str | None] = {}
    for key in COLUMN_KEYS:
        value = data.get(key)
        columns[key] = None if value is None else _column(key, value, has_header, errors)
    if data.get("user_id") is None:
        errors.append("user_id: missing")
    has_dt = data.get("datetime") is not None
    has_date, has_time = data.get("date") is not None, data.get("time") is not None
    if has_dt and (has_date or has_time):
        errors.append("datetime: give either 'datetime' or 'date' + 'time', not both")
    elif not has_dt and not (has_date and has_time):
        missing = "time" if has_date else "date" if has_time else "datetime"
        errors.append(f"{missing}: give 'datetime', or both 'date' and 'time'")
    used: dict[str, str] = {}
    for key in COLUMN_KEYS:
        column = columns[key]
        if column is None:
            continue
        same = norm_label(column) if has_header else column  # headers match loosely
        if same in used:
            errors.append(f"{key}: the same column as {used[same]} ({column!r})")
        else:
            used[same] = key

    delimiter = data.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        allowed = ", ".join(_DELIMITER_NAMES[d] for d in DELIMITERS)
        errors.append(f"delimiter: must be one of {allowed} (or null to detect), not {delimiter!r}")
    date_order = data.get("date_order")
    if date_order is not None and date_order not in _DATE_ORDERS:
        allowed = ", ".join(repr(o) for o in _DATE_ORDERS)
        errors.append(
            f"date_order: must be one of {allowed} (or null to decide per file), not {date_order!r}"
        )

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
