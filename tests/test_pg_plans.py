"""The partitioned punch ledger on PostgreSQL: plans of the ledger queries, pruning, the DEFAULT partition.

The plan tests run the real use cases (month evaluation, unit day and month pages, the
monthly report, explain) on a ledger of three months, record every statement they send
that reads ``punch`` (through the connection's cursor factory, so the loader's raw DBAPI
queries are caught too), and EXPLAIN each with the same parameters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import POSTGRES_URL, _reset_postgres
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import get_engine, transaction
from attendance.ledger import import_file
from attendance.migrate import upgrade
from attendance.org import load_bundle
from attendance.partitions import (
    DEFAULT_PARTITION,
    ensure_partitions,
    is_partition_name,
    partition_months,
)
from attendance.synth import generate_district

MONTHS = ("2026-09", "2026-10", "2026-11")
UNITS, PER_UNIT = 12, 20  # 240 people, about 87,000 punches over the three months
READS_PUNCH = re.compile(r"\bpunch\b", re.I)


def _load_province(folder: Path) -> None:
    """A synthetic district's people; one terminal's October through the import, the rest by SQL.

    Four punches a day for everyone over the three months: the volume the planner sees is
    what matters here, and SQL makes it in a second where importing it would take a minute.
    """
    district = generate_district(units=UNITS, staff_per_unit=PER_UNIT, month="2026-10", seed=5)
    with transaction() as session:
        load_bundle(session, validate_bundle(dict(district.bundle, excuses=[])))
    path = folder / "TK-01.dat"
    path.write_text("\n".join(district.attlogs["TK-01"]) + "\n")
    with transaction() as session:
        batch = import_file(session, "TK-01", path).batch
    with transaction() as session:
        session.execute(text(
            "INSERT INTO punch (device_id, user_id, device_time, corrected_time, status, verify, batch_id) "
            "SELECT e.device_id, e.user_id, t, t, 0, 1, :batch FROM enrollment e "
            "CROSS JOIN generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 day') AS d "
            "CROSS JOIN LATERAL (VALUES (d + interval '7 hours' + (e.id % 40) * interval '1 minute'), "
            "(d + interval '11 hours 31 minutes'), (d + interval '13 hours 25 minutes'), "
            "(d + interval '17 hours 2 minutes' + (e.id % 50) * interval '1 minute')) AS p(t) "
            "ON CONFLICT DO NOTHING"), {"batch": batch, "first": f"{MONTHS[0]}-01", "last": "2026-11-30"})


@pytest.fixture
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A freshly migrated PostgreSQL database (the ledger partitioned)."""
    assert POSTGRES_URL is not None
    _reset_postgres(POSTGRES_URL)
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", POSTGRES_URL)
    upgrade(POSTGRES_URL)
    yield POSTGRES_URL
    get_engine(POSTGRES_URL).dispose()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Three months of a 500-person district in partitions of their own, analysed."""
    assert POSTGRES_URL is not None
    _reset_postgres(POSTGRES_URL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTENDANCE_DATABASE_URL", POSTGRES_URL)
        upgrade(POSTGRES_URL)
        with transaction(POSTGRES_URL) as session:
            ensure_partitions(session, dt.date(2026, 8, 1), 0, today=dt.date(2026, 12, 1))
        _load_province(tmp_path_factory.mktemp("ledger"))
        with get_engine(POSTGRES_URL).connect() as conn:
            conn.execute(text("COMMIT"))
            conn.execute(text("ANALYZE"))
        yield POSTGRES_URL
    get_engine(POSTGRES_URL).dispose()


class _Recorder(psycopg.Cursor):  # type: ignore[type-arg]
    """A cursor that remembers the SELECTs on the ledger it is asked to run."""

    seen: list[tuple[str, Any]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        sql = query if isinstance(query, str) else query.decode() if isinstance(query, bytes) else None
        if sql is not None and READS_PUNCH.search(sql) and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            _Recorder.seen.append((sql, params))
        return super().execute(query, params, **kwargs)


def _recorded(session: Session, use_case: Any) -> list[tuple[str, Any]]:
    """The ledger queries ``use_case(session)`` sends."""
    raw = session.connection().connection.driver_connection
    raw.cursor_factory = _Recorder
    _Recorder.seen = []
    try:
        use_case(session)
    finally:
        raw.cursor_factory = psycopg.Cursor
    return list(_Recorder.seen)


def _plan(session: Session, sql: str, params: Any) -> dict[str, Any]:
    raw = session.connection().connection.driver_connection
    # Client-side binding: the planner sees the values, as it does for the use case's own run.
    with psycopg.ClientCursor(raw) as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        return cur.fetchone()[0][0]["Plan"]


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(node type, relation) of every node of a plan that reads a relation."""
    if "Relation Name" in plan:
        yield plan["Node Type"], plan["Relation Name"]
    for child in plan.get("Plans", ()):
        yield from _scans(child)


def _ledger(relation: str) -> bool:
    return relation == "punch" or is_partition_name(relation)


def _unit_month_page(session: Session) -> None:
    from attendance import api

    api.unit_month_grid(session, "17835", "2026-10")


def _unit_day_page(session: Session) -> None:
    from attendance.dashboard import latest_punch_day, presence_on

    latest_punch_day(session, "17835")
    presence_on(session, "17835", dt.date(2026, 10, 14))


def _person_pages(session: Session) -> None:
    from attendance import api

    api.person_month(session, "NV006003", "2026-10")
    api.explain_day(session, "NV006003", dt.date(2026, 10, 14))
    api.punches_around(session, "NV006003", dt.datetime(2026, 10, 14, 8), dt.timedelta(hours=3), dt.timedelta(hours=3))


def _report(session: Session) -> None:
    from attendance import api
    from inspections.report.data import gather_report
    from inspections.report.settings import report_settings

    api.month_has_punches(session, "2026-10", "17835")
    gather_report(session, "2026-10", "17835", report_settings(session))


def _month_evaluation(session: Session) -> None:
    from attendance.services import monthly_summary

    monthly_summary(session, "2026-10", "17835")


def _default_month(session: Session) -> None:
    from attendance.web.pages import latest_plausible_punch

    latest_plausible_punch(session)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only")
@pytest.mark.parametrize("use_case", [_month_evaluation, _unit_month_page, _unit_day_page, _person_pages, _report,
                                      _default_month])
def test_ledger_queries_read_the_punches_through_indexes(province: str, use_case: Any) -> None:
    with transaction(province) as session:
        assert session.scalar(text("SELECT count(*) FROM punch")) > 80_000  # enough for a planner to choose
        holding = {rel for rel in session.scalars(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'punch'::regclass AND c.reltuples > 0"))}
        assert holding == {"punch_2026_09", "punch_2026_10", "punch_2026_11"}
        # Pages read stored verdicts; the ledger is read when they are computed. Drop them, so
        # every use case computes its range as on the first read of a month.
        session.execute(text("DELETE FROM day_verdict"))
        queries = _recorded(session, use_case)
        assert queries, "the use case sent no ledger query: the recorder missed it"
        for sql, params in queries:
            scans = list(_scans(_plan(session, sql, params)))
            ledger = [(kind, rel) for kind, rel in scans if _ledger(rel)]
            assert ledger, (sql, scans)
            # An empty partition (a month ahead, the default one) is read in no time whatever
            # the plan; the planner rightly scans it. Every partition holding rows needs an index.
            assert not [s for s in ledger if s[0] == "Seq Scan" and s[1] in holding], (sql, scans)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only")
def test_a_month_query_reads_only_that_months_partition(province: str) -> None:
    from attendance.loader import fetch_punches

    with transaction(province) as session:
        queries = _recorded(session, lambda s: fetch_punches(s, dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1)))
        assert len(queries) == 1
        read = {rel for _kind, rel in _scans(_plan(session, *queries[0])) if _ledger(rel)}
        assert read == {"punch_2026_10"}
        # And the rows are there: every October punch, none of the neighbouring months.
        frame = fetch_punches(session, dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1))
        in_partition = session.scalar(text("SELECT count(*) FROM punch_2026_10 p JOIN enrollment e "
                                           "ON e.device_id = p.device_id AND e.user_id = p.user_id"))
        assert len(frame) == in_partition > 0


def _punch_file(folder: Path, name: str, stamps: list[str]) -> Path:
    path = folder / name
    path.write_text("".join(f"101\t{s}\t1\t0\t1\t0\n" for s in stamps))
    return path


def _bundle(session: Session) -> None:
    load_bundle(session, validate_bundle({
        "units": [{"code": "X", "name": "Xã Thử"}],
        "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
        "staff": [{"code": "NV1", "name": "Nguyễn Văn A", "unit": "X", "enrollments": [{"device": "TK-01", "user_id": "101"}]}],
    }))


def _where(session: Session) -> dict[str, str]:
    """device time → the partition that holds the row."""
    rows = session.execute(text("SELECT tableoid::regclass::text, device_time FROM punch")).all()
    return {f"{t:%Y-%m-%d %H:%M:%S}": rel for rel, t in rows}


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only")
def test_a_punch_outside_every_partition_lands_in_default_and_moves_to_its_month(pg_url: str, tmp_path: Path) -> None:
    with transaction(pg_url) as session:
        _bundle(session)
        assert dt.date(2031, 3, 1) not in partition_months(session)
    far = ["2031-03-02 07:01:00", "2031-03-31 23:59:59"]
    with transaction(pg_url) as session:
        result = import_file(session, "TK-01", _punch_file(tmp_path, "far.dat", far))
        assert result.inserted == 2
    with transaction(pg_url) as session:
        assert set(_where(session).values()) == {DEFAULT_PARTITION}
        ids_before = sorted(session.scalars(text("SELECT id FROM punch")))
        report = ensure_partitions(session, None, 1, today=dt.date(2026, 10, 5))
    assert report.partitioned and "2031-03" in report.created and report.moved == 2 and report.default_rows == 0
    assert {"2026-10", "2026-11"} <= set(report.months)
    with transaction(pg_url) as session:
        assert _where(session) == dict.fromkeys(far, "punch_2031_03")
        assert sorted(session.scalars(text("SELECT id FROM punch"))) == ids_before  # ids kept
        again = ensure_partitions(session, None, 1, today=dt.date(2026, 10, 5))
    assert again.created == [] and again.moved == 0 and again.months == report.months
    # The moved rows still count as already imported: the database key holds across the move.
    with transaction(pg_url) as session:
        result = import_file(session, "TK-01", _punch_file(tmp_path, "far2.dat", far + ["2031-04-01 00:00:00"]))
    assert (result.inserted, result.duplicates) == (1, 2)
    with transaction(pg_url) as session:
        assert _where(session)["2031-04-01 00:00:00"] == DEFAULT_PARTITION


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only")
def test_reimport_into_the_partitioned_ledger_inserts_nothing(pg_url: str, tmp_path: Path) -> None:
    with transaction(pg_url) as session:
        _bundle(session)
        ensure_partitions(session, dt.date(2026, 9, 1), 0, today=dt.date(2026, 10, 1))
    # Three months, one of them without a partition; a line repeated inside the file too.
    stamps = ["2026-09-30 23:59:59", "2026-10-01 00:00:00", "2026-10-15 07:02:03", "2030-12-01 08:00:00",
              "2026-10-15 07:02:03"]
    path = _punch_file(tmp_path, "a.dat", stamps)
    with transaction(pg_url) as session:
        first = import_file(session, "TK-01", path)
    with transaction(pg_url) as session:
        second = import_file(session, "TK-01", path)
    assert (first.read, first.inserted, first.duplicates) == (5, 4, 1)
    assert (second.read, second.inserted, second.duplicates) == (5, 0, 5)
    with transaction(pg_url) as session:
        assert _where(session) == {"2026-09-30 23:59:59": "punch_2026_09", "2026-10-01 00:00:00": "punch_2026_10",
                                   "2026-10-15 07:02:03": "punch_2026_10", "2030-12-01 08:00:00": DEFAULT_PARTITION}
        # The database itself refuses a second copy of a key, whichever partition holds it.
        with pytest.raises(Exception, match="uq_punch_key|duplicate key"):
            with session.begin_nested():
                session.execute(text(
                    "INSERT INTO punch (device_id, user_id, device_time, corrected_time, batch_id) "
                    "SELECT device_id, user_id, device_time, corrected_time, batch_id FROM punch LIMIT 1"))


def test_ensure_partitions_is_a_no_op_on_sqlite(sqlite_url: str) -> None:
    with transaction(sqlite_url) as session:
        report = ensure_partitions(session, None, 3)
        assert not report.partitioned and report.created == [] and report.months == []
        assert session.scalar(select(func.count()).select_from(m.Punch)) == 0
