"""The language of human-facing text: Vietnamese by default, English on request.

Messages are written in English in the code (``_("...")``) and translated in the gettext
catalogue ``attendance/translations/<lang>/LC_MESSAGES/messages.po`` (compiled next to it as
``messages.mo`` by ``scripts/compile_translations.py``; a test keeps the two in step). JSON keys
and codes are never translated: only text meant for people is.
"""

from __future__ import annotations

import gettext
import os
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANGUAGE_ENV = "ATTENDANCE_LANG"
TRANSLATIONS = Path(__file__).with_name("translations")

_chosen: str | None = None
# A web request's language (each request runs in its own context), over the process's choice.
_request_language: ContextVar[str | None] = ContextVar("request_language", default=None)


def use_request_language(language: str | None) -> None:
    """Set the language of the current request's context (the web app does this per request)."""
    _request_language.set(language if language in LANGUAGES else None)


def set_language(language: str | None) -> None:
    """Choose the language for this process (None: ATTENDANCE_LANG, else Vietnamese)."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    _chosen = language


def current_language() -> str:
    """The language in force: the request's, else set_language, else ATTENDANCE_LANG, else Vietnamese."""
    request_language = _request_language.get()
    if request_language:
        return request_language
    if _chosen:
        return _chosen
    wanted = os.environ.get(LANGUAGE_ENV, "").strip().lower()[:2]
    return wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=4)
def _catalogue(language: str) -> gettext.NullTranslations:
    # English is the language of the code: no catalogue, messages stand as written.
    return gettext.translation("messages", localedir=TRANSLATIONS, languages=[language], fallback=True)


def translated(message: str, language: str) -> str:
    """``message`` (an English msgid) in ``language``, unformatted; English for an unknown language."""
    return _catalogue(language if language in LANGUAGES else "en").gettext(message)


def _(message: str, **values: object) -> str:
    """``message`` in the current language, with ``{name}`` placeholders filled from ``values``."""
    text = _catalogue(current_language()).gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """The singular or plural form for ``n`` in the current language, placeholders filled."""
    text = _catalogue(current_language()).ngettext(singular, plural, n)
    return text.format(n=n, **values)
