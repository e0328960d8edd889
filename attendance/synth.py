"""Synthetic districts: a set-up bundle, attlog files and the summary their scenarios imply.

Used by the end-to-end tests, the benchmarks and the demo. Each working day of each person
gets one planted scenario (on time, late by k minutes, early by k, no check-out, absent,
excused, ...); the expected monthly summary is the sum of what the scenarios mean, so it is
computed without the rules engine.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .engine.calendar import country_calendar
from .engine.types import SUMMARY_FIELDS as FIELDS

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thu", "Hoài"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Mai", "Nam",
         "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
POSITIONS = ["Chủ tịch UBND", "Phó Chủ tịch UBND", "Công chức Văn phòng - Thống kê", "Công chức Tư pháp - Hộ tịch",
             "Công chức Địa chính - Xây dựng", "Công chức Tài chính - Kế toán", "Công chức Văn hóa - Xã hội"]
SCENARIOS = ("ok", "ok", "ok", "ok", "ok", "late", "early", "missing_out", "absent", "excused", "late_excused_start")


@dataclass
class District:
    """A generated district: bundle (plain data), attlog lines per device, expected summary."""

    month: str
    bundle: dict[str, Any]
    attlogs: dict[str, list[str]]
    expected: dict[str, dict[str, int]] = field(default_factory=dict)

    def punch_count(self) -> int:
        """How many punch lines were generated in all."""
        return sum(len(lines) for lines in self.attlogs.values())


def _name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _days(month: str) -> list[dt.date]:
    year, mon = (int(x) for x in month.split("-"))
    return [dt.date(year, mon, d) for d in range(1, calendar.monthrange(year, mon)[1] + 1)]


def _stamp(day: dt.date, minute: int, second: int) -> str:
    return f"{day:%Y-%m-%d} {minute // 60:02d}:{minute % 60:02d}:{second:02d}"


def generate_district(
    units: int = 3, staff_per_unit: int = 10, month: str = "2026-10", seed: int = 7, double_taps: bool = True
) -> District:
    """A province > district > communes tree with one terminal per commune and planted scenarios."""
    rng = random.Random(seed)
    days = _days(month)
    holidays = country_calendar("VN", days[0], days[-1])
    working = [
        d for d in days
        if (holidays.get(d) is not None and holidays[d].kind == "makeup")
        or (d.weekday() < 5 and (d not in holidays or holidays[d].kind == "makeup"))
    ]
    off_days = [d for d in days if d not in working]
    bundle: dict[str, Any] = {
        "units": [
            {"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
            {"code": "412", "name": "Huyện Tân Kỳ", "kind": "district", "parent": "40"},
        ],
        "schedules": [{
            "code": "NA-2026", "units": ["40"], "valid_from": days[0].replace(month=1, day=1).isoformat(),
            "weekdays": ["mon", "tue", "wed", "thu", "fri"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]],
            "grace_late_minutes": 5, "grace_early_minutes": 5, "punch_policy": "per_session",
        }],
        "calendar": {"country": "VN", "overrides": []},
        "devices": [], "staff": [], "excuses": [],
    }
    attlogs: dict[str, list[str]] = {}
    expected: dict[str, dict[str, int]] = {}
    for u in range(units):
        unit_code = f"{17830 + u}"
        device = f"TK-{u + 1:02d}"
        bundle["units"].append({"code": unit_code, "name": f"Xã Tân {u + 1}", "kind": "commune", "parent": "412"})
        bundle["devices"].append({"code": device, "unit": unit_code, "kind": "file",
                                  "clock_offsets": [{"valid_from": days[0].isoformat(), "seconds": 0}]})
        lines: list[str] = []
        for k in range(staff_per_unit):
            code = f"NV{u + 1:03d}{k + 1:03d}"
            pin = f"{k + 1:05d}" if k % 3 == 0 else str(100 + k)
            bundle["staff"].append({"code": code, "name": _name(rng), "unit": unit_code,
                                    "position": rng.choice(POSITIONS), "employed_from": "2020-01-01",
                                    "enrollments": [{"device": device, "user_id": pin}]})
            want = dict.fromkeys(FIELDS, 0)
            want["working_days"] = len(working)
            want["working_sessions"] = 2 * len(working)
            for day in working:
                lines.extend(_plant(rng, day, pin, code, want, bundle["excuses"], double_taps))
            for day in off_days:
                if rng.random() < 0.08:
                    lines.append(f"{pin}\t{_stamp(day, 8 * 60 + rng.randint(0, 120), rng.randint(0, 59))}\t1\t0\t1\t0")
                    want["offday_punch_days"] += 1
            expected[code] = want
        rng.shuffle(lines)  # terminals do not always write in time order
        attlogs[device] = lines
    return District(month=month, bundle=bundle, attlogs=attlogs, expected=expected)


def _plant(rng: random.Random, day: dt.date, pin: str, code: str, want: dict[str, int],
           excuses: list[dict[str, Any]], double_taps: bool) -> Iterator[str]:
    """Punch lines for one working day, adding the scenario's meaning to ``want``."""
    scenario = rng.choice(SCENARIOS)
    in1, out1 = 7 * 60 - rng.randint(0, 40), 11 * 60 + 30 + rng.randint(0, 30)
    in2, out2 = 13 * 60 + 30 - rng.randint(0, 30), 17 * 60 + rng.randint(0, 60)
    minutes = [in1, out1, in2, out2]
    if scenario == "late":
        late = rng.randint(6, 90)
        minutes[0] = 7 * 60 + late
        want["late_count"] += 1
        want["late_minutes"] += late
    elif scenario == "early":
        early = rng.randint(6, 90)
        minutes[3] = 17 * 60 - early
        want["early_count"] += 1
        want["early_minutes"] += early
    elif scenario == "missing_out":
        minutes = minutes[:3]
        want["missing_punch_count"] += 1
    elif scenario == "absent":
        minutes = []
        want["absent_sessions"] += 2
        want["absent_days"] += 1
    elif scenario == "excused":
        excuses.append({"staff": code, "kind": rng.choice(["annual_leave", "business_trip", "sick_leave"]),
                        "start": f"{day:%Y-%m-%d}T07:00", "end": f"{day:%Y-%m-%d}T17:00",
                        "reference": f"{rng.randint(1, 99)}/QĐ-UBND"})
        minutes = [] if rng.random() < 0.5 else [7 * 60 + 40, 16 * 60]  # punches do not matter
        want["excused_sessions"] += 2
    elif scenario == "late_excused_start":
        # An excuse until 09:00 removes the late verdict of a 08:30 check-in.
        excuses.append({"staff": code, "kind": "approved_absence", "start": f"{day:%Y-%m-%d}T06:30",
                        "end": f"{day:%Y-%m-%d}T09:00", "reference": "GM-01"})
        minutes[0] = 8 * 60 + 30
    for minute in minutes:
        second = rng.randint(0, 59)
        yield f"{pin}\t{_stamp(day, minute, second)}\t1\t0\t1\t0"
        if double_taps and rng.random() < 0.1:
            tap = min(59, second + rng.randint(1, 20))
            if tap > second:
                yield f"{pin}\t{_stamp(day, minute, tap)}\t1\t0\t1\t0"
