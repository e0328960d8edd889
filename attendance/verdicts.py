"""Per person-day verdicts kept in the database, recomputed only where an input changed.

The rules engine stays the one implementation: ``refresh_verdicts`` evaluates the people and
days that need it with ``engine.evaluate`` and stores one ``day_verdict`` row per (staff, day).
A (staff, day) needs it when it was never stored, when a use case that changed one of its
inputs queued it in ``verdict_dirty`` (``mark_dirty``, ``mark_punches``, in the same
transaction as the change), or when it was stored while the day was still in progress.
Readers (month pages, dashboard, summaries) refresh the range they show, then read rows.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, and_, cast, delete, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import models as m
from .db import SQLITE_BUSY_TIMEOUT_MS, is_busy_error

if TYPE_CHECKING:
    import pandas as pd

#: The first day of the engine's day numbers (engine.evaluate.EPOCH).
EPOCH = dt.date(1970, 1, 1)

#: A change naming its people and at most this many days queues each (staff, day) itself;
#: a wider or open range queues the stored pairs only (pairs never stored are stale anyway).
EXPLICIT_PAIRS = 200_000
#: Ids per IN list (SQLite allows 32,766 parameters; PostgreSQL plans long lists slowly).
ID_CHUNK = 5000
#: Milliseconds a reader waits for SQLite's write lock before answering without storing.
STORE_WAIT_MS = 200
#: Stored columns besides the key, the clock and the provisional flag.
VALUE_COLUMNS = (
    "code", "unit_id", "schedule_id", "working", "day_source", "day_reference", "has_punch", "first_punch_minute",
    "sessions", "excused_sessions", "late_count", "late_minutes", "early_count", "early_minutes",
    "missing_punch_count", "absent_sessions", "absent_day", "offday_punch", "detail",
)
#: The session verdicts, in the order and words of ``engine.explain``.
SESSION_FLAGS = ("excused", "absent", "late", "early", "missing_in", "missing_out")


def _insert(session: Session) -> Any:
    """The dialect's INSERT construct, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def _chunks(values: list[Any], size: int = ID_CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _queue(session: Session, pairs: Iterable[tuple[int, dt.date]]) -> None:
    """Queue (staff, day) pairs; a pair already queued gets one more mark (see VerdictDirty.marks)."""
    rows = [{"staff_id": int(s), "day": d, "marks": 1} for s, d in sorted(set(pairs))]
    if not rows:
        return
    stmt = _insert(session)(m.VerdictDirty).on_conflict_do_update(
        index_elements=["staff_id", "day"], set_={"marks": m.VerdictDirty.marks + 1})
    session.execute(stmt, rows)  # executemany: compiled once


def mark_dirty(session: Session, staff_ids: Collection[int] | None, first: dt.date | None,
               last: dt.date | None) -> None:
    """Queue the verdicts of these people (None: everyone) from ``first`` to ``last`` (None: open)."""
    ids = None if staff_ids is None else sorted({int(i) for i in staff_ids})
    if ids is not None and not ids:
        return
    if ids is None and first is not None and last is not None and last >= first and (last - first).days < 7:
        ids = list(session.scalars(select(m.Staff.id)))  # everyone for a few days: each pair queued
    if ids is not None and first is not None and last is not None:
        if last < first:
            return
        if len(ids) * ((last - first).days + 1) <= EXPLICIT_PAIRS:
            days = _days(first, last)
            _queue(session, ((s, d) for s in ids for d in days))
            return
    # Wide or open: only what is stored can be stale; what is not stored is computed when read.
    # A refresh computing never-stored rows from data older than this change must not store
    # them unseen: wait for such refreshes to commit, and make new ones wait for this change.
    _first_computations_lock(session, exclusive=True)
    insert = _insert(session)
    for part in ([None] if ids is None else list(_chunks(ids))):
        query = select(m.DayVerdict.staff_id, m.DayVerdict.day, literal(1)).where(m.DayVerdict.day.is_not(None))
        if part is not None:
            query = query.where(m.DayVerdict.staff_id.in_(part))
        if first is not None:
            query = query.where(m.DayVerdict.day >= first)
        if last is not None:
            query = query.where(m.DayVerdict.day <= last)
        stmt = insert(m.VerdictDirty).from_select(["staff_id", "day", "marks"], query)
        session.execute(stmt.on_conflict_do_update(index_elements=["staff_id", "day"],
                                                   set_={"marks": m.VerdictDirty.marks + 1}))


# pg_advisory_xact_lock key ("verdicts" in ASCII, truncated): the first computations of never-stored rows
# (shared) against changes that queue only the rows already stored (exclusive).
FIRST_COMPUTATIONS_LOCK = 0x7665726469637473


def _first_computations_lock(session: Session, exclusive: bool) -> None:
    """PostgreSQL: hold the first-computations lock until commit (SQLite: writers already take turns)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {function}(:key)"), {"key": FIRST_COMPUTATIONS_LOCK})


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def mark_punches(session: Session, *conditions: Any) -> None:
    """Queue the days of the enrolled punches matching ``conditions`` (and their neighbours) for their owners.

    A punch near midnight may fall in the window of the day before or after, so each day's
    neighbours are queued too.
    """
    rows = session.execute(
        select(m.Enrollment.staff_id, func.date(m.Punch.corrected_time)).distinct()
        .join(m.Enrollment, and_(m.Enrollment.device_id == m.Punch.device_id, m.Enrollment.user_id == m.Punch.user_id))
        .where(*conditions)
    ).all()
    pairs = {(int(s), _as_date(d) + dt.timedelta(days=k)) for s, d in rows if d is not None for k in (-1, 0, 1)}
    if len(pairs) <= EXPLICIT_PAIRS:
        _queue(session, pairs)
        return
    by_staff: dict[int, list[dt.date]] = {}
    for s, d in pairs:
        by_staff.setdefault(s, []).append(d)
    low = min(d for _s, d in pairs)
    high = max(d for _s, d in pairs)
    mark_dirty(session, list(by_staff), low, high)


def mark_excuse(session: Session, staff_id: int, start: dt.datetime, end: dt.datetime) -> None:
    """Queue the days an excuse interval touches (and their neighbours: windows cross midnight)."""
    mark_dirty(session, [staff_id], start.date() - dt.timedelta(days=1), end.date() + dt.timedelta(days=1))


def mark_user_id(session: Session, device_id: int, user_id: str) -> None:
    """Queue the days of a device user id's punches for its owner (call before and after an enrollment change)."""
    mark_punches(session, m.Punch.device_id == device_id, m.Punch.user_id == user_id)


def staff_of_units(session: Session, unit_ids: Collection[int]) -> set[int]:
    """Everyone ever placed in these units or in a unit under them."""
    parents = dict(session.execute(select(m.Unit.id, m.Unit.parent_id)).all())
    wanted = set(unit_ids)
    below: set[int] = set()
    for unit in parents:
        seen, current = set(), unit
        while current is not None and current not in seen:
            if current in wanted:
                below.add(unit)
                break
            seen.add(current)
            current = parents.get(current)
    if not below:
        return set()
    return set(session.scalars(select(m.StaffAssignment.staff_id).where(m.StaffAssignment.unit_id.in_(below))))


def mark_schedule(session: Session, schedule_id: int, unit_ids: Collection[int],
                  first: dt.date | None, last: dt.date | None) -> None:
    """Queue everyone a schedule version applies to (its units' people, its own people) over its validity."""
    people = staff_of_units(session, unit_ids)
    people |= set(session.scalars(select(m.Staff.id).where(m.Staff.schedule_id == schedule_id)))
    if people:
        mark_dirty(session, people, first, last)


# --------------------------------------------------------------------------- computing


def _session_rows(sessions: pd.DataFrame, kinds: dict[int, str]) -> dict[tuple[int, int], dict[str, Any]]:
    """Per (staff, day number) with a session not in order or an excuse: the detail stored for its reason."""
    import numpy as np

    flags = sessions[list(SESSION_FLAGS)].to_numpy(dtype=bool)
    excuse_lists = sessions["excuse_ids"].tolist()
    has_excuse = np.fromiter((bool(ids) for ids in excuse_lists), dtype=bool, count=len(excuse_lists))
    notable = flags.any(axis=1) | has_excuse
    if not notable.any():
        return {}
    staff = sessions["staff_id"].to_numpy(np.int64)
    day = sessions["day"].to_numpy(np.int64)
    # Every session of a day that has a notable one; (staff, day) as one sortable key.
    key = staff * 1_000_000 + day
    chosen = np.isin(key, np.unique(key[notable]))
    order = np.lexsort((sessions["session_no"].to_numpy()[chosen], key[chosen]))
    index = np.flatnonzero(chosen)[order]
    keys = key[index]
    # The verdict list of each combination of flags, made once (64 lists, shared by the rows).
    names = [[n for bit, n in enumerate(SESSION_FLAGS) if mask >> bit & 1] or ["ok"] for mask in range(64)]
    masks = (flags[index] * (1 << np.arange(len(SESSION_FLAGS)))).sum(axis=1)
    entries = list(map(list, zip(sessions["session_no"].to_numpy(np.int64)[index].tolist(),
                                 [names[i] for i in masks.tolist()],
                                 sessions["late_minutes"].to_numpy(np.int64)[index].tolist(),
                                 sessions["early_minutes"].to_numpy(np.int64)[index].tolist(), strict=True)))
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for start, end, k in zip(starts.tolist(), ends.tolist(), keys[starts].tolist(), strict=True):
        out[(k // 1_000_000, k % 1_000_000)] = {"s": entries[start:end], "x": []}
    for i in np.flatnonzero(has_excuse).tolist():  # few: an excuse's sessions
        entry = out[(int(staff[i]), int(day[i]))]
        entry["x"] = sorted(set(entry["x"]) | {kinds[e] for e in excuse_lists[i] if e in kinds})
    return out


def compute_verdicts(session: Session, staff_ids: Collection[int], first: dt.date, last: dt.date,
                     today: dt.date | None = None) -> pd.DataFrame:
    """The verdict rows of these people and days, evaluated now by the rules engine (nothing stored).

    One row per (staff, day) of the period, also outside a person's employment (code ``outside``).
    """
    import numpy as np
    import pandas as pd

    # Imported here: the loader reads batches, whose use cases mark verdicts (an import cycle at
    # module level), and the month views own the day codes.
    from .engine import evaluate
    from .loader import load_input
    from .month_views import day_code_numbers

    today = today or dt.date.today()
    inp, _ctx = load_input(session, first, last, staff_ids=staff_ids)
    ev = evaluate(inp, first, last)  # with detail: the excuses that covered sessions, first punches
    days: pd.DataFrame = ev.days
    sessions: pd.DataFrame = ev.sessions
    frame = pd.DataFrame({
        "staff_id": days["staff_id"].to_numpy(np.int64), "day_no": days["day"].to_numpy(np.int64),
        "code": np.array(_code_names(), dtype=object)[day_code_numbers(ev)] if len(days) else [],
        "unit_id": days["unit_id"].to_numpy(np.int64), "schedule_id": days["schedule_id"].to_numpy(np.int64),
        "working": days["working"].to_numpy(bool), "day_source": days["day_source"].astype(str).to_numpy(),
        "day_reference": days["day_reference"].astype(str).to_numpy(), "has_punch": days["has_punch"].to_numpy(bool),
        "absent_day": days["absent_day"].to_numpy(bool), "offday_punch": days["offday_punch"].to_numpy(bool),
    })
    counts = pd.DataFrame({
        "staff_id": sessions["staff_id"].to_numpy(np.int64), "day_no": sessions["day"].to_numpy(np.int64),
        "sessions": 1, "excused_sessions": sessions["excused"].to_numpy(bool).astype(int),
        "late_count": sessions["late"].to_numpy(bool).astype(int), "late_minutes": sessions["late_minutes"].to_numpy(),
        "early_count": sessions["early"].to_numpy(bool).astype(int),
        "early_minutes": sessions["early_minutes"].to_numpy(),
        "missing_punch_count": (sessions["missing_in"].to_numpy(bool) | sessions["missing_out"].to_numpy(bool)).astype(int),
        "absent_sessions": sessions["absent"].to_numpy(bool).astype(int),
    }).groupby(["staff_id", "day_no"], as_index=False).sum()
    frame = frame.merge(counts, on=["staff_id", "day_no"], how="left")
    punches: pd.DataFrame = ev.punches
    if len(punches):
        kept = punches[~punches["suppressed"].to_numpy(bool)]
        firsts = kept.groupby(["staff_id", "cal_day"], as_index=False)["minute"].min()
        firsts = firsts.rename(columns={"cal_day": "day_no"})
        firsts["first_punch_minute"] = firsts["minute"] - firsts["day_no"] * 1440
        frame = frame.merge(firsts[["staff_id", "day_no", "first_punch_minute"]], on=["staff_id", "day_no"], how="left")
    else:
        frame["first_punch_minute"] = np.nan
    # Every (staff, day) of the period gets a row: days outside the employment read "outside".
    n_days = (last - first).days + 1
    ids = np.array(sorted({int(s) for s in staff_ids} & {s.id for s in inp.staff}), dtype=np.int64)
    first_no = (first - EPOCH).days
    grid = pd.DataFrame({"staff_id": np.repeat(ids, n_days),
                         "day_no": np.tile(np.arange(first_no, first_no + n_days, dtype=np.int64), len(ids))})
    frame = grid.merge(frame, on=["staff_id", "day_no"], how="left")
    outside = frame["code"].isna().to_numpy()
    frame.loc[outside, "code"] = "outside"
    for column in ("working", "has_punch", "absent_day", "offday_punch"):
        frame[column] = frame[column].fillna(False).astype(bool)
    for column in ("sessions", "excused_sessions", "late_count", "late_minutes", "early_count", "early_minutes",
                   "missing_punch_count", "absent_sessions"):
        frame[column] = frame[column].fillna(0).astype(np.int64)
    frame["day_source"] = frame["day_source"].fillna("")
    frame["day_reference"] = frame["day_reference"].fillna("")
    for column in ("unit_id", "schedule_id"):  # the engine's -1 means none
        values = frame[column].fillna(-1).astype(np.int64)
        frame[column] = values.astype("Int64").where(values >= 0, pd.NA)
    frame["first_punch_minute"] = frame["first_punch_minute"].astype("Float64").round().astype("Int64")
    details = _session_rows(sessions, {e.id: e.kind for e in inp.excuses if e.id is not None})
    frame["detail"] = [details.get(k) for k in zip(frame["staff_id"].tolist(), frame["day_no"].tolist(), strict=True)]
    frame["day"] = [EPOCH + dt.timedelta(days=int(n)) for n in frame["day_no"].tolist()]
    frame["provisional"] = frame["day"] >= today
    return frame.drop(columns=["day_no"])


def _code_names() -> tuple[str, ...]:
    from .month_views import DAY_CODES

    return DAY_CODES


def _plain(value: Any) -> Any:
    """A value as the drivers take it: Python ints and bools, None for pandas' missing values."""
    if value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value  # numpy scalars


def _driver_column(series: pd.Series) -> list[Any]:
    """A column as the drivers take it (Python scalars, None for missing), converted as a whole."""
    if series.dtype == object:  # dates, texts, details: may hold numpy scalars or pandas' NA
        return [_plain(v) for v in series.tolist()]
    return series.to_numpy(dtype=object, na_value=None).tolist()


def _store(session: Session, frame: pd.DataFrame) -> None:
    """Upsert computed rows, in (staff, day) order so two refreshers lock rows in the same order."""
    if not len(frame):
        return
    now = dt.datetime.now().replace(microsecond=0)
    columns = ["staff_id", "day", *VALUE_COLUMNS, "provisional"]
    ordered = frame.sort_values(["staff_id", "day"])
    if session.get_bind().dialect.name == "sqlite":
        # Column by column: a conversion per value costs more than computing the verdicts.
        _store_sqlite(session, {c: _driver_column(ordered[c]) for c in columns}, now)
        return
    _store_postgresql(session, ordered, now)


_BOOL_COLUMNS = frozenset({"working", "has_punch", "absent_day", "offday_punch", "provisional"})
_TEXT_COLUMNS = frozenset({"day", "code", "day_source", "day_reference"})


def _store_postgresql(session: Session, ordered: pd.DataFrame, now: dt.datetime) -> None:
    """PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE in (staff, day) order.

    An executemany of a province's month (620,000 rows) spent more in binding parameters
    than the engine spent computing them.
    """
    from . import copytext

    columns = ["staff_id", "day", *VALUE_COLUMNS, "provisional"]
    formatted = []
    for c in columns:
        if c in _BOOL_COLUMNS:
            formatted.append(copytext.bools(ordered[c]))
        elif c in _TEXT_COLUMNS:
            formatted.append(copytext.texts(ordered[c].tolist()))
        elif c == "detail":
            formatted.append(copytext.jsons(ordered[c].tolist()))
        else:
            formatted.append(copytext.ints(ordered[c]))
    formatted.append(copytext.same(now.strftime("%Y-%m-%d %H:%M:%S"), len(ordered)))
    names = ", ".join([*columns, "computed_at"])
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*VALUE_COLUMNS, "provisional", "computed_at"))
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS verdict_stage ON COMMIT DROP AS "
                   f"SELECT {names} FROM day_verdict WITH NO DATA")
    cursor.execute("TRUNCATE verdict_stage")
    with cursor.copy(f"COPY verdict_stage ({names}) FROM STDIN") as copy:
        copy.write(copytext.lines(formatted).encode())
    cursor.execute(f"INSERT INTO day_verdict ({names}) SELECT {names} FROM verdict_stage ORDER BY staff_id, day "
                   f"ON CONFLICT (staff_id, day) DO UPDATE SET {updates}")
    cursor.close()


def _store_sqlite(session: Session, values: dict[str, list[Any]], now: dt.datetime) -> None:
    """SQLite: the driver's executemany on values converted as SQLAlchemy stores them (dates as
    ISO text, times to the second, JSON as text), without a bind processor per value."""
    columns = [*values, "computed_at"]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
    sql = (f"INSERT INTO day_verdict ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
           f"ON CONFLICT (staff_id, day) DO UPDATE SET {updates}")
    n = len(values["day"])
    converted = dict(values)
    converted["day"] = [d.isoformat() for d in values["day"]]
    converted["detail"] = [None if d is None else json.dumps(d) for d in values["detail"]]
    converted["computed_at"] = [now.strftime("%Y-%m-%d %H:%M:%S")] * n
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.executemany(sql, zip(*(converted[c] for c in columns), strict=True))
    cursor.close()


def _in_ids(column: Any, ids: list[int] | None) -> list[Any]:
    """A filter on an id column when the list is short enough to send; None: no filter."""
    return [] if ids is None or len(ids) > ID_CHUNK else [column.in_(ids)]


def refresh_verdicts(session: Session, first: dt.date, last: dt.date, staff_ids: Collection[int] | None = None,
                     today: dt.date | None = None) -> int:
    """Recompute the stale verdicts of these people (None: everyone) from first to last; how many rows.

    Stale: queued by a change, never stored, or stored while the day was in progress and the
    day is over now. Cheap when nothing is stale: three indexed queries. On PostgreSQL the
    queued rows are claimed with SKIP LOCKED, so concurrent refreshers share the work and a
    change made meanwhile queues its pair again once the claim is released.
    """
    today = today or dt.date.today()
    ids = None if staff_ids is None else sorted({int(i) for i in staff_ids})
    if ids is not None and not ids:
        return 0
    everyone = ids if ids is not None else list(session.scalars(select(m.Staff.id)))
    wanted = set(everyone)
    n_days = (last - first).days + 1

    claim = select(m.VerdictDirty.id, m.VerdictDirty.staff_id, m.VerdictDirty.day).where(
        m.VerdictDirty.day >= first, m.VerdictDirty.day <= last, *_in_ids(m.VerdictDirty.staff_id, ids))
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    claimed = [(i, s, _as_date(d)) for i, s, d in session.execute(claim).all() if s in wanted]

    stored = dict(session.execute(
        select(m.DayVerdict.staff_id, func.count()).where(
            m.DayVerdict.day >= first, m.DayVerdict.day <= last, *_in_ids(m.DayVerdict.staff_id, ids))
        .group_by(m.DayVerdict.staff_id)).all())
    missing = [s for s in everyone if stored.get(s, 0) < n_days]
    over = session.execute(
        select(m.DayVerdict.staff_id, m.DayVerdict.day).where(
            m.DayVerdict.provisional.is_(True), m.DayVerdict.day >= first, m.DayVerdict.day <= min(last, today - dt.timedelta(days=1)),
            *_in_ids(m.DayVerdict.staff_id, ids))).all()

    done = set(missing)
    pairs = [(s, d) for _i, s, d in claimed if s not in done] + [(s, _as_date(d)) for s, d in over
                                                                 if s in wanted and s not in done]
    if not missing and not pairs:
        return 0
    if missing:
        # Before reading any input: a wide change either committed before (and is seen) or
        # waits for this transaction and then queues the rows it stores.
        _first_computations_lock(session, exclusive=False)
    frames = [compute_verdicts(session, missing, first, last, today)] if missing else []
    if pairs:
        people = sorted({s for s, _d in pairs})
        frames.append(compute_verdicts(session, people, min(d for _s, d in pairs), max(d for _s, d in pairs), today))
    with _short_wait(session):
        for frame in frames:
            _store(session, frame)
        for part in _chunks([i for i, _s, _d in claimed]):
            session.execute(delete(m.VerdictDirty).where(m.VerdictDirty.id.in_(part)))
    return sum(len(f) for f in frames)


class NotStored(Exception):
    """SQLite: another writer (a long import) holds the database; the verdicts could not be stored now."""


@contextmanager
def _short_wait(session: Session) -> Iterator[None]:
    """On SQLite, wait briefly for the write lock: a reader must not queue behind a long import."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute(f"PRAGMA busy_timeout={STORE_WAIT_MS}")
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:  # the rows go through the driver itself
        name = getattr(exc, "sqlite_errorname", "")
        if is_busy_error(exc) or name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(exc):
            raise NotStored(str(exc)) from exc
        raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def current_verdicts(session: Session, staff_ids: Collection[int], first: dt.date, last: dt.date,
                     columns: Collection[str] | None = None, *, rows: bool = True,
                     totals: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(day rows, per-person totals) of these people: refreshed and read from the table, or, when
    the table cannot be written now (SQLite busy), evaluated from scratch without storing.

    ``rows=False`` or ``totals=False``: that part is not read (an empty DataFrame in its place).
    """
    import pandas as pd

    ids = sorted({int(i) for i in staff_ids})
    try:
        refresh_verdicts(session, first, last, ids)
    except NotStored:
        frame = compute_verdicts(session, ids, first, last)
        names = list(columns) if columns is not None else [*VALUE_COLUMNS, "provisional"]
        day_rows = frame[["staff_id", "day", *names]].sort_values(["staff_id", "day"]).reset_index(drop=True)
        return (day_rows if rows else pd.DataFrame()), (_totals_of(frame, ids) if totals else pd.DataFrame())
    return (stored_verdicts(session, ids, first, last, columns) if rows else pd.DataFrame(),
            stored_totals(session, ids, first, last) if totals else pd.DataFrame())


def counted_verdicts(session: Session, staff_ids: Collection[int], first: dt.date,
                     last: dt.date) -> tuple[dict[dt.date, dict[str, int]], dict[str, int]]:
    """Refreshed where stale, then added up by the database: per day how many of these people have
    each day code, and the rules.md §7 totals over all of them (a province's dashboard reads
    a few hundred numbers, not 600,000 rows)."""
    ids = sorted({int(i) for i in staff_ids})
    per_day: dict[dt.date, dict[str, int]] = {}
    totals = dict.fromkeys(SUM_COLUMNS, 0)
    try:
        refresh_verdicts(session, first, last, ids)
    except NotStored:
        frame = compute_verdicts(session, ids, first, last)
        for (day, code), n in frame.groupby(["day", "code"]).size().items():
            per_day.setdefault(day, {})[str(code)] = int(n)
        sums = _totals_of(frame, ids)
        return per_day, {k: int(sums[k].sum()) for k in SUM_COLUMNS}
    in_range = (m.DayVerdict.day >= first, m.DayVerdict.day <= last)
    for part in _chunks(ids):
        codes = select(m.DayVerdict.day, m.DayVerdict.code, func.count()).where(
            *in_range, m.DayVerdict.staff_id.in_(part)).group_by(m.DayVerdict.day, m.DayVerdict.code)
        for day, code, n in session.execute(codes).all():
            counted = per_day.setdefault(_as_date(day), {})
            counted[code] = counted.get(code, 0) + int(n)
        sums = session.execute(select(*(func.sum(cast(c, Integer)) for c in SUM_COLUMNS.values())).where(
            *in_range, m.DayVerdict.staff_id.in_(part))).one()
        for key, value in zip(SUM_COLUMNS, sums, strict=True):
            totals[key] += int(value or 0)
    return per_day, totals


def _totals_of(frame: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    """stored_totals' table from computed rows."""
    import pandas as pd

    from .engine import SUMMARY_FIELDS

    sums = pd.DataFrame({"staff_id": frame["staff_id"].to_numpy()})
    for field, column in SUM_COLUMNS.items():
        sums[field] = frame[column.key].astype(int).to_numpy()
    sums = sums.groupby("staff_id", as_index=False).sum()
    table = pd.DataFrame({"staff_id": ids}).merge(sums, on="staff_id", how="left")
    for field in SUMMARY_FIELDS:
        table[field] = table[field].fillna(0).astype("int64")
    return table


# --------------------------------------------------------------------------- reading

SUM_COLUMNS = {
    "working_days": m.DayVerdict.working, "working_sessions": m.DayVerdict.sessions,
    "excused_sessions": m.DayVerdict.excused_sessions, "late_count": m.DayVerdict.late_count,
    "late_minutes": m.DayVerdict.late_minutes, "early_count": m.DayVerdict.early_count,
    "early_minutes": m.DayVerdict.early_minutes, "missing_punch_count": m.DayVerdict.missing_punch_count,
    "absent_sessions": m.DayVerdict.absent_sessions, "absent_days": m.DayVerdict.absent_day,
    "offday_punch_days": m.DayVerdict.offday_punch,
}


def _tuples(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """Plain tuples: pandas probes each Row object for attributes, which costs more than the query."""
    return [tuple(row) for row in session.execute(query)]


def stored_totals(session: Session, staff_ids: Collection[int], first: dt.date, last: dt.date) -> pd.DataFrame:
    """rules.md §7 per person from the stored rows: staff_id and SUMMARY_FIELDS (zeros for no row)."""
    import numpy as np
    import pandas as pd

    from .engine import SUMMARY_FIELDS  # the engine (numpy) only once rows are read

    ids = sorted({int(i) for i in staff_ids})
    query = select(m.DayVerdict.staff_id, *(func.sum(cast(c, Integer)).label(k) for k, c in SUM_COLUMNS.items())).where(
        m.DayVerdict.day >= first, m.DayVerdict.day <= last, *_in_ids(m.DayVerdict.staff_id, ids)
    ).group_by(m.DayVerdict.staff_id)
    found = pd.DataFrame.from_records(_tuples(session, query), columns=["staff_id", *SUMMARY_FIELDS])
    table = pd.DataFrame({"staff_id": np.array(ids, dtype=np.int64)}).merge(found, on="staff_id", how="left")
    for field in SUMMARY_FIELDS:
        table[field] = table[field].fillna(0).astype(np.int64)
    return table


def stored_verdicts(session: Session, staff_ids: Collection[int], first: dt.date, last: dt.date,
                    columns: Collection[str] | None = None) -> pd.DataFrame:
    """The stored rows of these people and days (all value columns, or ``columns``), by staff and day."""
    import pandas as pd

    ids = sorted({int(i) for i in staff_ids})
    names = list(columns) if columns is not None else [*VALUE_COLUMNS, "provisional"]
    table = m.DayVerdict.__table__
    query = select(table.c.staff_id, table.c.day, *(table.c[n] for n in names)).where(
        table.c.day >= first, table.c.day <= last, *_in_ids(table.c.staff_id, ids)
    ).order_by(table.c.staff_id, table.c.day)
    frame = pd.DataFrame.from_records(_tuples(session, query), columns=["staff_id", "day", *names])
    if len(ids) > ID_CHUNK:
        frame = frame[frame["staff_id"].isin(ids)].reset_index(drop=True)
    return frame


def session_verdicts(row: dict[str, Any]) -> list[tuple[int, tuple[str, ...], int, int]]:
    """A stored day's sessions: (number, verdict codes, late minutes, early minutes)."""
    detail = row.get("detail")
    if detail:
        return [(int(no), tuple(v), int(late), int(early)) for no, v, late, early in detail["s"]]
    return [(no, ("ok",), 0, 0) for no in range(1, int(row["sessions"]) + 1)]


def excuse_kinds(row: dict[str, Any]) -> list[str]:
    """The kinds of excuse that covered some session of a stored day."""
    return list((row.get("detail") or {}).get("x", []))
