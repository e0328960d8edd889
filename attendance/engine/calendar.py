"""Country calendar: public holidays (lunar ones and days in lieu) and make-up working days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays


@dataclass(frozen=True)
class CalendarDay:
    """What the country calendar says of one date (names in Vietnamese and English)."""

    kind: str  # "holiday" | "makeup"
    name_vi: str
    name_en: str


@lru_cache(maxsize=64)
def _country_year(country: str, year: int) -> dict[dt.date, CalendarDay]:
    vi = holidays.country_holidays(country, years=year, language=_language(country, "vi"))
    en = holidays.country_holidays(country, years=year, language=_language(country, "en_US"))
    days: dict[dt.date, CalendarDay] = {
        day: CalendarDay("holiday", str(name), str(en.get(day, name))) for day, name in vi.items()
    }
    # weekend_workdays accumulates across years inside the library: keep this year's only.
    for day in getattr(vi, "weekend_workdays", ()):
        if day.year == year and day not in days:
            days[day] = CalendarDay("makeup", "Ngày làm việc bù", "Make-up working day")
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
