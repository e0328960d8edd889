"""The PostgreSQL import path writes COPY's text format itself: every value must come back as it went in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from conftest import POSTGRES_URL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import _rows, copy_text, import_file
from attendance.org import load_bundle

COLUMNS = "device_id int, user_id text, device_time timestamp, corrected_time timestamp, status int, verify int, " \
          "work_code text, batch_id int, line_no int"
# Any text PostgreSQL can hold (no NUL), with COPY's special characters made likely.
TEXTS = st.text(alphabet=st.one_of(st.sampled_from("\\\t\n\r\"',N. "), st.characters(codec="utf-8", exclude_characters="\x00")),
                max_size=12)
MOMENTS = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 12, 31)).map(
    lambda t: t.replace(microsecond=0))


@st.composite
def chunks(draw: st.DrawFn) -> pd.DataFrame:
    """A parsed chunk as the parsers hand it to the ledger, with missing values in every optional column."""
    n = draw(st.integers(1, 8))
    return pd.DataFrame({
        "user_id": draw(st.lists(TEXTS.filter(bool), min_size=n, max_size=n)),
        "device_time": pd.to_datetime(draw(st.lists(MOMENTS, min_size=n, max_size=n))),
        "status": pd.array(draw(st.lists(st.none() | st.integers(0, 255), min_size=n, max_size=n)), dtype="Int64"),
        "verify": pd.array(draw(st.lists(st.none() | st.integers(0, 30), min_size=n, max_size=n)), dtype="Int64"),
        "work_code": draw(st.lists(st.none() | TEXTS, min_size=n, max_size=n)),
        "line_no": np.arange(1, n + 1),
    })


def _sqlite_values(chunk: pd.DataFrame, offsets: tuple[np.ndarray, np.ndarray]) -> list[tuple[object, ...]]:
    """What the SQLite path stores for the same chunk (times as text): the reference."""
    return [tuple(row) for row in _rows(chunk, 3, 7, offsets)]


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=chunks(), shift=st.integers(-7200, 7200))
def test_copy_text_round_trips_through_postgresql(chunk: pd.DataFrame, shift: int) -> None:
    offsets = (np.array([0], dtype=np.int64), np.array([shift], dtype=np.int64))
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        conn.execute(f"CREATE TEMP TABLE stage ({COLUMNS})")
        with conn.cursor() as cur, cur.copy("COPY stage FROM STDIN") as copy:
            copy.write(copy_text(chunk, 3, 7, offsets).encode())
        back = conn.execute("SELECT device_id, user_id, to_char(device_time, 'YYYY-MM-DD HH24:MI:SS'), "
                            "to_char(corrected_time, 'YYYY-MM-DD HH24:MI:SS'), status, verify, work_code, batch_id, "
                            "line_no FROM stage ORDER BY line_no").fetchall()
        conn.rollback()
    assert back == _sqlite_values(chunk, offsets)


def test_an_import_keeps_odd_user_ids_and_work_codes_exactly(db_url: str, tmp_path: Path) -> None:
    """Through the whole import on both databases: backslashes, quotes, commas and \\N in an attlog's fields."""
    with transaction() as session:
        load_bundle(session, validate_bundle({"units": [{"code": "X", "name": "Xã X"}],
                                              "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}]}))
    path = tmp_path / "odd_attlog.dat"
    path.write_text("A\\1\t2026-10-05 07:00:00\t1\t0\t1\tx\\Ny\n"
                    'B"2\t2026-10-05 07:01:00\t1\t0\t1\ta,b\n'
                    "C\\\\3\t2026-10-05 07:02:00\t1\t0\t1\t\\N\n", encoding="utf-8")
    with transaction() as session:
        result = import_file(session, "TK-01", path)
    assert (result.inserted, result.rejected) == (3, 0), result
    with transaction() as session:
        stored = session.execute(select(m.Punch.user_id, m.Punch.work_code).order_by(m.Punch.device_time)).all()
    assert [tuple(r) for r in stored] == [("A\\1", "x\\Ny"), ('B"2', "a,b"), ("C\\\\3", "\\N")]
