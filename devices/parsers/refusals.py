"""Why a whole file is refused: a stable code and its values, worded in English here.

The same idea as ``reasons`` (why one line is rejected), for ``UnsupportedFile``: the parsers
do not know the reader's language, so a refusal carries a code and values beside its English
text, and whoever shows it to a person renders the same code through their own catalogue (the
English templates below are its message ids). ``str()`` of a refusal is the English text.

A value may itself be a Refusal (a phrase such as "in the first 30 lines", or why one sheet or
table could not be read), or a tuple of them (joined by "; "); it is worded the same way.
Values named ``unit``, ``present`` or ``missing`` that are role words ("line", "date", ...)
are translated like the labels of a rejection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Union

from .reasons import LABELS, WORDS

RefusalValue = Union[str, int, "Refusal", tuple["Refusal", ...]]

#: code -> English template, ``{name}`` filled from the refusal's values.
TEMPLATES: Mapping[str, str] = MappingProxyType({
    # what the file is, when it is not a punch log at all
    "binary_xls": "this is an Excel .xls workbook in the binary Excel 97-2003 format (or another OLE2"
                  " document), which cannot be read; open it in Excel and save it as .xlsx or CSV (UTF-8)",
    "pdf": "this is a PDF document, not a punch log",
    "xlsb": "this is an Excel binary workbook (.xlsb); save it as .xlsx or CSV (UTF-8)",
    "ods": "this is an OpenDocument file (.ods); save it as .xlsx or CSV (UTF-8)",
    "word": "this is a Word document, not a punch log",
    "zip_not_xlsx": "this is a zip archive, not an Excel .xlsx workbook",
    "xlsx_unreadable": "this is an Excel .xlsx workbook (zip) that cannot be read ({detail})",
    "zip_not_format": "this is a zip archive (an Excel .xlsx workbook?), not a {format} file;"
                      " read it with fmt 'xlsx' or 'auto'",
    "not_xlsx": "not an Excel .xlsx workbook (an .xlsx file is a zip archive)",
    "html_without_table": "this is an XML/HTML document without a table",
    "html_not_format": "this is an HTML table (e.g. an iVMS-4200 '.xls' export), not a {format} file;"
                       " read it with fmt 'hikvision' or 'auto'",
    "html_with_profile": "this is an HTML table; mapping profiles apply to CSV and .xlsx files",
    "unknown_format": "unknown format: not a ZK attlog (lines like 'PIN<TAB>YYYY-MM-DD HH:MM:SS<TAB>...'),"
                      " not a delimited export with a recognised header, not an HTML table and not an"
                      " .xlsx workbook ({detail})",
    "no_data_lines": "the file has no data lines",
    "not_zktime": "not a ZKTime 5 / Att2000 export: no header with 'No.' and 'Date/Time' columns in the"
                  " first lines",
    "not_hikvision": "not a Hikvision 'Original Records' export: no header with 'Person ID' and 'Time'"
                     " columns in the first lines",
    # bounds that keep hostile files cheap
    "html_too_large": "refused: an HTML table of {size} MB (at most {limit} MB are read)",
    "html_too_deep": "refused: tables nested more than {depth} deep (at table {table})",
    "zip_declared_too_large": "refused: the workbook would inflate to {size} MB (at most {limit} MB are"
                              " read; a zip bomb?)",
    "zip_ratio": "refused: zip member {member} claims a compression ratio of {ratio}:1 (at most"
                 " {limit}:1; a zip bomb?)",
    "zip_too_large": "refused: the workbook inflates to more than {limit} MB (a zip bomb?)",
    "zip_shared_strings": "refused: its shared strings ({member}) inflate to more than {limit} MB (a zip"
                          " bomb?)",
    # the header row
    "no_header": "no header row with a user id column (e.g. 'Mã chấm công', 'User ID') and a date/time"
                 " column (e.g. 'Ngày' + 'Giờ', 'Thời gian') {where}",
    "profile_no_header": "profile {profile}: no header row with the columns {columns} {where}",
    "in_first_lines": "in the first {n} lines",
    "in_first_sheet_rows": "in the first {n} rows of any worksheet ({sheets})",
    "in_first_table_rows": "in the first {n} rows of any table",
    "header_half_date": "header on {unit} {line} has a {present} column but no {missing} or date/time column",
    "header_in_out_pairs": "header on {unit} {line} has in/out time pairs ('Giờ vào'/'Giờ ra'); export the"
                           " raw punch records instead",
    "html_tables_refused": "this is an HTML table; {tables}",
    "in_table": "table {table}: {problem}",
    "html_table_no_header": "this is an HTML table (e.g. an iVMS-4200 '.xls' export) with {detail}",
    "html_page_no_header": "this is an HTML page with {detail}",
    "sheets_refused": "no worksheet can be read: {sheets}",
    "in_sheet": "sheet {sheet}: {problem}",
    "every_sheet_empty": "every worksheet is empty",
    # mapping profiles for files without a header
    "profile_column_index": "profile {profile}: {role} must be a 0-based column number when the file has"
                            " no header, not {value}",
    "profile_no_datetime": "profile {profile} names neither a date/time column nor both a date and a time"
                           " column",
    "no_delimiter": "no delimiter (, ; tab |) gives the {need} columns profile {profile} needs",
    # day/month order
    "both_date_orders": "dates are written in both day/month orders (e.g. {dmy} and {mdy}); name the order"
                        " in a mapping profile",
    "ambiguous_date_order": "cannot tell dd/mm from mm/dd: no date has a day above 12 (e.g. {example});"
                            " name the order in a mapping profile",
    # a stored mapping profile that cannot be used (devices.parsers.mapping), one per key at fault
    "profile_not_object": "profile: must be an object of keys, not {type}",
    "key_unknown": "{key}: unknown key (allowed: {allowed})",
    "key_missing": "{key}: missing",
    "key_not_text": "{key}: must be text, not {type} {value}",
    "key_empty": "{key}: must not be empty",
    "key_too_long": "{key}: longer than {limit} characters",
    "key_index_with_header": "{key}: {value} is a column index; give the header name, or set has_header"
                             " to false to map columns by 0-based index",
    "key_not_index": "{key}: must be a 0-based column index (0 is the first column) when has_header is"
                     " false, not {value}",
    "has_header_not_bool": "has_header: must be true or false, not {value}",
    "datetime_and_date": "datetime: give either 'datetime' or 'date' + 'time', not both",
    "datetime_missing": "{key}: give 'datetime', or both 'date' and 'time'",
    "same_column": "{key}: the same column as {other} ({column})",
    "delimiter_invalid": "delimiter: must be one of {allowed} (or null to detect), not {value}",
    "date_order_invalid": "date_order: must be one of {allowed} (or null to decide per file), not {value}",
})

_WORD_KEYS = ("unit", "present", "missing")


@dataclass(frozen=True)
class Refusal:
    """Why a file cannot be read: ``code`` (a key of TEMPLATES) and its values."""

    code: str
    params: Mapping[str, RefusalValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in TEMPLATES:
            raise ValueError(f"unknown refusal code {self.code!r}")

    def __str__(self) -> str:
        return render(self)


def refusal(code: str, **params: RefusalValue) -> Refusal:
    """A Refusal with these values (a shorthand that reads like the message)."""
    return Refusal(code, params)


def render(refused: Refusal, translate: Callable[[str], str] = lambda text: text) -> str:
    """The text of a refusal, its template, nested refusals and role words through ``translate``."""
    values: dict[str, object] = {}
    for key, value in refused.params.items():
        if isinstance(value, Refusal):
            values[key] = render(value, translate)
        elif isinstance(value, tuple):
            values[key] = "; ".join(render(v, translate) for v in value)
        elif key in _WORD_KEYS and isinstance(value, str) and value in (*LABELS, *WORDS):
            values[key] = translate(value)
        else:
            values[key] = value
    return translate(TEMPLATES[refused.code]).format(**values)


def as_data(refused: Refusal) -> dict[str, object]:
    """A JSON-ready form: {"code": ..., "params": {...}} with nested refusals the same way."""
    params: dict[str, object] = {}
    for key, value in refused.params.items():
        if isinstance(value, Refusal):
            params[key] = as_data(value)
        elif isinstance(value, tuple):
            params[key] = [as_data(v) for v in value]
        else:
            params[key] = value
    return {"code": refused.code, "params": params}
