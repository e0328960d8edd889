"""The days of a year that the calendar sets apart from the plain week (Mon–Fri working).

One list for inspectors and administrators: public holidays and days in lieu (law), what the
holiday library adds, the government's public-sector decisions (``engine/vn_public_sector.py``)
and the database's calendar overrides, each with why — which the engine applies in that order
(rules.md §3): an override beats the country calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from . import models as m
from .engine.calendar import CalendarDay, country_calendar
from .errors import InvalidInput
from .i18n import _
from .loader import setting

#: Years the command accepts: enough for any archive, small enough to stay instant.
FIRST_YEAR, LAST_YEAR = 1995, 2199

SOURCE_TEXT = {
    "law": ("luật", "law"),
    "library": ("thư viện ngày lễ", "holiday library"),
    "decision": ("bảng quyết định", "decision table"),
    "override": ("ghi đè của đơn vị", "bundle override"),
}
WEEKDAYS = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
STATUS_TEXT = {"vi": ("nghỉ", "làm việc"), "en": ("day off", "working day")}


@dataclass(frozen=True)
class CalendarLine:
    """One dated calendar entry: the resulting status and the reason for it."""

    date: dt.date
    working: bool  # what the calendar makes of the date
    source: str  # "law" | "library" | "decision" | "override"
    name_vi: str
    name_en: str
    reference: str
    beaten: CalendarDay | None = None  # the country entry an override replaced

    @property
    def differs(self) -> bool:
        """True when the date is not what the plain week (Mon–Fri working) would make it."""
        return self.working != (self.date.weekday() < 5)

    def as_dict(self) -> dict[str, object]:
        """Plain data for --json (ISO dates)."""
        data: dict[str, object] = {
            "date": self.date.isoformat(),
            "weekday": WEEKDAYS["en"][self.date.weekday()].lower(),
            "kind": "working_day" if self.working else "day_off",
            "differs_from_week": self.differs,
            "source": self.source,
            "name_vi": self.name_vi,
            "name_en": self.name_en,
            "reference": self.reference,
        }
        if self.beaten is not None:
            data["replaces"] = {
                "kind": "working_day" if self.beaten.kind == "makeup" else "day_off",
                "source": self.beaten.source,
                "name_vi": self.beaten.name_vi,
                "name_en": self.beaten.name_en,
                "reference": self.beaten.reference,
            }
        return data


def check_year(year: int) -> int:
    """The year itself, or InvalidInput saying which years are accepted."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(_("year {year}: expected {first}–{last}", year=year, first=FIRST_YEAR, last=LAST_YEAR))
    return year


def year_lines(year: int, country: str | None, overrides: Mapping[dt.date, tuple[str, str]] | None = None,
               *, everything: bool = False) -> list[CalendarLine]:
    """Calendar entries of ``year`` in date order: those that change the plain week and every
    override, or all entries with ``everything``.

    ``overrides`` maps a date to ``(kind, reference)`` with kind ``working_day`` or ``day_off``.
    """
    check_year(year)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    entries = country_calendar(country, first, last) if country else {}
    lines: dict[dt.date, CalendarLine] = {
        day: CalendarLine(day, entry.kind == "makeup", entry.source, entry.name_vi, entry.name_en, entry.reference)
        for day, entry in entries.items()
    }
    for day, (kind, reference) in (overrides or {}).items():
        if first <= day <= last:
            working = kind == "working_day"
            lines[day] = CalendarLine(
                day, working, "override",
                "Ngày làm việc (ghi đè lịch)" if working else "Ngày nghỉ (ghi đè lịch)",
                "Working day (calendar override)" if working else "Day off (calendar override)",
                reference, entries.get(day),
            )
    # Overrides are always listed: an office wants to see every decision it loaded, even one
    # that confirms the week (and it may have replaced a country entry).
    return [line for _, line in sorted(lines.items()) if everything or line.differs or line.source == "override"]


def database_overrides(session: Session, year: int) -> dict[dt.date, tuple[str, str]]:
    """The database's calendar overrides dated in ``year``."""
    rows = session.scalars(select(m.CalendarOverride).where(
        m.CalendarOverride.date >= dt.date(year, 1, 1), m.CalendarOverride.date <= dt.date(year, 12, 31)))
    return {row.date: (row.kind, row.reference) for row in rows}


def calendar_of_year(session: Session, year: int, *, everything: bool = False) -> tuple[str, list[CalendarLine]]:
    """(country, lines) for ``year`` as the engine sees it: the configured country plus overrides."""
    country = setting(session, "country", "VN")
    return country, year_lines(year, country, database_overrides(session, check_year(year)), everything=everything)


def database_exists(url: str) -> bool:
    """False for a SQLite file that is not there yet (opening it would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return True
    return Path(parsed.database).exists()


def calendar_text(year: int, country: str, lines: list[CalendarLine], lang: str = "vi",
                  with_database: bool = True) -> str:
    """Human text, one line per date (dd/mm/yyyy), Vietnamese by default."""
    en = lang == "en"
    if en:
        head = f"Calendar {year}, country {country or '-'}: {len(lines)} day(s) set apart from the week (Mon–Fri working)"
        if not with_database:
            head += "; no database, overrides not shown"
    else:
        head = f"Lịch năm {year}, quốc gia {country or '-'}: {len(lines)} ngày khác lịch tuần (thứ Hai–thứ Sáu làm việc)"
        if not with_database:
            head += "; chưa có cơ sở dữ liệu, không có ghi đè"
    out = [head]
    for line in lines:
        status = STATUS_TEXT[lang][line.working]
        name = line.name_en if en else line.name_vi
        why = SOURCE_TEXT[line.source][en]
        reference = f"; {line.reference}" if line.reference and line.reference not in name else ""
        text = f"{line.date:%d/%m/%Y} {WEEKDAYS[lang][line.date.weekday()]:<9} {status:<11} {name} ({why}{reference})"
        if line.beaten is not None:
            beaten = line.beaten.name_en if en else line.beaten.name_vi
            text += f" — {'replaces' if en else 'thay cho'}: {beaten}"
        out.append(text)
    return "\n".join(out)
