"""What a monthly report is built with: its window, alert thresholds and the issuing body's names.

Each value comes, the later over the earlier, from the defaults below, then the set-up bundle's
``settings`` (``report_month_start_day``, ``report_thresholds``), then the instance config
(``REPORT_MONTH_START_DAY``, ``REPORT_THRESHOLDS``, ``REPORT_ISSUER``...).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from attendance import api
from attendance.errors import InvalidInput
from attendance.i18n import _

from ..offenders import MAX_MONTHS


@dataclass(frozen=True)
class Threshold:
    """A person whose count of ``field`` in the period reaches ``at_least`` is listed (no penalty follows)."""

    field: str
    at_least: int
    action: str      # the handling the rule suggests to the competent person, e.g. "nhắc nhở"
    reference: str   # the legal or internal rule it rests on


# The defaults only flag people for the unit head's attention; each names what it rests on.
# An office replaces them in its bundle or instance config with its own working rules.
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("late_count", 3, "nhắc nhở",
              "Chỉ thị 26/CT-TTg ngày 05/9/2016; Quy chế làm việc của cơ quan (ngưỡng nội bộ)"),
    Threshold("early_count", 3, "nhắc nhở",
              "Chỉ thị 26/CT-TTg ngày 05/9/2016; Quy chế làm việc của cơ quan (ngưỡng nội bộ)"),
    Threshold("missing_punch_count", 4, "yêu cầu giải trình",
              "Quy chế làm việc của cơ quan (ngưỡng nội bộ)"),
    Threshold("absent_days", 1, "yêu cầu giải trình",
              "Quy chế làm việc của cơ quan (ngưỡng nội bộ)"),
    Threshold("absent_days", 5, "báo cáo thủ trưởng đơn vị xem xét theo thẩm quyền",
              "Nghị định 112/2020/NĐ-CP (ngưỡng cảnh báo nội bộ)"),
)


@dataclass(frozen=True)
class ReportSettings:
    """The report's window start day, thresholds and the names in its header and signature."""

    start_day: int = 1
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS
    issuer: str = "TỔ KIỂM TRA CÔNG VỤ"
    issuer_parent: str | None = None   # None: "UBND" + the top unit above the report's unit
    symbol: str = "TKTCV"              # the issuer's abbreviation in "Số: .../BC-TKTCV"
    signer_title: str = "TỔ TRƯỞNG"
    place: str | None = None           # None: the top unit's name without its kind ("Nghệ An")
    recipients: tuple[str, ...] = field(default=("Như trên",))
    repeat_months: int = 3       # M: repeat offenders look at the last M periods...
    repeat_min_months: int = 2   # N: ...and list who has a violation in N of them


CONFIG_KEYS = {"REPORT_ISSUER": "issuer", "REPORT_ISSUER_PARENT": "issuer_parent", "REPORT_SYMBOL": "symbol",
               "REPORT_SIGNER_TITLE": "signer_title", "REPORT_PLACE": "place"}


def _start_day(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 28:
        raise InvalidInput(_("{where}: the report month starts on a day from 1 to 28, got {value!r}",
                             where=where, value=value))
    return value


def _thresholds(value: Any, where: str) -> tuple[Threshold, ...]:
    return tuple(Threshold(**item) for item in api.check_alert_thresholds(value, where))


def _whole(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(_("{name}: expected a whole number from {low} to {high}", name=key, low=low, high=high))
    return value


def report_settings(session: Session, config: Mapping[str, Any] | None = None) -> ReportSettings:
    """Defaults, then the bundle's settings, then the instance config (InvalidInput names a bad key)."""
    values: dict[str, Any] = {}
    stored_day = api.service_setting(session, "report_month_start_day")
    if stored_day is not None:
        values["start_day"] = _start_day(stored_day, "settings.report_month_start_day")
    stored = api.service_setting(session, "report_thresholds")
    if stored is not None:
        try:
            values["thresholds"] = _thresholds(json.loads(stored), "settings.report_thresholds")
        except ValueError as exc:
            raise InvalidInput(_("settings.report_thresholds: not JSON ({problem})", problem=exc)) from None
    config = config or {}
    if config.get("REPORT_MONTH_START_DAY") is not None:
        values["start_day"] = _start_day(config["REPORT_MONTH_START_DAY"], "REPORT_MONTH_START_DAY")
    if config.get("REPORT_THRESHOLDS") is not None:
        values["thresholds"] = _thresholds(list(config["REPORT_THRESHOLDS"]), "REPORT_THRESHOLDS")
    for key, name in CONFIG_KEYS.items():
        if config.get(key) is not None:
            text = str(config[key]).strip()
            if not text or len(text) > 200:
                raise InvalidInput(_("{key}: expected text of 1 to 200 characters", key=key))
            values[name] = text
    if config.get("REPORT_RECIPIENTS") is not None:
        values["recipients"] = tuple(str(r).strip() for r in config["REPORT_RECIPIENTS"] if str(r).strip())
    if config.get("REPORT_REPEAT_MONTHS") is not None:
        values["repeat_months"] = _whole(config["REPORT_REPEAT_MONTHS"], "REPORT_REPEAT_MONTHS", 1,
                                         MAX_MONTHS)
    if config.get("REPORT_REPEAT_MIN_MONTHS") is not None:
        values["repeat_min_months"] = _whole(config["REPORT_REPEAT_MIN_MONTHS"], "REPORT_REPEAT_MIN_MONTHS", 1,
                                             values.get("repeat_months", ReportSettings.repeat_months))
    elif values.get("repeat_months", ReportSettings.repeat_months) < ReportSettings.repeat_min_months:
        # Fewer periods than the default minimum: a person with a violation in each of them counts.
        values["repeat_min_months"] = values["repeat_months"]
    return ReportSettings(**values)


@dataclass(frozen=True)
class Period:
    """The days a report covers: a calendar month, or the window from ``start_day`` of the month before."""

    month: str      # YYYY-MM: the month the period is named after (it ends in it)
    first: dt.date
    last: dt.date
    start_day: int = 1

    @property
    def label(self) -> str:
        """'10/2026' for a calendar month, '15/09/2026 - 14/10/2026' for another window."""
        if self.start_day == 1:
            return f"{self.first:%m/%Y}"
        return f"{self.first:%d/%m/%Y} - {self.last:%d/%m/%Y}"

    @property
    def short_label(self) -> str:
        """mm/yyyy of the month the period is named after."""
        return f"{self.month[5:]}/{self.month[:4]}"

    def previous(self) -> Period:
        """The period just before this one."""
        year, month = int(self.month[:4]), int(self.month[5:])
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return report_period(f"{year:04d}-{month:02d}", self.start_day)


MONTH = re.compile(r"(\d{4})-(\d{2})")


def report_period(month: str, start_day: int = 1) -> Period:
    """The days of the report for ``month`` (YYYY-MM): the month itself, or from ``start_day`` of the
    month before to the day before ``start_day`` of this one (start day 15: 15/09 to 14/10)."""
    match = MONTH.fullmatch(month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1900 < int(match.group(1)) < 9000:
        raise InvalidInput(_("--month: expected YYYY-MM, got {text!r}", text=month[:40]))
    year, number = int(match.group(1)), int(match.group(2))
    if start_day == 1:
        return Period(month.strip(), dt.date(year, number, 1),
                      dt.date(year, number, calendar.monthrange(year, number)[1]), 1)
    before_year, before = (year - 1, 12) if number == 1 else (year, number - 1)
    return Period(month.strip(), dt.date(before_year, before, start_day),
                  dt.date(year, number, start_day - 1), start_day)


def periods_ending(month: str, count: int, start_day: int = 1) -> list[Period]:
    """The report period of ``month`` and the ``count - 1`` periods before it, oldest first."""
    periods = [report_period(month, start_day)]
    for _i in range(count - 1):
        periods.insert(0, periods[0].previous())
    return periods
