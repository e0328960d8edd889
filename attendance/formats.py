"""Names of the punch-file formats `attendance import --format` accepts.

Kept apart from the parsers so that the command line can offer them without importing
pandas: every other command would pay for it at start-up. The parsers' own registry
(``devices.parsers.FORMATS``) is the authority; a test checks the two are equal.
"""

from __future__ import annotations

#: The parsers' formats, "auto" (detect) first.
FILE_FORMATS: tuple[str, ...] = ("auto", "zk_attlog", "csv", "zktime_csv", "hikvision", "xlsx")
