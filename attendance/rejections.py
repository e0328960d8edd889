"""Why an imported line was rejected, or a whole file refused, worded in the reader's language.

The parsers (``devices.parsers.reasons``) give each rejection a stable code and values beside
their English text; the ledger stores all three. Whoever shows a rejection to a person (the
command line, the web pages) words it here, from the code and values, in that person's
language. Rows stored before codes existed have only their English text, shown as it is.
A refused file (``UnsupportedFile``) and a mapping profile that cannot be used (``ProfileError``)
carry codes the same way (``devices.parsers.refusals``) and are worded here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.parsers.mapping import ProfileError
from devices.parsers.reasons import TEMPLATES, render
from devices.parsers.refusals import Refusal
from devices.parsers.refusals import render as render_refusal
from devices.parsers.types import UnsupportedFile

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


def refusal_text(refused: Refusal, language: str | None = None) -> str:
    """Why a file (or a mapping profile) is refused, in ``language`` (default: the current one)."""
    language = language or current_language()
    return render_refusal(refused, lambda text: translated(text, language))


def file_error_text(exc: BaseException, language: str | None = None) -> str:
    """The message of a parser's refusal (UnsupportedFile, ProfileError) in the reader's language.

    The parsers know no language: their errors carry codes and values beside the English text,
    and are worded here, where the service reports them. Any other error gives its own message.
    """
    language = language or current_language()
    if isinstance(exc, UnsupportedFile):
        return exc.worded(lambda text: translated(text, language))
    if isinstance(exc, ProfileError):
        return "; ".join(refusal_text(p, language) for p in exc.problems)
    return str(exc)
