"""Why a line is not a punch: a stable code and its values, worded in English here.

A reader of another language renders the same code and values through its own catalogue
(the English templates below are its message ids), so a stored rejection can be shown in
whatever language the person reading it uses. The English text stays the ``reason`` of a
``RejectedLine``: logs, tests and older stored rows read it as they always did.

Where in the row the problem sits is part of the values: ``at`` is "field" (1-based
``index`` and role ``label`` of a text field), "cell" (``row``, ``index``, ``label`` of an
HTML table), "column" (``column`` letter and ``label`` of a sheet), "row" (``row`` of an
HTML table) or "record" (``record`` number and ``byte`` offset of a terminal download);
without ``at`` the reason is about the whole line. A template's ``{cause}`` is another code,
worded with the same values (why a ZK uid has no PIN, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ParamValue = str | int

#: code -> English template, ``{name}`` filled from the reason's values.
TEMPLATES: Mapping[str, str] = MappingProxyType({
    "empty": "empty",
    "user_id_too_long": "{value} is longer than {limit} characters",
    "user_id_undecodable": "{value} contains undecodable bytes (U+FFFD)",
    "user_id_non_printing": "{value} contains non-printing character {char}",
    "control_character": "contains control character {char} at position {position}",
    "implausible_year": "{value} is outside the plausible years {first}-{last}",
    "line_too_long": "line is {length} characters long (at most {limit} are read)",
    "row_too_long": "row is {length} characters long (at most {limit} are read)",
    "field_too_long": "field is {length} characters long (at most {limit} are read)",
    "cell_too_long": "a cell or the row is longer than {limit} characters (not read)",
    "undecodable": "not valid {encoding} text, nor {others} (byte 0x{byte} at byte offset {offset} of the line)",
    "line_break": "line contains a line break",
    "record_implausible_year": "record {record} (user {user}): time {time} is outside the plausible years {first}-{last}",
    "fields_named": "expected 5 to 7 fields (PIN, name, time, ...), found {found}",
    "fields_standard": "expected 5 or 6 fields, found {found}",
    "too_few_fields": "expected at least {need} fields, found {found}",
    "too_few_cells": "expected at least {need} cells, found {found}",
    "missing_fields": "missing (expected at least {need} tab-separated fields, found {found})",
    "not_datetime": "{value} is not a valid date/time",
    "not_push_datetime": "{value} is not a valid date/time (expected YYYY-MM-DD HH:MM:SS)",
    "not_valid": "{value} is not a valid {kind} ({expected})",
    "not_whole_number": "{value} is not a whole number",
    "datetime_not_user_id": "{value} is a date/time, not a user id",
    "title_row_time": "above the header ({unit} {header}) but holds the time {value}: not a title row",
    "title_row_punch": "above the header ({unit} {header}) but is an attlog punch line",
    # records downloaded from a ZK terminal that could not be decoded (devices.zk.codec)
    "zk_time_invalid": "time value {value} decodes to {date}, which is not a valid date",
    "zk_time_out_of_range": "ZK time {value} is not an unsigned 32-bit value",
    "zk_user_id_not_ascii": "user id field is not ASCII: {value}",
    "zk_user_id_empty": "user id field is empty",
    "zk_user_id_control": "user id field has control characters: {value}",
    "zk_user_id_zero": "user id is 0 (not set)",
    "zk_uid_unmapped": "uid {uid} cannot be mapped to a PIN: {cause}",
    "zk_user_table_refused": "the terminal refused to send its user table ({detail})",
    "zk_uid_ambiguous": "uid {uid} appears {count} times in the terminal's user table (PINs {pins})",
    "zk_uid_unusable": "uid {uid} has an unusable entry in the terminal's user table: {cause}",
    "zk_uid_unknown": "uid {uid} is not in the terminal's user table",
})

#: Where-prefixes by ``at``, and the role labels a prefix may name (a column's own heading,
#: such as "Vào 1", is the file's text and is shown as it is).
PLACES: Mapping[str, str] = MappingProxyType({
    "field": "field {index} ({label}): ",
    "cell": "table row {row}, cell {index} ({label}): ",
    "column": "column {column} ({label}): ",
    "row": "table row {row}: ",
    "record": "record {record} (byte {byte}): ",
})
LABELS = ("user id", "name", "time", "date", "date/time", "device id", "status", "verify", "work code",
          "extra", "unmapped column")
#: Words that fill a template's ``{unit}`` or ``{kind}`` (translated like labels).
WORDS = ("line", "table row", "sheet row", "date", "time", "date/time")


@dataclass(frozen=True)
class Reason:
    """One rejection: ``code`` (a key of TEMPLATES), its values, and where in the row."""

    code: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in TEMPLATES:
            raise ValueError(f"unknown rejection code {self.code!r}")

    def at(self, place: str, **where: ParamValue) -> Reason:
        """The same problem placed in a field, cell, column or row (see PLACES)."""
        if place not in PLACES:
            raise ValueError(f"unknown place {place!r}")
        return Reason(self.code, {**self.params, **where, "at": place})

    def __str__(self) -> str:
        return render(self.code, self.params)


def reason(code: str, **params: ParamValue) -> Reason:
    """A Reason with these values (a shorthand that reads like the message)."""
    return Reason(code, params)


def render(code: str, params: Mapping[str, object], translate=lambda text: text) -> str:  # type: ignore[no-untyped-def]
    """The text of a reason, each template and role word passed through ``translate``."""
    values = dict(params)
    cause = values.get("cause")
    if isinstance(cause, str) and cause in TEMPLATES and cause != code:
        values["cause"] = translate(TEMPLATES[cause]).format(**values)
    for key in ("label", "unit", "kind"):
        if isinstance(values.get(key), str) and values[key] in (*LABELS, *WORDS):
            values[key] = translate(values[key])
    place = values.get("at")
    prefix = translate(PLACES[place]).format(**values) if isinstance(place, str) and place in PLACES else ""
    return prefix + translate(TEMPLATES[code]).format(**values)
