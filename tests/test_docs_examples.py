"""Every worked example of docs/rules.md, run through the real rules engine.

The examples are the ```yaml blocks of docs/rules.md whose first line is
``# example: NAME``; their inputs and the numbers the doc shows are read from the block
itself, so the doc and the engine cannot drift apart. The block format is described at
the top of docs/rules.md ("How to read the examples").
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from attendance.bundle import minutes_of
from attendance.engine import summarize
from attendance.engine.calendar import country_calendar
from attendance.engine.types import SUMMARY_FIELDS, WEEKDAY_NAMES
from attendance.ledger import correct_times

try:  # tests/ is not a package today; keep working if it becomes one
    from rules_helpers import excuse, flags, make_input, override, run, schedule
except ImportError:  # pragma: no cover
    from tests.rules_helpers import excuse, flags, make_input, override, run, schedule

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
BLOCK = re.compile(r"^```yaml\n(# example: ([\w-]+)\n.*?)^```", re.S | re.M)
KEYS = {"date", "period", "schedule", "dedupe_seconds", "punches", "clock_offsets", "excuses", "overrides",
        "requires", "corrected", "sessions", "roles", "days", "summary"}
SCHEDULE_KEYS = {"sessions", "weekdays", "grace_late_minutes", "grace_early_minutes",
                 "checkin_window_before_minutes", "checkout_window_after_minutes", "punch_policy"}
VERDICT = re.compile(r"^(ok|absent|excused|missing_in|missing_out|late (\d+)|early (\d+))$")


def examples() -> list[tuple[str, dict[str, Any]]]:
    """(name, data) of every example block of docs/rules.md, in document order."""
    found = []
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        data = yaml.safe_load(match.group(1))
        unknown = set(data) - KEYS
        assert not unknown, f"example {match.group(2)}: unknown keys {sorted(unknown)}"
        found.append((match.group(2), data))
    return found


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _clock(text: Any, day: dt.date | None) -> str:
    """'07:05:59' (on the example's date) or '2026-10-05 07:05:59' -> a full timestamp text."""
    assert isinstance(text, str), f"quote times in the doc (YAML reads 07:00 as a number): {text!r}"
    if re.fullmatch(r"\d\d:\d\d(:\d\d)?", text):
        assert day is not None, f"{text}: the example has no date"
        return f"{day.isoformat()} {text}"
    return text


def _schedule(spec: dict[str, Any] | None):
    spec = dict(spec or {})
    assert set(spec) <= SCHEDULE_KEYS, f"unknown schedule keys {set(spec) - SCHEDULE_KEYS}"
    kwargs: dict[str, Any] = {}
    if "sessions" in spec:
        kwargs["spans"] = tuple((minutes_of(a), minutes_of(b)) for a, b in spec.pop("sessions"))
    if "weekdays" in spec:
        kwargs["weekdays"] = frozenset(WEEKDAY_NAMES.index(w) for w in spec.pop("weekdays"))
    return schedule(**kwargs, **spec)


def _punches(data: dict[str, Any], day: dt.date | None) -> tuple[list[tuple], list[str]]:
    """Engine punch tuples and the doc's label of each (the time as written, without device)."""
    rows, labels = [], []
    for item in data.get("punches") or []:
        text, _, device = str(item).partition(" device ")
        rows.append((_clock(text, day), 1, int(device or 1)))
        labels.append(text)
    if "clock_offsets" in data:
        # The ledger's own correction (device time − offset in force on the device date).
        offsets = sorted((_day(o["valid_from"]), int(o["seconds"])) for o in data["clock_offsets"])
        days = pd.Series([(d - dt.date(1970, 1, 1)).days for d, _ in offsets], dtype="int64").to_numpy()
        secs = pd.Series([s for _, s in offsets], dtype="int64").to_numpy()
        corrected = correct_times(pd.Series(pd.to_datetime([r[0] for r in rows])), (days, secs))
        rows = [(str(t), staff, device) for t, (_, staff, device) in zip(corrected, rows, strict=True)]
        assert [pd.Timestamp(r[0]).strftime("%Y-%m-%d %H:%M:%S") for r in rows] == \
            [_clock(c, day) for c in data["corrected"]]
    return rows, labels


def _verdict(text: str) -> tuple[set[str], int, int]:
    wanted, late, early = set(), 0, 0
    for part in (p.strip() for p in text.split(",")):
        match = VERDICT.match(part)
        assert match, f"unreadable verdict {part!r}"
        if match.group(2):
            wanted.add("late")
            late = int(match.group(2))
        elif match.group(3):
            wanted.add("early")
            early = int(match.group(3))
        elif part != "ok":
            wanted.add(part)
    return wanted, late, early


def _hhmm(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%H:%M")


ALL = examples()


def test_the_doc_has_its_examples() -> None:
    names = [name for name, _ in ALL]
    assert len(names) == len(set(names)) >= 12
    checked = {key for _, data in ALL for key in ("sessions", "roles", "days", "summary", "corrected") if key in data}
    assert checked == {"sessions", "roles", "days", "summary", "corrected"}


@pytest.mark.parametrize(("name", "data"), ALL, ids=[name for name, _ in ALL])
def test_worked_example(name: str, data: dict[str, Any]) -> None:
    if data.get("requires") == "decision_table" and not country_calendar("VN", dt.date(2026, 1, 2), dt.date(2026, 1, 2)):
        pytest.skip("this build's country calendar has no table of the government's yearly decisions yet")
    day = _day(data["date"]) if "date" in data else None
    first, last = (_day(v) for v in data["period"]) if "period" in data else (day, day)
    punches, labels = _punches(data, day)
    inp = make_input(
        punches,
        schedules=[_schedule(data.get("schedule"))],
        excuses=[excuse(str(e["start"]), str(e["end"]), kind=e.get("kind", "annual_leave"), id=i)
                 for i, e in enumerate(data.get("excuses") or [], start=1)],
        overrides=[override(str(o["date"]), o["kind"], o.get("reference", "")) for o in data.get("overrides") or []],
        dedupe_seconds=data.get("dedupe_seconds", 60),
    )
    ev = run(inp, first.isoformat(), last.isoformat())

    if "sessions" in data:
        got = {}
        for _, row in ev.sessions.iterrows():
            got[(pd.Timestamp(row["date"]).date(), int(row["session_no"]))] = row
        want = {(_day(s.get("date", day)), int(s["session"])): s for s in data["sessions"]}
        assert sorted(got) == sorted(want), f"{name}: sessions of the period"
        for key, spec in want.items():
            row = got[key]
            assert (_hhmm(row["checkin"]), _hhmm(row["checkout"])) == (spec["in"], spec["out"]), f"{name} {key}"
            wanted, late, early = _verdict(spec["verdict"])
            assert (flags(row), int(row["late_minutes"]), int(row["early_minutes"])) == (wanted, late, early), \
                f"{name} {key}"

    if "roles" in data:
        role_of = dict(zip(ev.punches["punch_id"].astype(int), ev.punches["role"].astype(str), strict=True))
        for label, role in data["roles"].items():
            assert labels.count(label) == 1, f"{name}: punch {label!r} must be written once"
            assert role_of[labels.index(label) + 1] == role, f"{name}: punch {label}"

    if "days" in data:
        days = {pd.Timestamp(r["date"]).date(): r for _, r in ev.days.iterrows()}
        for when, spec in data["days"].items():
            row = days[_day(when)]
            assert bool(row["working"]) == spec["working"], f"{name} {when}"
            if "source" in spec:
                assert str(row["day_source"]) == spec["source"], f"{name} {when}"

    if "summary" in data:
        [row] = summarize(ev, inp).to_dict("records")
        expected = {f: int(data["summary"].get(f, 0)) for f in SUMMARY_FIELDS}
        assert set(data["summary"]) <= set(SUMMARY_FIELDS)
        assert {f: int(row[f]) for f in SUMMARY_FIELDS} == expected, name


def test_the_bundle_reference_example_loads(sqlite_url: str) -> None:
    """docs/bundle.md's example is a valid bundle, and loading it twice changes nothing."""
    from attendance.bundle import validate_bundle
    from attendance.db import transaction
    from attendance.org import load_bundle

    text = (DOC.parent / "bundle.md").read_text(encoding="utf-8").split("## Example", 1)[1]
    [block] = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    with transaction() as session:
        first = load_bundle(session, validate_bundle(yaml.safe_load(block)), actor="test")
    with transaction() as session:
        again = load_bundle(session, validate_bundle(yaml.safe_load(block)), actor="test")
    assert first.created["staff"] == 1 and first.created["device"] == 1
    assert again.as_dict() == {"created": {}, "updated": {}, "deleted": {}}
