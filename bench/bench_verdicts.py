"""Benchmark: stored day verdicts for a province, beside their floors.

1. the month of every staff member recomputed and stored (``refresh_verdicts`` after the stored
   rows are dropped) vs the floor: a SELECT of that month's punches into a DataFrame;
2. one new batch arrives (a terminal's day of punches for 100 people), then the province
   dashboard (month grid and day counts, who is in that day) and a commune's month page are
   read through their use cases, which refresh only what the batch made stale: p50/p95 of
   ``--rounds`` rounds, beside the same reads with nothing stale.

Run alone: ``python bench/bench_verdicts.py [--staff 20000] [--rounds 20] [--url postgresql+psycopg://...]``
(a synthetic province from attendance.synth, 100 staff per commune; SQLite unless a PostgreSQL
URL is given, whose database is emptied); `make bench` runs it with run_all on both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MONTH = "2026-10"
PROVINCE = "40"
COMMUNE = "17830"
PER_UNIT = 100


def prepare(staff: int, url: str | None = None) -> str:
    """A fresh database (SQLite, or the PostgreSQL at ``url``, emptied) holding a synthetic province and its month."""
    from attendance.bundle import validate_bundle
    from attendance.db import transaction
    from attendance.ledger import import_file
    from attendance.migrate import upgrade
    from attendance.org import load_bundle
    from attendance.synth import generate_district

    DATA.mkdir(parents=True, exist_ok=True)
    if url is None:
        path = DATA / "verdicts.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        from bench_pg_import import empty_postgres

        empty_postgres(url)
    upgrade(url)
    if not url.startswith("sqlite"):
        from attendance.partitions import ensure_partitions

        with transaction(url) as session:  # the month's partition, as `attendance partitions` makes it
            ensure_partitions(session, dt.date(2026, 9, 1), 0, today=dt.date(2026, 11, 1))
    district = generate_district(units=max(1, staff // PER_UNIT), staff_per_unit=min(staff, PER_UNIT), month=MONTH,
                                 seed=5)
    with transaction(url) as session:
        load_bundle(session, validate_bundle(district.bundle))
    for device, lines in district.attlogs.items():
        log = DATA / f"verdicts_{device}.dat"
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with transaction(url) as session:
            import_file(session, device, log)
        log.unlink()
    return url


def full_month(url: str, runs: int) -> tuple[float, float, int]:
    """Best time of a whole month recomputed and stored, best time of the SELECT floor, rows stored."""
    from sqlalchemy import delete

    from attendance import models as m
    from attendance.db import transaction
    from attendance.loader import fetch_punches
    from attendance.services import parse_month
    from attendance.verdicts import refresh_verdicts

    first, last = parse_month(MONTH)
    ours, floor, rows = [], [], 0
    for _ in range(runs):
        with transaction(url) as session:
            session.execute(delete(m.DayVerdict))
        start = time.perf_counter()
        with transaction(url) as session:
            rows = refresh_verdicts(session, first, last, today=last + dt.timedelta(days=1))
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        with transaction(url) as session:
            punches = fetch_punches(session, dt.datetime.combine(first, dt.time()),
                                    dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
        floor.append(time.perf_counter() - start)
    print(f"  month: {rows:,} day verdicts stored; floor read {len(punches):,} punches")
    return min(ours), min(floor), rows


def pages(url: str, day: dt.date) -> None:
    """The province dashboard's data (the month's counts and day bars, who is in that day) and a
    commune's month grid, as their views ask for them."""
    from attendance.api import unit_month_counts, unit_month_grid
    from attendance.dashboard import day_bars, month_counts, presence_on_days
    from attendance.db import transaction

    with transaction(url) as session:
        counts = unit_month_counts(session, PROVINCE, MONTH)
        day_bars(counts), month_counts(counts)
        presence_on_days(session, PROVINCE, [day])
        unit_month_grid(session, COMMUNE, MONTH)


def incremental(url: str, rounds: int, tmp: Path) -> tuple[list[float], list[float]]:
    """Per round: a new batch (one terminal, one day, 100 people) then the pages; and the pages alone."""
    from attendance.db import transaction
    from attendance.ledger import import_file

    day = dt.date(2026, 10, 28)
    pages(url, day)  # caches warm, everything stored
    with_batch, alone = [], []
    for r in range(rounds):
        log = tmp / f"verdicts_round_{r}.dat"
        # New seconds each round, so every line is a new punch (not a duplicate of the last round).
        lines = [f"{pin:05d}\t{day} 07:{r % 60:02d}:{(pin * 7 + r) % 60:02d}\t1\t0\t1\t0" for pin in range(1, PER_UNIT + 1)]
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        start = time.perf_counter()
        with transaction(url) as session:
            import_file(session, "TK-01", log)
        imported = time.perf_counter()
        pages(url, day)
        with_batch.append(time.perf_counter() - imported)
        log.unlink()
        start = time.perf_counter()
        pages(url, day)
        alone.append(time.perf_counter() - start)
    return with_batch, alone


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def run(staff: int, rounds: int, runs: int = 2, url: str | None = None) -> list[tuple[str, float, float, str]]:
    """Both measurements; rows (name, service seconds, floor seconds, target) for run_all's table."""
    start = time.perf_counter()
    url = prepare(staff, url)
    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"verdicts ({kind}): province of {staff:,} staff prepared in {time.perf_counter() - start:.1f}s")
    ours, floor, _rows = full_month(url, runs)
    with_batch, alone = incremental(url, rounds, DATA)
    print(f"  after a new batch, dashboard + month page ({rounds} rounds): p50 {statistics.median(with_batch):.3f}s "
          f"p95 {p95(with_batch):.3f}s; nothing stale: p50 {statistics.median(alone):.3f}s p95 {p95(alone):.3f}s")
    return [(f"{kind}: month of {staff:,} staff, all recomputed", ours, floor, "(SELECT of its punches)"),
            (f"{kind}: new batch + dashboard + month p95", p95(with_batch), p95(alone), "(the same, nothing stale)")]


def main() -> None:
    """Command line: --staff N (default 20,000), --rounds R (default 20)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--url", help="PostgreSQL URL (the database is emptied); default: a SQLite file in bench/data")
    args = parser.parse_args()
    rows = run(args.staff, args.rounds, url=args.url)
    print(f"{'benchmark':40} {'service':>9} {'floor':>9} {'ratio':>7}  target")
    for name, ours, floor, target in rows:
        print(f"{name:40} {ours:8.3f}s {floor:8.3f}s {ours / floor:6.2f}x  {target}")


if __name__ == "__main__":
    main()
