"""Why an imported line was rejected, worded in the reader's language.

The parsers (``devices.parsers.reasons``) give each rejection a stable code and values beside
their English text; the ledger stores all three. Whoever shows a rejection to a person (the
command line, the web pages) words it here, from the code and values, in that person's
language. Rows stored before codes existed have only their English text, shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.parsers.reasons import TEMPLATES, render

from .i18n import current_language, translated


def rejection_text(code: str | None, params: Mapping[str, Any] | None, language: str | None = None,
                   *, fallback: str = "") -> str:
    """The reason for a rejected line in ``language`` (default: the current one).

    ``fallback`` (the stored English reason) stands when there is no code, or one this
    version does not know, or values that do not fit its template.
    """
    if not code or code not in TEMPLATES:
        return fallback
    language = language or current_language()
    try:
        return render(code, params or {}, lambda text: translated(text, language))
    except (KeyError, IndexError, ValueError):  # values stored by another version of the parsers
        return fallback


def reject_line_text(reject: Mapping[str, Any]) -> str:
    """The reason of one entry of ``ImportResult.rejects`` in the current language."""
    return rejection_text(reject.get("code"), reject.get("params"), fallback=str(reject.get("reason", "")))
