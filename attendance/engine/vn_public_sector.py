"""The government's yearly holiday decisions for Vietnam's public sector, with their references.

Who this binds: cán bộ, công chức, viên chức and workers of administrative agencies, public
service units and political and socio-political organisations (the commune offices this
service counts). Each year the Prime Minister approves the Ministry's proposal (formerly the
Ministry of Labour, Invalids and Social Affairs, since 2025 the Ministry of Home Affairs) and
the Government Office conveys it in an official letter (``…/VPCP-KGVX``). Those letters place
the five Tết days, pick the day next to 2 September, and swap working days to bridge holidays.

The holiday library (``holidays``) implements the Labour Code's public holidays and copies some
of these decisions, late and without their reference. This table is applied on top of it for
country ``VN`` (rules.md §3, step 2); a bundle's calendar override of a date still wins over
both.

How to maintain it: add an entry only for what a public announcement states, with the document
number and the address of the page where it was read. A swap is two entries that name each
other in ``swapped_with``. Check the result with ``attendance calendar --year YYYY``.

What ``holidays`` 0.109 gives for VN and how it compares (checked when this table was written):

* 2024: 1/1; Tết 8–14/2; Giỗ Tổ 18/4; 29/4 off and Sat 4/5 worked; 30/4, 1/5; 2–3/9.
  Same dates as the decisions; the 29/4–4/5 swap needs its reference (2450/VPCP-KGVX).
* 2025: 1/1; Tết 27/1–1/2; Giỗ Tổ 7/4; 30/4, 1/5; 2/5 off and Sat 26/4 worked; 1–2/9.
  Same dates as the decisions; the Tết days, the swap and 1/9 need their reference
  (8726/VPCP-KGVX).
* 2026: 1/1; Tết 16–20/2; Giỗ Tổ 26/4 (Sunday) and 27/4 in lieu; 30/4, 1/5; 31/8 off and
  Sat 22/8 worked; 1–2/9; 24/11 (Ngày Văn hóa Việt Nam). MISSING: the New Year swap
  (2/1 off, Sat 10/1 worked, 12729/VPCP-KGVX). The Tết days and the 2/9 swap need their
  reference (9859/VPCP-KGVX).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

DecisionKind = Literal["day_off", "working_day"]


@dataclass(frozen=True)
class Decision:
    """One dated decision: a day off or a make-up working day, with where it was decided."""

    date: dt.date
    kind: DecisionKind
    name_vi: str
    name_en: str
    reference: str  # the document number, e.g. "12729/VPCP-KGVX"
    source: str  # address of the public announcement the entry was read from
    swapped_with: dt.date | None = None  # the other half of a working-day swap


# What is known, year by year (the table's date: November 2026).
#
# 2024 — known: the 30/4–1/5 swap (2450/VPCP-KGVX, 12/4/2024). Tết 8–14/2 and 2/9 with 3/9 were
#        decided in November 2023 but the announcements read did not give the document number;
#        the library has the same dates, so they are not repeated here.
# 2025 — known: Tết, the 30/4–1/5 swap and 2/9 (8726/VPCP-KGVX, 26/11/2024). The announcement of
#        the Ministry (6150/TB-BLĐTBXH, cited by the library) was not found in the pages read.
# 2026 — known: New Year swap (12729/VPCP-KGVX, 25/12/2025); Tết and 2/9 (9859/VPCP-KGVX,
#        13/10/2025). 30/4–1/5 (Thu–Fri) and Giỗ Tổ (Sunday 26/4, Monday 27/4 in lieu) follow
#        from the Labour Code and need no decision. Ngày Văn hóa Việt Nam, 24/11 (Tuesday): the
#        Politburo's Resolution 80-NQ/TW made it a paid day off and the library lists it; no
#        decision on bridging it (a proposed swap was reported) was found, so nothing is added.
# 2027 — not yet decided in any announcement found: the library's Tết 2027 days (4–10/2) are
#        its own estimate, not a decision.
_VPCP_2024 = "2450/VPCP-KGVX"
_SRC_2024 = "https://baophapluat.vn/media/thu-tuong-chinh-phu-dong-y-nghi-5-ngay-lien-tiep-dip-304-va-15-post12513.html"
_VPCP_2025 = "8726/VPCP-KGVX"
_SRC_2025_NUMBER = "https://pld.net.vn/tag/nghi-tet-nguyen-dan.html"
_SRC_2025 = "https://vietnamnews.vn/society/1687874/pm-approves-proposal-for-9-day-continuous-tet-holiday-in-2025.html"
_VPCP_2026_NEW_YEAR = "12729/VPCP-KGVX"
_SRC_2026_NEW_YEAR = "https://www.collector.com.tr//965292743"
_VPCP_2026 = "9859/VPCP-KGVX"
_SRC_2026 = "https://vietnamnews.vn/society/1727239/prime-minister-approves-nine-day-lunar-new-year-holiday-plan.html"
_SRC_2026_SEP = "https://kienthuc.net.vn/chot-phuong-an-nghi-tet-am-lich-binh-ngo-va-quoc-khanh-nam-2026-post1576857.html"


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


_WEEKDAYS = (("thứ Hai", "Monday"), ("thứ Ba", "Tuesday"), ("thứ Tư", "Wednesday"), ("thứ Năm", "Thursday"),
             ("thứ Sáu", "Friday"), ("thứ Bảy", "Saturday"), ("Chủ nhật", "Sunday"))


def _swap(off: str, worked: str, occasion_vi: str, occasion_en: str, reference: str,
          source: str) -> tuple[Decision, Decision]:
    """A weekday off and the weekend day worked for it, each pointing at the other."""
    day_off, day_worked = _d(off), _d(worked)
    (off_vi, off_en), (worked_vi, worked_en) = _WEEKDAYS[day_off.weekday()], _WEEKDAYS[day_worked.weekday()]
    return (
        Decision(day_off, "day_off", f"Nghỉ hoán đổi {occasion_vi} (làm bù {worked_vi} {day_worked:%d/%m/%Y})",
                 f"{occasion_en} day off swapped for {worked_en} {day_worked:%d/%m/%Y}", reference, source,
                 swapped_with=day_worked),
        Decision(day_worked, "working_day", f"Làm bù cho {off_vi} {day_off:%d/%m/%Y}",
                 f"Make-up working day for {off_en} {day_off:%d/%m/%Y}", reference, source, swapped_with=day_off),
    )


def _tet(day: str, vi: str, en: str, reference: str, source: str) -> Decision:
    return Decision(_d(day), "day_off", f"Tết Nguyên Đán ({vi})", f"Lunar New Year ({en})", reference, source)


DECISIONS: tuple[Decision, ...] = (
    # ---- 2024
    *_swap("2024-04-29", "2024-05-04", "dịp 30/4–1/5", "30 April – 1 May", _VPCP_2024, _SRC_2024),
    # ---- 2025: Tết 25/1–2/2 (5 weekdays 27–31/1), 30/4–4/5, 30/8–2/9
    _tet("2025-01-27", "28 tháng Chạp", "28th of the 12th month", _VPCP_2025, _SRC_2025),
    _tet("2025-01-28", "Giao thừa, 29 tháng Chạp", "Lunar New Year's Eve, 29th of the 12th month", _VPCP_2025, _SRC_2025),
    _tet("2025-01-29", "mùng 1", "first day", _VPCP_2025, _SRC_2025),
    _tet("2025-01-30", "mùng 2", "second day", _VPCP_2025, _SRC_2025),
    _tet("2025-01-31", "mùng 3", "third day", _VPCP_2025, _SRC_2025),
    *_swap("2025-05-02", "2025-04-26", "dịp 30/4–1/5", "30 April – 1 May", _VPCP_2025, _SRC_2025),
    Decision(_d("2025-09-01"), "day_off", "Quốc khánh (ngày liền kề trước 2/9)",
             "National Day (the day before 2 September)", _VPCP_2025, _SRC_2025_NUMBER),
    # ---- 2026: New Year 1–4/1, Tết 14–22/2 (5 weekdays 16–20/2), 2/9: 29/8–2/9
    *_swap("2026-01-02", "2026-01-10", "Tết Dương lịch", "New Year", _VPCP_2026_NEW_YEAR, _SRC_2026_NEW_YEAR),
    _tet("2026-02-16", "Giao thừa, 29 tháng Chạp", "Lunar New Year's Eve, 29th of the 12th month", _VPCP_2026, _SRC_2026),
    _tet("2026-02-17", "mùng 1", "first day", _VPCP_2026, _SRC_2026),
    _tet("2026-02-18", "mùng 2", "second day", _VPCP_2026, _SRC_2026),
    _tet("2026-02-19", "mùng 3", "third day", _VPCP_2026, _SRC_2026),
    _tet("2026-02-20", "mùng 4", "fourth day", _VPCP_2026, _SRC_2026),
    *_swap("2026-08-31", "2026-08-22", "dịp Quốc khánh", "National Day", _VPCP_2026, _SRC_2026_SEP),
    Decision(_d("2026-09-01"), "day_off", "Quốc khánh (ngày liền kề trước 2/9)",
             "National Day (the day before 2 September)", _VPCP_2026, _SRC_2026),
)

#: Years for which the table holds the government's decisions (the others rely on the library).
DECIDED_YEARS: frozenset[int] = frozenset({2024, 2025, 2026})


def decisions_of_year(year: int) -> list[Decision]:
    """The table's entries dated in ``year``, in date order."""
    return sorted((d for d in DECISIONS if d.date.year == year), key=lambda d: d.date)
