"""Benchmarks of the core pipeline, each beside its floor measured in the same run.

1. import of a 1,000,000-line attlog into SQLite   vs pandas parse + plain executemany
2. re-import of the same file (all duplicates)     vs pandas parse + executemany (all ignored)
   and the first import as a user runs it: a whole `attendance import` process, timed from outside
3. evaluation of one month for 10,000 staff         vs SELECT of the month's punches into a DataFrame
4. pull of 100,000 records from the ZK simulator    vs decoding the same bytes alone
   over TCP, and the same pull stored in SQLite
5. the unit month page and its API, 100 staff       vs the month evaluation alone
   (p50/p95 of 50 requests through waitress: bench/web_bench.py)
6. 500 simulated terminals pulled by two         vs one pull's time × terminals ÷ (2 × workers)
   `attendance scheduler` processes at once
   (every punch once, no terminal pulled twice at once: bench/bench_schedulers.py)
7. `attendance import` of 10,000,000 punches into    vs plain COPY of the same rows into an
   the partitioned PostgreSQL ledger                    unindexed table (bench/bench_pg_import.py;
   only when ATTENDANCE_BENCH_POSTGRES_URL or ATTENDANCE_TEST_POSTGRES_URL is set — that database is emptied)
8. stored verdicts of a province (--verdict-staff, default 20,000): its month all recomputed
   vs a SELECT of its punches; one new batch then the dashboard and a month page, p50/p95
   (bench/bench_verdicts.py)

Run with `make bench` (or `python bench/run_all.py --lines 200000 --staff 2000` for a quick look).
Each import runs in its own process so its peak memory (VmHWM) is its own; the imports and
their floors alternate `--repeat` times and the best of each is kept (peak memory: the highest).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FLOOR_TABLE = """
CREATE TABLE punch (id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL, user_id VARCHAR(32) NOT NULL,
  device_time DATETIME NOT NULL, corrected_time DATETIME NOT NULL, status INTEGER, verify INTEGER,
  work_code VARCHAR(32), batch_id INTEGER NOT NULL, line_no INTEGER);
CREATE UNIQUE INDEX uq_punch_key ON punch (device_id, user_id, device_time);
"""


def make_attlog(path: Path, lines: int, users: int = 5000) -> None:
    """A ZK 6-column attlog: `users` people punching 4 times a working day, in time order."""
    if path.exists() and sum(1 for _ in path.open("rb")) == lines:
        return
    rng = np.random.default_rng(1)
    per_user = -(-lines // users)
    days = -(-per_user // 4)
    start = np.datetime64("2025-01-01T00:00:00")
    day_offsets = np.arange(days) * 86400
    slot = np.array([7 * 3600, 11 * 3600 + 1800, 13 * 3600 + 1800, 17 * 3600])
    base = (day_offsets[:, None] + slot[None, :]).ravel()[:per_user]
    times = start + (base[None, :] + rng.integers(-1800, 1800, size=(users, per_user))).astype("timedelta64[s]")
    pins = np.repeat(np.array([f"{u:5d}" for u in range(1, users + 1)]), per_user)
    stamps = np.char.replace(np.datetime_as_string(times.ravel(), unit="s"), "T", " ")
    frame = pd.DataFrame({"pin": pins, "t": stamps})[:lines]
    text = frame["pin"] + "\t" + frame["t"] + "\t1\t0\t1\t0"
    path.write_text("\r\n".join(text.tolist()) + "\r\n", encoding="ascii")


def floor_import(path: Path, db: Path, again: bool) -> float:
    """pandas read_csv + to_datetime, then executemany into a table with the same unique index."""
    start = time.perf_counter()
    frame = pd.read_csv(path, sep="\t", header=None, dtype=str, names=["pin", "t", "dev", "st", "vf", "wc"])
    times = pd.to_datetime(frame["t"], format="%Y-%m-%d %H:%M:%S")
    text = np.char.replace(np.datetime_as_string(times.to_numpy().astype("datetime64[s]"), unit="s"), "T", " ")
    n = len(frame)
    rows = zip([1] * n, frame["pin"].str.strip().tolist(), text.tolist(), text.tolist(), frame["st"].astype(int).tolist(),
               frame["vf"].astype(int).tolist(), frame["wc"].tolist(), [1] * n, range(1, n + 1), strict=True)
    if not again and db.exists():
        db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if not again:
        conn.executescript(FLOOR_TABLE)
    conn.executemany("INSERT OR IGNORE INTO punch (device_id, user_id, device_time, corrected_time, status, verify, "
                     "work_code, batch_id, line_no) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - start


# Peak memory is VmHWM of the child's own address space: ru_maxrss would also count the
# parent's peak, which Linux carries over fork and exec.
CHILD = """
import json, sys, time
from attendance.db import transaction
from attendance.ledger import import_file
start = time.perf_counter()
with transaction(sys.argv[1]) as session:
    result = import_file(session, "TK-01", sys.argv[2])
elapsed = time.perf_counter() - start
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "peak_mb": hwm / 1024,
                  "inserted": result.inserted, "duplicates": result.duplicates, "read": result.read}))
"""


def service_import(url: str, path: Path) -> dict[str, float]:
    """The service's own import of the file, in a child process (time and peak memory)."""
    done = subprocess.run([sys.executable, "-c", CHILD, url, str(path)], capture_output=True, text=True, check=True,
                          cwd=ROOT)
    return json.loads(done.stdout)


def cli_import(url: str, path: Path) -> dict[str, float]:
    """The import as a user runs it: a whole `attendance import --json` process, timed from outside."""
    script = Path(sys.executable).with_name("attendance")
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": url}
    start = time.perf_counter()
    done = subprocess.run([str(script), "import", str(path), "--device", "TK-01", "--json"], capture_output=True,
                          text=True, check=True, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, **{k: v for k, v in json.loads(done.stdout).items() if k in ("inserted", "read")}}


def fresh_database(name: str, bundle: dict) -> str:
    """A new migrated SQLite database with the bundle loaded."""
    from attendance.bundle import validate_bundle
    from attendance.db import get_engine, transaction
    from attendance.migrate import upgrade
    from attendance.org import load_bundle

    db = DATA / name
    url = f"sqlite:///{db}"
    get_engine(url).dispose()  # a pooled connection of an earlier round would keep the deleted file
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    upgrade(url)
    with transaction(url) as session:
        load_bundle(session, validate_bundle(bundle), actor="bench")
    return url


def bench_import(lines: int, repeat: int) -> list[tuple[str, float, float, str]]:
    """Benchmarks 1 and 2 (best of ``repeat`` alternating runs of each)."""
    path = DATA / f"attlog_{lines}.dat"
    t = time.perf_counter()
    make_attlog(path, lines)
    print(f"  data: {path.name} ({path.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - t:.1f} s)")
    bundle = {"units": [{"code": "X", "name": "Xã Bench"}],
              "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}],
              "staff": [{"code": f"NV{u:05d}", "name": f"Cán bộ {u}", "unit": "X",
                         "enrollments": [{"device": "TK-01", "user_id": str(u)}]} for u in range(1, 2001)]}
    floor_db = DATA / "floor.sqlite3"
    runs: dict[str, list[float]] = {k: [] for k in ("floor", "first", "floor_again", "again", "floor_cli", "cli")}
    peaks: dict[str, float] = {"first": 0.0, "again": 0.0}
    for _ in range(repeat):  # alternate service and floor, keep the best of each: both see the same load
        url = fresh_database("import.sqlite3", bundle)
        runs["floor"].append(floor_import(path, floor_db, again=False))
        first = service_import(url, path)
        runs["floor_again"].append(floor_import(path, floor_db, again=True))
        again = service_import(url, path)
        assert first["inserted"] == lines and again["duplicates"] == lines, (first, again)
        runs["first"].append(first["seconds"])
        runs["again"].append(again["seconds"])
        peaks = {"first": max(peaks["first"], first["peak_mb"]), "again": max(peaks["again"], again["peak_mb"])}
        # The same first import through the installed command, process start-up included.
        runs["floor_cli"].append(floor_import(path, floor_db, again=False))
        whole = cli_import(fresh_database("import_cli.sqlite3", bundle), path)
        assert whole["inserted"] == lines, whole
        runs["cli"].append(whole["seconds"])
    for name, values in runs.items():
        print(f"  runs (s) {name}: {', '.join(f'{x:.2f}' for x in values)}")
    print(f"  import peak memory: {peaks['first']:.0f} MB (target <= 400 MB); re-import {peaks['again']:.0f} MB")
    return [
        (f"import {lines:,} lines", min(runs["first"]), min(runs["floor"]), "<= 1.5x"),
        (f"re-import {lines:,} (all duplicates)", min(runs["again"]), min(runs["floor_again"]), "<= 1.5x"),
        (f"`attendance import` process, {lines:,}", min(runs["cli"]), min(runs["floor_cli"]), "<= 1.3x"),
    ]


def bench_month(staff: int) -> list[tuple[str, float, float, str]]:
    """Benchmark 3."""
    import yaml  # noqa: F401 - the bundle goes through the same validation as `org load`

    from attendance.db import transaction
    from attendance.ledger import import_file
    from attendance.loader import fetch_punches
    from attendance.services import monthly_summary
    from attendance.synth import generate_district

    per_unit = 100
    t = time.perf_counter()
    district = generate_district(units=max(1, staff // per_unit), staff_per_unit=min(per_unit, staff), month="2026-10",
                                 seed=3, double_taps=True)
    url = fresh_database("month.sqlite3", district.bundle)
    for device, lines in district.attlogs.items():
        path = DATA / f"month_{device}.dat"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with transaction(url) as session:
            import_file(session, device, path)
    print(f"  data: {len(district.expected):,} staff, {district.punch_count():,} punches "
          f"(set up in {time.perf_counter() - t:.0f} s)")
    import datetime as dt

    from sqlalchemy import delete

    from attendance.models import DayVerdict

    floor, ours, stored = [], [], []
    with transaction(url) as session:
        for _ in range(3):  # alternate, keep the best of each: both sides see the same caches
            start = time.perf_counter()
            frame = fetch_punches(session, dt.datetime(2026, 9, 30), dt.datetime(2026, 11, 2))
            floor.append(time.perf_counter() - start)
            # Stored verdicts dropped: the summary evaluates every rule for everyone and stores
            # the rows, as on the first read of a month or after a schedule change for all.
            session.execute(delete(DayVerdict))
            start = time.perf_counter()
            table = monthly_summary(session, "2026-10")
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            monthly_summary(session, "2026-10")  # nothing stale: summed from the stored rows
            stored.append(time.perf_counter() - start)
    print(f"  runs (s): service {', '.join(f'{x:.2f}' for x in ours)}; floor {', '.join(f'{x:.2f}' for x in floor)}; "
          f"from stored verdicts {', '.join(f'{x:.2f}' for x in stored)}")
    assert len(frame) > 0 and len(table) == len(district.expected)
    wrong = sum(1 for r in table.to_dict(orient="records")
                if any(r[k] != v for k, v in district.expected[r["staff_code"]].items()))
    print(f"  summaries differing from the planted scenarios: {wrong}")
    return [(f"month evaluation, {len(table):,} staff", min(ours), min(floor), "(evaluated and stored)"),
            (f"month summary, {len(table):,} staff, stored", min(stored), min(floor), "(read from stored verdicts)")]


def bench_pull(records: int) -> list[tuple[str, float, float, str]]:
    """Benchmark 4: the protocol pull, and the whole `attendance pull` into a fresh database."""
    import pull_bench

    from attendance.db import transaction
    from attendance.pull import pull_device
    from devices.zk import codec
    from devices.zk.client import ZKClient
    from devices.zk.simulator import Terminal, serve
    from devices.zk.transport import open_transport

    terminal = Terminal(pull_bench.make_records(records), width=40)
    buffer = terminal.buffer()
    decode = pull_bench.best_of(3, lambda: codec.decode_attlog_buffer(buffer, records))
    server = serve("tcp", port=0, terminal=terminal, block=False, announce=lambda _line: None)
    try:
        def protocol_pull() -> None:
            with ZKClient(open_transport("zk_tcp", server.settings, 10.0), timeout=10.0) as zk:
                zk.disable()
                assert len(zk.read_attendance().records) == records
                zk.enable()

        pulled = pull_bench.best_of(3, protocol_pull)
        url = fresh_database("pull.sqlite3", {
            "units": [{"code": "X", "name": "Xã Bench"}],
            "devices": [{"code": "TK-01", "unit": "X", "kind": "zk_tcp", **server.settings}],
        })
        start = time.perf_counter()
        with transaction(url) as session:
            result = pull_device(session, "TK-01")
        stored = time.perf_counter() - start
        assert result.ok and result.inserted == records, result
    finally:
        server.stop()
    print(f"  {records:,} records of 40 bytes ({len(buffer) / 1e6:.1f} MB): decode alone {records / decode:,.0f}"
          f" records/s, TCP pull {records / pulled:,.0f} records/s, pull stored in SQLite {records / stored:,.0f} records/s")
    return [
        (f"TCP pull of {records:,} records", pulled, decode, "(decode alone)"),
        (f"attendance pull of {records:,} into SQLite", stored, decode, "(decode alone)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100_000, help="records for the pull benchmark")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each import (best kept)")
    parser.add_argument("--terminals", type=int, default=500, help="simulated terminals for the schedulers benchmark")
    parser.add_argument("--pg-rows", type=int, default=10_000_000, help="punches for the PostgreSQL import")
    parser.add_argument("--only", choices=["import", "month", "pull", "web", "schedulers", "pg_import", "verdicts"])
    parser.add_argument("--verdict-staff", type=int, default=20_000, help="province size for the verdicts benchmark")
    parser.add_argument("--rounds", type=int, default=10, help="new batches in the verdicts benchmark (p50/p95 of these)")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ATTENDANCE_INSTANCE", str(DATA))
    rows = []
    if args.only in (None, "import"):
        print("import benchmarks")
        rows += bench_import(args.lines, args.repeat)
    if args.only in (None, "month"):
        print("month benchmark")
        rows += bench_month(args.staff)
    if args.only in (None, "pull"):
        print("pull benchmark")
        rows += bench_pull(args.records)
    if args.only in (None, "web"):
        # Its own process: the server's threads and caches must not share this one's.
        print("web benchmark (the unit month page and its API through waitress)")
        subprocess.run([sys.executable, str(ROOT / "bench" / "web_bench.py")], check=True)
    import bench_pg_import

    pg_url = bench_pg_import.postgres_url()  # a province runs on PostgreSQL: used when given
    if args.only in (None, "verdicts"):
        import bench_verdicts

        print("stored verdicts benchmark" + (" (the database at the PostgreSQL URL is emptied)" if pg_url else ""))
        rows += bench_verdicts.run(args.verdict_staff, rounds=args.rounds, url=pg_url)
    if args.only in (None, "schedulers"):
        import bench_schedulers

        kind = "PostgreSQL" if pg_url else "SQLite"
        print(f"schedulers benchmark (two scheduler processes sharing the terminals, {kind})")
        times = bench_schedulers.run(args.terminals, database=pg_url)
        rows.append((f"{kind}: {args.terminals} terminals, 2 schedulers", times["total"], times["floor"],
                     "(one pull × terminals ÷ concurrency)"))
    if args.only in (None, "pg_import"):
        url = pg_url
        if url is None:
            print("PostgreSQL import benchmark skipped: no ATTENDANCE_BENCH_POSTGRES_URL or ATTENDANCE_TEST_POSTGRES_URL")
        else:
            print("PostgreSQL import benchmark (the database at that URL is emptied)")
            rows += bench_pg_import.bench_pg_import(url, args.pg_rows)
    print()
    print(f"{'benchmark':52} {'service':>9} {'floor':>9} {'ratio':>7}  target")
    for name, ours, floor, target in rows:
        print(f"{name:52} {ours:8.2f}s {floor:8.2f}s {ours / floor:6.2f}x  {target}")
    print(f"(peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
