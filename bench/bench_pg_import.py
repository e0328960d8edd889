"""Import of N punches into the partitioned PostgreSQL ledger, beside plain COPY of the same rows.

Run: .venv/bin/python bench/bench_pg_import.py --url postgresql+psycopg://... [--rows N]
(default 10,000,000 rows; the URL defaults to ATTENDANCE_BENCH_POSTGRES_URL, then
ATTENDANCE_TEST_POSTGRES_URL). THE DATABASE IS EMPTIED: its public schema is dropped.

The service side is the whole `attendance import --json` process (parse, clock correction,
COPY into a staging table, INSERT ... ON CONFLICT DO NOTHING into the monthly partitions).
The floor is psycopg's COPY of the same rows, already parsed, into an unindexed table of the
same columns: what PostgreSQL itself needs to take the data in, nothing of the work above.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

URL_ENVS = ("ATTENDANCE_BENCH_POSTGRES_URL", "ATTENDANCE_TEST_POSTGRES_URL")
USERS = 5000


def postgres_url() -> str | None:
    """The PostgreSQL URL the benchmark may use (it empties that database), or None."""
    return next((os.environ[name] for name in URL_ENVS if os.environ.get(name)), None)


def empty_postgres(url: str) -> None:
    """Drop everything in the database at ``url`` (its public schema)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_postgres(url: str) -> None:
    """An empty, migrated database with one terminal and its people enrolled."""
    import datetime as dt

    from attendance.bundle import validate_bundle
    from attendance.db import transaction
    from attendance.migrate import upgrade
    from attendance.org import load_bundle
    from attendance.partitions import ensure_partitions

    empty_postgres(url)
    upgrade(url)
    with transaction(url) as session:
        load_bundle(session, validate_bundle({
            "units": [{"code": "X", "name": "Xã Bench"}],
            "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
        }), actor="bench")
        # Monthly partitions from the first month of the generated data (make_attlog starts
        # in January 2025) to this one, as a province that runs `attendance partitions` has.
        ensure_partitions(session, dt.date(2025, 1, 1), 0)


def copy_text(path: Path, out: Path) -> None:
    """The attlog's rows in COPY's text format, made before the floor's clock starts."""
    import pandas as pd

    line_no = 0
    with out.open("w", encoding="ascii") as sink:
        for chunk in pd.read_csv(path, sep="\t", header=None, dtype=str, chunksize=1_000_000,
                                 names=["pin", "t", "dev", "st", "vf", "wc"]):
            n = len(chunk)
            frame = pd.DataFrame({"device_id": 1, "user_id": chunk["pin"].str.strip(), "device_time": chunk["t"],
                                  "corrected_time": chunk["t"], "status": chunk["st"], "verify": chunk["vf"],
                                  "work_code": chunk["wc"], "batch_id": 1,
                                  "line_no": range(line_no + 1, line_no + n + 1)})
            frame.to_csv(sink, sep="\t", header=False, index=False)
            line_no += n


def floor_copy(url: str, path: Path, keyed: bool = False) -> float:
    """COPY of the same rows, already in COPY's format, into a table of the ledger's columns.

    ``keyed=False``: an unindexed table, what PostgreSQL needs to take the data in at all.
    ``keyed=True``: the ledger's own partitioned table with its keys, indexes and foreign keys,
    the import's batch kept: what PostgreSQL needs to keep the rows as the ledger keeps them.
    """
    import psycopg

    text_rows = path.with_suffix(".copy")
    copy_text(path, text_rows)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        if keyed:
            # Batch 1 is the import's own: its rows go, it stays for the foreign key.
            conn.execute("TRUNCATE punch")
            table = "punch"
        else:
            conn.execute("DROP TABLE IF EXISTS punch_floor")
            conn.execute("CREATE TABLE punch_floor (id serial, device_id int, user_id varchar(32), "
                         "device_time timestamp, corrected_time timestamp, status int, verify int, "
                         "work_code varchar(32), batch_id int, line_no int)")
            table = "punch_floor"
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(
                f"COPY {table} (device_id, user_id, device_time, corrected_time, status, verify, work_code, "
                "batch_id, line_no) FROM STDIN") as copy, text_rows.open("rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - start
        copied = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if not keyed:
            conn.execute("DROP TABLE punch_floor")
        conn.commit()
    text_rows.unlink()
    assert copied > 0, copied
    return elapsed


def bench_pg_import(url: str, rows: int) -> list[tuple[str, float, float, str]]:
    """The import and its COPY floor, one run each (at 10 million rows a repeat costs minutes)."""
    from run_all import cli_import, make_attlog

    path = DATA / f"attlog_{rows}.dat"
    t = time.perf_counter()
    make_attlog(path, rows, users=USERS)
    print(f"  data: {path.name} ({path.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - t:.1f} s)")
    fresh_postgres(url)
    ours = cli_import(url, path)
    assert ours["inserted"] == rows, ours
    floor = floor_copy(url, path)
    keyed = floor_copy(url, path, keyed=True)
    print(f"  attendance import: {ours['seconds']:.2f} s, {rows / ours['seconds']:,.0f} rows/s; "
          f"plain COPY: {floor:.2f} s, {rows / floor:,.0f} rows/s; ratio {ours['seconds'] / floor:.2f}x; "
          f"COPY into the ledger with its keys and indexes: {keyed:.2f} s, {rows / keyed:,.0f} rows/s")
    return [(f"PostgreSQL import {rows:,} punches", ours["seconds"], floor, "(plain COPY, unindexed)"),
            (f"PostgreSQL import {rows:,} punches", ours["seconds"], keyed, "(COPY into the keyed ledger)")]


def main() -> None:
    """Print the import beside its floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--url", default=postgres_url(), help="PostgreSQL URL (the database is emptied)")
    args = parser.parse_args()
    if not args.url:
        parser.error(f"no PostgreSQL URL: give --url or set {' or '.join(URL_ENVS)}")
    DATA.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ATTENDANCE_INSTANCE", str(DATA))
    for name, ours, floor, target in bench_pg_import(args.url, args.rows):
        print(f"{name:40} {ours:8.2f}s {floor:8.2f}s {ours / floor:6.2f}x  {target}")


if __name__ == "__main__":
    main()
