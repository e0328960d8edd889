"""Country calendar: public holidays (lunar ones and days in lieu) and make-up working days.

For Vietnam the holiday library is completed by the government's yearly decisions for the
public sector (``vn_public_sector.DECISIONS``): a decision for a date replaces what the library
says of it (rules.md §3, step 2). Bundle overrides are applied later, by the engine and its
callers, and beat both.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import holidays

from .vn_public_sector import decisions_of_year

#: Where an entry comes from: the Labour Code's holidays (computed by the library), the library's
#: own additions (substitutions it copied, days it estimates), or the decision table.
SOURCES = ("law", "library", "decision")

LABOUR_CODE = "Bộ luật Lao động 2019, Điều 112"
LABOUR_CODE_IN_LIEU = "Bộ luật Lao động 2019, Điều 111–112"

# The library's English names of the Labour Code's holidays (en_US translation, stable keys).
_STATUTORY_EN = re.compile(
    r"^(New Year's Day|Lunar New Year's Eve|Lunar New Year|(Second|Third|Fourth|Fifth) Day of Lunar New Year"
    r"|29 of Lunar New Year|Hung Kings' Commemoration Day|Liberation Day/Reunification Day"
    r"|International Labor Day|National Day)( \(observed\))?$"
)
_LIBRARY_REFERENCES = {"Vietnam Cultural Day": "Nghị quyết 80-NQ/TW"}


@dataclass(frozen=True)
class CalendarDay:
    """What the country calendar says of one date (names in Vietnamese and English)."""

    kind: str  # "holiday" | "makeup"
    name_vi: str
    name_en: str
    reference: str = ""  # legal basis: a document number or the Labour Code article
    source: str = "library"  # one of SOURCES


def _library_entry(name_vi: str, name_en: str) -> CalendarDay:
    """A library holiday, labelled law when it is one of the Labour Code's days."""
    match = _STATUTORY_EN.match(name_en)
    if match:
        reference = LABOUR_CODE_IN_LIEU if match.group(3) else LABOUR_CODE
        return CalendarDay("holiday", name_vi, name_en, reference, "law")
    return CalendarDay("holiday", name_vi, name_en, _LIBRARY_REFERENCES.get(name_en, ""), "library")


@lru_cache(maxsize=64)
def _country_year(country: str, year: int) -> dict[dt.date, CalendarDay]:
    vi = holidays.country_holidays(country, years=year, language=_language(country, "vi"))
    en = holidays.country_holidays(country, years=year, language=_language(country, "en_US"))
    days: dict[dt.date, CalendarDay] = {
        day: _library_entry(str(name), str(en.get(day, name))) for day, name in vi.items()
    }
    # weekend_workdays accumulates across years inside the library: keep this year's only.
    for day in getattr(vi, "weekend_workdays", ()):
        if day.year == year and day not in days:
            days[day] = CalendarDay("makeup", "Ngày làm việc bù", "Make-up working day")
    if country.upper() == "VN":
        # The government's decision for a date is the authority: it replaces the library's entry.
        for decision in decisions_of_year(year):
            days[decision.date] = CalendarDay(
                "holiday" if decision.kind == "day_off" else "makeup",
                f"{decision.name_vi} — {decision.reference}",
                f"{decision.name_en} — {decision.reference}",
                decision.reference,
                "decision",
            )
    return days


def _language(country: str, wanted: str) -> str | None:
    supported = holidays.country_holidays(country).supported_languages
    return wanted if wanted in supported else None


def country_calendar(country: str, first: dt.date, last: dt.date) -> dict[dt.date, CalendarDay]:
    """Holidays and make-up working days of ``country`` between two dates (inclusive)."""
    found: dict[dt.date, CalendarDay] = {}
    for year in range(first.year, last.year + 1):
        for day, entry in _country_year(country, year).items():
            if first <= day <= last:
                found[day] = entry
    return found
