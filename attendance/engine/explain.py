"""Explanations of one person's day: why each verdict, in Vietnamese and English."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from .evaluate import DAY_MIN, day_number
from .types import EXCUSE_KINDS, EngineInput, Evaluation

DAY_TEXT = {
    "weekday": ("Ngày làm việc theo lịch tuần", "Working weekday of the schedule"),
    "weekend": ("Ngày nghỉ hằng tuần", "Weekly day off"),
    "holiday": ("Ngày lễ, Tết", "Public holiday"),
    "makeup": ("Ngày làm việc bù", "Make-up working day"),
    "no_schedule": ("Không có lịch làm việc áp dụng", "No schedule in force"),
}
ROLE_TEXT = {
    "checkin": ("giờ vào", "check-in"),
    "checkout": ("giờ ra", "check-out"),
    "unused": ("trong ca nhưng không dùng (không phải sớm nhất/muộn nhất)", "inside the session but not used (not earliest/latest)"),
    "stray": ("ngoài mọi khung giờ chấm công, không dùng", "outside every punch window, not used"),
    "suppressed": ("chấm trùng (bấm hai lần), bỏ qua", "double tap, suppressed"),
    "offday": ("chấm công vào ngày nghỉ", "punch on a day off"),
}

VERDICT_TEXT = {
    "ok": ("đúng giờ", "in order"),
    "late": ("đi muộn", "late"),
    "early": ("về sớm", "left early"),
    "missing_in": ("thiếu lần chấm vào", "no check-in"),
    "missing_out": ("thiếu lần chấm ra", "no check-out"),
    "absent": ("vắng mặt", "absent"),
    "excused": ("có lý do", "excused"),
}
POLICY_TEXT = {
    "per_session": ("chấm vào và ra mỗi ca", "in and out every session"),
    "first_last": ("chấm vào đầu ngày, ra cuối ngày", "first in, last out of the day"),
}


def verdict_labels(verdicts: list[str], language: str) -> list[str]:
    """Verdict codes as words people read (``language`` 'vi' or 'en')."""
    index = 1 if language == "en" else 0
    return [VERDICT_TEXT.get(v, (v, v))[index] for v in verdicts]


def _hm(minute_of_day: int) -> str:
    day, minute = divmod(int(minute_of_day), DAY_MIN)
    text = f"{minute // 60:02d}:{minute % 60:02d}"
    return text if day == 0 else f"{text} ({'+' if day > 0 else ''}{day}d)"


def _clock(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%H:%M")


def explain_day(
    ev: Evaluation,
    inp: EngineInput,
    staff_id: int,
    day: dt.date,
    punch_details: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything behind one person's verdicts on one date, as plain data with vi/en texts."""
    details = punch_details or {}
    number = day_number(day)
    staff = next(s for s in inp.staff if s.id == staff_id)
    days = ev.days
    row = days[(days["staff_id"] == staff_id) & (days["day"] == number)]
    schedules = {s.id: s for s in inp.schedules}
    excuses = {e.id: e for e in inp.excuses if e.staff_id == staff_id}
    out: dict[str, Any] = {"staff_code": staff.code, "date": day.isoformat(), "employed": not row.empty}
    if row.empty:
        out.update(working_day=False, sessions=[], punches=[], summary={
            "vi": "Ngoài thời gian công tác (chưa tuyển dụng hoặc đã nghỉ việc).",
            "en": "Outside the person's employment."})
        return out
    r = row.iloc[0]
    schedule = schedules.get(int(r["schedule_id"]))
    source = str(r["day_source"])
    reference = str(r["day_reference"] or "")
    if source == "override":
        kind_vi, kind_en = ("Ngày làm việc", "Working day") if r["working"] else ("Ngày nghỉ", "Day off")
        day_vi, day_en = f"{kind_vi} theo quyết định điều chỉnh ({reference})", f"{kind_en} by calendar override ({reference})"
    else:
        day_vi, day_en = DAY_TEXT.get(source, (source, source))
        if reference:
            day_vi, day_en = f"{day_vi}: {reference}", f"{day_en}: {reference}"
    out["working_day"] = bool(r["working"])
    out["calendar"] = {"source": source, "reference": reference, "vi": day_vi, "en": day_en}
    out["schedule"] = None if schedule is None else {
        "code": schedule.code,
        "valid_from": schedule.valid_from.isoformat() if schedule.valid_from else None,
        "valid_to": schedule.valid_to.isoformat() if schedule.valid_to else None,
        "punch_policy": schedule.punch_policy,
        "sessions": [[_hm(a), _hm(b)] for a, b in schedule.sessions],
        "grace_late_minutes": schedule.grace_late_minutes,
        "grace_early_minutes": schedule.grace_early_minutes,
    }

    p = ev.punches
    mine = p[p["staff_id"] == staff_id]
    on_day = mine[(mine["cal_day"] == number) | (mine["work_day"] == number).fillna(False).to_numpy(dtype=bool)]
    punch_rows = []
    for _, q in on_day.sort_values(["sec", "punch_id"]).iterrows():
        pid = int(q["punch_id"])
        role = str(q["role"])
        vi, en = ROLE_TEXT.get(role, (role, role))
        item = {
            "punch_id": pid,
            "corrected_time": pd.Timestamp(q["corrected_time"]).strftime("%Y-%m-%d %H:%M:%S"),
            "minute": pd.Timestamp(q["minute_time"]).strftime("%H:%M"),
            "role": role,
            "session_no": None if pd.isna(q["session_no"]) else int(q["session_no"]),
            "vi": vi,
            "en": en,
            **details.get(pid, {}),
        }
        if role == "suppressed":
            kept_id = int(q["suppressed_by"])
            kept = mine.loc[mine["punch_id"] == kept_id, "corrected_time"]
            # People recognise the earlier punch by its time, not by a ledger id.
            when = pd.Timestamp(kept.iloc[0]).strftime("%H:%M:%S") if len(kept) else f"#{kept_id}"
            item["suppressed_by"] = kept_id
            item["vi"] += f" (chưa tới {inp.dedupe_seconds} giây sau lần chấm lúc {when})"
            item["en"] += f" (less than {inp.dedupe_seconds} s after the punch at {when})"
        punch_rows.append(item)
    out["punches"] = punch_rows

    sess = ev.sessions
    sessions_out = []
    for _, s in sess[(sess["staff_id"] == staff_id) & (sess["day"] == number)].sort_values("session_no").iterrows():
        sessions_out.append(_explain_session(s, excuses))
    out["sessions"] = sessions_out
    if not r["working"]:
        used = [x for x in punch_rows if x["role"] != "suppressed"]
        out["summary"] = {
            "vi": f"{day_vi}. " + ("Có chấm công vào ngày nghỉ (không tính là vi phạm)." if used else "Không có ca làm việc."),
            "en": f"{day_en}. " + ("Worked on a day off (never a violation)." if used else "No sessions."),
        }
    else:
        bad = [(x["session_no"], [v for v in x["verdicts"] if v not in ("ok", "excused")]) for x in sessions_out]
        bad = [(no, verdicts) for no, verdicts in bad if verdicts]
        if not bad:
            summary = {"vi": "Đủ công, không vi phạm.", "en": "All sessions in order."}
        elif bool(r["absent_day"]):
            summary = {"vi": "Vắng mặt cả ngày, không có lý do.", "en": "Absent the whole day, without excuse."}
        else:
            summary = {
                "vi": "Có vi phạm: " + "; ".join(f"ca {no} {', '.join(verdict_labels(v, 'vi'))}" for no, v in bad) + ".",
                "en": "Violations: " + "; ".join(f"session {no} {', '.join(verdict_labels(v, 'en'))}" for no, v in bad) + ".",
            }
        out["summary"] = summary
        out["absent_day"] = bool(r["absent_day"])
    return out


def _explain_session(s: pd.Series, excuses: dict[int | None, Any]) -> dict[str, Any]:
    start, end = int(s["s"]), int(s["e"])
    vi: list[str] = []
    en: list[str] = []
    verdicts: list[str] = []
    checkin, checkout = _clock(s["checkin"]), _clock(s["checkout"])
    used = [excuses[i] for i in s["excuse_ids"] if i in excuses]
    for x in used:
        # The kind in words: a Vietnamese reader must not meet a code such as "annual_leave".
        kind_vi, kind_en = EXCUSE_KINDS.get(x.kind, (x.kind, x.kind))
        vi.append(f"Lý do vắng được chấp nhận: {kind_vi} {x.start:%d/%m/%Y %H:%M} – {x.end:%d/%m/%Y %H:%M} ({x.reference})")
        en.append(f"Excuse: {kind_en} {x.start:%Y-%m-%d %H:%M} – {x.end:%Y-%m-%d %H:%M} ({x.reference})")
    if s["excused"]:
        verdicts.append("excused")
        vi.append("Cả ca được miễn (lý do bao trùm toàn bộ ca): không tính vi phạm.")
        en.append("Whole session covered by the excuse: no violation of any kind.")
    if s["absent"]:
        verdicts.append("absent")
        vi.append("Không có lần chấm công nào trong khung giờ của ca: vắng mặt.")
        en.append("No punch inside the session window: absent.")
        if s["start_covered"] or s["end_covered"]:
            vi.append("Lý do chỉ bao một phần ca nên ca vẫn tính vắng.")
            en.append("The excuse covers only part of the session, so it stays absent.")
    if checkin:
        vi.append(f"Giờ vào {checkin} (lần chấm sớm nhất trước {_hm(int(s['mid']))}).")
        en.append(f"Check-in {checkin} (earliest punch before the midpoint {_hm(int(s['mid']))}).")
    if checkout:
        vi.append(f"Giờ ra {checkout} (lần chấm muộn nhất từ {_hm(int(s['mid']))}).")
        en.append(f"Check-out {checkout} (latest punch from the midpoint {_hm(int(s['mid']))}).")
    if s["late"]:
        verdicts.append("late")
        past = int(s["late_minutes"]) - int(s["grace_late"])
        vi.append(f"Đi muộn {int(s['late_minutes'])} phút: vào {checkin} sau {_hm(start)} + {int(s['grace_late'])} phút cho phép"
                  f" (quá ngưỡng {past} phút).")
        en.append(f"Late by {int(s['late_minutes'])} min: in at {checkin}, after {_hm(start)} + {int(s['grace_late'])} min grace"
                  f" (threshold missed by {past} min).")
    elif s["late_by"] and (s["start_covered"] or s["excused"]):
        vi.append(f"Vào muộn {int(s['late_by'])} phút nhưng đã có lý do cho đầu ca.")
        en.append(f"In {int(s['late_by'])} min late, but the start of the session is excused.")
    if s["early"]:
        verdicts.append("early")
        past = int(s["early_minutes"]) - int(s["grace_early"])
        vi.append(f"Về sớm {int(s['early_minutes'])} phút: ra {checkout} trước {_hm(end)} − {int(s['grace_early'])} phút cho phép"
                  f" (quá ngưỡng {past} phút).")
        en.append(f"Left {int(s['early_minutes'])} min early: out at {checkout}, before {_hm(end)} − {int(s['grace_early'])} min grace"
                  f" (threshold missed by {past} min).")
    elif s["early_by"] and (s["end_covered"] or s["excused"]):
        vi.append(f"Ra sớm {int(s['early_by'])} phút nhưng đã có lý do cho cuối ca.")
        en.append(f"Out {int(s['early_by'])} min early, but the end of the session is excused.")
    if s["missing_in"]:
        verdicts.append("missing_in")
        vi.append("Thiếu lần chấm vào.")
        en.append("No check-in.")
    if s["missing_out"]:
        verdicts.append("missing_out")
        vi.append("Thiếu lần chấm ra.")
        en.append("No check-out.")
    if not verdicts:
        verdicts.append("ok")
    return {
        "session_no": int(s["session_no"]),
        "start": _hm(start),
        "end": _hm(end),
        "window": {"from": _hm(int(s["lo"])), "until_before": _hm(int(s["hi"]))},
        "midpoint": _hm(int(s["mid"])),
        "checkin": checkin,
        "checkout": checkout,
        "verdicts": verdicts,
        "late_minutes": int(s["late_minutes"]),
        "early_minutes": int(s["early_minutes"]),
        "excuse_ids": [int(i) for i in s["excuse_ids"]],
        "vi": vi,
        "en": en,
    }
